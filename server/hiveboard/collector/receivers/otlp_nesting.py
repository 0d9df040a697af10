"""Cut attribute values nested past `MAX_NESTING_DEPTH` out of an OTLP request that protobuf cannot
decode because of them, so that one deep attribute does not cost the whole request.

protobuf refuses a message nested more than 100 levels deep (`upb_DecodeOptions_MaxDepth`, and
`json_format`'s `max_recursion_depth`), and a kvlist attribute takes three levels per level of
nesting. When decoding fails for that reason, the request is walked here, on the wire (binary
protobuf) or as the parsed JSON document, and every array or kvlist value deeper than
`MAX_NESTING_DEPTH` is replaced by the string `NESTING_MARKER`: exactly what `otlp_values` renders in
its place when the value does decode, so a value is stored the same whichever side of protobuf's
limit it was. Only the paths of the request that lead to values are followed (found from the
messages' descriptors), and a sub-message too short to hold a value nested that deep is copied
without being read: the rest of the request is never re-encoded.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from google.protobuf.descriptor import Descriptor
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from hiveboard.collector.ingest.otlp_values import MAX_NESTING_DEPTH, NESTING_MARKER
from hiveboard.collector.ingest.trace_rows import encode_varint

_ANY_VALUE = AnyValue.DESCRIPTOR
_STRUCTURED_FIELDS = (
    _ANY_VALUE.fields_by_name["array_value"].number,
    _ANY_VALUE.fields_by_name["kvlist_value"].number,
)
_STRUCTURED_JSON_KEYS = ("arrayValue", "array_value", "kvlistValue", "kvlist_value")
_MARKER = AnyValue(string_value=NESTING_MARKER).SerializeToString()
# Each level of nesting takes at least 4 bytes on the wire (an array value: two tags, two lengths).
_MIN_BYTES_PER_LEVEL = 4
_LENGTH_DELIMITED = 2


class MalformedMessageError(ValueError):
    """The bytes are not a protobuf message (the decoder's own error then stands)."""


def cut_deep_values(data: bytes, descriptor: Descriptor) -> tuple[bytes, int]:
    """`data`, a serialized `descriptor` message, with each array / kvlist value nested deeper than
    MAX_NESTING_DEPTH replaced by the string NESTING_MARKER, and how many were.

    Raises `MalformedMessageError` when `data` is not a well-formed message.
    """
    cuts = [0]
    rewritten = _rewrite(memoryview(data), descriptor, 0, cuts)
    return (data if rewritten is None else rewritten), cuts[0]


def cut_deep_json_values(document: Any, descriptor: Descriptor) -> int:
    """The same on an OTLP JSON document (field names in lowerCamelCase or snake_case), in place;
    returns how many values were cut."""
    cuts = [0]
    _cut_json(document, descriptor, 0, cuts)
    return cuts[0]


@functools.cache
def _value_fields(descriptor: Descriptor) -> dict[int, Descriptor]:
    """The message fields of `descriptor` through which an `AnyValue` can be reached, by number."""
    return {
        field.number: field.message_type
        for field in descriptor.fields
        if field.message_type is not None and _reaches_any_value(field.message_type, frozenset())
    }


def _reaches_any_value(descriptor: Descriptor, visiting: frozenset[str]) -> bool:
    if descriptor is _ANY_VALUE:
        return True
    if descriptor.full_name in visiting:
        return False
    inner = visiting | {descriptor.full_name}
    return any(
        field.message_type is not None and _reaches_any_value(field.message_type, inner)
        for field in descriptor.fields
    )


@functools.cache
def _json_value_fields(descriptor: Descriptor) -> dict[str, Descriptor]:
    """`_value_fields` by JSON name and by field name."""
    fields = {}
    for field in descriptor.fields:
        if field.number in _value_fields(descriptor):
            fields[field.json_name] = fields[field.name] = field.message_type
    return fields


def _rewrite(data: memoryview, descriptor: Descriptor, depth: int, cuts: list[int]) -> bytes | None:
    """`data` (a `descriptor` message inside `depth` values) with deep values cut; None if unchanged."""
    is_value = descriptor is _ANY_VALUE
    if is_value and depth > MAX_NESTING_DEPTH and _is_structured(data):
        cuts[0] += 1
        return _MARKER
    children = _value_fields(descriptor)
    parts: list[bytes | memoryview] = []
    changed = False
    position = 0
    for _start, tag_end, number, wire_type, payload_start, end in _fields(data):
        child = children.get(number)
        if child is None or wire_type != _LENGTH_DELIMITED:
            continue
        child_depth = depth + 1 if child is _ANY_VALUE else depth
        if end - payload_start < _MIN_BYTES_PER_LEVEL * (MAX_NESTING_DEPTH - child_depth):
            continue  # too short to hold a value nested past the limit
        rewritten = _rewrite(data[payload_start:end], child, child_depth, cuts)
        if rewritten is not None:
            parts += [data[position:tag_end], encode_varint(len(rewritten)), rewritten]
            position = end
            changed = True
    if not changed:
        return None
    parts.append(data[position:])
    return b"".join(parts)


def _is_structured(data: memoryview) -> bool:
    return any(field[2] in _STRUCTURED_FIELDS for field in _fields(data))


def _fields(data: memoryview) -> Iterator[tuple[int, int, int, int, int, int]]:
    """Each field of a message: (its start, where its tag ends, its number, wire type, where its
    payload starts, where it ends)."""
    position = 0
    size = len(data)
    while position < size:
        start = position
        tag, position = _read_varint(data, position)
        tag_end = position
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            _, position = _read_varint(data, position)
            payload_start = position
        elif wire_type == 1:
            payload_start, position = position, position + 8
        elif wire_type == 5:
            payload_start, position = position, position + 4
        elif wire_type == _LENGTH_DELIMITED:
            length, payload_start = _read_varint(data, position)
            position = payload_start + length
        else:
            raise MalformedMessageError(f"wire type {wire_type} of field {number} is not used by OTLP")
        if position > size or number == 0:
            raise MalformedMessageError("truncated or invalid field")
        yield start, tag_end, number, wire_type, payload_start, position


def _read_varint(data: memoryview, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise MalformedMessageError("truncated or invalid varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _cut_json(node: Any, descriptor: Descriptor, depth: int, cuts: list[int]) -> None:
    """Cut the deep values inside `node`, the JSON form of a `descriptor` message."""
    if not isinstance(node, dict):
        return  # the wrong shape: json_format reports it with its path
    structured = any(key in node for key in _STRUCTURED_JSON_KEYS)
    if descriptor is _ANY_VALUE and depth > MAX_NESTING_DEPTH and structured:
        node.clear()
        node["stringValue"] = NESTING_MARKER
        cuts[0] += 1
        return
    for key, child in _json_value_fields(descriptor).items():
        value = node.get(key)
        child_depth = depth + 1 if child is _ANY_VALUE else depth
        for item in value if isinstance(value, list) else [value]:
            _cut_json(item, child, child_depth, cuts)
