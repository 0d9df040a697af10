"""Which times a table keeps: its TTL as ClickHouse has it, and the window of start times a span (or
log record) may have to be stored and stay stored.

ClickHouse acknowledges any row an INSERT holds, then drops those the TTL has already expired when it
merges their part. A span older than the retention, or whose TTL expression overflows ClickHouse's
`DateTime` (it ends 2106-02-07 06:28:15 UTC; a later time, or one whose expiry falls after it, wraps
around to the 1970s and expires at once), would be acknowledged and then silently lost. The
collector rejects those instead, through OTLP partial success, with a `TimeWindow` that
`read_retention` derives from the table's own TTL: the one the table was created or altered with,
whoever did it (HiveBoard's migrations, the upstream exporter, an operator's `ALTER TABLE ... MODIFY
TTL`), never a configured value that may differ from it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from hiveboard.storage import Storage

logger = logging.getLogger(__name__)

NANOS = 1_000_000_000
DATETIME_MAX_S = 2**32 - 1
"""The last second a ClickHouse `DateTime` holds (2106-02-07 06:28:15 UTC)."""

_INTERVAL_SECONDS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86_400, "Week": 7 * 86_400}
# The TTL the exporter and HiveBoard's migrations write: a fixed interval after the row's time.
# Months and years have no fixed length: such a TTL is not understood (and said so at start).
_TTL = re.compile(
    r"\bTTL toDateTime\((?P<column>\w+)\) \+ "
    r"toInterval(?P<unit>Second|Minute|Hour|Day|Week)\((?P<count>\d+)\)(?: SETTINGS |$)"
)


@dataclass(frozen=True)
class TimeWindow:
    """The times a row of `table` may have to be stored and kept: from `earliest_ns` to `latest_ns`
    (inclusive, Unix nanoseconds); `ttl` describes the table's TTL for messages ('' without one)."""

    earliest_ns: int
    latest_ns: int
    table: str
    ttl: str = ""

    def problem(self, time_ns: int, what: str) -> str:
        """Why `time_ns` (the time of `what`, e.g. "start time") cannot be kept, or ''."""
        if time_ns < self.earliest_ns:
            return (
                f"{what} {_iso(time_ns)} is older than {self.table} keeps (TTL {self.ttl}): it would be "
                f"deleted at once; times from {_iso(self.earliest_ns)} on are kept"
            )
        if time_ns > self.latest_ns:
            less_ttl = f", less the TTL of {self.ttl}" if self.ttl else ""
            return (
                f"{what} {_iso(time_ns)} is past {_iso(self.latest_ns)}, the latest time {self.table} "
                f"can keep (ClickHouse DateTime ends 2106-02-07T06:28:15Z{less_ttl}): check the clock, "
                "and that times are in nanoseconds"
            )
        return ""


@dataclass(frozen=True)
class Retention:
    """How long `table` keeps its rows: `ttl_s` seconds after their time, None for ever."""

    table: str
    ttl_s: int | None

    def window(self, now_ns: int) -> TimeWindow:
        """The times kept when rows are written at `now_ns`."""
        if self.ttl_s is None:
            return TimeWindow(0, _last_nanosecond(DATETIME_MAX_S), self.table)
        # ClickHouse deletes a row once its time (in whole seconds, as `toDateTime` has it) plus the
        # TTL is at most now.
        earliest_s = now_ns // NANOS - self.ttl_s + 1
        latest_ns = _last_nanosecond(DATETIME_MAX_S - self.ttl_s)
        return TimeWindow(earliest_s * NANOS, latest_ns, self.table, _duration(self.ttl_s))


def read_retention(storage: Storage, table: str) -> Retention:
    """`table`'s retention as its TTL clause says (a table without TTL keeps rows for ever).

    A TTL of another form (months, a `WHERE`, several clauses) is reported and treated as none: only
    the `DateTime` range is then checked.
    """
    result = storage.query(
        "SELECT engine_full FROM system.tables WHERE database = {database:String} AND name = {table:String}",
        {"database": storage.database, "table": table},
    )
    engine_full = result.rows[0][0] if result.rows else ""
    if " TTL " not in engine_full:
        return Retention(table, None)
    match = _TTL.search(engine_full)
    if match is None or match["column"] != "Timestamp":
        logger.warning(
            "the TTL of %s is not `toDateTime(Timestamp) + toInterval<Second..Week>(N)`: rows older than "
            "it are acknowledged and then deleted by ClickHouse",
            table,
        )
        return Retention(table, None)
    return Retention(table, int(match["count"]) * _INTERVAL_SECONDS[match["unit"]])


def _last_nanosecond(second: int) -> int:
    return second * NANOS + NANOS - 1


def _duration(seconds: int) -> str:
    """`30 days`, `72 hours`, `90 seconds`: the largest unit that divides `seconds`."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _iso(time_ns: int) -> str:
    """A time for messages, in UTC to the second; times past year 9999 as their nanoseconds."""
    try:
        return datetime.fromtimestamp(time_ns // NANOS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return f"{time_ns} ns"
