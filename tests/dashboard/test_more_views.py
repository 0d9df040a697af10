"""The activity stream, cost explorer, pipeline, insights and settings in a real Chromium, over a
real `hiveboard serve` filled through HiveLoop (the shared fleet plus an operations agent and a
research task that exercise the pipeline and the Insights tab). Every test fails if its page logged
an error or asked another origin (the `page` fixture)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

import hiveloop
from tests.dashboard.conftest import sign_in_with_key, wait_for
from tests.serve_process import DEV_KEY, ServeProcess

SONNET = "claude-sonnet-4-20250514"
UNPRICED = "acme-private-model-7"


class UpstreamTimeout(Exception):
    pass


def send_operations(server: ServeProcess) -> None:
    """An agent with a pipeline to watch, and a research task with the guide's Layer 3-4 events."""
    hb = hiveloop.init(api_key=DEV_KEY, endpoint=server.api_url, flush_interval=0.2)
    ops = hb.agent("ops-agent", type="operations", version="1.0.0", heartbeat_interval=0)
    ops.queue_snapshot(depth=4, oldest_age_seconds=900, items=[{"id": "job-1", "summary": "Sync CRM"}])
    ops.report_issue("CRM API returning 403", severity="high", issue_id="crm-403", category="permissions")
    ops.todo("todo-1", action="created", summary="Rotate the CRM token", priority="high")
    ops.scheduled([{"id": "sync", "name": "CRM sync", "interval": "1h"}, {"id": "report", "name": "Report"}])
    with ops.task("task-insight", project="research", type="research") as task:
        task.llm_call(
            "plan", SONNET, tokens_in=1000, tokens_out=100, cost=0.01, prompt_preview="Plan the research",
            response_preview="1. search 2. read", metadata={"turn_number": 1, "stop_reason": "tool_use",
                                                            "cache_read_input_tokens": 400},
        )  # fmt: skip
        task.llm_call(
            "answer", SONNET, tokens_in=1000, tokens_out=50, cost=0.002,
            metadata={"turn_number": 2, "stop_reason": "max_tokens"},
        )  # fmt: skip
        task.event(
            "custom",
            payload={"kind": "anomaly", "summary": "Agent called web_search 3x with the same query",
                     "data": {"detector": "cycle", "tool_name": "web_search"}},
        )  # fmt: skip
        task.event(
            "custom",
            payload={"kind": "learning", "data": {"category": "tool_selection", "correction_applied": True,
                                                  "description": "Searching competitors instead"}},
        )  # fmt: skip
        task.event(
            "custom",
            payload={"kind": "context_compaction", "data": {"tokens_before": 180000, "tokens_after": 60000}},
        )  # fmt: skip
        for attempt in (1, 2):
            try:
                with ops.track_context("fetch_page"):
                    if attempt == 1:
                        raise UpstreamTimeout("no answer within 5 s")
            except UpstreamTimeout:
                task.retry("Upstream timeout", attempt=attempt)
    hiveloop.flush(timeout=10)
    wait_for(lambda: _pipeline_totals(server)["scheduled_items"] == 2, "the operations agent's pipeline")


def _pipeline_totals(server: ServeProcess) -> dict[str, int]:
    return httpx.get(f"{server.api_url}/v1/pipeline", headers=server.auth_headers, timeout=10).json()[
        "totals"
    ]


@pytest.fixture(scope="module", autouse=True)
def operations(server: ServeProcess, fleet: None) -> Iterator[None]:
    hiveloop.reset()
    try:
        yield send_operations(server)
    finally:
        hiveloop.reset()


# ---- activity stream ----------------------------------------------------------------------------------


def test_the_activity_stream_tells_each_event_as_a_sentence_with_links(page: Page) -> None:
    page.goto("/activity")
    call = page.locator('.events li[data-event-type="llm_call"]', has_text="task-cost")
    expect(call.locator(".sentence")).to_have_text(
        f"planner-agent called {SONNET} for answer, 1,800 → 250 tokens, $0.0042 in task-cost"
    )
    expect(call.get_by_role("link", name="planner-agent")).to_have_attribute("href", "/agents/planner-agent")
    failed = page.locator('.events li[data-event-type="action_failed"]', has_text="charge_card")
    expect(failed.locator(".sentence")).to_have_text(
        "billing-agent's charge_card failed in task-fail: ValueError: card declined by the issuer"
    )
    expect(failed.locator(".severity")).to_have_text("error")
    times = page.locator(".events li time").evaluate_all("els => els.map(el => el.getAttribute('datetime'))")
    assert times == sorted(times, reverse=True), "newest first"
    # An event's time opens its task's timeline with that very span in the inspector.
    call_id = call.get_attribute("data-event")
    call.locator(".event-time a").click()
    expect(page).to_have_url(re.compile(rf"/tasks/task-cost\?(.*&)?sel={call_id}\b"))
    expect(page.locator(".inspector")).to_contain_text(call_id)
    expect(page.locator(".inspector")).to_contain_text(SONNET)


