"""Fixtures of the query API tests: a migrated chDB per test module, the real app over it, a fresh
tenant (with live, test and read keys) per test, and `telemetry`, the one way tests write data.

`Telemetry` runs the real HiveLoop SDK (real clock: the tables' TTLs and the API's time ranges want
recent data) and writes what it emits with `tests.stored_spans.store_spans`, as the collector
would; it is the single place to switch to the real OTLP path (HiveLoop -> receiver -> chDB).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from hiveboard.api import create_app
from hiveboard.storage import ChDBStorage, Storage
from hiveboard.storage.keys import KeyStore
from hiveboard.storage.pricing import ModelPricer
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveloop.testing import CapturedSpans, capture
from tests.stored_spans import store_spans

# The live stream polls this often in tests (the product default is 0.5 s).
STREAM_POLL_INTERVAL = 0.2


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    with ChDBStorage(tmp_path_factory.mktemp("chdb")) as storage:
        migrate(storage, SchemaConfig())
        yield storage


@pytest.fixture(scope="module")
def key_store(storage: Storage) -> KeyStore:
    return KeyStore(storage, dev_key=None)


@pytest.fixture(scope="module")
def client(storage: Storage, key_store: KeyStore) -> Iterator[TestClient]:
    app = create_app(storage, key_store, stream_poll_interval=STREAM_POLL_INTERVAL)
    with TestClient(app) as client:
        yield client


@dataclass(frozen=True)
class Tenant:
    """A tenant of its own for one test, with one key of each type."""

    id: str
    keys: dict[str, str]

    def headers(self, key_type: str = "live") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key_type]}"}


def new_tenant(key_store: KeyStore) -> Tenant:
    tenant_id = f"tenant-{uuid.uuid4().hex[:12]}"
    keys = {
        key_type: key_store.create(key_type, tenant_id=tenant_id)[0] for key_type in ("live", "test", "read")
    }
    return Tenant(tenant_id, keys)


@pytest.fixture
def tenant(key_store: KeyStore) -> Tenant:
    return new_tenant(key_store)


@pytest.fixture
def other_tenant(key_store: KeyStore) -> Tenant:
    return new_tenant(key_store)


class Recording:
    """A running HiveLoop (`hb`) whose spans are written on `flush()` and at the end of the block."""

    def __init__(self, hb: Any, captured: CapturedSpans, write: Callable[[list[ReadableSpan]], None]) -> None:
        self.hb = hb
        self._captured = captured
        self._write = write

    def flush(self) -> None:
        """Write the spans finished so far (an open task shows through its `task_started` marker)."""
        spans = self._captured.spans
        self._captured.clear()
        if spans:
            self._write(spans)

    def wait_for_heartbeat(self, agent_id: str, timeout: float = 5.0) -> None:
        """Wait until the agent's heartbeat thread has emitted its first heartbeat."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(
                span.name == "heartbeat" and (span.attributes or {}).get("hiveboard.agent.id") == agent_id
                for span in self._captured.spans
            ):
                return
            time.sleep(0.01)
        raise AssertionError(f"no heartbeat from {agent_id} within {timeout} s")


class Telemetry:
    """Writes test data into storage, the way the collector would."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def write(self, spans: list[ReadableSpan], tenant: Tenant, key_type: str = "live") -> None:
        store_spans(self._storage, spans, tenant.id, key_type)
        ModelPricer(self._storage).refresh()

    @contextmanager
    def hiveloop(
        self, tenant: Tenant, key_type: str = "live", environment: str = "production"
    ) -> Iterator[Recording]:
        """Run HiveLoop with the tenant's key of `key_type`; everything it emitted is written on exit."""
        with capture(deterministic=False) as captured:
            hb = captured.init(api_key=tenant.keys[key_type], environment=environment)
            recording = Recording(hb, captured, lambda spans: self.write(spans, tenant, key_type))
            yield recording
            recording.flush()

    @contextmanager
    def opentelemetry(
        self, tenant: Tenant, key_type: str = "live", service: str = "otel-app"
    ) -> Iterator[Tracer]:
        """A plain OpenTelemetry tracer (no HiveLoop): its spans are written on exit."""
        exporter = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        yield provider.get_tracer("plain-genai-instrumentation")
        provider.shutdown()
        self.write(list(exporter.get_finished_spans()), tenant, key_type)


@pytest.fixture
def telemetry(storage: Storage) -> Telemetry:
    return Telemetry(storage)
