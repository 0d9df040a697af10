"""The Pipeline tab: `GET /v1/pipeline`, `GET /v1/agents/{agent_id}/pipeline`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.pipeline import AgentPipeline, FleetPipeline
from hiveboard.api.params import EnvironmentFilter
from hiveboard.api.queries.pipeline import agent_pipeline, fleet_pipeline

router = APIRouter(prefix="/v1", tags=["pipeline"], responses=ERROR_RESPONSES)


@router.get("/pipeline", summary="Queues, active issues, open TODOs, scheduled work and pending approvals")
def get_fleet_pipeline(
    scope: Scope,
    storage: StorageDep,
    agent_id: Annotated[str | None, Query(description="Only this agent (listed even when empty)")] = None,
    environment: EnvironmentFilter = None,
) -> FleetPipeline:
    return fleet_pipeline(storage, scope, agent_id, environment)


@router.get("/agents/{agent_id}/pipeline", summary="The pipeline of one agent")
def get_agent_pipeline(agent_id: str, scope: Scope, storage: StorageDep) -> AgentPipeline:
    return agent_pipeline(storage, scope, agent_id)
