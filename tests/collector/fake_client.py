"""A stand-in for a clickhouse-connect client of a ClickHouse server, recording every call.

The only fake of the storage and schema tests: a remote server cannot run here. It is handed to
`ClickHouseServerStorage` through `client_factory`; everything in between is the real code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeResult:
    column_names: tuple[str, ...]
    result_rows: list[tuple[Any, ...]]


@dataclass
class FakeClient:
    """Records `command`/`query`/`insert`/`close`; `results` answers queries in order, `error` is
    raised by the next call."""

    results: list[FakeResult] = field(default_factory=list)
    error: Exception | None = None
    database: str | None = None
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    factory_options: dict[str, Any] = field(default_factory=dict)

    def factory(self, **options: Any) -> FakeClient:
        """The `client_factory`: records the options the storage connects with."""
        self.factory_options = options
        return self

    def _record(self, method: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def command(self, cmd: str, **kwargs: Any) -> None:
        self._record("command", cmd, **kwargs)

    def query(self, query: str, **kwargs: Any) -> FakeResult:
        self._record("query", query, **kwargs)
        return self.results.pop(0) if self.results else FakeResult((), [])

    def insert(self, table: str, data: Any, **kwargs: Any) -> None:
        self._record("insert", table, data, **kwargs)

    def close(self) -> None:
        self._record("close")

    def commands(self) -> list[str]:
        """The SQL of every `command` call, in order."""
        return [args[0] for method, args, _ in self.calls if method == "command"]
