"""The Pipeline tab: what each agent has queued, open, scheduled and waiting on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Issue(BaseModel):
    """An agent-level issue, active until resolved."""

    issue_id: str
    summary: str
    severity: str
    category: str
    occurrence_count: int = Field(description="The count the agent reported, else the number of reports")
    first_seen: datetime
    last_seen: datetime


class QueueSnapshot(BaseModel):
    """The agent's latest queue snapshot."""

    depth: int
    oldest_age_seconds: float | None
    items: list[dict[str, Any]]
    processing: dict[str, Any] | None
    source: str = Field(description="manual (queue_snapshot) or provider (queue_provider at a heartbeat)")
    reported_at: datetime


class Todo(BaseModel):
    """An open TODO: its latest action is neither completed nor dismissed."""

    todo_id: str
    summary: str
    status: str = Field(description="The latest action: created, deferred or failed")
    priority: str
    source: str
    due_by: str
    created_at: datetime
    updated_at: datetime


class ScheduledWork(BaseModel):
    """The agent's latest `scheduled()` report."""

    items: list[dict[str, Any]]
    reported_at: datetime


class PendingApproval(BaseModel):
    """An approval request without an answer yet."""

    task_id: str
    summary: str
    approver: str
    requested_at: datetime


class AgentPipeline(BaseModel):
    agent_id: str
    queue: QueueSnapshot | None
    issues: list[Issue]
    todos: list[Todo]
    scheduled: ScheduledWork | None
    pending_approvals: list[PendingApproval]


class PipelineTotals(BaseModel):
    queue_depth: int
    active_issues: int
    open_todos: int
    pending_approvals: int
    scheduled_items: int = Field(description="Items of the agents' latest scheduled-work reports")


class FleetPipeline(BaseModel):
    totals: PipelineTotals
    agents: list[AgentPipeline]
