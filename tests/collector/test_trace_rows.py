"""`otel_traces` rows from OTLP: every column, the clickhouseexporter value conventions, limits."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

import hiveloop
from hiveboard_collector.trace_rows import (
    MAX_ERROR_MESSAGES,
    MAX_NESTING_DEPTH,
    MAX_VALUE_BYTES,
    NESTING_MARKER,
    TRACE_COLUMNS,
    TRUNCATION_MARKER,
    any_value_as_string,
    format_go_float,
    trace_rows,
)
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID

T0 = 1_700_000_000_123_456_789
TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
REMOTE_PARENT_ID = 0x00F067AA0BA902B7
LINK_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
LINK_SPAN_ID = 0xB7AD6B7169203331


class CountingIds(IdGenerator):
    """Span ids 0x1001, 0x1002, ...; trace ids are inherited from the remote parent."""

    def __init__(self) -> None:
        self._next = 0x1000

    def generate_span_id(self) -> int:
        self._next += 1
        return self._next

    def generate_trace_id(self) -> int:
        return TRACE_ID


def sdk_spans() -> list[Any]:
    """A server span continuing a remote trace, and a client child with every attribute type."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource(
            {"service.name": "checkout", "service.version": "1.4.2", HIVEBOARD_TENANT_ID: "forged", "cpu": 8}
        ),
        id_generator=CountingIds(),
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("hiveboard.test", "2.0.1")
    remote = SpanContext(
        TRACE_ID,
        REMOTE_PARENT_ID,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("rojo", "00f067aa0ba902b7")]),
    )
    parent_context = trace.set_span_in_context(NonRecordingSpan(remote))
    server = tracer.start_span("GET /orders", parent_context, kind=SpanKind.SERVER, start_time=T0)
    link_context = SpanContext(
        LINK_TRACE_ID, LINK_SPAN_ID, is_remote=True, trace_state=TraceState([("vendor", "v1")])
    )
    client = tracer.start_span(
        "POST /payments",
        trace.set_span_in_context(server),
        kind=SpanKind.CLIENT,
        start_time=T0 + 1_000,
        links=[Link(link_context, {"link.reason": "batch", "link.count": 3})],
        attributes={
            "str": "hello <b>&amp;",
            "int": -42,
            "float": 0.1,
            "float.integral": 4.0,
            "bool": True,
            "bytes": b"\x00\xffhi",
            "strs": ["a", 'q"uote'],
            "ints": [1, 2],
            "floats": [1.5, 2.0],
            "bools": [True, False],
            "map": {"z": 1, "a": {"nested": [1, "x"]}},
            "none": None,
            "empty": [],
        },
    )
    client.add_event("retry", {"attempt": 2, "delay": 0.25}, timestamp=T0 + 2_000)
    client.add_event("cache.miss", timestamp=T0 + 3_000)
    client.set_status(Status(StatusCode.ERROR, "payment declined"))
    client.end(end_time=T0 + 2_501_000)
    server.set_status(Status(StatusCode.OK))
    server.end(end_time=T0 + 5_000_000)
    provider.shutdown()
    return list(exporter.get_finished_spans())


def wire(request: ExportTraceServiceRequest) -> ExportTraceServiceRequest:
    """The request as the collector sees it: serialized and parsed again."""
    return ExportTraceServiceRequest.FromString(request.SerializeToString())


def as_dicts(result: Any) -> list[dict[str, Any]]:
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def one_span_request(**span_fields: Any) -> tuple[ExportTraceServiceRequest, Span]:
    request = ExportTraceServiceRequest()
    span = (
        request.resource_spans.add()
        .scope_spans.add()
        .spans.add(trace_id=bytes.fromhex(f"{TRACE_ID:032x}"), span_id=b"\x00" * 7 + b"\x01", **span_fields)
    )
    return request, span


# ---------------------------------------------------------------------------------------------
# Columns of a realistic span


def test_columns_are_the_clickhouseexporter_insert_columns_in_order() -> None:
    assert TRACE_COLUMNS == (
        "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
        "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration",
        "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes",
        "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
    )  # fmt: skip
    assert trace_rows(ExportTraceServiceRequest(), "t", "live").columns == TRACE_COLUMNS


