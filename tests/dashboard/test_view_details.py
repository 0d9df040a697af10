"""Details of the dashboard's views in a real Chromium: a task timeline's collapsible action tree,
time breakdown, error chain, formatted JSON and link to Grafana; an agent's pipeline, heartbeat
payload, cost by model and why it is processing; the task table's type and project filters, sort by
duration, counts and estimated or unpriced costs; the cost explorer's estimated total and its range.

The fleet is this module's own, sent through HiveLoop to a `hiveboard serve` of its own by a process
that then dies without shutting HiveLoop down (so its open task stays open and its agents are not
shown offline). HiveLoop dates its spans with a clock of this module's, so every duration is exact
and one task ran three hours ago, outside the cost explorer's last hour. The Grafana link is tested
on a second `hiveboard serve`, started with `--grafana-url`, where one task id ran twice.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

import hiveloop
from tests.dashboard.conftest import send_in_child_process, signed_in_context, wait_for, watched_page
from tests.serve_process import DEV_KEY, ServeProcess, serve_process

SECOND_NS = 1_000_000_000
SONNET = "claude-sonnet-4-20250514"  # genai-prices knows it: $3 in, $15 out per million tokens
HAIKU = "claude-haiku-4-5-20251001"
UNKNOWN_MODEL = "acme-private-model-7"  # no price known: unpriced, never $0

# Task durations in seconds, as the clock below makes them.
DURATIONS = {
    "task-nested": 10,
    "task-handover": 8,
    "task-retry": 6,
    "task-old": 5,
    "task-estimated": 3,
    "task-unpriced": 2,
}
HEARTBEAT_PAYLOAD = {"queue_backend": "redis", "workers": 3, "regions": ["eu-west-1", "us-east-1"]}
SEARCH_PAYLOAD = {"query": "moons of Mars", "results": ["Phobos", "Deimos"], "cached": False}


class UpstreamTimeout(Exception):
    pass


class StepClock:
    """Nanoseconds since the epoch that move only when told (`advance`, `set`), plus 1 µs a reading
    so that no two spans share a timestamp. Read by HiveLoop from the agents' threads too."""

    def __init__(self, start_ns: int) -> None:
        self._ns = start_ns
        self._ticks = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self._ns + next(self._ticks) * 1000

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ns += int(seconds * SECOND_NS)

    def set(self, ns: int) -> None:
        with self._lock:
            self._ns = ns


