"""The Insights tab: `GET /v1/insights`."""

from __future__ import annotations

from fastapi import APIRouter

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.insights import Insights
from hiveboard.api.params import EnvironmentFilter, Range, TimeRange
from hiveboard.api.queries.insights import InsightFilters, insights

router = APIRouter(prefix="/v1/insights", tags=["insights"], responses=ERROR_RESPONSES)


@router.get(
    "",
    summary="Cost per turn, stop reasons, cache efficiency, compactions, anomalies, learning, retry "
    "rates and error types of the range",
)
def get_insights(
    scope: Scope,
    storage: StorageDep,
    time_range: Range = TimeRange.DAY,
    agent_id: str | None = None,
    environment: EnvironmentFilter = None,
    project: str | None = None,
) -> Insights:
    filters = InsightFilters(agent_id=agent_id, environment=environment, project=project)
    return insights(storage, scope, time_range, filters)
