"""Turn OTLP trace exports into rows of the `otel_traces` table, decoded by ClickHouse itself.

Python only checks the spans (`trace_export`) and wraps the request, as it arrived, in a small
envelope that adds the sender's tenant; ClickHouse parses the protobuf with the `Protobuf` input
format and builds every column in C++ (`TRACES_INPUT`). Walking each attribute in Python cost four
times what the whole insert costs now.

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
  `Value.AsString()`, within the bounds `otlp_values` documents (and implements in Python).

Deliberate differences from upstream, all on input upstream mishandles:

* A span whose trace id or span id is missing, all zero or of the wrong length, whose parent or
  link ids have the wrong length, or whose times are past 2262 (`MAX_TIME_UNIX_NANO`), is rejected
  and counted for OTLP partial success (upstream writes such spans with empty ids, or fails the
  whole request on a wrong length).
* `Duration` is clamped to 0 when a span ends before it starts (upstream's unsigned subtraction
  wraps around to ~1.8e19).

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

from hiveboard_collector.otlp_values import (
    MAX_ERROR_MESSAGES,
    MAX_NESTING_DEPTH,
    MAX_TIME_UNIX_NANO,
    MAX_VALUE_BYTES,
    NESTING_MARKER,
    SERVICE_NAME,
    TRUNCATION_MARKER,
    go_json_string,
)
from hiveboard_collector.schema.otel_tables import TRACES_TABLE
from hiveboard_collector.storage import EncodedRows, ProtobufSchema, Storage
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


# ---- Python: check the spans, wrap the request -------------------------------------------------


@dataclass(slots=True)
class TraceExport:
    """One request ready for `TRACES_INPUT`: its `envelope`, the number of `spans` it holds, and
    the OTLP partial-success tally: how many spans were `rejected`, and why (the first few
    `errors`)."""

    envelope: bytes
    spans: int
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def trace_export(request: ExportTraceServiceRequest, tenant_id: str, key_type: str) -> TraceExport:
    """`request` wrapped for `TRACES_INPUT` with the tenant and key type of its sender.

    Spans that cannot be stored are removed from `request` (which is modified) and counted.
    """
    spans = 0
    rejected = 0
    errors: list[str] = []
    for resource_index, resource_spans in enumerate(request.resource_spans):
        for scope_index, scope_spans in enumerate(resource_spans.scope_spans):
            scope_list = scope_spans.spans
            invalid = [index for index, span in enumerate(scope_list) if not _storable(span)]
            spans += len(scope_list) - len(invalid)
            rejected += len(invalid)
            for index in invalid[: MAX_ERROR_MESSAGES - len(errors)]:
                errors.append(_rejection(scope_list[index], (resource_index, scope_index, index)))
            for index in reversed(invalid):
                del scope_list[index]
    body = request.SerializeToString()
    envelope = _field(1, body) + _field(2, tenant_id.encode()) + _field(3, key_type.encode())
    return TraceExport(_varint(len(envelope)) + envelope, spans, rejected, errors)


def _storable(span: Any) -> bool:
    """Whether a span's ids and times fit the table (the per-span hot path: cheap checks first)."""
    trace_id = span.trace_id
    span_id = span.span_id
    parent_span_id = span.parent_span_id
    return not (
        len(trace_id) != 16
        or len(span_id) != 8
        or trace_id == _ZERO_TRACE_ID
        or span_id == _ZERO_SPAN_ID
        or (parent_span_id and len(parent_span_id) != 8)
        or span.start_time_unix_nano > MAX_TIME_UNIX_NANO
        or (span.links and not _links_valid(span.links))
        or (span.events and not _event_times_valid(span.events))
    )


def _links_valid(links: Iterable[Any]) -> bool:
    """Whether every link's ids are empty or of the right length (16 / 8 bytes)."""
    return all(len(link.trace_id) in (0, 16) and len(link.span_id) in (0, 8) for link in links)


def _event_times_valid(events: Iterable[Any]) -> bool:
    return all(event.time_unix_nano <= MAX_TIME_UNIX_NANO for event in events)


