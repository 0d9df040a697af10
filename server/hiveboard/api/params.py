"""Shared request parameters: time ranges, opaque cursors and the page envelope of list endpoints."""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import HTTPException, Query
from pydantic import BaseModel, BeforeValidator

SECOND_NS = 1_000_000_000
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Our cursors are under 100 characters; a longer one is not ours, and is refused before decoding.
MAX_CURSOR_LENGTH = 1024
INVALID_CURSOR = "invalid cursor: pass the next_cursor of the previous page unchanged, or no cursor"

T = TypeVar("T")


class TimeRange(StrEnum):
    """How far back a view looks, as the dashboard's range picker offers it."""

    HOUR = "1h"
    SIX_HOURS = "6h"
    DAY = "24h"
    WEEK = "7d"
    MONTH = "30d"

    @property
    def seconds(self) -> int:
        return _RANGE_SECONDS[self]

    @property
    def bucket_seconds(self) -> int:
        """Width of one timeseries point: about 60 points per range, on round boundaries."""
        return _BUCKET_SECONDS[self]


_RANGE_SECONDS = {
    TimeRange.HOUR: 3600,
    TimeRange.SIX_HOURS: 6 * 3600,
    TimeRange.DAY: 24 * 3600,
    TimeRange.WEEK: 7 * 24 * 3600,
    TimeRange.MONTH: 30 * 24 * 3600,
}
_BUCKET_SECONDS = {
    TimeRange.HOUR: 60,
    TimeRange.SIX_HOURS: 300,
    TimeRange.DAY: 1800,
    TimeRange.WEEK: 3 * 3600,
    TimeRange.MONTH: 12 * 3600,
}


@dataclass(frozen=True)
class Window:
    """`[start_ns, end_ns]` in nanoseconds since the epoch."""

    start_ns: int
    end_ns: int

    @classmethod
    def last(cls, time_range: TimeRange, now_ns: int | None = None) -> Window:
        end = now_ns if now_ns is not None else time.time_ns()
        return cls(end - time_range.seconds * SECOND_NS, end)

    def parameters(self) -> dict[str, int]:
        return {"start_ns": self.start_ns, "end_ns": self.end_ns}


EnvironmentFilter = Annotated[
    str | None,
    Query(
        description="Only what agents of this deployment environment sent (`deployment.environment.name`, "
        "as /v1/filters lists them)",
    ),
]
"""The global environment filter: each span carries its process's environment."""


# A `Window` condition on a DateTime64(9) column, with `Window.parameters()`.
def window_sql(column: str) -> str:
    return (
        f"{column} >= fromUnixTimestamp64Nano({{start_ns:Int64}}) "
        f"AND {column} <= fromUnixTimestamp64Nano({{end_ns:Int64}})"
    )


def equal_to(filters: tuple[tuple[str, str, str | None], ...]) -> tuple[list[str], dict[str, Any]]:
    """`column = {name:String}` for each `(column, name, value)` of `filters` whose value is set, and
    those values by name: a view's optional filters on identifier columns, as query parameters."""
    chosen = [(column, name, value) for column, name, value in filters if value is not None]
    return (
        [f"{column} = {{{name}:String}}" for column, name, _ in chosen],
        {name: value for _, name, value in chosen},
    )


def from_ns(value: int | None) -> datetime | None:
    """A nanosecond timestamp as an aware datetime (microsecond precision)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value / SECOND_NS, UTC)


def ns_to_ms(value: int | None) -> float | None:
    return None if value is None else round(value / 1_000_000, 3)


class Pagination(BaseModel):
    """Where the next page starts: pass `next_cursor` as `cursor`; None on the last page."""

    next_cursor: str | None
    has_more: bool
    limit: int


class Page(BaseModel, Generic[T]):
    """A page of a list endpoint."""

    data: list[T]
    pagination: Pagination


def encode_cursor(*values: Any) -> str:
    """An opaque cursor holding the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *types: str) -> list[Any]:
    """The values `encode_cursor` packed, checked against `types`, the ClickHouse types of the query
    parameters they fill (`Int64`, `Float64`, `String`); a cursor that is not one of ours is a 400.

    The checks are why a crafted cursor never reaches ClickHouse: a value of another type or out of
    its type's range would fail the query, and deep nesting would exhaust Python's recursion.
    """
    values = _cursor_values(cursor) if len(cursor) <= MAX_CURSOR_LENGTH else None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(_CURSOR_CHECKS[kind](value) for kind, value in zip(types, values, strict=True))
    ):
        raise HTTPException(400, INVALID_CURSOR)
    return values


def _cursor_values(cursor: str) -> Any:
    """The JSON a cursor's base64 holds; None when it holds none."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        return None


def _is_int64(value: Any) -> bool:
    # bool is an int to Python, not to a cursor.
    return type(value) is int and -(2**63) <= value < 2**63


def _is_float64(value: Any) -> bool:
    # JSON's numbers: an integral sort value (a cost of 0) may come back as an int.
    return (type(value) is float and math.isfinite(value)) or _is_int64(value)


def _is_string(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_CURSOR_LENGTH


_CURSOR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "Int64": _is_int64,
    "Float64": _is_float64,
    "String": _is_string,
}


def page(rows: list[tuple[T, tuple[Any, ...]]], limit: int) -> Page[T]:
    """A `Page` of the first `limit` `(item, sort key)` rows; queries fetch `limit + 1` rows so that
    the extra one tells whether more follow. The cursor is the sort key of the last item shown."""
    has_more = len(rows) > limit
    shown = rows[:limit]
    next_cursor = encode_cursor(*shown[-1][1]) if has_more and shown else None
    return Page[T](
        data=[item for item, _ in shown],
        pagination=Pagination(next_cursor=next_cursor, has_more=has_more, limit=limit),
    )


def split_commas(values: list[str]) -> list[str]:
    """The values of a repeatable parameter, given repeated (`?a=x&a=y`) or comma-separated (`?a=x,y`)
    alike, since people type both; blank items are dropped."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


# On a `list[...]` query parameter: its values may also come comma-separated; an enum's items are
# then checked one by one, so an unknown one is a 400 that lists the accepted values.
CommaSeparated = BeforeValidator(split_commas)

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")]
Cursor = Annotated[str | None, Query(description="`pagination.next_cursor` of the previous page")]
Range = Annotated[TimeRange, Query(alias="range", description="How far back to look")]
