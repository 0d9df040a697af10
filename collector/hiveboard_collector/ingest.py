"""The processing stage between the receivers and the writers: authenticate, turn an OTLP export
into rows for the sender's tenant (spans: checked and wrapped for ClickHouse to decode), write
them, and say what the receiver must answer.

The HTTP and gRPC receivers differ only in how they read a request and phrase the answer; both go
through one `Ingestor`, so authentication, tenant stamping, partial success and back-pressure
behave the same on both protocols.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import ClassVar, NamedTuple

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hiveboard.collector.ingest.log_rows import LogRows, log_rows
from hiveboard.collector.ingest.trace_rows import TraceExport, trace_export
from hiveboard.collector.writer.batch_writer import BatchWriter, WriteFailedError, WriterBusyError
from hiveboard.storage import StorageError
from hiveboard.storage.keys import (
    AuthenticationError,
    KeyStore,
    PermissionDeniedError,
    Principal,
    authorize_ingest,
    headers_key,
)


class Ingestor:
    """Authenticates senders and writes their traces and logs through the writers."""

    def __init__(self, key_store: KeyStore, traces: BatchWriter, logs: BatchWriter) -> None:
        self._key_store = key_store
        self._traces = traces
        self._logs = logs

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The sender of a request with `headers`. Raises `AuthenticationError` (no, unknown or
        revoked key), `PermissionDeniedError` (a read key) or `StorageError` (keys unreadable).

        In a worker thread: a key not in the cache is looked up in storage, which must not stall the
        event loop that every other request is waiting on.
        """
        key = headers_key(headers)
        return authorize_ingest(await asyncio.to_thread(self._key_store.authenticate, key))

    async def export_traces(
        self, request: ExportTraceServiceRequest, principal: Principal
    ) -> ExportTraceServiceResponse:
        """Write the spans of `request`; returns once they are written, with the OTLP partial success
        of the spans rejected. Raises `WriterBusyError` or `WriteFailedError` when they could not be."""
        export = trace_export(request, principal.tenant_id, principal.key_type.value)
        # Parsed, the request is about three times its wire size: only its rows wait for the writer,
        # whose `max_pending_rows` bounds the memory waiting to be written.
        del request
        await asyncio.wrap_future(self._traces.submit(export.envelope, export.spans))
        response = ExportTraceServiceResponse()
        if export.rejected:
            response.partial_success.rejected_spans = export.rejected
            response.partial_success.error_message = _rejections(export, "spans")
        return response

    async def export_logs(
        self, request: ExportLogsServiceRequest, principal: Principal
    ) -> ExportLogsServiceResponse:
        """Write the log records of `request`, like `export_traces`."""
        rows = log_rows(request, principal.tenant_id, principal.key_type.value)
        del request  # as in `export_traces`
        await asyncio.wrap_future(self._logs.submit(rows.rows, len(rows.rows)))
        response = ExportLogsServiceResponse()
        if rows.rejected:
            response.partial_success.rejected_log_records = rows.rejected
            response.partial_success.error_message = _rejections(rows, "log records")
        return response


def _rejections(result: TraceExport | LogRows, items: str) -> str:
    """The partial-success message: how many `items` were rejected, and why."""
    reasons = "; ".join(result.errors)
    more = result.rejected - len(result.errors)
    if more > 0:
        reasons += f"; and {more} more"
    return f"{result.rejected} {items} rejected: {reasons}"


class Refusal(NamedTuple):
    """Why an export is refused, in protocol-neutral terms: `kind` is one of the class constants,
    `retry_after_s` is set exactly for the retryable refusals."""

    kind: str
    message: str
    retry_after_s: int | None = None

    UNAUTHENTICATED: ClassVar[str] = "unauthenticated"
    PERMISSION_DENIED: ClassVar[str] = "permission_denied"
    UNAVAILABLE: ClassVar[str] = "unavailable"
    INVALID: ClassVar[str] = "invalid"


# How long a sender is told to wait when the keys or the storage cannot be read.
STORAGE_RETRY_AFTER_S = 5


def refusal_for(error: Exception) -> Refusal | None:
    """The refusal an exception of authentication or writing stands for; None for any other error."""
    if isinstance(error, AuthenticationError):
        return Refusal(Refusal.UNAUTHENTICATED, str(error))
    if isinstance(error, PermissionDeniedError):
        return Refusal(Refusal.PERMISSION_DENIED, str(error))
    if isinstance(error, WriterBusyError):
        return Refusal(Refusal.UNAVAILABLE, str(error), error.retry_after_s)
    if isinstance(error, WriteFailedError):
        if error.retryable:
            return Refusal(Refusal.UNAVAILABLE, str(error), error.retry_after_s)
        return Refusal(Refusal.INVALID, str(error))
    if isinstance(error, StorageError):
        return Refusal(Refusal.UNAVAILABLE, f"storage unavailable: {error}", STORAGE_RETRY_AFTER_S)
    return None
