"""A small, real OTLP/HTTP trace receiver for tests, on 127.0.0.1.

```python
with OTLPReceiver() as receiver:
    hb = hiveloop.init(api_key="hb_test_x", endpoint=receiver.url)
    ...
    hiveloop.flush()
    spans = receiver.wait_for_spans(3, timeout=5)
```

It decodes `application/x-protobuf` `ExportTraceServiceRequest` bodies (gzip or deflate encoded
too) and records every request (headers, decoded spans) thread-safely. Its behaviour is a `mode`,
which may be changed while it runs:

- `"ok"`: 200 with an empty `ExportTraceServiceResponse`; the spans count as received;
- `"error500"`: 500 (not retryable under OTLP);
- `"error429"`: 429 with `Retry-After: <retry_after>` (retryable);
- `"slow"`: wait `delay` seconds (or until `release()` / `stop()`), then answer as `"ok"`.

`span_to_dict` turns a protobuf span into plain data (hex ids, kind and status names, attribute
values decoded from `AnyValue` with their types), in the same shape as `readable_span_to_dict` gives
for an OpenTelemetry SDK `ReadableSpan`, so the two can be compared whole; `typed` makes such a
comparison type-exact (`1 == 1.0` in Python, not in OTLP).
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

MODES = ("ok", "error500", "error429", "slow")
TRACES_PATH = "/v1/traces"


# ---- protobuf → plain data -----------------------------------------------------------------------


def any_value(value: AnyValue) -> Any:
    """The Python value of an OTLP `AnyValue`: str, bool, int, float, bytes, list or dict."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    return getattr(value, which)


def attributes_dict(attributes: Any) -> dict[str, Any]:
    """Repeated `KeyValue`s as a dict."""
    pairs: list[KeyValue] = list(attributes)
    return {pair.key: any_value(pair.value) for pair in pairs}


def _hex_or_none(raw: bytes) -> str | None:
    return raw.hex() if raw else None


def span_to_dict(span: Span, resource: dict[str, Any] | None = None, scope: tuple[str, str] | None = None):
    """A protobuf span as plain data: ids in hex, kind and status by name, decoded attributes."""
    data: dict[str, Any] = {
        "name": span.name,
        "kind": Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": _hex_or_none(span.parent_span_id),
        "start_time": span.start_time_unix_nano,
        "end_time": span.end_time_unix_nano,
        "status": Status.StatusCode.Name(span.status.code).removeprefix("STATUS_CODE_"),
        "status_description": span.status.message or None,
        "attributes": attributes_dict(span.attributes),
        "events": [
            {
                "name": event.name,
                "timestamp": event.time_unix_nano,
                "attributes": attributes_dict(event.attributes),
            }
            for event in span.events
        ],
    }
    if resource is not None:
        data["resource"] = resource
    if scope is not None:
        data["scope"] = scope
    return data


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def readable_span_to_dict(span: Any, with_resource: bool = True) -> dict[str, Any]:
    """An SDK `ReadableSpan` in the shape of `span_to_dict` (for comparing with what arrived)."""
    data: dict[str, Any] = {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.status_code.name,
        "status_description": span.status.description or None,
        "attributes": {key: _plain(value) for key, value in (span.attributes or {}).items()},
        "events": [
            {
                "name": event.name,
                "timestamp": event.timestamp,
                "attributes": {key: _plain(value) for key, value in (event.attributes or {}).items()},
            }
            for event in span.events
        ],
    }
    if with_resource:
        data["resource"] = {key: _plain(value) for key, value in span.resource.attributes.items()}
        scope = span.instrumentation_scope
        data["scope"] = (scope.name, scope.version or "")
    return data


def typed(value: Any) -> Any:
    """`value` with every scalar tagged by its type, so that equality also compares types."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [type(value).__name__, [typed(item) for item in value]]
    return (type(value).__name__, value)


# ---- the server -----------------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    """One request as the receiver saw it, and how it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes  # decompressed
    received_at: float  # time.monotonic()
    spans: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    error: str | None = None

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


def decode_request(body: bytes) -> list[dict[str, Any]]:
    """The spans of an `ExportTraceServiceRequest`, each with its resource attributes and scope."""
    request = ExportTraceServiceRequest.FromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = attributes_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = (scope_spans.scope.name, scope_spans.scope.version)
            spans.extend(span_to_dict(span, resource, scope) for span in scope_spans.spans)
    return spans


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        request = ReceivedRequest(
            method="POST",
            path=self.path,
            headers=dict(self.headers.items()),
            body=raw,
            received_at=time.monotonic(),
        )
        try:
            encoding = (self.headers.get("Content-Encoding") or "").lower()
            if encoding == "gzip":
                request.body = gzip.decompress(raw)
            elif encoding == "deflate":
                request.body = zlib.decompress(raw)
            if self.path.split("?")[0] != TRACES_PATH:
                request.status = 404
            elif "protobuf" not in (self.headers.get("Content-Type") or ""):
                request.status = 415
            else:
                request.spans = decode_request(request.body)
        except Exception as error:  # a malformed body is a finding, recorded for the test to see
            request.error = f"{type(error).__name__}: {error}"
            request.status = 400
        receiver._record(request)
        if request.status is not None:
            self._answer(request.status)
            return
        mode = receiver.mode
        if mode == "slow":
            receiver._release.wait(receiver.delay)
            mode = "ok"
        if mode == "error500":
            request.status = 500
            self._answer(500)
        elif mode == "error429":
            request.status = 429
            self._answer(429, headers={"Retry-After": receiver.retry_after})
        else:
            request.status = 200
            receiver._accept(request)
            self._answer(200, ExportTraceServiceResponse().SerializeToString())


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in "slow" never keeps the test process alive
    receiver: OTLPReceiver


class OTLPReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1 (a free port), serving from a background thread.

    Use it as a context manager, or `start()` / `stop()`.
    """

    def __init__(self, mode: str = "ok", *, delay: float = 10.0, retry_after: str = "1") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.delay = delay
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[ReceivedRequest] = []
        self._spans: list[dict[str, Any]] = []
        self._release = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    def start(self) -> OTLPReceiver:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="otlp-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests held by `"slow"` are answered at once."""
        self._release.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def release(self) -> None:
        """Answer the requests `"slow"` holds now (and do not hold later ones)."""
        self._release.set()

    # ---- where it is

    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The base URL (what `hiveloop.init(endpoint=...)` takes)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def traces_url(self) -> str:
        """The full OTLP traces URL."""
        return self.url + TRACES_PATH

    # ---- what it saw

    def _record(self, request: ReceivedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _accept(self, request: ReceivedRequest) -> None:
        with self._changed:
            self._spans.extend(request.spans)
            self._changed.notify_all()

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, whatever the answer."""
        with self._lock:
            return list(self._requests)

    @property
    def spans(self) -> list[dict[str, Any]]:
        """The spans of the requests answered 200, in arrival order (see `span_to_dict`)."""
        with self._lock:
            return list(self._spans)

    def wait_for_spans(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The accepted spans once there are at least `count` (or all of them at `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._spans) < count and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            return list(self._spans)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The requests once there are at least `count` (or all of them at `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._requests) < count and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            return list(self._requests)

    def wait_until(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Wait until `predicate(requests)` is true; False at `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True


@contextmanager
def unreachable_url() -> Iterator[str]:
    """A base URL on 127.0.0.1 where nothing listens: the port is held bound (so no one else takes
    it) but not listening, so connections are refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
