"""The cost explorer and LLM calls: `GET /v1/cost`, `/v1/cost/calls`, `/v1/cost/timeseries`,
`/v1/llm-calls`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.cost import CostOverview, CostSource, CostTimeseries, LlmCallPage
from hiveboard.api.params import DEFAULT_LIMIT, Cursor, EnvironmentFilter, Limit, Range, TimeRange
from hiveboard.api.queries.cost import CallFilters, GroupBy, cost_overview, cost_timeseries, list_calls

router = APIRouter(prefix="/v1", tags=["cost"], responses=ERROR_RESPONSES)


def call_filters(
    agent_id: str | None = None,
    task_id: str | None = None,
    environment: EnvironmentFilter = None,
    project: str | None = None,
    model: Annotated[str | None, Query(description="Model that answered (gen_ai.response.model)")] = None,
    cost_source: Annotated[
        CostSource | None, Query(description="Only calls whose cost came from here")
    ] = None,
) -> CallFilters:
    return CallFilters(
        agent_id=agent_id,
        task_id=task_id,
        environment=environment,
        project=project,
        model=model,
        cost_source=cost_source,
    )


Filters = Annotated[CallFilters, Depends(call_filters)]
WithTotals = Annotated[
    bool,
    Query(
        alias="totals",
        description="false leaves out the totals of the filter (null), which price every call of the "
        "range: a page of calls alone, as a table that pages through them needs",
    ),
]


@router.get("/cost", summary="Cost of the range: totals, by model, by agent, reported vs estimated")
def get_cost(
    scope: Scope,
    storage: StorageDep,
    filters: Filters,
    time_range: Range = TimeRange.DAY,
    series: Annotated[
        GroupBy | None,
        Query(
            description="Also the cost over time, in one series (total) or one per model or agent, as "
            "/v1/cost/timeseries?group_by= gives it: read in the same scan, which prices every call of "
            "the range once instead of twice"
        ),
    ] = None,
) -> CostOverview:
    return cost_overview(storage, scope, time_range, filters, series)


@router.get("/cost/calls", summary="Individual LLM calls with previews, most expensive first")
def get_cost_calls(
    scope: Scope,
    storage: StorageDep,
    filters: Filters,
    time_range: Range = TimeRange.DAY,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    with_totals: WithTotals = True,
) -> LlmCallPage:
    return list_calls(
        storage, scope, time_range, filters, sort="cost", limit=limit, cursor=cursor, with_totals=with_totals
    )


@router.get("/cost/timeseries", summary="Cost per time bucket, in total or per model or agent")
def get_cost_timeseries(
    scope: Scope,
    storage: StorageDep,
    filters: Filters,
    time_range: Range = TimeRange.DAY,
    group_by: GroupBy = "total",
) -> CostTimeseries:
    return cost_timeseries(storage, scope, time_range, filters, group_by)


@router.get("/llm-calls", summary="LLM calls, newest first, with the totals of the filter")
def get_llm_calls(
    scope: Scope,
    storage: StorageDep,
    filters: Filters,
    time_range: Range = TimeRange.DAY,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    with_totals: WithTotals = True,
) -> LlmCallPage:
    return list_calls(
        storage, scope, time_range, filters, sort="time", limit=limit, cursor=cursor, with_totals=with_totals
    )