def test_a_new_sdk_event_appears_in_the_open_stream_within_3_s(page: Page, server: ServeProcess) -> None:
    page.goto("/activity")
    expect(page.locator(".live")).to_have_text("● live")
    page.evaluate("window.notReloaded = true")
    hb = hiveloop.init(api_key=DEV_KEY, endpoint=server.api_url, flush_interval=0.2)
    sent = time.monotonic()
    hb.agent("live-agent", heartbeat_interval=0).event(
        "custom", payload={"kind": "runtime", "summary": "Switched to the fallback model"}
    )
    hiveloop.flush(timeout=3)
    row = page.locator(".events li", has_text="Switched to the fallback model")
    expect(row).to_contain_text("live-agent reported a runtime event", timeout=3000)
    assert time.monotonic() - sent <= 3.0
    assert page.evaluate("window.notReloaded") is True
    # Paused, the stream holds new events back and says how many; resuming shows them.
    page.get_by_role("button", name="Pause").click()
    hb.agent("live-agent", heartbeat_interval=0).event(
        "custom", payload={"kind": "runtime", "summary": "Held back"}
    )
    hiveloop.flush(timeout=3)
    expect(page.locator(".live")).to_have_text("‖ paused, 1 new", timeout=5000)
    expect(page.locator(".events")).not_to_contain_text("Held back")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".events li").first).to_contain_text("Held back")


def test_without_the_stream_the_activity_view_checks_for_new_events_every_5_s(
    page: Page, server: ServeProcess
) -> None:
    # A network that lets no WebSocket through (a proxy that does not pass them on).
    page.route_web_socket(re.compile(r"/v1/stream$"), lambda socket: socket.close())
    page.goto("/activity")
    expect(page.locator(".live")).to_have_text("○ stream unreachable: checking every 5 s")
    page.evaluate("window.notReloaded = true")
    hb = hiveloop.init(api_key=DEV_KEY, endpoint=server.api_url, flush_interval=0.2)
    hb.agent("live-agent", heartbeat_interval=0).event(
        "custom", payload={"kind": "runtime", "summary": "Sent while the stream is unreachable"}
    )
    hiveloop.flush(timeout=3)
    # Within one check (5 s) and its request.
    row = page.locator(".events li", has_text="Sent while the stream is unreachable")
    expect(row).to_contain_text("live-agent reported a runtime event", timeout=7000)
    assert page.evaluate("window.notReloaded") is True


def test_activity_filters_live_in_the_url_and_a_permalink_restores_them(page: Page) -> None:
    page.goto("/activity")
    page.get_by_role("checkbox", name="Errors").check()
    expect(page).to_have_url(re.compile(r"kinds=error"))
    rows = page.locator(".events li")
    # task-fail's failed action and task, ops-agent's failed fetch_page and its high issue
    expect(rows).to_have_count(4)
    expect(rows.locator(".severity")).to_have_text(["error"] * 4)
    page.get_by_role("textbox", name="Task").fill("task-fail")
    page.get_by_role("textbox", name="Task").press("Enter")
    expect(page).to_have_url(re.compile(r"task=task-fail"))
    permalink = page.url
    other = page.context.new_page()
    other.goto(permalink)
    expect(other.get_by_role("checkbox", name="Errors")).to_be_checked()
    expect(other.get_by_role("textbox", name="Task")).to_have_value("task-fail")
    expect(other.locator(".events li")).to_have_count(2)
    other.close()


