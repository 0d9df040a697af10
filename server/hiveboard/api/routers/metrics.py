"""The stats ribbon and mini-charts: `GET /v1/metrics`; The Hive's sparklines: `GET /v1/metrics/agents`."""

from __future__ import annotations

from fastapi import APIRouter

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.metrics import FleetActivity, Metrics
from hiveboard.api.params import EnvironmentFilter, Range, TimeRange
from hiveboard.api.queries.metrics import fleet_activity, metrics

router = APIRouter(prefix="/v1/metrics", tags=["metrics"], responses=ERROR_RESPONSES)


@router.get("", summary="Totals of the range and the same per time bucket")
def get_metrics(
    scope: Scope,
    storage: StorageDep,
    time_range: Range = TimeRange.HOUR,
    agent_id: str | None = None,
    environment: EnvironmentFilter = None,
    project: str | None = None,
) -> Metrics:
    return metrics(storage, scope, time_range, agent_id, project, environment=environment)


@router.get("/agents", summary="Tasks ended and failed per agent and time bucket (The Hive's sparklines)")
def get_agent_activity(
    scope: Scope, storage: StorageDep, time_range: Range = TimeRange.HOUR
) -> FleetActivity:
    return fleet_activity(storage, scope, time_range)
