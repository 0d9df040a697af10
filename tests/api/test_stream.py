"""`WS /v1/stream`: new events within 3 s, status changes, stuck on a timer, filters, scoping."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

import hiveloop
from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import AGENT

DELIVERY_DEADLINE_S = 3.0


def subscribe(socket: WebSocketTestSession, channels: list[str], **filters: Any) -> None:
    socket.send_json({"action": "subscribe", "channels": channels, "filters": filters})
    reply = socket.receive_json()
    assert reply["type"] == "subscribed", reply


def receive_until(socket: WebSocketTestSession, wanted: str, deadline_s: float = DELIVERY_DEADLINE_S) -> dict:
    """The first message of type `wanted`, which must come before the deadline (pings keep it honest)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        message = socket.receive_json()
        if message["type"] == wanted:
            return message
    raise AssertionError(f"no {wanted} within {deadline_s} s")


def test_new_events_reach_a_subscriber_within_3_seconds(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, other_tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        subscribe(socket, ["events"])
        written = time.monotonic()
        with telemetry.hiveloop(other_tenant) as run:  # another tenant's event must not arrive
            run.hb.agent("intruder", heartbeat_interval=0).report_issue("x", severity="low")
        with telemetry.hiveloop(tenant) as run:
            run.hb.agent(AGENT, heartbeat_interval=0).report_issue(
                "CRM 403", severity="high", issue_id="crm-403", category="permissions"
            )
        received = []
        while not any(event["event_type"] == "issue" for event in received):
            received.append(receive_until(socket, "event.new")["data"])
        assert time.monotonic() - written < DELIVERY_DEADLINE_S
        # The first registration, written before subscribing, is not news; the second one and the
        # issue are. Nothing of the other tenant arrives.
        assert [(e["agent_id"], e["event_type"]) for e in received] == [
            (AGENT, "agent_registered"),
            (AGENT, "issue"),
        ]
        assert received[-1]["issue_id"] == "crm-403" and agent.agent_id == AGENT


def test_event_filters_apply_to_the_stream(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with client.websocket_connect(f"/v1/stream?key={tenant.keys['live']}") as socket:
        subscribe(socket, ["events"], group=["human"])
        with telemetry.hiveloop(tenant) as run:
            agent = run.hb.agent(AGENT, heartbeat_interval=0)
            with agent.task("t1") as task:
                task.llm_call("call", "claude-sonnet-4-20250514", tokens_in=1, tokens_out=1)
                task.escalate("Needs review", assigned_to="senior-sales")
        message = receive_until(socket, "event.new")
        assert message["data"]["event_type"] == "escalated"


def test_test_key_streams_only_test_data(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers("test")) as socket:
        subscribe(socket, ["events"])
        with telemetry.hiveloop(tenant, "live") as run:
            run.hb.agent("live-agent", heartbeat_interval=0)
        with telemetry.hiveloop(tenant, "test") as run:
            run.hb.agent("test-agent", heartbeat_interval=0)
        assert receive_until(socket, "event.new")["data"]["agent_id"] == "test-agent"


def test_status_changes_are_pushed(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        run.flush()
        with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
            subscribe(socket, ["agents"], agent_id=[AGENT])
            task = agent.start_task("t-open")
            run.flush()
            change = receive_until(socket, "agent.status_changed")["data"]
            assert (change["agent_id"], change["previous_status"], change["status"]) == (
                AGENT,
                "idle",
                "processing",
            )
            assert change["agent"]["current_task_id"] == "t-open"
            task.fail()
            run.flush()
            change = receive_until(socket, "agent.status_changed")["data"]
            assert (change["previous_status"], change["status"]) == ("processing", "error")


def test_a_clean_shutdown_is_pushed_as_offline_not_stuck(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=3600, stuck_threshold=2)
        run.wait_for_heartbeat(AGENT)
        run.flush()
        with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
            subscribe(socket, ["agents"])
            hiveloop.shutdown()
            run.flush()
            change = receive_until(socket, "agent.status_changed")["data"]
            assert (change["agent_id"], change["previous_status"], change["status"]) == (
                AGENT,
                "idle",
                "offline",
            )
            assert change["agent"]["is_stuck"] is False


def test_stuck_is_detected_on_a_timer_without_new_data(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=3600, stuck_threshold=2)
        run.wait_for_heartbeat(AGENT)
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        subscribe(socket, ["agents"])
        stuck = receive_until(socket, "agent.stuck", deadline_s=5.0)["data"]
        assert stuck["agent_id"] == AGENT and stuck["stuck_threshold_seconds"] == 2
        assert stuck["heartbeat_age_seconds"] > 2


def test_ping_and_bad_messages(client: TestClient, tenant: Tenant) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        socket.send_json({"action": "ping"})
        assert socket.receive_json() == {"type": "pong"}
        socket.send_text("not json")
        assert socket.receive_json()["error"] == "bad_request"
        socket.send_json({"action": "subscribe", "channels": ["nonsense"]})
        reply = socket.receive_json()
        assert reply["error"] == "bad_request" and "subscribe" in reply["message"]
