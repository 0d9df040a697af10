"""The Hive's cards: first and last seen, SDK version and runtime, and the attention order."""

from __future__ import annotations

import platform
import sys
import time
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import hiveloop
from hiveboard.api.params import SECOND_NS, from_ns
from hiveboard.storage import Storage
from tests.api.conftest import Telemetry, Tenant


def cards(client: TestClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/agents", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()["data"]


def seen(card: dict[str, Any], field: str) -> datetime:
    return datetime.fromisoformat(card[field])


def spans_of_another_process(
    agent_id: str, resource: dict[str, str], starts_ns: list[int], duration_ns: int = SECOND_NS
) -> list[ReadableSpan]:
    """Spans in `agent_id`'s name from a process with `resource`, started at `starts_ns`."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("another-process")
    for start_ns in starts_ns:
        span = tracer.start_span("work", start_time=start_ns, attributes={"hiveboard.agent.id": agent_id})
        span.end(end_time=start_ns + duration_ns)
    provider.shutdown()
    return list(exporter.get_finished_spans())


def test_a_card_shows_first_and_last_seen_sdk_version_and_runtime(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        # No heartbeats after registration: the last sign of life is the task.
        agent = run.hb.agent("quiet-agent", heartbeat_interval=0)
        time.sleep(0.05)
        with agent.task("t-1"):
            time.sleep(0.05)
    (card,) = cards(client, tenant)
    assert seen(card, "first_seen") <= seen(card, "last_heartbeat")
    assert (seen(card, "last_seen") - seen(card, "last_heartbeat")).total_seconds() >= 0.1
    assert card["sdk_version"] == hiveloop.__version__
    assert card["runtime"] == {
        "name": sys.implementation.name,
        "version": platform.python_version(),
        "description": sys.version,
    }
    detail = client.get("/v1/agents/quiet-agent", headers=tenant.headers()).json()
    assert {key: detail[key] for key in ("first_seen", "last_seen", "sdk_version", "runtime")} == {
        key: card[key] for key in ("first_seen", "last_seen", "sdk_version", "runtime")
    }


# The same facts read from the raw spans: what hb_agent_activity must answer, without its aggregation.
PLAIN_ACTIVITY_SQL = """
SELECT coalesce(nullIf(SpanAttributes['hiveboard.agent.id'], ''), SpanAttributes['gen_ai.agent.name']) AS Agent,
    toUnixTimestamp64Nano(min(Timestamp)) AS FirstSeenNs,
    max(toUnixTimestamp64Nano(Timestamp) + Duration) AS LastSeenNs,
    argMaxIf(ResourceAttributes['telemetry.distro.version'], Timestamp,
        ResourceAttributes['telemetry.distro.version'] != '') AS SdkVersion,
    argMaxIf(ResourceAttributes['process.runtime.name'], Timestamp,
        ResourceAttributes['process.runtime.name'] != '') AS RuntimeName,
    argMaxIf(ResourceAttributes['process.runtime.version'], Timestamp,
        ResourceAttributes['process.runtime.name'] != '') AS RuntimeVersion
FROM otel_traces
WHERE ResourceAttributes['hiveboard.tenant.id'] = {tenant:String} AND Agent != ''
GROUP BY Agent
ORDER BY Agent"""


def test_the_cards_answer_as_the_plain_query_on_the_spans(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, storage: Storage
) -> None:
    now_ns = time.time_ns()
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent("worker", heartbeat_interval=0)
        run.hb.agent("helper", heartbeat_interval=0)
        run.flush()
        with agent.task("t-1"):
            pass
    # The same agent from an older HiveLoop on PyPy, earlier, in two inserts; then from a sender with
    # neither SDK version nor runtime, latest of all, which must not blank them.
    old_process = {
        "telemetry.distro.version": "0.0.1",
        "process.runtime.name": "pypy",
        "process.runtime.version": "3.10.14",
    }
    telemetry.write(spans_of_another_process("worker", old_process, [now_ns - 600 * SECOND_NS]), tenant)
    telemetry.write(spans_of_another_process("worker", old_process, [now_ns - 300 * SECOND_NS]), tenant)
    telemetry.write(spans_of_another_process("worker", {}, [now_ns + 5 * SECOND_NS]), tenant)

    plain = storage.query(PLAIN_ACTIVITY_SQL, {"tenant": tenant.id}).dicts()
    shown = cards(client, tenant)
    assert [card["agent_id"] for card in shown] == [row["Agent"] for row in plain] == ["helper", "worker"]
    for card, row in zip(shown, plain, strict=True):
        assert seen(card, "first_seen") == from_ns(row["FirstSeenNs"])
        assert seen(card, "last_seen") == from_ns(row["LastSeenNs"])
        assert card["sdk_version"] == row["SdkVersion"] == hiveloop.__version__
        assert (card["runtime"]["name"], card["runtime"]["version"]) == (
            row["RuntimeName"],
            row["RuntimeVersion"],
        )
    worker = shown[1]
    # First seen from the old process's spans, last seen from the span without a resource.
    assert seen(worker, "first_seen") == from_ns(now_ns - 600 * SECOND_NS)
    assert seen(worker, "last_seen") == from_ns(now_ns + 6 * SECOND_NS)


def test_attention_sort_puts_what_needs_a_human_first(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent("alpha", heartbeat_interval=0)  # idle
        run.hb.agent("bravo", heartbeat_interval=0).start_task("open")  # processing
        waiting = run.hb.agent("charlie", heartbeat_interval=0).start_task("refund")
        waiting.request_approval("Refund $450?", approver="finance-team")
        failed = run.hb.agent("delta", heartbeat_interval=0).start_task("broken")
        failed.fail(RuntimeError("CRM down"))
        for silent in ("foxtrot", "echo"):  # one heartbeat, then silence past the threshold
            run.hb.agent(silent, heartbeat_interval=3600, stuck_threshold=1)
            run.wait_for_heartbeat(silent)
        run.flush()
        time.sleep(1.2)
        by_attention = cards(client, tenant, sort="attention")
        assert [(card["agent_id"], card["derived_status"]) for card in by_attention] == [
            ("echo", "stuck"),
            ("foxtrot", "stuck"),
            ("delta", "error"),
            ("charlie", "waiting_approval"),
            ("bravo", "processing"),
            ("alpha", "idle"),
        ]
        by_id = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
        assert [card["agent_id"] for card in cards(client, tenant)] == by_id
        assert [card["agent_id"] for card in cards(client, tenant, sort="agent_id")] == by_id
    bad = client.get("/v1/agents", params={"sort": "loudest"}, headers=tenant.headers())
    assert bad.status_code == 400 and "attention" in bad.text
