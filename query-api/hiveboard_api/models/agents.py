"""The Hive: agent cards and their status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hiveboard.api.models.tasks import TaskSummary

AgentStatus = Literal["idle", "processing", "waiting_approval", "error", "stuck"]


class AgentStats(BaseModel):
    """The agent's last hour; queue depth and issues are its current state."""

    tasks_completed: int
    tasks_failed: int
    success_rate: float | None = Field(description="Completed / ended tasks in the hour; None without tasks")
    avg_duration_ms: float | None
    total_cost: float | None = Field(description="USD of the hour's LLM calls with a known price")
    llm_calls: int
    throughput: int = Field(description="Tasks ended in the last hour (tasks per hour)")
    queue_depth: int | None = Field(description="Depth of the latest queue snapshot; None without one")
    active_issues: int


class AgentSummary(BaseModel):
    """An agent card of The Hive."""

    agent_id: str
    agent_type: str
    version: str
    framework: str
    environment: str
    derived_status: AgentStatus = Field(
        description="stuck: no heartbeat within stuck_threshold (heartbeats enabled); waiting_approval: an "
        "approval request is unanswered; processing: a task is open; error: the last ended task failed; "
        "else idle"
    )
    last_heartbeat: datetime = Field(description="Latest heartbeat or registration")
    heartbeat_age_seconds: float
    heartbeat_interval_seconds: float = Field(description="0 when heartbeats are disabled (never stuck)")
    stuck_threshold_seconds: int
    is_stuck: bool
    current_task_id: str | None = Field(description="The most recently started open task")
    open_tasks: int
    pending_approvals: int
    last_task_status: str | None = Field(description="How the most recently ended task ended")
    stats_1h: AgentStats


class AgentDetail(AgentSummary):
    """An agent with its latest heartbeat payload and its most recent tasks."""

    heartbeat_payload: dict[str, Any] | None
    recent_tasks: list[TaskSummary]


class AgentList(BaseModel):
    data: list[AgentSummary]
