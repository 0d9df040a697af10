"""The global environment filter (`environment=`) on every view of the API: each view shows what the
agents of that environment sent, and all of it without the filter. Two agents run the same complete
task, one in production and one in staging; the staging one also makes a call with a stop reason."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import lead_task

PRODUCTION_AGENT = "router"
STAGING_AGENT = "canary"
BOTH = {PRODUCTION_AGENT, STAGING_AGENT}
# Every view of a fleet whose rows name agents, with the range that holds the whole fleet.
AGENT_VIEWS = (
    "/v1/agents",
    "/v1/tasks",
    "/v1/events",
    "/v1/cost",
    "/v1/cost/calls",
    "/v1/cost/timeseries",
    "/v1/llm-calls",
    "/v1/insights",
    "/v1/pipeline",
)


@pytest.fixture
def two_environments(telemetry: Telemetry, tenant: Tenant) -> Tenant:
    with telemetry.hiveloop(tenant, environment="production") as run:
        lead_task(run.hb, "prod-1", agent_id=PRODUCTION_AGENT)
    with telemetry.hiveloop(tenant, environment="staging") as run:
        agent = lead_task(run.hb, "staging-1", agent_id=STAGING_AGENT)
        with agent.task("staging-2", project="sales-pipeline") as task:
            task.llm_call("answer", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=5, cost=0.001,
                          metadata={"stop_reason": "end_turn"})  # fmt: skip
    return tenant


def agent_ids(value: Any) -> set[str]:
    """Every `agent_id` anywhere in an answer (and the keys of a timeseries grouped by agent)."""
    if isinstance(value, dict):
        found = {value["agent_id"]} if isinstance(value.get("agent_id"), str) else set()
        if value.get("group_by") == "agent":
            found |= {series["key"] for series in value["series"]}
        return found.union(*(agent_ids(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(agent_ids(item) for item in value))
    return set()


def get(client: TestClient, tenant: Tenant, path: str, **params: Any) -> Any:
    if path == "/v1/cost/timeseries":  # its series name the agents when grouped by them
        params["group_by"] = "agent"
    response = client.get(path, params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("path", AGENT_VIEWS)
def test_each_view_shows_the_agents_of_the_chosen_environment_only(
    client: TestClient, two_environments: Tenant, path: str
) -> None:
    assert agent_ids(get(client, two_environments, path)) == BOTH
    assert agent_ids(get(client, two_environments, path, environment="production")) == {PRODUCTION_AGENT}
    assert agent_ids(get(client, two_environments, path, environment="staging")) == {STAGING_AGENT}
    assert agent_ids(get(client, two_environments, path, environment="nowhere")) == set()


def test_the_totals_are_of_the_chosen_environment(client: TestClient, two_environments: Tenant) -> None:
    def totals(**params: Any) -> tuple[Any, ...]:
        metrics = get(client, two_environments, "/v1/metrics", range="24h", **params)["summary"]
        cost = get(client, two_environments, "/v1/cost", **params)["totals"]
        pipeline = get(client, two_environments, "/v1/pipeline", **params)["totals"]
        insights = get(client, two_environments, "/v1/insights", **params)
        return (
            metrics["tasks_completed"],
            metrics["llm_calls"],
            cost["call_count"],
            cost["cost"],
            pipeline["queue_depth"],
            [stop["reason"] for stop in insights["stop_reasons"] if stop["reason"]],
        )

    assert totals() == (3, 3, 3, 0.009, 6, ["end_turn"])
    assert totals(environment="production") == (1, 1, 1, 0.004, 3, [])
    assert totals(environment="staging") == (2, 2, 2, 0.005, 3, ["end_turn"])


def test_the_pipeline_of_one_agent_has_its_totals(client: TestClient, two_environments: Tenant) -> None:
    pipeline = get(client, two_environments, "/v1/pipeline", agent_id=STAGING_AGENT)
    assert [agent["agent_id"] for agent in pipeline["agents"]] == [STAGING_AGENT]
    assert pipeline["totals"]["queue_depth"] == 3
