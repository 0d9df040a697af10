"""The query API application: `create_app(storage, key_store)`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import fastapi
from fastapi import FastAPI

from hiveboard.api.errors import install_error_handlers
from hiveboard.api.live import StreamHub
from hiveboard.api.routers import (
    agents,
    api_keys,
    cost,
    events,
    health,
    metrics,
    pipeline,
    projects,
    stream,
    tasks,
)
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore

DESCRIPTION = """\
The views of HiveBoard over ClickHouse: The Hive (agents), the task table and timelines, the
activity stream, metrics, the cost explorer, the pipeline, projects and API keys, and a live stream.

Every request carries an API key, `Authorization: Bearer hb_...` or `x-api-key: hb_...`; it sees
the data of its tenant only, and test keys see test data, live and read keys live data.
"""


def create_app(
    storage: Storage,
    key_store: KeyStore,
    *,
    routers: Sequence[fastapi.APIRouter] = (),
    stream_poll_interval: float = 0.5,
) -> FastAPI:
    """The query API over `storage`, authenticating with `key_store`.

    `routers` are mounted as they are (the collector's OTLP/HTTP routes in `hiveboard serve`).
    `storage` must be migrated (`hiveboard.storage.schema.migrate`). On startup the app starts
    the live stream's poller, which reads new data every `stream_poll_interval` seconds while
    anyone is subscribed.
    """
    hub = StreamHub(storage, poll_interval=stream_poll_interval)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            await hub.stop()

    app = FastAPI(
        title="HiveBoard API",
        description=DESCRIPTION,
        version="1.0",
        lifespan=lifespan,
        docs_url="/docs",
    )
    app.state.storage = storage
    app.state.key_store = key_store
    app.state.hub = hub
    install_error_handlers(app)
    for module in (health, agents, pipeline, tasks, events, metrics, cost, projects, api_keys, stream):
        app.include_router(module.router)
    for router in routers:
        app.include_router(router)
    return app
