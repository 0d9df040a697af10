"""The live stream's engine: one poller per app, shared by every subscriber.

Every `poll_interval` seconds, while anyone is subscribed, the hub reads (1) the events of the last
`EVENT_LOOKBACK_SECONDS` of every subscribed tenant in one query, and sends those it has not sent
before, and (2) the status of each subscribed tenant's agents (`agent_statuses`: only what the
status derives from), and sends the changes, with the agents' full cards read only then. Status is
recomputed on this timer whether or not data arrives, so an agent that falls silent turns stuck on
time. An event reaches subscribers one poll after it is written (event times are the clients'
clocks, so the lookback, not an insertion cursor, decides what is new; an event older than it
when written is history, not news).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from hiveboard.api.auth import DataScope
from hiveboard.api.models.agents import AgentStatus
from hiveboard.api.models.events import Event
from hiveboard.api.models.stream import (
    CLOSE_TRY_AGAIN_LATER,
    AgentStatusChanged,
    AgentStuck,
    Channel,
    EventNew,
    StatusChange,
    StreamError,
    StreamFilters,
    Stuck,
)
from hiveboard.api.params import SECOND_NS
from hiveboard.api.queries.agents import agent_statuses, list_agents
from hiveboard.api.queries.events import GROUP_EVENT_TYPES, recent_events
from hiveboard.storage import Storage, StorageError

logger = logging.getLogger("hiveboard.api.live")

EVENT_LOOKBACK_SECONDS = 120
# Messages a subscriber may have waiting; a client that falls further behind is disconnected.
MAX_PENDING_MESSAGES = 1000


@dataclass(frozen=True)
class Closing:
    """How a subscriber's socket ends: `error` is its last message, then the close `code` and `reason`."""

    error: StreamError
    code: int
    reason: str


TOO_SLOW = Closing(
    StreamError(
        error="too_slow", message="the client fell too far behind the stream; reconnect and reload the views"
    ),
    CLOSE_TRY_AGAIN_LATER,
    "too slow",
)


@dataclass(eq=False)
class Subscriber:
    """One WebSocket: its scope, its subscription, and the messages waiting to be sent (ending with a
    `Closing` once the socket is to be closed)."""

    scope: DataScope
    channels: frozenset[Channel] = frozenset()
    filters: StreamFilters = field(default_factory=StreamFilters)
    outbox: asyncio.Queue[dict[str, Any] | Closing] = field(
        default_factory=lambda: asyncio.Queue(MAX_PENDING_MESSAGES)
    )
    closing: Closing | None = None

    def send(self, message: dict[str, Any]) -> None:
        if self.closing is not None:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.close(TOO_SLOW)

    def close(self, closing: Closing) -> None:
        """End the socket with `closing` as soon as the sender takes it: the messages still waiting
        are dropped (after a revoked key, none may go out) and nothing sent later is queued."""
        if self.closing is not None:
            return
        self.closing = closing
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.outbox.put_nowait(closing)

    def wants_agent(self, agent_id: str) -> bool:
        return not self.filters.agent_id or agent_id in self.filters.agent_id

    def wants_event(self, event: Event) -> bool:
        filters = self.filters
        groups_match = not filters.group or any(
            event.event_type in GROUP_EVENT_TYPES[group] or (group == "error" and event.severity == "error")
            for group in filters.group
        )
        return (
            self.wants_agent(event.agent_id)
            and (not filters.event_type or event.event_type in filters.event_type)
            and (not filters.severity or event.severity in filters.severity)
            and (filters.environment is None or event.environment == filters.environment)
            and (filters.project is None or event.project == filters.project)
            and (filters.task_id is None or event.task_id == filters.task_id)
            and groups_match
        )


