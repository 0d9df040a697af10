"""The dashboard's global environment filter in a real Chromium: chosen once, it is in the URL and
every view shows what the agents of that environment sent. The fleet, sent through HiveLoop to a
`hiveboard serve` of this module's own, has one agent in production and one in staging, each with a
task, an LLM call, a retry and a queue."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

import hiveloop
from tests.dashboard.conftest import wait_for
from tests.serve_process import DEV_KEY, ServeProcess

AGENTS = {"production": "prod-worker", "staging": "staging-worker"}


@pytest.fixture(scope="module")
def fleet(server: ServeProcess) -> None:
    for environment, agent_id in AGENTS.items():
        hiveloop.reset()
        try:
            hb = hiveloop.init(
                api_key=DEV_KEY, endpoint=server.api_url, environment=environment, flush_interval=0.2
            )
            agent = hb.agent(agent_id, type="worker", version="1.0.0", heartbeat_interval=0)
            with agent.task(f"{environment}-task", project="shared", type="work") as task:
                task.llm_call("answer", "claude-sonnet-4-20250514", tokens_in=100, tokens_out=10, cost=0.002)
                task.retry("Upstream timeout", attempt=1)
            agent.queue_snapshot(depth=2, items=[{"id": f"{environment}-item"}])
            hiveloop.flush(timeout=10)
        finally:
            hiveloop.reset()

    def both_listed() -> bool:
        response = httpx.get(f"{server.api_url}/v1/pipeline", headers=server.auth_headers, timeout=10)
        return {agent["agent_id"] for agent in response.json()["agents"]} == set(AGENTS.values())

    wait_for(both_listed, "both environments' agents in the pipeline")


def choose_staging(page: Page, path: str) -> None:
    page.goto(path)
    page.get_by_label("Environment").select_option("staging")
    expect(page).to_have_url(re.compile(r"[?&]env=staging\b"))


def test_the_task_table_shows_the_chosen_environment_only(page: Page) -> None:
    choose_staging(page, "/tasks?range=1h")
    rows = page.locator("table.tasks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("staging-task")
    page.reload()  # the URL keeps the filter
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("staging-worker")


def test_the_activity_stream_shows_the_chosen_environment_only(page: Page) -> None:
    choose_staging(page, "/activity?range=1h")
    sentences = page.locator("ol.events li")
    expect(sentences.filter(has_text="staging-worker").first).to_be_visible()
    expect(sentences.filter(has_text="prod-worker")).to_have_count(0)


def test_the_cost_explorer_shows_the_chosen_environment_only(page: Page) -> None:
    choose_staging(page, "/cost?range=1h")
    rows = page.locator("table.cost-by-agent tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-key", "staging-worker")


def test_the_pipeline_and_its_totals_show_the_chosen_environment_only(page: Page) -> None:
    page.goto("/pipeline")
    expect(page.locator('[data-total="queue_depth"]')).to_have_text("4")
    choose_staging(page, "/pipeline")
    expect(page.locator('[data-total="queue_depth"]')).to_have_text("2")
    expect(page.get_by_role("link", name="staging-worker").first).to_be_visible()
    expect(page.get_by_role("link", name="prod-worker")).to_have_count(0)