def _rejection(span: Any, position: tuple[int, int, int]) -> str:
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
    if span.start_time_unix_nano > MAX_TIME_UNIX_NANO or not _event_times_valid(span.events):
        problems.append(f"times must be at most {MAX_TIME_UNIX_NANO} ns (year 2262), the DateTime64(9) range")
    return f"{where} (name {span.name[:100]!r}) rejected: {'; '.join(problems)}"


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field: serialized messages concatenate into valid messages."""
    return _varint(number << 3 | 2) + _varint(len(data)) + data


# ---- ClickHouse: the schema it parses the envelopes with ---------------------------------------


def _proto_schema(depth: int) -> str:
    """The protobuf schema of an envelope: wire-compatible with OTLP's messages, reduced to the
    fields stored, with `AnyValue` spelled out `depth` levels deep (SQL cannot recurse). The level
    past `depth` reads arrays and kvlists as opaque bytes: they become `NESTING_MARKER`."""
    lines = ['syntax = "proto3";']
    for level in range(1, depth + 2):
        nested = level <= depth
        array = f"ArrayValue{level}" if nested else "bytes"
        kvlist = f"KeyValueList{level}" if nested else "bytes"
        lines.append(
            f"message AnyValue{level} {{ oneof value {{ string string_value = 1; bool bool_value = 2; "
            f"int64 int_value = 3; double double_value = 4; {array} array_value = 5; "
            f"{kvlist} kvlist_value = 6; bytes bytes_value = 7; }} }}"
        )
        lines.append(f"message KeyValue{level} {{ string key = 1; AnyValue{level} value = 2; }}")
        if nested:
            lines.append(f"message ArrayValue{level} {{ repeated AnyValue{level + 1} values = 1; }}")
            lines.append(f"message KeyValueList{level} {{ repeated KeyValue{level + 1} values = 1; }}")
    lines += [
        "message Resource { repeated KeyValue1 attributes = 1; }",
        "message Scope { string name = 1; string version = 2; }",
        "message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue1 attributes = 3; }",
        "message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; "
        "repeated KeyValue1 attributes = 4; }",
        "message Status { string message = 2; int32 code = 3; }",
        "message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; "
        "bytes parent_span_id = 4; string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; "
        "fixed64 end_time_unix_nano = 8; repeated KeyValue1 attributes = 9; repeated Event events = 11; "
        "repeated Link links = 13; Status status = 15; }",
        "message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }",
        "message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }",
        "message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }",
        # The client's request is nested whole, so nothing it sends can set the envelope's fields.
        "message Envelope { ExportTraceServiceRequest request = 1; string tenant_id = 2; string key_type = 3; }",
    ]
    return "\n".join(lines)


_ONEOF = (
    "value Enum8('none' = 0, 'string_value' = 1, 'bool_value' = 2, 'int_value' = 3, 'double_value' = 4, "
    "'array_value' = 5, 'kvlist_value' = 6, 'bytes_value' = 7), string_value String, bool_value Bool, "
    "int_value Int64, double_value Float64, bytes_value String"
)


def _value_type(level: int, depth: int) -> str:
    """The ClickHouse type `AnyValue{level}` is read into (`value` says which field is set)."""
    if level > depth:
        return f"Tuple({_ONEOF}, array_value String, kvlist_value String)"
    inner = _value_type(level + 1, depth)
    return (
        f"Tuple({_ONEOF}, array_value Tuple(values Array({inner})), "
        f"kvlist_value Tuple(values Array(Tuple(key String, value {inner}))))"
    )


def _structure(depth: int) -> str:
    """The columns of an envelope, as `file()` / `input()` take them."""
    attributes = f"Array(Tuple(key String, value {_value_type(1, depth)}))"
    span = (
        "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, name String, "
        "kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, "
        f"attributes {attributes}, "
        f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {attributes})), "
        f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {attributes})), "
        "status Tuple(message String, code Int32))"
    )
    resource_spans = (
        f"Array(Tuple(resource Tuple(attributes {attributes}), "
        f"scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array({span})))))"
    )
    return f"request Tuple(resource_spans {resource_spans}), tenant_id String, key_type String"


# ---- ClickHouse: Value.AsString() in SQL ------------------------------------------------------
#
# Each function returns the SQL twin of a function of `otlp_values`, over SQL arguments that are
# plain names (lambda parameters): an argument used twice is never a large expression written
# twice. `_let` binds a large expression to a name instead. Every attribute list of a span goes
# through one instance of `_attributes_map` (see `_columns`): the expression is large, and
# ClickHouse analyses it anew on every INSERT. Names start with `hb_` so they never shadow a column.


def _q(text: str) -> str:
    return format_str(text)


def _let(name: str, value: str, body: str) -> str:
    """SQL: `body` with `name` bound to the value of `value`, computed once."""
    return f"arrayMap({name} -> {body}, [{value}])[1]"


def _json_string(text: str) -> str:
    """`otlp_values.go_json_string`. ClickHouse writes control characters as `\\u00XX` in upper
    case where Go writes lower case: strings holding any are escaped byte by byte."""
    escapes = ", ".join(
        f"hb_c = {_q(character)}, {_q(escaped)}"
        for character, escaped in (
            ('"', '\\"'),
            ("\\", "\\\\"),
            ("\n", "\\n"),
            ("\r", "\\r"),
            ("\t", "\\t"),
            ("\b", "\\b"),
            ("\f", "\\f"),
        )
    )
    by_byte = (
        f"arrayStringConcat(arrayMap(hb_c -> multiIf({escapes}, hb_c < ' ', concat({_q(chr(92) + 'u00')}, "
        f"lower(hex(hb_c))), hb_c), splitByRegexp('', {text})))"
    )
    for separator in (0x2028, 0x2029):
        by_byte = f"replaceAll({by_byte}, {_q(chr(separator))}, {_q(chr(92) + f'u{separator:04x}')})"
    control = _q(r"[\x00-\x1f]")
    return f"if(match({text}, {control}), concat('\"', {by_byte}, '\"'), toJSONString({text}))"


def _go_float(number: str) -> str:
    """`otlp_values.format_go_float` of a finite double: ClickHouse's shortest form, with Go's `+`
    in positive exponents."""
    return f"replaceRegexpOne(toString({number}), 'e([0-9])', {_q(chr(92).join(('e+', '1')))})"


def _truncate(text: str) -> str:
    """`otlp_values._truncate`: cut at MAX_VALUE_BYTES on a character boundary, marked."""
    limit = MAX_VALUE_BYTES
    continuation = f"bitAnd(reinterpretAsUInt8(substring({text}, {{}}, 1)), 192) = 128"
    length = (
        f"multiIf(NOT {continuation.format(limit + 1)}, {limit}, NOT {continuation.format(limit)}, {limit - 1}, "
        f"NOT {continuation.format(limit - 1)}, {limit - 2}, {limit - 3})"
    )
    return f"if(length({text}) <= {limit}, {text}, concat(substring({text}, 1, {length}), {_q(TRUNCATION_MARKER)}))"


def _last_keys_sorted(pairs: str) -> str:
    """Indexes into `pairs` (key, value) of each key's last occurrence, ordered by key."""
    return (
        f"arraySort(hb_k -> {pairs}.key[hb_k], arrayFilter(hb_f -> NOT has(arraySlice({pairs}.key, hb_f + 1), "
        f"{pairs}.key[hb_f]), arrayEnumerate({pairs})))"
    )


