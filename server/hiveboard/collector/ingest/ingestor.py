"""The processing stage between the receivers and the writers: authenticate, turn an OTLP export
into rows for the sender's tenant (spans: checked and wrapped for ClickHouse to decode), write
them, and say what the receiver must answer.

The HTTP and gRPC receivers differ only in how they read a request and phrase the answer; both go
through one `Ingestor`, so authentication, tenant stamping, partial success and back-pressure
behave the same on both protocols.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from hiveboard.collector.ingest.log_rows import LogRows, log_rows
from hiveboard.collector.ingest.otlp_values import MAX_NESTING_DEPTH, NESTING_MARKER
from hiveboard.collector.ingest.trace_rows import TraceExport, WireTraceRequest, trace_export
from hiveboard.collector.writer.batch_writer import BatchWriter
from hiveboard.storage.keys import KeyStore, Principal, authorize_ingest, headers_key
from hiveboard.storage.retention import Retention
from hiveboard.storage.schema.otel_tables import LOGS_TABLE, TRACES_TABLE

logger = logging.getLogger(__name__)
# Tables without TTL: only ClickHouse's DateTime range bounds the times kept.
_KEPT_FOR_EVER = {"traces": Retention(TRACES_TABLE, None), "logs": Retention(LOGS_TABLE, None)}


class Ingestor:
    """Authenticates senders and writes their traces and logs through the writers.

    Spans and log records the tables would not keep (`traces_retention`, `logs_retention`: the TTL
    the tables have) are rejected through OTLP partial success rather than acknowledged and then
    deleted by ClickHouse. `rejected` counts every span and log record rejected since start (keys
    `spans`, `log_records`), and each request with rejections is logged with its first reason.
    """

    def __init__(
        self,
        key_store: KeyStore,
        traces: BatchWriter,
        logs: BatchWriter,
        traces_retention: Retention = _KEPT_FOR_EVER["traces"],
        logs_retention: Retention = _KEPT_FOR_EVER["logs"],
    ) -> None:
        self._key_store = key_store
        self._traces = traces
        self._logs = logs
        self._traces_retention = traces_retention
        self._logs_retention = logs_retention
        self.rejected: Counter[str] = Counter()

    async def authenticate(self, headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Principal:
        """The sender of a request with `headers` (every copy of a repeated header: see `headers_key`).
        Raises `ConflictingKeysError` (two keys), `AuthenticationError` (no, unknown or revoked key),
        `PermissionDeniedError` (a read key) or `StorageError` (keys unreadable).

        In a worker thread: a key not in the cache is looked up in storage, which must not stall the
        event loop that every other request is waiting on.
        """
        key = headers_key(headers)
        return authorize_ingest(await asyncio.to_thread(self._key_store.authenticate, key))

    async def export_traces(
        self, request: ExportTraceServiceRequest | WireTraceRequest, principal: Principal
    ) -> ExportTraceServiceResponse:
        """Write the spans of `request`; returns once they are written, with the OTLP partial success
        of the spans rejected. Raises `WriterBusyError` or `WriteFailedError` when they could not be."""
        window = self._traces_retention.window(time.time_ns())
        export = trace_export(request, principal.tenant_id, principal.key_type.value, window)
        # Parsed, the request is about three times its wire size (a `WireTraceRequest` holds both):
        # only its rows wait for the writer, whose `max_pending_rows` bounds the memory waiting.
        del request
        await asyncio.wrap_future(self._traces.submit(export.envelope, export.spans))
        response = ExportTraceServiceResponse()
        messages = []
        if export.rejected:
            response.partial_success.rejected_spans = export.rejected
            messages.append(self._rejections(export, "spans", principal))
        if export.cut_values:
            # A warning (OTLP allows one with nothing rejected): the spans are kept, these values cut.
            messages.append(
                f"{export.cut_values} attribute values nested deeper than {MAX_NESTING_DEPTH} levels were "
                f"stored with {NESTING_MARKER!r} in place of their deeper levels"
            )
        if messages:
            response.partial_success.error_message = "; ".join(messages)
        return response

    async def export_logs(
        self, request: ExportLogsServiceRequest, principal: Principal
    ) -> ExportLogsServiceResponse:
        """Write the log records of `request`, like `export_traces`."""
        window = self._logs_retention.window(time.time_ns())
        rows = log_rows(request, principal.tenant_id, principal.key_type.value, window)
        del request  # as in `export_traces`
        await asyncio.wrap_future(self._logs.submit(rows.rows, len(rows.rows)))
        response = ExportLogsServiceResponse()
        if rows.rejected:
            response.partial_success.rejected_log_records = rows.rejected
            response.partial_success.error_message = self._rejections(rows, "log records", principal)
        return response

    def _rejections(self, result: TraceExport | LogRows, items: str, principal: Principal) -> str:
        """Count and log the `items` `result` rejected; returns the partial-success message: how many,
        and why."""
        self.rejected[items.replace(" ", "_")] += result.rejected
        logger.info(
            "rejected %d %s of tenant %s: %s", result.rejected, items, principal.tenant_id, result.errors[0]
        )
        reasons = "; ".join(result.errors)
        more = result.rejected - len(result.errors)
        if more > 0:
            reasons += f"; and {more} more"
        return f"{result.rejected} {items} rejected: {reasons}"
