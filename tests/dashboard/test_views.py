"""The dashboard's views in a real Chromium, over a real `hiveboard serve` filled through HiveLoop:
The Hive, an agent, the task table and task timelines. Every test fails if its page logged an error
(the `page` fixture)."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

import hiveloop
from tests.dashboard.conftest import in_own_context
from tests.serve_process import DEV_KEY, ServeProcess

ATTENTION = ["stuck-agent", "billing-agent", "approver-agent", "live-agent", "planner-agent"]


def test_the_hive_puts_the_stuck_agent_first_and_says_so(page: Page) -> None:
    page.goto("/")
    cards = page.locator(".cards > li")
    expect(cards).to_have_count(5)
    assert cards.evaluate_all("cards => cards.map(card => card.dataset.agent)") == ATTENTION
    first = cards.first
    expect(first.locator(".badge")).to_have_text(re.compile(r"\bstuck\b"))
    expect(first).to_contain_text("crawler · v0.9.1 · custom")
    expect(first.locator(".heartbeat")).to_contain_text("stuck after 1 s")
    waiting = page.locator('[data-agent="approver-agent"]')
    expect(waiting.locator(".badge")).to_have_text(re.compile(r"\bwaiting\b"))
    expect(waiting.get_by_role("link", name="task-wait")).to_be_visible()
    expect(page.locator(".status-counts")).to_contain_text("stuck 1")
    expect(page.locator(".summary .stats")).to_contain_text("Success rate")
    expect(page.locator(".cards .sparkline canvas")).to_have_count(5)


def test_clicking_a_card_filters_the_page_to_that_agent(page: Page) -> None:
    page.goto("/")
    page.locator('[data-agent="billing-agent"] .identity').click()
    expect(page).to_have_url(re.compile(r"\?agent=billing-agent$"))
    expect(page.locator(".cards > li")).to_have_count(1)
    expect(page.locator('[data-agent="billing-agent"]')).to_have_attribute("aria-current", "true")
    page.get_by_role("button", name="Show every agent").click()
    expect(page.locator(".cards > li")).to_have_count(5)


def test_the_global_filters_offer_the_fleets_agents_once_used(page: Page) -> None:
    page.goto("/tasks")
    expect(page.locator("table.tasks tbody tr").first).to_be_visible()
    with page.expect_response(lambda response: "/v1/filters" in response.url):
        page.locator("form.filters select[name=agent]").focus()
    agent = page.locator("form.filters select[name=agent]")
    for agent_id in ATTENTION:
        expect(agent.locator("option", has_text=re.compile(f"^{agent_id}$"))).to_have_count(1)
    agent.select_option("planner-agent")
    expect(page).to_have_url(re.compile(r"\?agent=planner-agent$"))
    agents = page.locator('table.tasks tbody tr td a[href^="/agents/"]')
    expect(agents.first).to_have_text("planner-agent")
    expect(agents.filter(has_not_text="planner-agent")).to_have_count(0)


def test_an_agent_says_why_it_has_its_status(page: Page) -> None:
    page.goto("/agents/approver-agent")
    expect(page.locator(".why")).to_contain_text("Waiting for approval from finance-team")
    expect(page.locator(".why")).to_contain_text("Refund $450 to BlueStar")
    page.goto("/agents/stuck-agent")
    expect(page.locator(".why")).to_contain_text("its stuck threshold is 1 s")
    page.goto("/agents/billing-agent")
    expect(page.locator(".why")).to_contain_text("Its last task failed: task-fail (ValueError)")
    expect(page.locator("#recent + .table-wrap")).to_contain_text("task-fail")


def test_a_waiting_task_shows_waiting_and_its_plan_one_of_three(page: Page) -> None:
    page.goto("/tasks/task-wait")
    expect(page.locator(".task-header .badge")).to_have_text(re.compile(r"\bwaiting\b"))
    expect(page.locator(".plan-progress")).to_have_text("1/3")
    steps = page.locator(".plan-step")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("completed")
    expect(steps.nth(1)).to_contain_text("in progress")
    expect(page.locator(".marker[data-event=approval_requested]")).to_have_count(1)


def test_a_replanned_tasks_plan_bar_shows_the_latest_revision(page: Page) -> None:
    page.goto("/tasks/task-replan")
    expect(page.locator(".plan-revision")).to_have_text("revision 1 (replanned)")
    expect(page.locator(".plan-step")).to_have_text(
        [re.compile("Search wider"), re.compile("Compare"), re.compile("Summarise")]
    )
    expect(page.locator(".plan-progress")).to_have_text("1/3")


def test_a_failed_action_shows_its_exception(page: Page) -> None:
    page.goto("/tasks/task-fail")
    row = page.locator(".wf-row.failed", has_text="charge_card")
    expect(row).to_contain_text("failed")
    row.locator(".wf-open").click()
    inspector = page.locator(".inspector")
    expect(inspector.locator(".error-text")).to_have_text("ValueError: card declined by the issuer")
    expect(inspector.locator(".stacktrace")).to_contain_text("Traceback")
    expect(page).to_have_url(re.compile(r"sel=[0-9a-f]{16}"))


def test_a_reported_cost_shows_exactly_and_an_unpriced_model_never_as_zero(page: Page) -> None:
    page.goto("/tasks/task-cost")
    expect(page.locator(".task-cost")).to_have_text("$0.0042")
    expect(page.locator(".task-header")).to_contain_text("1,800 → 250 tokens")
    page.locator(".wf-row[data-kind=llm_call] .wf-open").click()
    inspector = page.locator(".inspector")
    expect(inspector.locator(".call-cost")).to_have_text("$0.0042 (reported)")
    expect(inspector.locator(".preview")).to_have_text(
        ["How many moons has Mars?", "Two: Phobos and Deimos."]
    )
    page.goto("/tasks/task-unpriced")
    expect(page.locator(".task-cost")).to_have_text("unpriced")
    page.locator(".wf-row[data-kind=llm_call] .wf-open").click()
    expect(page.locator(".inspector .call-cost")).to_have_text("unpriced")
    page.goto("/tasks?agent=planner-agent")
    expect(page.locator('tr[data-task="task-unpriced"] .unpriced')).to_have_text("unpriced")
    expect(page.locator('tr[data-task="task-cost"]')).to_contain_text("$0.0042")
    expect(page.locator("table.tasks")).not_to_contain_text(re.compile(r"\$0(?![.\d])"))


def test_the_task_table_filters_sorts_and_keeps_it_in_the_url(page: Page) -> None:
    page.goto("/tasks?agent=planner-agent")
    expect(page.locator("table.tasks tbody tr")).to_have_count(3)
    page.goto("/tasks")
    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("table.tasks tbody tr")).to_have_count(1)
    expect(page.locator("table.tasks tbody")).to_contain_text("task-fail")
    page.get_by_label("Status").select_option("")
    page.get_by_label("Sort").select_option("cost")
    expect(page.locator("table.tasks tbody tr").first).to_have_attribute("data-task", "task-cost")
    page.reload()
    expect(page.get_by_label("Sort")).to_have_value("cost")
    expect(page.locator("table.tasks tbody tr").first).to_have_attribute("data-task", "task-cost")


def test_the_task_table_pages_with_its_cursor(page: Page) -> None:
    page.goto("/tasks?agent=planner-agent&limit=2")
    rows = page.locator("table.tasks tbody tr")
    expect(rows).to_have_count(2)
    first_page = rows.evaluate_all("rows => rows.map(row => row.dataset.task)")
    page.get_by_role("button", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(rows).to_have_count(1)
    second_page = rows.evaluate_all("rows => rows.map(row => row.dataset.task)")
    assert not set(first_page) & set(second_page)
    assert page.get_by_role("button", name="Next page").count() == 0
    page.reload()
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="First page").click()
    expect(rows).to_have_count(2)


def test_a_permalink_restores_the_same_view(page: Page) -> None:
    page.goto("/tasks/task-fail")
    page.locator(".wf-row.failed .wf-open").click()
    expect(page.locator(".inspector .error-text")).to_be_visible()
    permalink = page.get_by_role("link", name="Permalink").get_attribute("href")
    assert permalink and "sel=" in permalink and "span=" in permalink
    other = page.context.new_page()
    other.goto(permalink)
    expect(other.locator(".inspector .error-text")).to_have_text("ValueError: card declined by the issuer")
    expect(other.locator(".wf-row.selected")).to_contain_text("charge_card")
    other.close()


def start_followed_task(server: ServeProcess) -> Any:
    hb = hiveloop.init(api_key=DEV_KEY, endpoint=server.api_url, flush_interval=0.2)
    task = hb.agent("live-agent", heartbeat_interval=0).start_task("task-follow", project="research")
    task.plan("Follow me", ["First", "Second"])
    hiveloop.flush(timeout=5)
    return task


def test_a_new_sdk_event_appears_in_an_open_timeline_without_a_reload(
    page: Page, server: ServeProcess
) -> None:
    task = in_own_context(start_followed_task, server)
    page.goto("/tasks/task-follow")
    expect(page.locator(".live")).to_have_text("● live")
    expect(page.locator(".plan-step").first).to_contain_text("not started")
    page.evaluate("window.notReloaded = true")
    sent = time.monotonic()
    task.plan_step(0, "completed", "First step done")
    hiveloop.flush(timeout=3)
    expect(page.locator(".plan-step").first).to_contain_text("completed", timeout=3000)
    assert time.monotonic() - sent <= 3.0
    assert page.evaluate("window.notReloaded") is True


def test_keyboard_only_from_the_hive_to_a_task(page: Page) -> None:
    page.goto("/")
    expect(page.locator(".cards > li")).to_have_count(5)
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('agent-link')"):
            break
    assert page.evaluate("document.activeElement.textContent") == "stuck-agent"
    focus_visible = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_visible != "none"
    # On to the billing agent's card: its link is the next agent link.
    while page.evaluate("document.activeElement.textContent") != "billing-agent":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/agents/billing-agent$"))
    expect(page.get_by_role("rowheader", name="task-fail")).to_be_visible()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "task-fail":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tasks/task-fail\?span="))
    expect(page.locator(".task-header h1")).to_contain_text("task-fail")


def test_every_view_renders_without_console_errors(page: Page) -> None:
    for path, text in (
        ("/", "The Hive"),
        ("/agents/planner-agent", "planner-agent"),
        ("/tasks", "Tasks"),
        ("/tasks/task-replan", "task-replan"),
        ("/tasks?status=escalated", "No task matches these filters"),
    ):
        page.goto(path)
        expect(page.locator("main")).to_contain_text(text)


def test_a_missing_agent_or_task_shows_an_error_state(signed_in: BrowserContext) -> None:
    page = signed_in.new_page()  # the 404s are logged by the browser: no console check here
    page.goto("/agents/nobody")
    expect(page.locator(".state-error")).to_contain_text("no agent 'nobody'")
    page.goto("/tasks/no-such-task")
    expect(page.locator(".state-error")).to_contain_text("no task 'no-such-task'")
    page.close()


def test_money_and_times_are_formatted_as_the_browser_formats_them(page: Page) -> None:
    page.goto("/")
    expect(page.locator("main")).to_contain_text("The Hive")
    formatted = page.evaluate(
        """async () => {
            const main = document.querySelector('script[type="module"][src$="/main.js"]').src;
            const format = await import(main.replace(/main\\.js$/, "format.js"));
            // Amounts of different precision, interleaved, so that each reuses a formatter made before.
            const amounts = [0.004441, 1.23456, 0.00012345, 1234.5, 0.5, 0.0042, -0.0042, 1.2, 0.004441];
            const times = ["2026-12-07T11:47:14Z", "2026-01-02T03:04:05.678Z"];
            return {
                money: amounts.map(format.money),
                times: times.map(format.dateTime),
                expectedTimes: times.map((at) => new Date(at).toLocaleString()),
            };
        }"""
    )
    assert formatted["money"] == [
        "$0.00444",
        "$1.23",
        "$0.000123",
        "$1,235",
        "$0.5",
        "$0.0042",
        "-$0.0042",
        "$1.2",
        "$0.00444",
    ]
    assert formatted["times"] == formatted["expectedTimes"]