def _json(value: str, level: int, depth: int) -> str:
    """`otlp_values._render` of an AnyValue at `level` (1: an attribute's value). A NaN or infinity
    writes a NUL byte, which the JSON never contains otherwise, so that `_as_string` can render
    the whole value as "" like Go's failed marshal."""
    v = value
    if level > depth:
        array = kvlist = _q(go_json_string(NESTING_MARKER))
        children = ""
    else:
        # The items of an array or the values of a kvlist (one is empty), rendered by one expression.
        child, rendered = f"hb_child{level}", f"hb_rendered{level}"
        items = f"arrayConcat({v}.array_value.values, {v}.kvlist_value.values.value)"
        children = f"arrayMap({child} -> {_json(child, level + 1, depth)}, {items})"
        array = f"concat('[', arrayStringConcat({rendered}, ','), ']')"
        pairs = f"{v}.kvlist_value.values"
        index = f"hb_i{level}"
        kvlist = (
            f"concat('{{', arrayStringConcat(arrayMap({index} -> concat({_json_string(f'{pairs}.key[{index}]')}, "
            f"':', {rendered}[{index}]), {_last_keys_sorted(pairs)}), ','), '}}')"
        )
    scalars = (
        f"multiIf({v}.value = 'string_value', {_json_string(f'{v}.string_value')}, "
        f"{v}.value = 'int_value', toString({v}.int_value), "
        f"{v}.value = 'double_value', if(isFinite({v}.double_value), {_go_float(f'{v}.double_value')}, char(0)), "
        f"{v}.value = 'bool_value', if({v}.bool_value, 'true', 'false'), "
        f"{v}.value = 'bytes_value', if({v}.bytes_value = '', 'null', concat('\"', base64Encode({v}.bytes_value), '\"')), "
        f"{v}.value = 'array_value', {array}, "
        f"{v}.value = 'kvlist_value', {kvlist}, "
        "'null')"
    )
    return _let(f"hb_rendered{level}", children, scalars) if children else scalars


