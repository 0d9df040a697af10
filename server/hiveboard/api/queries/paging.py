"""Pages chosen on their sort keys first, their rows read whole after.

A list query that reads every column of every candidate row before sorting reads far more than it
shows (previews, attributes, payloads). The list queries therefore select the sort key (and what
finding the rows again needs) of `limit + 1` rows, then read the `limit` shown ones whole; or, where
the page is one table's rows, have ClickHouse do both in one query (`LATE_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hiveboard.api.params import Page, page

T = TypeVar("T")

LATE_COLUMNS = (
    "query_plan_optimize_lazy_materialization = 1, query_plan_max_limit_for_lazy_materialization = 1000"
)
"""Settings of a query that sorts one table's rows and keeps a page of them (`ORDER BY ... LIMIT n`,
n up to 1,000): ClickHouse reads the sort and filter columns of every candidate row, and the other
columns of the rows kept only ("lazy materialization", ClickHouse 25.4 and later; set here because
a server's default limit can be lower). On `hb_events` at 1M spans, a page of 50 took 93-98 ms as
keys then rows, 45-62 ms so."""


def page_of_keys(
    keys: Sequence[dict[str, Any]],
    item_of: Callable[[dict[str, Any]], T | None],
    cursor_of: Callable[[dict[str, Any]], tuple[Any, ...]],
    limit: int,
) -> Page[T]:
    """The `Page` of the first `limit` of `keys` (a query's `limit + 1` rows); `item_of` gives a key's
    item, or None when its row is gone since (TTL), and `cursor_of` its sort key. The key past the
    page only tells that more follow: its item is not built."""
    shown = [(item, cursor_of(key)) for key in keys[:limit] if (item := item_of(key)) is not None]
    more: list[tuple[Any, tuple[Any, ...]]] = (
        [(None, cursor_of(key)) for key in keys[limit:]] if len(shown) == limit else []
    )
    return page(shown + more, limit)
