"""The activity stream: filters of the seeds' dashboard, heartbeats on request, cursor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.events import Event, EventGroup
from hiveboard.api.params import TimeRange, Window, window_sql
from hiveboard.api.queries.events import EVENT_COLUMNS_SQL, EventFilters, event_of, list_events
from hiveboard.api.queries.tables import EVENTS_TABLE
from hiveboard.storage import Storage
from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import AGENT, lead_task


def events(client: TestClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/events", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()["data"]


def types(rows: list[dict[str, Any]]) -> list[str]:
    return [row["event_type"] for row in rows]


def test_filter_groups(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = lead_task(run.hb)
        with agent.task("escalating") as task:
            task.escalate("Needs manual review", assigned_to="senior-sales")
            task.request_approval("Credit $450?", approver="sales-lead")
            task.approval_received("Approved", approved_by="lead", decision="approved")
            try:
                with agent.track_context("send_email"):
                    raise PermissionError("denied")
            except PermissionError:
                pass
        agent.resolve_issue("CRM API recovered", issue_id="crm-403")
    assert set(types(events(client, tenant, group="human"))) == {
        "escalated",
        "approval_requested",
        "approval_received",
    }
    assert set(types(events(client, tenant, group="llm"))) == {"llm_call"}
    assert set(types(events(client, tenant, group="action"))) == {
        "action_started",
        "action_completed",
        "action_failed",
    }
    assert set(types(events(client, tenant, group="task"))) == {"task_started", "task_completed"}
    assert set(types(events(client, tenant, group="pipeline"))) == {
        "issue",
        "queue_snapshot",
        "todo",
        "scheduled",
    }
    errors = events(client, tenant, group="error")
    assert "action_failed" in types(errors) and all(
        row["severity"] == "error" or row["event_type"] == "action_failed" for row in errors
    )
    assert set(types(events(client, tenant, group=["human", "llm"]))) == {
        "escalated",
        "approval_requested",
        "approval_received",
        "llm_call",
    }
    issues = events(client, tenant, event_type="issue")
    assert [row["issue_action"] for row in issues] == ["resolved", "reported"]
    assert {row["severity"] for row in events(client, tenant, severity="warn")} == {"warn"}
    assert {row["task_id"] for row in events(client, tenant, task_id="escalating")} == {"escalating"}


def test_plan_and_retry_events_carry_their_details(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        lead_task(run.hb)
    (plan,) = events(client, tenant, event_type="plan_created")
    assert (
        plan["plan_total_steps"] == 3
        and plan["attributes"]["hiveboard.plan.goal"] == "Qualify and route lead"
    )
    steps = events(client, tenant, event_type="plan_step")
    assert [(row["plan_step_index"], row["plan_step_action"]) for row in steps] == [
        (0, "completed"),
        (0, "started"),
    ]
    (retry,) = events(client, tenant, event_type="retry_started")
    assert retry["retry_attempt"] == 1 and retry["severity"] == "warn"
    (call,) = events(client, tenant, group="llm")
    assert call["agent_id"] == AGENT and call["duration_ms"] == 5.0


def test_custom_events_filter_by_payload_kind(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        agent.event(
            "custom", payload={"kind": "context_compaction", "summary": "Compacted", "data": {"saved": 9}}
        )
        agent.event("custom", payload={"kind": "anomaly", "summary": "Cost spike"})
    (row,) = events(client, tenant, payload_kind="anomaly")
    assert (row["kind"], row["summary"], row["severity"]) == ("anomaly", "Cost spike", "warn")


def test_heartbeats_are_excluded_unless_asked_for(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(AGENT, heartbeat_interval=3600)
        run.wait_for_heartbeat(AGENT)
    assert "heartbeat" not in types(events(client, tenant))
    with_heartbeats = events(client, tenant, exclude_heartbeats="false")
    (heartbeat,) = [row for row in with_heartbeats if row["event_type"] == "heartbeat"]
    assert heartbeat["agent_id"] == AGENT and heartbeat["severity"] == "debug"
    assert heartbeat["attributes"]["hiveboard.agent.stuck_threshold"] == "300"


def test_cursor_pages_through_newest_first(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        for index in range(5):
            agent.todo(f"todo-{index}", action="created", summary=f"item {index}")
    everything = events(client, tenant, event_type="todo")
    assert [row["todo_id"] for row in everything] == [f"todo-{index}" for index in range(4, -1, -1)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"event_type": "todo", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/v1/events", params=params, headers=tenant.headers()).json()
        seen += [row["todo_id"] for row in body["data"]]
        cursor = body["pagination"]["next_cursor"]
        if not body["pagination"]["has_more"]:
            break
    assert seen == [row["todo_id"] for row in everything]


def test_pages_read_in_one_query_equal_the_plain_query_over_every_row(
    storage: Storage, telemetry: Telemetry, tenant: Tenant
) -> None:
    """ClickHouse reads a page's columns after sorting (`LATE_COLUMNS`): page by page, through the
    cursor, under several filters, the events are those of one query over every matching row read
    whole, without that optimisation."""
    with telemetry.hiveloop(tenant) as run:
        for round_number in range(3):  # an insert each: the rows sit in several parts
            for number in range(3):
                agent = lead_task(run.hb, f"task-{round_number}-{number}", agent_id=f"agent-{number}")
                agent.report_issue(f"issue {round_number}", "high", issue_id=f"i{number}")
            run.flush()
    scope = DataScope(tenant.id, "live")
    window = Window.last(TimeRange("1h"))
    for filters in (
        EventFilters(),
        EventFilters(agent_id="agent-1"),
        EventFilters(groups=(EventGroup.LLM, EventGroup.PIPELINE)),
        EventFilters(severities=("info",), event_types=("llm_call", "issue", "task_completed")),
    ):
        condition, parameters = filters.sql()
        plain = storage.query(
            f"SELECT {EVENT_COLUMNS_SQL}, Attributes FROM {EVENTS_TABLE}"
            f" WHERE {SCOPE_SQL} AND {window_sql('Timestamp')} AND {condition}"
            " ORDER BY Timestamp DESC, SpanId DESC SETTINGS query_plan_optimize_lazy_materialization = 0",
            scope.parameters(**window.parameters(), **parameters),
        ).dicts()
        expected = [event_of(row, row["Attributes"]) for row in plain]
        paged: list[Event] = []
        cursor = None
        while True:
            page = list_events(storage, scope, window, filters, limit=7, cursor=cursor)
            paged += page.data
            cursor = page.pagination.next_cursor
            if cursor is None:
                break
        assert paged == expected and len(expected) > 7, filters
