"""The Insights tab: how the agents spend their turns, tokens and retries (the integration guide's
Layers 3 and 4: LLM call metadata and custom events of kinds learning, context_compaction, anomaly)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hiveboard.api.models.cost import COST_OF_CALLS, UNPRICED_CALLS
from hiveboard.api.params import TimeRange


class TurnCost(BaseModel):
    """LLM calls of one turn of the agentic loop (`turn_number` of `llm_call` metadata)."""

    turn_number: int
    call_count: int
    tokens_in: int
    tokens_out: int
    cost: float | None = Field(description=COST_OF_CALLS)
    unpriced_calls: int = Field(description=UNPRICED_CALLS)


class StopReason(BaseModel):
    """Calls by why the model stopped (`gen_ai.response.finish_reasons`, the guide's `stop_reason`)."""

    reason: str = Field(description="The finish reason; '' for calls that reported none")
    call_count: int


class CacheUse(BaseModel):
    """Prompt caching: cached tokens read and written against the input tokens of the calls."""

    model: str = Field(description="The model, or '' for every model together")
    call_count: int
    calls_with_cache: int = Field(description="Calls that read or wrote cached tokens")
    tokens_in: int
    cache_read_tokens: int
    cache_write_tokens: int
    read_ratio: float | None = Field(description="cache_read_tokens / tokens_in; None without input tokens")


class CacheEfficiency(BaseModel):
    totals: CacheUse
    by_model: list[CacheUse]


class Compaction(BaseModel):
    """Context compactions (`custom` events of kind context_compaction) of one agent."""

    agent_id: str
    event_count: int
    task_count: int
    tokens_before: int = Field(description="Sum of the events' data.tokens_before")
    tokens_after: int = Field(description="Sum of the events' data.tokens_after")
    last_at: datetime


class Anomaly(BaseModel):
    """Findings of one client-side detector (`custom` events of kind anomaly) for one agent."""

    agent_id: str
    detector: str = Field(description="data.detector (cycle, prompt_bloat...); '' when not given")
    event_count: int
    task_count: int
    last_at: datetime
    last_summary: str
    last_task_id: str


class Learning(BaseModel):
    """Learning events (`custom` events of kind learning) of one agent and category."""

    agent_id: str
    category: str = Field(description="data.category; '' when not given")
    event_count: int
    corrections_applied: int = Field(description="Events whose data.correction_applied is true")
    last_at: datetime
    last_description: str


class RetryRate(BaseModel):
    """Retries (`retry_started`) of one agent, by the failure they follow.

    A retry's failure type is the error type of the latest failed action of its task before it
    ('' when there is none, or the failure named no type)."""

    agent_id: str
    failure_type: str | None = Field(description="None in the row of the agent over every failure type")
    retries: int
    failures: int = Field(description="Failed actions (of this type)")
    retried_tasks: int = Field(description="Tasks with at least one such retry")
    tasks: int | None = Field(description="Tasks of the agent in the range (in the agent's row only)")


class ErrorTypeCount(BaseModel):
    """Failed tasks, actions and LLM calls of one error type."""

    error_type: str = Field(description="The exception type ('' when the failure named none)")
    event_type: str = Field(description="task_failed, action_failed or llm_call")
    count: int
    agent_count: int
    last_at: datetime
    last_message: str
    last_task_id: str
    last_agent_id: str


class Insights(BaseModel):
    range: TimeRange
    turns: list[TurnCost] = Field(description="By turn number, the first 100 turns")
    stop_reasons: list[StopReason] = Field(description="Most frequent first")
    cache: CacheEfficiency
    compaction: list[Compaction]
    anomalies: list[Anomaly] = Field(description="Most recent first")
    learning: list[Learning]
    retries: list[RetryRate] = Field(description="Per agent, then per agent and failure type")
    error_types: list[ErrorTypeCount] = Field(description="Most frequent first, at most 50")
