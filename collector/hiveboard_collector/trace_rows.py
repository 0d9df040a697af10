"""Turn an `ExportTraceServiceRequest` into rows of the `otel_traces` table.

The values follow the OpenTelemetry Collector Contrib `clickhouseexporter` exactly (its
`pushTraceData`), so that rows written by the upstream collector and by ours are identical:

* `Timestamp` is the span start, `Events.Timestamp` the event times, as int nanoseconds since the
  epoch (the storage layer converts them to `DateTime64(9)`).
* `TraceId`, `SpanId`, `ParentSpanId` and the link ids are lowercase hex; an all-zero or absent id
  is the empty string (`traceutil.TraceIDToHexOrEmptyString`).
* `SpanKind` is `ptrace.SpanKind.String()` (`Unspecified`, `Internal`, `Server`, `Client`,
  `Producer`, `Consumer`), `StatusCode` is `ptrace.StatusCode.String()` (`Unset`, `Ok`, `Error`);
  values outside the enum are the empty string.
* `ServiceName` is the resource's `service.name` as `Value.AsString()` (the first one if repeated,
  like `pcommon.Map.Get`), the empty string when absent.
* `Duration` is end - start in nanoseconds.
* Attribute maps are `dict[str, str]` with each value rendered like pdata's `Value.AsString()`
  (see `any_value_as_string`).

Deliberate differences from upstream, all on input upstream mishandles:

* A span whose trace id or span id is missing, all zero or of the wrong length, or whose parent or
  link ids have the wrong length, is rejected and counted for OTLP partial success (upstream writes
  such spans with empty ids, or fails the whole request on a wrong length).
* `Duration` is clamped to 0 when a span ends before it starts (upstream's unsigned subtraction
  wraps around to ~1.8e19).
* Attribute values are bounded so that no request can exhaust the stack or memory: a rendered value
  is cut at `MAX_VALUE_BYTES` (64 KiB of UTF-8) and ends with `TRUNCATION_MARKER`; an array or
  kvlist nested deeper than `MAX_NESTING_DEPTH` (32) levels is rendered as the JSON string
  `NESTING_MARKER` in its place.
* A key repeated within one attribute list keeps its last value (a Python dict), where upstream
  would pass both entries to ClickHouse.

Every resource's attributes get `hiveboard.tenant.id` and `hiveboard.key.type` set from the API key
the request was authenticated with, overwriting whatever the client sent: a client never chooses its
tenant. Rows of one resource share one `ResourceAttributes` dict; consumers must not mutate it.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

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

MAX_VALUE_BYTES = 64 * 1024
"""Longest rendered attribute value, in UTF-8 bytes, before `TRUNCATION_MARKER` is appended."""
MAX_NESTING_DEPTH = 32
"""Deepest array / kvlist rendered; deeper ones become the JSON string `NESTING_MARKER`."""
TRUNCATION_MARKER = "...[truncated]"
NESTING_MARKER = "...[nesting limit]"
# The last instant a DateTime64(9) holds (Int64 nanoseconds); later span or event times are rejected.
MAX_TIME_UNIX_NANO = 2**63 - 1
MAX_ERROR_MESSAGES = 10
"""At most this many rejection messages are kept per request (`rejected` counts all of them)."""

SPAN_KINDS = {0: "Unspecified", 1: "Internal", 2: "Server", 3: "Client", 4: "Producer", 5: "Consumer"}
STATUS_CODES = {0: "Unset", 1: "Ok", 2: "Error"}
SERVICE_NAME = "service.name"

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
# A string of at most this many characters is at most MAX_VALUE_BYTES bytes of UTF-8.
_SAFE_CHARS = MAX_VALUE_BYTES // 4


@dataclass(slots=True)
class TraceRows:
    """Rows for `otel_traces` (or, from `log_rows`, `otel_logs`) in `columns` order, plus the OTLP
    partial-success tally: how many items were `rejected`, and why (the first few `errors`)."""

    columns: tuple[str, ...] = TRACE_COLUMNS
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def trace_rows(request: ExportTraceServiceRequest, tenant_id: str, key_type: str) -> TraceRows:
    """The `otel_traces` rows of `request`, its resources stamped with the tenant and key type."""
    result = TraceRows()
    rows = result.rows
    append = rows.append
    attributes_dict = attributes_to_dict
    kinds = SPAN_KINDS
    status_codes = STATUS_CODES
    zero_trace_id = _ZERO_TRACE_ID
    zero_span_id = _ZERO_SPAN_ID
    for resource_index, resource_spans in enumerate(request.resource_spans):
        resource_attributes = attributes_dict(resource_spans.resource.attributes)
        service = service_name(resource_spans.resource.attributes)
        resource_attributes[HIVEBOARD_TENANT_ID] = tenant_id
        resource_attributes[HIVEBOARD_KEY_TYPE] = key_type
        for scope_index, scope_spans in enumerate(resource_spans.scope_spans):
            scope = scope_spans.scope
            scope_name = scope.name
            scope_version = scope.version
            for span_index, span in enumerate(scope_spans.spans):
                trace_id = span.trace_id
                span_id = span.span_id
                parent_span_id = span.parent_span_id
                links = span.links
                if (
                    len(trace_id) != 16
                    or len(span_id) != 8
                    or trace_id == zero_trace_id
                    or span_id == zero_span_id
                    or (parent_span_id and len(parent_span_id) != 8)
                    or (links and not _links_valid(links))
                    or span.start_time_unix_nano > MAX_TIME_UNIX_NANO
                    or (span.events and not _event_times_valid(span.events))
                ):
                    result.rejected += 1
                    if len(result.errors) < MAX_ERROR_MESSAGES:
                        position = (resource_index, scope_index, span_index)
                        result.errors.append(_rejection(span, position))
                    continue
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                events = span.events
                if events:
                    event_times = [event.time_unix_nano for event in events]
                    event_names = [event.name for event in events]
                    event_attributes = [attributes_dict(event.attributes) for event in events]
                else:
                    event_times, event_names, event_attributes = [], [], []
                if links:
                    link_trace_ids = [hex_or_empty(link.trace_id) for link in links]
                    link_span_ids = [hex_or_empty(link.span_id) for link in links]
                    link_states = [link.trace_state for link in links]
                    link_attributes = [attributes_dict(link.attributes) for link in links]
                else:
                    link_trace_ids, link_span_ids, link_states, link_attributes = [], [], [], []
                status = span.status
                append(
                    (
                        start,
                        trace_id.hex(),
                        span_id.hex(),
                        "" if parent_span_id == zero_span_id else parent_span_id.hex(),
                        span.trace_state,
                        span.name,
                        kinds.get(span.kind, ""),
                        service,
                        resource_attributes,
                        scope_name,
                        scope_version,
                        attributes_dict(span.attributes),
                        end - start if end > start else 0,
                        status_codes.get(status.code, ""),
                        status.message,
                        event_times,
                        event_names,
                        event_attributes,
                        link_trace_ids,
                        link_span_ids,
                        link_states,
                        link_attributes,
                    )
                )
    return result


def service_name(attributes: Iterable[KeyValue]) -> str:
    """`service.name` as `AsString()`: the first occurrence, like `pcommon.Map.Get`; "" if absent."""
    for key_value in attributes:
        if key_value.key == SERVICE_NAME:
            return any_value_as_string(key_value.value)
    return ""


def hex_or_empty(identifier: bytes) -> str:
    """Lowercase hex of an id, "" for an empty or all-zero one (`TraceIDToHexOrEmptyString`)."""
    return identifier.hex() if identifier.strip(b"\0") else ""


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


# ---------------------------------------------------------------------------------------------
# pcommon.Value.AsString()


def attributes_to_dict(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """Attributes as `{key: Value.AsString()}`; the per-span hot loop, kept flat on purpose."""
    result: dict[str, str] = {}
    for key_value in attributes:
        value = key_value.value
        text = value.string_value
        if text:  # a non-empty string_value means the oneof holds a string
            result[key_value.key] = text if len(text) <= _SAFE_CHARS else _truncate(text)
            continue
        kind = value.WhichOneof("value")
        if kind == "int_value":
            result[key_value.key] = str(value.int_value)
        elif kind == "double_value":
            result[key_value.key] = format_go_float(value.double_value)
        elif kind == "bool_value":
            result[key_value.key] = "true" if value.bool_value else "false"
        elif kind is None or kind == "string_value":
            result[key_value.key] = ""
        else:
            result[key_value.key] = _structured_as_string(value, kind)
    return result


def any_value_as_string(value: AnyValue) -> str:
    """One `AnyValue` rendered like pdata's `Value.AsString()`, within the documented bounds.

    string as is; int in decimal; double by `format_go_float`; bool `true` / `false`; bytes as
    standard base64; array and kvlist as JSON (`render_json`); an empty value as "".
    """
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        return text if len(text) <= _SAFE_CHARS else _truncate(text)
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return format_go_float(value.double_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind is None:
        return ""
    return _structured_as_string(value, kind)


def format_go_float(number: float) -> str:
    """A double as pdata's `float64AsString` (the formatting of Go's `encoding/json`).

    Shortest round-trip digits, positional (`strconv.FormatFloat(f, 'f', -1, 64)`) for magnitudes
    in [1e-6, 1e21) and for zero, exponent form otherwise with a one-digit negative exponent
    unpadded (`1e-7`, `1e+21`). NaN and infinities, which JSON cannot hold, render as Go's error text
    `json: unsupported value: NaN` / `+Inf` / `-Inf`, as pdata does.
    """
    if number != number:
        return "json: unsupported value: NaN"
    if number == math.inf:
        return "json: unsupported value: +Inf"
    if number == -math.inf:
        return "json: unsupported value: -Inf"
    text = repr(number)  # Python's repr is also the shortest round-trip representation
    magnitude = abs(number)
    if magnitude == 0:
        return "-0" if text[0] == "-" else "0"
    if 1e-6 <= magnitude < 1e21:
        if "e" not in text:
            return text[:-2] if text.endswith(".0") else text
        return _positional(text)
    # repr uses the exponent form here with a signed, at least two-digit exponent, like Go's 'e'.
    if len(text) >= 4 and text[-4:-1] == "e-0":
        return text[:-2] + text[-1]
    return text


def _positional(text: str) -> str:
    """A repr in exponent form (`-1.25e-05`) written out positionally (`-0.0000125`)."""
    mantissa, exponent = text.split("e")
    sign = "-" if mantissa[0] == "-" else ""
    mantissa = mantissa.lstrip("-")
    integer, _, fraction = mantissa.partition(".")
    digits = integer + fraction
    point = len(integer) + int(exponent)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _truncate(text: str) -> str:
    """`text` cut to at most MAX_VALUE_BYTES of UTF-8 plus the marker (whole characters only)."""
    cut = _cut_utf8(text)
    return text if cut is text else cut + TRUNCATION_MARKER


def _cut_utf8(text: str) -> str:
    """`text` itself if it fits in MAX_VALUE_BYTES of UTF-8, else its longest prefix that does."""
    if len(text) <= _SAFE_CHARS:
        return text
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_VALUE_BYTES:
        return text
    return encoded[:MAX_VALUE_BYTES].decode("utf-8", "ignore")


class _Unsupported(Exception):
    """A NaN or infinity inside an array / kvlist: Go's json.Marshal fails and AsString is ""."""


