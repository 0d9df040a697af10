"""OTLP values as the OpenTelemetry Collector Contrib `clickhouseexporter` stores them, in Python.

pdata's `Value.AsString()` (`any_value_as_string`, `attributes_to_dict`), ids as lowercase hex
(`hex_or_empty`) and a resource's `service.name` (`service_name`): what `log_rows` builds
`otel_logs` rows with, and what renders the arrays, kvlists and bytes of spans, whose strings,
numbers and booleans `trace_rows` renders in SQL by the same rules (the tests hold both to the same
expectations).

Attribute values are bounded so that no request can exhaust the stack or memory: a rendered value
is cut at `MAX_VALUE_BYTES` (64 KiB of UTF-8) and ends with `TRUNCATION_MARKER`; an array or kvlist
nested deeper than `MAX_NESTING_DEPTH` levels is rendered as the JSON string `NESTING_MARKER` in its
place. A key repeated within one attribute list keeps its last value, where upstream would pass both
entries to ClickHouse.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

MAX_VALUE_BYTES = 64 * 1024
"""Longest rendered attribute value, in UTF-8 bytes, before `TRUNCATION_MARKER` is appended."""
MAX_NESTING_DEPTH = 30
"""Deepest array / kvlist rendered; deeper ones become the JSON string `NESTING_MARKER`. A request
whose values are cut at this depth (`otlp_nesting`) decodes within protobuf's limit of 100 nested
messages: a kvlist takes 3 levels per level of nesting, under the 7 of an event attribute's path."""
TRUNCATION_MARKER = "...[truncated]"
NESTING_MARKER = "...[nesting limit]"
# The last instant a DateTime64(9) holds (Int64 nanoseconds); later times are rejected.
MAX_TIME_UNIX_NANO = 2**63 - 1
MAX_ERROR_MESSAGES = 10
"""At most this many rejection messages are kept per request (`rejected` counts all of them)."""
SERVICE_NAME = "service.name"

SAFE_CHARS = MAX_VALUE_BYTES // 4
"""A string of at most this many characters is at most MAX_VALUE_BYTES bytes of UTF-8."""


def service_name(attributes: Iterable[KeyValue]) -> str:
    """`service.name` as `AsString()`: the first occurrence, like `pcommon.Map.Get`; "" if absent."""
    for key_value in attributes:
        if key_value.key == SERVICE_NAME:
            return any_value_as_string(key_value.value)
    return ""


def hex_or_empty(identifier: bytes) -> str:
    """Lowercase hex of an id, "" for an empty or all-zero one (`TraceIDToHexOrEmptyString`)."""
    return identifier.hex() if identifier.strip(b"\0") else ""


# ---------------------------------------------------------------------------------------------
# pcommon.Value.AsString()


def attributes_to_dict(attributes: Iterable[KeyValue]) -> dict[str, str]:
    """Attributes as `{key: Value.AsString()}`; the per-span hot loop, kept flat on purpose."""
    result: dict[str, str] = {}
    for key_value in attributes:
        value = key_value.value
        text = value.string_value
        if text:  # a non-empty string_value means the oneof holds a string
            result[key_value.key] = text if len(text) <= SAFE_CHARS else bounded_string(text)
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
        return text if len(text) <= SAFE_CHARS else bounded_string(text)
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


def bounded_string(text: str) -> str:
    """`text` cut to at most MAX_VALUE_BYTES of UTF-8 plus the marker (whole characters only)."""
    cut = _cut_utf8(text)
    return text if cut is text else cut + TRUNCATION_MARKER


def _cut_utf8(text: str) -> str:
    """`text` itself if it fits in MAX_VALUE_BYTES of UTF-8, else its longest prefix that does."""
    if len(text) <= SAFE_CHARS:
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
    return bounded_string("".join(parts))


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