def send_fleet_then_die(api_url: str) -> None:
    """This module's fleet, dated by a `StepClock`; then the process dies as a crashed agent would."""
    now = time.time_ns()
    clock = StepClock(now - 3 * 3600 * SECOND_NS)
    hb = hiveloop.init(api_key=DEV_KEY, endpoint=api_url, flush_interval=0.2, clock=clock)

    research = hb.agent("research-agent", type="research", version="2.0.0", heartbeat_interval=0)
    # Three hours ago: in the last 6 h, not in the last hour.
    with research.task("task-old", project="archive", type="research") as task:
        clock.advance(DURATIONS["task-old"] - 1)
        task.llm_call("summarise", SONNET, tokens_in=10_000, tokens_out=1_000, cost=0.5, duration_ms=1000)
        clock.advance(1)

    clock.set(now - 10 * 60 * SECOND_NS)
    # 10 s: 1 s of the agent's own work, then the action `research` for 7 s (its nested action
    # `search_web` 1 s, an LLM call 4 s), then 2 s of its own work again. LLM 4 s, tools 3 s, other 3 s.
    with research.task("task-nested", project="research", type="research") as task:
        clock.advance(1)
        with research.track_context("research"):
            clock.advance(0.5)
            with research.track_context("search_web") as search:
                clock.advance(1)
                search.set_payload(SEARCH_PAYLOAD)
            clock.advance(4.5)
            task.llm_call("answer", SONNET, tokens_in=1200, tokens_out=200, cost=0.004, duration_ms=4000)
            clock.advance(1)
        clock.advance(2)

    clock.advance(5)
    # fetch_page fails, is retried after a backoff and succeeds: a recovered error chain.
    with research.task("task-retry", project="research", type="crawl") as task:
        for attempt in (1, 2):
            try:
                with research.track_context("fetch_page"):
                    clock.advance(1)
                    if attempt == 1:
                        raise UpstreamTimeout("no answer within 5 s")
            except UpstreamTimeout:
                task.retry("Upstream timeout", attempt=attempt + 1, backoff_seconds=2)
                clock.advance(2)
        clock.advance(DURATIONS["task-retry"] - 4)

    clock.advance(5)
    with research.task("task-estimated", project="research", type="pricing") as task:
        clock.advance(DURATIONS["task-estimated"])
        # No cost reported: HiveBoard estimates it from the tokens and the model's prices.
        task.llm_call("draft", SONNET, tokens_in=2000, tokens_out=300, duration_ms=500)
    clock.advance(5)
    with research.task("task-unpriced", project="research", type="pricing") as task:
        clock.advance(DURATIONS["task-unpriced"])
        task.llm_call("draft", UNKNOWN_MODEL, tokens_in=900, tokens_out=120, duration_ms=500)

    clock.advance(5)
    support = hb.agent("support-agent", type="support", version="1.0.0", heartbeat_interval=0)
    # Three actions, one failed; escalated twice to a person: counted in the task table.
    with support.task("task-handover", project="billing", type="refund") as task:
        for name in ("lookup_order", "check_policy"):
            with support.track_context(name):
                clock.advance(1)
        try:
            with support.track_context("issue_refund"):
                clock.advance(1)
                raise PermissionError("refund above the agent's limit")
        except PermissionError:
            pass
        task.escalate("Refund above the limit", assigned_to="ops-lead")
        clock.advance(1)
        task.escalate("Still no answer", assigned_to="ops-lead")
        clock.advance(DURATIONS["task-handover"] - 4)

    clock.advance(5)
    heartbeat_sent = threading.Event()

    def heartbeat_payload() -> dict[str, Any]:
        heartbeat_sent.set()
        return HEARTBEAT_PAYLOAD

    ops = hb.agent(
        "ops-agent",
        type="operations",
        version="1.2.0",
        heartbeat_interval=3600,
        stuck_threshold=86_400,
        heartbeat_payload=heartbeat_payload,
    )
    ops.queue_snapshot(
        depth=4,
        oldest_age_seconds=900,
        items=[
            {"id": "job-1", "summary": "Sync CRM", "age_seconds": 900},
            {"id": "job-2", "summary": "Send the digest", "age_seconds": 65},
        ],
    )
    for _ in range(3):  # counted as three occurrences
        ops.report_issue("CRM API returning 403", severity="high", issue_id="crm-403")
        clock.advance(1)
    ops.todo("todo-1", action="created", summary="Rotate the CRM token", priority="high")
    ops.scheduled(
        [{"id": "sync", "name": "CRM sync", "interval": "1h"}, {"id": "report", "name": "Weekly report"}]
    )
    ops.llm_call("triage", SONNET, tokens_in=500, tokens_out=50, cost=0.003)
    ops.llm_call("triage", SONNET, tokens_in=400, tokens_out=40, cost=0.002)
    ops.llm_call("classify", HAIKU, tokens_in=300, tokens_out=10, cost=0.0004)

    live = hb.agent("live-agent", type="research", version="1.0.0", heartbeat_interval=0)
    live.start_task("task-open", project="research", type="research")

    # The heartbeat thread asks for its payload as it starts, then waits an hour.
    heartbeat_sent.wait(10)
    hiveloop.flush(timeout=10)
    os._exit(0)


