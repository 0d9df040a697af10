"""`otel_traces` rows from OTLP: every column, the clickhouseexporter value conventions, limits.

Through the real path: `trace_export` checks a request, renders its array, kvlist and bytes
attribute values into strings and wraps it; ClickHouse (the module's migrated chDB) decodes the
envelope and builds every column in SQL (`TRACES_INPUT`), rendering the scalar values; and the rows
are read back. The Python rendering of values (`otlp_values`, which logs use) is tested on its own,
and the stored attributes are held to it value by value.
"""

from __future__ import annotations

import copy
import json
import math
import random
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
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

from hiveboard.collector.ingest.otlp_values import (
    MAX_ERROR_MESSAGES,
    MAX_NESTING_DEPTH,
    MAX_TIME_UNIX_NANO,
    MAX_VALUE_BYTES,
    NESTING_MARKER,
    TRUNCATION_MARKER,
    any_value_as_string,
    attributes_to_dict,
    format_go_float,
)
from hiveboard.collector.ingest.trace_rows import (
    TRACE_COLUMNS,
    TRACES_INPUT,
    TraceExport,
    TracesInput,
    WireTraceRequest,
    trace_export,
)
from hiveboard.collector.receivers.otlp_decoding import parse_export
from hiveboard.storage import Storage
from hiveboard.storage.retention import DATETIME_MAX_S
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID
from tests.collector.stored_traces import store_requests, stored_trace_rows

T0 = 1_700_000_000_123_456_789
TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
REMOTE_PARENT_ID = 0x00F067AA0BA902B7
LINK_TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
LINK_SPAN_ID = 0xB7AD6B7169203331


@pytest.fixture(scope="module", autouse=True)
def _spans_of_any_date_are_kept(storage: Storage) -> None:
    """The expected rows hold fixed times (1970, 2023, 2262), which the table's 30-day TTL would
    drop as they are inserted: this module's chDB keeps them."""
    storage.command(f"ALTER TABLE {TRACES_TABLE} REMOVE TTL")


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


def one_span_request(**span_fields: Any) -> tuple[ExportTraceServiceRequest, Span]:
    request = ExportTraceServiceRequest()
    span = (
        request.resource_spans.add()
        .scope_spans.add()
        .spans.add(trace_id=bytes.fromhex(f"{TRACE_ID:032x}"), span_id=b"\x00" * 7 + b"\x01", **span_fields)
    )
    return request, span


def new_tenant_id() -> str:
    return f"tenant-{uuid.uuid4()}"


@dataclass(frozen=True)
class Stored:
    """What became of one request: its tenant, `trace_export`'s tally and the rows stored."""

    tenant_id: str
    export: TraceExport
    rows: list[dict[str, Any]]


def store(
    storage: Storage,
    request: ExportTraceServiceRequest | WireTraceRequest,
    key_type: str = "live",
    order_by: str = "Timestamp, SpanId",
) -> Stored:
    """`request` exported for a tenant of its own, inserted, and that tenant's rows read back."""
    tenant_id = new_tenant_id()
    (export,) = store_requests(storage, [request], tenant_id, key_type)
    return Stored(tenant_id, export, stored_trace_rows(storage, tenant_id, order_by))


# ---------------------------------------------------------------------------------------------
# Columns of a realistic span


def test_columns_are_the_clickhouseexporter_insert_columns_in_order(storage: Storage) -> None:
    assert TRACE_COLUMNS == (
        "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
        "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration",
        "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name", "Events.Attributes",
        "Links.TraceId", "Links.SpanId", "Links.TraceState", "Links.Attributes",
    )  # fmt: skip
    stored_columns = storage.query(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String} "
        "AND default_kind = '' ORDER BY position",
        {"table": TRACES_TABLE},
    )
    assert tuple(name for (name,) in stored_columns.rows) == TRACE_COLUMNS
    assert len(TRACES_INPUT.encode([]).select) == len(TRACE_COLUMNS)  # one expression per column


def test_every_column_of_sdk_spans(storage: Storage) -> None:
    stored = store(storage, wire(encode_spans(sdk_spans())))

    assert (stored.export.spans, stored.export.rejected, stored.export.errors) == (2, 0, [])
    resource = {
        "service.name": "checkout",
        "service.version": "1.4.2",
        HIVEBOARD_TENANT_ID: stored.tenant_id,  # the client's "forged" value is overwritten
        "cpu": "8",
        HIVEBOARD_KEY_TYPE: "live",
    }
    server, client = stored.rows  # by start time
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
    assert stored_trace_rows(storage, "forged") == []


def test_root_span_has_empty_parent_and_every_sdk_kind_its_pdata_name(storage: Storage) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("kinds")
    for kind in SpanKind:
        tracer.start_span(kind.name, otel_context.Context(), kind=kind).end()
    rows = store(storage, wire(encode_spans(exporter.get_finished_spans()))).rows

    assert {row["SpanName"]: row["SpanKind"] for row in rows} == {
        "INTERNAL": "Internal",
        "SERVER": "Server",
        "CLIENT": "Client",
        "PRODUCER": "Producer",
        "CONSUMER": "Consumer",
    }
    assert len(rows) == 5
    assert {row["ParentSpanId"] for row in rows} == {""}
    assert {row["StatusCode"] for row in rows} == {"Unset"}
    assert {row["ServiceName"] for row in rows} == {""}  # no service.name in the resource


@pytest.mark.parametrize(("kind", "expected"), [(0, "Unspecified"), (9, "")])
def test_unspecified_and_unknown_span_kinds(storage: Storage, kind: int, expected: str) -> None:
    request, _ = one_span_request(kind=kind)
    (row,) = store(storage, wire(request)).rows
    assert row["SpanKind"] == expected


def test_unknown_status_code_is_empty(storage: Storage) -> None:
    request, span = one_span_request()
    span.status.code = 7
    (row,) = store(storage, wire(request)).rows
    assert row["StatusCode"] == ""


