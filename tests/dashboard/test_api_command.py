"""`hiveboard api` as the README runs it (`hiveboard api --data-dir DIR`, here over embedded chDB):
the installed console script in its own process serves the dashboard at `/` of its port, as well as
the query API. A browser that is not signed in is sent to the sign-in page; the sign-in page, the
health check and, once signed in with a key, the dashboard's page answer."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.serve_process import (
    DEV_KEY,
    DEV_KEY_ENV,
    HOST,
    START_TIMEOUT_S,
    free_port,
    hiveboard_command,
    stop_process,
)

# What `hiveboard api` prints once its storage is open, just before it starts listening.
READY_LINE = "HiveBoard API on"


@dataclass
class ApiProcess:
    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "".join(self.output)


@pytest.fixture(scope="module")
def api_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    port = free_port()
    data_dir: Path = tmp_path_factory.mktemp("api")
    process = subprocess.Popen(
        [hiveboard_command(), "api", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)],
        env={**os.environ, DEV_KEY_ENV: DEV_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ApiProcess(process, f"http://{HOST}:{port}")

    def read_output() -> None:  # until the process ends, so its pipe never fills up
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line)

    threading.Thread(target=read_output, daemon=True).start()
    try:
        _wait_until_it_answers(server)
        yield server
    finally:
        stop_process(process)


def _wait_until_it_answers(server: ApiProcess) -> None:
    """The ready line is printed before uvicorn listens: wait for the port to answer too."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if server.process.poll() is not None:
            raise AssertionError(f"`hiveboard api` exited with {server.process.returncode}:\n{server.log()}")
        if any(line.startswith(READY_LINE) for line in server.output):
            try:
                httpx.get(f"{server.url}/health", timeout=1)
                return
            except httpx.TransportError:
                pass
        if time.monotonic() > deadline:
            raise AssertionError(f"`hiveboard api` did not start within {START_TIMEOUT_S} s:\n{server.log()}")
        time.sleep(0.1)


def test_it_says_where_its_dashboard_is(api_process: ApiProcess) -> None:
    ready = next(line for line in api_process.output if line.startswith(READY_LINE))
    assert ready.rstrip().endswith(f"; dashboard: {api_process.url}/signin")


def test_its_health_check_answers_without_a_key(api_process: ApiProcess) -> None:
    response = httpx.get(f"{api_process.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "storage": "reachable"}


def test_the_dashboard_sends_a_browser_not_signed_in_to_the_sign_in_page(api_process: ApiProcess) -> None:
    response = httpx.get(f"{api_process.url}/")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2F"


def test_the_sign_in_page_is_served(api_process: ApiProcess) -> None:
    response = httpx.get(f"{api_process.url}/signin")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'name="key"' in response.text


def test_signing_in_with_a_key_opens_the_dashboard(api_process: ApiProcess) -> None:
    with httpx.Client(base_url=api_process.url) as browser:
        signed_in = browser.post(
            "/signin",
            data={"key": DEV_KEY, "next": "/tasks"},
            headers={"Origin": api_process.url},  # the sign-in form is accepted from its own site only
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/tasks"
        page = browser.get("/tasks")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "main.js" in page.text  # the dashboard's page, not the sign-in form again
        assert browser.get("/v1/agents").json()["data"] == []  # the session cookie opens the API
