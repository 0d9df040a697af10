"""The storage interface every HiveBoard component goes through, and its shared implementation.

Both backends are clickhouse-connect clients: embedded chDB through clickhouse-connect's in-process
`chdb` interface, a ClickHouse server over HTTP(S). So one SQL text, one parameter syntax
(`{name:Type}`, bound by the engine, never spliced into the SQL) and one mapping between ClickHouse
and Python values hold for both:

* inserting: a `DateTime64` column takes an `int` of nanoseconds since the epoch (exact) or a
  `datetime`; `Map` a `dict`; `Array` and the subcolumns of `Nested` (named `Events.Timestamp`...)
  a `list`; `UInt64` its full range;
* querying: clickhouse-connect's Python types, with `DateTime`/`DateTime64` as timezone-aware
  `datetime` (microseconds: select `toUnixTimestamp64Nano(column)` when nanoseconds matter),
  `Map` as `dict`, `Array` as `list`, `NULL` as `None`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

from clickhouse_connect.driver.binding import format_str, quote_identifier
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError

# Settings of every session HiveBoard opens, so that its SQL means the same on every ClickHouse
# version. An `if`, `multiIf` or `UNION ALL` of types with no common supertype (Int64 and UInt64)
# fails on ClickHouse before 26.1 (NO_COMMON_TYPE), and from 26.1 on, where the setting defaults to
# 1, gives a `Variant`: another type, slower to compute with. With the older rule on every server,
# the tests, which run on chDB's newer engine, catch such an expression.
CLIENT_SETTINGS: Final[Mapping[str, Any]] = {"use_variant_as_common_type": 0}


def client_options() -> dict[str, Any]:
    """Options of every clickhouse-connect client HiveBoard opens: datetimes come back
    timezone-aware, with `CLIENT_SETTINGS` (a copy each time: clickhouse-connect adds to it)."""
    return {"tz_mode": "aware", "settings": dict(CLIENT_SETTINGS)}


# ClickHouse's "Database ... does not exist": HiveBoard's own when the message names it.
_UNKNOWN_DATABASE = 81
# A `CREATE DATABASE` cannot run inside the database it creates (it does not exist yet).
_CREATE_DATABASE = re.compile(r"^\s*CREATE\s+DATABASE\b", re.IGNORECASE)


# ClickHouse error codes that mean "these rows are wrong", as opposed to "storage is unwell" (down,
# overloaded, too many parts, out of memory, timed out), after which the same statement may succeed.
_DATA_ERROR_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        26,  # CANNOT_PARSE_QUOTED_STRING
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        32,  # ATTEMPT_TO_READ_AFTER_EOF (a truncated Protobuf message)
        33,  # CANNOT_READ_ALL_DATA
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        131,  # TOO_LARGE_STRING_SIZE
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        407,  # DECIMAL_OVERFLOW
        444,  # UNKNOWN_PROTOBUF_FORMAT (a field of the wrong wire type)
    }
)
_ERROR_CODE = re.compile(r"\bCode: (\d+)\b")


class StorageError(Exception):
    """Storage could not be opened or a statement failed; the message says what to do.

    `code` is ClickHouse's error code when the failure came from ClickHouse (read from the message
    when not given).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is None:
            found = _ERROR_CODE.search(message)
            code = int(found.group(1)) if found else None
        self.code = code

    @property
    def refuses_data(self) -> bool:
        """Whether ClickHouse refused the rows themselves: sending them again would fail again."""
        return self.code in _DATA_ERROR_CODES


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query, as tuples in the order of `column_names`."""

    column_names: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as `{column: value}` dicts."""
        return [dict(zip(self.column_names, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class ProtobufSchema:
    """The `.proto` text a `Protobuf` body is read with, and the `message` each record of it is."""

    text: str
    message: str


@dataclass(frozen=True)
class EncodedRows:
    """Rows already serialized in a ClickHouse input format, to be decoded by ClickHouse in C++.

    `body` is in `format` (a `Protobuf` body also names its `schema`); `structure` declares its
    columns (`Timestamp Int64, SpanAttributes Map(String, String), ...`); `select` holds one
    expression per target column over them, e.g. `fromUnixTimestamp64Nano(Timestamp)` for a
    `DateTime64(9)` sent as integer nanoseconds, which may use the names `joins` (`ARRAY JOIN ...`)
    introduces. `settings` apply to the INSERT.
    """

    body: bytes
    structure: str
    select: tuple[str, ...]
    format: str = "JSONCompactColumns"
    joins: str = ""
    settings: Mapping[str, str | int] = field(default_factory=dict)
    schema: ProtobufSchema | None = None

    def insert_select(
        self, table: str, column_names: Sequence[str], source: str, schema_settings: Mapping[str, str] = {}
    ) -> str:
        """`INSERT INTO table (columns) SELECT <select> FROM <source> [joins]`, `source` reading
        `body`, with `schema_settings` telling the engine where `schema` is.

        ClickHouse refuses an INSERT that creates parts in more than 100 partitions (days); a batch
        of late or far-future spans may span more, and losing it would be worse than many parts.
        """
        columns = ", ".join(quote_identifier(name) for name in column_names)
        settings = {"throw_on_max_partitions_per_insert_block": 0, **self.settings, **schema_settings}
        listed = ", ".join(
            f"{name} = {value if isinstance(value, int) else format_str(value)}"
            for name, value in settings.items()
        )
        joins = f" {self.joins}" if self.joins else ""
        return (
            f"INSERT INTO {table} ({columns}) SELECT {', '.join(self.select)} FROM {source}{joins} "
            f"SETTINGS {listed}"
        )


class Storage(ABC):
    """Where HiveBoard keeps its data; every query and DDL statement goes through one of these.

    Unqualified table names resolve to `database`. Implementations are safe to share between threads.
    """

    database: str

    @abstractmethod
    def command(self, sql: str) -> None:
        """Run a statement that returns no rows (DDL, `INSERT ... SELECT`, `ALTER`...)."""

    @abstractmethod
    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        """Run a query; `parameters` fill its `{name:Type}` placeholders."""

    @abstractmethod
    def insert(self, table: str, column_names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` (values in the order of `column_names`) into `table` with one INSERT."""

    @abstractmethod
    def insert_encoded(self, table: str, column_names: Sequence[str], encoded: EncodedRows) -> None:
        """Insert rows ClickHouse decodes itself (`EncodedRows`), with one INSERT ... SELECT."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (and, for chDB, the data directory)."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ClientStorage(Storage):
    """A `Storage` over a clickhouse-connect client; `target` names the store in error messages."""

    def __init__(self, client: Client, database: str, target: str) -> None:
        self.database = database
        self._client = client
        self._target = target
        # Set after connecting: the database may not exist until the migrations create it.
        client.database = database

    def command(self, sql: str) -> None:
        with self._errors_explained(sql), self._client_for_call() as client:
            client.command(sql, use_database=not _CREATE_DATABASE.match(sql))

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        with self._errors_explained(sql), self._client_for_call() as client:
            result = client.query(sql, parameters=dict(parameters or {}))
            return QueryResult(tuple(result.column_names), [tuple(row) for row in result.result_rows])

    def insert(self, table: str, column_names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        # Column-oriented: clickhouse-connect then skips its own row pivot (about 20% faster).
        columns = [list(column) for column in zip(*rows, strict=True)]
        with self._errors_explained(f"INSERT INTO {table}"), self._client_for_call() as client:
            client.insert(table, columns, column_names=list(column_names), column_oriented=True)

    def insert_encoded(self, table: str, column_names: Sequence[str], encoded: EncodedRows) -> None:
        # A server decodes the request body through `input()`; it keeps a schema it is sent as text in
        # its own `format_schema_path`.
        schema = encoded.schema
        schema_settings = (
            {}
            if schema is None
            else {
                "format_schema_source": "string",
                "format_schema": schema.text,
                "format_schema_message_name": schema.message,
            }
        )
        source = f"input({format_str(encoded.structure)})"
        sql = encoded.insert_select(table, column_names, source, schema_settings)
        with self._errors_explained(f"INSERT INTO {table}"), self._client_for_call() as client:
            client.command(f"{sql} FORMAT {encoded.format}", data=encoded.body)

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _client_for_call(self) -> Iterator[Client]:
        """The client a call runs on: the one client, which runs calls of several threads at once
        (an HTTP client keeps a connection pool)."""
        yield self._client

    @contextmanager
    def _errors_explained(self, sql: str) -> Iterator[None]:
        """Turn clickhouse-connect's exceptions into `StorageError`s that say what to do."""
        try:
            yield
        except OperationalError as error:
            raise StorageError(
                f"cannot reach {self._target}: {error}; check that it is running and reachable"
            ) from error
        except DatabaseError as error:
            if error.code == _UNKNOWN_DATABASE and self.database in str(error):
                raise StorageError(
                    f"database {self.database!r} does not exist in {self._target}; "
                    "run the migrations first (hiveboard.storage.schema.migrate)"
                ) from error
            raise StorageError(
                f"{self._target} rejected the statement: {error}\nSQL: {_excerpt(sql)}", error.code
            ) from error
        except ClickHouseError as error:
            raise StorageError(f"{self._target} failed: {error}\nSQL: {_excerpt(sql)}") from error


def _excerpt(sql: str, limit: int = 300) -> str:
    """The start of a statement, for error messages (DDL and VALUES can be long)."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
