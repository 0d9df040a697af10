"""The task table and the timeline of one task, with manual part 7's checklists (§11)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import AGENT, lead_task


def tasks(client: TestClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/tasks", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


def timeline(client: TestClient, tenant: Tenant, task_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/tasks/{task_id}/timeline", headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


# ---- the task table -----------------------------------------------------------------------------------


def test_task_row_has_llm_call_count_cost_tokens_and_counts(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = lead_task(run.hb)
        with agent.task("task-002", project="sales-pipeline") as task:
            task.llm_call("reasoning", "claude-sonnet-4-20250514", tokens_in=1000, tokens_out=100)
            task.llm_call("mystery", "no-such-model-xyz", tokens_in=10, tokens_out=1)
    rows = {row["task_id"]: row for row in tasks(client, tenant)["data"]}
    row = rows["task-001"]
    assert (row["agent_id"], row["project"], row["task_type"]) == (AGENT, "sales-pipeline", "lead_processing")
    assert row["llm_call_count"] == 1 and row["cost"] == pytest.approx(0.004)
    assert (row["tokens_in"], row["tokens_out"], row["total_tokens"]) == (1800, 250, 2050)
    assert row["action_count"] == 1 and row["retry_count"] == 1 and row["error_count"] == 0
    assert row["derived_status"] == "completed" and row["duration_ms"] > 0
    estimated = rows["task-002"]
    assert estimated["llm_call_count"] == 2 and estimated["unpriced_calls"] == 1
    # Claude Sonnet 4: $3 / $15 per million tokens; the unknown model adds tokens, not cost.
    assert estimated["cost"] == pytest.approx(1000 * 3e-6 + 100 * 15e-6)


def test_derived_statuses(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("done"):
            pass
        try:
            with agent.task("broken"):
                with agent.track_context("send_email"):
                    raise PermissionError("403")
        except PermissionError:
            pass
        with agent.task("handed-off") as task:
            task.escalate("Needs manual review", assigned_to="senior-sales")
        agent.start_task("running")
        waiting = agent.start_task("awaiting")
        waiting.request_approval("Credit $450?", approver="sales-lead")
    statuses = {row["task_id"]: row["derived_status"] for row in tasks(client, tenant)["data"]}
    assert statuses == {
        "done": "completed",
        "broken": "failed",
        "handed-off": "escalated",
        "running": "processing",
        "awaiting": "waiting",
    }
    broken = tasks(client, tenant, status="failed")["data"]
    assert [row["task_id"] for row in broken] == ["broken"]
    assert broken[0]["error_type"] == "PermissionError" and broken[0]["error_count"] == 2


def test_tasks_of_one_trace_keep_their_own_calls_and_counts(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    # A task started inside another is a child span: both tasks share the trace, not their counts.
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("outer") as outer:
            outer.llm_call("plan", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=1, cost=0.01)
            with agent.task("inner") as inner:
                inner.llm_call("step", "claude-sonnet-4-20250514", tokens_in=20, tokens_out=2, cost=0.02)
                inner.llm_call("check", "claude-sonnet-4-20250514", tokens_in=30, tokens_out=3, cost=0.03)
                with agent.track_context("lookup"):
                    pass
                inner.escalate("Needs review")
    rows = {row["task_id"]: row for row in tasks(client, tenant)["data"]}
    outer_row, inner_row = rows["outer"], rows["inner"]
    assert outer_row["trace_id"] == inner_row["trace_id"]
    assert (outer_row["llm_call_count"], outer_row["tokens_in"], outer_row["action_count"]) == (1, 10, 0)
    assert outer_row["cost"] == pytest.approx(0.01) and outer_row["derived_status"] == "completed"
    assert (inner_row["llm_call_count"], inner_row["tokens_in"], inner_row["action_count"]) == (2, 50, 1)
    assert inner_row["cost"] == pytest.approx(0.05) and inner_row["derived_status"] == "escalated"
    assert [row["task_id"] for row in tasks(client, tenant, sort="cost")["data"]] == ["inner", "outer"]
    inner_timeline = timeline(client, tenant, "inner")
    assert inner_timeline["task"] == inner_row
    calls = [node for node in inner_timeline["action_tree"] if node["type"] == "llm_call"]
    assert [(call["name"], call["cost"]) for call in calls] == [("step", 0.02), ("check", 0.03)]
    assert [node["name"] for node in timeline(client, tenant, "outer")["action_tree"]] == ["plan"]


def test_filters_sort_and_cursor(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        other = run.hb.agent("support-bot", heartbeat_interval=0)
        for index, cost in enumerate([0.03, 0.01, 0.02]):
            with agent.task(f"t{index}", project="alpha") as task:
                task.llm_call("call", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=1, cost=cost)
        with other.task("s0", project="beta", type="ticket"):
            pass
    assert [r["task_id"] for r in tasks(client, tenant, agent_id="support-bot")["data"]] == ["s0"]
    assert [r["task_id"] for r in tasks(client, tenant, project="alpha", sort="cost")["data"]] == [
        "t0",
        "t2",
        "t1",
    ]
    assert [r["task_id"] for r in tasks(client, tenant, task_type="ticket")["data"]] == ["s0"]
    newest_first = [r["task_id"] for r in tasks(client, tenant)["data"]]
    assert newest_first == ["s0", "t2", "t1", "t0"]
    first = tasks(client, tenant, limit=3)
    assert [r["task_id"] for r in first["data"]] == newest_first[:3] and first["pagination"]["has_more"]
    second = tasks(client, tenant, limit=3, cursor=first["pagination"]["next_cursor"])
    assert [r["task_id"] for r in second["data"]] == ["t0"] and not second["pagination"]["has_more"]
    oldest_first = tasks(client, tenant, order="asc", limit=2)
    following = tasks(client, tenant, order="asc", limit=2, cursor=oldest_first["pagination"]["next_cursor"])
    assert [r["task_id"] for r in oldest_first["data"] + following["data"]] == newest_first[::-1]
    bad = client.get("/v1/tasks", params={"cursor": "garbage"}, headers=tenant.headers())
    assert bad.status_code == 400 and "cursor" in bad.json()["message"]


# ---- the timeline -------------------------------------------------------------------------------------


def test_plan_steps_completed_failed_in_progress_and_not_started(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("lead-4801") as task:
            task.plan("Process lead", ["Search CRM", "Score lead", "Generate email", "Update CRM"])
            task.plan_step(0, "started", "Searching")
            task.plan_step(0, "completed", "Found record", turns=2, tokens=3200)
            task.plan_step(1, "failed", "Scoring API 500")
            task.plan_step(2, "started", "Drafting")
    plan = timeline(client, tenant, "lead-4801")["plan"]
    assert plan["goal"] == "Process lead" and plan["revision"] == 0
    assert [(s["description"], s["status"]) for s in plan["steps"]] == [
        ("Search CRM", "completed"),
        ("Score lead", "failed"),
        ("Generate email", "in_progress"),
        ("Update CRM", "not_started"),
    ]
    assert (plan["steps"][0]["turns"], plan["steps"][0]["tokens"]) == (2, 3200)
    assert plan["progress"] == {
        "total": 4,
        "completed": 1,
        "failed": 1,
        "in_progress": 1,
        "skipped": 0,
        "not_started": 1,
        "percent": 25.0,
    }


def test_replan_shows_the_latest_revision(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("replanned") as task:
            task.plan("Route lead", ["A", "B", "C"])
            task.plan_step(2, "failed", "Email API returned 403")
            task.plan("Revised: route to manual review", ["Notify manager", "Close"], revision=1)
            task.plan_step(0, "completed", "Manager notified")
    result = timeline(client, tenant, "replanned")
    plan = result["plan"]
    assert (plan["goal"], plan["revision"]) == ("Revised: route to manual review", 1)
    assert [s["status"] for s in plan["steps"]] == ["completed", "not_started"]
    # Earlier revisions stay in the timeline's events.
    assert [e["event_type"] for e in result["events"]].count("plan_created") == 2


def test_action_tree_nests_actions_and_llm_calls_in_sequence(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("turns") as task:
            # The pauses keep each 1 ms call (reported at its end) inside the task and apart from the
            # action before it, so that the breakdown counts all of it.
            time.sleep(0.002)
            task.llm_call("agent_turn", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=1, duration_ms=1)
            with agent.track_context("process_lead"):
                with agent.track_context("crm_search"):
                    time.sleep(0.005)  # longer than the LLM calls, whose start is end - duration
                task.llm_call("score", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=1, duration_ms=1)
            time.sleep(0.002)
            task.llm_call("agent_turn", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=1, duration_ms=1)
    result = timeline(client, tenant, "turns")
    tree = result["action_tree"]
    assert [(node["type"], node["name"]) for node in tree] == [
        ("llm_call", "agent_turn"),
        ("action", "process_lead"),
        ("llm_call", "agent_turn"),
    ]
    process = tree[1]
    assert process["status"] == "completed" and process["duration_ms"] > 0
    assert [(child["type"], child["name"]) for child in process["children"]] == [
        ("action", "crm_search"),
        ("llm_call", "score"),
    ]
    assert process["children"][1]["model"] == "claude-sonnet-4-20250514"
    types = [e["event_type"] for e in result["events"]]
    assert types[0] == "task_started" and types[-1] == "task_completed"
    assert types.index("action_started") > types.index("llm_call")
    breakdown = result["duration_breakdown"]
    assert breakdown["llm_ms"] == pytest.approx(3.0)
    # Tools: the top-level action net of the LLM call inside it.
    assert breakdown["tools_ms"] == pytest.approx(process["duration_ms"] - 1.0, abs=0.01)
    assert breakdown["total_ms"] == result["task"]["duration_ms"] and breakdown["other_ms"] >= 0


def test_failed_tool_is_a_red_node_with_exception_details(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("tool-fails"):
            try:
                with agent.track_context("send_email"):
                    raise PermissionError("SMTP relay denied")
            except PermissionError:
                pass
    (node,) = timeline(client, tenant, "tool-fails")["action_tree"]
    assert (node["name"], node["status"], node["error_type"]) == ("send_email", "failed", "PermissionError")
    assert "SMTP relay denied" in node["error_message"]
    assert "Traceback" in node["exception_stacktrace"] and "PermissionError" in node["exception_stacktrace"]


def test_retry_nodes_with_attempt_numbers_form_an_error_chain(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("enrich") as task:
            for attempt in range(1, 4):
                try:
                    with agent.track_context("enrich_lead"):
                        if attempt < 3:
                            raise TimeoutError("Enrichment API timeout")
                    break
                except TimeoutError:
                    task.retry("Enrichment API timeout", attempt=attempt, backoff_seconds=2.0)
            task.escalate("Lead score 0.12, needs manual review", assigned_to="senior-sales")
    result = timeline(client, tenant, "enrich")
    retries = [e for e in result["events"] if e["event_type"] == "retry_started"]
    assert [e["retry_attempt"] for e in retries] == [1, 2]
    recovered, escalated = result["error_chains"]
    assert recovered["outcome"] == "recovered" and recovered["retry_count"] == 2
    assert [link["event_type"] for link in recovered["links"]] == [
        "action_failed",
        "retry_started",
        "action_failed",
        "retry_started",
        "action_completed",
    ]
    assert recovered["links"][1]["backoff_seconds"] == 2.0
    assert escalated["outcome"] == "escalated" and escalated["links"][0]["summary"].startswith("Lead score")
    escalation = next(e for e in result["events"] if e["event_type"] == "escalated")
    assert escalation["severity"] == "warn" and escalation["attributes"][
        "hiveboard.escalation.assigned_to"
    ] == ("senior-sales")


def test_timeline_of_an_open_task_and_unknown_task(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        task = agent.start_task("long-running")
        task.set_payload({"score": 72})
        with agent.track_context("outer"):
            run.flush()
            result = timeline(client, tenant, "long-running")
            assert result["task"]["derived_status"] == "processing" and result["task"]["ended_at"] is None
            assert [(n["name"], n["status"]) for n in result["action_tree"]] == [("outer", "in_progress")]
        task.complete()
    done = timeline(client, tenant, "long-running")
    assert done["payload"] == {"score": 72} and done["task"]["derived_status"] == "completed"
    missing = client.get("/v1/tasks/nope/timeline", headers=tenant.headers())
    assert missing.status_code == 404 and "nope" in missing.json()["message"]


def test_a_reused_task_id_shows_the_latest_execution(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("daily"):
            pass
        try:
            with agent.task("daily"):
                raise RuntimeError("second run fails")
        except RuntimeError:
            pass
    rows = tasks(client, tenant)["data"]
    assert [r["derived_status"] for r in rows] == ["failed", "completed"]
    assert timeline(client, tenant, "daily")["task"]["derived_status"] == "failed"
    first = client.get(
        "/v1/tasks/daily/timeline", params={"task_span_id": rows[1]["task_span_id"]}, headers=tenant.headers()
    )
    assert first.json()["task"]["derived_status"] == "completed"
