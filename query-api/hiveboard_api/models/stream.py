"""Messages of the live stream `WS /v1/stream`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from hiveboard.api.models.agents import AgentStatus, AgentSummary
from hiveboard.api.models.events import Event, EventGroup

Channel = Literal["events", "agents"]


class StreamFilters(BaseModel):
    """Narrow a subscription; each given filter must match (lists: any of their values)."""

    agent_id: list[str] = Field(default=[], description="Agents (both channels)")
    event_type: list[str] = []
    severity: list[str] = []
    group: list[EventGroup] = []
    project: str | None = None
    task_id: str | None = None


class Subscribe(BaseModel):
    """`{"action": "subscribe", "channels": [...], "filters": {...}}` replaces the subscription."""

    action: Literal["subscribe"]
    channels: list[Channel] = Field(min_length=1)
    filters: StreamFilters = StreamFilters()


class EventNew(BaseModel):
    type: Literal["event.new"] = "event.new"
    data: Event


class StatusChange(BaseModel):
    agent_id: str
    previous_status: AgentStatus | None = Field(description="None for an agent that just appeared")
    status: AgentStatus
    agent: AgentSummary


class AgentStatusChanged(BaseModel):
    type: Literal["agent.status_changed"] = "agent.status_changed"
    data: StatusChange


class Stuck(BaseModel):
    agent_id: str
    last_heartbeat: datetime
    heartbeat_age_seconds: float
    stuck_threshold_seconds: int


class AgentStuck(BaseModel):
    type: Literal["agent.stuck"] = "agent.stuck"
    data: Stuck
