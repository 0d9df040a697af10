"""Panel numbers against an independent computation over the raw spans in `otel_traces` (cost by
model with the collector's cost rules, stuck agents, active issues, every agent's status), and the
same numbers against the query API on the same data."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hiveboard.api import create_app
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore
from tests.collector.reference_cost import cost_for_span
from tests.grafana.fleet import AGENT_STATUSES
from tests.grafana.grafana_files import dashboards
from tests.grafana.plugin_macros import TimeRange, expand
from tests.grafana.test_panel_queries import resolve_variables


def panel_rows(storage: Storage, time_range: TimeRange, uid: str, title: str) -> list[dict[str, Any]]:
    """The rows of the panel `title` of dashboard `uid`, every variable at All."""
    (dashboard,) = [dashboard for dashboard in dashboards().values() if dashboard["uid"] == uid]
    selections = resolve_variables(storage, dashboard, time_range, {})
    (panel,) = [panel for panel in dashboard["panels"] if panel["title"] == title]
    return storage.query(expand(panel["targets"][0]["rawSql"], selections, time_range)).dicts()


def live_spans(storage: Storage, span_type: str) -> list[dict[str, Any]]:
    """Raw HiveLoop spans of `span_type` ingested with a live key, oldest first."""
    return storage.query(
        "SELECT toUnixTimestamp64Nano(Timestamp) AS start_ns, SpanAttributes AS attributes FROM otel_traces "
        "WHERE ResourceAttributes['hiveboard.key.type'] = 'live' "
        "AND SpanAttributes['hiveboard.span.type'] = {span_type:String} ORDER BY Timestamp",
        {"span_type": span_type},
    ).dicts()


def test_cost_by_model_matches_the_collector_cost_rules_on_the_raw_spans(
    fleet_storage: Storage, last_hour: TimeRange
) -> None:
    expected: dict[str, float | None] = {}
    for span in live_spans(fleet_storage, "llm"):
        attributes = span["attributes"]
        model = attributes.get("gen_ai.response.model") or attributes["gen_ai.request.model"]
        cost = cost_for_span(attributes).cost
        expected[model] = cost if expected.get(model) is None else expected[model] + (cost or 0.0)
    rows = panel_rows(fleet_storage, last_hour, "hiveboard-cost", "Cost by model")
    assert {row["Model"]: row["Cost"] for row in rows} == pytest.approx(expected)
    assert any(cost is None for cost in expected.values()), "an unpriced model shows no cost, not $0"
    (total,) = panel_rows(fleet_storage, last_hour, "hiveboard-cost", "Total cost")
    assert total["cost"] == pytest.approx(sum(cost or 0.0 for cost in expected.values()))


def test_stuck_agents_are_those_silent_for_longer_than_their_own_threshold(
    fleet_storage: Storage, last_hour: TimeRange
) -> None:
    last_seen: dict[str, tuple[int, int]] = {}
    shut_down: dict[str, int] = {}
    for span in live_spans(fleet_storage, "event"):
        attributes = span["attributes"]
        if attributes["hiveboard.event.type"] == "agent_shutdown":
            shut_down[attributes["hiveboard.agent.id"]] = span["start_ns"]
        if attributes["hiveboard.event.type"] in ("agent_registered", "heartbeat"):
            threshold_s = int(attributes["hiveboard.agent.stuck_threshold"])
            if float(attributes["hiveboard.agent.heartbeat_interval"]) > 0:  # else never stuck
                last_seen[attributes["hiveboard.agent.id"]] = (span["start_ns"], threshold_s)
    now_ns = time.time_ns()
    expected = {
        agent
        for agent, (seen_ns, threshold_s) in last_seen.items()
        if now_ns - seen_ns > threshold_s * 1e9 and shut_down.get(agent, 0) <= seen_ns
    }
    assert shut_down and set(shut_down) < set(last_seen)  # an agent silent as long, but offline
    assert expected == {agent for agent, status in AGENT_STATUSES.items() if status == "stuck"}
    agents = panel_rows(fleet_storage, last_hour, "hiveboard-hive", "Agents")
    assert {row["AgentId"] for row in agents if row["Status"] == "stuck"} == expected
    (stuck,) = panel_rows(fleet_storage, last_hour, "hiveboard-hive", "Stuck")
    assert stuck["agents"] == len(expected)


def test_every_agent_has_the_status_its_work_implies(fleet_storage: Storage, last_hour: TimeRange) -> None:
    agents = panel_rows(fleet_storage, last_hour, "hiveboard-hive", "Agents")
    assert {row["AgentId"]: row["Status"] for row in agents} == AGENT_STATUSES
    for status, title in (("processing", "Processing"), ("waiting_approval", "Waiting for approval"),
                          ("error", "Failing")):  # fmt: skip
        (stat,) = panel_rows(fleet_storage, last_hour, "hiveboard-hive", title)
        assert stat["agents"] == list(AGENT_STATUSES.values()).count(status), title


def test_active_issues_are_those_whose_last_report_is_not_resolved(
    fleet_storage: Storage, last_hour: TimeRange
) -> None:
    last_action: dict[tuple[str, str], str] = {}
    for span in live_spans(fleet_storage, "event"):
        attributes = span["attributes"]
        if attributes["hiveboard.event.type"] == "issue":
            key = (attributes["hiveboard.agent.id"], attributes["hiveboard.issue.id"])
            last_action[key] = attributes["hiveboard.issue.action"]
    expected = {key for key, action in last_action.items() if action == "reported"}
    assert expected and len(expected) < len(last_action), "the fleet has active and resolved issues"
    table = panel_rows(fleet_storage, last_hour, "hiveboard-pipeline", "Active issues by agent")
    assert {(row["AgentId"], row["IssueId"]) for row in table} == expected
    per_agent: dict[str, int] = defaultdict(int)
    for agent, _ in expected:
        per_agent[agent] += 1
    agents = panel_rows(fleet_storage, last_hour, "hiveboard-hive", "Agents")
    assert {row["AgentId"]: row["ActiveIssues"] for row in agents if row["ActiveIssues"]} == per_agent


# ---- the same numbers through the query API ------------------------------------------------------------


@pytest.fixture(scope="module")
def api(fleet_storage: Storage) -> Iterator[TestClient]:
    """The query API over the fleet's storage, with a live key of the fleet's tenant (live data, as
    the dashboards show)."""
    key, _ = KeyStore(fleet_storage, dev_key=None).create("live", tenant_id="default")
    app = create_app(fleet_storage, KeyStore(fleet_storage, dev_key=None))
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def test_cost_by_model_agrees_with_the_api(
    fleet_storage: Storage, last_hour: TimeRange, api: TestClient
) -> None:
    panel = {
        row["Model"]: row["Cost"]
        for row in panel_rows(fleet_storage, last_hour, "hiveboard-cost", "Cost by model")
    }
    by_model = api.get("/v1/cost", params={"range": "1h"}).json()["by_model"]
    costs: dict[str, float] = defaultdict(float)
    for row in by_model:  # the API splits a model by provider; the panel sums it
        if row["cost"] is not None:
            costs[row["model"]] += row["cost"]
    # A model whose calls are all unpriced has no cost in either, never $0.
    unpriced = {row["model"] for row in by_model if row["model"] not in costs}
    assert unpriced and unpriced == {model for model, cost in panel.items() if cost is None}
    assert {model: cost for model, cost in panel.items() if cost is not None} == pytest.approx(costs)


def test_agent_statuses_and_stuck_agents_agree_with_the_api(
    fleet_storage: Storage, last_hour: TimeRange, api: TestClient
) -> None:
    panel = {
        row["AgentId"]: row["Status"]
        for row in panel_rows(fleet_storage, last_hour, "hiveboard-hive", "Agents")
    }
    agents = {agent["agent_id"]: agent["derived_status"] for agent in api.get("/v1/agents").json()["data"]}
    assert panel == agents == AGENT_STATUSES
    assert "stuck" in agents.values()


def test_task_statuses_agree_with_the_api(
    fleet_storage: Storage, last_hour: TimeRange, api: TestClient
) -> None:
    panel = {
        row["TaskId"]: row["Status"]
        for row in panel_rows(fleet_storage, last_hour, "hiveboard-tasks", "Tasks")
    }
    tasks = {
        task["task_id"]: task["derived_status"]
        for task in api.get("/v1/tasks", params={"range": "24h", "limit": 200}).json()["data"]
    }
    assert panel == tasks
    # The open task of the stuck agent was handed to a person: escalated, not processing.
    assert tasks["nightly-002"] == "escalated"


def test_active_issues_agree_with_the_api(
    fleet_storage: Storage, last_hour: TimeRange, api: TestClient
) -> None:
    table = panel_rows(fleet_storage, last_hour, "hiveboard-pipeline", "Active issues by agent")
    pipeline = api.get("/v1/pipeline").json()
    from_api = {
        (agent["agent_id"], issue["issue_id"]) for agent in pipeline["agents"] for issue in agent["issues"]
    }
    assert from_api and {(row["AgentId"], row["IssueId"]) for row in table} == from_api
