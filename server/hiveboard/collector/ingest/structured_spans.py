"""Find, in C, the spans of a trace export whose attributes hold arrays, kvlists or bytes.

Spans' attribute values are strings, numbers and booleans almost everywhere; SQL stores those as
they are (`trace_rows.TRACES_INPUT`), and only arrays, kvlists and bytes values must be rendered in
Python. Visiting every attribute to find them cost more than all the rest the collector does in
Python per span.

`spans_with_structured_values` parses the export again with a message type that reads only the way
to the spans', events' and links' attribute values, where it reads an array, kvlist or bytes value
as a message with a required field no client sends. protobuf's `FindInitializationErrors` then names
every such value by its path, from which the spans holding them are known. Resources are not read:
their attributes are rendered once per resource anyway.

>>> spans_with_structured_values(body)  # doctest: +SKIP
{(0, 0, 11), (0, 0, 30)}
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

SpanPosition = tuple[int, int, int]
"""A span's indexes: `resource_spans[r].scope_spans[s].spans[i]`."""

_STRUCTURED_FIELDS = ("array_value", "kvlist_value", "bytes_value")
_FILE = "hiveboard/collector/structured_values.proto"
_PACKAGE = "hiveboard.collector.structured_values"
_MARKER = "StructuredValueMarker"
_HIGHEST_FIELD_NUMBER = 536_870_911
_SPAN_PATH = re.compile(r"resource_spans\[(\d+)\]\.scope_spans\[(\d+)\]\.spans\[(\d+)\]\.")


def spans_with_structured_values(wire: bytes) -> set[SpanPosition] | None:
    """The positions of the spans of `wire`, an encoded `ExportTraceServiceRequest`, that hold an
    array, kvlist or bytes value in their own, their events' or their links' attributes; None if
    `wire` does not parse."""
    try:
        message = _MARKED_EXPORT.FromString(wire)
    except DecodeError:
        return None
    positions = set()
    for path in message.FindInitializationErrors():
        match = _SPAN_PATH.match(path)
        if match is None:  # only spans hold markers: a path elsewhere would be a bug, not a span
            return None
        resource, scope, span = match.groups()
        positions.add((int(resource), int(scope), int(span)))
    return positions


def _marked_export_type() -> type[Any]:
    """A message type that reads an `ExportTraceServiceRequest`'s encoding down to the values of its
    spans', events' and links' attributes, and reads nothing else (every other field is skipped as
    unknown): an array, kvlist or bytes value there is a `StructuredValueMarker`, with a required
    field no client sends."""
    file = descriptor_pb2.FileDescriptorProto(name=_FILE, package=_PACKAGE, syntax="proto2")
    file.message_type.add(name=_MARKER).field.add(
        name="never_sent",
        number=_HIGHEST_FIELD_NUMBER,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REQUIRED,
    )
    span = trace_pb2.Span.DESCRIPTOR
    skeleton = {  # message: (the OTLP message it reads, {field: message type})
        "AnyValue": (
            common_pb2.AnyValue.DESCRIPTOR,
            dict.fromkeys(_STRUCTURED_FIELDS, "StructuredValueMarker"),
        ),
        "KeyValue": (common_pb2.KeyValue.DESCRIPTOR, {"value": "AnyValue"}),
        "Event": (span.nested_types_by_name["Event"], {"attributes": "KeyValue"}),
        "Link": (span.nested_types_by_name["Link"], {"attributes": "KeyValue"}),
        "Span": (span, {"attributes": "KeyValue", "events": "Event", "links": "Link"}),
        "ScopeSpans": (trace_pb2.ScopeSpans.DESCRIPTOR, {"spans": "Span"}),
        "ResourceSpans": (trace_pb2.ResourceSpans.DESCRIPTOR, {"scope_spans": "ScopeSpans"}),
        "ExportTraceServiceRequest": (
            trace_service_pb2.ExportTraceServiceRequest.DESCRIPTOR,
            {"resource_spans": "ResourceSpans"},
        ),
    }
    for name, (otlp, fields) in skeleton.items():
        message = file.message_type.add(name=name)
        for field_name, type_name in fields.items():
            otlp_field = otlp.fields_by_name[field_name]
            message.field.add(
                name=field_name,
                number=otlp_field.number,
                type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                type_name=f".{_PACKAGE}.{type_name}",
                label=(
                    descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
                    if otlp_field.is_repeated
                    else descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
                ),
            )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{_PACKAGE}.ExportTraceServiceRequest")
    )


_MARKED_EXPORT = _marked_export_type()
