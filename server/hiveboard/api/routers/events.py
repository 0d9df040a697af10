"""The activity stream: `GET /v1/events`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hiveboard.api.auth import Scope, StorageDep
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.events import Event, EventGroup, Severity
from hiveboard.api.params import (
    DEFAULT_LIMIT,
    CommaSeparated,
    Cursor,
    EnvironmentFilter,
    Limit,
    Page,
    Range,
    TimeRange,
    Window,
)
from hiveboard.api.queries.events import EventFilters, list_events

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)


@router.get("", summary="The activity stream, newest first")
def get_events(
    scope: Scope,
    storage: StorageDep,
    time_range: Range = TimeRange.DAY,
    agent_id: str | None = None,
    task_id: str | None = None,
    environment: EnvironmentFilter = None,
    project: str | None = None,
    event_type: Annotated[
        list[str],
        CommaSeparated,
        Query(
            description="Only these event types (repeated or comma-separated). Free: besides HiveLoop's "
            "types (task_completed, llm_call, escalated...), agents send types of their own"
        ),
    ] = [],  # noqa: B006
    severity: Annotated[
        list[Severity],
        CommaSeparated,
        Query(description="Only these severities (repeated or comma-separated)"),
    ] = [],  # noqa: B006
    group: Annotated[
        list[EventGroup],
        CommaSeparated,
        Query(description="The dashboard's filter buttons (repeated or comma-separated: any of them)"),
    ] = [],  # noqa: B006
    payload_kind: Annotated[
        str | None, Query(description="Kind of custom events (learning, anomaly...; free: any kind)")
    ] = None,
    exclude_heartbeats: bool = True,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Event]:
    filters = EventFilters(
        agent_id=agent_id,
        task_id=task_id,
        environment=environment,
        project=project,
        event_types=event_type,
        severities=severity,
        groups=group,
        payload_kind=payload_kind,
        exclude_heartbeats=exclude_heartbeats,
    )
    return list_events(storage, scope, Window.last(time_range), filters, limit=limit, cursor=cursor)