class StreamHub:
    """Polls storage for the subscribers of one app; `start()` on startup, `stop()` on shutdown."""

    def __init__(self, storage: Storage, *, poll_interval: float = 0.5) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive seconds, not {poll_interval}")
        self._storage = storage
        self._poll_interval = poll_interval
        self._subscribers: set[Subscriber] = set()
        # Events already sent (or there before anyone subscribed) -> their time, kept while a poll
        # can return them.
        self._seen: dict[tuple[DataScope, str], int] = {}
        self._event_scopes: set[DataScope] = set()
        self._statuses: dict[DataScope, dict[str, AgentStatus]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hiveboard-stream-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def connect(self, scope: DataScope) -> Subscriber:
        subscriber = Subscriber(scope)
        self._subscribers.add(subscriber)
        return subscriber

    def disconnect(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    async def subscribe(
        self, subscriber: Subscriber, channels: frozenset[Channel], filters: StreamFilters
    ) -> None:
        """Replace `subscriber`'s subscription. Whatever is current now is the baseline: only what
        happens after this returns is sent."""
        async with self._lock:
            scope = subscriber.scope
            if "events" in channels and scope not in self._event_scopes:
                await self._poll_events({scope}, send=False)
                self._event_scopes.add(scope)
            if "agents" in channels and scope not in self._statuses:
                self._statuses[scope] = await self._agent_statuses(scope)
            subscriber.channels, subscriber.filters = channels, filters

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                async with self._lock:
                    await self._tick()
            except StorageError as error:  # keep polling: storage may come back
                logger.warning("live stream: cannot read storage: %s", error)
            except Exception:
                logger.exception("live stream: poll failed")

    async def _tick(self) -> None:
        event_scopes = {s.scope for s in self._subscribers if "events" in s.channels}
        agent_scopes = {s.scope for s in self._subscribers if "agents" in s.channels}
        # Forget scopes nobody follows, so a later subscriber starts from a fresh baseline.
        self._event_scopes &= event_scopes
        for scope in set(self._statuses) - agent_scopes:
            del self._statuses[scope]
        if event_scopes:
            await self._poll_events(event_scopes, send=True)
        for scope in agent_scopes:
            await self._poll_agents(scope)

    async def _poll_events(self, scopes: set[DataScope], *, send: bool) -> None:
        since_ns = time.time_ns() - EVENT_LOOKBACK_SECONDS * SECOND_NS
        rows = await asyncio.to_thread(recent_events, self._storage, sorted(scopes, key=str), since_ns)
        self._seen = {key: at for key, at in self._seen.items() if at >= since_ns}
        for scope, event in rows:
            if (scope, event.event_id) in self._seen:
                continue
            self._seen[scope, event.event_id] = int(event.timestamp.timestamp() * SECOND_NS)
            if send:
                message = EventNew(data=event).model_dump(mode="json")
                for subscriber in self._subscribers:
                    if (
                        subscriber.scope == scope
                        and "events" in subscriber.channels
                        and subscriber.wants_event(event)
                    ):
                        subscriber.send(message)

    async def _agent_statuses(self, scope: DataScope) -> dict[str, AgentStatus]:
        return await asyncio.to_thread(agent_statuses, self._storage, scope)

    async def _poll_agents(self, scope: DataScope) -> None:
        previous = self._statuses.get(scope, {})
        if await self._agent_statuses(scope) == previous:
            return
        # Something changed: the cards say what, and their statuses are the new baseline.
        current: dict[str, AgentStatus] = {}
        for agent in await asyncio.to_thread(list_agents, self._storage, scope):
            current[agent.agent_id] = agent.derived_status
            before = previous.get(agent.agent_id)
            if before == agent.derived_status:
                continue
            messages = [
                AgentStatusChanged(
                    data=StatusChange(
                        agent_id=agent.agent_id,
                        previous_status=before,
                        status=agent.derived_status,
                        agent=agent,
                    )
                )
            ]
            if agent.derived_status == "stuck":
                messages.append(
                    AgentStuck(
                        data=Stuck(
                            agent_id=agent.agent_id,
                            last_heartbeat=agent.last_heartbeat,
                            heartbeat_age_seconds=agent.heartbeat_age_seconds,
                            stuck_threshold_seconds=agent.stuck_threshold_seconds,
                        )
                    )
                )
            for subscriber in self._subscribers:
                if (
                    subscriber.scope == scope
                    and "agents" in subscriber.channels
                    and subscriber.wants_agent(agent.agent_id)
                ):
                    for message in messages:
                        subscriber.send(message.model_dump(mode="json"))
        self._statuses[scope] = current
