"""The Hive: `GET /v1/agents`, `GET /v1/agents/{agent_id}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES, documented
from hiveboard.api.models.agents import AgentDetail, AgentList, AgentStatus
from hiveboard.api.params import EnvironmentFilter, TimeRange, Window
from hiveboard.api.queries.agents import (
    AgentSort,
    agent_rows,
    heartbeat_payload,
    list_agents,
    stuck_agent_ids,
)
from hiveboard.api.queries.tasks import TaskFilters, list_tasks
from hiveboard.api.queries.together import run_beside

RECENT_TASKS = 10

router = APIRouter(prefix="/v1/agents", tags=["agents"], responses=ERROR_RESPONSES)


@router.get("", summary="Every agent with its derived status and last-hour stats")
def get_agents(
    scope: Scope,
    storage: StorageDep,
    status: Annotated[AgentStatus | None, Query(description="Only agents in this status")] = None,
    agent_type: Annotated[str | None, Query(description="Only agents of this type")] = None,
    environment: EnvironmentFilter = None,
    sort: Annotated[
        AgentSort,
        Query(
            description="agent_id (default); attention: stuck, error, waiting_approval, processing, idle, "
            "offline, then by agent id, as The Hive orders its cards"
        ),
    ] = "agent_id",
) -> AgentList:
    agents = list_agents(storage, scope, sort=sort)
    return AgentList(
        data=[
            agent
            for agent in agents
            if (status is None or agent.derived_status == status)
            and (agent_type is None or agent.agent_type == agent_type)
            and (environment is None or agent.environment == environment)
        ]
    )


@router.get(
    "/{agent_id}",
    summary="One agent, with its heartbeat payload and recent tasks",
    responses=documented(404, "No such agent"),
)
def get_agent(agent_id: str, scope: Scope, storage: StorageDep) -> AgentDetail:
    # The card and the recent tasks do not depend on each other: read at the same time.
    rows, tasks = run_beside(
        lambda: agent_rows(storage, scope, agent_id),
        lambda: list_tasks(
            storage,
            scope,
            Window.last(TimeRange.MONTH),
            TaskFilters(agent_id=agent_id),
            limit=RECENT_TASKS,
            stuck_agents=lambda: stuck_agent_ids(storage, scope, agent_id=agent_id),
        ),
    )
    if not rows:
        raise HTTPException(
            404, f"no agent {agent_id!r} has registered with this key's tenant; list them at /v1/agents"
        )
    summary, payload = rows[0]
    return AgentDetail(
        **summary.model_dump(), heartbeat_payload=heartbeat_payload(payload), recent_tasks=tasks.data
    )
