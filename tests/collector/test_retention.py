"""Acknowledged means kept: spans and log records whose time the tables would not keep (older than
the TTL, or past what `toDateTime(Timestamp) + TTL` holds before ClickHouse's DateTime wraps in 2106)
are rejected through OTLP partial success, over OTLP/HTTP (protobuf and JSON) and OTLP/gRPC; the
valid items of the same request are stored, and still there after the TTL has been applied by a
merge (`OPTIMIZE ... FINAL`)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from hiveboard.storage import Storage
from hiveboard.storage.retention import DATETIME_MAX_S, read_retention
from hiveboard.storage.schema.otel_tables import LOGS_TABLE, TRACES_TABLE
from tests.collector.otlp_harness import (
    JSON,
    LOGS_PATH,
    LOGS_SERVICE,
    PROTOBUF,
    TRACE_SERVICE,
    TRACES_PATH,
    Tenant,
    grpc_export,
    log_request,
    make_span,
    post_otlp,
    stored_span_ids,
    trace_request,
)
from tests.running_collector import RunningCollector

DAY_NS = 86_400 * 1_000_000_000
PROTOCOLS = ["http", "json", "grpc"]


def export(running: RunningCollector, protocol: str, request: Any, tenant: Tenant, path: str) -> Any:
    """Send `request` over `protocol`; the `partial_success` of its 200 / OK answer."""
    if protocol == "grpc":
        service = TRACE_SERVICE if path == TRACES_PATH else LOGS_SERVICE
        answer = grpc_export(running.grpc_target, service, request, tenant.bearer())
        assert answer.code == grpc.StatusCode.OK, answer.details
        return answer.response.partial_success
    if protocol == "json":
        body, content_type = otlp_json(request), JSON
    else:
        body, content_type = request.SerializeToString(), PROTOBUF
    http_answer = post_otlp(running.http_url, path, body, tenant.bearer(), content_type)
    assert http_answer.status == 200, http_answer.message
    return http_answer.message.partial_success


def otlp_json(request: Any) -> bytes:
    """OTLP JSON: proto3 JSON with hex trace and span ids."""
    document = json_format.MessageToDict(request)
    for resource in document.get("resourceSpans", []):
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId"):
                    span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(document).encode()


def merge_with_ttl(storage: Storage, table: str) -> None:
    """Apply the TTL now, as the next merge would."""
    storage.command(f"OPTIMIZE TABLE {table} FINAL")


def test_the_collector_reads_the_retention_the_tables_have(storage: Storage) -> None:
    """From each table's TTL clause, whatever set it: the migrations (30 days by default) or an
    operator's ALTER; a TTL of another form is treated as none (only the DateTime range applies)."""
    assert read_retention(storage, TRACES_TABLE).ttl_s == 30 * 86_400
    assert read_retention(storage, LOGS_TABLE).ttl_s == 30 * 86_400
    ttls = {
        "hb_test_ttl_hours": ("TTL toDateTime(Timestamp) + toIntervalHour(72)", 72 * 3600),
        "hb_test_ttl_months": ("TTL toDateTime(Timestamp) + toIntervalMonth(1)", None),
        "hb_test_ttl_none": ("", None),
    }
    for table, (clause, _) in ttls.items():
        storage.command(
            f"CREATE TABLE IF NOT EXISTS {table} (Timestamp DateTime64(9)) ENGINE = MergeTree "
            f"ORDER BY Timestamp {clause}"
        )
    try:
        assert {table: read_retention(storage, table).ttl_s for table in ttls} == {
            table: seconds for table, (_, seconds) in ttls.items()
        }
        window = read_retention(storage, "hb_test_ttl_hours").window(100 * DAY_NS)
        assert (window.earliest_ns, window.latest_ns) == (
            100 * DAY_NS - 72 * 3600 * 1_000_000_000 + 1_000_000_000,
            (DATETIME_MAX_S - 72 * 3600) * 1_000_000_000 + 999_999_999,
        )
    finally:
        for table in ttls:
            storage.command(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_spans_the_table_would_not_keep_are_rejected_and_the_others_kept(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    now = time.time_ns()
    kept = [
        make_span("now", start_ns=now),
        make_span("29 days ago", start_ns=now - 29 * DAY_NS),
        # Ends before it starts: stored with Duration 0, nothing of it breaks storage.
        make_span("ends before it starts", start_ns=now, duration_ns=-1_000),
    ]
    rejected = [
        make_span("31 days ago", start_ns=now - 31 * DAY_NS),
        make_span("epoch", start_ns=0, duration_ns=0),
        make_span("past 2106", start_ns=(DATETIME_MAX_S + 1) * 1_000_000_000),
        make_span("9e18 ns", start_ns=9 * 10**18),
        # Within DateTime, but its expiry (time + 30 days) is not.
        make_span("2106 less 10 days", start_ns=(DATETIME_MAX_S - 10 * 86_400) * 1_000_000_000),
    ]
    request = trace_request([kept[0], rejected[0], kept[1], *rejected[1:], kept[2]])

    partial_success = export(running, protocol, request, tenant, TRACES_PATH)

    assert partial_success.rejected_spans == len(rejected)
    message = partial_success.error_message
    assert message.startswith(f"{len(rejected)} spans rejected: resourceSpans[0].scopeSpans[0].spans[1]")
    assert "(name '31 days ago') rejected: start time " in message
    assert "is older than otel_traces keeps (TTL 30 days): it would be deleted at once" in message
    assert (
        "(name '9e18 ns') rejected: start time 2255-03-14T16:00:00Z is past 2106-01-08T06:28:15Z" in message
    )
    assert "ClickHouse DateTime ends 2106-02-07T06:28:15Z, less the TTL of 30 days" in message
    assert running.collector.ingestor.rejected["spans"] >= len(rejected)
    kept_ids = {span.span_id.hex() for span in kept}
    assert stored_span_ids(storage, tenant.id) == kept_ids

    merge_with_ttl(storage, TRACES_TABLE)

    assert stored_span_ids(storage, tenant.id) == kept_ids


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_log_records_the_table_would_not_keep_are_rejected_and_the_others_kept(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    now = time.time_ns()

    def record(body: str, time_ns: int, observed_ns: int = 0) -> LogRecord:
        return LogRecord(
            time_unix_nano=time_ns, observed_time_unix_nano=observed_ns, body=AnyValue(string_value=body)
        )

    request = log_request(
        [
            record("now", now),
            record("40 days ago", now - 40 * DAY_NS),
            record("observed only, now", 0, now),
            record("9e18 ns", 9 * 10**18),
            record("29 days ago", now - 29 * DAY_NS),
        ]
    )

    partial_success = export(running, protocol, request, tenant, LOGS_PATH)

    assert partial_success.rejected_log_records == 2
    assert "resourceLogs[0].scopeLogs[0].logRecords[1] rejected: time " in partial_success.error_message
    assert "is older than otel_logs keeps (TTL 30 days)" in partial_success.error_message
    assert "logRecords[3] rejected: time 2255-03-14T16:00:00Z is past" in partial_success.error_message
    expected = ["29 days ago", "now", "observed only, now"]
    assert stored_log_bodies(storage, tenant.id) == expected

    merge_with_ttl(storage, LOGS_TABLE)

    assert stored_log_bodies(storage, tenant.id) == expected


def stored_log_bodies(storage: Storage, tenant_id: str) -> list[str]:
    rows = storage.query(
        "SELECT Body FROM otel_logs WHERE ResourceAttributes['hiveboard.tenant.id'] = {tenant:String} "
        "ORDER BY Body",
        {"tenant": tenant_id},
    ).rows
    return [row[0] for row in rows]


def test_a_span_that_ends_before_it_starts_is_kept_with_no_duration(
    storage: Storage, running: RunningCollector, tenant: Tenant
) -> None:
    span: Span = make_span("backwards", duration_ns=-5_000_000)

    partial_success = export(running, "http", trace_request([span]), tenant, TRACES_PATH)

    assert partial_success.rejected_spans == 0
    rows = storage.query(
        "SELECT Duration FROM otel_traces WHERE SpanId = {id:String}", {"id": span.span_id.hex()}
    ).rows
    assert rows == [(0,)]
