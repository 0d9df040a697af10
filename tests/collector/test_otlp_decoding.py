"""OTLP/HTTP body decoding: protobuf, OTLP JSON (hex ids), gzip / deflate, and every way to fail."""

from __future__ import annotations

import base64
import gzip
import json
import time
import tracemalloc
import zlib
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from hiveboard.collector.ingest.otlp_values import MAX_NESTING_DEPTH, NESTING_MARKER, any_value_as_string
from hiveboard.collector.receivers.otlp_decoding import OTLPDecodeError, decode_body
from hiveboard.collector.refusals import Refusal, RefusalCode, refusal_for

PB = "application/x-protobuf"
JSON = "application/json"
LIMIT = 4 * 1024 * 1024
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
PARENT_ID = "eee19b7ec3c1b173"


def sdk_request() -> ExportTraceServiceRequest:
    """A request the real OTel SDK and OTLP encoder produce: two spans, a link, an event."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope", "1.0")
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        link = Link(parent.get_span_context(), {"link.kind": "follows"})
        child = tracer.start_span("child", links=[link], attributes={"n": 3, "f": 0.5, "b": True})
        child.add_event("retry", {"attempt": 2})
        child.set_status(Status(StatusCode.ERROR, "boom"))
        child.end()
    provider.shutdown()
    return encode_spans(exporter.get_finished_spans())


def otlp_json(message: Any) -> dict[str, Any]:
    """`message` in the OTLP JSON encoding, built independently: proto3 JSON with ids as hex."""
    document = json_format.MessageToDict(message)

    def to_hex(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    to_hex(value)
        elif isinstance(node, list):
            for item in node:
                to_hex(item)

    to_hex(document)
    return document


def json_body(document: Any) -> bytes:
    return json.dumps(document).encode()


def span_json(**fields: Any) -> dict[str, Any]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [fields]}]}]}


def decode_error(body: bytes, content_type: str | None = JSON, encoding: str | None = None, **kw: Any):
    with pytest.raises(OTLPDecodeError) as caught:
        decode_body(body, content_type, encoding, kw.get("message_type", ExportTraceServiceRequest),
                    kw.get("max_bytes", LIMIT))  # fmt: skip
    return caught.value


# ---------------------------------------------------------------------------------------------
# Success


def test_protobuf_body_decodes_to_the_request_sent() -> None:
    request = sdk_request()
    decoded = decode_body(request.SerializeToString(), PB, None, ExportTraceServiceRequest, LIMIT)
    assert isinstance(decoded, ExportTraceServiceRequest)
    assert decoded == request
    assert [span.name for span in decoded.resource_spans[0].scope_spans[0].spans] == ["child", "parent"]


@pytest.mark.parametrize("content_type", ["application/x-protobuf; charset=utf-8", "Application/X-Protobuf"])
def test_content_type_parameters_and_case_are_ignored(content_type: str) -> None:
    request = sdk_request()
    assert (
        decode_body(request.SerializeToString(), content_type, None, ExportTraceServiceRequest, LIMIT)
        == request
    )


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip"])
def test_gzip_body_is_decompressed(encoding: str) -> None:
    request = sdk_request()
    body = gzip.compress(request.SerializeToString())
    assert decode_body(body, PB, encoding, ExportTraceServiceRequest, LIMIT) == request


def test_concatenated_gzip_members_are_all_read() -> None:
    request = sdk_request()
    data = request.SerializeToString()
    body = gzip.compress(data[:10]) + gzip.compress(data[10:])
    assert decode_body(body, PB, "gzip", ExportTraceServiceRequest, LIMIT) == request


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_zlib_wrapped_or_raw_is_decompressed(wbits: int) -> None:
    request = sdk_request()
    compressor = zlib.compressobj(wbits=wbits)
    body = compressor.compress(request.SerializeToString()) + compressor.flush()
    assert decode_body(body, PB, "deflate", ExportTraceServiceRequest, LIMIT) == request


@pytest.mark.parametrize("encoding", [None, "", "identity"])
def test_identity_encoding_leaves_the_body_as_is(encoding: str | None) -> None:
    request = sdk_request()
    assert decode_body(request.SerializeToString(), PB, encoding, ExportTraceServiceRequest, LIMIT) == request


def test_otlp_json_of_an_sdk_request_decodes_to_the_same_message() -> None:
    request = sdk_request()
    document = otlp_json(request)
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert spans[0]["traceId"] == request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    assert spans[0]["links"][0]["spanId"] == spans[1]["spanId"]  # the link's ids are hex too

    assert decode_body(json_body(document), JSON, None, ExportTraceServiceRequest, LIMIT) == request


def test_otlp_json_hex_ids_int64_strings_and_enums() -> None:
    document = span_json(
        traceId=TRACE_ID.upper(),  # hex is case-insensitive
        spanId=SPAN_ID,
        parentSpanId=PARENT_ID,
        name="GET /",
        kind=2,
        startTimeUnixNano="1700000000000000001",  # int64 as a string
        endTimeUnixNano=1700000000000000999,  # ... or as a number
        status={"code": "STATUS_CODE_ERROR", "message": "boom"},  # enum by name
        attributes=[
            {"key": "big", "value": {"intValue": "9007199254740993"}},
            {"key": "raw", "value": {"bytesValue": base64.b64encode(b"\x00\x01").decode()}},
        ],
        links=[{"traceId": TRACE_ID, "spanId": PARENT_ID, "traceState": "k=v"}],
    )
    request = decode_body(json_body(document), JSON, None, ExportTraceServiceRequest, LIMIT)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id == bytes.fromhex(TRACE_ID)
    assert span.span_id == bytes.fromhex(SPAN_ID)
    assert span.parent_span_id == bytes.fromhex(PARENT_ID)
    assert span.kind == 2
    assert span.start_time_unix_nano == 1700000000000000001
    assert span.end_time_unix_nano == 1700000000000000999
    assert span.status.code == 2 and span.status.message == "boom"
    assert span.attributes[0].value.int_value == 9007199254740993
    assert span.attributes[1].value.bytes_value == b"\x00\x01"  # other bytes fields stay base64
    assert span.links[0].trace_id == bytes.fromhex(TRACE_ID)
    assert span.links[0].span_id == bytes.fromhex(PARENT_ID)
    assert span.links[0].trace_state == "k=v"


def test_otlp_json_accepts_enum_names_and_snake_case_field_names() -> None:
    document = {
        "resource_spans": [
            {
                "scope_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": TRACE_ID,
                                "span_id": SPAN_ID,
                                "parent_span_id": "",
                                "kind": "SPAN_KIND_CLIENT",
                                "start_time_unix_nano": "5",
                                "links": [{"trace_id": TRACE_ID, "span_id": SPAN_ID}],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    request = decode_body(json_body(document), JSON, None, ExportTraceServiceRequest, LIMIT)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert (span.trace_id.hex(), span.span_id.hex(), span.parent_span_id) == (TRACE_ID, SPAN_ID, b"")
    assert span.kind == 3
    assert span.start_time_unix_nano == 5
    assert span.links[0].trace_id.hex() == TRACE_ID and span.links[0].span_id.hex() == SPAN_ID


def test_otlp_json_ignores_unknown_fields() -> None:
    document = span_json(traceId=TRACE_ID, spanId=SPAN_ID, name="x", futureField={"a": 1})
    document["resourceSpans"][0]["futureResourceField"] = [1, 2]
    request = decode_body(json_body(document), JSON, None, ExportTraceServiceRequest, LIMIT)
    assert request.resource_spans[0].scope_spans[0].spans[0].name == "x"


def test_otlp_json_logs_have_hex_trace_and_span_ids() -> None:
    document = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "7",
                                "severityNumber": "SEVERITY_NUMBER_WARN",
                                "body": {"stringValue": "disk low"},
                                "traceId": TRACE_ID,
                                "spanId": SPAN_ID,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    request = decode_body(json_body(document), JSON, "identity", ExportLogsServiceRequest, LIMIT)
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    assert (record.trace_id.hex(), record.span_id.hex()) == (TRACE_ID, SPAN_ID)
    assert (
        record.severity_number == 13 and record.time_unix_nano == 7 and record.body.string_value == "disk low"
    )


def test_gzip_json_body() -> None:
    request = sdk_request()
    body = gzip.compress(json_body(otlp_json(request)))
    assert (
        decode_body(body, "application/json; charset=utf-8", "gzip", ExportTraceServiceRequest, LIMIT)
        == request
    )


# ---------------------------------------------------------------------------------------------
# Errors


def test_truncated_protobuf_is_400_and_says_so() -> None:
    body = sdk_request().SerializeToString()[:-7]
    error = decode_error(body, PB)
    assert error.code == RefusalCode.INVALID
    assert "invalid protobuf ExportTraceServiceRequest" in error.message
    assert "truncated" in error.message


def test_invalid_utf8_in_a_protobuf_string_is_400_naming_utf8() -> None:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add().name = "name-abc"
    body = request.SerializeToString().replace(b"name-abc", b"name-\xff\xfe\xfd")
    error = decode_error(body, PB)
    assert error.code == RefusalCode.INVALID
    assert "UTF-8" in error.message and "string field" in error.message


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (tag, varint length, payload)."""
    length, size = b"", len(payload)
    while True:
        length += bytes([size & 0x7F | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            break
    return bytes([number << 3 | 2]) + length + payload


def test_protobuf_nested_beyond_the_decoder_depth_limit_is_decoded_with_the_deep_value_cut() -> None:
    value = b""
    for _ in range(200):  # AnyValue.array_value -> ArrayValue.values -> AnyValue ...
        value = field(5, field(1, value))
    span = field(1, b"\x01" * 16) + field(2, b"\x02" * 8) + field(9, field(1, b"deep") + field(2, value))
    plain = field(9, field(1, b"plain") + field(2, field(1, b"kept")))  # AnyValue.string_value
    body = field(1, field(2, field(2, span + plain)))  # request.resource_spans.scope_spans.spans

    request = decode_body(body, PB, None, ExportTraceServiceRequest, 1 << 20)

    (decoded,) = request.resource_spans[0].scope_spans[0].spans
    assert (decoded.trace_id, decoded.span_id) == (b"\x01" * 16, b"\x02" * 8)
    rendered = {item.key: any_value_as_string(item.value) for item in decoded.attributes}
    cut = "[" * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "]" * MAX_NESTING_DEPTH
    assert rendered == {"deep": cut, "plain": "kept"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"resourceSpans": [', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"resourceSpans": 5}', "resourceSpans"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
         "resourceSpans.scopeSpans.spans.startTimeUnixNano"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}', "spans.name"),
    ],
    ids=["truncated", "empty", "array", "wrong-type", "bad-int64", "bad-string"],
)  # fmt: skip
def test_invalid_json_is_400_naming_the_problem(body: bytes, expected: str) -> None:
    error = decode_error(body)
    assert error.code == RefusalCode.INVALID
    assert expected in error.message


def test_invalid_utf8_json_is_400() -> None:
    error = decode_error(b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\xff"}]}]}]}')
    assert error.code == RefusalCode.INVALID
    assert "not valid UTF-8" in error.message


def test_unpaired_surrogate_in_json_string_is_400() -> None:
    error = decode_error(json_body(span_json(traceId=TRACE_ID, spanId=SPAN_ID, name="\ud800")))
    assert error.code == RefusalCode.INVALID
    assert "surrogate" in error.message and "name" in error.message


@pytest.mark.parametrize(
    ("fields", "where", "expected"),
    [
        ({"traceId": "zz" * 16}, "spans[0].traceId", "not a hex-encoded trace id"),
        ({"traceId": base64.b64encode(bytes(range(1, 17))).decode()}, "spans[0].traceId", "not base64"),
        ({"spanId": "abc"}, "spans[0].spanId", "not a hex-encoded span id"),
        ({"traceId": "ab" * 15}, "spans[0].traceId", "must be a 16-byte trace id"),
        ({"spanId": "ab" * 16}, "spans[0].spanId", "must be a 8-byte span id"),
        ({"parentSpanId": "ab" * 4}, "spans[0].parentSpanId", "must be a 8-byte span id"),
        ({"traceId": 12}, "spans[0].traceId", "must be a hex string"),
        ({"links": [{"traceId": TRACE_ID, "spanId": "xyz"}]}, "spans[0].links[0].spanId", "span id"),
    ],
    ids=["non-hex", "base64", "odd-length", "short-trace", "long-span", "short-parent", "number", "link"],
)  # fmt: skip
def test_bad_hex_ids_in_json_are_400_naming_the_field(
    fields: dict[str, Any], where: str, expected: str
) -> None:
    error = decode_error(json_body(span_json(**{"traceId": TRACE_ID, "spanId": SPAN_ID, **fields})))
    assert error.code == RefusalCode.INVALID
    assert f"resourceSpans[0].scopeSpans[0].{where}" in error.message
    assert expected in error.message


def test_gzip_garbage_is_400() -> None:
    error = decode_error(b"this is not gzip at all", PB, "gzip")
    assert error.code == RefusalCode.INVALID
    assert "not valid gzip" in error.message


def test_truncated_gzip_is_400() -> None:
    error = decode_error(gzip.compress(sdk_request().SerializeToString())[:-12], PB, "gzip")
    assert error.code == RefusalCode.INVALID
    assert "truncated" in error.message


def test_garbage_after_a_gzip_member_is_400() -> None:
    error = decode_error(gzip.compress(b"") + b"junk!", PB, "gzip")
    assert error.code == RefusalCode.INVALID
    assert "gzip" in error.message


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed without ever holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


def test_gzip_bomb_fails_fast_with_413_without_inflating_it() -> None:
    bomb = gzip_bomb(1024 * 1024 * 1024)  # 1 GiB of zeros in about 1 MB
    assert len(bomb) < 2 * 1024 * 1024
    limit = 1024 * 1024
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = decode_error(bomb, PB, "gzip", max_bytes=limit)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.code == RefusalCode.TOO_LARGE
    assert "exceeds the limit of 1048576 bytes" in error.message
    assert peak < 4 * limit  # inflation stopped right after the limit
    assert elapsed < 1.0


def test_deflate_bomb_is_413_too() -> None:
    body = zlib.compress(bytes(3 * 1024 * 1024), 9)
    error = decode_error(body, PB, "deflate", max_bytes=1024 * 1024)
    assert error.code == RefusalCode.TOO_LARGE


def test_decompressed_body_exactly_at_the_limit_is_accepted() -> None:
    data = sdk_request().SerializeToString()
    request = decode_body(gzip.compress(data), PB, "gzip", ExportTraceServiceRequest, len(data))
    assert request.resource_spans[0].scope_spans[0].spans[0].name == "child"
    assert (
        decode_error(gzip.compress(data), PB, "gzip", max_bytes=len(data) - 1).code == RefusalCode.TOO_LARGE
    )


def test_body_over_the_limit_is_413() -> None:
    body = sdk_request().SerializeToString()
    error = decode_error(body, PB, max_bytes=len(body) - 1)
    assert error.code == RefusalCode.TOO_LARGE
    assert f"{len(body)} bytes, over the limit of {len(body) - 1} bytes" in error.message


@pytest.mark.parametrize("content_type", ["text/plain", "application/protobuf+json", "", None])
def test_unsupported_content_type_is_415_listing_accepted_types(content_type: str | None) -> None:
    error = decode_error(b"{}", content_type)
    assert error.code == RefusalCode.UNSUPPORTED_MEDIA_TYPE
    assert "application/x-protobuf" in error.message and "application/json" in error.message


def test_unsupported_content_encoding_is_415_listing_accepted_encodings() -> None:
    error = decode_error(b"{}", JSON, "br")
    assert error.code == RefusalCode.UNSUPPORTED_MEDIA_TYPE
    assert "'br'" in error.message and "gzip" in error.message and "deflate" in error.message


def test_json_nested_beyond_the_decoder_depth_limit_is_decoded_with_the_deep_value_cut() -> None:
    request = decode_body(_deep_json(60), JSON, None, ExportTraceServiceRequest, 1 << 20)

    (attribute,) = request.resource_spans[0].scope_spans[0].spans[0].attributes
    cut = "[" * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "]" * MAX_NESTING_DEPTH
    assert any_value_as_string(attribute.value) == cut


def test_json_nested_beyond_the_json_parser_depth_is_a_clean_400() -> None:
    error = decode_error(_deep_json(5000))
    assert error.code == RefusalCode.INVALID
    assert "nested too deeply" in error.message
    assert len(error.message) < 300


def _deep_json(depth: int) -> bytes:
    """A span whose attribute is an array nested `depth` levels deep (json.dumps would recurse)."""
    value = '{"arrayValue": {"values": [' * depth + '{"stringValue": "leaf"}' + "]}}" * depth
    span = (
        f'"traceId": "{TRACE_ID}", "spanId": "{SPAN_ID}", "attributes": [{{"key": "deep", "value": {value}}}]'
    )
    return ('{"resourceSpans": [{"scopeSpans": [{"spans": [{' + span + "}]}]}]}").encode()


def test_error_is_a_value_error_with_message_and_refusal_code() -> None:
    error = OTLPDecodeError("bad", RefusalCode.INVALID)
    assert isinstance(error, ValueError)
    assert (str(error), error.message, error.code) == ("bad", "bad", RefusalCode.INVALID)
    assert refusal_for(error) == Refusal(RefusalCode.INVALID, "bad")
