"""Turn OTLP trace exports into rows of the `otel_traces` table, decoded by ClickHouse itself.

Python checks the spans (`trace_export`), renders in place the few attribute values SQL cannot
(arrays, kvlists and bytes, with `otlp_values.any_value_as_string`), visiting only the spans that hold
them when the request came with its encoding (`structured_spans`), and wraps the request (as it
arrived, when nothing changed) in a small envelope that adds each resource's service name and its
attributes rendered whole (with the sender's tenant): a request holds one resource or a few, while
SQL would render their attributes again for each span. ClickHouse parses the envelopes with the
`Protobuf` input format and builds every column in C++ (`TRACES_INPUT`), cutting long strings and
keeping each repeated key once. Building rows in Python cost three times what the whole insert costs
now; the SQL does only what is cheap per span and quick to plan (ClickHouse plans the INSERT anew
each time).

The values follow the OpenTelemetry Collector Contrib `clickhouseexporter` exactly (its
`pushTraceData`), so that rows written by the upstream collector and by ours are identical:

* `TraceId`, `SpanId`, `ParentSpanId` and the link ids are lowercase hex; an all-zero or absent id
  is the empty string (`traceutil.TraceIDToHexOrEmptyString`).
* `SpanKind` is `ptrace.SpanKind.String()` (`Unspecified`, `Internal`, `Server`, `Client`,
  `Producer`, `Consumer`), `StatusCode` is `ptrace.StatusCode.String()` (`Unset`, `Ok`, `Error`);
  values outside the enum are the empty string.
* `ServiceName` is the resource's `service.name` as `Value.AsString()` (the first one if repeated,
  like `pcommon.Map.Get`), the empty string when absent.
* `Duration` is end - start in nanoseconds; attribute values are rendered like pdata's
  `Value.AsString()`, within the bounds `otlp_values` documents.

Deliberate differences from upstream, all on input upstream mishandles:

* A span whose trace id or span id is missing, all zero or of the wrong length, whose parent or
  link ids have the wrong length, whose start time is outside what the table keeps (a
  `retention.TimeWindow`: older than its TTL, or past what its TTL expression can hold before
  ClickHouse's `DateTime` wraps in 2106), or whose event times are past 2262 (`MAX_TIME_UNIX_NANO`)
  is rejected and counted for OTLP partial success (upstream writes such spans with empty ids, or
  spans the TTL deletes as soon as it merges them, or fails the whole request on a wrong length).
* `Duration` is clamped to 0 when a span ends before it starts (upstream's unsigned subtraction
  wraps around to ~1.8e19).
* A key repeated within one attribute list is stored once, at its first position with its last
  value, like `otlp_values.attributes_to_dict` (upstream would pass both entries to ClickHouse).

Every resource's attributes get `hiveboard.tenant.id` and `hiveboard.key.type` from the API key the
request was authenticated with, overwriting whatever the client sent: a client never chooses its
tenant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.binding import format_str
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hiveboard.collector.ingest.otlp_values import (
    MAX_ERROR_MESSAGES,
    MAX_TIME_UNIX_NANO,
    MAX_VALUE_BYTES,
    NESTING_MARKER,
    TRUNCATION_MARKER,
    any_value_as_string,
    attributes_to_dict,
    go_json_string,
    service_name,
)
from hiveboard.collector.ingest.structured_spans import spans_with_structured_values
from hiveboard.storage import EncodedRows, ProtobufSchema, Storage
from hiveboard.storage.retention import Retention, TimeWindow
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID

TRACE_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "TraceState",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "ScopeName",
    "ScopeVersion",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
)

SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_ANY_STORABLE_TIME = Retention(TRACES_TABLE, None).window(0)


# ---- Python: check the spans, wrap the request -------------------------------------------------


@dataclass(slots=True)
class TraceExport:
    """One request ready for `TRACES_INPUT`: its `envelope`, the number of `spans` it holds, and
    the OTLP partial-success tally: how many spans were `rejected`, and why (the first few
    `errors`); and how many attribute values of the spans kept were nested past MAX_NESTING_DEPTH
    (`cut_values`), stored with `NESTING_MARKER` in place of their deeper levels."""

    envelope: bytes
    spans: int
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    cut_values: int = 0


@dataclass(frozen=True, slots=True)
class WireTraceRequest:
    """A trace export parsed from its binary encoding, with that encoding (`wire`), from which
    `trace_export` finds the few spans it must visit, and which it wraps as it is when it changes
    nothing."""

    message: ExportTraceServiceRequest
    wire: bytes


def trace_export(
    request: ExportTraceServiceRequest | WireTraceRequest,
    tenant_id: str,
    key_type: str,
    window: TimeWindow = _ANY_STORABLE_TIME,
) -> TraceExport:
    """`request` wrapped for `TRACES_INPUT` with the tenant and key type of its sender; spans must
    start within `window` (by default, any time a table without TTL can hold).

    `request` is modified: spans that cannot be stored are removed (and counted), and array, kvlist
    and bytes attribute values are replaced by their `AsString()` rendering (`_render_structured`).
    Of a `WireTraceRequest`, only the spans holding such values are visited.
    """
    if isinstance(request, WireTraceRequest):
        message, wire = request.message, request.wire
        to_render = spans_with_structured_values(wire)
    else:
        message, wire, to_render = request, None, None
    earliest, latest = window.earliest_ns, window.latest_ns
    spans = 0
    rejected = 0
    cut_values = 0
    errors: list[str] = []
    resources = []  # per resource: its service name, then its attributes as stored
    for resource_index, resource_spans in enumerate(message.resource_spans):
        resource_attributes = resource_spans.resource.attributes
        attributes = attributes_to_dict(resource_attributes)
        attributes[HIVEBOARD_TENANT_ID] = tenant_id
        attributes[HIVEBOARD_KEY_TYPE] = key_type
        resources.append((service_name(resource_attributes), attributes))
        for scope_index, scope_spans in enumerate(resource_spans.scope_spans):
            scope_list = scope_spans.spans
            invalid = []
            for index, span in enumerate(scope_list):
                if not _storable(span, earliest, latest):
                    invalid.append(index)
                elif to_render is None or (to_render and (resource_index, scope_index, index) in to_render):
                    cut_values += _render_structured(span.attributes)
                    for event in span.events:
                        cut_values += _render_structured(event.attributes)
                    for link in span.links:
                        cut_values += _render_structured(link.attributes)
            spans += len(scope_list) - len(invalid)
            rejected += len(invalid)
            for index in invalid[: MAX_ERROR_MESSAGES - len(errors)]:
                errors.append(_rejection(scope_list[index], (resource_index, scope_index, index), window))
            for index in reversed(invalid):
                del scope_list[index]
    unchanged = wire is not None and to_render is not None and not to_render and not rejected
    parts = [_field(1, wire if unchanged else message.SerializeToString())]
    parts += [_field(2, name.encode()) for name, _ in resources]
    parts += [_field(3, _string_map(attributes)) for _, attributes in resources]
    envelope = b"".join(parts)
    return TraceExport(encode_varint(len(envelope)) + envelope, spans, rejected, errors, cut_values)


def _string_map(attributes: dict[str, str]) -> bytes:
    """A `StringMap` message (see `_proto_schema`)."""
    keys = b"".join(_field(1, key.encode()) for key in attributes)
    values = b"".join(_field(2, value.encode()) for value in attributes.values())
    return keys + values


_STRUCTURED = frozenset({"array_value", "kvlist_value", "bytes_value"})
_NESTING_MARK = go_json_string(NESTING_MARKER)


def _render_structured(attributes: Any) -> int:
    """Replace each array, kvlist and bytes value by its `AsString()` rendering, in the value's
    `bytes_value` as UTF-8, which the envelope's schema reads as a string SQL stores as it is
    (`rendered`: SQL cuts a `string_value` longer than MAX_VALUE_BYTES, while a rendering is cut
    already); returns how many values were nested past MAX_NESTING_DEPTH."""
    cut_values = 0
    for key_value in attributes:
        value = key_value.value
        if value.WhichOneof("value") in _STRUCTURED:
            rendered = any_value_as_string(value)
            value.bytes_value = rendered.encode()
            # Cut by the rendering, or before decoding by `otlp_nesting`, which leaves the same mark.
            cut_values += _NESTING_MARK in rendered
    return cut_values


def _storable(span: Any, earliest_ns: int, latest_ns: int) -> bool:
    """Whether a span's ids and times fit the table, its start time within `earliest_ns` ..
    `latest_ns` (the per-span hot path: cheap checks first)."""
    trace_id = span.trace_id
    span_id = span.span_id
    parent_span_id = span.parent_span_id
    return not (
        len(trace_id) != 16
        or len(span_id) != 8
        or trace_id == _ZERO_TRACE_ID
        or span_id == _ZERO_SPAN_ID
        or (parent_span_id and len(parent_span_id) != 8)
        or not earliest_ns <= span.start_time_unix_nano <= latest_ns
        or (span.links and not _links_valid(span.links))
        or (span.events and not _event_times_valid(span.events))
    )


def _links_valid(links: Iterable[Any]) -> bool:
    """Whether every link's ids are empty or of the right length (16 / 8 bytes)."""
    return all(len(link.trace_id) in (0, 16) and len(link.span_id) in (0, 8) for link in links)


