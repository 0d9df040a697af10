"""The Hive: agent cards and their status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hiveboard.api.models.cost import COST_OF_CALLS, UNPRICED_CALLS
from hiveboard.api.models.tasks import TaskSummary

AgentStatus = Literal["idle", "processing", "waiting_approval", "error", "stuck", "offline"]


class AgentStats(BaseModel):
    """The agent's last hour; queue depth and issues are its current state."""

    tasks_completed: int
    tasks_failed: int
    success_rate: float | None = Field(description="Completed / ended tasks in the hour; None without tasks")
    avg_duration_ms: float | None
    total_cost: float | None = Field(description=f"Of the hour's LLM calls: {COST_OF_CALLS}")
    unpriced_calls: int = Field(description=f"Of the hour's LLM calls: {UNPRICED_CALLS}")
    llm_calls: int
    throughput: int = Field(description="Tasks ended in the last hour (tasks per hour)")
    queue_depth: int | None = Field(description="Depth of the latest queue snapshot; None without one")
    active_issues: int


class AgentRuntime(BaseModel):
    """The language runtime of the agent's process, from its `process.runtime.*` resource attributes."""

    name: str = Field(description="`process.runtime.name`, e.g. cpython")
    version: str = Field(description="`process.runtime.version`, e.g. 3.11.7")
    description: str = Field(description="`process.runtime.description` (Python's `sys.version`), or ''")


class AgentSummary(BaseModel):
    """An agent card of The Hive."""

    agent_id: str
    agent_type: str
    version: str
    framework: str
    environment: str
    derived_status: AgentStatus = Field(
        description="offline: the agent shut down cleanly (hiveloop.shutdown() or process exit) after its "
        "latest registration or heartbeat; stuck: no heartbeat within stuck_threshold (heartbeats enabled) "
        "and no clean shutdown; waiting_approval: an "
        "approval request is unanswered; processing: a task is open; error: the last ended task failed; "
        "else idle"
    )
    last_heartbeat: datetime = Field(description="Latest heartbeat or registration")
    heartbeat_age_seconds: float
    heartbeat_interval_seconds: float = Field(description="0 when heartbeats are disabled (never stuck)")
    stuck_threshold_seconds: int
    is_stuck: bool = Field(description="Heartbeats stopped without a clean shutdown; false when offline")
    current_task_id: str | None = Field(description="The most recently started open task")
    open_tasks: int
    pending_approvals: int
    last_task_status: str | None = Field(description="How the most recently ended task ended")
    first_seen: datetime | None = Field(
        description="Start of the agent's first span of any kind within the heartbeat retention (7 days "
        "by default); None for an agent HiveBoard has seen no span of since it began keeping them"
    )
    last_seen: datetime = Field(
        description="End of the agent's latest span of any kind: task, action, LLM call, event or heartbeat"
    )
    sdk_version: str | None = Field(
        description="HiveLoop version of the agent's process (`telemetry.distro.version` of its latest span "
        "that has one); None when unknown"
    )
    runtime: AgentRuntime | None = Field(
        description="Language runtime of the agent's process (of its latest span that has one); None when "
        "the sender does not report it"
    )
    stats_1h: AgentStats


class AgentDetail(AgentSummary):
    """An agent with its latest heartbeat payload and its most recent tasks."""

    heartbeat_payload: dict[str, Any] | None
    recent_tasks: list[TaskSummary]


class AgentList(BaseModel):
    data: list[AgentSummary]
