"""An action: a tracked function or block, as a span with an `action_started` marker."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from hiveboard_semconv.attributes import (
    HIVEBOARD_ACTION_DEPTH,
    HIVEBOARD_ACTION_FUNCTION,
    HIVEBOARD_ACTION_NAME,
    HIVEBOARD_ACTION_STATUS,
    HIVEBOARD_PAYLOAD,
    HIVEBOARD_SPAN_TYPE,
    HiveboardActionStatusValues,
    HiveboardEventTypeValues,
    HiveboardSeverityValues,
    HiveboardSpanTypeValues,
)
from hiveloop._internal.context import ContextScope, current_action, current_task, parent_context
from hiveloop._internal.emit import emit_event, start_span
from hiveloop._internal.payloads import clean_attributes, put, to_json, truncate
from hiveloop._internal.task import record_failure

if TYPE_CHECKING:
    from hiveloop._internal.agent import Agent

logger = logging.getLogger("hiveloop")

_OK = Status(StatusCode.OK)
_COMPLETED = {HIVEBOARD_ACTION_STATUS: HiveboardActionStatusValues.COMPLETED}
_FAILED = {HIVEBOARD_ACTION_STATUS: HiveboardActionStatusValues.FAILED}


class Action:
    """A tracked block, from `agent.track_context()` or `@agent.track`.

    Actions nest: an action entered inside another is its child. An exception inside the block marks
    the action failed and propagates unchanged.

    ```python
    with agent.track_context("search_crm") as ctx:
        record = crm.search(email)
        ctx.set_payload({"found": record is not None})
    ```
    """

    def __init__(self, agent: Agent, name: str, function: str | None = None) -> None:
        self.agent = agent
        self.name = truncate(name, 256) if name else "action"
        self.function = function
        self.depth = 0
        self.span: trace.Span = trace.INVALID_SPAN
        self._scope: ContextScope | None = None
        self._payload: Any = None

    def __repr__(self) -> str:
        return f"<hiveloop.Action {self.name!r} agent={self.agent.agent_id!r}>"

    def set_payload(self, payload: Mapping[str, Any]) -> None:
        """Attach data (arguments, result preview...) to the action's completion."""
        self._payload = payload

    def __enter__(self) -> Action:
        try:
            self._start()
        except Exception:
            logger.debug("hiveloop: starting action %s failed", self.name, exc_info=True)
        return self

    def _start(self) -> None:
        agent = self.agent
        task = current_task.get()
        identity = (
            task.child_attributes if task is not None and task.agent is agent else agent.base_attributes
        )
        parent_action = current_action.get()
        self.depth = parent_action.depth + 1 if parent_action is not None else 0
        attributes: dict[str, Any] = {
            **identity,
            HIVEBOARD_SPAN_TYPE: HiveboardSpanTypeValues.ACTION,
            HIVEBOARD_ACTION_NAME: self.name,
            HIVEBOARD_ACTION_DEPTH: self.depth,
        }
        put(attributes, HIVEBOARD_ACTION_FUNCTION, self.function)
        client = agent.client
        now = client.now()
        self.span = start_span(client, self.name, parent_context(), SpanKind.INTERNAL, attributes, now)
        self._scope = ContextScope(trace.set_span_in_context(self.span), current_action, self)
        marker = {HIVEBOARD_ACTION_NAME: self.name, HIVEBOARD_ACTION_DEPTH: self.depth}
        put(marker, HIVEBOARD_ACTION_FUNCTION, self.function)
        emit_event(
            client,
            None,
            identity,
            HiveboardEventTypeValues.ACTION_STARTED,
            HiveboardSeverityValues.INFO,
            marker,
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._end(exc)
        except Exception:
            logger.debug("hiveloop: ending action %s failed", self.name, exc_info=True)
        # The exception, if any, propagates.

    def _end(self, exception: BaseException | None) -> None:
        span = self.span
        if span is trace.INVALID_SPAN:
            return
        self.span = trace.INVALID_SPAN
        now = self.agent.client.now()
        attributes = (
            _COMPLETED if self._payload is None else {**_COMPLETED, HIVEBOARD_PAYLOAD: to_json(self._payload)}
        )
        if exception is None:
            span.set_attributes(clean_attributes(attributes))
            span.set_status(_OK)
        else:
            span.set_attributes(clean_attributes({**attributes, **_FAILED}))
            record_failure(span, exception, now)
        span.end(end_time=now)
        if self._scope is not None:
            self._scope.exit()
            self._scope = None
