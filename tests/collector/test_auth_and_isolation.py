"""Who may send, and where their data lands: the key matrix over OTLP/HTTP and OTLP/gRPC, the
trusted tenant and key type written over whatever the client claims, and the dev key."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from hiveboard.storage import Storage
from hiveboard.storage.keys import DEFAULT_TENANT, DEV_KEY_ENV, KeyStore
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID
from tests.collector.otlp_harness import (
    DEV_KEY,
    LOGS_PATH,
    LOGS_SERVICE,
    TRACE_SERVICE,
    TRACES_PATH,
    Tenant,
    grpc_export,
    log_request,
    make_span,
    new_tenant,
    post_otlp,
    span_ids_hex,
    stored_tenancy,
    trace_request,
)
from tests.running_collector import RunningCollector, running_collector


@dataclass(frozen=True)
class Outcome:
    """A protocol-neutral answer: accepted, or refused with a status and its message."""

    accepted: bool
    status: str  # "ok", "unauthenticated", "permission_denied", ...
    message: str


_HTTP_STATUS = {200: "ok", 401: "unauthenticated", 403: "permission_denied"}
_GRPC_STATUS = {
    grpc.StatusCode.OK: "ok",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
}


def send(
    running: RunningCollector,
    protocol: str,
    request: ExportTraceServiceRequest | ExportLogsServiceRequest,
    headers: dict[str, str],
) -> Outcome:
    """Export `request` (spans, or log records) over `protocol` with `headers` (HTTP headers or
    gRPC metadata)."""
    logs = isinstance(request, ExportLogsServiceRequest)
    if protocol == "http":
        answer = post_otlp(running.http_url, LOGS_PATH if logs else TRACES_PATH, request, headers)
        status = _HTTP_STATUS.get(answer.status, str(answer.status))
        return Outcome(answer.status == 200, status, "" if answer.status == 200 else answer.error)
    metadata = {name.lower(): value for name, value in headers.items()}
    grpc_answer = grpc_export(running.grpc_target, LOGS_SERVICE if logs else TRACE_SERVICE, request, metadata)
    status = _GRPC_STATUS.get(grpc_answer.code, grpc_answer.code.name)
    return Outcome(grpc_answer.code is grpc.StatusCode.OK, status, grpc_answer.details)


def key_headers(key: str | None, header: str) -> dict[str, str]:
    if key is None:
        return {}
    return {"Authorization": f"Bearer {key}"} if header == "bearer" else {"x-api-key": key}


# (case, the key it sends, expected status, what the refusal must say)
KEY_CASES = [
    ("no key", None, "unauthenticated", "missing API key"),
    ("unknown key", "hb_live_ThisKeyWasNeverCreatedAnywhere0000", "unauthenticated", "unknown API key"),
    ("malformed key", "not-a-hiveboard-key", "unauthenticated", "malformed API key"),
    ("revoked key", "revoked", "unauthenticated", "revoked"),
    ("live key", "live", "ok", ""),
    ("test key", "test", "ok", ""),
    ("read key", "read", "permission_denied", "read keys"),
]


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize(("case", "key", "expected", "says"), KEY_CASES, ids=[case[0] for case in KEY_CASES])
def test_key_matrix(
    storage: Storage,
    running: RunningCollector,
    tenant: Tenant,
    protocol: str,
    header: str,
    case: str,
    key: str | None,
    expected: str,
    says: str,
) -> None:
    presented = getattr(tenant, key) if key in ("live", "test", "read", "revoked") else key
    request = trace_request([make_span(case)])

    outcome = send(running, protocol, request, key_headers(presented, header))

    assert outcome.status == expected, outcome.message
    assert says.lower() in outcome.message.lower()
    stored = stored_tenancy(storage, span_ids_hex(request))
    if expected == "ok":
        assert set(stored.values()) == {(tenant.id, key)}
    else:
        assert stored == {}
        if presented:  # a refusal never echoes the key
            assert presented not in outcome.message


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_log_records_need_a_key_that_may_ingest_too(
    storage: Storage, running: RunningCollector, tenant: Tenant, protocol: str
) -> None:
    request = log_request([LogRecord(time_unix_nano=time.time_ns(), body=AnyValue(string_value="hello"))])

    outcomes = [
        send(running, protocol, request, headers)
        for headers in ({}, tenant.bearer("read"), tenant.bearer("test"))
    ]

    assert [outcome.status for outcome in outcomes] == ["unauthenticated", "permission_denied", "ok"]
    stored = storage.query(
        "SELECT Body, ResourceAttributes[{key_type:String}] FROM otel_logs "
        "WHERE ResourceAttributes[{tenant:String}] = {tenant_id:String}",
        {"key_type": HIVEBOARD_KEY_TYPE, "tenant": HIVEBOARD_TENANT_ID, "tenant_id": tenant.id},
    ).rows
    assert stored == [("hello", "test")]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_key_revoked_while_in_use_stops_working_at_once(
    running: RunningCollector, key_store: KeyStore, protocol: str
) -> None:
    tenant_id = "tenant-revoked-in-use"
    key, record = key_store.create("live", tenant_id=tenant_id)
    assert send(running, protocol, trace_request([make_span()]), key_headers(key, "bearer")).accepted

    key_store.revoke(record.key_id)

    outcome = send(running, protocol, trace_request([make_span()]), key_headers(key, "bearer"))
    assert outcome.status == "unauthenticated"
    assert "revoked" in outcome.message


# ---- tenant isolation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize("key_type", ["live", "test"])
def test_a_span_claiming_another_tenant_lands_in_the_senders_tenant(
    storage: Storage, running: RunningCollector, key_store: KeyStore, protocol: str, key_type: str
) -> None:
    sender, victim = new_tenant(key_store), new_tenant(key_store)
    claims = {HIVEBOARD_TENANT_ID: victim.id, HIVEBOARD_KEY_TYPE: "live"}
    request = trace_request([make_span("forged"), make_span("forged too")], resource=claims)

    outcome = send(running, protocol, request, sender.bearer(key_type))

    assert outcome.accepted, outcome.message
    stored = stored_tenancy(storage, span_ids_hex(request))
    assert stored == {span_id: (sender.id, key_type) for span_id in span_ids_hex(request)}


def test_each_resource_of_a_request_is_stamped(
    storage: Storage, running: RunningCollector, tenant: Tenant
) -> None:
    request = trace_request([make_span("first")], resource={HIVEBOARD_TENANT_ID: "elsewhere"})
    second = request.resource_spans.add()
    second.scope_spans.add().spans.append(make_span("second resource, no attributes at all"))

    assert send(running, "http", request, tenant.bearer("test")).accepted

    assert set(stored_tenancy(storage, span_ids_hex(request)).values()) == {(tenant.id, "test")}


# ---- the dev key --------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_dev_key_is_refused_unless_configured(running: RunningCollector, protocol: str) -> None:
    outcome = send(running, protocol, trace_request([make_span()]), key_headers(DEV_KEY, "bearer"))
    assert outcome.status == "unauthenticated"


def test_hiveboard_dev_key_is_a_live_key_of_the_default_tenant(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEV_KEY_ENV, DEV_KEY)
    dev_key_store = KeyStore(storage)  # reads HIVEBOARD_DEV_KEY now
    with running_collector(storage, dev_key_store) as running:
        for protocol, header in [("http", "bearer"), ("grpc", "x-api-key")]:
            request = trace_request([make_span(f"dev key over {protocol}")])

            outcome = send(running, protocol, request, key_headers(DEV_KEY, header))

            assert outcome.accepted, outcome.message
            assert set(stored_tenancy(storage, span_ids_hex(request)).values()) == {(DEFAULT_TENANT, "live")}
