"""`spans_with_structured_values`: which spans of an encoded export the collector must visit."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from hiveboard.collector.ingest.structured_spans import spans_with_structured_values
from hiveboard.collector.ingest.trace_rows import encode_varint

STRUCTURED = {
    "array": AnyValue(array_value={"values": [AnyValue(int_value=1)]}),
    "empty-array": AnyValue(array_value={}),
    "kvlist": AnyValue(kvlist_value={"values": [{"key": "k", "value": {"string_value": "v"}}]}),
    "empty-kvlist": AnyValue(kvlist_value={}),
    "bytes": AnyValue(bytes_value=b"\x08\x01"),  # the encoding of a message with a field 1
    "empty-bytes": AnyValue(bytes_value=b""),
}
SCALARS = [AnyValue(string_value="s"), AnyValue(int_value=-1), AnyValue(double_value=0.5), AnyValue()]


def request_with(holders: dict[tuple[int, int, int], tuple[str, AnyValue]]) -> ExportTraceServiceRequest:
    """Two resources (with an array attribute) of two scopes of three spans, each with scalar
    attributes, events and links; `holders` adds a value to a span's, its second event's or its
    third link's attributes."""
    request = ExportTraceServiceRequest()
    for resource in range(2):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.add(key="r").value.CopyFrom(STRUCTURED["array"])
        for scope in range(2):
            scope_spans = resource_spans.scope_spans.add()
            for index in range(3):
                span = scope_spans.spans.add()
                for number, scalar in enumerate(SCALARS):
                    span.attributes.add(key=f"a{number}").value.CopyFrom(scalar)
                    span.events.add(name="e").attributes.add(key=f"e{number}").value.CopyFrom(scalar)
                    span.links.add().attributes.add(key=f"l{number}").value.CopyFrom(scalar)
                holder = holders.get((resource, scope, index))
                if holder is not None:
                    where, value = holder
                    lists = {
                        "span": span.attributes,
                        "event": span.events[1].attributes,
                        "link": span.links[2].attributes,
                    }
                    lists[where].add(key="x").value.CopyFrom(value)
    return request


def test_each_kind_of_structured_value_is_found_in_spans_events_and_links() -> None:
    for name, value in STRUCTURED.items():
        holders = {(0, 1, 2): ("span", value), (1, 0, 0): ("event", value), (1, 1, 1): ("link", value)}
        found = spans_with_structured_values(request_with(holders).SerializeToString())
        assert found == set(holders), name


def test_scalars_alone_and_resource_attributes_make_no_span_to_visit() -> None:
    assert spans_with_structured_values(request_with({}).SerializeToString()) == set()
    assert spans_with_structured_values(b"") == set()


def test_a_value_nested_past_protobufs_depth_limit_is_found() -> None:
    # Encoded by hand: protobuf refuses to encode a message nested that deep.
    value = AnyValue(int_value=1).SerializeToString()
    for _ in range(200):
        value = field(5, field(1, value))  # AnyValue.array_value(ArrayValue.values[0])
    span = field(9, field(1, b"deep") + field(2, value))  # Span.attributes[0]
    wire = field(1, field(2, field(2, span)))  # resource_spans[0].scope_spans[0].spans[0]

    assert spans_with_structured_values(wire) == {(0, 0, 0)}


def test_bytes_that_are_no_export_give_none() -> None:
    assert spans_with_structured_values(b"\xff\xff\xff") is None


def field(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data
