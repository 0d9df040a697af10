"""The Hive: status that tells the truth, agent cards' badges and last-hour stats."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hiveboard.api.auth import DataScope
from hiveboard.api.params import SECOND_NS
from hiveboard.api.queries.agents import agent_statuses, list_agents
from hiveboard.storage import Storage
from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import AGENT, lead_task


def agent_card(client: TestClient, tenant: Tenant, agent_id: str = AGENT) -> dict[str, Any]:
    response = client.get("/v1/agents", headers=tenant.headers())
    assert response.status_code == 200, response.text
    cards = {card["agent_id"]: card for card in response.json()["data"]}
    return cards[agent_id]


def test_a_registered_agent_is_idle(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent("my-agent", type="support", version="1.0.0", heartbeat_interval=0, stuck_threshold=120)
    card = agent_card(client, tenant, "my-agent")
    assert card["derived_status"] == "idle"
    assert (card["agent_type"], card["version"], card["framework"]) == ("support", "1.0.0", "custom")
    assert card["stuck_threshold_seconds"] == 120 and not card["is_stuck"]
    assert 0 <= card["heartbeat_age_seconds"] < 30
    assert card["stats_1h"]["tasks_completed"] == 0 and card["stats_1h"]["success_rate"] is None


def test_processing_while_a_task_is_open_even_as_heartbeats_arrive(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=3600, stuck_threshold=300)
        run.wait_for_heartbeat(AGENT)
        task = agent.start_task("task-open", project="sales")
        run.flush()
        card = agent_card(client, tenant)
        assert card["derived_status"] == "processing"
        assert card["current_task_id"] == "task-open" and card["open_tasks"] == 1
        task.complete()
        run.flush()
        card = agent_card(client, tenant)
        assert card["derived_status"] == "idle" and card["current_task_id"] is None
        assert card["stats_1h"]["tasks_completed"] == 1 and card["stats_1h"]["success_rate"] == 1.0


def test_waiting_approval_while_an_approval_is_pending(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("refund-review") as task:
            task.request_approval("Refund $450 for customer BlueStar", approver="finance-team")
            run.flush()
            card = agent_card(client, tenant)
            assert card["derived_status"] == "waiting_approval" and card["pending_approvals"] == 1
            task.approval_received("Approved by @jsmith", approved_by="jsmith", decision="approved")
            run.flush()
            assert agent_card(client, tenant)["derived_status"] == "processing"
    assert agent_card(client, tenant)["derived_status"] == "idle"


def test_approval_answered_outside_the_task_settles_it(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("t-1") as task:
            task.request_approval("Approval needed: event 7", approver="human")
        run.flush()
        assert agent_card(client, tenant)["derived_status"] == "waiting_approval"
        agent.event("approval_received", payload={"summary": "Event 7 approved", "decision": "approved"})
    assert agent_card(client, tenant)["derived_status"] == "idle"


def test_error_when_the_last_task_failed(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        try:
            with agent.task("t-fail"):
                raise ConnectionError("CRM unreachable")
        except ConnectionError:
            pass
    card = agent_card(client, tenant)
    assert card["derived_status"] == "error" and card["last_task_status"] == "failed"
    assert card["stats_1h"]["tasks_failed"] == 1 and card["stats_1h"]["success_rate"] == 0.0
    with telemetry.hiveloop(tenant) as run:
        with run.hb.agent(AGENT, heartbeat_interval=0).task("t-ok"):
            pass
    card = agent_card(client, tenant)
    assert card["derived_status"] == "idle" and card["stats_1h"]["success_rate"] == 0.5


def test_stuck_after_the_agents_own_threshold(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=3600, stuck_threshold=1)
        run.hb.agent("patient-agent", heartbeat_interval=3600, stuck_threshold=300)
        run.wait_for_heartbeat(AGENT)
        run.wait_for_heartbeat("patient-agent")
    assert agent_card(client, tenant)["derived_status"] != "stuck"
    time.sleep(1.2)
    card = agent_card(client, tenant)
    assert card["derived_status"] == "stuck" and card["is_stuck"] and card["heartbeat_age_seconds"] > 1
    assert agent_card(client, tenant, "patient-agent")["derived_status"] == "idle"
    stuck = client.get("/v1/agents", params={"status": "stuck"}, headers=tenant.headers()).json()["data"]
    assert [card["agent_id"] for card in stuck] == [AGENT]


def test_agent_with_heartbeats_disabled_is_never_stuck(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=0, stuck_threshold=1)
    time.sleep(1.2)
    assert agent_card(client, tenant)["derived_status"] == "idle"


def test_queue_badge_shows_the_latest_depth(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    depth = {"value": 3}
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=3600, queue_provider=lambda: {"depth": depth["value"]})
        run.wait_for_heartbeat(AGENT)
    assert agent_card(client, tenant)["stats_1h"]["queue_depth"] == 3
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=0).queue_snapshot(depth=8)
    assert agent_card(client, tenant)["stats_1h"]["queue_depth"] == 8


def test_issue_badge_appears_and_disappears_on_resolve(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        agent.report_issue(
            "Enrichment API timing out", severity="high", issue_id="enrich", category="connectivity"
        )
        run.flush()
        assert agent_card(client, tenant)["stats_1h"]["active_issues"] == 1
        agent.resolve_issue("Enrichment API recovered", issue_id="enrich")
    assert agent_card(client, tenant)["stats_1h"]["active_issues"] == 0


def test_stats_1h_count_tasks_durations_and_cost(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        lead_task(run.hb, "task-1")
        lead_task(run.hb, "task-2")
    stats = agent_card(client, tenant)["stats_1h"]
    assert stats["tasks_completed"] == 2 and stats["throughput"] == 2
    assert stats["llm_calls"] == 2 and abs(stats["total_cost"] - 0.008) < 1e-9
    assert stats["avg_duration_ms"] > 0


def test_agent_detail_has_payload_and_recent_tasks(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(
            AGENT, heartbeat_interval=3600, heartbeat_payload=lambda: {"crm_sync": True, "uptime": 12}
        )
        run.wait_for_heartbeat(AGENT)
        lead_task(run.hb, "task-9")
    detail = client.get(f"/v1/agents/{AGENT}", headers=tenant.headers()).json()
    assert detail["heartbeat_payload"] == {"crm_sync": True, "uptime": 12}
    assert [task["task_id"] for task in detail["recent_tasks"]] == ["task-9"]
    missing = client.get("/v1/agents/nobody", headers=tenant.headers())
    assert missing.status_code == 404 and "nobody" in missing.json()["message"]


@pytest.mark.parametrize("hours_later", [0, 2])
def test_the_streams_status_poll_derives_the_statuses_the_cards_show(
    storage: Storage, telemetry: Telemetry, tenant: Tenant, hours_later: int
) -> None:
    def fleet() -> None:
        with telemetry.hiveloop(tenant) as run:
            run.hb.agent("idle-agent", heartbeat_interval=0)
            run.hb.agent("busy-agent", heartbeat_interval=0).start_task("open-task")
            waiting = run.hb.agent("waiting-agent", heartbeat_interval=0)
            waiting.start_task("review").request_approval("sign off")
            with run.hb.agent("failing-agent", heartbeat_interval=0).task("doomed") as task:
                task.fail(RuntimeError("boom"))
            run.hb.agent("silent-agent", heartbeat_interval=3600, stuck_threshold=1)
            run.wait_for_heartbeat("silent-agent")

    # In a thread of its own: the tasks left open stay current in that thread's context only.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(fleet).result()
    time.sleep(1.1)
    # Two hours on, no task ended within the last-hour window: the last status comes from hb_agent_tasks.
    now_ns = time.time_ns() + hours_later * 3600 * SECOND_NS
    scope = DataScope(tenant.id, "live")
    cards = {agent.agent_id: agent.derived_status for agent in list_agents(storage, scope, now_ns=now_ns)}
    assert (
        agent_statuses(storage, scope, now_ns=now_ns)
        == cards
        == {
            "idle-agent": "idle",
            "busy-agent": "processing",
            "waiting-agent": "waiting_approval",
            "failing-agent": "error",
            "silent-agent": "stuck",
        }
    )