def api(server: ServeProcess, path: str, **params: Any) -> Any:
    """What the query API answers to a GET of `path`."""
    response = httpx.get(f"{server.api_url}{path}", params=params, headers=server.auth_headers, timeout=10)
    response.raise_for_status()
    return response.json()


def _fleet_is_in(server: ServeProcess) -> bool:
    tasks = {task["task_id"]: task for task in api(server, "/v1/tasks", range="24h")["data"]}
    agents = {agent["agent_id"]: agent for agent in api(server, "/v1/agents")["data"]}
    return (
        set(tasks) == {*DURATIONS, "task-open"}
        # The estimate is made by the pricing job soon after the call is written.
        and tasks["task-estimated"]["estimated_calls"] == 1
        and agents.get("live-agent", {}).get("derived_status") == "processing"
        and "ops-agent" in agents
        and api(server, "/v1/agents/ops-agent")["heartbeat_payload"] == HEARTBEAT_PAYLOAD
        and api(server, "/v1/agents/ops-agent/pipeline")["scheduled"] is not None
    )


@pytest.fixture(scope="module")
def fleet(server: ServeProcess) -> None:
    """`send_fleet_then_die` in a child process, then wait until the API shows all of it."""
    send_in_child_process(__name__, server)
    wait_for(lambda: _fleet_is_in(server), "this module's fleet in the API")


def cells_by_header(page: Page, task_id: str) -> dict[str, str]:
    """The cells of the task table's row of `task_id`, by their column's header."""
    row = page.locator(f'table.tasks tbody tr[data-task="{task_id}"]')
    expect(row).to_have_count(1)
    return row.evaluate(
        """row => {
            const headers = [...row.closest("table").tHead.rows[0].cells].map(cell => cell.textContent.trim());
            return Object.fromEntries([...row.cells].map((cell, i) => [headers[i], cell.textContent.trim()]));
        }"""
    )


def task_ids(page: Page) -> Locator:
    """The task ids of the task table's rows (their row headers), in order."""
    return page.locator("table.tasks tbody th")


# ---- task timeline --------------------------------------------------------------------------------------


def test_a_nested_action_collapses_and_expands_its_children(page: Page) -> None:
    page.goto("/tasks/task-nested")
    rows = page.locator(".wf-rows > li")
    expect(rows.locator(".wf-open")).to_have_text(
        [
            re.compile(r"action research"),
            re.compile(r"action search_web"),
            re.compile(rf"LLM answer {SONNET}"),
        ]
    )
    # The children are indented under their parent.
    expect(rows.nth(1).locator(".wf-name")).to_have_attribute("style", re.compile(r"padding-left:\s*1\.1rem"))
    page.get_by_role("button", name="Collapse research").click()
    expect(rows).to_have_count(1)
    expect(page.locator(".wf-rows")).not_to_contain_text("search_web")
    expand = page.get_by_role("button", name="Expand research")
    expect(expand).to_have_attribute("aria-expanded", "false")
    expand.click()
    expect(rows.locator(".wf-open")).to_have_text(
        [re.compile(r"research"), re.compile(r"search_web"), re.compile(r"answer")]
    )
    expect(page.get_by_role("button", name="Collapse research")).to_have_attribute("aria-expanded", "true")


def test_the_time_breakdown_splits_the_task_into_llm_tools_and_other_time(page: Page) -> None:
    page.goto("/tasks/task-nested")
    breakdown = page.get_by_role("region", name="Where the time went")
    # 10 s: an LLM call of 4 s, actions for 7 s around it (3 s without it), 3 s of the agent's own.
    expect(breakdown.locator(".legend li")).to_have_text(
        ["LLM 4.0 s (40%)", "Tools 3.0 s (30%)", "Other 3.0 s (30%)"]
    )
    expect(breakdown.locator(".breakdown-bar .part")).to_have_count(3)
    # A task that never failed has no error chain.
    expect(page.get_by_role("heading", name="Error chains")).to_have_count(0)


