"""An agent handle: its identity, its heartbeat thread, and its agent-level events."""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from hiveboard_semconv.attributes import (
    HIVEBOARD_AGENT_FRAMEWORK,
    HIVEBOARD_AGENT_HEARTBEAT_INTERVAL,
    HIVEBOARD_AGENT_ID,
    HIVEBOARD_AGENT_STUCK_THRESHOLD,
    HIVEBOARD_AGENT_TYPE,
    HIVEBOARD_AGENT_VERSION,
    HIVEBOARD_EVENT_SUMMARY,
    HIVEBOARD_HEARTBEAT_PAYLOAD,
    HIVEBOARD_ISSUE_ACTION,
    HIVEBOARD_ISSUE_CATEGORY,
    HIVEBOARD_ISSUE_CONTEXT,
    HIVEBOARD_ISSUE_ID,
    HIVEBOARD_ISSUE_OCCURRENCE_COUNT,
    HIVEBOARD_ISSUE_SEVERITY,
    HIVEBOARD_QUEUE_DEPTH,
    HIVEBOARD_QUEUE_ITEMS,
    HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS,
    HIVEBOARD_QUEUE_PROCESSING,
    HIVEBOARD_QUEUE_SOURCE,
    HIVEBOARD_SCHEDULED_COUNT,
    HIVEBOARD_SCHEDULED_ITEMS,
    HIVEBOARD_TODO_ACTION,
    HIVEBOARD_TODO_CONTEXT,
    HIVEBOARD_TODO_DUE_BY,
    HIVEBOARD_TODO_ID,
    HIVEBOARD_TODO_PRIORITY,
    HIVEBOARD_TODO_SOURCE,
    HiveboardEventTypeValues,
    HiveboardIssueActionValues,
    HiveboardQueueSourceValues,
    HiveboardSeverityValues,
)
from hiveloop._internal.action import Action
from hiveloop._internal.context import current_task, parent_context
from hiveloop._internal.emit import INFO, emit_event, emit_llm_call, emit_user_event, summary_text
from hiveloop._internal.payloads import ID_MAX_CHARS, as_float, as_int, put, to_json, truncate
from hiveloop._internal.safety import never_raise
from hiveloop._internal.task import Task

if TYPE_CHECKING:
    from hiveloop._internal.client import HiveBoard

logger = logging.getLogger("hiveloop")

F = TypeVar("F", bound=Callable[..., Any])

# Severity of the activity stream for each issue severity.
_ISSUE_SEVERITY = {
    "critical": HiveboardSeverityValues.ERROR,
    "high": HiveboardSeverityValues.ERROR,
    "medium": HiveboardSeverityValues.WARN,
    "low": HiveboardSeverityValues.INFO,
}


def _issue_id(issue_id: str | None, summary: str) -> str:
    """The caller's issue id, or one derived from the summary so repeated reports deduplicate."""
    if issue_id:
        return truncate(issue_id, ID_MAX_CHARS)
    return "auto-" + hashlib.sha256(summary.encode(errors="surrogatepass")).hexdigest()[:16]


