"""Escalated tasks whose process died, human intervention on a task, and the totals that count them:
`/v1/metrics` (escalated tasks, stuck agents) and `/v1/pipeline` (scheduled items)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from hiveboard.api.auth import DataScope
from hiveboard.api.params import TimeRange, Window
from hiveboard.api.queries import agents, tasks
from hiveboard.storage import Storage
from tests.api.conftest import Telemetry, Tenant


def get(client: TestClient, tenant: Tenant, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


def task_rows(client: TestClient, tenant: Tenant, **params: Any) -> dict[str, dict[str, Any]]:
    return {row["task_id"]: row for row in get(client, tenant, "/v1/tasks", **params)["data"]}


def test_an_escalated_task_left_open_by_a_stuck_agent_is_escalated(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        # One heartbeat, then silence past the threshold: the process died with its tasks open.
        crashed = run.hb.agent("crashed", heartbeat_interval=3600, stuck_threshold=1)
        # Alive (its threshold is far): its escalated open task is still being worked on.
        alive = run.hb.agent("alive", heartbeat_interval=3600, stuck_threshold=300)
        run.wait_for_heartbeat("crashed")
        run.wait_for_heartbeat("alive")
        stranded = crashed.start_task("stranded")
        stranded.escalate("CRM down, needs a human", assigned_to="senior-sales")
        stranded.request_approval("Reopen the account?", approver="finance-team")
        crashed.start_task("plain-open")
        alive.start_task("in-hand").escalate("Needs review", assigned_to="senior-sales")
        with alive.task("handed-over") as task:
            task.escalate("Handed over", assigned_to="senior-sales")
        run.flush()
        time.sleep(1.2)

        rows = task_rows(client, tenant)
        assert {task: row["derived_status"] for task, row in rows.items()} == {
            "stranded": "escalated",
            "plain-open": "processing",
            "in-hand": "processing",
            "handed-over": "escalated",
        }
        assert set(task_rows(client, tenant, status="escalated")) == {"stranded", "handed-over"}
        assert set(task_rows(client, tenant, status="processing")) == {"plain-open", "in-hand"}
        assert set(task_rows(client, tenant, status="waiting")) == set()
        timeline = get(client, tenant, "/v1/tasks/stranded/timeline")
        assert timeline["task"]["derived_status"] == "escalated"
        recent = get(client, tenant, "/v1/agents/crashed")["recent_tasks"]
        assert {task["task_id"]: task["derived_status"] for task in recent} == {
            "stranded": "escalated",
            "plain-open": "processing",
        }

        # A page of one agent's tasks reads whether that agent alone is stuck.
        for agent_id in ("crashed", "alive"):
            of_agent = task_rows(client, tenant, agent_id=agent_id)
            assert of_agent == {task: row for task, row in rows.items() if row["agent_id"] == agent_id}
        assert set(task_rows(client, tenant, agent_id="crashed", status="escalated")) == {"stranded"}

        summary = get(client, tenant, "/v1/metrics", range="1h")["summary"]
        assert (summary["escalated"], summary["stuck_agents"], summary["processing"]) == (2, 1, 3)
        of_alive = get(client, tenant, "/v1/metrics", range="1h", agent_id="alive")["summary"]
        assert (of_alive["escalated"], of_alive["stuck_agents"]) == (1, 0)
        of_crashed = get(client, tenant, "/v1/metrics", range="1h", agent_id="crashed")["summary"]
        assert (of_crashed["escalated"], of_crashed["stuck_agents"]) == (1, 1)


def test_the_stuck_agents_are_read_only_for_tasks_open_and_escalated(
    storage: Storage, telemetry: Telemetry, tenant: Tenant
) -> None:
    # Only an open task that was escalated has a derived status that depends on its agent being stuck.
    with telemetry.hiveloop(tenant) as run:
        crashed = run.hb.agent("crashed", heartbeat_interval=3600, stuck_threshold=1)
        run.wait_for_heartbeat("crashed")
        with crashed.task("handed-over") as task:
            task.escalate("Handed over", assigned_to="senior-sales")
        crashed.start_task("plain-open")
        crashed.start_task("stranded").escalate("CRM down, needs a human", assigned_to="senior-sales")
        run.flush()
        time.sleep(1.2)

    scope = DataScope(tenant.id, "live")
    reads: list[str] = []

    def stuck_agents() -> list[str]:
        stuck = agents.stuck_agent_ids(storage, scope)
        reads.append(",".join(stuck))
        return stuck

    def statuses(**filters: Any) -> dict[str, str]:
        window = Window.last(TimeRange.DAY)
        page = tasks.list_tasks(
            storage, scope, window, tasks.TaskFilters(**filters), limit=50, stuck_agents=stuck_agents
        )
        return {task.task_id: task.derived_status for task in page.data}

    assert statuses(task_id="plain-open") == {"plain-open": "processing"}
    assert statuses(task_id="handed-over") == {"handed-over": "escalated"}
    assert statuses(status="failed") == {}
    assert reads == []
    assert statuses() == {"handed-over": "escalated", "plain-open": "processing", "stranded": "escalated"}
    assert reads == ["crashed"]
    key = tasks.latest_task_key(storage, scope, "stranded")
    assert key is not None
    timeline_row = tasks.task_row_of_key(storage, scope, key, stuck_agents=stuck_agents)
    assert timeline_row is not None and timeline_row["DerivedStatus"] == "escalated"
    assert reads == ["crashed", "crashed"]


def test_human_intervention_is_an_approval_or_an_escalation_to_a_person(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent("lead-qualifier", heartbeat_interval=0)
        run.hb.agent("senior-agent", heartbeat_interval=0)
        with agent.task("approved") as task:
            task.request_approval("Refund $450 for BlueStar?", approver="finance-team")
            run.flush()
            assert task_rows(client, tenant)["approved"]["has_human_intervention"] is True
            task.approval_received("Approved by @jsmith", approved_by="jsmith", decision="approved")
        with agent.task("to-a-person") as task:
            task.escalate("Lead score 0.12, needs manual review", assigned_to="senior-sales")
        with agent.task("to-an-agent") as task:
            task.escalate("Handing off to the senior agent", assigned_to="senior-agent")
        with agent.task("unassigned") as task:
            task.escalate("Enrichment service down", reason="service_outage")
        with agent.task("alone"):
            pass
    rows = task_rows(client, tenant)
    assert {task: row["has_human_intervention"] for task, row in rows.items()} == {
        "approved": True,
        "to-a-person": True,
        "to-an-agent": False,
        "unassigned": False,
        "alone": False,
    }
    timeline = get(client, tenant, "/v1/tasks/approved/timeline")
    assert timeline["task"]["has_human_intervention"] is True
    assert get(client, tenant, "/v1/tasks/alone/timeline")["task"]["has_human_intervention"] is False


def test_pipeline_totals_count_the_latest_scheduled_items_of_every_agent(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        sync = run.hb.agent("data-sync", heartbeat_interval=0)
        sync.scheduled([{"id": "hourly"}, {"id": "nightly"}, {"id": "weekly"}])
        run.flush()
        sync.scheduled([{"id": "hourly"}, {"id": "nightly"}])  # the latest report replaces the first
        run.hb.agent("reporter", heartbeat_interval=0).scheduled([{"id": "monday-digest"}])
        run.hb.agent("idle-agent", heartbeat_interval=0).queue_snapshot(depth=1)
    totals = get(client, tenant, "/v1/pipeline")["totals"]
    assert totals["scheduled_items"] == 3 and totals["queue_depth"] == 1
    assert get(client, tenant, "/v1/agents/data-sync/pipeline")["scheduled"]["items"] == [
        {"id": "hourly"},
        {"id": "nightly"},
    ]