def _event_times_valid(events: Iterable[Any]) -> bool:
    return all(event.time_unix_nano <= MAX_TIME_UNIX_NANO for event in events)


def _rejection(span: Any, position: tuple[int, int, int], window: TimeWindow) -> str:
    """Why a span is rejected, naming it by position in the request, name and ids."""
    where = "resourceSpans[{}].scopeSpans[{}].spans[{}]".format(*position)
    problems = []
    for label, value, size in (("trace id", span.trace_id, 16), ("span id", span.span_id, 8)):
        if len(value) != size:
            shown = value[:32].hex() + ("..." if len(value) > 32 else "")
            problems.append(f"{label} must be {size} bytes, got {len(value)} ({shown or 'empty'})")
        elif not value.strip(b"\0"):
            problems.append(f"{label} is all zeros")
    if span.parent_span_id and len(span.parent_span_id) != 8:
        problems.append(f"parent span id must be 8 bytes or empty, got {len(span.parent_span_id)}")
    for index, link in enumerate(span.links):
        if len(link.trace_id) not in (0, 16) or len(link.span_id) not in (0, 8):
            problems.append(
                f"links[{index}] ids must be 16 / 8 bytes, got {len(link.trace_id)} / {len(link.span_id)}"
            )
    time_problem = window.problem(span.start_time_unix_nano, "start time")
    if time_problem:
        problems.append(time_problem)
    if not _event_times_valid(span.events):
        problems.append(
            f"event times must be at most {MAX_TIME_UNIX_NANO} ns (year 2262), the DateTime64(9) range"
        )
    return f"{where} (name {span.name[:100]!r}) rejected: {'; '.join(problems)}"


