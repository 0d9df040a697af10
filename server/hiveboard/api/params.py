"""Shared request parameters: time ranges, opaque cursors and the page envelope of list endpoints."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import HTTPException, Query
from pydantic import BaseModel

SECOND_NS = 1_000_000_000
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

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


# A `Window` condition on a DateTime64(9) column, with `Window.parameters()`.
def window_sql(column: str) -> str:
    return (
        f"{column} >= fromUnixTimestamp64Nano({{start_ns:Int64}}) "
        f"AND {column} <= fromUnixTimestamp64Nano({{end_ns:Int64}})"
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


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The values `encode_cursor` packed; a cursor that is not one of ours is a 400."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise HTTPException(
            400, "invalid cursor: pass the next_cursor of the previous page unchanged, or no cursor"
        )
    return values


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


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")]
Cursor = Annotated[str | None, Query(description="`pagination.next_cursor` of the previous page")]
Range = Annotated[TimeRange, Query(alias="range", description="How far back to look")]
