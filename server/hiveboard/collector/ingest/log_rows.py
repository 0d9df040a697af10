"""Turn an `ExportLogsServiceRequest` into rows of the `otel_logs` table.

The values follow the OpenTelemetry Collector Contrib `clickhouseexporter` (its `pushLogsData`):
`Timestamp` is the record's time, else its observed time; ids are lowercase hex ('' when absent);
`Body` and attribute values are rendered like pdata's `Value.AsString()`; `ServiceName` is the
resource's `service.name`. As for spans, every resource gets the trusted `hiveboard.tenant.id` and
`hiveboard.key.type`, and records with ids of the wrong length, a severity number outside 0..24, a
time past the DateTime64(9) range or a `Timestamp` outside what the table keeps (a
`retention.TimeWindow`) are rejected and counted for OTLP partial success.

One deliberate difference: a record with neither time is stamped with the time it was received,
where upstream writes 1970, which the table's TTL would silently drop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from hiveboard.collector.ingest.otlp_values import (
    MAX_ERROR_MESSAGES,
    MAX_TIME_UNIX_NANO,
    any_value_as_string,
    attributes_to_dict,
    hex_or_empty,
    service_name,
)
from hiveboard.storage.retention import Retention, TimeWindow
from hiveboard.storage.schema.otel_tables import LOGS_TABLE
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID

LOG_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "TraceFlags",
    "SeverityText",
    "SeverityNumber",
    "ServiceName",
    "Body",
    "ResourceSchemaUrl",
    "ResourceAttributes",
    "ScopeSchemaUrl",
    "ScopeName",
    "ScopeVersion",
    "ScopeAttributes",
    "LogAttributes",
    "EventName",
)
# OTLP severity numbers: 0 (unspecified) to 24 (FATAL4).
MAX_SEVERITY_NUMBER = 24
_ANY_STORABLE_TIME = Retention(LOGS_TABLE, None).window(0)


@dataclass(slots=True)
class LogRows:
    """Rows for `otel_logs` in `LOG_COLUMNS` order, plus the OTLP partial-success tally: how many
    records were `rejected`, and why (the first few `errors`)."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def log_rows(
    request: ExportLogsServiceRequest,
    tenant_id: str,
    key_type: str,
    window: TimeWindow = _ANY_STORABLE_TIME,
) -> LogRows:
    """The `otel_logs` rows of `request` (in `LOG_COLUMNS` order), stamped with tenant and key type;
    a record's `Timestamp` must be within `window` (by default, any time a table without TTL holds)."""
    result = LogRows()
    received = time.time_ns()
    for resource_index, resource_logs in enumerate(request.resource_logs):
        resource = resource_logs.resource
        resource_attributes = attributes_to_dict(resource.attributes)
        resource_attributes[HIVEBOARD_TENANT_ID] = tenant_id
        resource_attributes[HIVEBOARD_KEY_TYPE] = key_type
        service = service_name(resource.attributes)
        for scope_index, scope_logs in enumerate(resource_logs.scope_logs):
            scope = scope_logs.scope
            scope_attributes = attributes_to_dict(scope.attributes)
            for record_index, record in enumerate(scope_logs.log_records):
                timestamp = record.time_unix_nano or record.observed_time_unix_nano or received
                problem = _problem(record) or window.problem(timestamp, "time")
                if problem:
                    result.rejected += 1
                    if len(result.errors) < MAX_ERROR_MESSAGES:
                        where = f"resourceLogs[{resource_index}].scopeLogs[{scope_index}]"
                        result.errors.append(f"{where}.logRecords[{record_index}] rejected: {problem}")
                    continue
                result.rows.append(
                    (
                        timestamp,
                        hex_or_empty(record.trace_id),
                        hex_or_empty(record.span_id),
                        record.flags & 0xFF,
                        record.severity_text,
                        record.severity_number,
                        service,
                        any_value_as_string(record.body),
                        resource_logs.schema_url,
                        resource_attributes,
                        scope_logs.schema_url,
                        scope.name,
                        scope.version,
                        scope_attributes,
                        attributes_to_dict(record.attributes),
                        record.event_name,
                    )
                )
    return result


def _problem(record: Any) -> str:
    """Why a log record cannot be stored, or ''."""
    if len(record.trace_id) not in (0, 16):
        return f"trace id must be 16 bytes or empty, got {len(record.trace_id)}"
    if len(record.span_id) not in (0, 8):
        return f"span id must be 8 bytes or empty, got {len(record.span_id)}"
    if max(record.time_unix_nano, record.observed_time_unix_nano) > MAX_TIME_UNIX_NANO:
        return f"times must be at most {MAX_TIME_UNIX_NANO} ns (year 2262), the DateTime64(9) range"
    if not 0 <= record.severity_number <= MAX_SEVERITY_NUMBER:
        return f"severity number must be 0..{MAX_SEVERITY_NUMBER}, got {record.severity_number}"
    return ""
