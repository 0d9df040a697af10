"""The stats ribbon and mini-charts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hiveboard.api.models.cost import COST_OF_CALLS, UNPRICED_CALLS
from hiveboard.api.params import TimeRange


class MetricsSummary(BaseModel):
    """Totals of the range; tasks count when they end, `processing` is now."""

    tasks_completed: int
    tasks_failed: int
    processing: int = Field(description="Tasks open now")
    escalated: int = Field(
        description="Tasks ended in the range or open now whose derived status is escalated, as /v1/tasks "
        "shows them: completed after an escalation, or escalated and left open by an agent now stuck"
    )
    stuck_agents: int = Field(description="Agents stuck now (of agent_id when given; project does not apply)")
    success_rate: float | None = Field(description="Completed / ended tasks; None without tasks")
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    throughput_per_hour: float
    errors: int = Field(description="Events of severity error: failed tasks, actions, LLM calls, issues...")
    llm_calls: int
    tokens_in: int
    tokens_out: int
    total_cost: float | None = Field(description=f"Of the range's LLM calls: {COST_OF_CALLS}")
    unpriced_calls: int = Field(description=UNPRICED_CALLS)
    cost_per_task: float | None


class MetricsPoint(BaseModel):
    """One bucket of the timeseries, starting at `timestamp`."""

    timestamp: datetime
    tasks_completed: int
    tasks_failed: int
    throughput: int = Field(description="Tasks ended in the bucket")
    success_rate: float | None
    avg_duration_ms: float | None
    errors: int
    llm_calls: int
    cost: float | None = Field(description=f"Of the bucket's LLM calls: {COST_OF_CALLS}")
    unpriced_calls: int = Field(description=UNPRICED_CALLS)
    cost_per_task: float | None


class Metrics(BaseModel):
    range: TimeRange
    bucket_seconds: int
    summary: MetricsSummary
    timeseries: list[MetricsPoint]


class AgentActivity(BaseModel):
    """One agent's tasks per bucket of `FleetActivity.timestamps`."""

    agent_id: str
    throughput: list[int] = Field(description="Tasks ended in each bucket")
    failed: list[int] = Field(description="Tasks failed in each bucket")


class FleetActivity(BaseModel):
    """Every agent's tasks over time, for The Hive's sparklines (one request for the whole fleet)."""

    range: TimeRange
    bucket_seconds: int
    timestamps: list[datetime] = Field(description="Start of each bucket, oldest first")
    agents: list[AgentActivity] = Field(description="Agents that ended a task in the range, by id")
