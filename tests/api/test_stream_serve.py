"""`WS /v1/stream` in `hiveboard serve` as installed, with a real WebSocket client: HiveLoop sends to
the server's OTLP/HTTP port and the events, status changes and stuck agents reach the subscriber; a
revoked key's socket is closed; bad messages are answered and the socket stays usable.

The in-process test client has a WebSocket implementation of its own: only the real process shows
whether uvicorn can speak WebSocket at all (without a WebSocket library it answers 404).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import hiveloop
from hiveboard.api.models.stream import CLOSE_UNAUTHENTICATED
from tests.api.test_stream import DELIVERY_DEADLINE_S, assert_bad_request
from tests.serve_process import ServeProcess, serve_process

# The key check runs every second and this server revokes through its own key cache; the margin
# is for a machine busy with other tests.
REVOCATION_DEADLINE_S = 5.0 + 2.0
SDK_FLUSH_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serve_process(tmp_path_factory.mktemp("serve") / "data") as server:
        yield server


def open_stream(server: ServeProcess, key: str | None = None) -> ClientConnection:
    """A WebSocket on the server's stream; the handshake must succeed (101 Switching Protocols)."""
    socket = connect(
        server.stream_url,
        additional_headers={"Authorization": f"Bearer {key or server.key}"},
        open_timeout=10,
    )
    assert socket.response is not None and socket.response.status_code == 101
    return socket


def receive(socket: ClientConnection, timeout: float = DELIVERY_DEADLINE_S) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=timeout))


def subscribe(socket: ClientConnection, channels: list[str], **filters: Any) -> None:
    socket.send(json.dumps({"action": "subscribe", "channels": channels, "filters": filters}))
    reply = receive(socket)
    assert reply["type"] == "subscribed", reply


def receive_until(
    socket: ClientConnection, wanted: str, deadline_s: float = DELIVERY_DEADLINE_S
) -> dict[str, Any]:
    """The first message of type `wanted`, which must come within `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = receive(socket, left)
        except TimeoutError:
            break
        if message["type"] == wanted:
            return message
    raise AssertionError(f"no {wanted} within {deadline_s} s")


def start_hiveloop(server: ServeProcess) -> Any:
    """HiveLoop sending to the server's OTLP/HTTP port with the server's key."""
    return hiveloop.init(api_key=server.key, endpoint=server.otlp_http_url, flush_interval=0.5)


def flush() -> None:
    assert hiveloop.flush(timeout=SDK_FLUSH_TIMEOUT_S)


def test_an_sdk_event_reaches_a_subscriber_within_3_seconds(server: ServeProcess) -> None:
    with open_stream(server) as socket:
        subscribe(socket, ["events"], agent_id=["stream-events"])
        hb = start_hiveloop(server)
        called = time.monotonic()
        hb.agent("stream-events", heartbeat_interval=0).report_issue(
            "CRM 403", severity="high", issue_id="crm-403", category="permissions"
        )
        flush()
        received = [receive_until(socket, "event.new")["data"]]
        while received[-1]["event_type"] != "issue":
            received.append(receive_until(socket, "event.new")["data"])
        assert time.monotonic() - called < DELIVERY_DEADLINE_S
    assert [event["event_type"] for event in received] == ["agent_registered", "issue"]
    assert received[-1]["issue_id"] == "crm-403"


# An agent's life in its own process, which then dies without shutting HiveLoop down (a clean
# shutdown would show it offline): each step flushed and left long enough for the stream to see it.
AGENT_THAT_DIES = """
import os, sys, time
import hiveloop
hb = hiveloop.init(api_key=sys.argv[1], endpoint=sys.argv[2], flush_interval=0.2)
agent = hb.agent("stream-status", heartbeat_interval=0.5, stuck_threshold=2)
def step():
    assert hiveloop.flush(timeout=10)
    time.sleep(1.5)
