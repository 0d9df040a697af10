"""The tables and vocabulary the queries read (unqualified names resolve to the storage's database)."""

from __future__ import annotations

from hiveboard.storage.schema.agent_reports_table import AGENT_REPORTS_TABLE
from hiveboard.storage.schema.current_state import (
    AGENT_TASKS_TABLE,
    INSIGHT_EVENT_KINDS,
    INSIGHT_EVENTS_TABLE,
    ISSUE_STATES_TABLE,
    PIPELINE_EVENTS_TABLE,
)
from hiveboard.storage.schema.hiveboard_tables import (
    ACTION_COMPLETED,
    ACTION_FAILED,
    AGENT_ACTIVITY_TABLE,
    AGENTS_TABLE,
    EVENTS_TABLE,
    LLM_CALL,
    LLM_CALLS_TABLE,
    PROCESSING,
    STATUS_ERROR,
    TASK_COMPLETED,
    TASK_FAILED,
    TASKS_TABLE,
)
from hiveboard.storage.schema.prices_table import LLM_COSTS_VIEW
from hiveboard_semconv.attributes import HiveboardEventTypeValues, HiveboardTaskStatusValues

# LLM_COSTS_VIEW is every column of hb_llm_calls plus Cost, CostSource and MatchedModel (reported
# cost, else the estimate from the model's prices, else NULL): every cost the API shows is read there.

EVENT = HiveboardEventTypeValues
COMPLETED = HiveboardTaskStatusValues.COMPLETED
FAILED = HiveboardTaskStatusValues.FAILED

__all__ = [
    "AGENT_REPORTS_TABLE",
    "ACTION_COMPLETED",
    "ACTION_FAILED",
    "AGENT_ACTIVITY_TABLE",
    "AGENT_TASKS_TABLE",
    "AGENTS_TABLE",
    "COMPLETED",
    "EVENT",
    "EVENTS_TABLE",
    "FAILED",
    "LLM_CALL",
    "LLM_CALLS_TABLE",
    "LLM_COSTS_VIEW",
    "INSIGHT_EVENT_KINDS",
    "INSIGHT_EVENTS_TABLE",
    "ISSUE_STATES_TABLE",
    "PIPELINE_EVENTS_TABLE",
    "PROCESSING",
    "STATUS_ERROR",
    "TASKS_TABLE",
    "TASK_COMPLETED",
    "TASK_FAILED",
]