def test_every_column_of_sdk_spans() -> None:
    result = trace_rows(wire(encode_spans(sdk_spans())), "tenant-42", "live")

    assert (result.rejected, result.errors) == (0, [])
    resource = {
        "service.name": "checkout",
        "service.version": "1.4.2",
        HIVEBOARD_TENANT_ID: "tenant-42",  # the client's "forged" value is overwritten
        "cpu": "8",
        HIVEBOARD_KEY_TYPE: "live",
    }
    client, server = as_dicts(result)  # the SDK exports spans in the order they end
    assert client == {
        "Timestamp": T0 + 1_000,
        "TraceId": "5b8efff798038103d269b633813fc60c",
        "SpanId": "0000000000001002",
        "ParentSpanId": "0000000000001001",
        "TraceState": "rojo=00f067aa0ba902b7",
        "SpanName": "POST /payments",
        "SpanKind": "Client",
        "ServiceName": "checkout",
        "ResourceAttributes": resource,
        "ScopeName": "hiveboard.test",
        "ScopeVersion": "2.0.1",
        "SpanAttributes": {
            "str": "hello <b>&amp;",
            "int": "-42",
            "float": "0.1",
            "float.integral": "4",
            "bool": "true",
            "bytes": "AP9oaQ==",
            "strs": '["a","q\\"uote"]',
            "ints": "[1,2]",
            "floats": "[1.5,2]",
            "bools": "[true,false]",
            "map": '{"a":{"nested":[1,"x"]},"z":1}',
            "none": "",
            "empty": "[]",
        },
        "Duration": 2_500_000,
        "StatusCode": "Error",
        "StatusMessage": "payment declined",
        "Events.Timestamp": [T0 + 2_000, T0 + 3_000],
        "Events.Name": ["retry", "cache.miss"],
        "Events.Attributes": [{"attempt": "2", "delay": "0.25"}, {}],
        "Links.TraceId": ["0af7651916cd43dd8448eb211c80319c"],
        "Links.SpanId": ["b7ad6b7169203331"],
        "Links.TraceState": [""],  # the Python OTLP encoder does not send a link's trace state
        "Links.Attributes": [{"link.reason": "batch", "link.count": "3"}],
    }
    assert server == {
        "Timestamp": T0,
        "TraceId": "5b8efff798038103d269b633813fc60c",
        "SpanId": "0000000000001001",
        "ParentSpanId": "00f067aa0ba902b7",
        "TraceState": "rojo=00f067aa0ba902b7",
        "SpanName": "GET /orders",
        "SpanKind": "Server",
        "ServiceName": "checkout",
        "ResourceAttributes": resource,
        "ScopeName": "hiveboard.test",
        "ScopeVersion": "2.0.1",
        "SpanAttributes": {},
        "Duration": 5_000_000,
        "StatusCode": "Ok",
        "StatusMessage": "",
        "Events.Timestamp": [],
        "Events.Name": [],
        "Events.Attributes": [],
        "Links.TraceId": [],
        "Links.SpanId": [],
        "Links.TraceState": [],
        "Links.Attributes": [],
    }


def test_root_span_has_empty_parent_and_every_sdk_kind_its_pdata_name() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("kinds")
    for kind in SpanKind:
        tracer.start_span(kind.name, otel_context.Context(), kind=kind).end()
    rows = as_dicts(trace_rows(wire(encode_spans(exporter.get_finished_spans())), "t", "live"))

    assert {row["SpanName"]: row["SpanKind"] for row in rows} == {
        "INTERNAL": "Internal",
        "SERVER": "Server",
        "CLIENT": "Client",
        "PRODUCER": "Producer",
        "CONSUMER": "Consumer",
    }
    assert {row["ParentSpanId"] for row in rows} == {""}
    assert {row["StatusCode"] for row in rows} == {"Unset"}
    assert {row["ServiceName"] for row in rows} == {""}  # no service.name in the resource


@pytest.mark.parametrize(("kind", "expected"), [(0, "Unspecified"), (9, "")])
def test_unspecified_and_unknown_span_kinds(kind: int, expected: str) -> None:
    request, _ = one_span_request(kind=kind)
    assert as_dicts(trace_rows(wire(request), "t", "live"))[0]["SpanKind"] == expected


