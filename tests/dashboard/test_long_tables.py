"""Tables of many agents in a real Chromium: the cost explorer and Insights show the first rows of a
long table, most first, and a button for the rest, kept in the URL. The fleet, sent through HiveLoop
to a `hiveboard serve` of this module's own, has more agents than a table shows at first."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

import hiveloop
from tests.dashboard.conftest import wait_for
from tests.serve_process import DEV_KEY, ServeProcess

AGENTS = 23
FIRST_ROWS = 20  # `first-rows.js`
MOST_RETRIES = "agent-07"


def agent_id(number: int) -> str:
    return f"agent-{number:02}"


@pytest.fixture(scope="module")
def fleet(server: ServeProcess) -> None:
    """`AGENTS` agents, each with one LLM call (agent-22 the most expensive, agent-00 the cheapest),
    one context compaction and one retry; `MOST_RETRIES` retried three times."""
    hiveloop.reset()
    try:
        hb = hiveloop.init(api_key=DEV_KEY, endpoint=server.api_url, flush_interval=0.2)
        for number in range(AGENTS):
            agent = hb.agent(agent_id(number), type="worker", version="1.0.0", heartbeat_interval=0)
            with agent.task(f"task-{number:02}", project="fleet", type="work") as task:
                task.llm_call("answer", "claude-sonnet-4-20250514", tokens_in=100, tokens_out=10,
                              cost=(number + 1) / 1000)  # fmt: skip
                task.event(
                    "custom",
                    payload={
                        "kind": "context_compaction",
                        "data": {"tokens_before": 1000, "tokens_after": 400},
                    },
                )
                for attempt in range(3 if agent_id(number) == MOST_RETRIES else 1):
                    task.retry("Upstream timeout", attempt=attempt + 1)
        hiveloop.flush(timeout=10)
    finally:
        hiveloop.reset()

    def listed() -> bool:
        response = httpx.get(
            f"{server.api_url}/v1/insights", params={"range": "1h"}, headers=server.auth_headers, timeout=10
        )
        insights = response.json()
        # Each agent's row and the row of its one failure type count its retries.
        retries = sum(row["retries"] for row in insights["retries"])
        return len(insights["compaction"]) == AGENTS and retries == 2 * (AGENTS + 2)

    wait_for(listed, f"the {AGENTS} agents in Insights")


def test_the_cost_explorer_shows_the_most_expensive_agents_first_and_the_rest_on_demand(page: Page) -> None:
    page.goto("/cost?range=1h")
    rows = page.locator("table.cost-by-agent tbody tr")
    expect(rows).to_have_count(FIRST_ROWS)
    expected = [agent_id(number) for number in range(AGENTS - 1, -1, -1)]
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.key)") == expected[:FIRST_ROWS]
    page.get_by_role("button", name=f"Show all {AGENTS} agents").click()
    expect(rows).to_have_count(AGENTS)
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.key)") == expected
    expect(page).to_have_url(re.compile(r"[?&]all=cost-by-agent\b"))

    page.reload()  # the URL keeps the whole table
    expect(rows).to_have_count(AGENTS)
    page.get_by_role("button", name=f"Show the first {FIRST_ROWS} agents only").click()
    expect(rows).to_have_count(FIRST_ROWS)
    assert "all=" not in page.url


def test_insights_cut_long_tables_and_list_the_agents_that_retried_most_first(page: Page) -> None:
    page.goto("/insights?range=1h")
    compaction = page.locator("table.compaction tbody tr")
    expect(compaction).to_have_count(FIRST_ROWS)
    agents = page.locator("table.retries tbody tr.retry-agent")
    expect(agents).to_have_count(FIRST_ROWS)
    # Each agent's row is followed by its failure type's.
    expect(page.locator("table.retries tbody tr.retry-type")).to_have_count(FIRST_ROWS)
    expect(agents.first).to_have_attribute("data-agent", MOST_RETRIES)
    expect(agents.first.locator("td").first).to_have_text("3")

    page.locator("#retries").get_by_role("button", name=f"Show all {AGENTS} agents").click()
    expect(agents).to_have_count(AGENTS)
    expect(compaction).to_have_count(FIRST_ROWS)  # each table is switched on its own
    expect(
        page.locator("#compaction").get_by_role("button", name=f"Show all {AGENTS} agents")
    ).to_have_attribute("aria-expanded", "false")
