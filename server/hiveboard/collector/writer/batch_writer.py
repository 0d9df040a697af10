"""The write path: rows of many requests grouped into few inserts, each request acknowledged when
its rows are written.

A `BatchWriter` owns one table. Receivers `submit` the rows of a request (a payload its
`TableInput` inserts, such as the request's spans wrapped for ClickHouse to decode, and how many
rows it holds) and wait on the returned future; a single writer thread takes everything pending (up
to `max_batch_rows`), inserts it with one statement and resolves the futures of the requests it
held. While an insert runs, the next batch gathers, so under load batches grow by themselves; when
idle, a request waits at most `max_delay_s` for company.

Memory is bounded: rows pending or being written never exceed `max_pending_rows`; beyond that,
`submit` raises `WriterBusyError` at once, and the receivers answer UNAVAILABLE / 503 with
Retry-After so standard exporters back off. When an insert fails because storage is unwell (down,
overloaded, out of disk), every request of the batch fails with a retryable `WriteFailedError` and
nothing is acknowledged; when ClickHouse refuses the rows themselves (a data error), the requests
are written one by one, so only the one whose rows are refused fails, and not retryably.

>>> writer = BatchWriter(storage, TRACES_INPUT)                  # doctest: +SKIP
>>> writer.submit(export.envelope, export.spans).result()       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from hiveboard.storage import Storage, StorageError

logger = logging.getLogger(__name__)


class TableInput(Protocol):
    """How payloads reach `table`: `insert` writes those of many requests with one INSERT."""

    @property
    def table(self) -> str: ...

    def insert(self, storage: Storage, payloads: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class WriterConfig:
    """Batching and back-pressure limits of a `BatchWriter`."""

    max_batch_rows: int = 16_384
    """Rows per INSERT at most (a request larger than this is still written whole). An INSERT's
    memory grows with its rows (about 90 MB at 16k spans in chDB, written as a `Compact` part: see
    `chdb_storage.ENGINE_CONFIG`), while its fixed cost (about 60 ms, mostly planning) is already
    under a third of a 16k-row insert."""
    max_delay_s: float = 0.02
    """How long the first request of a batch waits for others when the writer is idle."""
    max_pending_rows: int = 131_072
    """Rows accepted but not yet written, at most (8 full batches, about 70 MB of OTLP spans);
    beyond it, requests are turned away."""
    retry_after_s: int = 1
    """What turned-away and failed requests are told to wait before retrying."""


class WriterBusyError(Exception):
    """Too many rows are waiting to be written; retry after `retry_after_s` seconds."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class WriteFailedError(Exception):
    """The rows were not written. `retryable`: storage is unavailable (retry after `retry_after_s`);
    otherwise ClickHouse refused these rows and sending them again would fail again.

    `str()` carries the storage's own error, for the collector's log; `public_message` is what the
    senders are told, without the statement, the storage's location or its internals."""

    def __init__(self, message: str, *, public_message: str, retryable: bool, retry_after_s: int) -> None:
        super().__init__(message)
        self.public_message = public_message
        self.retryable = retryable
        self.retry_after_s = retry_after_s


@dataclass
class _Request:
    payload: Any
    rows: int
    future: Future[None]


