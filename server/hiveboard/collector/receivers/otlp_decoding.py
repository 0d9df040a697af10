"""Decode an OTLP/HTTP request body into its protobuf message.

`decode_body` undoes the `Content-Encoding` (gzip, deflate or identity; inflation is bounded so a
compression bomb fails fast), then parses the body by `Content-Type`:

* `application/x-protobuf`: the binary protobuf encoding.
* `application/json`: the OTLP JSON encoding
  (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding), which is proto3's JSON
  mapping except that trace and span ids are hex strings instead of base64. A small pre-pass
  rewrites the id fields from hex to base64 and `google.protobuf.json_format` does the rest: it
  accepts lowerCamelCase and snake_case field names, enum values as integers or names, and 64-bit
  integers as strings or numbers. Unknown fields are ignored, as OTLP requires of receivers.

A request too deep for protobuf only because of attribute values nested past `MAX_NESTING_DEPTH` is
decoded with those values cut at that depth (`otlp_nesting`), in both encodings.

Every failure raises `OTLPDecodeError` carrying its refusal code: `INVALID` for malformed input,
`TOO_LARGE` for a body (or its inflated form) larger than `max_bytes`, `UNSUPPORTED_MEDIA_TYPE` for
an unsupported `Content-Type` or `Content-Encoding`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hiveboard.collector.ingest.trace_rows import WireTraceRequest
from hiveboard.collector.receivers.otlp_nesting import (
    MalformedMessageError,
    cut_deep_json_values,
    cut_deep_values,
)
from hiveboard.collector.refusals import RefusalCode, RefusedError

PROTOBUF_CONTENT_TYPE = "application/x-protobuf"
JSON_CONTENT_TYPE = "application/json"
ACCEPTED_CONTENT_TYPES = (PROTOBUF_CONTENT_TYPE, JSON_CONTENT_TYPE)
ACCEPTED_CONTENT_ENCODINGS = ("gzip", "deflate", "identity")

M = TypeVar("M", bound=Message)


class OTLPDecodeError(RefusedError, ValueError):
    """A request body that cannot be decoded, with the refusal the receiver should answer."""


def decode_body(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    message_type: type[M],
    max_bytes: int,
    parse_binary: Callable[[bytes, type[M]], M | WireTraceRequest] | None = None,
) -> M | WireTraceRequest:
    """Parse an OTLP/HTTP request body into a `message_type` (e.g. `ExportTraceServiceRequest`);
    binary protobuf with `parse_binary` (`parse_protobuf` unless given: the receiver gives
    `parse_export`).

    `max_bytes` bounds both the body as received and the body after decompression.
    """
    media_type = _media_type(content_type)
    if len(body) > max_bytes:
        raise OTLPDecodeError(
            f"request body is {len(body)} bytes, over the limit of {max_bytes} bytes: "
            "send smaller batches (e.g. lower the exporter's max batch size)",
            RefusalCode.TOO_LARGE,
        )
    data = decompress(body, content_encoding, max_bytes)
    if media_type == PROTOBUF_CONTENT_TYPE:
        return (parse_binary or parse_protobuf)(data, message_type)
    return parse_json(data, message_type)


def _media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header without parameters, or a 415 error."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_CONTENT_TYPES:
        shown = repr(content_type) if content_type else "missing"
        raise OTLPDecodeError(
            f"unsupported Content-Type {shown}: OTLP/HTTP accepts "
            f"{PROTOBUF_CONTENT_TYPE!r} (binary protobuf) or {JSON_CONTENT_TYPE!r} (OTLP JSON)",
            RefusalCode.UNSUPPORTED_MEDIA_TYPE,
        )
    return media_type


# ---------------------------------------------------------------------------------------------
# Content-Encoding


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo `Content-Encoding`, never producing more than `max_bytes` bytes (413 beyond that)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, 16 + zlib.MAX_WBITS, "gzip", max_bytes, multi_member=True)
    if encoding == "deflate":
        # RFC 9110 "deflate" is zlib-wrapped; some clients send a raw deflate stream instead.
        wbits = zlib.MAX_WBITS if _looks_like_zlib(body) else -zlib.MAX_WBITS
        return _inflate(body, wbits, "deflate", max_bytes, multi_member=False)
    raise OTLPDecodeError(
        f"unsupported Content-Encoding {content_encoding!r}: use one of "
        f"{', '.join(ACCEPTED_CONTENT_ENCODINGS)}",
        RefusalCode.UNSUPPORTED_MEDIA_TYPE,
    )


def _looks_like_zlib(data: bytes) -> bool:
    """Whether `data` starts with a zlib header (RFC 1950: method 8, header checksum ok)."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _inflate(data: bytes, wbits: int, name: str, max_bytes: int, multi_member: bool) -> bytes:
    """Decompress `data`, stopping with a 413 as soon as the output would exceed `max_bytes`.

    gzip bodies may hold several concatenated members (as Go's and Python's readers accept).
    """
    out = bytearray()
    remaining_input = data
    while True:
        inflater = zlib.decompressobj(wbits)
        try:
            # max_length caps the memory used: at most one byte more than the limit is produced.
            chunk = inflater.decompress(remaining_input, max_bytes - len(out) + 1)
        except zlib.error as error:
            raise OTLPDecodeError(
                f"request body is not valid {name} data ({error}): compress the body with {name} "
                f"or drop the Content-Encoding header",
                RefusalCode.INVALID,
            ) from None
        out += chunk
        if len(out) > max_bytes:
            raise OTLPDecodeError(
                f"{name}-decompressed request body exceeds the limit of {max_bytes} bytes: "
                "send smaller batches",
                RefusalCode.TOO_LARGE,
            )
        if not inflater.eof:
            raise OTLPDecodeError(
                f"{name} request body is truncated (the compressed stream does not end): "
                "send the complete body",
                RefusalCode.INVALID,
            )
        remaining_input = inflater.unused_data
        if not remaining_input or not multi_member:
            if remaining_input:
                raise OTLPDecodeError(
                    f"request body has {len(remaining_input)} bytes of trailing data after the {name} stream",
                    RefusalCode.INVALID,
                )
            return bytes(out)


