"""What the collector's end-to-end tests share: a migrated chDB, tenants with keys, OTLP requests
built by hand, raw OTLP/HTTP and OTLP/gRPC calls that show every detail of the answer, and queries
of what was stored.

Raw calls (`post_otlp`, `grpc_export`) send exactly the bytes and headers a test chooses, so bad
input reaches the collector as it is; the real OpenTelemetry exporters are used where a test is
about real clients.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from hiveboard.storage import ChDBStorage, Storage
from hiveboard.storage.keys import KeyStore
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"
TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
RETRY_INFO_KEY = "google.rpc.retryinfo-bin"
# The seeds' dev key, valid when HIVEBOARD_DEV_KEY holds it.
DEV_KEY = "hb_live_dev000000000000000000000000000000"
# Every call of a test finishes well within this, or the collector is stuck.
CALL_TIMEOUT_S = 20.0


# ---- storage and tenants ------------------------------------------------------------------------------


@contextmanager
def migrated_chdb(directory: Path) -> Iterator[ChDBStorage]:
    """Embedded chDB in `directory` with HiveBoard's schema (one per test module: chDB hosts one
    data directory per process, so a module's storage is closed before the next module opens its own)."""
    with ChDBStorage(directory) as storage:
        migrate(storage, SchemaConfig())
        yield storage


@dataclass(frozen=True)
class Tenant:
    """A tenant of its own for one test (tests share their module's storage), with one key of each
    type; `revoked` was a live key of the tenant, revoked."""

    id: str
    live: str
    test: str
    read: str
    revoked: str

    def bearer(self, key_type: str = "live") -> dict[str, str]:
        return {"authorization": f"Bearer {getattr(self, key_type)}"}


def new_tenant(key_store: KeyStore) -> Tenant:
    tenant_id = f"tenant-{uuid.uuid4().hex[:12]}"
    keys = {kind: key_store.create(kind, tenant_id=tenant_id)[0] for kind in ("live", "test", "read")}
    revoked, record = key_store.create("live", tenant_id=tenant_id, name="revoked")
    key_store.revoke(record.key_id)
    return Tenant(tenant_id, keys["live"], keys["test"], keys["read"], revoked)


# ---- OTLP requests built by hand ----------------------------------------------------------------------


def new_trace_id() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return os.urandom(8)


def key_value(key: str, value: Any) -> KeyValue:
    """A `KeyValue` of a str, bool, int, float or `AnyValue`."""
    if isinstance(value, AnyValue):
        return KeyValue(key=key, value=value)
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def make_span(
    name: str = "work",
    *,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    start_ns: int | None = None,
    duration_ns: int = 1_000_000,
    attributes: Mapping[str, Any] | None = None,
) -> Span:
    """A span with fresh ids (unless given) and `attributes`, started now unless `start_ns` says
    otherwise (the tables' TTL drops spans older than their retention as they are inserted)."""
    if start_ns is None:
        start_ns = time.time_ns()
    return Span(
        trace_id=new_trace_id() if trace_id is None else trace_id,
        span_id=new_span_id() if span_id is None else span_id,
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + duration_ns,
        attributes=[key_value(key, value) for key, value in (attributes or {}).items()],
    )