def encode_varint(number: int) -> bytes:
    """`number` as a protobuf varint."""
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field: serialized messages concatenate into valid messages."""
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data


# ---- ClickHouse: the schema it parses the envelopes with ---------------------------------------


def _proto_schema() -> str:
    """The protobuf schema of an envelope: wire-compatible with OTLP's messages, reduced to the
    fields stored. `AnyValue` holds scalars, and the renderings of the others (see `trace_export`)."""
    return "\n".join(
        [
            'syntax = "proto3";',
            # Field 7, OTLP's `bytes_value`, holds `trace_export`'s rendering of an array, kvlist or
            # bytes value: arrays and kvlists are never sent on, nor a bytes value unrendered.
            "message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; "
            "int64 int_value = 3; double double_value = 4; string rendered = 7; } }",
            "message KeyValue { string key = 1; AnyValue value = 2; }",
            "message Scope { string name = 1; string version = 2; }",
            "message Event { fixed64 time_unix_nano = 1; string name = 2; "
            "repeated KeyValue attributes = 3; }",
            "message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; "
            "repeated KeyValue attributes = 4; }",
            "message Status { string message = 2; int32 code = 3; }",
            "message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; "
            "bytes parent_span_id = 4; string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; "
            "fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; repeated Event events = 11; "
            "repeated Link links = 13; Status status = 15; }",
            "message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }",
            # The resource (field 1) is not read: the envelope holds its attributes rendered.
            "message ResourceSpans { repeated ScopeSpans scope_spans = 2; }",
            "message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }",
            "message StringMap { repeated string keys = 1; repeated string values = 2; }",
            # The client's request is nested whole, so nothing it sends can set the envelope's fields.
            # `service_names` and `resource_attributes` have one entry per resource.
            "message Envelope { ExportTraceServiceRequest request = 1; repeated string service_names = 2; "
            "repeated StringMap resource_attributes = 3; }",
        ]
    )


# `value` says which field of the oneof is set (`input_format_protobuf_oneof_presence`).
_ATTRIBUTES = (
    "Array(Tuple(key String, value Tuple(value Enum8('none' = 0, 'string_value' = 1, 'bool_value' = 2, "
    "'int_value' = 3, 'double_value' = 4, 'rendered' = 7), string_value String, bool_value Bool, "
    "int_value Int64, double_value Float64, rendered String)))"
)
_SPAN = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, name String, "
    "kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, "
    f"attributes {_ATTRIBUTES}, "
    f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {_ATTRIBUTES})), "
    f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {_ATTRIBUTES})), "
    "status Tuple(message String, code Int32))"
)
_STRUCTURE = (
    "request Tuple(resource_spans Array(Tuple("
    f"scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array({_SPAN})))))), "
    "service_names Array(String), resource_attributes Array(Tuple(keys Array(String), values Array(String)))"
)
"""The columns of an envelope, as `file()` / `input()` take them."""


# ---- ClickHouse: Value.AsString() of scalars in SQL --------------------------------------------
#
# SQL twins of `otlp_values` over plain names (lambda parameters), so that no large expression is
# written twice. ClickHouse analyses the INSERT's expressions anew each time: they stay small.
# Names start with `hb_` so they never shadow a column.


def _value_as_string(kind: str, text: str, integer: str, boolean: str, number: str, rendered: str) -> str:
    """`otlp_values.any_value_as_string` of a string, int, bool or double value, or of no value; a
    value `trace_export` rendered is stored as it is."""
    return (
        f"multiIf({kind} = 'string_value', {_bounded_string(text)}, {kind} = 'rendered', {rendered}, "
        f"{kind} = 'int_value', toString({integer}), {kind} = 'bool_value', if({boolean}, 'true', 'false'), "
        f"{kind} = 'double_value', {_double_as_string(number)}, '')"
    )


def _bounded_string(text: str) -> str:
    """`otlp_values.bounded_string` of a valid UTF-8 string: past MAX_VALUE_BYTES, cut before the
    first character that does not fit whole, and marked."""
    limit = MAX_VALUE_BYTES

    def starts_a_character(position: int) -> str:
        return f"bitAnd(reinterpretAsUInt8(substring({text}, {position}, 1)), 192) != 128"

    # The character holding the first byte past the limit starts at most 3 bytes before it.
    kept = (
        f"multiIf({starts_a_character(limit + 1)}, {limit}, {starts_a_character(limit)}, {limit - 1}, "
        f"{starts_a_character(limit - 1)}, {limit - 2}, {limit - 3})"
    )
    return (
        f"if(length({text}) <= {limit}, {text}, "
        f"concat(substring({text}, 1, {kept}), {format_str(TRUNCATION_MARKER)}))"
    )


def _double_as_string(number: str) -> str:
    """`otlp_values.format_go_float`: ClickHouse's shortest form with Go's `+` in positive
    exponents, and Go's error text for NaN and infinities."""
    go_float = f"replaceRegexpOne(toString({number}), 'e([0-9])', {format_str(chr(92).join(('e+', '1')))})"
    return (
        f"multiIf(isNaN({number}), 'json: unsupported value: NaN', "
        f"{number} = inf, 'json: unsupported value: +Inf', "
        f"{number} = -inf, 'json: unsupported value: -Inf', {go_float})"
    )