class _BudgetSpent(Exception):
    """The rendering reached MAX_VALUE_BYTES; what was rendered so far is kept, then truncated."""


def _structured_as_string(value: AnyValue, kind: str) -> str:
    """AsString of a bytes, array or kvlist value."""
    if kind == "bytes_value":
        data = value.bytes_value
        # 4 base64 characters per 3 bytes: encode only what can be shown.
        limit = MAX_VALUE_BYTES // 4 * 3
        if len(data) <= limit:
            return base64.b64encode(data).decode("ascii")
        return base64.b64encode(data[:limit]).decode("ascii") + TRUNCATION_MARKER
    return render_json(value)


def render_json(value: AnyValue) -> str:
    """An array / kvlist value as Go's `encoding/json` marshals its `AsRaw()` form.

    Objects have their keys sorted (a repeated key keeps its last value). Strings are escaped like
    Go >= 1.22: `\\"`, `\\\\`, `\\n`, `\\r`, `\\t`, `\\b`, `\\f`, other control characters as
    `\\u00XX`, U+2028 / U+2029 as `\\u2028` / `\\u2029`; `<`, `>` and `&` are kept as they are
    (pdata stopped HTML-escaping in open-telemetry/opentelemetry-collector#15108; older collectors
    write `\\u003c`, `\\u003e`, `\\u0026`). Doubles as `format_go_float`, bytes as base64 strings,
    empty bytes and empty values as `null`. A NaN or infinity anywhere makes the whole rendering ""
    (AsString ignores Go's marshal error).
    """
    parts: list[str] = []
    budget = [MAX_VALUE_BYTES]
    try:
        _render(value, parts, budget, 1)
    except _Unsupported:
        return ""
    except _BudgetSpent:
        return _cut_utf8("".join(parts)) + TRUNCATION_MARKER
    return _truncate("".join(parts))


