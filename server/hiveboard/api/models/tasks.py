"""The task table and the timeline of one task."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hiveboard.api.models.cost import COST_OF_CALLS, UNPRICED_CALLS

TaskStatus = Literal["completed", "failed", "escalated", "waiting", "processing"]
StepStatus = Literal["not_started", "in_progress", "completed", "failed", "skipped"]


class TaskSummary(BaseModel):
    """One row of the task table: one execution of a task."""

    task_id: str
    task_span_id: str = Field(description="Span id of the task; tells executions that reuse a task id apart")
    trace_id: str
    agent_id: str
    agent_type: str
    task_type: str
    project: str
    environment: str
    status: str = Field(description="How the task span ended (completed, failed), or processing while open")
    derived_status: TaskStatus = Field(
        description="failed; escalated while open after an escalation once its agent is stuck (its process "
        "died with the task handed over); waiting while open with an approval pending; processing while "
        "open; escalated when it completed after an escalation; else completed"
    )
    started_at: datetime
    ended_at: datetime | None
    duration_ms: float | None
    error_type: str
    error_message: str
    llm_call_count: int
    tokens_in: int
    tokens_out: int
    total_tokens: int
    cost: float | None = Field(description=f"Of the task's LLM calls: {COST_OF_CALLS}")
    unpriced_calls: int = Field(description=f"Of the task's LLM calls: {UNPRICED_CALLS}")
    estimated_calls: int = Field(
        description="Of the task's LLM calls, those whose cost HiveBoard estimated from tokens and prices"
    )
    action_count: int
    error_count: int = Field(description="Failed actions and LLM calls, plus the task itself when it failed")
    escalation_count: int
    retry_count: int
    has_human_intervention: bool = Field(
        description="A human was involved: the task requested an approval (answered or not), or escalated "
        "to someone (`assigned_to`) who is not one of the tenant's agents"
    )


class LlmCallNode(BaseModel):
    """An LLM call in the action tree."""

    type: Literal["llm_call"] = "llm_call"
    span_id: str
    name: str
    model: str
    started_at: datetime
    duration_ms: float
    tokens_in: int
    tokens_out: int
    cost: float | None = Field(description="USD, rounded to 1e-6; null when the call has no known price")
    cost_source: str
    status: str


class ActionNode(BaseModel):
    """An action (`@agent.track`, `track_context`) with its nested actions and LLM calls in time order."""

    type: Literal["action"] = "action"
    span_id: str
    name: str
    status: Literal["completed", "failed", "in_progress"]
    started_at: datetime
    ended_at: datetime | None
    duration_ms: float | None
    error_type: str
    error_message: str
    exception_stacktrace: str | None = Field(description="Of a failed action, from its exception event")
    children: list[ActionNode | LlmCallNode]


class TimelineEvent(BaseModel):
    """One event of the timeline, in time order; `attributes` are the span's own (all strings)."""

    span_id: str
    parent_span_id: str
    timestamp: datetime
    event_type: str
    kind: str
    severity: str
    summary: str
    action_name: str
    duration_ms: float | None
    error_type: str
    error_message: str
    retry_attempt: int | None
    plan_step_index: int | None
    plan_step_action: str
    attributes: dict[str, str]


class PlanStep(BaseModel):
    index: int
    description: str
    status: StepStatus
    summary: str
    turns: int | None
    tokens: int | None
    updated_at: datetime | None


class PlanProgress(BaseModel):
    total: int
    completed: int
    failed: int
    in_progress: int
    skipped: int
    not_started: int
    percent: float = Field(description="Completed or skipped steps, in percent of all steps")


class Plan(BaseModel):
    """The latest revision of the task's plan, each step with its latest state."""

    goal: str
    revision: int
    created_at: datetime | None
    steps: list[PlanStep]
    progress: PlanProgress


class ChainLink(BaseModel):
    span_id: str
    timestamp: datetime
    event_type: str
    summary: str
    action_name: str
    retry_attempt: int | None
    backoff_seconds: float | None
    error_type: str
    error_message: str


class ErrorChain(BaseModel):
    """A failure and what followed it: retries, escalations, until recovery or the task's end."""

    outcome: Literal["recovered", "escalated", "failed", "unresolved"]
    retry_count: int
    started_at: datetime
    ended_at: datetime
    links: list[ChainLink]


class DurationBreakdown(BaseModel):
    """Where the task's time went, within the task's own span: llm_ms + tools_ms + other_ms = total_ms."""

    total_ms: float = Field(description="The task's duration (up to now while it is open)")
    llm_ms: float = Field(
        description="Time during which an LLM call ran, calls clipped to the task (a call reported with a "
        "duration longer than the task had run counts from the task's start) and parallel calls once"
    )
    tools_ms: float = Field(description="Time in actions while no LLM call ran")
    other_ms: float = Field(description="The rest: the agent's own work between actions and calls")


class Timeline(BaseModel):
    task: TaskSummary
    events: list[TimelineEvent]
    action_tree: list[ActionNode | LlmCallNode] = Field(
        description="Actions directly under the task (with their nested actions and LLM calls), and the "
        "LLM calls made outside any action, in time order"
    )
    plan: Plan | None
    error_chains: list[ErrorChain]
    duration_breakdown: DurationBreakdown
    payload: dict[str, Any] | None = Field(description="What the task set with set_payload/complete")
