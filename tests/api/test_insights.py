"""The Insights tab (`GET /v1/insights`) over what HiveLoop sends: LLM call metadata (turns, stop
reasons, cache tokens), the integration guide's custom events (context_compaction, anomaly,
learning), retries after failed actions, and failures by error type."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant

SONNET = "claude-sonnet-4-20250514"


class UpstreamTimeout(Exception):
    pass


def get(client: TestClient, tenant: Tenant, **params: Any) -> Any:
    response = client.get("/v1/insights", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


def flaky_fetch(agent: Any, task: Any, failures: int) -> None:
    """An action that times out `failures` times, each followed by a retry, then succeeds."""
    for attempt in range(1, failures + 2):
        try:
            with agent.track_context("fetch_page"):
                if attempt <= failures:
                    raise UpstreamTimeout("no answer within 5 s")
        except UpstreamTimeout:
            task.retry("Upstream timeout", attempt=attempt)
            continue
        return


@pytest.fixture
def researched(telemetry: Telemetry, tenant: Tenant) -> Tenant:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent("researcher", heartbeat_interval=0)
        with agent.task("r-1", project="research") as task:
            task.llm_call(
                "plan", SONNET, tokens_in=1000, tokens_out=100, cost=0.01,
                metadata={"turn_number": 1, "stop_reason": "tool_use", "cache_read_input_tokens": 400,
                          "cache_creation_input_tokens": 200},
            )  # fmt: skip
            task.llm_call(
                "plan", "acme-private-model-7", tokens_in=3000, tokens_out=300,
                metadata={"turn_number": 2, "stop_reason": "end_turn"},
            )  # fmt: skip
            task.llm_call(
                "answer", SONNET, tokens_in=1000, tokens_out=50, cost=0.002,
                metadata={"turn_number": 2, "stop_reason": "max_tokens", "cache_read_input_tokens": 600},
            )  # fmt: skip
            task.event(
                "custom",
                payload={"kind": "context_compaction",
                         "data": {"tokens_before": 180000, "tokens_after": 60000, "method": "summary"}},
            )  # fmt: skip
            task.event(
                "custom",
                payload={"kind": "anomaly", "summary": "Agent called web_search 3x with the same query",
                         "data": {"detector": "cycle", "tool_name": "web_search", "cycle_length": 3}},
            )  # fmt: skip
            task.event(
                "custom",
                payload={"kind": "learning",
                         "data": {"category": "tool_selection", "description": "Search competitors instead",
                                  "correction_applied": True}},
            )  # fmt: skip
            flaky_fetch(agent, task, failures=2)
        try:
            with agent.task("r-2", project="research") as task:
                with agent.track_context("parse"):
                    raise ValueError("not JSON")
        except ValueError:
            pass
        writer = run.hb.agent("writer", heartbeat_interval=0)
        with writer.task("w-1", project="content") as task:
            task.llm_call("draft", SONNET, tokens_in=500, tokens_out=500, cost=0.003)
    return tenant


def test_insights_aggregate_turns_stop_reasons_and_cache(client: TestClient, researched: Tenant) -> None:
    insights = get(client, researched)
    assert insights["turns"] == [
        {"turn_number": 1, "call_count": 1, "tokens_in": 1000, "tokens_out": 100, "cost": 0.01,
         "unpriced_calls": 0},
        {"turn_number": 2, "call_count": 2, "tokens_in": 4000, "tokens_out": 350, "cost": 0.002,
         "unpriced_calls": 1},
    ]  # fmt: skip
    reasons = {row["reason"]: row["call_count"] for row in insights["stop_reasons"]}
    assert reasons == {"tool_use": 1, "end_turn": 1, "max_tokens": 1, "": 1}
    totals = insights["cache"]["totals"]
    assert (totals["call_count"], totals["calls_with_cache"], totals["tokens_in"]) == (4, 2, 5500)
    assert (totals["cache_read_tokens"], totals["cache_write_tokens"]) == (1000, 200)
    assert totals["read_ratio"] == pytest.approx(1000 / 5500)
    sonnet = next(row for row in insights["cache"]["by_model"] if row["model"] == SONNET)
    assert (sonnet["call_count"], sonnet["cache_read_tokens"], sonnet["tokens_in"]) == (3, 1000, 2500)
    assert sonnet["read_ratio"] == pytest.approx(0.4)


def test_insights_read_the_guides_custom_events(client: TestClient, researched: Tenant) -> None:
    insights = get(client, researched)
    (compaction,) = insights["compaction"]
    assert (compaction["agent_id"], compaction["event_count"], compaction["task_count"]) == (
        "researcher",
        1,
        1,
    )
    assert (compaction["tokens_before"], compaction["tokens_after"]) == (180000, 60000)
    (anomaly,) = insights["anomalies"]
    assert (anomaly["detector"], anomaly["event_count"], anomaly["last_task_id"]) == ("cycle", 1, "r-1")
    assert anomaly["last_summary"] == "Agent called web_search 3x with the same query"
    (learning,) = insights["learning"]
    assert (learning["category"], learning["event_count"], learning["corrections_applied"]) == (
        "tool_selection", 1, 1,
    )  # fmt: skip
    assert learning["last_description"] == "Search competitors instead"


def test_retries_count_per_agent_and_failure_type(client: TestClient, researched: Tenant) -> None:
    retries = get(client, researched)["retries"]
    assert retries == [
        {"agent_id": "researcher", "failure_type": None, "retries": 2, "failures": 3, "retried_tasks": 1,
         "tasks": 2},
        {"agent_id": "researcher", "failure_type": "UpstreamTimeout", "retries": 2, "failures": 2,
         "retried_tasks": 1, "tasks": None},
        {"agent_id": "researcher", "failure_type": "ValueError", "retries": 0, "failures": 1,
         "retried_tasks": 0, "tasks": None},
    ]  # fmt: skip


def test_error_types_count_failed_tasks_and_actions(client: TestClient, researched: Tenant) -> None:
    errors = {(row["error_type"], row["event_type"]): row for row in get(client, researched)["error_types"]}
    assert {key: row["count"] for key, row in errors.items()} == {
        ("UpstreamTimeout", "action_failed"): 2,
        ("ValueError", "action_failed"): 1,
        ("ValueError", "task_failed"): 1,
    }
    failed_task = errors[("ValueError", "task_failed")]
    assert (failed_task["last_task_id"], failed_task["last_agent_id"]) == ("r-2", "researcher")
    assert "not JSON" in failed_task["last_message"]


def test_insights_filter_by_agent_and_project_and_stay_in_the_tenant(
    client: TestClient, researched: Tenant, other_tenant: Tenant
) -> None:
    writer = get(client, researched, agent_id="writer")
    assert [turn for turn in writer["turns"]] == [] and writer["cache"]["totals"]["call_count"] == 1
    assert writer["compaction"] == [] and writer["retries"] == [] and writer["error_types"] == []
    content = get(client, researched, project="content", range="1h")
    assert content["range"] == "1h" and content["cache"]["totals"]["tokens_in"] == 500
    elsewhere = get(client, other_tenant)
    assert elsewhere["turns"] == [] and elsewhere["stop_reasons"] == [] and elsewhere["anomalies"] == []
    assert elsewhere["cache"] == {
        "totals": {"model": "", "call_count": 0, "calls_with_cache": 0, "tokens_in": 0, "cache_read_tokens": 0,
                   "cache_write_tokens": 0, "read_ratio": None},
        "by_model": [],
    }  # fmt: skip
