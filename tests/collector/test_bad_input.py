"""Bad input over OTLP/HTTP and OTLP/gRPC: each kind gets a clear 4xx / INVALID_ARGUMENT (or, for
items that are merely invalid, a partial success naming them), and the collector keeps serving: the
next valid request of every test is accepted and stored."""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from hiveboard.collector.ingest.otlp_values import (
    MAX_NESTING_DEPTH,
    MAX_VALUE_BYTES,
    NESTING_MARKER,
    TRUNCATION_MARKER,
)
from hiveboard.collector.service import CollectorConfig
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore
from tests.collector.otlp_harness import (
    JSON,
    LOGS_PATH,
    LOGS_SERVICE,
    METRICS_SERVICE,
    PROTOBUF,
    TRACE_SERVICE,
    TRACES_PATH,
    Tenant,
    grpc_export,
    log_request,
    make_span,
    new_span_id,
    new_trace_id,
    post_otlp,
    span_ids_hex,
    stored_span_ids,
    trace_request,
)
from tests.running_collector import RunningCollector, running_collector

# The limit of the collector that checks body sizes (the other one keeps the default 16 MiB).
SMALL_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def small(storage: Storage, key_store: KeyStore) -> Iterator[RunningCollector]:
    """A collector refusing bodies over SMALL_LIMIT bytes."""
    with running_collector(storage, key_store, CollectorConfig(max_body_bytes=SMALL_LIMIT)) as running:
        yield running


def send_raw(running: RunningCollector, protocol: str, body: bytes, tenant: Tenant) -> tuple[str, str]:
    """Send `body` as a protobuf trace export; (outcome, message) with outcome "ok", "invalid"
    (400 / INVALID_ARGUMENT) or the HTTP status / gRPC code name."""
    if protocol == "http":
        answer = post_otlp(running.http_url, TRACES_PATH, body, tenant.bearer())
        outcome = {200: "ok", 400: "invalid"}.get(answer.status, str(answer.status))
        return outcome, "" if answer.status == 200 else answer.error
    grpc_answer = grpc_export(running.grpc_target, TRACE_SERVICE, body, tenant.bearer())
    outcome = {grpc.StatusCode.OK: "ok", grpc.StatusCode.INVALID_ARGUMENT: "invalid"}.get(
        grpc_answer.code, grpc_answer.code.name
    )
    return outcome, grpc_answer.details


def assert_still_serving(storage: Storage, running: RunningCollector, protocol: str, tenant: Tenant) -> None:
    """The next valid request over `protocol` is accepted and stored."""
    request = trace_request([make_span("valid after bad input")])
    outcome, message = send_raw(running, protocol, request.SerializeToString(), tenant)
    assert outcome == "ok", message
    assert span_ids_hex(request) <= stored_span_ids(storage, tenant.id)


PROTOCOLS = ["http", "grpc"]


# ---- protobuf bodies that cannot be parsed --------------------------------------------------------------


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def nested_arrays(depth: int) -> bytes:
    """An `AnyValue` of `depth` arrays, each holding the next, around a string, encoded by hand
    (the protobuf runtime refuses to build messages this deep)."""
    value = AnyValue(string_value="bottom").SerializeToString()
    for _ in range(depth):
        value = _field(5, _field(1, value))  # AnyValue.array_value = ArrayValue{values: [value]}
    return value


