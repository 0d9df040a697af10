"""A task: one `invoke_agent` span for one unit of work, and the narrative events inside it."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from hiveboard_semconv.attributes import (
    ERROR_TYPE,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    GEN_AI_AGENT_NAME,
    GEN_AI_OPERATION_NAME,
    HIVEBOARD_AGENT_ID,
    HIVEBOARD_APPROVAL_APPROVED_BY,
    HIVEBOARD_APPROVAL_APPROVER,
    HIVEBOARD_APPROVAL_DECISION,
    HIVEBOARD_ESCALATION_ASSIGNED_TO,
    HIVEBOARD_ESCALATION_REASON,
    HIVEBOARD_EVENT_SUMMARY,
    HIVEBOARD_PAYLOAD,
    HIVEBOARD_PLAN_GOAL,
    HIVEBOARD_PLAN_REVISION,
    HIVEBOARD_PLAN_STEP_ACTION,
    HIVEBOARD_PLAN_STEP_INDEX,
    HIVEBOARD_PLAN_STEP_TOKENS,
    HIVEBOARD_PLAN_STEP_TURNS,
    HIVEBOARD_PLAN_STEPS,
    HIVEBOARD_PLAN_TOTAL_STEPS,
    HIVEBOARD_PROJECT,
    HIVEBOARD_RETRY_ATTEMPT,
    HIVEBOARD_RETRY_BACKOFF_SECONDS,
    HIVEBOARD_SPAN_TYPE,
    HIVEBOARD_TASK_ID,
    HIVEBOARD_TASK_OUTCOME,
    HIVEBOARD_TASK_STATUS,
    HIVEBOARD_TASK_TYPE,
    HiveboardEventTypeValues,
    HiveboardPlanStepActionValues,
    HiveboardSpanTypeValues,
    HiveboardTaskStatusValues,
)
from hiveloop._internal.context import ContextScope, current_task, parent_context
from hiveloop._internal.emit import (
    INFO,
    WARN,
    emit_event,
    emit_llm_call,
    emit_user_event,
    start_span,
    summary_text,
)
from hiveloop._internal.payloads import (
    ID_MAX_CHARS,
    as_float,
    as_int,
    clean_attributes,
    clean_text,
    put,
    to_json,
    truncate,
)
from hiveloop._internal.safety import never_raise

if TYPE_CHECKING:
    from hiveloop._internal.agent import Agent

logger = logging.getLogger("hiveloop")

INVOKE_AGENT = "invoke_agent"
_OK = Status(StatusCode.OK)


def record_failure(span: trace.Span, exception: BaseException | None, now: int) -> None:
    """Mark a task or action span failed, with OTel's `exception` event when there is an exception.

    The exception's text is made encodable like every attribute (see `clean_text`): an OSError about
    a file name that is not UTF-8 holds lone surrogates, which would fail the whole export batch.
    """
    if exception is None:
        span.set_status(Status(StatusCode.ERROR))
        return
    name = type(exception).__qualname__
    message = str(exception)
    overrides = None
    if clean_text(message, EXCEPTION_MESSAGE) != message:
        stacktrace = "".join(traceback.format_exception(exception))
        overrides = {
            EXCEPTION_MESSAGE: clean_text(message, EXCEPTION_MESSAGE),
            EXCEPTION_STACKTRACE: clean_text(stacktrace, EXCEPTION_STACKTRACE),
        }
    span.set_attribute(ERROR_TYPE, clean_text(name, ERROR_TYPE))
    span.record_exception(exception, attributes=overrides, timestamp=now)
    span.set_status(Status(StatusCode.ERROR, clean_text(f"{name}: {message}", "status message")))


class Task:
    """A running task, from `agent.task()` (a context manager) or `agent.start_task()`.

    Task-level methods emit events into this task's timeline; all of them return at once and never
    raise.

    ```python
    with agent.task("task-001", project="sales-pipeline") as task:
        task.plan("Process lead", ["Fetch CRM", "Score", "Route"])
        task.plan_step(0, "completed", "CRM data retrieved")
    ```
    """

    def __init__(
        self, agent: Agent, task_id: str, project: str | None = None, type: str | None = None
    ) -> None:
        self.agent = agent
        self.task_id = truncate(task_id, ID_MAX_CHARS)
        self.project = None if project is None else truncate(project, ID_MAX_CHARS)
        self.type = None if type is None else truncate(type, ID_MAX_CHARS)
        # What every span inside the task carries.
        self.child_attributes: dict[str, Any] = {
            HIVEBOARD_AGENT_ID: agent.agent_id,
            HIVEBOARD_TASK_ID: self.task_id,
        }
        put(self.child_attributes, HIVEBOARD_TASK_TYPE, self.type)
        put(self.child_attributes, HIVEBOARD_PROJECT, self.project)
        self.span: trace.Span = trace.INVALID_SPAN
        self.span_context: Context | None = None
        self.detached = False
        self.outer_span: trace.Span = trace.INVALID_SPAN
        self._scope: ContextScope | None = None
        self._payload: Any = None
        self._ended = False
        self._plan_total: int | None = None
        self._plan_revision: int | None = None

    def __repr__(self) -> str:
        return f"<hiveloop.Task {self.task_id!r} agent={self.agent.agent_id!r}>"

    # ---- lifecycle -------------------------------------------------------------------------------

    def _start(self, detached: bool) -> None:
        """Open the task span and emit the `task_started` marker.

        `detached` (manual lifecycle) leaves the OpenTelemetry context alone, since `complete()` may
        run in another context; children find the task through `parent_context()` instead.
        """
        client = self.agent.client
        attributes: dict[str, Any] = {
            **self.agent.identity_attributes,
            **self.child_attributes,
            HIVEBOARD_SPAN_TYPE: HiveboardSpanTypeValues.TASK,
            GEN_AI_OPERATION_NAME: INVOKE_AGENT,
            GEN_AI_AGENT_NAME: self.agent.agent_id,
        }
        self.span = start_span(
            client,
            f"{INVOKE_AGENT} {self.agent.agent_id}",
            parent_context(),
            SpanKind.INTERNAL,
            attributes,
            client.now(),
        )
        self.span_context = trace.set_span_in_context(self.span)
        self.detached = detached
        if detached:
            self.outer_span = trace.get_current_span()
            current_task.set(self)
        else:
            self._scope = ContextScope(self.span_context, current_task, self)
        emit_event(
            client, self.span_context, self.child_attributes, HiveboardEventTypeValues.TASK_STARTED, INFO
        )

    def __enter__(self) -> Task:
        try:
            self._start(detached=False)
        except Exception:
            logger.debug("hiveloop: starting task %s failed", self.task_id, exc_info=True)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.complete()
        else:
            self.fail(exception=exc)
        # The exception, if any, propagates: HiveLoop never swallows the agent's errors.

    @never_raise
    def complete(self, status: str = "success", payload: Mapping[str, Any] | None = None) -> None:
        """End the task as completed; `payload` (or the one from `set_payload`) is attached.

        ```python
        task.complete(status="success", payload={"result": result})
        ```
        """
        self._end(HiveboardTaskStatusValues.COMPLETED, payload, None, outcome=str(status))

    @never_raise
    def fail(self, exception: BaseException | None = None, payload: Mapping[str, Any] | None = None) -> None:
        """End the task as failed, recording `exception` (type, message, stack trace) when given.

        ```python
        except Exception as e:
            task.fail(exception=e)
        ```
        """
        self._end(HiveboardTaskStatusValues.FAILED, payload, exception, outcome=None)

    @never_raise
    def set_payload(self, payload: Mapping[str, Any]) -> None:
        """Attach data to the task's completion.

        ```python
        task.set_payload({"score": score, "threshold": 80, "decision": "nurture"})
        ```
        """
        self._payload = payload

    def _end(self, status: str, payload: Any, exception: BaseException | None, outcome: str | None) -> None:
        if self._ended or self.span is trace.INVALID_SPAN:
            return
        self._ended = True
        span = self.span
        now = self.agent.client.now()
        attributes = {HIVEBOARD_TASK_STATUS: status}
        payload = payload if payload is not None else self._payload
        if payload is not None:
            attributes[HIVEBOARD_PAYLOAD] = to_json(payload)
        if status == HiveboardTaskStatusValues.COMPLETED:
            attributes[HIVEBOARD_TASK_OUTCOME] = outcome or "success"
            span.set_attributes(clean_attributes(attributes))
            span.set_status(_OK)
        else:
            span.set_attributes(clean_attributes(attributes))
            record_failure(span, exception, now)
        span.end(end_time=now)
        self._leave_context()

    def _leave_context(self) -> None:
        if self._scope is not None:
            self._scope.exit()
            self._scope = None
        elif current_task.get() is self:  # a detached task, ended where it was started
            current_task.set(None)

    # ---- events in the task's timeline -----------------------------------------------------------

    def _emit(self, event_type: str, severity: str, attributes: dict[str, Any]) -> None:
        emit_event(
            self.agent.client, parent_context(self), self.child_attributes, event_type, severity, attributes
        )

    @never_raise
    def llm_call(
        self,
        name: str,
        model: str,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
        cost: float | None = None,
        duration_ms: float | None = None,
        prompt_preview: str | None = None,
        response_preview: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an LLM call: a `chat {model}` span ending now, started `duration_ms` earlier.

        `metadata` keys `turn_number`, `cache_read_input_tokens`, `cache_creation_input_tokens`,
        `stop_reason` and `provider` also become typed GenAI attributes.

        ```python
        task.llm_call("lead_scoring", "claude-sonnet-4-20250514", tokens_in=1800, tokens_out=250,
                      cost=0.004, duration_ms=1200, metadata={"turn_number": 1})
        ```
        """
        emit_llm_call(
            self.agent.client, parent_context(self), self.child_attributes, name, model, tokens_in,
            tokens_out, cost, duration_ms, prompt_preview, response_preview, metadata,
        )  # fmt: skip

    @never_raise
    def plan(self, goal: str, steps: Sequence[str], revision: int = 0) -> None:
        """Declare the task's plan; call again with `revision` + 1 when the agent replans.

        ```python
        task.plan("Process lead", ["Fetch CRM", "Score", "Enrich", "Route"])
        ```
        """
        step_list = [truncate(step, 512) for step in steps or ()]
        self._plan_total = len(step_list)
        self._plan_revision = as_int(revision) or 0
        self._emit(
            HiveboardEventTypeValues.PLAN_CREATED,
            INFO,
            {
                HIVEBOARD_PLAN_GOAL: summary_text(goal) or "",
                HIVEBOARD_PLAN_STEPS: step_list,
                HIVEBOARD_PLAN_TOTAL_STEPS: self._plan_total,
                HIVEBOARD_PLAN_REVISION: self._plan_revision,
            },
        )

    @never_raise
    def plan_step(
        self,
        step_index: int,
        action: str,
        summary: str,
        total_steps: int | None = None,
        turns: int | None = None,
        tokens: int | None = None,
        plan_revision: int | None = None,
    ) -> None:
        """Report a plan step `started`, `completed`, `failed` or `skipped` (zero-based index).

        `total_steps` and `plan_revision` default to those of the last `plan()`.

        ```python
        task.plan_step(1, "completed", "Lead scored 72", turns=2, tokens=3200)
        ```
        """
        action = str(action)
        attributes: dict[str, Any] = {
            HIVEBOARD_EVENT_SUMMARY: summary_text(summary) or "",
            HIVEBOARD_PLAN_STEP_INDEX: as_int(step_index) or 0,
            HIVEBOARD_PLAN_STEP_ACTION: action,
        }
        total = as_int(total_steps)
        put(attributes, HIVEBOARD_PLAN_TOTAL_STEPS, total if total is not None else self._plan_total)
        revision = as_int(plan_revision)
        put(attributes, HIVEBOARD_PLAN_REVISION, revision if revision is not None else self._plan_revision)
        put(attributes, HIVEBOARD_PLAN_STEP_TURNS, as_int(turns))
        put(attributes, HIVEBOARD_PLAN_STEP_TOKENS, as_int(tokens))
        severity = WARN if action == HiveboardPlanStepActionValues.FAILED else INFO
        self._emit(HiveboardEventTypeValues.PLAN_STEP, severity, attributes)

    @never_raise
    def escalate(
        self, summary: str | None = None, assigned_to: str | None = None, reason: str | None = None
    ) -> None:
        """Record that the agent handed this work to a human or another agent.

        The integration guide calls the summary `reason`: `escalate(reason="...")` alone uses it as
        the summary.

        ```python
        task.escalate("Lead score 0.12 — needs manual review", assigned_to="senior-sales")
        ```
        """
        attributes: dict[str, Any] = {HIVEBOARD_EVENT_SUMMARY: summary_text(summary or reason) or ""}
        put(attributes, HIVEBOARD_ESCALATION_ASSIGNED_TO, None if assigned_to is None else str(assigned_to))
        put(attributes, HIVEBOARD_ESCALATION_REASON, None if reason is None else summary_text(reason))
        self._emit(HiveboardEventTypeValues.ESCALATED, WARN, attributes)

    @never_raise
    def request_approval(self, summary: str, approver: str | None = None) -> None:
        """Record that the task waits for a human decision (the agent shows WAITING until it arrives).

        ```python
        task.request_approval("Refund $450 for customer BlueStar", approver="finance-team")
        ```
        """
        attributes: dict[str, Any] = {HIVEBOARD_EVENT_SUMMARY: summary_text(summary) or ""}
        put(attributes, HIVEBOARD_APPROVAL_APPROVER, None if approver is None else str(approver))
        self._emit(HiveboardEventTypeValues.APPROVAL_REQUESTED, INFO, attributes)

    @never_raise
    def approval_received(
        self, summary: str, approved_by: str | None = None, decision: str | None = None
    ) -> None:
        """Record the human decision on a pending approval.

        ```python
        task.approval_received("Approved by @jsmith", approved_by="jsmith", decision="approved")
        ```
        """
        attributes: dict[str, Any] = {HIVEBOARD_EVENT_SUMMARY: summary_text(summary) or ""}
        put(attributes, HIVEBOARD_APPROVAL_APPROVED_BY, None if approved_by is None else str(approved_by))
        put(attributes, HIVEBOARD_APPROVAL_DECISION, None if decision is None else str(decision))
        self._emit(HiveboardEventTypeValues.APPROVAL_RECEIVED, INFO, attributes)

    @never_raise
    def retry(
        self,
        summary: str | None = None,
        attempt: int | None = None,
        backoff_seconds: float | None = None,
        reason: str | None = None,
    ) -> None:
        """Record a retry of a failed operation (`reason=` is accepted for the summary, as in the guide).

        ```python
        task.retry("API timeout, attempt 2", attempt=2, backoff_seconds=4.0)
        ```
        """
        attributes: dict[str, Any] = {HIVEBOARD_EVENT_SUMMARY: summary_text(summary or reason) or ""}
        put(attributes, HIVEBOARD_RETRY_ATTEMPT, as_int(attempt))
        put(attributes, HIVEBOARD_RETRY_BACKOFF_SECONDS, as_float(backoff_seconds))
        self._emit(HiveboardEventTypeValues.RETRY_STARTED, WARN, attributes)

    @never_raise
    def event(
        self, event_type: str, payload: Mapping[str, Any] | None = None, severity: str | None = None
    ) -> None:
        """Emit a custom event in this task (`"custom"` with a `kind` and `data`, or a type of your own).

        ```python
        task.event("custom", payload={"kind": "context_compaction", "data": {"tokens_before": 180000}})
        ```
        """
        emit_user_event(
            self.agent.client, parent_context(self), self.child_attributes, event_type, payload, severity
        )