def test_hiveloop_spans_become_rows(storage: Storage, captured: Any) -> None:
    hb = captured.init(api_key="hb_test_unit")
    agent = hb.agent("lead-qualifier", heartbeat_interval=0)
    with agent.task("task-1") as task:
        task.llm_call(
            "score", "claude-sonnet-4", tokens_in=1800, tokens_out=250, cost=0.004, duration_ms=1200
        )
    stored = store(storage, wire(encode_spans(captured.spans)), key_type="test")
    rows = stored.rows

    assert stored.export.spans == len(captured.spans) == len(rows)
    llm = next(row for row in rows if row["SpanName"] == "chat claude-sonnet-4")
    task_row = next(row for row in rows if row["SpanName"] == "invoke_agent lead-qualifier")
    assert llm["Duration"] == 1_200_000_000
    assert llm["ParentSpanId"] == task_row["SpanId"] and llm["TraceId"] == task_row["TraceId"]
    assert llm["SpanAttributes"]["gen_ai.usage.input_tokens"] == "1800"
    assert llm["SpanAttributes"]["hiveboard.llm.cost"] == "0.004"
    assert llm["ResourceAttributes"][HIVEBOARD_TENANT_ID] == stored.tenant_id
    assert llm["ResourceAttributes"][HIVEBOARD_KEY_TYPE] == "test"
    assert llm["ScopeName"] == "hiveloop"


# ---------------------------------------------------------------------------------------------
# Tenant stamping, service name, duration


def test_tenant_and_key_type_overwrite_client_values_on_every_resource(storage: Storage) -> None:
    victim = new_tenant_id()
    request = ExportTraceServiceRequest()
    for resource_index, forged in enumerate([True, False]):
        resource_spans = request.resource_spans.add()
        if forged:
            resource_spans.resource.attributes.add(key=HIVEBOARD_TENANT_ID).value.string_value = victim
            resource_spans.resource.attributes.add(key=HIVEBOARD_KEY_TYPE).value.string_value = "live"
        resource_spans.resource.attributes.add(key="service.name").value.string_value = f"svc{resource_index}"
        resource_spans.scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="s")
    stored = store(storage, wire(request), key_type="test", order_by="ServiceName")

    assert [row["ResourceAttributes"] for row in stored.rows] == [
        {HIVEBOARD_TENANT_ID: stored.tenant_id, HIVEBOARD_KEY_TYPE: "test", "service.name": "svc0"},
        {"service.name": "svc1", HIVEBOARD_TENANT_ID: stored.tenant_id, HIVEBOARD_KEY_TYPE: "test"},
    ]
    assert [row["ServiceName"] for row in stored.rows] == ["svc0", "svc1"]
    assert stored_trace_rows(storage, victim) == []


def test_envelopes_of_one_insert_keep_their_own_tenant_and_key_type(storage: Storage) -> None:
    tenants = [new_tenant_id(), new_tenant_id()]
    requests = []
    for name in ("first", "second"):
        request, _ = one_span_request(name=name)
        request.resource_spans[0].resource.attributes.add(key=HIVEBOARD_TENANT_ID).value.string_value = "x"
        requests.append(wire(request))
    exports = [
        trace_export(request, tenant, key_type)
        for request, tenant, key_type in zip(requests, tenants, ["live", "test"], strict=True)
    ]
    TRACES_INPUT.insert(storage, [export.envelope for export in exports])

    first, second = (stored_trace_rows(storage, tenant) for tenant in tenants)
    assert [(row["SpanName"], row["ResourceAttributes"][HIVEBOARD_KEY_TYPE]) for row in first] == [
        ("first", "live")
    ]
    assert [(row["SpanName"], row["ResourceAttributes"][HIVEBOARD_KEY_TYPE]) for row in second] == [
        ("second", "test")
    ]


def test_inserts_leave_skip_indexes_to_the_merges(storage: Storage) -> None:
    # A table of otel_traces' structure, its seven skip indexes included, for parts of its own.
    table = f"traces_{uuid.uuid4().hex}"
    storage.command(f"CREATE TABLE {table} AS {TRACES_TABLE}")
    request, span = one_span_request(name="indexed later")
    exports = store_requests(storage, [request], new_tenant_id(), traces_input=TracesInput(table=table))
    assert exports[0].spans == 1

    def index_bytes() -> list[int]:
        return [
            row[0]
            for row in storage.query(
                "SELECT secondary_indices_compressed_bytes FROM system.parts "
                "WHERE database = currentDatabase() AND table = {table:String} AND active",
                {"table": table},
            ).rows
        ]

    try:
        assert index_bytes() == [0]
        storage.command(f"OPTIMIZE TABLE {table} FINAL")
        (merged,) = index_bytes()
        assert merged > 0
        found = storage.query(
            f"SELECT SpanName FROM {table} WHERE TraceId = {{id:String}}", {"id": span.trace_id.hex()}
        )
        assert found.rows == [("indexed later",)]
    finally:
        storage.command(f"DROP TABLE {table}")


def test_service_name_is_as_string_of_the_first_occurrence(storage: Storage) -> None:
    request, _ = one_span_request()
    attributes = request.resource_spans[0].resource.attributes
    attributes.add(key="service.name").value.int_value = 5
    attributes.add(key="service.name").value.string_value = "later"
    (row,) = store(storage, wire(request)).rows
    assert row["ServiceName"] == "5"
    assert row["ResourceAttributes"]["service.name"] == "later"  # a repeated key keeps its last value


@pytest.mark.parametrize("received", ["parsed", "from the wire"])
def test_a_repeated_key_is_stored_once_at_its_first_position_with_its_last_value(
    storage: Storage, received: str
) -> None:
    request, span = one_span_request()
    for attributes in (span.attributes, span.events.add().attributes, span.links.add().attributes):
        for key, number in (("b", 1), ("a", 2), ("b", 3), ("c", 4), ("b", 5)):
            attributes.add(key=key).value.int_value = number
    if received == "parsed":
        stored = store(storage, wire(request))
    else:
        stored = store(storage, parse_export(request.SerializeToString(), ExportTraceServiceRequest))
    # Read in SQL, not as a dict, which would keep one of two entries of a key by itself.
    maps = storage.query(
        f"SELECT mapKeys(SpanAttributes), mapValues(SpanAttributes), "
        f"arrayMap(m -> (mapKeys(m), mapValues(m)), arrayConcat(`Events.Attributes`, `Links.Attributes`)) "
        f"FROM {TRACES_TABLE} WHERE ResourceAttributes[{{attribute:String}}] = {{tenant:String}}",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": stored.tenant_id},
    ).rows
    expected = (["b", "a", "c"], ["5", "2", "4"])
    assert maps == [(*expected, [expected, expected])]


@pytest.mark.parametrize(("start", "end", "duration"), [(10, 25, 15), (25, 10, 0), (T0, 0, 0), (0, 0, 0)])
def test_duration_is_end_minus_start_clamped_at_zero(
    storage: Storage, start: int, end: int, duration: int
) -> None:
    request, _ = one_span_request(start_time_unix_nano=start, end_time_unix_nano=end)
    (row,) = store(storage, wire(request)).rows
    assert (row["Timestamp"], row["Duration"]) == (start, duration)