def _attributes_map(attributes: str) -> str:
    """`otlp_values.attributes_to_dict` of a list: each key once, at its first position with its
    last value (the rare lists that repeat a key, which OTLP forbids, take the second branch)."""
    keys = f"{attributes}.key"
    value = _value_as_string("hb_t", "hb_s", "hb_i", "hb_b", "hb_d", "hb_r")
    values = (
        f"arrayMap((hb_t, hb_s, hb_i, hb_b, hb_d, hb_r) -> {value}, {attributes}.value.value, "
        f"{attributes}.value.string_value, {attributes}.value.int_value, {attributes}.value.bool_value, "
        f"{attributes}.value.double_value, {attributes}.value.rendered)"
    )
    first_keys = f"arrayFilter((hb_k, hb_n) -> indexOf({keys}, hb_k) = hb_n, {keys}, arrayEnumerate({keys}))"
    last_value = f"{values}[length({keys}) + 1 - indexOf(arrayReverse({keys}), hb_k)]"
    last_values = f"arrayMap(hb_k -> {last_value}, {first_keys})"
    return (
        f"if(arrayUniq({keys}) = length({keys}), mapFromArrays({keys}, {values}), "
        f"mapFromArrays({first_keys}, {last_values}))"
    )


def _columns() -> dict[str, str]:
    """The SQL of each `otel_traces` column over one span (`hb_span`) of a scope (`hb_scope`) of a
    resource (`hb_resource`) of an envelope."""
    nanoseconds = "fromUnixTimestamp64Nano(toInt64({}))"
    hex_or_empty = "if({0} = repeat(char(0), length({0})), '', lower(hex({0})))"
    kinds = f"{list(range(len(SPAN_KINDS)))}, {list(SPAN_KINDS)}"
    status_codes = f"{list(range(len(STATUS_CODES)))}, {list(STATUS_CODES)}"
    return {
        "Timestamp": nanoseconds.format("hb_span.start_time_unix_nano"),
        "TraceId": "lower(hex(hb_span.trace_id))",
        "SpanId": "lower(hex(hb_span.span_id))",
        "ParentSpanId": hex_or_empty.format("hb_span.parent_span_id"),
        "TraceState": "hb_span.trace_state",
        "SpanName": "hb_span.name",
        "SpanKind": f"transform(hb_span.kind, {kinds}, '')",
        "ServiceName": "hb_service_name",
        "ResourceAttributes": "mapFromArrays(hb_resource_attributes.keys, hb_resource_attributes.values)",
        "ScopeName": "hb_scope.scope.name",
        "ScopeVersion": "hb_scope.scope.version",
        "SpanAttributes": _attributes_map("hb_span.attributes"),
        "Duration": (
            "if(hb_span.end_time_unix_nano > hb_span.start_time_unix_nano, "
            "hb_span.end_time_unix_nano - hb_span.start_time_unix_nano, 0)"
        ),
        "StatusCode": f"transform(hb_span.status.code, {status_codes}, '')",
        "StatusMessage": "hb_span.status.message",
        "Events.Timestamp": f"arrayMap(hb_e -> {nanoseconds.format('hb_e.time_unix_nano')}, hb_span.events)",
        "Events.Name": "hb_span.events.name",
        "Events.Attributes": f"arrayMap(hb_list -> {_attributes_map('hb_list')}, hb_span.events.attributes)",
        "Links.TraceId": f"arrayMap(hb_l -> {hex_or_empty.format('hb_l.trace_id')}, hb_span.links)",
        "Links.SpanId": f"arrayMap(hb_l -> {hex_or_empty.format('hb_l.span_id')}, hb_span.links)",
        "Links.TraceState": "hb_span.links.trace_state",
        "Links.Attributes": f"arrayMap(hb_list -> {_attributes_map('hb_list')}, hb_span.links.attributes)",
    }


