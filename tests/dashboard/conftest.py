"""Fixtures of the dashboard's tests: a real `hiveboard serve` per module, filled through the real
HiveLoop SDK over OTLP/HTTP, and a real Chromium driven by Playwright.

The browser is a system Chromium (`chromium`, `chromium-browser`, `google-chrome` on PATH) or
Playwright's own; when there is none, Playwright's installer is tried, and failing that the tests
fail (never skip) with the command that installs one.
"""

from __future__ import annotations

import contextvars
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

import hiveloop
from tests.serve_process import DEV_KEY, ServeProcess, serve_process

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")

SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome")
INSTALL_COMMAND = "apt-get install -y chromium"
PLAYWRIGHT_INSTALL_TIMEOUT_S = 600
# What the browser waits for a view's content before a test fails.
VIEW_TIMEOUT_MS = 10_000


def _playwright_chromium() -> str | None:
    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if Path(path).exists() else None


def find_chromium() -> str:
    """The path of a Chromium to drive: a system one, else Playwright's (installed now if need be)."""
    for name in SYSTEM_CHROMIUMS:
        found = shutil.which(name)
        if found:
            return found
    found = _playwright_chromium()
    if found:
        return found
    try:
        install = subprocess.run(
            [sys.executable, "-m", "playwright", "install", "chromium"],
            capture_output=True,
            text=True,
            timeout=PLAYWRIGHT_INSTALL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        # A download that hangs (no network, a proxy that never answers) is one more way of failing
        # to get Playwright's Chromium: the user still needs the command that installs one.
        why = f"did not finish within {PLAYWRIGHT_INSTALL_TIMEOUT_S} s"
    else:
        found = _playwright_chromium() if install.returncode == 0 else None
        if found:
            return found
        why = f"failed: {install.stderr.strip()[-300:]}"
    pytest.fail(
        f"The dashboard's browser tests need Chromium and none was found ({', '.join(SYSTEM_CHROMIUMS)} "
        f"on PATH, or Playwright's own, whose download {why}). Install one with: {INSTALL_COMMAND}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serve_process(tmp_path_factory.mktemp("serve")) as server:
        yield server


def send_fleet_then_die(api_url: str) -> None:
    """One agent in each status and the tasks the views' tests read, sent over OTLP/HTTP by a process
    that then dies without shutting HiveLoop down, as a crashed agent would: its agents keep their
    status (a clean shutdown would show them all offline) and its open tasks stay open."""
    hb = hiveloop.init(api_key=DEV_KEY, endpoint=api_url, flush_interval=0.2)

    # Registered, then no heartbeat within its 1 s threshold: stuck.
    hb.agent("stuck-agent", type="crawler", version="0.9.1", heartbeat_interval=3600, stuck_threshold=1)

    idle = hb.agent("planner-agent", type="planning", version="2.0.0", heartbeat_interval=0)
    with idle.task("task-replan", project="research", type="research") as task:
        task.plan("Answer the question", ["Search", "Summarise"])
        task.plan_step(0, "completed", "Searched")
        task.plan("Answer the question, again", ["Search wider", "Compare", "Summarise"], revision=1)
        task.plan_step(0, "completed", "Searched wider")
        task.plan_step(1, "started", "Comparing")
    with idle.task("task-cost", project="research", type="research") as task:
        task.llm_call(
            "answer",
            "claude-sonnet-4-20250514",
            tokens_in=1800,
            tokens_out=250,
            cost=0.0042,
            prompt_preview="How many moons has Mars?",
            response_preview="Two: Phobos and Deimos.",
        )
    with idle.task("task-unpriced", project="research", type="research") as task:
        task.llm_call("draft", "acme-private-model-7", tokens_in=900, tokens_out=120)

    failing = hb.agent("billing-agent", type="billing", version="1.4.0", heartbeat_interval=0)
    try:
        with failing.task("task-fail", project="billing", type="charge") as task:
            with failing.track_context("charge_card"):
                raise ValueError("card declined by the issuer")
    except ValueError:
        pass  # the task records the exception and re-raises it, as in an agent

    waiting = hb.agent("approver-agent", type="support", version="3.1.0", heartbeat_interval=0)
    task = waiting.start_task("task-wait", project="support", type="refund")
    task.plan("Refund the customer", ["Check order", "Get approval", "Refund"])
    task.plan_step(0, "completed", "Order checked")
    task.plan_step(1, "started", "Asking finance")
    task.request_approval("Refund $450 to BlueStar", approver="finance-team")

    working = hb.agent("live-agent", type="research", version="1.0.0", heartbeat_interval=0)
    task = working.start_task("task-live", project="research", type="research")
    task.plan("Keep going", ["One", "Two"])

    hiveloop.flush(timeout=10)
    os._exit(0)


def send_in_child_process(module: str, server: ServeProcess) -> None:
    """`send_fleet_then_die(server.api_url)` of `module`, in a child process (which it ends)."""
    subprocess.run(
        [sys.executable, "-c", f"import sys; from {module} import send_fleet_then_die; "
         "send_fleet_then_die(sys.argv[1])", server.api_url],
        cwd=REPOSITORY_ROOT,
        check=True,
        timeout=120,
    )  # fmt: skip


def send_fleet(server: ServeProcess) -> None:
    """`send_fleet_then_die` in a child process, then wait until the API shows the fleet."""
    send_in_child_process(__name__, server)
    wait_for(lambda: _agent_statuses(server).get("stuck-agent") == "stuck", "stuck-agent to be stuck")
    wait_for(lambda: len(_agent_statuses(server)) == 5, "the 5 agents to be listed")


def _agent_statuses(server: ServeProcess) -> dict[str, str]:
    agents = httpx.get(f"{server.api_url}/v1/agents", headers=server.auth_headers, timeout=10).json()["data"]
    return {agent["agent_id"]: agent["derived_status"] for agent in agents}


def wait_for(condition: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def in_own_context(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a copy of the current context: tasks it leaves open (as the fleet does)
    stay the current task of that copy only, not of the tests that run after it in this thread."""
    return contextvars.copy_context().run(function, *args)


@pytest.fixture(scope="module")
def fleet(server: ServeProcess) -> None:
    send_fleet(server)


def sign_in_with_key(context: BrowserContext, server: ServeProcess, key: str = DEV_KEY) -> None:
    page = context.new_page()
    page.goto(f"{server.api_url}/signin")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.api_url}/")
    page.close()


@contextmanager
def signed_in_context(browser: Browser, server: ServeProcess) -> Iterator[BrowserContext]:
    """A new browser context of `server`, signed in with the seeds' dev key."""
    context = browser.new_context(base_url=server.api_url)
    sign_in_with_key(context, server)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, server: ServeProcess, fleet: None) -> Iterator[BrowserContext]:
    """A browser context signed in with the seeds' dev key, after the fleet was sent."""
    with signed_in_context(browser, server) as context:
        yield context


@dataclass
class Console:
    """Errors the page logged or threw."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{message.text} ({message.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))


@pytest.fixture
def page(signed_in: BrowserContext, server: ServeProcess) -> Iterator[Page]:
    """A fresh tab of the signed-in context; the test fails if any view logged an error or asked
    anything of another origin (the dashboard works offline)."""
    with watched_page(signed_in, server) as page:
        yield page


@contextmanager
def watched_page(context: BrowserContext, server: ServeProcess) -> Iterator[Page]:
    """A fresh tab of `context` on `server`, as the `page` fixture gives one."""
    page = context.new_page()
    page.set_default_timeout(VIEW_TIMEOUT_MS)
    console = Console()
    console.watch(page)
    elsewhere: list[str] = []
    ws_origin = server.api_url.replace("http://", "ws://", 1)
    page.on(
        "request",
        lambda request: None if request.url.startswith(server.api_url) else elsewhere.append(request.url),
    )
    page.on(
        "websocket", lambda socket: None if socket.url.startswith(ws_origin) else elsewhere.append(socket.url)
    )
    try:
        yield page
    finally:
        page.close()
    assert console.errors == [], f"the dashboard logged errors: {console.errors}"
    assert elsewhere == [], f"the dashboard requested other origins: {elsewhere}"