class BatchWriter:
    """Writes payloads to `table_input.table`; `on_written()` runs in the writer thread after each
    successful insert (for work that follows a write, such as pricing new models), and its failures
    are logged, never turned into a failed write."""

    def __init__(
        self,
        storage: Storage,
        table_input: TableInput,
        config: WriterConfig = WriterConfig(),
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self._storage = storage
        self._input = table_input
        self._config = config
        self._on_written = on_written
        self._pending: deque[_Request] = deque()
        self._pending_rows = 0  # queued and in flight
        self._closed = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"writer-{table_input.table}", daemon=True)
        self._thread.start()

    @property
    def table(self) -> str:
        return self._input.table

    @property
    def pending_rows(self) -> int:
        """Rows accepted and not yet written (queued or being inserted)."""
        return self._pending_rows

    def submit(self, payload: Any, rows: int) -> Future[None]:
        """Queue `payload`, which holds `rows` rows; the future resolves once they are written, or
        fails with `WriteFailedError`.

        Raises `WriterBusyError` when the rows would exceed `max_pending_rows` (unless nothing is
        pending: one request is always admitted, so no size of request starves), and `RuntimeError`
        after `close()`.
        """
        future: Future[None] = Future()
        if not rows:
            future.set_result(None)
            return future
        with self._condition:
            if self._closed:
                raise RuntimeError(f"the {self.table} writer is closed")
            if self._pending_rows and self._pending_rows + rows > self._config.max_pending_rows:
                raise WriterBusyError(
                    f"{self._pending_rows} rows are waiting to be written to {self.table}; "
                    f"retry in {self._config.retry_after_s} s",
                    self._config.retry_after_s,
                )
            self._pending.append(_Request(payload, rows, future))
            self._pending_rows += rows
            self._condition.notify()
        return future

    def write(self, payload: Any, rows: int, timeout: float | None = None) -> None:
        """Submit `payload` and wait until it is written (raises like `submit` and its future)."""
        self.submit(payload, rows).result(timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is pending, then stop the thread; later `submit`s raise."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join(timeout)

    # ---- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._write(batch)
            finally:
                with self._condition:
                    self._pending_rows -= sum(request.rows for request in batch)

    def _next_batch(self) -> list[_Request] | None:
        """Take up to `max_batch_rows` of what is pending. Requests that queued during the last
        insert go at once; a request that finds the writer idle waits up to `max_delay_s` for others."""
        config = self._config
        with self._condition:
            if not self._pending:
                while not self._pending and not self._closed:
                    self._condition.wait()
                deadline = time.monotonic() + config.max_delay_s
                while not self._closed and self._queued_rows() < config.max_batch_rows:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
            if not self._pending:
                return None  # closed and drained
            batch: list[_Request] = []
            rows = 0
            while self._pending and (not batch or rows + self._pending[0].rows <= config.max_batch_rows):
                request = self._pending.popleft()
                batch.append(request)
                rows += request.rows
            return batch

    def _queued_rows(self) -> int:
        return sum(request.rows for request in self._pending)

    def _write(self, batch: list[_Request]) -> None:
        try:
            self._input.insert(self._storage, [request.payload for request in batch])
        except Exception as error:  # whatever it is, the batch's senders must get an answer
            if len(batch) > 1 and _refuses_data(error):
                for request in batch:  # find the request(s) whose rows ClickHouse refuses
                    self._write([request])
                return
            self._fail(batch, error)
            return
        for request in batch:
            request.future.set_result(None)
        self._after_write()

    def _fail(self, batch: list[_Request], error: Exception) -> None:
        retryable = not _refuses_data(error)
        if retryable:
            logger.warning("cannot write %s (the senders will retry): %s", self.table, error)
        else:
            logger.error("%s refused %d rows: %s", self.table, sum(r.rows for r in batch), error)
        if retryable:
            public = f"could not write to {self.table}: storage unavailable, retry later"
        else:
            code = error.code if isinstance(error, StorageError) else None
            public = (
                f"could not write to {self.table}: ClickHouse refused the rows (error code {code}); "
                "sending them again would fail again"
            )
        failure = WriteFailedError(
            f"could not write to {self.table}: {error}",
            public_message=public,
            retryable=retryable,
            retry_after_s=self._config.retry_after_s,
        )
        for request in batch:
            request.future.set_exception(failure)

    def _after_write(self) -> None:
        if self._on_written is None:
            return
        try:
            self._on_written()
        except Exception:  # a follow-up must never fail or stop the write path
            logger.exception("after writing to %s", self.table)


def _refuses_data(error: Exception) -> bool:
    return isinstance(error, StorageError) and error.refuses_data