def test_the_activity_stream_pages_back_in_time(page: Page) -> None:
    page.goto("/activity?agent=planner-agent&limit=4")
    rows = page.locator(".events li")
    expect(rows).to_have_count(4)
    first = rows.evaluate_all("rows => rows.map(row => row.dataset.event)")
    last_of_first = page.locator(".events li time").last.get_attribute("datetime")
    page.get_by_role("button", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(page.locator(".filter-note")).to_contain_text("Older events")
    expect(rows.first).not_to_have_attribute("data-event", first[0])
    second = rows.evaluate_all("rows => rows.map(row => row.dataset.event)")
    assert second and not set(first) & set(second)
    first_of_second = page.locator(".events li time").first.get_attribute("datetime")
    assert first_of_second <= last_of_first, "the next page is older"
    page.get_by_role("button", name="First page").click()
    expect(rows.first).to_have_attribute("data-event", first[0])


# ---- cost explorer ------------------------------------------------------------------------------------


def test_the_cost_explorer_says_reported_estimated_and_unpriced_apart(page: Page) -> None:
    page.goto("/cost?range=1h")
    totals = page.locator(".cost-totals")
    expect(totals.locator(".total-cost")).to_have_text("$0.0162 + 1 unpriced")
    expect(totals.locator(".reported")).to_have_text("$0.0162 (3 calls)")
    expect(totals.locator(".unpriced-total")).to_have_text("1 call")
    unpriced = page.locator(f'.cost-by-model tr[data-key="{UNPRICED}"]')
    expect(unpriced.locator(".cost")).to_have_text("unpriced")
    expect(page.locator(".cost-by-model")).not_to_contain_text(re.compile(r"\$0(?![.\d])"))
    expect(page.locator(f'.cost-by-model tr[data-key="{SONNET}"] .cost')).to_have_text("$0.0162")
    expect(page.locator('.cost-by-agent tr[data-key="ops-agent"] .cost')).to_have_text("$0.012")
    expect(page.locator(".series-chart canvas").first).to_be_visible()
    page.get_by_label("Cost over time by").select_option("agent")
    expect(page).to_have_url(re.compile(r"by=agent"))
    expect(page.locator(".series-chart .u-legend")).to_contain_text("planner-agent")


def test_the_cost_explorer_drills_down_to_a_call_and_its_permalink_restores_it(page: Page) -> None:
    page.goto("/cost?range=1h")
    page.locator(f'.cost-by-model tr[data-key="{SONNET}"] button').click()
    expect(page).to_have_url(re.compile(r"model=claude-sonnet-4-20250514"))
    calls = page.locator("table.calls tbody tr")
    expect(calls).to_have_count(3)
    page.locator("table.calls").get_by_role("button", name="plan").click()
    inspector = page.locator(".call-inspector")
    expect(inspector.locator(".prompt")).to_have_text("Plan the research")
    expect(inspector).to_contain_text("reported by the agent")
    expect(inspector).to_contain_text("1,000 in → 100 out")
    expect(inspector).to_contain_text("400 read")
    expect(inspector.get_by_role("link", name="task-insight")).to_be_visible()
    permalink = page.url
    assert "call=" in permalink
    other = page.context.new_page()
    other.goto(permalink)
    expect(other.locator(".call-inspector .response")).to_have_text("1. search 2. read")
    expect(other.locator("table.calls tr.selected")).to_contain_text("plan")
    other.close()
    page.goto(f"/cost?range=1h&model={UNPRICED}")
    expect(page.locator("table.calls tbody tr .cost")).to_have_text("unpriced")


def test_the_call_list_sorts_and_pages_with_its_cursor(page: Page) -> None:
    page.goto(f"/cost?range=1h&model={SONNET}&sort=cost&limit=2")
    rows = page.locator("table.calls tbody tr")
    expect(rows.locator(".cost")).to_have_text(["$0.01", "$0.0042"])
    page.get_by_role("button", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(rows.locator(".cost")).to_have_text(["$0.002"])
    expect(page.get_by_role("button", name="Next page")).to_have_count(0)
    page.get_by_role("button", name="First page").click()
    expect(rows).to_have_count(2)


# ---- pipeline -----------------------------------------------------------------------------------------


def test_the_pipeline_shows_fleet_totals_attention_and_approvals_waiting(page: Page) -> None:
    page.goto("/pipeline")
    totals = page.locator(".pipeline-totals")
    for name, value in (
        ("queue_depth", "4"),
        ("active_issues", "1"),
        ("open_todos", "1"),
        ("pending_approvals", "1"),
        ("scheduled_items", "2"),
    ):
        expect(totals.locator(f'[data-total="{name}"]')).to_have_text(value)
    approver = page.locator('.pipeline-agents tr[data-agent="approver-agent"]')
    expect(approver.locator(".attention")).to_contain_text(re.compile(r"1 approval waiting \(longest \d"))
    ops = page.locator('.pipeline-agents tr[data-agent="ops-agent"]')
    expect(ops.locator(".attention")).to_contain_text("high issue: CRM API returning 403")
    expect(ops.locator(".attention")).to_contain_text("oldest queued item waits 15 min 0 s")
    first_rows = page.locator(".pipeline-agents tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.agent)"
    )
    assert first_rows[:2] == ["approver-agent", "ops-agent"], first_rows
    approval = page.locator('.approvals tr[data-task="task-wait"]')
    expect(approval).to_contain_text("Refund $450 to BlueStar")
    expect(approval).to_contain_text("finance-team")
    expect(approval.get_by_role("link", name="approver-agent")).to_be_visible()


# ---- insights -----------------------------------------------------------------------------------------


def test_insights_show_turns_stop_reasons_cache_anomalies_learning_retries_and_errors(page: Page) -> None:
    page.goto("/insights?agent=ops-agent")
    expect(page.locator('.turns tr[data-turn="1"]')).to_contain_text("$0.01")
    expect(page.locator('.turns tr[data-turn="2"]')).to_contain_text("$0.002")
    expect(page.locator('.stop-reasons tr[data-reason="max_tokens"]')).to_contain_text("truncated answers")
    expect(page.locator('.stop-reasons tr[data-reason="max_tokens"]')).to_contain_text("50%")
    expect(page.locator(".cache-totals")).to_contain_text("20%")  # 400 of 2,000 input tokens
    anomaly = page.locator('.anomalies tr[data-detector="cycle"]')
    expect(anomaly).to_contain_text("Agent called web_search 3x with the same query")
    expect(anomaly.get_by_role("link", name="task-insight")).to_be_visible()
    expect(page.locator('.learning tr[data-category="tool_selection"]')).to_contain_text(
        "Searching competitors"
    )
    expect(page.locator('.compaction tr[data-agent="ops-agent"]')).to_contain_text("180,000")
    retry = page.locator('.retries tr[data-failure="UpstreamTimeout"]')
    expect(retry.locator("td")).to_have_text(["1", "1", "100%", "1"])
    expect(page.locator('.error-types tr[data-error="UpstreamTimeout"]')).to_contain_text(
        "no answer within 5 s"
    )
    page.goto("/insights?agent=billing-agent")
    expect(page.locator("#turns .state-empty")).to_contain_text("turn_number")
    expect(page.locator('.error-types tr[data-error="ValueError"]').first).to_contain_text("card declined")


# ---- settings -----------------------------------------------------------------------------------------


def test_settings_create_a_key_shown_once_and_revoking_it_ends_its_session(
    page: Page, browser: Browser, server: ServeProcess
) -> None:
    page.goto("/settings")
    page.get_by_label("Name", exact=True).first.fill("browser test key")
    page.get_by_label("Type").select_option("test")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("The new key").input_value()
    assert key.startswith("hb_test_")
    row = page.locator("table.keys tr", has_text="browser test key")
    expect(row).to_contain_text("active")
    other = browser.new_context(base_url=server.api_url)
    sign_in_with_key(other, server, key)
    session_page = other.new_page()
    session_page.goto("/activity")
    expect(session_page.locator(".data-badge")).to_contain_text("test")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_label("The new key")).to_have_count(0)  # shown once, then gone
    row.get_by_role("button", name="Revoke…").click()
    row.get_by_role("button", name="Revoke", exact=True).click()
    expect(row).to_contain_text("revoked")
    # The stream's socket and the next request both check the key again: the session ends.
    session_page.wait_for_url("**/signin?reason=session_ended*", timeout=15_000)
    other.close()


def test_settings_create_edit_and_delete_a_project(page: Page) -> None:
    page.goto("/settings")
    form = page.get_by_role("form", name="Create a project")
    form.get_by_label("Slug").fill("browser-project")
    form.get_by_label("Name").fill("Browser project")
    form.get_by_role("button", name="Create project").click()
    row = page.locator('table.projects tr[data-project="browser-project"]')
    expect(row).to_contain_text("Browser project")
    row.get_by_role("button", name="Edit").click()
    row.get_by_label("Description").fill("Made by a test")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Made by a test")
    page.reload()
    expect(row).to_contain_text("Made by a test")
    row.get_by_role("button", name="Delete…").click()
    row.get_by_role("button", name="Delete", exact=True).click()
    expect(row).to_have_count(0)
    expect(page.locator('table.projects tr[data-project="research"]')).to_contain_text("named by a task")


def test_a_read_key_is_told_why_it_cannot_manage_keys(browser: Browser, server: ServeProcess) -> None:
    created = httpx.post(
        f"{server.api_url}/v1/api-keys",
        json={"key_type": "read", "name": "reader"},
        headers=server.auth_headers,
    ).json()
    context: BrowserContext = browser.new_context(base_url=server.api_url)
    sign_in_with_key(context, server, created["key"])
    page = context.new_page()
    page.goto("/settings")
    expect(page.locator(".notice").first).to_contain_text("only a live key creates and revokes keys")
    expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    expect(page.get_by_role("button", name="Revoke…")).to_have_count(0)
    expect(page.locator("table.keys")).to_contain_text("reader")
    context.close()


# ---- every view ---------------------------------------------------------------------------------------


def test_every_new_view_renders_without_console_errors_and_is_in_the_navigation(page: Page) -> None:
    for path, title, selector in (
        ("/activity", "Activity", ".events li"),
        ("/cost", "Cost explorer", ".cost-totals"),
        ("/pipeline", "Pipeline", ".pipeline-agents"),
        ("/insights", "Insights", ".turns"),
        ("/settings", "Settings", "table.keys"),
    ):
        page.goto(path)
        expect(page.locator(selector).first).to_be_visible()
        expect(page).to_have_title(f"{title} · HiveBoard")
        expect(page.locator(".topbar nav [aria-current=page]")).to_have_count(1)
