"""The task table and the timeline: `GET /v1/tasks`, `GET /v1/tasks/{task_id}/timeline`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES, documented
from hiveboard.api.models.tasks import TaskStatus, TaskSummary, Timeline
from hiveboard.api.params import (
    DEFAULT_LIMIT,
    Cursor,
    EnvironmentFilter,
    Limit,
    Page,
    Range,
    TimeRange,
    Window,
)
from hiveboard.api.queries.agents import stuck_agent_ids
from hiveboard.api.queries.tasks import SortOrder, TaskFilters, TaskSort, list_tasks
from hiveboard.api.queries.timeline import task_timeline

router = APIRouter(prefix="/v1/tasks", tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("", summary="Tasks started in the range (and every open task), filtered and sorted")
def get_tasks(
    scope: Scope,
    storage: StorageDep,
    time_range: Range = TimeRange.DAY,
    agent_id: str | None = None,
    environment: EnvironmentFilter = None,
    project: str | None = None,
    task_type: str | None = None,
    status: Annotated[TaskStatus | None, Query(description="Derived status")] = None,
    sort: TaskSort = "started_at",
    order: SortOrder = "desc",
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TaskSummary]:
    filters = TaskFilters(
        agent_id=agent_id, environment=environment, project=project, task_type=task_type, status=status
    )
    return list_tasks(
        storage,
        scope,
        Window.last(time_range),
        filters,
        sort=sort,
        order=order,
        limit=limit,
        cursor=cursor,
        stuck_agents=lambda: stuck_agent_ids(storage, scope, agent_id=agent_id),
    )


@router.get(
    "/{task_id}/timeline",
    summary="A task's events, action tree, plan, error chains and duration split",
    responses=documented(404, "No such task"),
)
def get_timeline(
    task_id: str,
    scope: Scope,
    storage: StorageDep,
    task_span_id: Annotated[
        str | None, Query(description="Which execution, when several reuse the task id (default: the latest)")
    ] = None,
) -> Timeline:
    timeline = task_timeline(storage, scope, task_id, task_span_id)
    if timeline is None:
        raise HTTPException(404, f"no task {task_id!r} in this key's data; list tasks at /v1/tasks")
    return timeline
