"""The live stream: `WS /v1/stream`.

Authenticate with the `Authorization` or `x-api-key` header, or `?key=hb_...` (browsers cannot
set headers on a WebSocket), or the dashboard's session cookie from a page of the same origin (the
handshake's Origin must name this host, else the socket is closed with code 4403). Two different
keys (two headers, or a header and `?key=`) get a `bad_request` and the close code 4400. Then send

    {"action": "subscribe", "channels": ["events", "agents"],
     "filters": {"agent_id": ["lead-qualifier"], "group": ["human"], "severity": ["error"]}}

and receive `{"type": "subscribed"}`, then `event.new` (data: an event as in /v1/events),
`agent.status_changed` (data: agent_id, previous_status, status, agent) and `agent.stuck` (data:
agent_id, last_heartbeat, heartbeat_age_seconds, stuck_threshold_seconds) messages. A subscribe
replaces the subscription; `{"action": "unsubscribe"}` stops it, `{"action": "ping"}` answers
`{"type": "pong"}`. Errors are `{"type": "error", "error": ..., "message": ...}`: a message the
server cannot use (not JSON, nested too deeply, over 65,536 characters, binary, an unknown action,
field or value) gets a `bad_request` and the socket stays open.

The key is checked again every second while the socket is open: an unauthenticated socket, one
whose key is revoked and one whose dashboard session was signed out get an `unauthorized` error and
are closed with code 4401 (reason "API key revoked", "session ended"). A key revoked or a session
signed out through this server is seen at the next check; through another process once the caches'
5 s have passed, at the check after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from hiveboard.api.auth import SESSION_REASONS, DataScope, principal_of
from hiveboard.api.live import Closing, StreamHub, Subscriber
from hiveboard.api.models.stream import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHENTICATED,
    MAX_CLIENT_MESSAGE_CHARS,
    ClientMessage,
    Ping,
    Pong,
    StreamError,
    StreamFilters,
    Subscribe,
    Subscribed,
    Subscription,
    Unsubscribed,
)
from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError, ConflictingKeysError, KeyStore, Principal, headers_key

router = APIRouter(tags=["stream"])
logger = logging.getLogger("hiveboard.api.stream")

# How often an open socket's key is authenticated again (a cache hit but every `cache_ttl`).
KEY_CHECK_INTERVAL_S = 1.0
USAGE = (
    'messages are JSON objects such as {"action": "subscribe", "channels": ["events", "agents"], '
    '"filters": {}}; the actions are subscribe, unsubscribe and ping'
)

_CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


@router.websocket("/v1/stream")
async def stream(
    websocket: WebSocket, key: Annotated[str | None, Query(description="The API key, for browsers")] = None
) -> None:
    await websocket.accept()
    store: KeyStore = websocket.app.state.key_store

    def authenticate() -> Principal:
        """The socket's principal: its one key, else its dashboard session (checked again later)."""
        return principal_of(websocket, store, _socket_key(websocket, key))

    try:
        principal = await asyncio.to_thread(authenticate)
    except ConflictingKeysError as error:
        conflict = StreamError(error="bad_request", message=str(error))
        await _close(websocket, Closing(conflict, CLOSE_BAD_REQUEST, "two API keys"))
        return
    except HTTPException as error:
        forbidden = StreamError(error="forbidden", message=str(error.detail))
        await _close(websocket, Closing(forbidden, CLOSE_FORBIDDEN, "cross-origin session"))
        return
    except AuthenticationError as error:
        await _close(websocket, _unauthorized(error))
        return
    except StorageError as error:
        logger.warning("live stream: cannot read the API keys: %s", error)
        unavailable = StreamError(
            error="service_unavailable", message="storage unavailable: connect again in a few seconds"
        )
        await _close(websocket, Closing(unavailable, CLOSE_TRY_AGAIN_LATER, "storage unavailable"))
        return
    hub: StreamHub = websocket.app.state.hub
    subscriber = hub.connect(DataScope.of(principal))
    helpers = [
        asyncio.create_task(_send(websocket, subscriber)),
        asyncio.create_task(_watch_key(authenticate, subscriber)),
    ]
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            await _handle(message.get("text"), hub, subscriber)
    finally:
        hub.disconnect(subscriber)
        for task in helpers:
            task.cancel()
        for task in helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _socket_key(websocket: WebSocket, query_key: str | None) -> str | None:
    """The socket's one API key: its headers' (`headers_key`), or `?key=`; both, when they differ,
    raise `ConflictingKeysError` as two headers would."""
    header_key = headers_key(websocket.headers)
    if header_key is not None and query_key is not None and header_key != query_key:
        raise ConflictingKeysError(
            "the request carries one API key in its headers and another in ?key=: send one key"
        )
    return header_key or query_key