# ---------------------------------------------------------------------------------------------
# Protobuf


def parse_export(data: bytes, message_type: type[M]) -> M | WireTraceRequest:
    """`parse_protobuf`, except that a trace export is kept with its encoding, from which the
    collector finds the spans it must visit (`trace_rows.trace_export`)."""
    if message_type is ExportTraceServiceRequest:
        try:
            return WireTraceRequest(ExportTraceServiceRequest.FromString(data), data)
        except DecodeError:
            pass  # `parse_protobuf` says why, or cuts the values nested too deep
    return parse_protobuf(data, message_type)


def parse_protobuf(data: bytes, message_type: type[M]) -> M:
    """Parse the binary protobuf encoding; corrupt input (incl. invalid UTF-8 strings) is a 400.

    A message too deep for protobuf because of attribute values nested past `MAX_NESTING_DEPTH` is
    decoded with those values cut at that depth (`otlp_nesting`), as they would be rendered anyway."""
    try:
        return message_type.FromString(data)
    except DecodeError as error:
        detail = str(error).rsplit(": ", 1)[-1]
        if "MaxDepth" in detail:
            cut = _with_deep_values_cut(data, message_type)
            if cut is not None:
                return cut
        if "UTF-8" in detail:
            hint = "a string field holds bytes that are not valid UTF-8 (proto3 strings must be UTF-8)"
        elif "MaxDepth" in detail:
            hint = "messages are nested more than 100 levels deep (e.g. arrays of arrays in attributes)"
        else:
            hint = (
                f"the body is truncated or is not a protobuf-encoded {message_type.DESCRIPTOR.name}; "
                "check the Content-Type and that the whole body was sent"
            )
        raise OTLPDecodeError(
            f"invalid protobuf {message_type.DESCRIPTOR.name}: {detail}: {hint}", RefusalCode.INVALID
        ) from None
    except RecursionError:
        raise _too_deep() from None


def _with_deep_values_cut(data: bytes, message_type: type[M]) -> M | None:
    """`data` decoded with its deep values cut, or None when they were not what made it too deep."""
    try:
        cut, cuts = cut_deep_values(data, message_type.DESCRIPTOR)
        return message_type.FromString(cut) if cuts else None
    except (MalformedMessageError, DecodeError, RecursionError):
        return None


def _too_deep() -> OTLPDecodeError:
    return OTLPDecodeError("request body is nested too deeply to decode", RefusalCode.INVALID)


# ---------------------------------------------------------------------------------------------
# OTLP JSON

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8

# Where OTLP JSON carries hex ids, per message type: a path of repeated fields down to the objects
# holding ids, then {field: id length}. Names are lowerCamelCase; their snake_case forms are accepted.
_SPAN_IDS = {"traceId": TRACE_ID_BYTES, "spanId": SPAN_ID_BYTES, "parentSpanId": SPAN_ID_BYTES}
_LINK_IDS = {"traceId": TRACE_ID_BYTES, "spanId": SPAN_ID_BYTES}
_ID_PATHS: dict[str, list[tuple[tuple[str, ...], dict[str, int]]]] = {
    "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest": [
        (("resourceSpans", "scopeSpans", "spans"), _SPAN_IDS),
        (("resourceSpans", "scopeSpans", "spans", "links"), _LINK_IDS),
    ],
    "opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest": [
        (("resourceLogs", "scopeLogs", "logRecords"), _LINK_IDS),
    ],
}


