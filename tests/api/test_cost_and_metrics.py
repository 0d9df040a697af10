"""The cost explorer, LLM calls and metrics, for HiveLoop and plain OpenTelemetry GenAI spans."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hiveboard.api.auth import DataScope
from hiveboard.api.models.cost import LlmCall
from hiveboard.api.params import TimeRange, Window
from hiveboard.api.queries import cost
from hiveboard.api.queries.money import CALL_COST_SQL
from hiveboard.api.queries.tables import LLM_COSTS_VIEW
from hiveboard.storage import Storage
from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import AGENT, lead_task

SONNET = "claude-sonnet-4-20250514"


def get(client: TestClient, tenant: Tenant, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def mixed_calls(telemetry: Telemetry, tenant: Tenant) -> Tenant:
    """A reported, an estimated and an unpriced HiveLoop call, and a plain OTel GenAI call."""
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        with agent.task("t1") as task:
            task.llm_call(
                "scoring", SONNET, tokens_in=1800, tokens_out=250, cost=0.004, prompt_preview="Score it"
            )
            task.llm_call("reasoning", SONNET, tokens_in=1000, tokens_out=100)
            task.llm_call("mystery", "no-such-model-xyz", tokens_in=10, tokens_out=1)
    with telemetry.opentelemetry(tenant, service="chatbot") as tracer:
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 1000,
                    "gen_ai.usage.output_tokens": 100,
                }
            )
    return tenant


def test_cost_by_model_and_agent_reported_vs_estimated(client: TestClient, mixed_calls: Tenant) -> None:
    cost = get(client, mixed_calls, "/v1/cost")
    totals = cost["totals"]
    sonnet_estimate = 1000 * 3e-6 + 100 * 15e-6
    gpt4o_estimate = 1000 * 2.5e-6 + 100 * 10e-6
    assert totals["call_count"] == 4 and totals["unpriced_calls"] == 1
    assert (totals["reported_calls"], totals["estimated_calls"]) == (1, 2)
    assert totals["reported_cost"] == pytest.approx(0.004)
    assert totals["estimated_cost"] == pytest.approx(sonnet_estimate + gpt4o_estimate)
    assert totals["cost"] == pytest.approx(0.004 + sonnet_estimate + gpt4o_estimate)
    models = {row["model"]: row for row in cost["by_model"]}
    assert set(models) == {SONNET, "gpt-4o", "no-such-model-xyz"}
    assert models["gpt-4o"]["provider"] == "openai" and models["gpt-4o"]["matched_model"] != ""
    assert models["no-such-model-xyz"]["cost"] is None and models["no-such-model-xyz"]["unpriced_calls"] == 1
    agents = {row["agent_id"]: row["call_count"] for row in cost["by_agent"]}
    assert agents == {AGENT: 3, "": 1}


def test_plain_otel_genai_spans_appear_in_cost_views(client: TestClient, mixed_calls: Tenant) -> None:
    (call,) = get(client, mixed_calls, "/v1/llm-calls", model="gpt-4o")["data"]
    assert (call["service_name"], call["provider"], call["cost_source"]) == ("chatbot", "openai", "estimated")
    assert call["tokens_in"] == 1000 and call["cost"] == pytest.approx(1000 * 2.5e-6 + 100 * 10e-6)
    series = get(client, mixed_calls, "/v1/cost/timeseries", range="1h", group_by="model")["series"]
    assert "gpt-4o" in {s["key"] for s in series}


def test_cost_calls_most_expensive_first_with_previews(client: TestClient, mixed_calls: Tenant) -> None:
    body = get(client, mixed_calls, "/v1/cost/calls", limit=2)
    first, second = body["data"]
    assert first["cost"] >= second["cost"] and body["pagination"]["has_more"]
    rest = get(client, mixed_calls, "/v1/cost/calls", limit=2, cursor=body["pagination"]["next_cursor"])[
        "data"
    ]
    assert [c["cost_source"] for c in rest][-1] == "unpriced" and rest[-1]["cost"] is None
    assert {c["call_id"] for c in body["data"]}.isdisjoint({c["call_id"] for c in rest})
    reported = get(client, mixed_calls, "/v1/cost/calls", cost_source="reported")["data"]
    assert [(c["name"], c["prompt_preview"]) for c in reported] == [("scoring", "Score it")]
    assert body["totals"]["call_count"] == 4


def test_llm_calls_newest_first_with_filter_totals(client: TestClient, mixed_calls: Tenant) -> None:
    body = get(client, mixed_calls, "/v1/llm-calls", task_id="t1")
    assert [c["name"] for c in body["data"]] == ["mystery", "reasoning", "scoring"]
    assert body["totals"]["call_count"] == 3 and body["totals"]["tokens_in"] == 2810
    unpriced = get(client, mixed_calls, "/v1/llm-calls", cost_source="unpriced")["data"]
    assert [(c["model"], c["cost"]) for c in unpriced] == [("no-such-model-xyz", None)]


@pytest.mark.parametrize("path", ["/v1/llm-calls", "/v1/cost/calls"])
def test_a_page_of_calls_without_totals_is_the_same_page(
    client: TestClient, mixed_calls: Tenant, path: str
) -> None:
    for parameters in ({}, {"task_id": "t1"}, {"cost_source": "unpriced"}, {"limit": 2}):
        whole = get(client, mixed_calls, path, **parameters)
        alone = get(client, mixed_calls, path, totals="false", **parameters)
        assert alone["totals"] is None and whole["totals"]["call_count"] > 0
        assert alone["data"] == whole["data"] and alone["pagination"] == whole["pagination"]
    # The second page, through the first one's cursor.
    cursor = get(client, mixed_calls, path, totals="false", limit=2)["pagination"]["next_cursor"]
    second = get(client, mixed_calls, path, totals="false", limit=2, cursor=cursor)
    assert second["data"] == get(client, mixed_calls, path, limit=2, cursor=cursor)["data"] and second["data"]
    assert any(call["cost"] is not None for call in get(client, mixed_calls, path, totals="false")["data"])


def test_cost_timeseries_buckets(client: TestClient, mixed_calls: Tenant) -> None:
    body = get(client, mixed_calls, "/v1/cost/timeseries", range="6h")
    assert body["bucket_seconds"] == 300 and body["group_by"] == "total"
    (total,) = body["series"]
    assert len(total["points"]) in (72, 73)
    assert sum(p["call_count"] for p in total["points"]) == 4
    assert sum(p["cost"] for p in total["points"]) == pytest.approx(
        get(client, mixed_calls, "/v1/cost")["totals"]["cost"]
    )


@pytest.fixture
def calls_over_hours(mixed_calls: Tenant, telemetry: Telemetry) -> Tenant:
    """`mixed_calls`, and OTel GenAI calls of two agents and models spread over the last 5 hours."""
    now_ns = time.time_ns()
    with telemetry.opentelemetry(mixed_calls, service="planner") as tracer:
        # The first is of the bucket of `mixed_calls`' gpt-4o call, made by another agent.
        for minutes_ago, agent, model in ((0, "planner", "gpt-4o"), (95, "planner", "gpt-4o-mini"),
                                          (170, "critic", "gpt-4o"), (290, "critic", "gpt-4o-mini")):  # fmt: skip
            start_ns = now_ns - minutes_ago * 60 * 1_000_000_000
            span = tracer.start_span(f"chat {model}", start_time=start_ns)
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                                 "gen_ai.agent.name": agent, "gen_ai.request.model": model,
                                 "gen_ai.response.model": model, "gen_ai.usage.input_tokens": 100 * (minutes_ago + 1),
                                 "gen_ai.usage.output_tokens": 7})  # fmt: skip
            span.end(end_time=start_ns + 1_000_000_000)
    return mixed_calls


def points_with_calls(timeseries: dict[str, Any]) -> dict[str, Any]:
    """A timeseries without its points of no call: two answers a few ms apart may start their
    windows a bucket apart."""
    return {
        **timeseries,
        "series": [
            {"key": one["key"], "points": [point for point in one["points"] if point["call_count"]]}
            for one in timeseries["series"]
        ],
    }


@pytest.mark.parametrize("series", ["total", "model", "agent"])
def test_the_overview_with_its_series_equals_both_read_apart(
    client: TestClient, calls_over_hours: Tenant, series: str
) -> None:
    for parameters in ({"range": "6h"}, {"range": "24h", "agent_id": "critic"},
                       {"range": "6h", "cost_source": "estimated"}, {"range": "1h"}):  # fmt: skip
        together = get(client, calls_over_hours, "/v1/cost", series=series, **parameters)
        apart = get(client, calls_over_hours, "/v1/cost", **parameters)
        timeseries = get(client, calls_over_hours, "/v1/cost/timeseries", group_by=series, **parameters)
        assert apart["timeseries"] is None
        assert {**together, "timeseries": None} == apart
        assert points_with_calls(together["timeseries"]) == points_with_calls(timeseries)
    spread = get(client, calls_over_hours, "/v1/cost", series=series, range="6h")["timeseries"]
    assert sum(len(one["points"]) for one in points_with_calls(spread)["series"]) >= 4


def test_metrics_summary_and_timeseries(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = lead_task(run.hb, "ok-1")
        try:
            with agent.task("bad-1"):
                raise ValueError("bad input")
        except ValueError:
            pass
        agent.start_task("open-1")
    body = get(client, tenant, "/v1/metrics", range="1h")
    summary = body["summary"]
    assert (summary["tasks_completed"], summary["tasks_failed"], summary["processing"]) == (1, 1, 1)
    assert summary["success_rate"] == 0.5 and summary["throughput_per_hour"] == 2.0
    # The failed task and the high-severity issue the scenario reports.
    assert summary["errors"] == 2 and summary["llm_calls"] == 1
    assert summary["total_cost"] == pytest.approx(0.004) and summary["cost_per_task"] == pytest.approx(0.002)
    assert body["bucket_seconds"] == 60 and len(body["timeseries"]) in (60, 61)
    assert sum(p["throughput"] for p in body["timeseries"]) == 2
    assert sum(p["errors"] for p in body["timeseries"]) == 2
    assert get(client, tenant, "/v1/metrics", range="30d")["summary"]["tasks_completed"] == 1
    assert get(client, tenant, "/v1/metrics", agent_id="nobody")["summary"]["tasks_completed"] == 0
    assert client.get("/v1/metrics", params={"range": "2h"}, headers=tenant.headers()).status_code == 400


def test_pages_of_calls_equal_the_plain_query_over_every_call(
    storage: Storage, telemetry: Telemetry, tenant: Tenant
) -> None:
    """A page is chosen on its sort key, then its rows are read again by span id (or whole, sorted by
    cost): page by page, through the cursor, newest and most expensive first, under several filters,
    the calls are those of one plain query over every matching call read whole."""
    with telemetry.hiveloop(tenant) as run:
        for round_number in range(3):  # an insert each: the rows sit in several parts
            for number in range(3):
                agent = run.hb.agent(f"agent-{number}", heartbeat_interval=0)
                with agent.task(f"t{round_number}-{number}") as task:
                    task.llm_call("reported", SONNET, tokens_in=100, tokens_out=10, cost=0.001 * (number + 1))
                    task.llm_call("estimated", SONNET, tokens_in=200 * (round_number + 1), tokens_out=20)
                    task.llm_call("unpriced", "no-such-model-xyz", tokens_in=10, tokens_out=1)
            run.flush()
    scope = DataScope(tenant.id, "live")
    for sort in ("time", "cost"):
        sort_key, _ = cost._SORT_KEYS[sort]
        for filters in (
            cost.CallFilters(),
            cost.CallFilters(agent_id="agent-1"),
            cost.CallFilters(cost_source="estimated"),
            cost.CallFilters(cost_source="unpriced"),
            cost.CallFilters(model=SONNET, project=""),
        ):
            where, parameters = filters.sql()
            plain = storage.query(
                f"SELECT *, {CALL_COST_SQL} AS RoundedCost, toUnixTimestamp64Nano(Timestamp) AS StartNs"
                f" FROM {LLM_COSTS_VIEW} WHERE {where} ORDER BY {sort_key} DESC, SpanId DESC"
                " SETTINGS query_plan_optimize_lazy_materialization = 0",
                scope.parameters(**Window.last(TimeRange("1h")).parameters(), **parameters),
            ).dicts()
            expected = [cost._call(row) for row in plain]
            paged: list[LlmCall] = []
            cursor = None
            while True:
                page = cost.list_calls(
                    storage,
                    scope,
                    TimeRange("1h"),
                    filters,
                    sort=sort,
                    limit=4,
                    cursor=cursor,
                    with_totals=False,
                )
                paged += page.data
                cursor = page.pagination.next_cursor
                if cursor is None:
                    break
            assert paged == expected and len(expected) >= 9, (sort, filters)
