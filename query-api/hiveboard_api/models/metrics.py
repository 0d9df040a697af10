"""The stats ribbon and mini-charts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hiveboard.api.params import TimeRange


class MetricsSummary(BaseModel):
    """Totals of the range; tasks count when they end, `processing` is now."""

    tasks_completed: int
    tasks_failed: int
    processing: int = Field(description="Tasks open now")
    success_rate: float | None = Field(description="Completed / ended tasks; None without tasks")
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    throughput_per_hour: float
    errors: int = Field(description="Events of severity error: failed tasks, actions, LLM calls, issues...")
    llm_calls: int
    tokens_in: int
    tokens_out: int
    total_cost: float = Field(description="USD of the calls with a known price")
    unpriced_calls: int
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
    cost: float
    cost_per_task: float | None


class Metrics(BaseModel):
    range: TimeRange
    bucket_seconds: int
    summary: MetricsSummary
    timeseries: list[MetricsPoint]