def test_links_in_order_with_trace_state_and_all_zero_ids_as_empty_strings(storage: Storage) -> None:
    request, span = one_span_request()
    span.links.add(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8, trace_state="vendor=v1,other=2")
    span.links.add(trace_id=bytes(16), span_id=bytes(8))
    span.links.add()  # absent ids
    (row,) = store(storage, wire(request)).rows
    assert row["Links.TraceId"] == ["ab" * 16, "", ""]
    assert row["Links.SpanId"] == ["cd" * 8, "", ""]
    assert row["Links.TraceState"] == ["vendor=v1,other=2", "", ""]
    assert row["Links.Attributes"] == [{}, {}, {}]


# ---------------------------------------------------------------------------------------------
# Partial success


def test_spans_with_invalid_ids_are_rejected_and_counted_others_kept(storage: Storage) -> None:
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
    stored = store(storage, wire(request), order_by="SpanName")

    assert [row["SpanName"] for row in stored.rows] == ["valid", "valid too"]
    assert [row["ParentSpanId"] for row in stored.rows] == ["", ""]  # all zeros = no parent
    assert (stored.export.spans, stored.export.rejected) == (2, 7)
    prefix = "resourceSpans[0].scopeSpans[0]"
    assert stored.export.errors == [
        f"{prefix}.spans[1] (name 'no trace id') rejected: trace id must be 16 bytes, got 0 (empty)",
        f"{prefix}.spans[2] (name 'zero trace id') rejected: trace id is all zeros",
        f"{prefix}.spans[3] (name 'short trace id') rejected: trace id must be 16 bytes, got 15 ({'01' * 15})",
        f"{prefix}.spans[4] (name 'zero span id') rejected: span id is all zeros",
        f"{prefix}.spans[5] (name 'long span id') rejected: span id must be 8 bytes, got 9 ({'01' * 9})",
        f"{prefix}.spans[6] (name 'bad parent') rejected: parent span id must be 8 bytes or empty, got 4",
        f"{prefix}.spans[7] (name 'bad link') rejected: links[0] ids must be 16 / 8 bytes, got 0 / 3",
    ]


def test_spans_starting_past_the_datetime_range_or_with_events_past_datetime64_are_rejected(
    storage: Storage,
) -> None:
    """`toDateTime(Timestamp)` (the TTL, the trace-id lookup) wraps after 2106-02-07 06:28:15;
    event times are stored as DateTime64(9), which ends in 2262."""
    last_second = DATETIME_MAX_S * 1_000_000_000
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    ids = {"trace_id": b"\x0a" * 16, "span_id": b"\x0b" * 8}
    last_instant = spans.add(name="last instant", start_time_unix_nano=last_second + 999_999_999, **ids)
    last_instant.events.add(time_unix_nano=MAX_TIME_UNIX_NANO)
    spans.add(name="start past it", start_time_unix_nano=last_second + 1_000_000_000, **ids)
    spans.add(name="wraps as Int64", start_time_unix_nano=2**63, **ids)
    spans.add(name="event past it", start_time_unix_nano=1, **ids).events.add(time_unix_nano=2**63)
    stored = store(storage, wire(request))

    assert [(row["SpanName"], row["Timestamp"], row["Events.Timestamp"]) for row in stored.rows] == [
        ("last instant", last_second + 999_999_999, [MAX_TIME_UNIX_NANO])
    ]
    assert (stored.export.spans, stored.export.rejected) == (1, 3)
    prefix = "resourceSpans[0].scopeSpans[0]"
    past = (
        "is past 2106-02-07T06:28:15Z, the latest time otel_traces can keep (ClickHouse DateTime ends "
        "2106-02-07T06:28:15Z): check the clock, and that times are in nanoseconds"
    )
    events = "event times must be at most 9223372036854775807 ns (year 2262), the DateTime64(9) range"
    assert stored.export.errors == [
        f"{prefix}.spans[1] (name 'start past it') rejected: start time 2106-02-07T06:28:16Z {past}",
        f"{prefix}.spans[2] (name 'wraps as Int64') rejected: start time 2262-04-11T23:47:16Z {past}",
        f"{prefix}.spans[3] (name 'event past it') rejected: {events}",
    ]


def test_rejection_messages_are_capped_but_all_rejections_counted(storage: Storage) -> None:
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for index in range(50):
        spans.add(name=f"bad {index}")
    stored = store(storage, wire(request))
    assert (stored.rows, stored.export.spans, stored.export.rejected) == ([], 0, 50)
    assert len(stored.export.errors) == MAX_ERROR_MESSAGES
    assert stored.export.errors[-1].startswith(
        f"resourceSpans[0].scopeSpans[0].spans[{MAX_ERROR_MESSAGES - 1}] "
    )


# ---------------------------------------------------------------------------------------------
# Value.AsString(): the Python reference (`otlp_values`)

GO_FLOATS = [
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
]


@pytest.mark.parametrize(("number", "expected"), GO_FLOATS)
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


def string(text: str) -> AnyValue:
    return AnyValue(string_value=text)


def integer(number: int) -> AnyValue:
    return AnyValue(int_value=number)


def double(number: float) -> AnyValue:
    return AnyValue(double_value=number)


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


AS_STRING_CASES = [
    ("empty", AnyValue(), ""),
    ("empty-string", string(""), ""),
    ("string", string("a\nb <&>"), "a\nb <&>"),
    ("int64-min", integer(-(2**63)), "-9223372036854775808"),
    ("bool", AnyValue(bool_value=False), "false"),
    ("empty-bytes", AnyValue(bytes_value=b""), ""),
    ("bytes", AnyValue(bytes_value=b"\xfb\xff"), "+/8="),
    ("empty-array", array(), "[]"),
    ("empty-kvlist", kvlist(), "{}"),
    ("nulls-and-bytes", array(AnyValue(), AnyValue(bytes_value=b""), AnyValue(bytes_value=b"hi")),
     '[null,null,"aGk="]'),
    ("floats", array(double(-0.0), double(1e-7)), "[-0,1e-7]"),
    ("escapes", array(string('\x01\x1f\b\f\n\r\t"\\/\u2028\u2029\x7f<>&é😀')),
     '["\\u0001\\u001f\\b\\f\\n\\r\\t\\"\\\\/\\u2028\\u2029\x7f<>&é😀"]'),
    ("duplicate-keys", kvlist(("b", integer(1)), ("a", integer(2)), ("b", integer(3))), '{"a":2,"b":3}'),
    ("key-order", kvlist(("é", AnyValue()), ("z", AnyValue()), ("\n", AnyValue())),
     '{"\\n":null,"z":null,"é":null}'),
    ("nan", array(double(math.nan)), ""),
    ("nested-inf", kvlist(("x", array(double(math.inf)))), ""),
    ("overwritten-nan", kvlist(("x", double(math.nan)), ("x", integer(1))), '{"x":1}'),
]  # fmt: skip