def _unauthorized(error: AuthenticationError) -> Closing:
    message = StreamError(error="unauthorized", message=str(error))
    subject = "session" if error.reason in SESSION_REASONS else "API key"
    return Closing(message, CLOSE_UNAUTHENTICATED, f"{subject} {error.reason}")


async def _handle(text: str | None, hub: StreamHub, subscriber: Subscriber) -> None:
    """Answer one message of the client (`text` is None for a binary frame)."""
    try:
        message = _parse(text)
    except ValueError as error:
        subscriber.send(StreamError(error="bad_request", message=str(error)).model_dump())
        return
    if isinstance(message, Ping):
        subscriber.send(Pong().model_dump())
        return
    channels, filters = (
        (frozenset(message.channels), message.filters)
        if isinstance(message, Subscribe)
        else (frozenset(), StreamFilters())
    )
    try:
        await hub.subscribe(subscriber, channels, filters)
    except StorageError as error:
        logger.warning("live stream: cannot read storage to subscribe: %s", error)
        subscriber.send(
            StreamError(
                error="service_unavailable", message="storage unavailable: subscribe again in a few seconds"
            ).model_dump()
        )
        return
    if isinstance(message, Subscribe):
        reply = Subscribed(data=Subscription(channels=message.channels, filters=message.filters))
        subscriber.send(reply.model_dump(mode="json"))
    else:
        subscriber.send(Unsubscribed().model_dump())


def _parse(text: str | None) -> ClientMessage:
    """The client's message; a ValueError says, in words a client can act on, why it is unusable."""
    if text is None:
        raise ValueError(f"binary frames are not read: send text frames; {USAGE}")
    if len(text) > MAX_CLIENT_MESSAGE_CHARS:
        raise ValueError(
            f"message of {len(text):,} characters is too long: at most {MAX_CLIENT_MESSAGE_CHARS:,}"
        )
    try:
        return _CLIENT_MESSAGE.validate_json(text)
    except ValidationError as error:
        raise ValueError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    """`error` without the client's input or pydantic's links: each problem with its field."""
    action, problems = "", []
    for problem in error.errors(include_url=False, include_input=False, include_context=False):
        kind, text, location = problem["type"], problem["msg"], problem["loc"]
        if kind == "json_invalid":  # also JSON nested deeper than the parser's limit
            return f"message is not valid JSON ({text.removeprefix('Invalid JSON: ')}); {USAGE}"
        if kind == "dict_type":
            return f"message is not a JSON object; {USAGE}"
        if kind == "union_tag_not_found":
            return f"message has no action; {USAGE}"
        if kind == "union_tag_invalid":
            return f"unknown action; {USAGE}"
        if kind == "extra_forbidden":
            text = "unknown field"
        # The first location is the action that chose the model; the rest is the field's path.
        action = str(location[0]) if location else action
        field = ".".join(str(part) for part in location[1:])
        problems.append(f"{field}: {text}" if field else text)
    return f"invalid {action or 'client'} message: {'; '.join(problems)}"


async def _send(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Send `subscriber`'s messages in order, until a `Closing` ends the socket or the client leaves."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await subscriber.outbox.get()
            if isinstance(message, Closing):
                await _close(websocket, message)
                return
            await websocket.send_json(message)


async def _close(websocket: WebSocket, closing: Closing) -> None:
    await websocket.send_json(closing.error.model_dump())
    await websocket.close(closing.code, closing.reason)


async def _watch_key(authenticate: Callable[[], Principal], subscriber: Subscriber) -> None:
    """Close the socket once its key stops authenticating (revoked). The key store serves keys from
    its cache, so this asks storage at most once per cache_ttl."""
    while True:
        await asyncio.sleep(KEY_CHECK_INTERVAL_S)
        try:
            await asyncio.to_thread(authenticate)
        except AuthenticationError as error:
            subscriber.close(_unauthorized(error))
            return
        except StorageError as error:  # a storage outage must not close every socket: check again
            logger.warning("live stream: cannot check an API key: %s", error)
