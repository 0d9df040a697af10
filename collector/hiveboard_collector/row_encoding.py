"""Rows built in Python for an exporter table, serialized for ClickHouse to decode (`EncodedRows`).

`otel_logs` rows are Python tuples (`log_rows`). Handing them to clickhouse-connect makes Python
walk every value again to build ClickHouse's Native format; one `json.dumps` of the columns
(`JSONCompactColumns`, which ClickHouse parses in C++) costs about half as much, and in chDB the
parsing runs without the GIL, on the other core. Times travel as integer nanoseconds and become
`DateTime64(9)` in the INSERT's SELECT, exactly. (Spans take a faster path: ClickHouse decodes their
OTLP protobuf itself, see `trace_rows`.)

>>> LOGS_INPUT.select[0]
'fromUnixTimestamp64Nano(`Timestamp`)'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hiveboard.collector.ingest.log_rows import LOG_COLUMNS
from hiveboard.storage import EncodedRows, Storage
from hiveboard.storage.schema.ddl import quote_identifier
from hiveboard.storage.schema.otel_tables import LOGS_TABLE

_STRING_MAP = "Map(String, String)"
_NANOSECONDS = "Int64"


@dataclass(frozen=True)
class TableInput:
    """How rows of `columns` reach `table`: each column's type in the body, and the expression that
    turns it into the table's column."""

    table: str
    columns: tuple[str, ...]
    input_types: tuple[str, ...]
    select: tuple[str, ...]

    @classmethod
    def of(
        cls, table: str, columns: Sequence[str], types: dict[str, str], converted: dict[str, str]
    ) -> TableInput:
        """An input whose columns are `String` unless `types` says otherwise, each selected as it is
        unless `converted` has a template for it (`{}` is the quoted column name)."""
        return cls(
            table,
            tuple(columns),
            tuple(types.get(column, "String") for column in columns),
            tuple(converted.get(column, "{}").format(quote_identifier(column)) for column in columns),
        )

    @property
    def structure(self) -> str:
        """The body's columns, as `input()` and `file()` take them."""
        names = (quote_identifier(column) for column in self.columns)
        return ", ".join(f"{name} {kind}" for name, kind in zip(names, self.input_types, strict=True))

    def encode(self, rows: Sequence[Sequence[Any]]) -> EncodedRows:
        """`rows` (tuples in `columns` order) as one JSONCompactColumns body."""
        columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in self.columns]
        body = json.dumps(columns, ensure_ascii=False, separators=(",", ":")).encode()
        return EncodedRows(body, self.structure, self.select)

    def insert(self, storage: Storage, payloads: Sequence[Sequence[Sequence[Any]]]) -> None:
        """Write the rows of `payloads` (lists of rows, one per request) to `table` with one INSERT."""
        rows = [row for payload in payloads for row in payload]
        storage.insert_encoded(self.table, self.columns, self.encode(rows))


_TO_DATETIME64 = "fromUnixTimestamp64Nano({})"

LOGS_INPUT = TableInput.of(
    LOGS_TABLE,
    LOG_COLUMNS,
    types={
        "Timestamp": _NANOSECONDS,
        "TraceFlags": "UInt8",
        "SeverityNumber": "UInt8",
        "ResourceAttributes": _STRING_MAP,
        "ScopeAttributes": _STRING_MAP,
        "LogAttributes": _STRING_MAP,
    },
    converted={"Timestamp": _TO_DATETIME64},
)
"""`otel_logs` rows from `log_rows`."""