@pytest.mark.parametrize(("value", "expected"), [case[1:] for case in AS_STRING_CASES],
                         ids=[case[0] for case in AS_STRING_CASES])  # fmt: skip
def test_any_value_as_string(value: AnyValue, expected: str) -> None:
    assert any_value_as_string(value) == expected


# ---------------------------------------------------------------------------------------------
# Value.AsString() as stored, value by value against the Python reference
#
# SQL renders strings (cut at 64 KiB), ints, bools, doubles and empty values, and keeps each
# repeated key once; `trace_export` has already replaced arrays, kvlists and bytes by their Python
# rendering (which SQL stores as it is). Every case is an attribute list, sent twice in one insert:
# as a span's whole attribute list, and with a kvlist value added, so that a list of SQL-rendered
# values holds a Python-rendered one too; and each case again as a request of its own, parsed as the
# receivers parse it.


def nested(kind: str, levels: int, leaf: AnyValue) -> AnyValue:
    """`leaf` inside `levels` arrays or kvlists (key "k"); `kind` "mixed" alternates them."""
    value = leaf
    for level in range(levels):
        if kind == "array" or (kind == "mixed" and level % 2 == 0):
            value = array(value)
        else:
            value = kvlist(("k", value))
    return value


def deeply_nested_arrays(levels: int) -> AnyValue:
    value = root = AnyValue()
    for _ in range(levels):
        value = value.array_value.values.add()
    return root


def deeply_nested_kvlists(levels: int, leaf: str) -> AnyValue:
    value = root = AnyValue()
    for _ in range(levels):
        value = value.kvlist_value.values.add(key="k").value
    value.string_value = leaf
    return root


def random_doubles() -> list[float]:
    """Doubles of the positional range, of any magnitude (subnormals too), and of random bits (NaN
    payloads, infinities, signed zeros)."""
    generator = random.Random(20240602)
    positional = [generator.choice([-1, 1]) * 10 ** generator.uniform(-6, 21) for _ in range(500)]
    any_magnitude = [generator.choice([-1, 1]) * 10 ** generator.uniform(-323.5, 308.2) for _ in range(500)]
    bits = [struct.unpack("<d", generator.randbytes(8))[0] for _ in range(500)]
    return positional + any_magnitude + bits


def kv(key: str, value: AnyValue) -> KeyValue:
    """A `KeyValue`; copied field by field, as a constructor argument is re-parsed within a nesting
    limit of 100."""
    item = KeyValue(key=key)
    item.value.CopyFrom(value)
    return item


def alone(value: AnyValue) -> list[KeyValue]:
    return [kv("value", value)]


M = MAX_VALUE_BYTES
NAN = math.nan
PLAIN_STRINGS = array(string("a/b <&> é😀 \x7f"), string('q"\\uote'), string(""))


