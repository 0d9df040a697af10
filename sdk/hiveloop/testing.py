"""Capture what HiveLoop emits in a test, without a server.

```python
from hiveloop.testing import capture

def test_lead_is_scored():
    with capture() as spans:
        hb = spans.init(api_key="hb_test_local")
        agent = hb.agent("lead-qualifier", heartbeat_interval=0)
        with agent.task("task-1"):
            pass
    assert [span["name"] for span in spans.as_dicts()] == ["agent_registered", "task_started",
                                                            "invoke_agent lead-qualifier"]
```

`spans.init(...)` is `hiveloop.init(...)` sending spans to memory instead of OTLP, synchronously,
with trace and span ids counting up from 1 and a clock that starts at 1 s and advances 1 s per
reading, so whole spans can be compared in assertions. Code under test that calls `hiveloop.init()`
itself afterwards gets that same client (`init` is a singleton).

With pytest, the `hiveloop_capture` fixture (installed with HiveLoop) is `capture()` around a test:

```python
def test_lead_is_scored(hiveloop_capture):
    hb = hiveloop_capture.init(api_key="hb_test_local")
    ...
```
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

from hiveloop._internal.client import HiveBoard, init, reset

SECOND_NS = 1_000_000_000


class IncrementalIdGenerator(IdGenerator):
    """Trace and span ids 1, 2, 3... in the order they are asked for."""

    def __init__(self) -> None:
        self._trace_ids = itertools.count(1)
        self._span_ids = itertools.count(1)

    def generate_trace_id(self) -> int:
        return next(self._trace_ids)

    def generate_span_id(self) -> int:
        return next(self._span_ids)


class TickingClock:
    """A clock in nanoseconds that starts at 1 s and advances 1 s each time it is read."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1)

    def __call__(self) -> int:
        return next(self._ticks) * SECOND_NS


def span_as_dict(span: ReadableSpan, stacktraces: bool = False) -> dict[str, Any]:
    """A span as plain data: name, kind, ids, parent, times, status, attributes and events."""
    data: dict[str, Any] = {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": span.context.trace_id,
        "span_id": span.context.span_id,
        "parent_span_id": span.parent.span_id if span.parent is not None else None,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.status_code.name,
        "attributes": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in (span.attributes or {}).items()
        },
    }
    if span.status.description:
        data["status_description"] = span.status.description
    if span.events:
        data["events"] = [
            {
                "name": event.name,
                "timestamp": event.timestamp,
                "attributes": {
                    key: value if stacktraces or key != "exception.stacktrace" else "<stacktrace>"
                    for key, value in (event.attributes or {}).items()
                },
            }
            for event in span.events
        ]
    return data


class CapturedSpans:
    """The spans HiveLoop finished inside `capture()`, in the order they ended."""

    def __init__(self, exporter: InMemorySpanExporter, deterministic: bool = True) -> None:
        self._exporter = exporter
        self._deterministic = deterministic

    def init(self, api_key: str = "hb_test_capture", **options: Any) -> HiveBoard:
        """`hiveloop.init(api_key, **options)`, its spans captured here."""
        return init(
            api_key,
            span_processor=SimpleSpanProcessor(self._exporter),
            id_generator=IncrementalIdGenerator() if self._deterministic else None,
            clock=TickingClock() if self._deterministic else None,
            **options,
        )

    @property
    def spans(self) -> list[ReadableSpan]:
        """The finished spans as OpenTelemetry `ReadableSpan` objects."""
        return list(self._exporter.get_finished_spans())

    def as_dicts(self, stacktraces: bool = False) -> list[dict[str, Any]]:
        """The finished spans as plain dicts (stack traces replaced by `"<stacktrace>"` unless asked)."""
        return [span_as_dict(span, stacktraces) for span in self.spans]

    def resource_attributes(self) -> dict[str, Any]:
        """The resource attributes the spans were sent with."""
        spans = self.spans
        return dict(spans[0].resource.attributes) if spans else {}

    def clear(self) -> None:
        """Forget the spans captured so far."""
        self._exporter.clear()


@contextmanager
def capture(deterministic: bool = True) -> Iterator[CapturedSpans]:
    """Spans in memory for the duration of the block: initialise HiveLoop with the yielded
    `CapturedSpans.init()`.

    Resets HiveLoop on entry and on exit (the `agent_shutdown` events of that last reset are not
    captured). With `deterministic=False` the real clock and random ids are kept.
    """
    exporter = InMemorySpanExporter()
    reset()
    try:
        yield CapturedSpans(exporter, deterministic)
    finally:
        # The spans are those of the block: not the `agent_shutdown` events of the reset below.
        exporter.shutdown()
        reset()