_SELECT = tuple(_columns()[name] for name in TRACE_COLUMNS)
_SCHEMA = ProtobufSchema(_proto_schema(), "Envelope")


_INSERT_SETTINGS = {
    # `value` says which field of an `AnyValue` oneof is set (see `_ATTRIBUTES`).
    "input_format_protobuf_oneof_presence": 1,
    # The skip indexes (`otel_traces` has seven) are built when the new parts are merged, which
    # builds them anyway, instead of by every INSERT, which senders wait on: an 8k-span insert took
    # 190 MB with them and 52 MB without, and 12% less time. Until its first merge a small part is
    # read whole (results are the same: skip indexes only let ClickHouse skip granules).
    "materialize_skip_indexes_on_insert": 0,
}


@dataclass(frozen=True)
class TracesInput:
    """How envelopes of `trace_export` reach `table` (`otel_traces`, or a table of its structure):
    one `INSERT ... SELECT` over the concatenated envelopes, which ClickHouse reads as
    length-delimited protobuf messages."""

    table: str = TRACES_TABLE

    def encode(self, envelopes: Sequence[bytes]) -> EncodedRows:
        return EncodedRows(
            body=b"".join(envelopes),
            structure=_STRUCTURE,
            select=_SELECT,
            format="Protobuf",
            joins=(
                "ARRAY JOIN request.resource_spans AS hb_resource, service_names AS hb_service_name, "
                "resource_attributes AS hb_resource_attributes "
                "ARRAY JOIN hb_resource.scope_spans AS hb_scope ARRAY JOIN hb_scope.spans AS hb_span"
            ),
            settings=_INSERT_SETTINGS,
            schema=_SCHEMA,
        )

    def insert(self, storage: Storage, envelopes: Sequence[bytes]) -> None:
        """Write the spans of `envelopes` to `table` with one INSERT."""
        storage.insert_encoded(self.table, TRACE_COLUMNS, self.encode(envelopes))


TRACES_INPUT = TracesInput()
"""`otel_traces` rows from `trace_export` envelopes."""
