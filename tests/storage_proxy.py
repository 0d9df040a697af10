"""A real storage seen through a proxy that counts what it runs and fails it on demand.

Tests wrap our real `ChDBStorage` in it to count round trips (caches must spare ClickHouse) or to
inject outages (`down`, `failures`): the storage code under the proxy is never replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hiveboard.storage import EncodedRows, QueryResult, Storage, StorageError


class StorageProxy(Storage):
    """Passes every call to `inner`, counting `statements` (all calls) and `queries` (`query` calls).

    While `down` is set, or for the next `failures` calls, a call raises `StorageError` instead.
    `close()` leaves `inner` open unless `close_inner` (a module's storage outlives its tests).
    """

    def __init__(self, inner: Storage, *, close_inner: bool = False) -> None:
        self.inner = inner
        self.database = inner.database
        self.close_inner = close_inner
        self.statements = 0
        self.queries = 0
        self.failures = 0
        self.down = False

    def _run(self) -> None:
        self.statements += 1
        if self.down:
            raise StorageError("storage is down (injected)")
        if self.failures > 0:
            self.failures -= 1
            raise StorageError("storage is down (injected)")

    def command(self, sql: str) -> None:
        self._run()
        self.inner.command(sql)

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        self._run()
        self.queries += 1
        return self.inner.query(sql, parameters)

    def insert(self, table: str, column_names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._run()
        self.inner.insert(table, column_names, rows)

    def insert_encoded(self, table: str, column_names: Sequence[str], encoded: EncodedRows) -> None:
        self._run()
        self.inner.insert_encoded(table, column_names, encoded)

    def close(self) -> None:
        if self.close_inner:
            self.inner.close()