def test_a_failed_then_retried_action_shows_its_recovered_error_chain(page: Page) -> None:
    page.goto("/tasks/task-retry")
    chains = page.get_by_role("region", name="Error chains").locator(".chains > li")
    expect(chains).to_have_count(1)
    expect(chains.first).to_contain_text("recovered after 1 retry")
    expect(chains.first.locator("ol > li")).to_have_text(
        [
            "action failed fetch_page: UpstreamTimeout: no answer within 5 s",
            "retry started · backoff 2 s",
            "action completed fetch_page",
        ]
    )
    # A link of the chain opens its span in the inspector.
    chains.first.get_by_role("button", name="action failed").click()
    expect(page).to_have_url(re.compile(r"sel=[0-9a-f]{16}"))
    inspector = page.get_by_role("complementary", name="Inspector")
    expect(inspector.locator(".error-text")).to_have_text("UpstreamTimeout: no answer within 5 s")


def test_an_llm_call_opens_its_tasks_calls_in_the_cost_explorer_and_back(page: Page) -> None:
    page.goto("/tasks/task-nested")
    page.locator('.wf-row[data-kind="llm_call"] .wf-open').click()
    call_id = parse_qs(urlsplit(page.url).query)["sel"][0]
    page.get_by_role("link", name="This task's calls in the cost explorer").click()
    expect(page).to_have_url(re.compile(r"/cost\?.*task=task-nested"))
    assert parse_qs(urlsplit(page.url).query)["range"] == ["1h"]  # the task ran 10 min ago
    expect(page.locator(".filter-note")).to_contain_text("The calls of task task-nested only.")
    calls = page.locator("table.calls tbody tr")
    expect(calls).to_have_count(1)
    expect(calls.first).to_have_attribute("data-call", call_id)
    call = page.get_by_role("complementary", name="Call")
    expect(call).to_contain_text(SONNET)
    call.get_by_role("link", name="task-nested").click()  # and back, to the same call
    expect(page).to_have_url(re.compile(rf"/tasks/task-nested\?.*sel={call_id}"))
    page.go_back()
    page.get_by_role("button", name="Show every task's").click()
    expect(calls).not_to_have_count(1)


def test_selecting_an_action_shows_its_json_payload_pretty_printed(page: Page) -> None:
    page.goto("/tasks/task-nested")
    page.locator(".wf-row", has_text="search_web").locator(".wf-open").click()
    inspector = page.get_by_role("complementary", name="Inspector")
    expect(inspector.get_by_role("heading", name="search_web")).to_be_visible()
    payload = inspector.locator(".attributes > div", has=page.locator("dt", has_text="hiveboard.payload"))
    # The agent sent it as compact JSON; the inspector indents it.
    expect(payload.locator("pre.json")).to_have_js_property(
        "textContent", json.dumps(SEARCH_PAYLOAD, indent=2)
    )


# ---- agent ------------------------------------------------------------------------------------------------


def test_an_agents_page_shows_its_pipeline_heartbeat_payload_and_cost_by_model(page: Page) -> None:
    page.goto("/agents/ops-agent")
    pipeline = page.get_by_role("region", name="Pipeline")

    def part(heading: str) -> Locator:
        return pipeline.locator(".pipeline > div", has=page.get_by_role("heading", name=heading, exact=True))

    queue = part("Queue (4)")
    expect(queue).to_contain_text("oldest item waits 15 min 0 s")
    expect(queue.locator("li")).to_have_text(["Sync CRM (15 min 0 s)", "Send the digest (1 min 5 s)"])
    issues = part("Active issues (1)").locator("li")
    expect(issues).to_have_count(1)
    expect(issues.first).to_contain_text("high CRM API returning 403")
    expect(issues.first).to_contain_text("× 3, since")  # reported three times
    expect(part("Open todos (1)").locator("li")).to_have_text(["Rotate the CRM token (created, high)"])
    expect(part("Scheduled").locator("li")).to_have_text(["CRM sync", "Weekly report"])

    heartbeat = page.get_by_role("region", name="Heartbeat payload").locator("pre.json")
    expect(heartbeat).to_have_js_property("textContent", json.dumps(HEARTBEAT_PAYLOAD, indent=2))

    costs = page.get_by_role("region", name="Cost by model (24h)")
    by_model = {
        SONNET: ["2", "900", "90", "$0.005"],
        HAIKU: ["1", "300", "10", "$0.0004"],
    }
    expect(costs.locator("tbody th")).to_have_text(list(by_model))  # most expensive first
    for model, cells in by_model.items():
        expect(
            costs.locator("tbody tr", has=page.get_by_role("rowheader", name=model)).locator("td")
        ).to_have_text(cells)


