"""The query API application: `create_app(storage, key_store)`."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import fastapi
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from hiveboard.api.dashboard.mount import install_dashboard
from hiveboard.api.dashboard.state import DashboardConfig
from hiveboard.api.errors import install_error_handlers
from hiveboard.api.live import StreamHub
from hiveboard.api.routers import (
    agents,
    api_keys,
    cost,
    events,
    filters,
    health,
    insights,
    metrics,
    pipeline,
    projects,
    session,
    stream,
    tasks,
)
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore

DESCRIPTION = """\
The views of HiveBoard over ClickHouse: The Hive (agents), the task table and timelines, the
activity stream, metrics, the cost explorer, the pipeline, insights, projects and API keys, and a
live stream.

Every request carries an API key, `Authorization: Bearer hb_...` or `x-api-key: hb_...` (or the
dashboard's session cookie); it sees the data of its tenant only, and test keys see test data, live
and read keys live data. The dashboard itself is at `/`.
"""


def create_app(
    storage: Storage,
    key_store: KeyStore,
    *,
    routers: Sequence[fastapi.APIRouter] = (),
    stream_poll_interval: float = 0.5,
    dashboard: DashboardConfig | None = None,
) -> FastAPI:
    """The query API over `storage`, authenticating with `key_store`.

    `routers` are mounted as they are (the collector's OTLP/HTTP routes in `hiveboard serve`).
    `storage` must be migrated (`hiveboard.storage.schema.migrate`). On startup the app starts
    the live stream's poller, which reads new data every `stream_poll_interval` seconds while
    anyone is subscribed. The dashboard is served at `/` (`dashboard`: its session secret and
    Grafana's URL; by default a secret of this app's own, so its sessions end with the process).
    """
    hub = StreamHub(storage, poll_interval=stream_poll_interval)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await hub.stop()

    # /docs and /redoc load Swagger UI and ReDoc from the API's own origin, never from a CDN, so
    # they render where the server has no internet access.
    app = FastAPIOffline(
        docs_url="/docs",
        redoc_url="/redoc",
        title="HiveBoard API",
        description=DESCRIPTION,
        version="1.0",
        lifespan=lifespan,
        # Swagger UI's online validator would send the document's address to a third party.
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.storage = storage
    app.state.key_store = key_store
    app.state.hub = hub
    install_error_handlers(app)
    for module in (
        health,
        session,
        agents,
        pipeline,
        tasks,
        events,
        metrics,
        cost,
        insights,
        projects,
        filters,
        api_keys,
        stream,
    ):
        app.include_router(module.router)
    for router in routers:
        app.include_router(router)
    install_dashboard(app, dashboard or DashboardConfig(), storage)
    return app


def freeze_startup_objects() -> None:
    """Exempt the objects that exist once the server has started from Python's full collections.

    The modules, routes and pydantic validators loaded by then are about 80,000 objects that live
    as long as the process, and a full collection traverses every one (45 ms on a 2-core VM:
    pydantic-core's validators are slow to traverse); requests that make many objects, as The
    Hive's 500 cards do, trigger one every few seconds (at 10M spans, 1 request in 14 waited for
    one). Collected first, so that no garbage is frozen with them (`gc.freeze`'s own advice).
    """
    gc.collect()
    gc.freeze()