def test_unknown_status_code_is_empty() -> None:
    request, span = one_span_request()
    span.status.code = 7
    assert as_dicts(trace_rows(wire(request), "t", "live"))[0]["StatusCode"] == ""


def test_hiveloop_spans_become_rows(captured: Any) -> None:
    hb = hiveloop.init(api_key="hb_test_unit")
    agent = hb.agent("lead-qualifier", heartbeat_interval=0)
    with agent.task("task-1") as task:
        task.llm_call(
            "score", "claude-sonnet-4", tokens_in=1800, tokens_out=250, cost=0.004, duration_ms=1200
        )
    rows = as_dicts(trace_rows(wire(encode_spans(captured.spans)), "acme", "test"))

    llm = next(row for row in rows if row["SpanName"] == "chat claude-sonnet-4")
    task_row = next(row for row in rows if row["SpanName"] == "invoke_agent lead-qualifier")
    assert llm["Duration"] == 1_200_000_000
    assert llm["ParentSpanId"] == task_row["SpanId"] and llm["TraceId"] == task_row["TraceId"]
    assert llm["SpanAttributes"]["gen_ai.usage.input_tokens"] == "1800"
    assert llm["SpanAttributes"]["hiveboard.llm.cost"] == "0.004"
    assert llm["ResourceAttributes"][HIVEBOARD_TENANT_ID] == "acme"
    assert llm["ResourceAttributes"][HIVEBOARD_KEY_TYPE] == "test"
    assert llm["ScopeName"] == "hiveloop"


# ---------------------------------------------------------------------------------------------
# Tenant stamping, service name, duration


def test_tenant_and_key_type_overwrite_client_values_on_every_resource() -> None:
    request = ExportTraceServiceRequest()
    for resource_index, forged in enumerate([True, False]):
        resource_spans = request.resource_spans.add()
        if forged:
            resource_spans.resource.attributes.add(key=HIVEBOARD_TENANT_ID).value.string_value = "victim"
            resource_spans.resource.attributes.add(key=HIVEBOARD_KEY_TYPE).value.string_value = "live"
        resource_spans.resource.attributes.add(key="service.name").value.string_value = f"svc{resource_index}"
        resource_spans.scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="s")
    rows = as_dicts(trace_rows(wire(request), "tenant-a", "test"))

    assert [row["ResourceAttributes"] for row in rows] == [
        {HIVEBOARD_TENANT_ID: "tenant-a", HIVEBOARD_KEY_TYPE: "test", "service.name": "svc0"},
        {"service.name": "svc1", HIVEBOARD_TENANT_ID: "tenant-a", HIVEBOARD_KEY_TYPE: "test"},
    ]
    assert [row["ServiceName"] for row in rows] == ["svc0", "svc1"]


def test_service_name_is_as_string_of_the_first_occurrence() -> None:
    request, _ = one_span_request()
    attributes = request.resource_spans[0].resource.attributes
    attributes.add(key="service.name").value.int_value = 5
    attributes.add(key="service.name").value.string_value = "later"
    row = as_dicts(trace_rows(wire(request), "t", "live"))[0]
    assert row["ServiceName"] == "5"
    assert row["ResourceAttributes"]["service.name"] == "later"  # a repeated key keeps its last value


@pytest.mark.parametrize(("start", "end", "duration"), [(10, 25, 15), (25, 10, 0), (T0, 0, 0), (0, 0, 0)])
def test_duration_is_end_minus_start_clamped_at_zero(start: int, end: int, duration: int) -> None:
    request, _ = one_span_request(start_time_unix_nano=start, end_time_unix_nano=end)
    row = as_dicts(trace_rows(wire(request), "t", "live"))[0]
    assert (row["Timestamp"], row["Duration"]) == (start, duration)


def test_links_in_order_with_trace_state_and_all_zero_ids_as_empty_strings() -> None:
    request, span = one_span_request()
    span.links.add(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8, trace_state="vendor=v1,other=2")
    span.links.add(trace_id=bytes(16), span_id=bytes(8))
    span.links.add()  # absent ids
    row = as_dicts(trace_rows(wire(request), "t", "live"))[0]
    assert row["Links.TraceId"] == ["ab" * 16, "", ""]
    assert row["Links.SpanId"] == ["cd" * 8, "", ""]
    assert row["Links.TraceState"] == ["vendor=v1,other=2", "", ""]
    assert row["Links.Attributes"] == [{}, {}, {}]