def test_an_agent_with_an_open_task_says_it_is_processing_that_task(page: Page) -> None:
    page.goto("/agents/live-agent")
    expect(page.locator("h1 .badge")).to_have_text(re.compile(r"\bprocessing$"))
    why = page.locator(".why")
    expect(why).to_have_text("Working on task task-open.")
    why.get_by_role("link", name="task-open").click()
    expect(page).to_have_url(re.compile(r"/tasks/task-open$"))
    header = page.locator(".task-header")
    expect(header.locator(".badge")).to_have_text(re.compile(r"\bprocessing$"))
    duration = header.locator(".stats > div", has=page.locator("dt", has_text="Duration")).locator("dd")
    expect(duration).to_have_text("running")


# ---- tasks table -------------------------------------------------------------------------------------------


def test_the_type_and_project_filters_narrow_the_task_table_and_stay_in_the_url(page: Page) -> None:
    page.goto("/tasks")
    expect(task_ids(page)).to_have_count(len(DURATIONS) + 1)
    task_type = page.get_by_role("form", name="Task filters").get_by_label("Type")
    task_type.fill("pricing")
    task_type.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]type=pricing\b"))
    expect(task_ids(page)).to_have_text(["task-unpriced", "task-estimated"])
    page.reload()
    expect(task_type).to_have_value("pricing")
    expect(task_ids(page)).to_have_text(["task-unpriced", "task-estimated"])

    project = page.get_by_role("form", name="Filters").get_by_label("Project")
    with page.expect_response(lambda response: "/v1/filters" in response.url):
        project.focus()
    project.select_option("billing")
    expect(page).to_have_url(re.compile(r"[?&]project=billing\b"))
    # Both filters apply: no pricing task in the billing project.
    expect(page.locator(".state-empty")).to_contain_text("No task matches these filters")
    task_type.fill("")
    task_type.press("Enter")
    expect(page).not_to_have_url(re.compile(r"type="))
    expect(task_ids(page)).to_have_text(["task-handover"])
    project.select_option("archive")
    expect(page).to_have_url(re.compile(r"[?&]project=archive\b"))
    expect(task_ids(page)).to_have_text(["task-old"])


def test_sorting_by_duration_puts_the_longest_task_first_and_open_tasks_last(page: Page) -> None:
    page.goto("/tasks")
    expect(task_ids(page)).to_have_count(len(DURATIONS) + 1)
    page.get_by_label("Sort").select_option("duration")
    expect(page).to_have_url(re.compile(r"[?&]sort=duration\b"))
    longest_first = sorted(DURATIONS, key=DURATIONS.__getitem__, reverse=True)
    # An open task has no duration yet: last.
    expect(task_ids(page)).to_have_text([*longest_first, "task-open"])
    durations = page.locator("table.tasks").evaluate(
        """table => {
            const index = [...table.tHead.rows[0].cells].findIndex(cell => cell.textContent.trim() === "Duration");
            return [...table.tBodies[0].rows].map(row => row.cells[index].textContent.trim());
        }"""
    )
    assert durations == ["10 s", "8.0 s", "6.0 s", "5.0 s", "3.0 s", "2.0 s", "–"]


