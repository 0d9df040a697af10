"""The numbers people read: unpriced calls never show as $0, money is rounded once and adds up the
same in every view, and a task's duration breakdown stays within the task."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant

SONNET = "claude-sonnet-4-20250514"
UNKNOWN_MODEL = "no-such-model-xyz"
PRICED_AGENT = "priced-agent"
UNPRICED_AGENT = "unpriced-agent"
# Reported costs whose float sum is noisy: 0.001 + 0.003441 == 0.0044410000000000005.
NOISY_COSTS = (0.001, 0.003441)
MICRO_USD = Decimal("0.000001")


def get(client: TestClient, tenant: Tenant, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


def usd(value: float) -> Decimal:
    """A cost of the API's JSON exactly as it reads (the shortest repr of the float)."""
    return Decimal(repr(value))


def exact_sum(costs: list[float | None]) -> Decimal:
    """The sum of costs as a person adds up what they read (unpriced ones count nothing)."""
    return sum((usd(cost) for cost in costs if cost is not None), Decimal(0))


@pytest.fixture
def fleet(telemetry: Telemetry, tenant: Tenant) -> Tenant:
    """An agent with priced (noisy reported, estimated, sub-micro-dollar) and unpriced calls, a task
    without calls, and an agent whose calls are all unpriced."""
    with telemetry.hiveloop(tenant) as run:
        priced = run.hb.agent(PRICED_AGENT, heartbeat_interval=0)
        with priced.task("mixed") as task:
            for index, cost in enumerate(NOISY_COSTS):
                task.llm_call(f"reported-{index}", SONNET, tokens_in=100, tokens_out=10, cost=cost)
            # Claude Sonnet 4 at $3 / $15 per million tokens: 0.0054 + 0.00375.
            task.llm_call("estimated", SONNET, tokens_in=1800, tokens_out=250)
            task.llm_call("mystery", UNKNOWN_MODEL, tokens_in=10, tokens_out=1)
        with priced.task("cheap") as task:
            task.llm_call("tiny", SONNET, tokens_in=1, tokens_out=0, cost=0.0000004)
            task.llm_call("small", SONNET, tokens_in=7, tokens_out=3)
        with priced.task("no-calls"):
            pass
        unpriced = run.hb.agent(UNPRICED_AGENT, heartbeat_interval=0)
        with unpriced.task("unknown-only") as task:
            task.llm_call("guess-1", UNKNOWN_MODEL, tokens_in=20, tokens_out=2)
            task.llm_call("guess-2", UNKNOWN_MODEL, tokens_in=30, tokens_out=3)
    return tenant


def test_costs_over_unpriced_calls_are_null_with_their_count(client: TestClient, fleet: Tenant) -> None:
    cost = get(client, fleet, "/v1/cost")
    assert cost["totals"]["unpriced_calls"] == 3 and cost["totals"]["cost"] > 0
    unknown = next(row for row in cost["by_model"] if row["model"] == UNKNOWN_MODEL)
    assert (unknown["cost"], unknown["unpriced_calls"], unknown["call_count"]) == (None, 3, 3)
    agents = {row["agent_id"]: row for row in cost["by_agent"]}
    assert (agents[UNPRICED_AGENT]["cost"], agents[UNPRICED_AGENT]["unpriced_calls"]) == (None, 2)
    assert agents[PRICED_AGENT]["cost"] > 0 and agents[PRICED_AGENT]["unpriced_calls"] == 1
    only_unpriced = get(client, fleet, "/v1/cost", agent_id=UNPRICED_AGENT)["totals"]
    assert (only_unpriced["cost"], only_unpriced["unpriced_calls"]) == (None, 2)
    assert get(client, fleet, "/v1/cost", agent_id="nobody")["totals"]["cost"] == 0.0

    series = get(client, fleet, "/v1/cost/timeseries", range="1h", group_by="agent")["series"]
    points = {s["key"]: [p for p in s["points"] if p["call_count"]] for s in series}
    assert [(p["cost"], p["unpriced_calls"]) for p in points[UNPRICED_AGENT]] == [(None, 2)]
    assert sum(p["unpriced_calls"] for p in points[PRICED_AGENT]) == 1
    assert all(p["cost"] is not None for p in points[PRICED_AGENT])
    empty = next(p for s in series for p in s["points"] if not p["call_count"])
    assert (empty["cost"], empty["unpriced_calls"]) == (0.0, 0)

    tasks = {row["task_id"]: row for row in get(client, fleet, "/v1/tasks")["data"]}
    assert (tasks["unknown-only"]["cost"], tasks["unknown-only"]["unpriced_calls"]) == (None, 2)
    assert tasks["mixed"]["cost"] > 0 and tasks["mixed"]["unpriced_calls"] == 1
    assert (tasks["no-calls"]["cost"], tasks["no-calls"]["unpriced_calls"]) == (0.0, 0)
    # Estimated costs are marked apart from reported ones: one estimate in "mixed", one in "cheap".
    estimated = {task_id: row["estimated_calls"] for task_id, row in tasks.items()}
    assert estimated == {"mixed": 1, "cheap": 1, "no-calls": 0, "unknown-only": 0}
    by_cost = {row["task_id"]: row for row in get(client, fleet, "/v1/tasks", sort="cost")["data"]}
    assert {task_id: row["estimated_calls"] for task_id, row in by_cost.items()} == estimated
    header = get(client, fleet, "/v1/tasks/unknown-only/timeline")["task"]
    assert (header["cost"], header["unpriced_calls"]) == (None, 2)

    cards = {card["agent_id"]: card["stats_1h"] for card in get(client, fleet, "/v1/agents")["data"]}
    assert (cards[UNPRICED_AGENT]["total_cost"], cards[UNPRICED_AGENT]["unpriced_calls"]) == (None, 2)
    assert cards[PRICED_AGENT]["total_cost"] > 0 and cards[PRICED_AGENT]["unpriced_calls"] == 1
    detail = get(client, fleet, f"/v1/agents/{UNPRICED_AGENT}")["stats_1h"]
    assert (detail["total_cost"], detail["unpriced_calls"]) == (None, 2)

    metrics = get(client, fleet, "/v1/metrics", range="1h", agent_id=UNPRICED_AGENT)
    summary = metrics["summary"]
    assert (summary["total_cost"], summary["unpriced_calls"], summary["cost_per_task"]) == (None, 2, None)
    busy = [p for p in metrics["timeseries"] if p["llm_calls"]]
    assert [(p["cost"], p["unpriced_calls"]) for p in busy] == [(None, 2)]
    assert get(client, fleet, "/v1/metrics", range="1h")["summary"]["unpriced_calls"] == 3


