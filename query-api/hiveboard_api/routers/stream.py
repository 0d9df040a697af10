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
socket gets one and is closed with code 4401 (4400 when it carries two different keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from hiveboard.api.auth import DataScope
from hiveboard.api.errors import STORAGE_UNAVAILABLE
from hiveboard.api.live import StreamHub, Subscriber
from hiveboard.api.models.stream import StreamFilters, Subscribe
from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError, ConflictingKeysError, KeyStore, headers_key

logger = logging.getLogger(__name__)

router = APIRouter(tags=["stream"])

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 1013


def _socket_key(websocket: WebSocket, query_key: str | None) -> str | None:
    """The socket's one API key: its headers' (`headers_key`), or `?key=`; both, when they differ,
    raise `ConflictingKeysError` as two headers would."""
    header_key = headers_key(websocket.headers)
    if header_key is not None and query_key is not None and header_key != query_key:
        raise ConflictingKeysError(
            "the request carries one API key in its headers and another in ?key=: send one key"
        )
    return header_key or query_key


def _error(error: str, message: str) -> dict[str, str]:
    return {"type": "error", "error": error, "message": message}


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket, key: Annotated[str | None, Query(description="The API key, for browsers")] = None
) -> None:
    await websocket.accept()
    store: KeyStore = websocket.app.state.key_store
    try:
        principal = await asyncio.to_thread(store.authenticate, _socket_key(websocket, key))
    except ConflictingKeysError as error:
        await websocket.send_json(_error("bad_request", str(error)))
        await websocket.close(CLOSE_BAD_REQUEST)
        return
    except AuthenticationError as error:
        await websocket.send_json(_error("unauthorized", str(error)))
        await websocket.close(CLOSE_UNAUTHENTICATED)
        return
    except StorageError as error:
        logger.warning("stream: cannot authenticate, storage error: %s", error)
        await websocket.send_json(_error("service_unavailable", STORAGE_UNAVAILABLE))
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
            logger.warning("stream: cannot subscribe, storage error: %s", error)
            subscriber.send(_error("service_unavailable", f"{STORAGE_UNAVAILABLE}, then subscribe again"))
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
