"""The cost explorer and LLM calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from hiveboard.api.params import Page, TimeRange

CostSource = Literal["reported", "estimated", "unpriced"]


# The rules every cost over several LLM calls follows, in the API's descriptions.
COST_OF_CALLS = (
    "USD of the calls with a known price (each call's cost rounded to 1e-6 USD, then summed exactly); "
    "null when every call is unpriced (their cost is unknown, never $0); 0.0 without calls"
)
UNPRICED_CALLS = "Calls whose model has no known price: they count tokens, not cost"


class CostTotals(BaseModel):
    """Costs in USD. `cost` sums the calls with a known price; unpriced calls show tokens, no cost."""

    call_count: int
    tokens_in: int
    tokens_out: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost: float | None = Field(description=COST_OF_CALLS)
    reported_cost: float = Field(description="Cost the SDK (or instrumentation) reported")
    estimated_cost: float = Field(description="Cost HiveBoard estimated from tokens and the model's prices")
    reported_calls: int
    estimated_calls: int
    unpriced_calls: int = Field(description=UNPRICED_CALLS)


class ModelCost(CostTotals):
    model: str
    provider: str
    matched_model: str = Field(description="The priced model the estimate used ('' when none)")


class AgentCost(CostTotals):
    agent_id: str


class CostOverview(BaseModel):
    range: TimeRange
    totals: CostTotals
    by_model: list[ModelCost]
    by_agent: list[AgentCost]
    timeseries: CostTimeseries | None = Field(
        default=None,
        description="With `series=`: what /v1/cost/timeseries answers with that `group_by`, read in the "
        "same scan as the totals (null without)",
    )


class LlmCall(BaseModel):
    """One LLM call, from HiveLoop or any OpenTelemetry GenAI instrumentation."""

    call_id: str = Field(description="The call's span id")
    trace_id: str
    parent_span_id: str
    timestamp: datetime = Field(description="When the call started")
    service_name: str
    agent_id: str
    task_id: str
    project: str
    name: str
    provider: str
    model: str
    request_model: str
    tokens_in: int
    tokens_out: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost: float | None = Field(description="USD, rounded to 1e-6; null when the call has no known price")
    cost_source: str = Field(description="reported, estimated, or unpriced (unknown model: no cost)")
    matched_model: str
    duration_ms: float
    turn_number: int | None
    finish_reasons: list[str]
    prompt_preview: str
    response_preview: str
    status: str


class LlmCallPage(Page[LlmCall]):
    totals: CostTotals | None = Field(
        description="Of every call matching the filters, not only this page; null when asked with "
        "totals=false"
    )


class CostPoint(TypedDict):
    """A point of a cost series: a dict, not a model, because a chart by agent of a large fleet has
    tens of thousands of them (500 agents x 73 buckets), and pydantic checks dicts in a model's list
    two to three times faster than it builds a model per point."""

    timestamp: datetime
    cost: Annotated[float | None, Field(description=COST_OF_CALLS)]
    unpriced_calls: Annotated[int, Field(description=UNPRICED_CALLS)]
    call_count: int
    tokens_in: int
    tokens_out: int


class CostSeries(BaseModel):
    key: str = Field(description="'total', or the model or agent of the series")
    points: list[CostPoint]


class CostTimeseries(BaseModel):
    range: TimeRange
    bucket_seconds: int
    group_by: Literal["total", "model", "agent"]
    series: list[CostSeries]