@functools.cache
def _snake_case(name: str) -> str:
    return re.sub(r"([A-Z])", lambda match: "_" + match.group(1).lower(), name)


def parse_json(data: bytes, message_type: type[M]) -> M:
    """Parse the OTLP JSON encoding (hex ids) into a `message_type`."""
    try:
        document = json.loads(data)
    except UnicodeDecodeError as error:
        raise OTLPDecodeError(
            f"JSON request body is not valid UTF-8 ({error.reason} at byte {error.start})",
            RefusalCode.INVALID,
        ) from None
    except json.JSONDecodeError as error:
        raise OTLPDecodeError(
            f"request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
            RefusalCode.INVALID,
        ) from None
    except RecursionError:
        raise _too_deep() from None
    if not isinstance(document, dict):
        raise OTLPDecodeError(
            f"OTLP JSON body must be a JSON object (an {message_type.DESCRIPTOR.name}), "
            f"not {type(document).__name__}",
            RefusalCode.INVALID,
        )
    for path, id_fields in _ID_PATHS.get(message_type.DESCRIPTOR.full_name, ()):
        _rewrite_hex_ids(document, path, id_fields)
    # Too deep for json_format: parsed again with the values nested past the limit cut, as for protobuf.
    for first_try in (True, False):
        try:
            return _parse_dict(document, message_type)
        except json_format.ParseError as error:
            too_deep = _JSON_TOO_DEEP in str(error)
            if not (first_try and too_deep and cut_deep_json_values(document, message_type.DESCRIPTOR)):
                raise OTLPDecodeError(
                    f"invalid OTLP JSON {message_type.DESCRIPTOR.name}: {_json_error_detail(error)}",
                    RefusalCode.INVALID,
                ) from None
        except RecursionError:
            raise _too_deep() from None
    raise AssertionError("unreachable: the second try returns or raises")


_JSON_TOO_DEEP = "Message too deep"


def _parse_dict(document: dict[str, Any], message_type: type[M]) -> M:
    message = message_type()
    json_format.ParseDict(document, message, ignore_unknown_fields=True)
    return message


def _rewrite_hex_ids(document: dict[str, Any], path: tuple[str, ...], id_fields: dict[str, int]) -> None:
    """Replace the hex ids of the objects at `path` by base64, which `json_format` expects for bytes.

    Structures of the wrong shape are left alone: `json_format` reports them with their path.
    """
    level: list[tuple[str, Any]] = [("", document)]
    for name in path:
        next_level: list[tuple[str, Any]] = []
        for where, node in level:
            if not isinstance(node, dict):
                continue
            key = name if name in node else _snake_case(name)
            items = node.get(key)
            if isinstance(items, list):
                prefix = f"{where}.{key}" if where else key
                next_level.extend((f"{prefix}[{index}]", item) for index, item in enumerate(items))
        level = next_level
    for where, node in level:
        if not isinstance(node, dict):
            continue
        for field, size in id_fields.items():
            for key in (field, _snake_case(field)):
                if key in node:
                    node[key] = _hex_to_base64(node[key], f"{where}.{key}", size)


def _hex_to_base64(value: Any, where: str, size: int) -> str:
    """An OTLP JSON hex id as the base64 string proto3 JSON uses for bytes (empty stays empty)."""
    kind = "trace id" if size == TRACE_ID_BYTES else "span id"
    if not isinstance(value, str):
        raise OTLPDecodeError(
            f"{where} must be a hex string ({size * 2} hex digits), not {type(value).__name__}",
            RefusalCode.INVALID,
        )
    if value == "":
        return ""
    try:
        raw = binascii.unhexlify(value)
    except (binascii.Error, ValueError):
        raise OTLPDecodeError(
            f"{where} is not a hex-encoded {kind}: {value[:64]!r} (OTLP JSON ids are {size * 2} "
            "hex digits, not base64)",
            RefusalCode.INVALID,
        ) from None
    if len(raw) != size:
        raise OTLPDecodeError(
            f"{where} must be a {size}-byte {kind} ({size * 2} hex digits), got {len(raw)} bytes: "
            f"{value[:64]!r}",
            RefusalCode.INVALID,
        )
    return base64.b64encode(raw).decode("ascii")


_FAILED_FIELD = re.compile(r"Failed to parse (\S+) field: ")


def _json_error_detail(error: json_format.ParseError) -> str:
    """`json_format`'s nested 'Failed to parse X field: Failed to parse Y field: ...' as 'X.Y: ...'."""
    text = str(error)
    fields = _FAILED_FIELD.findall(text)
    detail = _FAILED_FIELD.sub("", text).rstrip(".")
    if len(fields) > 8:  # e.g. 100 levels of nested arrays: keep the path readable
        fields = [*fields[:5], "...", *fields[-2:]]
    return f"{'.'.join(fields)}: {detail}" if fields else detail
