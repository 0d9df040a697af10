"""An agent that shut down cleanly is offline; one whose heartbeats stopped without a shutdown is stuck.

Through the real pipeline: HiveLoop in this process or in a child Python process sends OTLP to a
real `hiveboard serve` (collector, chDB, query API), and the status is read from its API.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import hiveloop
from tests.serve_process import ServeProcess, serve_process

WAIT_S = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serve_process(tmp_path_factory.mktemp("offline") / "data") as running:
        yield running


def agent_card(server: ServeProcess, agent_id: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{server.api_url}/v1/agents/{agent_id}", headers=server.auth_headers, timeout=10)
    return answer.json() if answer.status_code == 200 else None


def wait_for_status(server: ServeProcess, agent_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    card = None
    while time.monotonic() < deadline:
        card = agent_card(server, agent_id)
        if card is not None and card["derived_status"] == status:
            return card
        time.sleep(0.2)
    raise AssertionError(f"{agent_id} is not {status} after {WAIT_S} s: {card}")


def test_an_agent_whose_process_calls_shutdown_is_offline(server: ServeProcess) -> None:
    hb = hiveloop.init(api_key=server.key, endpoint=server.api_url, flush_interval=60)
    hb.agent("clean-exit", heartbeat_interval=0.2, stuck_threshold=1)
    time.sleep(0.5)  # a few heartbeats
    assert hiveloop.shutdown(timeout=10)

    wait_for_status(server, "clean-exit", "offline")
    time.sleep(1.5)  # past its stuck threshold: still offline, never stuck
    card = wait_for_status(server, "clean-exit", "offline")
    assert card["is_stuck"] is False
    assert card["heartbeat_age_seconds"] > 1


def test_an_agent_whose_heartbeats_stop_without_shutdown_is_stuck(server: ServeProcess) -> None:
    hb = hiveloop.init(api_key=server.key, endpoint=server.api_url, flush_interval=60)
    agent = hb.agent("vanished", heartbeat_interval=0.2, stuck_threshold=1)
    time.sleep(0.5)
    agent._stop_heartbeat()  # the heartbeats stop, as when the process hangs or is killed
    assert hiveloop.flush(timeout=10)

    card = wait_for_status(server, "vanished", "stuck")
    assert card["is_stuck"] is True


def test_a_process_that_exits_normally_shows_its_agents_offline(server: ServeProcess) -> None:
    script = textwrap.dedent(
        f"""
        import hiveloop
        hb = hiveloop.init(api_key={server.key!r}, endpoint={server.api_url!r}, flush_interval=60)
        hb.agent("batch-job", heartbeat_interval=30, stuck_threshold=1)
        with hb.agent("batch-job").task("nightly"):
            pass
        # no shutdown(): the interpreter's exit runs it (atexit)
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr

    time.sleep(1.2)  # past its stuck threshold
    card = wait_for_status(server, "batch-job", "offline")
    assert card["is_stuck"] is False
    assert card["last_task_status"] == "completed"


def test_a_killed_process_leaves_its_agent_stuck(server: ServeProcess, tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, hiveloop
        hb = hiveloop.init(api_key={server.key!r}, endpoint={server.api_url!r}, flush_interval=60)
        hb.agent("killed-job", heartbeat_interval=30, stuck_threshold=1)
        hiveloop.flush(timeout=10)
        os._exit(0)  # no atexit: as a process killed by a signal
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr

    card = wait_for_status(server, "killed-job", "stuck")
    assert card["is_stuck"] is True