def _as_string(value: str, depth: int) -> str:
    """`otlp_values.any_value_as_string` of an attribute's AnyValue."""
    v = value
    bytes_limit = MAX_VALUE_BYTES // 4 * 3  # base64 of this many bytes fills the limit
    nul = "position(hb_json, char(0))"
    # Rendered whole, then cut; "" when a NaN / infinity came before the cut (Go stops there).
    structured = _let(
        "hb_json",
        _json(v, 1, depth),
        f"if({nul} > 0 AND lengthUTF8(substring(hb_json, 1, {nul} - 1)) <= {MAX_VALUE_BYTES}, '', "
        f"{_truncate('hb_json')})",
    )
    return (
        f"multiIf({v}.value = 'string_value', {_truncate(f'{v}.string_value')}, "
        f"{v}.value = 'int_value', toString({v}.int_value), "
        f"{v}.value = 'double_value', {_double_as_string(f'{v}.double_value')}, "
        f"{v}.value = 'bool_value', if({v}.bool_value, 'true', 'false'), "
        f"{v}.value = 'bytes_value', if(length({v}.bytes_value) <= {bytes_limit}, base64Encode({v}.bytes_value), "
        f"concat(base64Encode(substring({v}.bytes_value, 1, {bytes_limit})), {_q(TRUNCATION_MARKER)})), "
        f"{v}.value IN ('array_value', 'kvlist_value'), {structured}, "
        "'')"
    )


def _attributes_map(attributes: str, depth: int) -> str:
    """`otlp_values.attributes_to_dict`: a Map of each key's last value, rendered.

    Most lists hold only strings, numbers and booleans, short enough and under distinct keys: those
    take a path that reads the values' columns directly (`_scalars_map`), several times cheaper. The
    full rendering runs only for the rows that need it (ClickHouse evaluates `if` branches lazily).
    """
    a = attributes
    deduplicated = (
        f"mapFromArrays(arrayMap(hb_ki -> {a}.key[hb_ki], {_last_keys_sorted(a)}), "
        f"arrayMap(hb_vi -> hb_values[hb_vi], {_last_keys_sorted(a)}))"
    )
    rendered = _let(
        "hb_values",
        f"arrayMap(hb_kv -> {_as_string('hb_kv.value', depth)}, {a})",
        f"if(length(arrayDistinct({a}.key)) = length({a}), mapFromArrays({a}.key, hb_values), {deduplicated})",
    )
    return f"if({_scalars_only(a)}, {_scalars_map(a)}, {rendered})"


def _scalars_only(attributes: str) -> str:
    """Whether `_scalars_map` renders a list: its keys are distinct and each value is empty, a
    number, a boolean, a string of at most MAX_VALUE_BYTES, or an array of strings that JSON-encodes
    the same in ClickHouse and Go (no control characters, no U+2028 / U+2029) within the limit."""
    a = attributes
    items = f"{a}.value.array_value.values"
    return (
        f"arrayUniq({a}.key) = length({a}) AND arrayAll((hb_t, hb_s, hb_it, hb_is) -> "
        f"multiIf(hb_t = 'string_value', length(hb_s) <= {MAX_VALUE_BYTES}, "
        "hb_t = 'array_value', arrayAll(hb_x -> hb_x = 'string_value', hb_it) "
        f"AND arraySum(arrayMap(hb_x -> 2 * length(hb_x) + 3, hb_is)) + 2 <= {MAX_VALUE_BYTES} "
        f"AND NOT arrayExists(hb_x -> match(hb_x, {_q(_NOT_PLAIN_JSON)}), hb_is), "
        "hb_t NOT IN ('kvlist_value', 'bytes_value')), "
        f"{a}.value.value, {a}.value.string_value, {items}.value, {items}.string_value)"
    )


# Characters ClickHouse's toJSONString escapes differently from Go (upper-case `\u001F`; U+2028/9 kept).
_NOT_PLAIN_JSON = "[\\x00-\\x1f\\x{2028}\\x{2029}]"


def _scalars_map(attributes: str) -> str:
    """`_attributes_map` of a list that `_scalars_only` accepts."""
    a = attributes
    return (
        f"mapFromArrays({a}.key, arrayMap((hb_t, hb_s, hb_i, hb_b, hb_d, hb_is) -> multiIf("
        "hb_t = 'string_value', hb_s, hb_t = 'int_value', toString(hb_i), "
        "hb_t = 'bool_value', if(hb_b, 'true', 'false'), "
        f"hb_t = 'double_value', {_double_as_string('hb_d')}, hb_t = 'array_value', toJSONString(hb_is), ''), "
        f"{a}.value.value, {a}.value.string_value, {a}.value.int_value, {a}.value.bool_value, {a}.value.double_value, "
        f"{a}.value.array_value.values.string_value))"
    )