class Agent:
    """A registered agent, returned by `hb.agent()`. Thread-safe; every method returns at once.

    ```python
    agent = hb.agent("lead-qualifier", type="sales")
    with agent.task("task-001", project="sales-pipeline") as task:
        task.llm_call("lead_scoring", "claude-sonnet-4-20250514", tokens_in=1800, tokens_out=250)
    ```
    """

    def __init__(
        self,
        client: HiveBoard,
        agent_id: str,
        *,
        type: str,
        version: str | None,
        framework: str,
        heartbeat_interval: float,
        stuck_threshold: int,
        heartbeat_payload: Callable[[], Mapping[str, Any]] | None,
        queue_provider: Callable[[], Mapping[str, Any]] | None,
    ) -> None:
        self.client = client
        self.agent_id = truncate(agent_id, ID_MAX_CHARS)
        self.type = str(type) if type is not None else "general"
        self.version = None if version is None else str(version)
        self.framework = str(framework) if framework is not None else "custom"
        interval = as_float(heartbeat_interval)
        # The heartbeat thread waits `interval` seconds: beyond TIMEOUT_MAX the wait itself fails.
        self.heartbeat_interval = min(interval, threading.TIMEOUT_MAX) if interval and interval > 0 else 0.0
        threshold = as_int(stuck_threshold)
        self.stuck_threshold = threshold if threshold is not None and threshold > 0 else 300
        self._heartbeat_payload = heartbeat_payload
        self._queue_provider = queue_provider
        # What every span of the agent carries, and the full identity for tasks and liveness events.
        self.base_attributes: dict[str, Any] = {HIVEBOARD_AGENT_ID: self.agent_id}
        self.identity_attributes: dict[str, Any] = {
            HIVEBOARD_AGENT_ID: self.agent_id,
            HIVEBOARD_AGENT_TYPE: self.type,
            HIVEBOARD_AGENT_FRAMEWORK: self.framework,
        }
        put(self.identity_attributes, HIVEBOARD_AGENT_VERSION, self.version)
        self._liveness_attributes = {
            **self.identity_attributes,
            HIVEBOARD_AGENT_HEARTBEAT_INTERVAL: self.heartbeat_interval,
            HIVEBOARD_AGENT_STUCK_THRESHOLD: self.stuck_threshold,
        }
        self._stop = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<hiveloop.Agent {self.agent_id!r} type={self.type!r}>"

    # ---- lifecycle -------------------------------------------------------------------------------

    def _start(self) -> None:
        try:
            emit_event(
                self.client,
                parent_context(),
                self._liveness_attributes,
                HiveboardEventTypeValues.AGENT_REGISTERED,
                INFO,
            )
        except Exception:
            logger.debug("hiveloop: agent registration event failed", exc_info=True)
        if self.heartbeat_interval > 0:
            self._heartbeat_thread = threading.Thread(
                target=self._heartbeat_loop, name=f"hiveloop-heartbeat-{self.agent_id}", daemon=True
            )
            self._heartbeat_thread.start()

    def _use_callbacks(
        self,
        heartbeat_payload: Callable[[], Mapping[str, Any]] | None,
        queue_provider: Callable[[], Mapping[str, Any]] | None,
    ) -> None:
        if heartbeat_payload is not None:
            self._heartbeat_payload = heartbeat_payload
        if queue_provider is not None:
            self._queue_provider = queue_provider

    def _stop_heartbeat(self) -> None:
        self._stop.set()

    def _announce_shutdown(self, deadline: float) -> None:
        """Emit `agent_shutdown`, once the heartbeat thread stopped (waiting until `deadline`, a
        `time.monotonic()` value): a heartbeat sent after it would make the agent look alive again,
        then stuck."""
        thread = self._heartbeat_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        emit_event(
            self.client, None, self._liveness_attributes, HiveboardEventTypeValues.AGENT_SHUTDOWN, INFO
        )

    def _heartbeat_loop(self) -> None:
        while not self._stop.is_set():
            self._heartbeat()
            if self._stop.wait(self.heartbeat_interval):
                return

    def _heartbeat(self) -> None:
        """One heartbeat, then one queue snapshot; a callback that raises skips only its own data."""
        attributes: dict[str, Any] = {}
        if self._heartbeat_payload is not None:
            try:
                attributes[HIVEBOARD_HEARTBEAT_PAYLOAD] = to_json(self._heartbeat_payload())
            except Exception:
                logger.debug(
                    "hiveloop: heartbeat_payload callback of %s raised", self.agent_id, exc_info=True
                )
        try:
            emit_event(
                self.client,
                None,
                self._liveness_attributes,
                HiveboardEventTypeValues.HEARTBEAT,
                HiveboardSeverityValues.DEBUG,
                attributes,
            )
        except Exception:
            logger.debug("hiveloop: heartbeat of %s failed", self.agent_id, exc_info=True)
        if self._queue_provider is not None:
            try:
                queue = self._queue_provider()
            except Exception:
                logger.debug("hiveloop: queue_provider callback of %s raised", self.agent_id, exc_info=True)
                return
            if isinstance(queue, Mapping):
                self._queue_snapshot(
                    queue.get("depth"),
                    queue.get("oldest_age_seconds"),
                    queue.get("items"),
                    queue.get("processing"),
                    HiveboardQueueSourceValues.PROVIDER,
                )

    # ---- where the agent's spans go --------------------------------------------------------------

    def _scope(self) -> tuple[Any, dict[str, Any]]:
        """Parent context and identity attributes for an agent-level span emitted here and now.

        Inside one of this agent's tasks the span belongs to that task.
        """
        task = current_task.get()
        if task is not None and task.agent is self:
            return parent_context(), task.child_attributes
        return parent_context(), self.base_attributes

    # ---- tasks and actions -----------------------------------------------------------------------

    def task(self, task_id: str, project: str | None = None, type: str | None = None) -> Task:
        """A task as a context manager: completes on a clean exit, fails (and re-raises) on an exception.

        ```python
        with agent.task("task-001", project="sales-pipeline", type="lead_qualification") as task:
            process_lead()
        ```
        """
        return Task(self, task_id, project=project, type=type)

    def start_task(self, task_id: str, project: str | None = None, type: str | None = None) -> Task:
        """Start a task whose end the caller reports with `task.complete()` or `task.fail()`.

        ```python
        task = agent.start_task("task-001", project="sales")
        try:
            task.complete(payload={"result": do_work()})
        except Exception as e:
            task.fail(exception=e)
        ```
        """
        task = Task(self, task_id, project=project, type=type)
        task._start(detached=True)
        return task

    def track(self, action_name: str | None = None) -> Callable[[F], F]:
        """Decorator that records each call of a sync or async function as an action.

        ```python
        @agent.track("fetch_crm_data")
        def fetch_crm_data(lead_id): ...
        ```
        """

        def decorate(function: F) -> F:
            name = action_name or getattr(function, "__name__", "action")
            qualname = getattr(function, "__qualname__", name)
            if inspect.iscoroutinefunction(function):

                @functools.wraps(function)
                async def track_async(*args: Any, **kwargs: Any) -> Any:
                    with Action(self, name, qualname):
                        return await function(*args, **kwargs)

                return track_async  # type: ignore[return-value]

            @functools.wraps(function)
            def track_sync(*args: Any, **kwargs: Any) -> Any:
                with Action(self, name, qualname):
                    return function(*args, **kwargs)

            return track_sync  # type: ignore[return-value]

        return decorate

    def track_context(self, action_name: str) -> Action:
        """Context manager that records a block (typically one tool call) as an action.

        ```python
        with agent.track_context(tool_name) as ctx:
            result = run_tool(tool_name, args)
            ctx.set_payload({"result_preview": str(result)[:200]})
        ```
        """
        return Action(self, action_name)

    # ---- agent-level events ----------------------------------------------------------------------

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
        """Record an LLM call made outside a task (inside one of this agent's tasks it joins the task).

        ```python
        agent.llm_call("heartbeat_summary", "claude-haiku-4-5-20251001", tokens_in=500, tokens_out=80)
        ```
        """
        parent, identity = self._scope()
        emit_llm_call(
            self.client, parent, identity, name, model, tokens_in, tokens_out, cost, duration_ms,
            prompt_preview, response_preview, metadata,
        )  # fmt: skip

    @never_raise
    def queue_snapshot(
        self,
        depth: int,
        oldest_age_seconds: float | None = None,
        items: Sequence[Mapping[str, Any]] | None = None,
        processing: Mapping[str, Any] | None = None,
    ) -> None:
        """Report the state of the agent's work queue.

        ```python
        agent.queue_snapshot(depth=5, oldest_age_seconds=120, items=[{"id": "lead-100", "priority": "high"}])
        ```
        """
        self._queue_snapshot(depth, oldest_age_seconds, items, processing, HiveboardQueueSourceValues.MANUAL)

    def _queue_snapshot(self, depth: Any, oldest_age: Any, items: Any, processing: Any, source: str) -> None:
        attributes: dict[str, Any] = {
            HIVEBOARD_QUEUE_DEPTH: as_int(depth) or 0,
            HIVEBOARD_QUEUE_SOURCE: source,
        }
        put(attributes, HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS, as_float(oldest_age))
        put(attributes, HIVEBOARD_QUEUE_ITEMS, None if items is None else to_json(items))
        put(attributes, HIVEBOARD_QUEUE_PROCESSING, None if processing is None else to_json(processing))
        parent, identity = self._scope()
        emit_event(self.client, parent, identity, HiveboardEventTypeValues.QUEUE_SNAPSHOT, INFO, attributes)

    @never_raise
    def todo(
        self,
        todo_id: str,
        action: str,
        summary: str,
        priority: str | None = None,
        source: str | None = None,
        context: Any = None,
        due_by: str | None = None,
    ) -> None:
        """Report a step in a TODO's life: created, completed, failed, dismissed or deferred.

        ```python
        agent.todo("todo-001", action="created", summary="Follow up on lead-4821", priority="high")
        ```
        """
        attributes: dict[str, Any] = {
            HIVEBOARD_TODO_ID: truncate(todo_id, ID_MAX_CHARS),
            HIVEBOARD_TODO_ACTION: str(action),
            HIVEBOARD_EVENT_SUMMARY: summary_text(summary) or "",
        }
        put(attributes, HIVEBOARD_TODO_PRIORITY, None if priority is None else str(priority))
        put(attributes, HIVEBOARD_TODO_SOURCE, None if source is None else str(source))
        if context is not None:
            attributes[HIVEBOARD_TODO_CONTEXT] = context if isinstance(context, str) else to_json(context)
        put(attributes, HIVEBOARD_TODO_DUE_BY, None if due_by is None else str(due_by))
        parent, identity = self._scope()
        emit_event(self.client, parent, identity, HiveboardEventTypeValues.TODO, INFO, attributes)

    @never_raise
    def scheduled(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Report the agent's recurring work (call again with `last_status`/`last_run` after each run).

        ```python
        agent.scheduled([{"id": "daily-sync", "name": "CRM Full Sync", "interval": "24h", "enabled": True}])
        ```
        """
        items = list(items or ())
        attributes = {HIVEBOARD_SCHEDULED_ITEMS: to_json(items), HIVEBOARD_SCHEDULED_COUNT: len(items)}
        parent, identity = self._scope()
        emit_event(self.client, parent, identity, HiveboardEventTypeValues.SCHEDULED, INFO, attributes)

    @never_raise
    def report_issue(
        self,
        summary: str,
        severity: str,
        issue_id: str | None = None,
        category: str | None = None,
        context: Mapping[str, Any] | None = None,
        occurrence_count: int | None = None,
    ) -> None:
        """Report a persistent problem; it stays active on HiveBoard until `resolve_issue()`.

        ```python
        agent.report_issue("CRM API returning 403", severity="high", issue_id="crm-auth-failure",
                           category="permissions", occurrence_count=8)
        ```
        """
        text = summary_text(summary) or ""
        severity = str(severity).lower() if severity is not None else "medium"
        attributes: dict[str, Any] = {
            HIVEBOARD_EVENT_SUMMARY: text,
            HIVEBOARD_ISSUE_ID: _issue_id(issue_id, text),
            HIVEBOARD_ISSUE_ACTION: HiveboardIssueActionValues.REPORTED,
            HIVEBOARD_ISSUE_SEVERITY: severity,
        }
        put(attributes, HIVEBOARD_ISSUE_CATEGORY, None if category is None else str(category))
        put(attributes, HIVEBOARD_ISSUE_OCCURRENCE_COUNT, as_int(occurrence_count))
        put(attributes, HIVEBOARD_ISSUE_CONTEXT, None if context is None else to_json(context))
        parent, identity = self._scope()
        emit_event(
            self.client, parent, identity, HiveboardEventTypeValues.ISSUE,
            _ISSUE_SEVERITY.get(severity, HiveboardSeverityValues.WARN), attributes,
        )  # fmt: skip

    @never_raise
    def resolve_issue(self, summary: str, issue_id: str | None = None) -> None:
        """Resolve an issue reported earlier (same `issue_id`, or same summary when it had none).

        ```python
        agent.resolve_issue("CRM credentials rotated", issue_id="crm-auth-failure")
        ```
        """
        text = summary_text(summary) or ""
        attributes = {
            HIVEBOARD_EVENT_SUMMARY: text,
            HIVEBOARD_ISSUE_ID: _issue_id(issue_id, text),
            HIVEBOARD_ISSUE_ACTION: HiveboardIssueActionValues.RESOLVED,
        }
        parent, identity = self._scope()
        emit_event(self.client, parent, identity, HiveboardEventTypeValues.ISSUE, INFO, attributes)

    @never_raise
    def event(
        self, event_type: str, payload: Mapping[str, Any] | None = None, severity: str | None = None
    ) -> None:
        """Emit a custom event (`"custom"` with a `kind` and `data`), or any event type of your own.

        ```python
        agent.event("custom", payload={"kind": "runtime", "data": {"event": "agent_started"}})
        ```
        """
        parent, identity = self._scope()
        emit_user_event(self.client, parent, identity, event_type, payload, severity)
