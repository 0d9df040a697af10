"""Spans through the collector's trace path, without a collector: `trace_export` checks and wraps an
OTLP request, `TracesInput` has ClickHouse decode the envelope into `otel_traces`, and the rows are
read back in `TRACE_COLUMNS` order, times as integer nanoseconds (what the span's OTLP fields hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clickhouse_connect.driver.binding import quote_identifier
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hiveboard.collector.ingest.trace_rows import (
    TRACE_COLUMNS,
    TRACES_INPUT,
    TraceExport,
    TracesInput,
    WireTraceRequest,
    trace_export,
)
from hiveboard.storage import Storage
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveboard_semconv.attributes import HIVEBOARD_TENANT_ID

_READ_BACK = {
    "Timestamp": "toUnixTimestamp64Nano(Timestamp)",
    "Events.Timestamp": "arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`)",
}
TRACE_SELECT = ", ".join(_READ_BACK.get(name, quote_identifier(name)) for name in TRACE_COLUMNS)
"""The columns of `otel_traces` in `TRACE_COLUMNS` order, `Timestamp` and `Events.Timestamp` as
int nanoseconds."""


def stored_trace_rows(
    storage: Storage, tenant_id: str, order_by: str = "Timestamp, SpanId"
) -> list[dict[str, Any]]:
    """The `otel_traces` rows of `tenant_id` as `{column: value}`, in the order of `order_by`."""
    result = storage.query(
        f"SELECT {TRACE_SELECT} FROM {TRACES_TABLE} "
        f"WHERE ResourceAttributes[{{attribute:String}}] = {{tenant:String}} ORDER BY {order_by}",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": tenant_id},
    )
    return [dict(zip(TRACE_COLUMNS, row, strict=True)) for row in result.rows]


def store_requests(
    storage: Storage,
    requests: Sequence[ExportTraceServiceRequest | WireTraceRequest],
    tenant_id: str,
    key_type: str = "live",
    traces_input: TracesInput = TRACES_INPUT,
) -> list[TraceExport]:
    """`trace_export` of each request (which removes its rejected spans), then one insert of all the
    envelopes, as the writer does with a batch."""
    exports = [trace_export(request, tenant_id, key_type) for request in requests]
    traces_input.insert(storage, [export.envelope for export in exports])
    return exports