def trace_request(
    spans: Sequence[Span], resource: Mapping[str, Any] | None = None, service: str = "checkout"
) -> ExportTraceServiceRequest:
    """One resource (`service.name` = `service`, plus `resource`) with one scope holding `spans`."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attributes = {"service.name": service, **(resource or {})}
    resource_spans.resource.attributes.extend(key_value(key, value) for key, value in attributes.items())
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests.collector"
    scope_spans.spans.extend(spans)
    return request


def log_request(records: Sequence[LogRecord], service: str = "checkout") -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.append(key_value("service.name", service))
    resource_logs.scope_logs.add().log_records.extend(records)
    return request


def span_ids_hex(request: ExportTraceServiceRequest) -> set[str]:
    return {
        span.span_id.hex()
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    }


# ---- raw calls ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    """An OTLP/HTTP answer: its status, headers, and body decoded as the message it should hold
    (the export response on 200, else a `google.rpc.Status`)."""

    status: int
    headers: httpx.Headers
    content_type: str
    message: Message | None

    @property
    def error(self) -> str:
        """The `google.rpc.Status` message of a refusal."""
        assert isinstance(self.message, Status), f"no Status in a {self.status} answer: {self.message!r}"
        return self.message.message


def post_otlp(
    http_url: str,
    path: str,
    body: bytes | Message,
    headers: Mapping[str, str],
    content_type: str = PROTOBUF,
    content_encoding: str | None = None,
) -> HttpAnswer:
    """POST `body` (a message is serialized as binary protobuf) to `path` and decode the answer."""
    if isinstance(body, Message):
        body = body.SerializeToString()
    sent = {"content-type": content_type, **headers}
    if content_encoding is not None:
        sent["content-encoding"] = content_encoding
    response = httpx.post(http_url + path, content=body, headers=sent, timeout=CALL_TIMEOUT_S)
    return decode_http_answer(response, path)


def decode_http_answer(response: httpx.Response, path: str) -> HttpAnswer:
    content_type = response.headers.get("content-type", "")
    message: Message | None = None
    if response.content or response.status_code == 200:
        if response.status_code == 200:
            message = ExportTraceServiceResponse() if path == TRACES_PATH else ExportLogsServiceResponse()
        else:
            message = Status()
        if content_type.startswith(JSON):
            json_format.Parse(response.content, message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(response.content)
    return HttpAnswer(response.status_code, response.headers, content_type, message)


@dataclass(frozen=True)
class GrpcAnswer:
    """An OTLP/gRPC answer: its status code and details, the response on OK, the trailing metadata."""

    code: grpc.StatusCode
    details: str
    response: Message | None = None
    trailers: dict[str, Any] = field(default_factory=dict)


def grpc_export(
    target: str,
    service: str,
    body: bytes | Message,
    metadata: Mapping[str, str] | Sequence[tuple[str, str]] = (),
    compression: grpc.Compression | None = None,
) -> GrpcAnswer:
    """Call `service`/Export with `body` as it is (a message is serialized) and collect the answer."""
    if isinstance(body, Message):
        body = body.SerializeToString()
    response_type = ExportLogsServiceResponse if service == LOGS_SERVICE else ExportTraceServiceResponse
    pairs = list(metadata.items()) if isinstance(metadata, Mapping) else list(metadata)
    with grpc.insecure_channel(target) as channel:
        export = channel.unary_unary(
            f"/{service}/Export", request_serializer=None, response_deserializer=response_type.FromString
        )
        try:
            response, call = export.with_call(
                body, metadata=pairs, timeout=CALL_TIMEOUT_S, compression=compression
            )
        except grpc.RpcError as error:
            return GrpcAnswer(
                error.code(), error.details() or "", None, dict(error.trailing_metadata() or ())
            )
        return GrpcAnswer(call.code(), call.details() or "", response, dict(call.trailing_metadata() or ()))


# ---- what was stored ---------------------------------------------------------------------------------


def stored_span_ids(storage: Storage, tenant_id: str) -> set[str]:
    """The span ids stored in `otel_traces` for `tenant_id` (the trusted resource attribute)."""
    rows = storage.query(
        "SELECT SpanId FROM otel_traces WHERE ResourceAttributes[{attribute:String}] = {tenant:String}",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": tenant_id},
    ).rows
    return {span_id for (span_id,) in rows}


def stored_tenancy(storage: Storage, span_ids: set[str]) -> dict[str, tuple[str, str]]:
    """{span id: (tenant, key type)} of the stored spans with these ids, whatever their tenant."""
    rows = storage.query(
        "SELECT SpanId, ResourceAttributes[{tenant:String}], ResourceAttributes[{key_type:String}] "
        "FROM otel_traces WHERE SpanId IN {ids:Array(String)}",
        {"tenant": HIVEBOARD_TENANT_ID, "key_type": HIVEBOARD_KEY_TYPE, "ids": sorted(span_ids)},
    ).rows
    return {span_id: (tenant, key_type) for span_id, tenant, key_type in rows}


def table_columns(storage: Storage, table: str) -> set[str]:
    """The stored columns of `table` (Nested subcolumns as `Events.Name`...; no ALIAS/MATERIALIZED)."""
    rows = storage.query(
        "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String} "
        "AND default_kind NOT IN ('ALIAS', 'MATERIALIZED')",
        {"table": table},
    ).rows
    return {name for (name,) in rows}


def assert_same_rows(
    stored: Sequence[Mapping[str, Any]], expected: Sequence[Mapping[str, Any]], key: str
) -> None:
    """`stored` rows are `expected` (matched by the `key` column), naming each column that differs."""
    stored_by_key = {row[key]: row for row in stored}
    expected_by_key = {row[key]: row for row in expected}
    assert sorted(stored_by_key) == sorted(expected_by_key), "not the rows that were sent"
    differences = [
        f"{key}={identity} {column}: stored {row[column]!r}, sent {expected_by_key[identity][column]!r}"
        for identity, row in stored_by_key.items()
        for column in expected_by_key[identity]
        if row[column] != expected_by_key[identity][column]
    ]
    assert not differences, "\n".join(differences)
    assert len(stored) == len(expected), "a row is stored twice"