def test_money_is_rounded_once_and_adds_up_in_every_view(client: TestClient, fleet: Tenant) -> None:
    calls = get(client, fleet, "/v1/llm-calls", limit=100)
    costs = [call["cost"] for call in calls["data"]]
    assert len(costs) == 8 and costs.count(None) == 3
    # Every cost shown has at most 6 decimals; a priced call below half a micro-dollar shows 0.0.
    assert all(usd(cost) == usd(cost).quantize(MICRO_USD) for cost in costs if cost is not None)
    by_name = {call["name"]: call["cost"] for call in calls["data"]}
    assert (by_name["tiny"], by_name["small"], by_name["estimated"]) == (0.0, 0.000066, 0.00915)
    total = exact_sum(costs)
    assert usd(calls["totals"]["cost"]) == total == Decimal("0.013657")

    reported = get(client, fleet, "/v1/cost", agent_id=PRICED_AGENT, cost_source="reported")["totals"]
    assert reported["cost"] == reported["reported_cost"] == 0.004441

    overview = get(client, fleet, "/v1/cost")
    assert usd(overview["totals"]["cost"]) == total
    assert exact_sum([row["cost"] for row in overview["by_model"]]) == total
    assert exact_sum([row["cost"] for row in overview["by_agent"]]) == total
    assert usd(overview["totals"]["reported_cost"]) + usd(overview["totals"]["estimated_cost"]) == total
    by_cost = get(client, fleet, "/v1/cost/calls", limit=100)
    assert usd(by_cost["totals"]["cost"]) == exact_sum([call["cost"] for call in by_cost["data"]]) == total
    (series,) = get(client, fleet, "/v1/cost/timeseries", range="1h")["series"]
    assert exact_sum([point["cost"] for point in series["points"]]) == total

    tasks = get(client, fleet, "/v1/tasks")["data"]
    assert exact_sum([row["cost"] for row in tasks]) == total
    timeline = get(client, fleet, "/v1/tasks/mixed/timeline")
    nodes = [node["cost"] for node in timeline["action_tree"]]
    assert usd(timeline["task"]["cost"]) == exact_sum(nodes) == Decimal("0.013591")

    metrics = get(client, fleet, "/v1/metrics", range="1h")
    assert usd(metrics["summary"]["total_cost"]) == total
    assert exact_sum([point["cost"] for point in metrics["timeseries"]]) == total
    cards = get(client, fleet, "/v1/agents")["data"]
    assert exact_sum([card["stats_1h"]["total_cost"] for card in cards]) == total


def test_breakdown_clips_a_call_longer_than_the_task(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(PRICED_AGENT, heartbeat_interval=0)
        with agent.task("quick") as task:
            time.sleep(0.05)
            # As the README's example: a call of 1.2 s reported 50 ms into the task.
            task.llm_call(
                "lead_scoring", SONNET, tokens_in=1800, tokens_out=250, cost=0.004, duration_ms=1200
            )
            time.sleep(0.02)
            # Two calls at once: their time counts once.
            task.llm_call("parallel-1", SONNET, tokens_in=1, tokens_out=1, cost=0.001, duration_ms=10)
            task.llm_call("parallel-2", SONNET, tokens_in=1, tokens_out=1, cost=0.001, duration_ms=10)
    timeline = get(client, tenant, "/v1/tasks/quick/timeline")
    breakdown = timeline["duration_breakdown"]
    total_ms = timeline["task"]["duration_ms"]
    reported_at = {e["span_id"]: datetime.fromisoformat(e["timestamp"]) for e in timeline["events"]}
    ends = {node["name"]: reported_at[node["span_id"]] for node in timeline["action_tree"]}
    started = datetime.fromisoformat(timeline["task"]["started_at"])
    # From the task's start to the end of the long call, then the two parallel 10 ms calls once:
    # from the first one's start (10 ms before its end) to the second one's end.
    expected = ends["lead_scoring"] - started + ends["parallel-2"] - ends["parallel-1"]
    assert breakdown["llm_ms"] == pytest.approx(expected.total_seconds() * 1000 + 10, abs=0.01)
    assert breakdown["total_ms"] == total_ms and breakdown["llm_ms"] < total_ms
    assert breakdown["tools_ms"] == 0.0 and breakdown["other_ms"] >= 10
    parts = breakdown["llm_ms"] + breakdown["tools_ms"] + breakdown["other_ms"]
    assert parts == pytest.approx(total_ms, abs=0.002)
    # The call keeps its reported duration everywhere else.
    scoring = next(node for node in timeline["action_tree"] if node["name"] == "lead_scoring")
    assert scoring["duration_ms"] == 1200.0
    calls = get(client, tenant, "/v1/llm-calls", task_id="quick")["data"]
    assert [call["duration_ms"] for call in calls if call["name"] == "lead_scoring"] == [1200.0]