def _double_as_string(number: str) -> str:
    """`otlp_values.format_go_float`, NaN and infinities included."""
    return (
        f"multiIf(isNaN({number}), 'json: unsupported value: NaN', {number} = inf, 'json: unsupported value: +Inf', "
        f"{number} = -inf, 'json: unsupported value: -Inf', {_go_float(number)})"
    )


def _columns(depth: int) -> dict[str, str]:
    """The SQL of each `otel_traces` column over one span (`hb_span`) of a scope (`hb_scope`) of a
    resource (`hb_resource`) of an envelope."""
    resource = "hb_resource.resource.attributes"
    service = f"arraySlice(arrayFilter(hb_kv -> hb_kv.key = {_q(SERVICE_NAME)}, {resource}), 1, 1)"
    tenant = f"map({_q(HIVEBOARD_TENANT_ID)}, tenant_id, {_q(HIVEBOARD_KEY_TYPE)}, key_type)"
    nanoseconds = "fromUnixTimestamp64Nano(toInt64({}))"
    hex_or_empty = "if({0} = repeat(char(0), length({0})), '', lower(hex({0})))"
    return {
        "Timestamp": nanoseconds.format("hb_span.start_time_unix_nano"),
        "TraceId": "lower(hex(hb_span.trace_id))",
        "SpanId": "lower(hex(hb_span.span_id))",
        "ParentSpanId": hex_or_empty.format("hb_span.parent_span_id"),
        "TraceState": "hb_span.trace_state",
        "SpanName": "hb_span.name",
        "SpanKind": f"transform(hb_span.kind, {list(range(len(SPAN_KINDS)))}, {list(SPAN_KINDS)}, '')",
        "ServiceName": f"{_attributes_map(service, depth)}[{_q(SERVICE_NAME)}]",
        "ResourceAttributes": f"mapUpdate({_attributes_map(resource, depth)}, {tenant})",
        "ScopeName": "hb_scope.scope.name",
        "ScopeVersion": "hb_scope.scope.version",
        "SpanAttributes": _attributes_map("hb_span.attributes", depth),
        "Duration": (
            "if(hb_span.end_time_unix_nano > hb_span.start_time_unix_nano, "
            "hb_span.end_time_unix_nano - hb_span.start_time_unix_nano, 0)"
        ),
        "StatusCode": f"transform(hb_span.status.code, {list(range(len(STATUS_CODES)))}, {list(STATUS_CODES)}, '')",
        "StatusMessage": "hb_span.status.message",
        "Events.Timestamp": f"arrayMap(hb_e -> {nanoseconds.format('hb_e.time_unix_nano')}, hb_span.events)",
        "Events.Name": "hb_span.events.name",
        "Events.Attributes": f"arrayMap(hb_list -> {_attributes_map('hb_list', depth)}, hb_span.events.attributes)",
        "Links.TraceId": f"arrayMap(hb_l -> {hex_or_empty.format('hb_l.trace_id')}, hb_span.links)",
        "Links.SpanId": f"arrayMap(hb_l -> {hex_or_empty.format('hb_l.span_id')}, hb_span.links)",
        "Links.TraceState": "hb_span.links.trace_state",
        "Links.Attributes": f"arrayMap(hb_list -> {_attributes_map('hb_list', depth)}, hb_span.links.attributes)",
    }


@dataclass(frozen=True)
class TracesInput:
    """How envelopes of `trace_export` reach `otel_traces`: one `INSERT ... SELECT` over the
    concatenated envelopes, which ClickHouse reads as length-delimited protobuf messages."""

    table: str = TRACES_TABLE
    depth: int = MAX_NESTING_DEPTH

    def encode(self, envelopes: Sequence[bytes]) -> EncodedRows:
        columns = _columns(self.depth)
        return EncodedRows(
            body=b"".join(envelopes),
            structure=_structure(self.depth),
            select=tuple(columns[name] for name in TRACE_COLUMNS),
            format="Protobuf",
            joins=(
                "ARRAY JOIN request.resource_spans AS hb_resource ARRAY JOIN hb_resource.scope_spans AS hb_scope "
                "ARRAY JOIN hb_scope.spans AS hb_span"
            ),
            settings={
                "input_format_protobuf_oneof_presence": 1,
                "output_format_json_escape_forward_slashes": 0,
            },
            schema=ProtobufSchema(_proto_schema(self.depth), "Envelope"),
        )

    def insert(self, storage: Storage, envelopes: Sequence[bytes]) -> None:
        """Write the spans of `envelopes` to `table` with one INSERT."""
        storage.insert_encoded(self.table, TRACE_COLUMNS, self.encode(envelopes))


TRACES_INPUT = TracesInput()
"""`otel_traces` rows from `trace_export` envelopes."""