def _emit(parts: list[str], budget: list[int], text: str) -> None:
    """Append `text`, stopping the rendering once MAX_VALUE_BYTES characters are out."""
    parts.append(text)
    budget[0] -= len(text)
    if budget[0] < 0:
        raise _BudgetSpent


def _render(value: AnyValue, parts: list[str], budget: list[int], depth: int) -> None:
    """Append the Go JSON of one value to `parts`."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        _emit(parts, budget, go_json_string(text[: budget[0] + 1]))
    elif kind == "int_value":
        _emit(parts, budget, str(value.int_value))
    elif kind == "double_value":
        number = value.double_value
        if number != number or number in (math.inf, -math.inf):
            raise _Unsupported
        _emit(parts, budget, format_go_float(number))
    elif kind == "bool_value":
        _emit(parts, budget, "true" if value.bool_value else "false")
    elif kind == "bytes_value":
        data = value.bytes_value[: (budget[0] // 4 + 1) * 3]
        _emit(parts, budget, f'"{base64.b64encode(data).decode("ascii")}"' if data else "null")
    elif kind is None:
        _emit(parts, budget, "null")
    elif depth > MAX_NESTING_DEPTH:
        _emit(parts, budget, go_json_string(NESTING_MARKER))
    elif kind == "array_value":
        _emit(parts, budget, "[")
        for index, item in enumerate(value.array_value.values):
            if index:
                _emit(parts, budget, ",")
            _render(item, parts, budget, depth + 1)
        _emit(parts, budget, "]")
    else:  # kvlist_value
        latest = {key_value.key: key_value.value for key_value in value.kvlist_value.values}
        _emit(parts, budget, "{")
        for index, key in enumerate(sorted(latest)):
            _emit(parts, budget, f"{',' if index else ''}{go_json_string(key[: budget[0] + 1])}:")
            _render(latest[key], parts, budget, depth + 1)
        _emit(parts, budget, "}")


def go_json_string(text: str) -> str:
    """`text` as a JSON string the way Go's encoding/json writes it with HTML escaping off."""
    encoded = json.dumps(text, ensure_ascii=False)
    if "\u2028" in encoded or "\u2029" in encoded:
        encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return encoded
