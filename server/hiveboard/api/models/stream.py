"""Messages of the live stream `WS /v1/stream`.

The client sends `ClientMessage`s (JSON text frames of at most `MAX_CLIENT_MESSAGE_CHARS`
characters); the server answers `Subscribed`, `Unsubscribed`, `Pong` or `StreamError`, and pushes
`EventNew`, `AgentStatusChanged` and `AgentStuck`. A message the server cannot use gets a
`bad_request` error saying why, and the socket stays open.

The server closes the socket after a last `StreamError` that says why, with one of these codes:

* `CLOSE_BAD_REQUEST` (4400): two different API keys (two headers, or a header and `?key=`).
* `CLOSE_UNAUTHENTICATED` (4401): no, malformed, unknown or revoked key when connecting; or the
  key was revoked while the socket was open (close reason "API key revoked").
* `CLOSE_FORBIDDEN` (4403): a dashboard session cookie sent from a page of another origin.
* `CLOSE_TRY_AGAIN_LATER` (1013): storage was unavailable when connecting, or the client fell too
  far behind the stream (reconnect and reload the views).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hiveboard.api.models.agents import AgentStatus, AgentSummary
from hiveboard.api.models.events import Event, EventGroup, Severity

Channel = Literal["events", "agents"]

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN_LATER = 1013
# A subscribe message with a long agent list is a few KiB; anything much larger is a mistake.
MAX_CLIENT_MESSAGE_CHARS = 64 * 1024


class _ClientMessage(BaseModel):
    # An unknown field is a typo the client should hear about, not a filter silently ignored.
    model_config = ConfigDict(extra="forbid")


class StreamFilters(_ClientMessage):
    """Narrow a subscription; each given filter must match (lists: any of their values)."""

    agent_id: list[str] = Field(default=[], description="Agents (both channels)")
    event_type: list[str] = Field(default=[], description="Any type, custom ones included")
    severity: list[Severity] = []
    group: list[EventGroup] = []
    environment: str | None = Field(default=None, description="Deployment environment (events channel)")
    project: str | None = None
    task_id: str | None = None


class Subscribe(_ClientMessage):
    """`{"action": "subscribe", "channels": [...], "filters": {...}}` replaces the subscription."""

    action: Literal["subscribe"]
    channels: list[Channel] = Field(min_length=1)
    filters: StreamFilters = StreamFilters()


class Unsubscribe(_ClientMessage):
    """`{"action": "unsubscribe"}` stops the subscription; the socket stays open."""

    action: Literal["unsubscribe"]


class Ping(_ClientMessage):
    """`{"action": "ping"}`, answered `{"type": "pong"}`."""

    action: Literal["ping"]


ClientMessage = Annotated[Subscribe | Unsubscribe | Ping, Field(discriminator="action")]


class Subscription(BaseModel):
    channels: list[Channel]
    filters: StreamFilters


class Subscribed(BaseModel):
    type: Literal["subscribed"] = "subscribed"
    data: Subscription


class Unsubscribed(BaseModel):
    type: Literal["unsubscribed"] = "unsubscribed"


class Pong(BaseModel):
    type: Literal["pong"] = "pong"


class StreamError(BaseModel):
    """What went wrong and what to do; `unauthorized` and `too_slow` are followed by the close."""

    type: Literal["error"] = "error"
    error: Literal["bad_request", "unauthorized", "forbidden", "service_unavailable", "too_slow"]
    message: str


class EventNew(BaseModel):
    type: Literal["event.new"] = "event.new"
    data: Event


class StatusChange(BaseModel):
    agent_id: str
    previous_status: AgentStatus | None = Field(description="None for an agent that just appeared")
    status: AgentStatus
    agent: AgentSummary


class AgentStatusChanged(BaseModel):
    type: Literal["agent.status_changed"] = "agent.status_changed"
    data: StatusChange


class Stuck(BaseModel):
    agent_id: str
    last_heartbeat: datetime
    heartbeat_age_seconds: float
    stuck_threshold_seconds: int


class AgentStuck(BaseModel):
    type: Literal["agent.stuck"] = "agent.stuck"
    data: Stuck
