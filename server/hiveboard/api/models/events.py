"""The activity stream."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

# The activity stream's severities (`hiveboard.severity`): events carry theirs, and tasks, actions
# and LLM calls get error when failed, else info. A closed list for the filters, so that a typo or an
# issue's severity (high, critical: see `issue_severity`) is refused rather than matching nothing.
Severity = Literal["debug", "info", "warn", "error"]


class EventGroup(StrEnum):
    """The activity stream's filter buttons."""

    TASK = "task"
    ACTION = "action"
    ERROR = "error"
    LLM = "llm"
    PIPELINE = "pipeline"
    HUMAN = "human"
    PLAN = "plan"


class Event(BaseModel):
    """One event of the activity stream: a narrative event, or a task, action or LLM call that ended.

    The typed fields are set for the event types they belong to and None (or '') otherwise.
    """

    event_id: str = Field(description="The event's span id")
    trace_id: str
    parent_span_id: str
    timestamp: datetime = Field(description="When it happened; a span with a duration enters when it ends")
    agent_id: str
    task_id: str
    project: str
    environment: str
    event_type: str
    kind: str = Field(description="Kind of a custom event (learning, anomaly, ...)")
    severity: str
    summary: str
    action_name: str
    duration_ms: float | None
    error_type: str
    error_message: str
    issue_id: str
    issue_action: str
    issue_severity: str
    issue_category: str
    occurrence_count: int | None
    queue_depth: int | None
    todo_id: str
    todo_action: str
    plan_step_index: int | None
    plan_step_action: str
    plan_total_steps: int | None
    plan_revision: int | None
    retry_attempt: int | None
    approval_decision: str
    attributes: dict[str, str] | None = Field(
        description="The span's attributes (all strings: plan goal and steps, payloads, previews...); "
        "None in the live stream"
    )