# ---------------------------------------------------------------------------------------------
# Partial success


def test_spans_with_invalid_ids_are_rejected_and_counted_others_kept() -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    good_trace, good_span = b"\x0a" * 16, b"\x0b" * 8
    spans.add(name="valid", trace_id=good_trace, span_id=good_span)
    spans.add(name="no trace id", span_id=good_span)
    spans.add(name="zero trace id", trace_id=bytes(16), span_id=good_span)
    spans.add(name="short trace id", trace_id=b"\x01" * 15, span_id=good_span)
    spans.add(name="zero span id", trace_id=good_trace, span_id=bytes(8))
    spans.add(name="long span id", trace_id=good_trace, span_id=b"\x01" * 9)
    spans.add(name="bad parent", trace_id=good_trace, span_id=good_span, parent_span_id=b"\x01" * 4)
    spans.add(name="bad link", trace_id=good_trace, span_id=good_span).links.add(span_id=b"\x01" * 3)
    spans.add(name="valid too", trace_id=good_trace, span_id=good_span, parent_span_id=bytes(8))
    result = trace_rows(wire(request), "t", "live")

    assert [row["SpanName"] for row in as_dicts(result)] == ["valid", "valid too"]
    assert [row["ParentSpanId"] for row in as_dicts(result)] == ["", ""]  # all zeros = no parent
    assert result.rejected == 7
    prefix = "resourceSpans[0].scopeSpans[0]"
    assert result.errors == [
        f"{prefix}.spans[1] (name 'no trace id') rejected: trace id must be 16 bytes, got 0 (empty)",
        f"{prefix}.spans[2] (name 'zero trace id') rejected: trace id is all zeros",
        f"{prefix}.spans[3] (name 'short trace id') rejected: trace id must be 16 bytes, got 15 ({'01' * 15})",
        f"{prefix}.spans[4] (name 'zero span id') rejected: span id is all zeros",
        f"{prefix}.spans[5] (name 'long span id') rejected: span id must be 8 bytes, got 9 ({'01' * 9})",
        f"{prefix}.spans[6] (name 'bad parent') rejected: parent span id must be 8 bytes or empty, got 4",
        f"{prefix}.spans[7] (name 'bad link') rejected: links[0] ids must be 16 / 8 bytes, got 0 / 3",
    ]


def test_spans_with_times_past_the_datetime64_range_are_rejected() -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    ids = {"trace_id": b"\x0a" * 16, "span_id": b"\x0b" * 8}
    spans.add(name="last instant", start_time_unix_nano=2**63 - 1, end_time_unix_nano=2**63 - 1, **ids)
    spans.add(name="start past it", start_time_unix_nano=2**63, end_time_unix_nano=2**63, **ids)
    spans.add(name="event past it", start_time_unix_nano=1, **ids).events.add(time_unix_nano=2**64 - 1)
    result = trace_rows(wire(request), "t", "live")

    assert [row["SpanName"] for row in as_dicts(result)] == ["last instant"]
    assert result.rejected == 2
    assert all("times must be at most 9223372036854775807 ns" in error for error in result.errors)


def test_rejection_messages_are_capped_but_all_rejections_counted() -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for index in range(50):
        spans.add(name=f"bad {index}")
    result = trace_rows(wire(request), "t", "live")
    assert (result.rows, result.rejected, len(result.errors)) == ([], 50, MAX_ERROR_MESSAGES)