def test_the_task_table_counts_actions_errors_escalations_and_human_involvement(page: Page) -> None:
    page.goto("/tasks")
    counts = ("Actions", "Errors", "Escalations", "Human")

    def counted(task_id: str) -> list[str]:
        cells = cells_by_header(page, task_id)
        return [cells[name] for name in counts]

    # Three actions, one failed, escalated twice to a person (not one of the agents).
    assert counted("task-handover") == ["3", "1", "2", "yes"]
    assert cells_by_header(page, "task-handover")["Status"].endswith("escalated")
    # fetch_page failed, then succeeded: two actions, one error, no human.
    assert counted("task-retry") == ["2", "1", "0", "–"]
    # research and its nested search_web.
    assert counted("task-nested") == ["2", "0", "0", "–"]


def test_an_estimated_cost_is_marked_and_an_unknown_models_cost_is_unpriced_never_zero(page: Page) -> None:
    page.goto("/tasks?type=pricing")
    # 2,000 tokens in at $3 and 300 out at $15 per million: $0.0105, estimated by HiveBoard.
    estimated = page.locator('tr[data-task="task-estimated"] td.num').last
    expect(estimated).to_have_text("$0.0105 est.")
    expect(estimated.locator("abbr.estimated")).to_have_attribute(
        "title", re.compile("Estimated from tokens")
    )
    expect(page.locator('tr[data-task="task-unpriced"] td.num').last).to_have_text("unpriced")
    expect(page.locator("table.tasks")).not_to_contain_text(re.compile(r"\$0(?![.\d])"))
    # The same in the task's own timeline and its call.
    page.goto("/tasks/task-estimated")
    expect(page.locator(".task-cost")).to_have_text("$0.0105 est.")
    page.locator(".wf-row[data-kind=llm_call] .wf-open").click()
    expect(page.locator(".inspector .call-cost")).to_have_text("$0.0105 (estimated)")


# ---- cost explorer -------------------------------------------------------------------------------------------


def test_the_cost_explorer_shows_the_estimated_cost_apart_from_the_reported(page: Page) -> None:
    page.goto("/cost?range=1h")
    totals = page.get_by_role("region", name="Totals")
    # Reported: 0.004 + 0.003 + 0.002 + 0.0004; estimated: task-estimated's call; unpriced: task-unpriced's.
    expect(totals.locator(".reported")).to_have_text("$0.0094 (4 calls)")
    expect(totals.locator(".estimated-total")).to_have_text("$0.0105 (1 call)")
    expect(totals.locator(".unpriced-total")).to_have_text("1 call")
    expect(totals.locator(".total-cost")).to_have_text("$0.0199 + 1 unpriced")
    sonnet = page.locator(f'table.cost-by-model tr[data-key="{SONNET}"] td')
    # Calls, tokens in, tokens out, cost, reported, estimated, unpriced calls.
    expect(sonnet).to_have_text(["4", "4,100", "590", "$0.0195 est.", "$0.009", "$0.0105", "–"])


