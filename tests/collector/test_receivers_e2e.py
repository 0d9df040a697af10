"""End to end with real clients: the OpenTelemetry SDK's OTLP exporters (gRPC and HTTP/protobuf,
plain and gzip), OTLP JSON over HTTP, and HiveLoop, into a running collector on chDB.

Every stored column is checked against the span or log record that was sent, computed here from the
SDK's own objects (not by the collector's row code), and the `hb_*` tables the materialized views
feed are checked for HiveLoop's spans, including the estimated cost of an LLM call.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from opentelemetry.trace.status import Status, StatusCode

import hiveloop
from hiveboard.storage import Storage
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID
from tests.collector.otlp_harness import (
    JSON,
    LOGS_PATH,
    TRACES_PATH,
    Tenant,
    assert_same_rows,
    decode_http_answer,
    new_span_id,
    new_trace_id,
    table_columns,
)
from tests.running_collector import RunningCollector

# ---- what was sent ------------------------------------------------------------------------------------

SPAN_KINDS = {
    SpanKind.INTERNAL: "Internal",
    SpanKind.SERVER: "Server",
    SpanKind.CLIENT: "Client",
    SpanKind.PRODUCER: "Producer",
    SpanKind.CONSUMER: "Consumer",
}
STATUS_CODES = {StatusCode.UNSET: "Unset", StatusCode.OK: "Ok", StatusCode.ERROR: "Error"}


def as_string(value: Any) -> str:
    """An attribute value as the exporter's tables store it (pdata's `Value.AsString()`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).removesuffix(".0")  # the test uses plain decimals
    if isinstance(value, list | tuple | dict):
        # Go's encoding/json: compact, keys sorted, non-ASCII as it is.
        plain = list(value) if isinstance(value, tuple) else value
        return json.dumps(plain, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return str(value)


def as_strings(attributes: Mapping[str, Any] | None) -> dict[str, str]:
    return {key: as_string(value) for key, value in (attributes or {}).items()}


def stamped(resource: Resource, tenant_id: str, key_type: str) -> dict[str, str]:
    """The resource's attributes with the trusted tenant and key type the collector writes."""
    return {**as_strings(resource.attributes), HIVEBOARD_TENANT_ID: tenant_id, HIVEBOARD_KEY_TYPE: key_type}


def expected_trace_row(span: ReadableSpan, tenant_id: str, key_type: str = "live") -> dict[str, Any]:
    """The `otel_traces` row of `span`, column by column (times in integer nanoseconds)."""
    assert span.start_time is not None and span.end_time is not None
    return {
        "Timestamp": span.start_time,
        "TraceId": format(span.context.trace_id, "032x"),
        "SpanId": format(span.context.span_id, "016x"),
        "ParentSpanId": format(span.parent.span_id, "016x") if span.parent else "",
        "TraceState": span.context.trace_state.to_header(),
        "SpanName": span.name,
        "SpanKind": SPAN_KINDS[span.kind],
        "ServiceName": span.resource.attributes["service.name"],
        "ResourceAttributes": stamped(span.resource, tenant_id, key_type),
        "ScopeName": span.instrumentation_scope.name,
        "ScopeVersion": span.instrumentation_scope.version or "",
        "SpanAttributes": as_strings(span.attributes),
        "Duration": span.end_time - span.start_time,
        "StatusCode": STATUS_CODES[span.status.status_code],
        "StatusMessage": span.status.description or "",
        "Events.Timestamp": [event.timestamp for event in span.events],
        "Events.Name": [event.name for event in span.events],
        "Events.Attributes": [as_strings(event.attributes) for event in span.events],
        "Links.TraceId": [format(link.context.trace_id, "032x") for link in span.links],
        "Links.SpanId": [format(link.context.span_id, "016x") for link in span.links],
        # The Python SDK's OTLP encoder does not send a link's trace state (1.45: `_encode_links`).
        "Links.TraceState": ["" for _ in span.links],
        "Links.Attributes": [as_strings(link.attributes) for link in span.links],
    }


def expected_log_row(record: ReadableLogRecord, tenant_id: str, key_type: str = "live") -> dict[str, Any]:
    """The `otel_logs` row of `record`, column by column."""
    log = record.log_record
    scope = record.instrumentation_scope
    assert scope is not None
    return {
        "Timestamp": log.timestamp or log.observed_timestamp,
        "TraceId": format(log.trace_id, "032x") if log.trace_id else "",
        "SpanId": format(log.span_id, "016x") if log.span_id else "",
        "TraceFlags": int(log.trace_flags or 0),
        "SeverityText": log.severity_text or "",
        "SeverityNumber": log.severity_number.value if log.severity_number else 0,
        "ServiceName": record.resource.attributes["service.name"],
        "Body": as_string(log.body),
        "ResourceSchemaUrl": record.resource.schema_url,
        "ResourceAttributes": stamped(record.resource, tenant_id, key_type),
        "ScopeSchemaUrl": scope.schema_url,
        "ScopeName": scope.name,
        "ScopeVersion": scope.version or "",
        "ScopeAttributes": as_strings(scope.attributes),
        "LogAttributes": as_strings(log.attributes),
        "EventName": log.event_name or "",
    }


# Nanoseconds that a microsecond clock would lose.
ODD_NS = 123_457


def sdk_spans(tenant_id: str) -> list[ReadableSpan]:
    """Spans made by the OpenTelemetry SDK covering every column: each kind and status, attributes of
    every type, events, links, trace state, a remote parent, and a resource naming another tenant
    (which the collector must overwrite). Times are a minute ago, to the nanosecond."""
    exporter = InMemorySpanExporter()
    resource = Resource.create(
        {
            "service.name": "checkout",
            "deployment.environment.name": "staging",
            "host.cpu.count": 8,
            HIVEBOARD_TENANT_ID: f"not-{tenant_id}",
            HIVEBOARD_KEY_TYPE: "live",
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.e2e", "1.2.3")
    base = time.time_ns() - 60_000_000_000 + ODD_NS
    remote_parent = SpanContext(
        trace_id=int.from_bytes(new_trace_id()),  # each test its own trace
        span_id=int.from_bytes(new_span_id()),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
    )
    linked = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_state=TraceState([("linked", "yes")]),
    )
    server = tracer.start_span(
        "GET /orders/{id}",
        context=set_span_in_context(NonRecordingSpan(remote_parent)),
        kind=SpanKind.SERVER,
        start_time=base,
        attributes={"http.request.method": "GET", "http.response.status_code": 200, "url.path": "/orders/42"},
        links=[Link(linked, {"link.reason": "retry of", "attempt": 2}), Link(remote_parent)],
    )
    server.add_event("cache miss", {"cache.key": "orders:42", "cache.hit": False}, timestamp=base + 1_001)
    server.add_event("no attributes", timestamp=base + 2_002)
    server.set_status(Status(StatusCode.OK))
    client = tracer.start_span(
        "SELECT orders",
        context=set_span_in_context(server),
        kind=SpanKind.CLIENT,
        start_time=base + 10_003,
        attributes={
            "db.system.name": "postgresql",
            "db.response.returned_rows": 12,
            "ratio": 0.25,
            "cached": False,
            "tags": ["a", "b"],
            "ids": [1, 2, 3],
            "flags": [True, False],
            "weights": [0.5, 1.25],
            "text": 'héllo ✓ 日本 "quoted" \\ new\nline',
        },
    )
    client.set_status(Status(StatusCode.ERROR, "connection reset by peer"))
    client.end(end_time=base + 500_123_457)
    for offset, (name, kind) in enumerate(
        [("enqueue", SpanKind.PRODUCER), ("dequeue", SpanKind.CONSUMER), ("compute", SpanKind.INTERNAL)]
    ):
        span = tracer.start_span(
            name, context=set_span_in_context(server), kind=kind, start_time=base + offset
        )
        span.end(end_time=base + offset + 7)  # status stays Unset
    server.end(end_time=base + 1_000_000_999)
    spans = list(exporter.get_finished_spans())
    provider.shutdown()
    assert {SPAN_KINDS[span.kind] for span in spans} == set(SPAN_KINDS.values())
    return spans


def sdk_log_records(span: ReadableSpan) -> list[ReadableLogRecord]:
    """Log records of every shape: in a span's context, without one, with a structured body, with
    only an observed time; with resource and scope schema URLs and scope attributes."""
    resource = Resource(
        {"service.name": "checkout", "service.version": "2.0.1"},
        schema_url="https://opentelemetry.io/schemas/1.26.0",
    )
    scope = InstrumentationScope(
        "tests.logs", "0.9", "https://opentelemetry.io/schemas/1.25.0", {"scope.kind": "logger"}
    )
    now = time.time_ns() - 30_000_000_000 + ODD_NS
    records = [
        LogRecord(
            timestamp=now,
            observed_timestamp=now + 5,
            trace_id=span.context.trace_id,
            span_id=span.context.span_id,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
            severity_text="WARN",
            severity_number=SeverityNumber.WARN,
            body="disk almost full ✓ 日本",
            attributes={"disk.used": 0.75, "mount": "/data", "retries": 3, "critical": True},
            event_name="disk.pressure",
        ),
        LogRecord(
            observed_timestamp=now + 1_000,
            severity_text="ERROR",
            severity_number=SeverityNumber.ERROR,
            body={"order": 42, "reason": "declined", "items": ["a", "b"]},
        ),
        LogRecord(timestamp=now + 2_000, body="plain"),
    ]
    return [ReadableLogRecord(record, resource, scope) for record in records]


# ---- how it is sent -----------------------------------------------------------------------------------


def otlp_json(request: Message) -> dict[str, Any]:
    """`request` in the OTLP JSON encoding: proto3 JSON with integer enums and hex ids."""
    document = json_format.MessageToDict(request, use_integers_for_enums=True)

    def hex_ids(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    hex_ids(value)
        elif isinstance(node, list):
            for item in node:
                hex_ids(item)

    hex_ids(document)
    return document


def post_json(running: RunningCollector, path: str, request: Message, key: str, gzipped: bool) -> None:
    """POST `request` as OTLP JSON (the Python SDK has no JSON exporter) and expect full success."""
    body = json.dumps(otlp_json(request)).encode()
    headers = {"content-type": JSON, "authorization": f"Bearer {key}"}
    if gzipped:
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    answer = decode_http_answer(httpx.post(running.http_url + path, content=body, headers=headers), path)
    assert answer.status == 200, answer.message
    assert answer.content_type == JSON  # answered in the request's encoding
    assert not answer.message.HasField("partial_success"), answer.message


def grpc_compression(gzipped: bool) -> grpc.Compression:
    return grpc.Compression.Gzip if gzipped else grpc.Compression.NoCompression


def http_compression(gzipped: bool) -> Compression:
    return Compression.Gzip if gzipped else Compression.NoCompression


def export_spans(running: RunningCollector, client: str, spans: Sequence[ReadableSpan], key: str) -> None:
    protocol, _, compression = client.partition("+")
    gzipped = compression == "gzip"
    if protocol == "http/json":
        post_json(running, TRACES_PATH, encode_spans(spans), key, gzipped)
        return
    if protocol == "grpc":
        exporter: Any = GrpcSpanExporter(
            endpoint=running.grpc_target,
            insecure=True,
            headers={"authorization": f"Bearer {key}"},
            compression=grpc_compression(gzipped),
        )
    else:
        exporter = HttpSpanExporter(
            endpoint=running.http_url + TRACES_PATH,
            headers={"Authorization": f"Bearer {key}"},
            compression=http_compression(gzipped),
        )
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()


def export_logs(
    running: RunningCollector, client: str, records: Sequence[ReadableLogRecord], key: str
) -> None:
    protocol, _, compression = client.partition("+")
    gzipped = compression == "gzip"
    if protocol == "http/json":
        post_json(running, LOGS_PATH, encode_logs(records), key, gzipped)
        return
    if protocol == "grpc":
        exporter: Any = GrpcLogExporter(
            endpoint=running.grpc_target,
            insecure=True,
            headers={"x-api-key": key},
            compression=grpc_compression(gzipped),
        )
    else:
        exporter = HttpLogExporter(
            endpoint=running.http_url + LOGS_PATH,
            headers={"x-api-key": key},
            compression=http_compression(gzipped),
        )
    try:
        assert exporter.export(records) is LogRecordExportResult.SUCCESS
    finally:
        exporter.shutdown()


CLIENTS = ["grpc", "grpc+gzip", "http/protobuf", "http/protobuf+gzip", "http/json", "http/json+gzip"]


# ---- what was stored ----------------------------------------------------------------------------------

# Times as integer nanoseconds (a `datetime` would keep only microseconds).
_TRACE_SELECT = {
    "Timestamp": "toUnixTimestamp64Nano(Timestamp)",
    "Events.Timestamp": "arrayMap(time -> toUnixTimestamp64Nano(time), Events.Timestamp)",
}
_LOG_SELECT = {"Timestamp": "toUnixTimestamp64Nano(Timestamp)"}


def stored_rows(
    storage: Storage, table: str, columns: Sequence[str], tenant_id: str, converted: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Every column of the tenant's rows of `table`, keyed by column name."""
    selected = ", ".join(
        f"{converted.get(column, f'`{column}`')} AS `c{index}`" for index, column in enumerate(columns)
    )
    result = storage.query(
        f"SELECT {selected} FROM {table} WHERE ResourceAttributes[{{attribute:String}}] = {{tenant:String}}",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": tenant_id},
    )
    return [dict(zip(columns, row, strict=True)) for row in result.rows]


# ---- traces -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_every_column_of_a_stored_span_is_the_span_that_was_sent(
    storage: Storage, running: RunningCollector, tenant: Tenant, client: str
) -> None:
    spans = sdk_spans(tenant.id)

    export_spans(running, client, spans, tenant.live)

    expected = [expected_trace_row(span, tenant.id) for span in spans]
    assert set(expected[0]) == table_columns(storage, "otel_traces")  # every column is checked
    stored = stored_rows(storage, "otel_traces", list(expected[0]), tenant.id, _TRACE_SELECT)
    assert_same_rows(stored, expected, "SpanId")


def test_spans_of_a_test_key_are_stored_as_test_data(
    storage: Storage, running: RunningCollector, tenant: Tenant
) -> None:
    spans = sdk_spans(tenant.id)

    export_spans(running, "grpc", spans, tenant.test)

    expected = [expected_trace_row(span, tenant.id, key_type="test") for span in spans]
    stored = stored_rows(storage, "otel_traces", list(expected[0]), tenant.id, _TRACE_SELECT)
    assert_same_rows(stored, expected, "SpanId")


def test_the_trace_id_lookup_table_is_fed(
    storage: Storage, running: RunningCollector, tenant: Tenant
) -> None:
    spans = sdk_spans(tenant.id)
    export_spans(running, "http/protobuf", spans, tenant.live)

    trace_id = format(spans[0].context.trace_id, "032x")
    rows = storage.query(
        "SELECT toUnixTimestamp(min(Start)), toUnixTimestamp(max(End)) FROM otel_traces_trace_id_ts "
        "WHERE TraceId = {trace_id:String}",
        {"trace_id": trace_id},
    ).rows
    starts = [span.start_time // 1_000_000_000 for span in spans]
    assert rows == [(min(starts), max(starts))]


# ---- logs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
def test_every_column_of_a_stored_log_record_is_the_record_that_was_sent(
    storage: Storage, running: RunningCollector, tenant: Tenant, client: str
) -> None:
    records = sdk_log_records(sdk_spans(tenant.id)[0])

    export_logs(running, client, records, tenant.live)

    expected = [expected_log_row(record, tenant.id) for record in records]
    assert set(expected[0]) == table_columns(storage, "otel_logs")
    stored = stored_rows(storage, "otel_logs", list(expected[0]), tenant.id, _LOG_SELECT)
    assert_same_rows(stored, expected, "Timestamp")


# ---- HiveLoop and the hb_* tables ---------------------------------------------------------------------

AGENT = "lead-qualifier"
MODEL = "claude-sonnet-4-20250514"
# Claude Sonnet 4: USD 3 per million input tokens, 15 per million output tokens.
SONNET_4_ESTIMATE = 1800 * 3 / 1e6 + 250 * 15 / 1e6


def run_hiveloop_agent(running: RunningCollector, key: str, task_id: str) -> None:
    """A HiveLoop agent doing one task (an action, two LLM calls, one of an unknown model, no
    reported cost) and reporting an issue, all sent to the collector and flushed."""
    hb = hiveloop.init(api_key=key, endpoint=running.http_url, environment="production")
    agent = hb.agent(AGENT, type="sales", version="1.0.0", heartbeat_interval=0)
    with agent.task(task_id, project="sales-pipeline", type="lead_processing") as task:
        with agent.track_context("search_crm") as action:
            action.set_payload({"found": True})
        task.llm_call("lead_scoring", MODEL, tokens_in=1800, tokens_out=250, duration_ms=5)
        task.llm_call("summary", "in-house-model-x", tokens_in=100, tokens_out=10, duration_ms=1)
    agent.report_issue("CRM API returning 403", severity="high", issue_id="crm-403", category="permissions")
    assert hiveloop.flush(timeout=20)


def wait_for_prices(storage: Storage, models: list[str]) -> None:
    """Return once `hb_model_prices` holds a row for each of `models`: the collector prices the
    models of new calls soon after writing them, without waiting for its periodic refresh."""
    deadline = time.monotonic() + 10
    query = "SELECT uniqExact(Model) FROM hb_model_prices WHERE Model IN {models:Array(String)}"
    while storage.query(query, {"models": models}).rows[0][0] < len(models):
        assert time.monotonic() < deadline, f"{models} were not priced within 10 s"
        time.sleep(0.05)


def tenant_rows(storage: Storage, sql: str, tenant: Tenant, **parameters: str) -> list[dict[str, Any]]:
    return storage.query(sql, {"tenant": tenant.id, **parameters}).dicts()


@pytest.mark.parametrize("key_type", ["live", "test"])
def test_hiveloop_spans_fill_the_hb_tables(
    storage: Storage, running: RunningCollector, tenant: Tenant, key_type: str
) -> None:
    run_hiveloop_agent(running, getattr(tenant, key_type), "task-e2e")

    calls = tenant_rows(
        storage,
        "SELECT KeyType, AgentId, TaskId, Project, CallName, RequestModel, InputTokens, OutputTokens, "
        "ReportedCost, StatusCode FROM hb_llm_calls WHERE TenantId = {tenant:String} ORDER BY CallName",
        tenant,
    )
    common = {"KeyType": key_type, "AgentId": AGENT, "TaskId": "task-e2e", "Project": "sales-pipeline"}
    assert calls == [
        {
            **common,
            "CallName": "lead_scoring",
            "RequestModel": MODEL,
            "InputTokens": 1800,
            "OutputTokens": 250,
            "ReportedCost": None,
            "StatusCode": "Unset",
        },
        {
            **common,
            "CallName": "summary",
            "RequestModel": "in-house-model-x",
            "InputTokens": 100,
            "OutputTokens": 10,
            "ReportedCost": None,
            "StatusCode": "Unset",
        },
    ]
    tasks = tenant_rows(
        storage,
        "SELECT KeyType, TaskId, AgentId, AgentType, TaskType, Project, Status, EndTime IS NOT NULL AS Ended "
        "FROM hb_tasks FINAL WHERE TenantId = {tenant:String}",
        tenant,
    )
    assert tasks == [
        {
            "KeyType": key_type,
            "TaskId": "task-e2e",
            "AgentId": AGENT,
            "AgentType": "sales",
            "TaskType": "lead_processing",
            "Project": "sales-pipeline",
            "Status": "completed",
            "Ended": True,
        }
    ]
    events = tenant_rows(
        storage,
        "SELECT EventType, count() AS n FROM hb_events WHERE TenantId = {tenant:String} "
        "AND KeyType = {key_type:String} AND AgentId = 'lead-qualifier' GROUP BY EventType ORDER BY EventType",
        tenant,
        key_type=key_type,
    )
    event_types = {row["EventType"]: row["n"] for row in events}
    assert {
        "task_completed": 1,
        "action_completed": 1,
        "llm_call": 2,
        "issue": 1,
    }.items() <= event_types.items()
    agents = tenant_rows(
        storage,
        "SELECT KeyType, AgentId, AgentType, Version FROM hb_agents FINAL WHERE TenantId = {tenant:String}",
        tenant,
    )
    assert agents == [{"KeyType": key_type, "AgentId": AGENT, "AgentType": "sales", "Version": "1.0.0"}]


def test_an_llm_call_without_a_reported_cost_gets_an_estimate_and_an_unknown_model_none(
    storage: Storage, running: RunningCollector, tenant: Tenant
) -> None:
    run_hiveloop_agent(running, tenant.live, "task-cost")
    wait_for_prices(storage, [MODEL, "in-house-model-x"])

    costs = tenant_rows(
        storage,
        "SELECT CallName, Cost, CostSource, MatchedModel FROM hb_llm_costs "
        "WHERE TenantId = {tenant:String} ORDER BY CallName",
        tenant,
    )
    scoring, summary = costs
    assert scoring["CostSource"] == "estimated"
    assert scoring["Cost"] == pytest.approx(SONNET_4_ESTIMATE)
    assert "sonnet-4" in scoring["MatchedModel"]
    assert summary == {"CallName": "summary", "Cost": None, "CostSource": "unpriced", "MatchedModel": ""}