# ---------------------------------------------------------------------------------------------
# Value.AsString()


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0.1, "0.1"),
        (4.0, "4"),
        (-2.5, "-2.5"),
        (123456789.125, "123456789.125"),
        (0.0, "0"),
        (-0.0, "-0"),
        (1e20, "100000000000000000000"),
        (1.2345678901234567e20, "123456789012345670000"),
        (1e16, "10000000000000000"),
        (1e21, "1e+21"),
        (-1.5e300, "-1.5e+300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (1e-6, "0.000001"),
        (-1.25e-5, "-0.0000125"),
        (0.0001, "0.0001"),
        (1e-7, "1e-7"),
        (9.99e-7, "9.99e-7"),
        (1e-10, "1e-10"),
        (5e-324, "5e-324"),
        (math.nan, "json: unsupported value: NaN"),
        (math.inf, "json: unsupported value: +Inf"),
        (-math.inf, "json: unsupported value: -Inf"),
    ],
)
def test_go_float_formatting(number: float, expected: str) -> None:
    assert format_go_float(number) == expected
    assert any_value_as_string(AnyValue(double_value=number)) == expected


def test_go_float_positional_form_matches_the_shortest_decimal_for_random_doubles() -> None:
    generator = random.Random(20240601)
    for _ in range(20_000):
        number = generator.choice([-1, 1]) * 10 ** generator.uniform(-6, 21)
        if abs(number) < 1e21:
            expected = format(Decimal(repr(number)).normalize(), "f")
            assert format_go_float(number) == expected, number


def array(*values: AnyValue) -> AnyValue:
    value = AnyValue()
    value.array_value.SetInParent()
    value.array_value.values.extend(values)
    return value


def kvlist(*pairs: tuple[str, AnyValue]) -> AnyValue:
    value = AnyValue()
    value.kvlist_value.SetInParent()
    for key, item in pairs:
        value.kvlist_value.values.add(key=key, value=item)
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (AnyValue(), ""),
        (AnyValue(string_value=""), ""),
        (AnyValue(string_value="a\nb <&>"), "a\nb <&>"),
        (AnyValue(int_value=-(2**63)), "-9223372036854775808"),
        (AnyValue(bool_value=False), "false"),
        (AnyValue(bytes_value=b""), ""),
        (AnyValue(bytes_value=b"\xfb\xff"), "+/8="),
        (array(), "[]"),
        (kvlist(), "{}"),
        (array(AnyValue(), AnyValue(bytes_value=b""), AnyValue(bytes_value=b"hi")), '[null,null,"aGk="]'),
        (array(AnyValue(double_value=-0.0), AnyValue(double_value=1e-7)), "[-0,1e-7]"),
        (array(AnyValue(string_value='\x01\x1f\b\f\n\r\t"\\/\u2028\u2029\x7f<>&é😀')),
         '["\\u0001\\u001f\\b\\f\\n\\r\\t\\"\\\\/\\u2028\\u2029\x7f<>&é😀"]'),
        (kvlist(("b", AnyValue(int_value=1)), ("a", AnyValue(int_value=2)), ("b", AnyValue(int_value=3))),
         '{"a":2,"b":3}'),
        (kvlist(("é", AnyValue()), ("z", AnyValue()), ("\n", AnyValue())), '{"\\n":null,"z":null,"é":null}'),
        (array(AnyValue(double_value=math.nan)), ""),
        (kvlist(("x", array(AnyValue(double_value=math.inf)))), ""),
        (kvlist(("x", AnyValue(double_value=math.nan)), ("x", AnyValue(int_value=1))), '{"x":1}'),
    ],
    ids=["empty", "empty-string", "string", "int64-min", "bool", "empty-bytes", "bytes", "empty-array",
         "empty-kvlist", "nulls-and-bytes", "floats", "escapes", "duplicate-keys", "key-order",
         "nan", "nested-inf", "overwritten-nan"],
)  # fmt: skip
def test_any_value_as_string(value: AnyValue, expected: str) -> None:
    assert any_value_as_string(value) == expected


# ---------------------------------------------------------------------------------------------
# Limits


def span_attribute(value: AnyValue) -> str:
    """The SpanAttributes value a span with attribute `key` = `value` gets."""
    request, span = one_span_request()
    span.attributes.add(key="key").value.CopyFrom(value)
    return as_dicts(trace_rows(request, "t", "live"))[0]["SpanAttributes"]["key"]


def utf8_size(text: str) -> int:
    return len(text.encode())


def test_a_10_mb_string_is_cut_at_64_kib_with_a_marker() -> None:
    rendered = span_attribute(AnyValue(string_value="x" * 10_000_000))
    assert rendered == "x" * MAX_VALUE_BYTES + TRUNCATION_MARKER