def test_changing_the_range_from_the_page_changes_the_url_and_the_totals(page: Page) -> None:
    page.goto("/cost?range=1h")
    totals = page.get_by_role("region", name="Totals")
    expect(totals.locator(".reported")).to_have_text("$0.0094 (4 calls)")
    page.get_by_role("form", name="Filters").get_by_label("Range").select_option("6h")
    expect(page).to_have_url(re.compile(r"[?&]range=6h\b"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("last 6h")
    # task-old's call, three hours ago, is in the last 6 h.
    expect(totals.locator(".reported")).to_have_text("$0.509 (5 calls)")
    expect(totals.locator(".total-cost")).to_have_text("$0.52 + 1 unpriced")
    page.reload()
    expect(page.get_by_role("form", name="Filters").get_by_label("Range")).to_have_value("6h")
    expect(totals.locator(".reported")).to_have_text("$0.509 (5 calls)")


# ---- Grafana link ---------------------------------------------------------------------------------------

GRAFANA_URL = "http://grafana.example:3000"


@pytest.fixture(scope="module")
def grafana_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A second `hiveboard serve`, told where Grafana is, with one task run twice (two traces)."""
    with serve_process(tmp_path_factory.mktemp("serve-grafana"), "--grafana-url", GRAFANA_URL) as server:
        hiveloop.reset()
        try:
            hb = hiveloop.init(api_key=DEV_KEY, endpoint=server.api_url, flush_interval=0.2)
            agent = hb.agent("grafana-agent", type="research", heartbeat_interval=0)
            for _ in range(2):
                with agent.task("task-twice", project="research"):
                    pass
            hiveloop.flush(timeout=10)
        finally:
            hiveloop.reset()
        wait_for(lambda: len(executions(server, "task-twice")) == 2, "both executions of task-twice")
        yield server


def executions(server: ServeProcess, task_id: str) -> list[dict[str, Any]]:
    """The task table's rows of `task_id`: one per execution."""
    return [task for task in api(server, "/v1/tasks", range="1h")["data"] if task["task_id"] == task_id]


@pytest.fixture(scope="module")
def grafana_context(browser: Browser, grafana_server: ServeProcess) -> Iterator[BrowserContext]:
    with signed_in_context(browser, grafana_server) as context:
        yield context


@pytest.fixture
def grafana_page(grafana_context: BrowserContext, grafana_server: ServeProcess) -> Iterator[Page]:
    """A tab on the server that knows Grafana, watched as the `page` fixture's."""
    with watched_page(grafana_context, grafana_server) as page:
        yield page


def test_with_a_grafana_url_the_timeline_links_to_the_task_in_grafana(
    grafana_page: Page, grafana_server: ServeProcess, page: Page
) -> None:
    latest = max(executions(grafana_server, "task-twice"), key=lambda run: run["started_at"])
    grafana_page.goto("/tasks/task-twice")
    link = grafana_page.get_by_role("link", name="Trace in Grafana")
    expect(link).to_have_attribute("href", re.compile(rf"^{re.escape(GRAFANA_URL)}/d/hiveboard-tasks/"))
    expect(link).to_have_attribute("target", "_blank")
    query = parse_qs(urlsplit(link.get_attribute("href") or "").query)
    assert query["var-task"] == ["task-twice"]
    # Grafana's time range holds the whole task.
    started = datetime.fromisoformat(latest["started_at"]).timestamp() * 1000
    ended = datetime.fromisoformat(latest["ended_at"]).timestamp() * 1000
    assert int(query["from"][0]) <= started and int(query["to"][0]) >= ended
    # Without --grafana-url, no link.
    page.goto("/tasks/task-nested")
    expect(page.get_by_role("link", name="Permalink")).to_be_visible()
    expect(page.get_by_role("link", name="Trace in Grafana")).to_have_count(0)


def test_the_grafana_link_of_each_execution_of_a_task_names_its_own_trace(
    grafana_page: Page, grafana_server: ServeProcess
) -> None:
    # A task id can run more than once, each run in a trace of its own. Grafana's Tasks & Timeline
    # dashboard, given the task id only, shows `any(TraceId)` of that id: the link must name the trace
    # of the execution on screen, or Grafana may show the other one.
    runs = executions(grafana_server, "task-twice")
    assert len({run["trace_id"] for run in runs}) == 2
    for run in runs:
        grafana_page.goto(f"/tasks/task-twice?span={run['task_span_id']}")
        expect(grafana_page.locator(".task-header")).to_be_visible()
        link = grafana_page.get_by_role("link", name="Trace in Grafana")
        expect(link).to_have_attribute("href", re.compile(re.escape(run["trace_id"])))