def attribute_list_cases() -> dict[str, list[KeyValue]]:
    """Attribute lists of every kind of value, at and past the limits, with and without repeated
    keys."""
    cases: dict[str, list[KeyValue]] = {}
    # Distinct keys: scalars, strings within 64 KiB, string arrays.
    every_scalar = [string("x"), integer(2**63 - 1), double(-1e-300), AnyValue(bool_value=True), AnyValue()]
    every_scalar += [integer(0), double(0.0), PLAIN_STRINGS]
    cases["scalars-of-every-kind"] = [kv(f"k{index}", value) for index, value in enumerate(every_scalar)]
    cases["string-of-64-kib"] = alone(string("é" * (M // 2)))
    odd_keys = ["", "\x00", "\n", "é😀", "\u2028", "k" * 100_000]
    cases["odd-keys"] = [kv(key, string(repr(key[:5]))) for key in odd_keys]
    cases["plain-strings-array"] = alone(PLAIN_STRINGS)
    cases["large-strings-array"] = alone(array(string("s" * 16_000), string("t" * 16_000)))
    specials = {"nan": NAN, "-nan": -NAN, "inf": math.inf, "-inf": -math.inf}
    cases["nan-and-infinities"] = [kv(key, double(number)) for key, number in specials.items()]
    # Duplicate keys: the last value wins, whether SQL or Python rendered it.
    cases["duplicate-keys"] = [kv("key", string("first")), kv("key", string("last"))]
    cases["duplicate-keys-mixed"] = [
        kv("key", kvlist(("a", integer(1)))),
        kv("o", integer(1)),
        kv("key", integer(7)),
        kv("a", string("x")),
    ]
    cases["duplicate-keys-nan-first"] = [kv("key", array(double(NAN))), kv("key", array(string("s")))]
    # Strings over 64 KiB, cut on a character boundary whatever the offset.
    cases["string-over-64-kib"] = alone(string("s" * (M + 1)))
    cases["emoji-of-64-kib"] = alone(string("😀" * (M // 4)))
    for offset in range(1, 4):
        cases[f"emoji-cut-at-offset-{offset}"] = alone(string("x" * offset + "😀" * (M // 4)))
    cases["two-byte-cut"] = alone(string("x" + "é" * (M // 2)))
    # String arrays with characters JSON escapes (as Go does), or too long.
    cases["strings-array-control"] = alone(array(string("a\x01b"), string("\x1f")))
    cases["strings-array-nul"] = alone(array(string("a\x00b")))
    cases["strings-array-whitespace"] = alone(array(string("\t\n\r\b\f")))
    cases["strings-array-u2028"] = alone(array(string("a\u2028b")))
    cases["strings-array-u2029"] = alone(array(string("\u2029"), string("x")))
    cases["strings-array-control-and-u2028"] = alone(array(string("\x01\u2028é")))
    cases["strings-array-at-the-limit"] = alone(array(string("s" * (M - 4))))
    cases["strings-array-over-the-limit"] = alone(array(string("s" * (M - 3))))
    cases["strings-array-huge-multibyte"] = alone(array(string("€" * 40_000)))
    cases["strings-array-with-null"] = alone(array(string("a"), AnyValue()))
    # Escaped JSON cut in the middle of its escapes.
    cases["quotes-cut"] = alone(array(string('"' * M)))
    cases["control-characters-cut"] = alone(array(string("\x01é" * (M // 4))))
    cases["escaped-key-cut"] = alone(kvlist(("\n\u2029" * M, integer(1))))
    # Bytes.
    cases["bytes-binary"] = alone(AnyValue(bytes_value=bytes(range(256))))
    cases["bytes-at-the-limit"] = alone(AnyValue(bytes_value=b"\xfe" * (M // 4 * 3)))
    cases["bytes-over-the-limit"] = alone(AnyValue(bytes_value=b"\xfe" * (M // 4 * 3 + 1)))
    cases["bytes-in-array-over-the-limit"] = alone(array(AnyValue(bytes_value=b"\x01" * M)))
    # Kvlists.
    cases["kvlist-of-every-kind"] = alone(
        kvlist(
            ("s", string("x")),
            ("i", integer(-1)),
            ("d", double(2.5e-8)),
            ("b", AnyValue(bool_value=True)),
            ("y", AnyValue(bytes_value=b"\x00")),
            ("n", AnyValue()),
            ("a", array(integer(1), string("2"))),
            ("m", kvlist(("q", double(1e21)))),
            ("", string("empty key")),
        )
    )
    keys = ["\x00", "\u2028", '"', "/", "\\", "\x7f", "😀", "é", "Z", "\t", "<&>"]
    cases["kvlist-escaped-keys"] = alone(kvlist(*((key, integer(index)) for index, key in enumerate(keys))))
    cases["kvlist-huge-key"] = alone(kvlist(("k" * (M + 10), string("v"))))
    cases["kvlist-many-keys"] = alone(kvlist(*((f"k{index}", integer(index)) for index in range(5000))))
    # Nested arrays, numbers and booleans in JSON.
    cases["nested-arrays"] = alone(array(array(integer(1), array()), array(string("x"))))
    numbers = [integer(2**63 - 1), integer(-(2**63)), integer(0), double(0.0), double(-0.0), double(1e21)]
    numbers += [double(1e-7), double(5e-324), double(1.7976931348623157e308)]
    numbers += [AnyValue(bool_value=True), AnyValue(bool_value=False)]
    cases["json-numbers"] = alone(array(*numbers))
    # NaN / infinities inside JSON: the whole value is "", unless the cut comes first.
    cases["nan-in-array"] = alone(array(integer(1), double(NAN)))
    cases["-inf-in-kvlist"] = alone(kvlist(("a", double(-math.inf))))
    for character in ("s", "é"):
        # `["` + M - 4 characters + `",` is M characters: the NaN comes within the limit.
        cases[f"nan-at-the-cut-{character}"] = alone(array(string(character * (M - 4)), double(NAN)))
        cases[f"nan-after-the-cut-{character}"] = alone(array(string(character * (M - 3)), double(NAN)))
    cases["nan-past-the-nesting-limit"] = alone(nested("array", MAX_NESTING_DEPTH + 1, double(NAN)))
    return cases


def nesting_cases() -> dict[str, list[KeyValue]]:
    """Every array / kvlist shape at each depth around the limit, with leaves of each kind."""
    leaves = {"string": string("leaf"), "empty-array": array(), "bytes": AnyValue(bytes_value=b"b")}
    cases = {
        f"nested-{kind}-{levels}-{leaf_name}": alone(nested(kind, levels, leaf))
        for kind in ("array", "kvlist", "mixed")
        for levels in range(1, MAX_NESTING_DEPTH + 3)
        for leaf_name, leaf in leaves.items()
    }
    cases["kvlist-nested-100-levels"] = alone(deeply_nested_kvlists(100, "leaf"))
    cases["array-nested-10000-levels"] = alone(deeply_nested_arrays(10_000))
    level4 = array(integer(4), array(integer(5)))
    level3 = array(integer(3), level4, kvlist(("k", kvlist())))
    cases["siblings-at-each-depth"] = alone(
        array(integer(1), array(integer(2), level3), kvlist(("k", level4)))
    )
    return cases


def random_double_cases() -> dict[str, list[KeyValue]]:
    doubles = random_doubles()
    go_floats = [number for number, _ in GO_FLOATS]
    return {
        "random-doubles": [kv(f"d{i}", double(x)) for i, x in enumerate(doubles)],
        "random-doubles-in-arrays": [kv(f"a{i}", array(double(x))) for i, x in enumerate(doubles)],
        "go-float-cases": [kv(repr(x), double(x)) for x in go_floats],
        "go-float-cases-in-arrays": [kv(repr(x), array(double(x))) for x in go_floats],
    }


# Characters JSON escapes, that ClickHouse and Go escape differently, of each UTF-8 length.
TRICKY_CHARACTERS = [
    "\x00",
    "\x01",
    "\x1f",
    "\n",
    "\t",
    '"',
    "\\",
    "/",
    "<",
    "&",
    "\x7f",
    "\u0080",
    "\u2028",
    "\u2029",
]
PLAIN_CHARACTERS = ["a", "Z", " ", "0", "é", "\u07ff", "€", "\ufffd", "\uffff", "😀", "\U0010ffff"]


def random_text(generator: random.Random, characters: list[str], longest: int = 12) -> str:
    return "".join(generator.choice(characters) for _ in range(generator.randint(0, longest)))


def random_value(generator: random.Random, depth: int = 1) -> AnyValue:
    """Any kind of value, arrays and kvlists nested up to two levels past the limit."""
    kind = generator.choice(["string", "int", "double", "bool", "bytes", "empty"] + ["array", "kvlist"] * 2)
    if kind in ("array", "kvlist") and depth > MAX_NESTING_DEPTH + 2:
        kind = "string"
    if kind == "string":
        return string(random_text(generator, TRICKY_CHARACTERS + PLAIN_CHARACTERS))
    if kind == "int":
        return integer(generator.choice([0, -1, 2**63 - 1, -(2**63), generator.randint(-(2**63), 2**63 - 1)]))
    if kind == "double":  # NaN / infinities rarely, so that most values render
        bits = struct.unpack("<d", generator.randbytes(8))[0]
        return double(
            bits if math.isfinite(bits) or generator.random() < 0.1 else generator.uniform(-1e6, 1e6)
        )
    if kind == "bool":
        return AnyValue(bool_value=generator.random() < 0.5)
    if kind == "bytes":
        return AnyValue(bytes_value=generator.randbytes(generator.randint(0, 8)))
    if kind == "empty":
        return AnyValue()
    items = [random_value(generator, depth + 1) for _ in range(generator.randint(0, 4))]
    if kind == "array":
        return array(*items)
    keys = [random_text(generator, TRICKY_CHARACTERS + PLAIN_CHARACTERS, 3) for _ in items]
    return kvlist(*zip(keys, items, strict=True))


def random_value_cases() -> dict[str, list[KeyValue]]:
    generator = random.Random(20240603)
    values = [kv(f"v{index}", random_value(generator)) for index in range(500)]
    plain = [
        kv(f"s{index}", array(*(string(random_text(generator, PLAIN_CHARACTERS)) for _ in range(index % 5))))
        for index in range(200)
    ]
    tricky = [
        kv(f"s{index}", array(string(random_text(generator, TRICKY_CHARACTERS + PLAIN_CHARACTERS, 5))))
        for index in range(200)
    ]
    duplicated = [kv(random_text(generator, ["a", "b", "é"], 2), random_value(generator)) for _ in range(100)]
    return {
        "random-values": values,
        "random-plain-string-arrays": plain,
        "random-tricky-string-arrays": tricky,  # at least one holds an escaped character
        "random-duplicated-keys": duplicated,
    }


PARITY_CASES: dict[str, list[KeyValue]] = {
    **{f"as-string-{name}": alone(value) for name, value, _ in AS_STRING_CASES},
    **{f"go-float-{number!r}": alone(double(number)) for number, _ in GO_FLOATS},
    **attribute_list_cases(),
    **nesting_cases(),
    **random_double_cases(),
    **random_value_cases(),
}
KVLIST_KEY = "hb.test.kvlist"
VARIANTS = ("alone", "with-kvlist")


def variant_attributes(case: str, variant: str) -> list[KeyValue]:
    attributes = PARITY_CASES[case]
    if variant == "alone":
        return attributes
    return [*attributes, kv(KVLIST_KEY, kvlist(("k", string("v"))))]


StoredAttributes = dict[tuple[str, str], dict[str, str]]
"""Each parity case's stored `SpanAttributes`, by (case, variant)."""


@pytest.fixture(scope="module")
def stored_attributes(storage: Storage) -> StoredAttributes:
    """Every parity case in both variants, one span each, stored with one insert."""
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    names = {}
    for index, (case, variant) in enumerate((case, variant) for case in PARITY_CASES for variant in VARIANTS):
        span_id = (index + 1).to_bytes(8, "big")
        span = spans.add(trace_id=b"\x0a" * 16, span_id=span_id, name=str(index))
        for attribute in variant_attributes(case, variant):
            span.attributes.add().CopyFrom(attribute)
        names[str(index)] = (case, variant)
    tenant_id = new_tenant_id()
    export = trace_export(request, tenant_id, "live")
    assert (export.spans, export.rejected) == (len(names), 0)
    TRACES_INPUT.insert(storage, [export.envelope])
    rows = stored_trace_rows(storage, tenant_id)
    assert sorted(row["SpanName"] for row in rows) == sorted(names)
    return {names[row["SpanName"]]: row["SpanAttributes"] for row in rows}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    "case",
    [case for case in PARITY_CASES],
)
def test_stored_attributes_are_the_python_reference(
    stored_attributes: StoredAttributes, case: str, variant: str
) -> None:
    expected = attributes_to_dict(variant_attributes(case, variant))
    if variant == "with-kvlist":
        assert expected[KVLIST_KEY] == '{"k":"v"}'
    assert stored_attributes[case, variant] == expected


@pytest.fixture(scope="module")
def stored_attributes_from_the_wire(storage: Storage) -> StoredAttributes:
    """Every parity case in both variants, each a request of its own as the receivers parse it
    (`parse_export`: a `WireTraceRequest` whose spans with structured values alone are visited, or,
    for the values nested too deep for protobuf, the request with them cut), stored with one insert."""
    tenant_id = new_tenant_id()
    envelopes = []
    names = {}
    for index, (case, variant) in enumerate((case, variant) for case in PARITY_CASES for variant in VARIANTS):
        request = ExportTraceServiceRequest()
        span = (
            request.resource_spans.add()
            .scope_spans.add()
            .spans.add(trace_id=b"\x0b" * 16, span_id=(index + 1).to_bytes(8, "big"), name=str(index))
        )
        for attribute in variant_attributes(case, variant):
            span.attributes.add().CopyFrom(attribute)
        received = parse_export(request.SerializeToString(), ExportTraceServiceRequest)
        export = trace_export(received, tenant_id, "live")
        assert (export.spans, export.rejected) == (1, 0)
        envelopes.append(export.envelope)
        names[str(index)] = (case, variant)
    TRACES_INPUT.insert(storage, envelopes)
    rows = stored_trace_rows(storage, tenant_id)
    assert sorted(row["SpanName"] for row in rows) == sorted(names)
    return {names[row["SpanName"]]: row["SpanAttributes"] for row in rows}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_attributes_stored_from_the_wire_are_the_python_reference(
    stored_attributes_from_the_wire: StoredAttributes, case: str, variant: str
) -> None:
    assert stored_attributes_from_the_wire[case, variant] == attributes_to_dict(
        variant_attributes(case, variant)
    )


def test_the_receivers_keep_a_trace_export_with_its_encoding_and_any_other_message_parsed() -> None:
    request, span = one_span_request(name="s")
    span.attributes.add(key="k").value.array_value.values.add(int_value=1)
    wire = request.SerializeToString()

    received = parse_export(wire, ExportTraceServiceRequest)

    assert isinstance(received, WireTraceRequest)
    assert (received.message, received.wire) == (request, wire)
    logs = parse_export(b"", ExportLogsServiceRequest)
    assert isinstance(logs, ExportLogsServiceRequest)


@pytest.mark.parametrize(
    ("name", "expected"),
    [(name, expected) for name, _, expected in AS_STRING_CASES],
    ids=[case[0] for case in AS_STRING_CASES],
)
def test_the_as_string_cases_are_stored_as_expected(
    stored_attributes: StoredAttributes, name: str, expected: str
) -> None:
    for variant in VARIANTS:
        assert stored_attributes[f"as-string-{name}", variant]["value"] == expected


STRUCTURED_KINDS = {"array_value", "kvlist_value", "bytes_value"}


def every_kind_of_value(label: str) -> list[KeyValue]:
    """An attribute list with values of every kind, structured ones among them (`label` tells the
    lists apart)."""
    values = {
        "string": string(label),
        "empty-string": string(""),
        "long-string": string("s" * (M + 10)),  # SQL cuts it, `trace_export` leaves it be
        "int": integer(-(2**63)),
        "bool": AnyValue(bool_value=False),
        "double": double(0.1),
        "nan": double(NAN),
        "empty": AnyValue(),
        "bytes": AnyValue(bytes_value=b"\x00\xff" + label.encode()),
        "empty-bytes": AnyValue(bytes_value=b""),
        "huge-bytes": AnyValue(bytes_value=b"\xfe" * M),
        "array": array(integer(1), string(label), AnyValue(bytes_value=b"b"), double(NAN)),
        "empty-array": array(),
        "kvlist": kvlist(("z", array(double(1.5))), ("a", kvlist(("k", string(label))))),
        "empty-kvlist": kvlist(),
        "too-deep": nested("mixed", MAX_NESTING_DEPTH + 2, string("leaf")),
    }
    attributes = [kv(key, value) for key, value in values.items()]
    # Repeated keys: SQL keeps each once, at its first position with its last value.
    return [*attributes, kv("array", string("again")), kv("string", array(string("again")))]


def attribute_lists(request: ExportTraceServiceRequest) -> list[Any]:
    """The attribute lists of a request's spans, events and links."""
    lists = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                lists.append(span.attributes)
                lists.extend(event.attributes for event in span.events)
                lists.extend(link.attributes for link in span.links)
    return lists


def test_resource_attributes_of_every_kind_are_stored_as_the_python_reference(storage: Storage) -> None:
    # `trace_export` renders each resource's attributes once, into the envelope.
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(every_kind_of_value("resource"))
    resource_spans.scope_spans.add().spans.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8, name="s")
    tenant_id = new_tenant_id()
    expected = {
        **attributes_to_dict(resource_spans.resource.attributes),
        HIVEBOARD_TENANT_ID: tenant_id,
        HIVEBOARD_KEY_TYPE: "test",
    }

    TRACES_INPUT.insert(storage, [trace_export(request, tenant_id, "test").envelope])

    (row,) = stored_trace_rows(storage, tenant_id)
    assert row["ResourceAttributes"] == expected


def scopes_of_two_resources(request: ExportTraceServiceRequest) -> Iterator[tuple[tuple[int, int], Any]]:
    """Adds to `request` two resources, with attributes of every kind, of two scopes each: yields
    each scope's (resource, scope) indexes and its spans."""
    for resource_index in range(2):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(every_kind_of_value(f"resource {resource_index}"))
        for scope_index in range(2):
            yield (resource_index, scope_index), resource_spans.scope_spans.add().spans


def test_trace_export_renders_arrays_kvlists_and_bytes_in_place_and_leaves_other_values_to_sql() -> None:
    request = ExportTraceServiceRequest()
    for (resource_index, scope_index), spans in scopes_of_two_resources(request):
        for span_index in range(2):
            label = f"{resource_index}.{scope_index}.{span_index}"
            span = spans.add(
                trace_id=b"\x01" * 16, span_id=bytes([1, resource_index, scope_index, span_index]) * 2
            )
            span.attributes.extend(every_kind_of_value(f"span {label}"))
            for event_index in range(2):
                span.events.add(name="e").attributes.extend(
                    every_kind_of_value(f"event {label}.{event_index}")
                )
            span.links.add(trace_id=b"\x02" * 16).attributes.extend(every_kind_of_value(f"link {label}"))
            span.links.add()  # a link without attributes
    original = copy.deepcopy(request)
    export = trace_export(request, new_tenant_id(), "live")

    assert (export.spans, export.rejected) == (8, 0)
    assert request.SerializeToString() in export.envelope  # what is stored is the rendered request
    # Resources are left as they are: the envelope holds their attributes rendered whole.
    assert [r.resource for r in request.resource_spans] == [r.resource for r in original.resource_spans]
    before, after = attribute_lists(original), attribute_lists(request)
    assert len(before) == len(after) == 8 * (1 + 2 + 2)
    rendered = kept = 0
    for old_list, new_list in zip(before, after, strict=True):
        # Repeated keys are SQL's to drop.
        assert [item.key for item in new_list] == [item.key for item in old_list]
        for new, old in zip(new_list, old_list, strict=True):
            if old.value.WhichOneof("value") in STRUCTURED_KINDS:
                # In `bytes_value`, which the envelope's schema reads as a rendering SQL keeps as it is.
                assert new.value.WhichOneof("value") == "bytes_value"
                assert new.value.bytes_value.decode() == any_value_as_string(old.value)
                rendered += 1
            else:
                # Byte for byte, since NaN != NaN; long strings too, which SQL cuts.
                assert new.value.SerializeToString(deterministic=True) == old.value.SerializeToString(
                    deterministic=True
                )
                kept += 1
    per_list = every_kind_of_value("")
    structured = sum(item.value.WhichOneof("value") in STRUCTURED_KINDS for item in per_list)
    filled = 8 * (1 + 2 + 1)  # the spans', events' and first links' lists
    assert (rendered, kept) == (filled * structured, filled * (len(per_list) - structured))
    assert not [
        item
        for attributes in after
        for item in attributes
        if item.value.WhichOneof("value") in STRUCTURED_KINDS - {"bytes_value"}
    ]
    # Nothing but attribute values changed.
    for attributes in (*before, *after):
        del attributes[:]
    assert request == original


def mixed_request() -> ExportTraceServiceRequest:
    """Two resources of two scopes, whose spans hold structured values in their own, their events' or
    their links' attributes, or scalars only (repeated keys and long strings among them), and spans
    with invalid ids between them."""
    request = ExportTraceServiceRequest()
    for (resource_index, scope_index), spans in scopes_of_two_resources(request):
        for span_index, holder in enumerate(["span", "event", "link", "none", "invalid", "none"]):
            label = f"{resource_index}.{scope_index}.{span_index}"
            span_id = bytes([1, resource_index, scope_index, span_index]) * 2
            span = spans.add(
                trace_id=b"\x01" * 16,
                span_id=b"\x00" * 7 if holder == "invalid" else span_id,
                name=label,
                start_time_unix_nano=T0 + span_index,
            )
            scalars = [kv("k", string(label)), kv("long", string("é" * M)), kv("k", integer(span_index))]
            structured = every_kind_of_value(label)
            span.attributes.extend(structured if holder == "span" else scalars)
            span.events.add(name="e").attributes.extend(structured if holder == "event" else scalars)
            span.links.add(trace_id=b"\x02" * 16).attributes.extend(
                structured if holder == "link" else scalars
            )
    return request


def without_tenant(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**row, "ResourceAttributes": {**row["ResourceAttributes"], HIVEBOARD_TENANT_ID: ""}} for row in rows
    ]


def test_a_request_from_the_wire_is_stored_as_the_same_request_visited_whole(storage: Storage) -> None:
    request = mixed_request()
    received = parse_export(request.SerializeToString(), ExportTraceServiceRequest)
    assert isinstance(received, WireTraceRequest)

    from_the_wire = store(storage, received)  # only the spans holding structured values are visited
    visited_whole = store(storage, request)

    assert (from_the_wire.export.spans, from_the_wire.export.rejected) == (20, 4)
    assert from_the_wire.export.errors == visited_whole.export.errors
    assert from_the_wire.export.cut_values == visited_whole.export.cut_values == 12  # the "too-deep" values
    assert len(from_the_wire.rows) == 20
    assert without_tenant(from_the_wire.rows) == without_tenant(visited_whole.rows)


def test_a_request_from_the_wire_that_needs_no_change_is_wrapped_as_it_was_received() -> None:
    scalars_only = mixed_request()
    for resource_spans in scalars_only.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            spans = [span for span in scope_spans.spans if span.name.endswith((".3", ".5"))]
            del scope_spans.spans[:]
            scope_spans.spans.extend(spans)
    with_a_rejected_span, with_a_structured_value = copy.deepcopy(scalars_only), copy.deepcopy(scalars_only)
    with_a_rejected_span.resource_spans[1].scope_spans[0].spans[0].span_id = b""
    with_a_structured_value.resource_spans[1].scope_spans[0].spans[0].links[0].attributes.add(
        key="b", value=AnyValue(bytes_value=b"\x01")
    )

    def envelope_holds_the_wire(request: ExportTraceServiceRequest) -> bool:
        wire = request.SerializeToString()
        export = trace_export(parse_export(wire, ExportTraceServiceRequest), new_tenant_id(), "live")
        return wire in export.envelope

    assert envelope_holds_the_wire(scalars_only)
    assert not envelope_holds_the_wire(with_a_rejected_span)
    assert not envelope_holds_the_wire(with_a_structured_value)


# ---------------------------------------------------------------------------------------------
# Limits


def span_attribute(storage: Storage, value: AnyValue) -> str:
    """The SpanAttributes value a span with attribute `key` = `value` gets."""
    request, span = one_span_request()
    span.attributes.add(key="key").value.CopyFrom(value)
    tenant_id = new_tenant_id()
    store_requests(storage, [request], tenant_id)
    (row,) = stored_trace_rows(storage, tenant_id)
    return row["SpanAttributes"]["key"]


def utf8_size(text: str) -> int:
    return len(text.encode())


def test_a_10_mb_string_is_cut_at_64_kib_with_a_marker(storage: Storage) -> None:
    rendered = span_attribute(storage, AnyValue(string_value="x" * 10_000_000))
    assert rendered == "x" * MAX_VALUE_BYTES + TRUNCATION_MARKER


def test_strings_up_to_64_kib_are_untouched(storage: Storage) -> None:
    assert span_attribute(storage, AnyValue(string_value="é" * (MAX_VALUE_BYTES // 2))) == "é" * 32768
    assert span_attribute(storage, AnyValue(string_value="y" * MAX_VALUE_BYTES)) == "y" * MAX_VALUE_BYTES


@pytest.mark.parametrize("character", ["é", "€", "😀"])
def test_truncation_counts_utf8_bytes_and_keeps_whole_characters(storage: Storage, character: str) -> None:
    value = AnyValue(string_value=character * 50_000)
    rendered = span_attribute(storage, value)
    body = rendered.removesuffix(TRUNCATION_MARKER)
    assert rendered.endswith(TRUNCATION_MARKER)
    assert set(body) == {character}
    assert MAX_VALUE_BYTES - 4 < utf8_size(body) <= MAX_VALUE_BYTES
    assert rendered == any_value_as_string(value)


def test_huge_bytes_value_is_truncated_base64(storage: Storage) -> None:
    rendered = span_attribute(storage, AnyValue(bytes_value=b"\xff" * 1_000_000))
    assert rendered == "/" * MAX_VALUE_BYTES + TRUNCATION_MARKER


def test_kvlist_nested_100_levels_is_rendered_down_to_the_limit_then_marked(storage: Storage) -> None:
    root = deeply_nested_kvlists(100, "leaf")
    rendered = span_attribute(storage, root)

    node = json.loads(rendered)  # still valid JSON
    for _ in range(MAX_NESTING_DEPTH):
        node = node["k"]
    assert node == NESTING_MARKER
    assert rendered == any_value_as_string(root)


def test_nesting_10000_levels_is_rendered_down_to_the_limit_then_marked(storage: Storage) -> None:
    root = deeply_nested_arrays(10_000)
    rendered = span_attribute(storage, root)
    assert rendered == "[" * MAX_NESTING_DEPTH + json.dumps(NESTING_MARKER) + "]" * MAX_NESTING_DEPTH
    assert rendered == any_value_as_string(root)


def test_huge_array_stops_rendering_at_the_limit(storage: Storage) -> None:
    value = AnyValue()
    value.array_value.values.extend(AnyValue(int_value=123456) for _ in range(200_000))
    rendered = span_attribute(storage, value)
    assert rendered.startswith("[123456,123456,")
    assert rendered.endswith(TRUNCATION_MARKER)
    assert utf8_size(rendered) == MAX_VALUE_BYTES + len(TRUNCATION_MARKER)
    assert rendered == any_value_as_string(value)


def test_huge_string_inside_an_array_is_cut_too(storage: Storage) -> None:
    value = array(AnyValue(string_value="€" * 5_000_000))
    rendered = span_attribute(storage, value)
    assert rendered.startswith('["€€€')
    assert rendered.endswith("€" + TRUNCATION_MARKER)
    assert utf8_size(rendered) <= MAX_VALUE_BYTES + len(TRUNCATION_MARKER)
    assert rendered == any_value_as_string(value)


def test_event_and_link_attributes_are_bounded_as_well(storage: Storage) -> None:
    request, span = one_span_request()
    big = AnyValue(string_value="z" * 100_000)
    span.events.add(name="e").attributes.add(key="big", value=big)
    span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8).attributes.add(key="big", value=big)
    (row,) = store(storage, request).rows
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


def test_trace_export_of_a_thousand_spans_is_not_pathological(
    storage: Storage, thousand_spans: ExportTraceServiceRequest
) -> None:
    tenant_id = new_tenant_id()
    started = time.perf_counter()
    export = trace_export(thousand_spans, tenant_id, "live")
    assert time.perf_counter() - started < 1.0  # a few ms when measured; a generous bound for CI
    assert (export.spans, export.rejected) == (999, 1)  # span id 0 is all zeros

    TRACES_INPUT.insert(storage, [export.envelope])
    rows = stored_trace_rows(storage, tenant_id)
    assert [row["SpanId"] for row in rows] == [f"{index:016x}" for index in range(1, 1000)]
    assert {json.dumps(row["SpanAttributes"], sort_keys=True) for row in rows} == {
        json.dumps({f"k{attribute}": "v" for attribute in range(12)}, sort_keys=True)
    }
