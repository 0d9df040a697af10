"""The live stream: `WS /v1/stream`.

Authenticate with the `Authorization` or `x-api-key` header, or `?key=hb_...` (browsers cannot
set headers on a WebSocket). Then send

    {"action": "subscribe", "channels": ["events", "agents"],
     "filters": {"agent_id": ["lead-qualifier"], "group": ["human"], "severity": ["error"]}}

and receive `{"type": "subscribed"}`, then `event.new` (data: an event as in /v1/events),
`agent.status_changed` (data: agent_id, previous_status, status, agent) and `agent.stuck` (data:
agent_id, last_heartbeat, heartbeat_age_seconds, stuck_threshold_seconds) messages. A subscribe
replaces the subscription; `{"action": "unsubscribe"}` stops it, `{"action": "ping"}` answers
`{"type": "pong"}`. Errors are `{"type": "error", "error": ..., "message": ...}`; an unauthenticated
socket gets one and is closed with code 4401.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from hiveboard.api.auth import DataScope
from hiveboard.api.live import StreamHub, Subscriber
from hiveboard.api.models.stream import StreamFilters, Subscribe
from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError, KeyStore, headers_key

router = APIRouter(tags=["stream"])

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 1013


def _error(error: str, message: str) -> dict[str, str]:
    return {"type": "error", "error": error, "message": message}


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket, key: Annotated[str | None, Query(description="The API key, for browsers")] = None
) -> None:
    await websocket.accept()
    store: KeyStore = websocket.app.state.key_store
    try:
        principal = await asyncio.to_thread(store.authenticate, headers_key(websocket.headers) or key)
    except AuthenticationError as error:
        await websocket.send_json(_error("unauthorized", str(error)))
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return
    except StorageError as error:
        await websocket.send_json(_error("service_unavailable", f"storage unavailable: {error}"))
        await websocket.close(CLOSE_TRY_AGAIN_LATER)
        return
    hub: StreamHub = websocket.app.state.hub
    subscriber = hub.connect(DataScope.of(principal))
    sender = asyncio.create_task(_send(websocket, subscriber))
    try:
        while True:
            await _handle(await websocket.receive_text(), hub, subscriber)
    except WebSocketDisconnect:
        pass
    finally:
        hub.disconnect(subscriber)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


async def _handle(text: str, hub: StreamHub, subscriber: Subscriber) -> None:
    try:
        message = json.loads(text)
    except ValueError:
        subscriber.send(
            _error("bad_request", "messages are JSON objects with an action: subscribe, unsubscribe, ping")
        )
        return
    action = message.get("action") if isinstance(message, dict) else None
    if action == "ping":
        subscriber.send({"type": "pong"})
    elif action == "unsubscribe":
        await hub.subscribe(subscriber, frozenset(), StreamFilters())
        subscriber.send({"type": "unsubscribed"})
    elif action == "subscribe":
        try:
            request = Subscribe.model_validate(message)
        except ValidationError as error:
            subscriber.send(_error("bad_request", f"invalid subscribe message: {error}"))
            return
        try:
            await hub.subscribe(subscriber, frozenset(request.channels), request.filters)
        except StorageError as error:
            subscriber.send(_error("service_unavailable", f"storage unavailable, subscribe again: {error}"))
            return
        subscriber.send({"type": "subscribed", "data": request.model_dump(mode="json", exclude={"action"})})
    else:
        subscriber.send(
            _error("bad_request", f"unknown action {action!r}: use subscribe, unsubscribe or ping")
        )


async def _send(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send `subscriber`'s messages in order; a None means it fell too far behind."""
    while True:
        message = await subscriber.outbox.get()
        if message is None:
            await websocket.send_json(
                _error(
                    "too_slow", "the client fell too far behind the stream; reconnect and reload the views"
                )
            )
            await websocket.close(CLOSE_TRY_AGAIN_LATER)
            return
        await websocket.send_json(message)
