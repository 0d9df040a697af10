"""`WS /v1/stream`: new events within 3 s, status changes, stuck on a timer, filters, scoping."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

import hiveloop
from hiveboard.api.auth import DataScope
from hiveboard.api.live import MAX_PENDING_MESSAGES, TOO_SLOW, Closing, Subscriber
from hiveboard.api.models.stream import StreamError
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


def test_the_environment_filter_applies_to_the_stream(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        subscribe(socket, ["events"], environment="staging", event_type=["issue"])
        with telemetry.hiveloop(tenant, environment="production") as run:
            run.hb.agent("prod-agent", heartbeat_interval=0).report_issue("in production", severity="low")
        with telemetry.hiveloop(tenant, environment="staging") as run:
            run.hb.agent("staging-agent", heartbeat_interval=0).report_issue("in staging", severity="low")
        message = receive_until(socket, "event.new")
        assert (message["data"]["agent_id"], message["data"]["environment"]) == ("staging-agent", "staging")


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


def test_ping_and_unsubscribe(client: TestClient, tenant: Tenant) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        socket.send_json({"action": "ping"})
        assert socket.receive_json() == {"type": "pong"}
        subscribe(socket, ["events"])
        socket.send_json({"action": "unsubscribe"})
        assert socket.receive_json() == {"type": "unsubscribed"}


SUBSCRIBE_PREFIX = '{"action": "subscribe", "channels": ["events"], '
# Each message the server cannot use, with what its answer must say.
BAD_MESSAGES = {
    "invalid JSON": ("not json", "not valid JSON"),
    "truncated JSON": ('{"action": "subscribe"', "not valid JSON"),
    "nested arrays": ("[" * 10_000, "not valid JSON (recursion limit exceeded"),
    "nested inside a subscribe": (
        SUBSCRIBE_PREFIX + '"filters": {"project": ' + "[" * 5_000 + "]" * 5_000 + "}}",
        "not valid JSON (recursion limit exceeded",
    ),
    "100k nested arrays": ("[" * 100_000, "too long: at most 65,536"),
    "oversized": (SUBSCRIBE_PREFIX + '"filters": {"agent_id": ["' + "a" * 70_000 + '"]}}', "too long"),
    "array": ('["subscribe"]', "not a JSON object"),
    "number": ("5", "not a JSON object"),
    "no action": ('{"channels": ["events"]}', "has no action"),
    "unknown action": ('{"action": "subscrbe"}', "unknown action"),
    "action of the wrong type": ('{"action": 5}', "unknown action"),
    "channels not a list": (
        '{"action": "subscribe", "channels": "events"}',
        "channels: Input should be a valid array",
    ),
    "no channel": ('{"action": "subscribe", "channels": []}', "channels: List should have at least 1 item"),
    "unknown channel": (
        '{"action": "subscribe", "channels": ["nonsense"]}',
        "channels.0: Input should be 'events' or 'agents'",
    ),
    "filters not an object": (SUBSCRIBE_PREFIX + '"filters": []}', "filters: Input should be"),
    "agent_id not a list": (
        SUBSCRIBE_PREFIX + '"filters": {"agent_id": "a"}}',
        "filters.agent_id: Input should be a valid array",
    ),
    "project not a string": (
        SUBSCRIBE_PREFIX + '"filters": {"project": 5}}',
        "filters.project: Input should be a valid string",
    ),
    "unknown group": (
        SUBSCRIBE_PREFIX + '"filters": {"group": ["humans"]}}',
        "filters.group.0: Input should be",
    ),
    "unknown field": (SUBSCRIBE_PREFIX + '"filterz": {}}', "filterz: unknown field"),
    "unknown filter": (SUBSCRIBE_PREFIX + '"filters": {"agent": ["a"]}}', "filters.agent: unknown field"),
    "unknown field of a ping": ('{"action": "ping", "id": 1}', "invalid ping message: id: unknown field"),
}


def assert_bad_request(reply: dict, expected: str) -> None:
    """A `bad_request` that says `expected`, in the server's words only (no input, links or internals)."""
    assert reply["type"] == "error" and reply["error"] == "bad_request", reply
    assert expected in reply["message"], reply
    for internal in ("pydantic", "http", "Traceback", "File ", "aaaaaaaa"):
        assert internal not in reply["message"], reply


@pytest.mark.parametrize("text, expected", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_a_bad_message_gets_bad_request_and_the_socket_stays_usable(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, text: str, expected: str
) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        socket.send_text(text)
        assert_bad_request(socket.receive_json(), expected)
        subscribe(socket, ["events"])
        with telemetry.hiveloop(tenant) as run:
            run.hb.agent(AGENT, heartbeat_interval=0)
        assert receive_until(socket, "event.new")["data"]["event_type"] == "agent_registered"


def test_a_binary_frame_gets_bad_request(client: TestClient, tenant: Tenant) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        socket.send_bytes(b'{"action": "ping"}')
        assert_bad_request(socket.receive_json(), "binary frames are not read")
        socket.send_json({"action": "ping"})
        assert socket.receive_json() == {"type": "pong"}


def test_a_rejected_subscribe_keeps_the_previous_subscription(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with client.websocket_connect("/v1/stream", headers=tenant.headers()) as socket:
        subscribe(socket, ["events"], group=["human"])
        socket.send_json({"action": "subscribe", "channels": ["events"], "filters": {"group": ["nope"]}})
        assert_bad_request(socket.receive_json(), "filters.group.0")
        with telemetry.hiveloop(tenant) as run:
            agent = run.hb.agent(AGENT, heartbeat_interval=0)
            with agent.task("t1") as task:
                task.escalate("Needs review", assigned_to="senior-sales")
        assert receive_until(socket, "event.new")["data"]["event_type"] == "escalated"


def test_a_closing_subscriber_drops_what_waits_and_what_comes_after() -> None:
    revoked = Closing(StreamError(error="unauthorized", message="revoked"), 4401, "API key revoked")
    subscriber = Subscriber(DataScope("tenant", "live"))
    subscriber.send({"type": "event.new"})
    subscriber.close(revoked)
    subscriber.send({"type": "event.new"})
    subscriber.close(TOO_SLOW)  # the first reason stands
    assert subscriber.outbox.qsize() == 1 and subscriber.outbox.get_nowait() is revoked


def test_a_subscriber_too_far_behind_is_closed_as_too_slow() -> None:
    subscriber = Subscriber(DataScope("tenant", "live"))
    for _ in range(MAX_PENDING_MESSAGES + 1):
        subscriber.send({"type": "event.new"})
    assert subscriber.outbox.qsize() == 1 and subscriber.outbox.get_nowait() is TOO_SLOW
    assert TOO_SLOW.code == 1013 and TOO_SLOW.error.error == "too_slow"