step()
task = agent.start_task("stream-task")
step()
task.complete()
step()
os._exit(0)
"""


# The agent's process paces its steps (start, flush, 1.5 s); on a busy machine a step can take a few
# seconds more. Delivery within 3 s is the other tests' to check.
AGENT_STEP_DEADLINE_S = 20.0


def test_status_changes_and_a_stuck_agent_reach_a_subscriber(server: ServeProcess) -> None:
    def next_change(deadline_s: float = AGENT_STEP_DEADLINE_S) -> tuple[str | None, str]:
        change = receive_until(socket, "agent.status_changed", deadline_s)["data"]
        assert change["agent_id"] == "stream-status"
        return change["previous_status"], change["status"]

    with open_stream(server) as socket:
        subscribe(socket, ["agents"], agent_id=["stream-status"])
        agent = subprocess.Popen([sys.executable, "-c", AGENT_THAT_DIES, server.key, server.otlp_http_url])
        assert next_change() == (None, "idle")
        assert next_change() == ("idle", "processing")
        assert next_change() == ("processing", "idle")
        assert agent.wait(timeout=30) == 0  # the heartbeats stop: stuck once the threshold has passed
        stopped = time.monotonic()
        assert next_change(2 + DELIVERY_DEADLINE_S) == ("idle", "stuck")
        stuck = receive_until(socket, "agent.stuck")["data"]
    assert time.monotonic() - stopped < 2 + DELIVERY_DEADLINE_S
    assert stuck["agent_id"] == "stream-status" and stuck["stuck_threshold_seconds"] == 2
    assert stuck["heartbeat_age_seconds"] > 2


def test_a_revoked_key_gets_its_socket_closed_within_the_key_cache_time(server: ServeProcess) -> None:
    keys_url = f"{server.api_url}/v1/api-keys"
    created = httpx.post(keys_url, json={"key_type": "live"}, headers=server.auth_headers, timeout=10)
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["key_id"]
    with open_stream(server, key) as revoked, open_stream(server) as other:
        for socket in (revoked, other):
            subscribe(socket, ["events"], agent_id=["stream-revoked"])
        hb = start_hiveloop(server)
        agent = hb.agent("stream-revoked", heartbeat_interval=0)
        flush()
        for socket in (revoked, other):  # both keys stream the tenant's events
            assert receive_until(socket, "event.new")["data"]["event_type"] == "agent_registered"

        answer = httpx.delete(f"{keys_url}/{key_id}", headers=server.auth_headers, timeout=10)
        assert answer.status_code == 200 and answer.json()["revoked"], answer.text
        revoked_at = time.monotonic()
        last = receive(revoked, REVOCATION_DEADLINE_S)
        with pytest.raises(ConnectionClosed) as closed:
            revoked.recv(timeout=REVOCATION_DEADLINE_S)
        closed_after = time.monotonic() - revoked_at

        # Events go on for the other key; the revoked socket has nothing more to give.
        agent.report_issue("after revocation", severity="low", issue_id="after")
        flush()
        assert receive_until(other, "event.new")["data"]["issue_id"] == "after"
    assert closed_after < REVOCATION_DEADLINE_S
    assert last["type"] == "error" and last["error"] == "unauthorized", last
    assert "revoked" in last["message"] and key not in last["message"]
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (CLOSE_UNAUTHENTICATED, "API key revoked")

    with open_stream(server, key) as again:  # the revoked key cannot come back
        assert receive(again)["error"] == "unauthorized"
        with pytest.raises(ConnectionClosed) as refused:
            again.recv(timeout=DELIVERY_DEADLINE_S)
    assert refused.value.rcvd is not None and refused.value.rcvd.code == CLOSE_UNAUTHENTICATED


def test_bad_messages_are_answered_and_the_socket_stays_usable(server: ServeProcess) -> None:
    bad = [
        ("[" * 100_000, "too long"),
        ("[" * 10_000, "recursion limit exceeded"),
        ('{"action": "subscribe", "channels": ["events"], "filters": {"agent": ["x"]}}', "unknown field"),
        (b'{"action": "ping"}', "binary frames are not read"),
    ]
    with open_stream(server) as socket:
        for message, expected in bad:
            socket.send(message)
            assert_bad_request(receive(socket), expected)
        subscribe(socket, ["events"], agent_id=["stream-bad-input"])
        start_hiveloop(server).agent("stream-bad-input", heartbeat_interval=0)
        flush()
        assert receive_until(socket, "event.new")["data"]["agent_id"] == "stream-bad-input"
    assert "Traceback" not in server.log() and "Exception" not in server.log()
