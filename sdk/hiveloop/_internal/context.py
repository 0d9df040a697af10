"""Where HiveLoop is in the program: the current task and action, per thread and asyncio task.

Both live in `contextvars`, like the OpenTelemetry context itself, so a worker thread starts with no
task and an asyncio task sees the task of the code that created it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace

if TYPE_CHECKING:
    from hiveloop._internal.action import Action
    from hiveloop._internal.agent import Agent
    from hiveloop._internal.task import Task

current_task: ContextVar[Task | None] = ContextVar("hiveloop_task", default=None)
current_action: ContextVar[Action | None] = ContextVar("hiveloop_action", default=None)


def get_current_task() -> Task | None:
    """The task running in this thread or asyncio task, or None between tasks.

    ```python
    task = hiveloop.get_current_task()
    if task:
        task.llm_call("reasoning", model, tokens_in=1200, tokens_out=300)
    ```
    """
    return current_task.get()


def get_current_agent() -> Agent | None:
    """The agent of the innermost action or task running here, or None outside them."""
    action = current_action.get()
    if action is not None:
        return action.agent
    task = current_task.get()
    return task.agent if task is not None else None


def parent_context(task: Task | None = None) -> otel_context.Context | None:
    """The context a new HiveLoop span starts in; None means OpenTelemetry's current context.

    A span of `task` emitted from outside that task (another thread, after it ended) goes under the
    task span. A task from `start_task()` is not attached to the OpenTelemetry context (its end may
    happen in another context), so while the application has not opened a span since, children go
    under the task span explicitly. Otherwise the current span is the right parent: the task, an
    action, or a span the application opened inside them.
    """
    running = current_task.get()
    if task is not None and running is not task:
        return task.span_context
    if running is not None and running.detached and trace.get_current_span() is running.outer_span:
        return running.span_context
    return None


class ContextScope:
    """For a `with` block: makes a span current and sets one of HiveLoop's context variables.

    Both are undone only in the context that set them: a callback-driven framework may enter in one
    thread and exit in another, where undoing would fail (and OpenTelemetry would log an error).
    """

    __slots__ = ("_context", "_token", "_variable", "_variable_token")

    def __init__(self, span_context: otel_context.Context, variable: ContextVar[Any], value: Any) -> None:
        self._context = span_context
        self._token = otel_context.attach(span_context)
        self._variable = variable
        self._variable_token = variable.set(value)

    def exit(self) -> None:
        if otel_context.get_current() is self._context:
            otel_context.detach(self._token)
        try:
            self._variable.reset(self._variable_token)
        except ValueError:  # exited in another context than the one that entered
            pass
