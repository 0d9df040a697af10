"""Pages chosen on their sort keys first, their rows read whole after.

A list query that reads every column of every candidate row before sorting reads far more than it
shows (previews, attributes, payloads). The list queries therefore select the sort key (and what
finding the rows again needs) of `limit + 1` rows, then read the `limit` shown ones whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hiveboard.api.params import Page, page

T = TypeVar("T")


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