def request_with_raw_attribute(span: Span, key: str, value: bytes) -> bytes:
    """An export request holding `span` with one more attribute whose `AnyValue` is `value`."""
    span_bytes = span.SerializeToString() + _field(9, _field(1, key.encode()) + _field(2, value))
    # ExportTraceServiceRequest.resource_spans[0].scope_spans[0].spans[0]
    return _field(1, _field(2, _field(2, span_bytes)))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_truncated_protobuf_body_is_invalid(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    body = trace_request([make_span(), make_span()]).SerializeToString()

    outcome, message = send_raw(running, protocol, body[: len(body) - 7], tenant)

    assert outcome == "invalid"
    assert "invalid protobuf ExportTraceServiceRequest" in message
    assert "truncated" in message
    assert stored_span_ids(storage, tenant.id) == set()
    assert_still_serving(storage, running, protocol, tenant)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_random_bytes_are_invalid(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    outcome, message = send_raw(running, protocol, b"\x0a\xff\xff\xff\xff\x0f" + os.urandom(64), tenant)

    assert outcome == "invalid"
    assert "invalid protobuf" in message
    assert_still_serving(storage, running, protocol, tenant)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_invalid_utf8_in_a_string_field_is_invalid(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    body = trace_request([make_span("caf\u00e9")]).SerializeToString()
    corrupted = body.replace("\u00e9".encode(), b"\xff\xfe")  # same length, not UTF-8
    assert corrupted != body

    outcome, message = send_raw(running, protocol, corrupted, tenant)

    assert outcome == "invalid"
    assert "not valid UTF-8" in message
    assert stored_span_ids(storage, tenant.id) == set()
    assert_still_serving(storage, running, protocol, tenant)


def nested_kvlists_json(depth: int) -> dict[str, Any]:
    """The OTLP JSON of an `AnyValue` of `depth` kvlists, each holding the next under key `k`."""
    value: dict[str, Any] = {"stringValue": "bottom"}
    for _ in range(depth):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return value


def send_deep_attribute(running: RunningCollector, protocol: str, body: bytes, tenant: Tenant) -> Any:
    """Send a trace export (protobuf, or OTLP JSON for "json"); the `partial_success` of its 200 / OK."""
    if protocol == "grpc":
        answer = grpc_export(running.grpc_target, TRACE_SERVICE, body, tenant.bearer())
        assert answer.code == grpc.StatusCode.OK, answer.details
        return answer.response.partial_success
    content_type = JSON if protocol == "json" else PROTOBUF
    http_answer = post_otlp(running.http_url, TRACES_PATH, body, tenant.bearer(), content_type)
    assert http_answer.status == 200, http_answer.message
    return http_answer.message.partial_success


@pytest.mark.parametrize("protocol", [*PROTOCOLS, "json"])
def test_an_attribute_nested_past_the_protobuf_depth_limit_is_cut_and_the_request_kept(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    """Nested deeper than protobuf decodes (100 messages: 50 arrays, 33 kvlists), the attribute is
    cut at MAX_NESTING_DEPTH like any deep value, with a warning; its span and the others are kept."""
    deep_span, plain_span = make_span("deep", attributes={"ok": "kept"}), make_span("plain")
    if protocol == "json":
        document = json_format.MessageToDict(trace_request([deep_span, plain_span]))
        for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            span["traceId"] = base64.b64decode(span["traceId"]).hex()
            span["spanId"] = base64.b64decode(span["spanId"]).hex()
        spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
        spans[0]["attributes"].append({"key": "deep", "value": nested_kvlists_json(200)})
        body = json.dumps(document).encode()
        expected = '{"k":' * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "}" * MAX_NESTING_DEPTH
    else:
        deep = request_with_raw_attribute(deep_span, "deep", nested_arrays(200))
        plain = trace_request([plain_span]).SerializeToString()
        body = deep + plain  # two ResourceSpans: concatenated messages merge their repeated fields
        expected = "[" * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "]" * MAX_NESTING_DEPTH

    partial_success = send_deep_attribute(running, protocol, body, tenant)

    assert partial_success.rejected_spans == 0
    assert partial_success.error_message == (
        f"1 attribute values nested deeper than {MAX_NESTING_DEPTH} levels were stored with "
        f"{NESTING_MARKER!r} in place of their deeper levels"
    )
    assert stored_span_ids(storage, tenant.id) == {deep_span.span_id.hex(), plain_span.span_id.hex()}
    assert stored_attribute(storage, deep_span, "deep") == expected
    assert stored_attribute(storage, deep_span, "ok") == "kept"


# ---- values that are valid but unreasonable: stored within bounds -----------------------------------------


def stored_attribute(storage: Storage, span: Span, key: str) -> str:
    rows = storage.query(
        "SELECT SpanAttributes[{key:String}] FROM otel_traces WHERE SpanId = {id:String}",
        {"key": key, "id": span.span_id.hex()},
    ).rows
    assert len(rows) == 1, f"span {span.span_id.hex()} stored {len(rows)} times"
    return rows[0][0]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_deeply_nested_attribute_is_stored_up_to_the_nesting_limit(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    span = make_span()
    body = request_with_raw_attribute(span, "deep", nested_arrays(40))

    outcome, message = send_raw(running, protocol, body, tenant)

    assert outcome == "ok", message
    stored = stored_attribute(storage, span, "deep")
    assert stored == "[" * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "]" * MAX_NESTING_DEPTH


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_huge_attribute_value_is_stored_truncated(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    huge = "é" * 500_000  # 1 MB of UTF-8
    span = make_span(
        attributes={"huge": huge, "list": AnyValue(array_value={"values": [{"string_value": huge}]})}
    )

    outcome, message = send_raw(running, protocol, trace_request([span]).SerializeToString(), tenant)

    assert outcome == "ok", message
    stored = stored_attribute(storage, span, "huge")
    assert stored.endswith(TRUNCATION_MARKER)
    kept = stored.removesuffix(TRUNCATION_MARKER)
    assert huge.startswith(kept) and MAX_VALUE_BYTES - 2 < len(kept.encode()) <= MAX_VALUE_BYTES
    listed = stored_attribute(storage, span, "list")
    assert listed.startswith('["éé') and listed.endswith(TRUNCATION_MARKER)
    assert len(listed.encode()) <= MAX_VALUE_BYTES + len(TRUNCATION_MARKER)


# ---- invalid items: partial success ---------------------------------------------------------------------


def partial_success(
    running: RunningCollector,
    protocol: str,
    request: ExportTraceServiceRequest | ExportLogsServiceRequest,
    tenant: Tenant,
) -> Any:
    """The `partial_success` of the answer to `request` (spans or log records), which must be accepted."""
    logs = isinstance(request, ExportLogsServiceRequest)
    if protocol == "http":
        answer = post_otlp(running.http_url, LOGS_PATH if logs else TRACES_PATH, request, tenant.bearer())
        assert answer.status == 200, answer.message
        return answer.message.partial_success
    grpc_answer = grpc_export(
        running.grpc_target, LOGS_SERVICE if logs else TRACE_SERVICE, request, tenant.bearer()
    )
    assert grpc_answer.code is grpc.StatusCode.OK, grpc_answer.details
    return grpc_answer.response.partial_success


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_spans_with_bad_ids_are_rejected_and_counted_and_the_others_stored(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    good = make_span("good")
    short_trace_id = make_span("short trace id", trace_id=b"\x01" * 5)
    zero_span_id = make_span("zero span id", span_id=bytes(8))
    request = trace_request([good, short_trace_id, zero_span_id])

    result = partial_success(running, protocol, request, tenant)

    assert result.rejected_spans == 2
    assert result.error_message.startswith("2 spans rejected: ")
    assert (
        "spans[1] (name 'short trace id') rejected: trace id must be 16 bytes, got 5" in result.error_message
    )
    assert "spans[2] (name 'zero span id') rejected: span id is all zeros" in result.error_message
    assert stored_span_ids(storage, tenant.id) == {good.span_id.hex()}
    assert_still_serving(storage, running, protocol, tenant)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_log_records_with_bad_ids_or_severity_are_rejected_and_counted(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    records = [
        LogRecord(time_unix_nano=make_span().start_time_unix_nano, body=AnyValue(string_value="good")),
        LogRecord(trace_id=b"\x01" * 3, body=AnyValue(string_value="bad trace id")),
        LogRecord(span_id=new_span_id() + b"\x00", body=AnyValue(string_value="bad span id")),
        LogRecord(severity_number=99, body=AnyValue(string_value="bad severity")),
    ]

    result = partial_success(running, protocol, log_request(records), tenant)

    assert result.rejected_log_records == 3
    assert "trace id must be 16 bytes or empty, got 3" in result.error_message
    assert "span id must be 8 bytes or empty, got 9" in result.error_message
    assert "severity number must be 0..24, got 99" in result.error_message
    bodies = storage.query(
        "SELECT Body FROM otel_logs WHERE ResourceAttributes['hiveboard.tenant.id'] = {tenant:String}",
        {"tenant": tenant.id},
    ).rows
    assert bodies == [("good",)]
    assert_still_serving(storage, running, protocol, tenant)


# ---- bodies over the configured limit -------------------------------------------------------------------


def oversized_request() -> ExportTraceServiceRequest:
    return trace_request([make_span(attributes={"padding": "x" * (SMALL_LIMIT + 1)})])


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_an_http_body_over_the_limit_is_413(
    storage: Storage, small: RunningCollector, tenant: Tenant, streamed: bool
) -> None:
    body = oversized_request().SerializeToString()
    headers = {"content-type": "application/x-protobuf", **tenant.bearer()}
    content = iter([body[i : i + 8192] for i in range(0, len(body), 8192)]) if streamed else body

    response = httpx.post(small.http_url + TRACES_PATH, content=content, headers=headers)

    assert response.status_code == 413
    assert f"request body is over {SMALL_LIMIT} bytes" in response.text
    assert "send smaller batches" in response.text
    assert_still_serving(storage, small, "http", tenant)


def test_a_gzip_body_inflating_past_the_limit_is_413(
    storage: Storage, small: RunningCollector, tenant: Tenant
) -> None:
    bomb = gzip.compress(oversized_request().SerializeToString())
    assert len(bomb) < SMALL_LIMIT

    answer = post_otlp(small.http_url, TRACES_PATH, bomb, tenant.bearer(), content_encoding="gzip")

    assert answer.status == 413
    assert f"gzip-decompressed request body exceeds the limit of {SMALL_LIMIT} bytes" in answer.error
    assert_still_serving(storage, small, "http", tenant)


def test_a_grpc_message_over_the_limit_is_resource_exhausted(
    storage: Storage, small: RunningCollector, tenant: Tenant
) -> None:
    answer = grpc_export(small.grpc_target, TRACE_SERVICE, oversized_request(), tenant.bearer())

    assert answer.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(SMALL_LIMIT) in answer.details
    assert_still_serving(storage, small, "grpc", tenant)


def test_a_body_at_the_limit_is_accepted(storage: Storage, small: RunningCollector, tenant: Tenant) -> None:
    request = trace_request([make_span()])
    span = request.resource_spans[0].scope_spans[0].spans[0]
    padding = span.attributes.add(key="padding", value=AnyValue(string_value="x" * SMALL_LIMIT))
    padding.value.string_value = "x" * (SMALL_LIMIT - (request.ByteSize() - SMALL_LIMIT))
    assert request.ByteSize() == SMALL_LIMIT

    for protocol in PROTOCOLS:
        span.span_id = new_span_id()
        outcome, message = send_raw(small, protocol, request.SerializeToString(), tenant)
        assert outcome == "ok", message


# ---- HTTP only: content type, encoding and OTLP JSON ------------------------------------------------------

VALID_JSON_SPAN = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "x"}


def json_body(span: dict[str, object]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


HTTP_CASES = [
    # (case, body, content type, content encoding, status, message)
    ("wrong content type", b"\x0a\x00", "text/plain", None, 415, "unsupported Content-Type 'text/plain'"),
    ("no content type", b"\x0a\x00", "", None, 415, "unsupported Content-Type missing"),
    (
        "unsupported encoding",
        b"\x0a\x00",
        "application/x-protobuf",
        "br",
        415,
        "unsupported Content-Encoding 'br'",
    ),
    ("gzip garbage", os.urandom(200), "application/x-protobuf", "gzip", 400, "not valid gzip data"),
    (
        "truncated gzip",
        gzip.compress(b"\x0a\x00" * 100)[:-12],
        "application/x-protobuf",
        "gzip",
        400,
        "gzip request body is truncated",
    ),
    ("invalid JSON", b'{"resourceSpans": [', JSON, None, 400, "not valid JSON: Expecting value at line 1"),
    ("JSON not an object", b"[1, 2]", JSON, None, 400, "must be a JSON object"),
    ("JSON not UTF-8", b'{"resourceSpans": "\xff"}', JSON, None, 400, "JSON request body is not valid UTF-8"),
    (
        "JSON unpaired surrogate",
        # Sent as the escape \ud800, which JSON allows and UTF-8 cannot hold.
        json_body({**VALID_JSON_SPAN, "name": "\ud800"}),
        JSON,
        None,
        400,
        "resourceSpans.scopeSpans.spans.name: Unpaired surrogate",
    ),
    ("JSON nested too deep", b"[" * 100_000, JSON, None, 400, "nested too deeply"),
    (
        "JSON id not hex",
        json_body({**VALID_JSON_SPAN, "traceId": "W47/95gDgQPSabYzgT/GDA=="}),
        JSON,
        None,
        400,
        "resourceSpans[0].scopeSpans[0].spans[0].traceId is not a hex-encoded trace id",
    ),
    (
        "JSON id of the wrong length",
        json_body({**VALID_JSON_SPAN, "spanId": "eee19b7e"}),
        JSON,
        None,
        400,
        "spans[0].spanId must be a 8-byte span id (16 hex digits), got 4 bytes",
    ),
    (
        "JSON field of the wrong type",
        json_body({**VALID_JSON_SPAN, "startTimeUnixNano": {"not": "a number"}}),
        JSON,
        None,
        400,
        "invalid OTLP JSON ExportTraceServiceRequest: resourceSpans.scopeSpans.spans.startTimeUnixNano",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type", "encoding", "status", "says"),
    HTTP_CASES,
    ids=[case[0] for case in HTTP_CASES],
)
def test_bad_http_bodies_get_a_clear_4xx(
    storage: Storage,
    running: RunningCollector,
    tenant: Tenant,
    case: str,
    body: bytes,
    content_type: str,
    encoding: str | None,
    status: int,
    says: str,
) -> None:
    answer = post_otlp(running.http_url, TRACES_PATH, body, tenant.bearer(), content_type, encoding)

    assert answer.status == status
    assert says in answer.error
    assert answer.message.code == 3  # google.rpc.Code INVALID_ARGUMENT
    assert_still_serving(storage, running, "http", tenant)


def test_a_refusal_of_a_json_request_is_json(running: RunningCollector, tenant: Tenant) -> None:
    answer = post_otlp(running.http_url, TRACES_PATH, b"{", tenant.bearer(), JSON)

    assert answer.status == 400
    assert answer.content_type == JSON
    assert "not valid JSON" in answer.error


def test_a_valid_json_request_with_snake_case_fields_and_string_enums_is_accepted(
    storage: Storage, running: RunningCollector, tenant: Tenant
) -> None:
    trace_id, span_id = new_trace_id().hex(), new_span_id().hex()
    start = make_span().start_time_unix_nano
    span = {
        "trace_id": trace_id,
        "span_id": span_id,
        "name": "snake",
        "kind": "SPAN_KIND_CLIENT",
        "start_time_unix_nano": str(start),
        "end_time_unix_nano": start + 5,
        "unknownField": "ignored",
    }

    answer = post_otlp(running.http_url, TRACES_PATH, json_body(span), tenant.bearer(), JSON)

    assert answer.status == 200, answer.message
    row = storage.query(
        "SELECT SpanKind, Duration FROM otel_traces WHERE SpanId = {id:String}", {"id": span_id}
    ).rows
    assert row == [("Client", 5)]


# ---- metrics are not supported ----------------------------------------------------------------------------


def test_http_metrics_are_not_implemented(running: RunningCollector, tenant: Tenant) -> None:
    answer = post_otlp(running.http_url, "/v1/metrics", b"", tenant.bearer())

    assert answer.status == 501
    assert answer.message.code == 12  # UNIMPLEMENTED
    assert "does not store OTLP metrics" in answer.error
    assert "OTEL_METRICS_EXPORTER=none" in answer.error


def test_grpc_metrics_service_is_unimplemented(running: RunningCollector, tenant: Tenant) -> None:
    answer = grpc_export(running.grpc_target, METRICS_SERVICE, b"", tenant.bearer())

    assert answer.code is grpc.StatusCode.UNIMPLEMENTED
    assert "does not store OTLP metrics" in answer.details


def test_an_unknown_grpc_service_is_unimplemented(running: RunningCollector, tenant: Tenant) -> None:
    answer = grpc_export(
        running.grpc_target, "opentelemetry.proto.collector.profiles.v1development.ProfilesService", b""
    )

    assert answer.code is grpc.StatusCode.UNIMPLEMENTED