def test_strings_up_to_64_kib_are_untouched() -> None:
    assert span_attribute(AnyValue(string_value="é" * (MAX_VALUE_BYTES // 2))) == "é" * 32768
    assert span_attribute(AnyValue(string_value="y" * MAX_VALUE_BYTES)) == "y" * MAX_VALUE_BYTES


@pytest.mark.parametrize("character", ["é", "€", "😀"])
def test_truncation_counts_utf8_bytes_and_keeps_whole_characters(character: str) -> None:
    rendered = span_attribute(AnyValue(string_value=character * 50_000))
    body = rendered.removesuffix(TRUNCATION_MARKER)
    assert rendered.endswith(TRUNCATION_MARKER)
    assert set(body) == {character}
    assert MAX_VALUE_BYTES - 4 < utf8_size(body) <= MAX_VALUE_BYTES


def test_huge_bytes_value_is_truncated_base64() -> None:
    rendered = span_attribute(AnyValue(bytes_value=b"\xff" * 1_000_000))
    assert rendered == "/" * MAX_VALUE_BYTES + TRUNCATION_MARKER


def test_kvlist_nested_100_levels_is_rendered_down_to_the_limit_then_marked() -> None:
    value = root = AnyValue()
    for _ in range(100):
        value = value.kvlist_value.values.add(key="k").value
    value.string_value = "leaf"
    rendered = span_attribute(root)

    node = json.loads(rendered)  # still valid JSON
    for _ in range(MAX_NESTING_DEPTH):
        node = node["k"]
    assert node == NESTING_MARKER


def test_nesting_10000_levels_neither_recurses_nor_slows_down() -> None:
    value = root = AnyValue()
    for _ in range(10_000):
        value = value.array_value.values.add()
    started = time.perf_counter()
    rendered = span_attribute(root)
    assert time.perf_counter() - started < 0.5
    assert rendered == "[" * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "]" * MAX_NESTING_DEPTH


def test_huge_array_stops_rendering_at_the_limit() -> None:
    value = AnyValue()
    value.array_value.values.extend(AnyValue(int_value=123456) for _ in range(200_000))
    started = time.perf_counter()
    rendered = span_attribute(value)
    assert time.perf_counter() - started < 0.5
    assert rendered.startswith("[123456,123456,")
    assert rendered.endswith(TRUNCATION_MARKER)
    assert utf8_size(rendered) == MAX_VALUE_BYTES + len(TRUNCATION_MARKER)


def test_huge_string_inside_an_array_is_cut_too() -> None:
    rendered = span_attribute(array(AnyValue(string_value="€" * 5_000_000)))
    assert rendered.startswith('["€€€')
    assert rendered.endswith("€" + TRUNCATION_MARKER)
    assert utf8_size(rendered) <= MAX_VALUE_BYTES + len(TRUNCATION_MARKER)


def test_event_and_link_attributes_are_bounded_as_well() -> None:
    request, span = one_span_request()
    big = AnyValue(string_value="z" * 100_000)
    span.events.add(name="e").attributes.add(key="big", value=big)
    span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8).attributes.add(key="big", value=big)
    row = as_dicts(trace_rows(request, "t", "live"))[0]
    assert row["Events.Attributes"][0]["big"] == "z" * MAX_VALUE_BYTES + TRUNCATION_MARKER
    assert row["Links.Attributes"][0]["big"] == "z" * MAX_VALUE_BYTES + TRUNCATION_MARKER


@pytest.fixture
def thousand_spans() -> Iterator[ExportTraceServiceRequest]:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for index in range(1000):
        span = spans.add(trace_id=b"\x01" * 16, span_id=index.to_bytes(8, "big") or b"\x01", name="s")
        for attribute in range(12):
            span.attributes.add(key=f"k{attribute}").value.string_value = "v"
    yield wire(request)


def test_a_thousand_spans_convert_in_well_under_a_second(thousand_spans: ExportTraceServiceRequest) -> None:
    started = time.perf_counter()
    result = trace_rows(thousand_spans, "t", "live")
    assert time.perf_counter() - started < 0.5  # ~10 ms when measured; a generous bound for CI
    assert (len(result.rows), result.rejected) == (999, 1)  # span id 0 is all zeros
