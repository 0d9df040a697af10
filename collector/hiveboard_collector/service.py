"""The collector assembled: receivers → ingestor → writers → storage, plus the pricing of new models,
and `serve`, which runs its servers (and the query API's, in `hiveboard serve`) in one event loop.

>>> collector = Collector(storage, KeyStore(storage))            # doctest: +SKIP
>>> asyncio.run(serve(collector, [Listener(collector.http_app(), "0.0.0.0", 4318)], "0.0.0.0:4317"))
... # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import uvicorn
from fastapi import APIRouter, FastAPI

from hiveboard.collector.ingest.ingestor import Ingestor
from hiveboard.collector.ingest.trace_rows import TRACES_INPUT
from hiveboard.collector.receivers.otlp_grpc import otlp_grpc_server
from hiveboard.collector.receivers.otlp_http import DEFAULT_MAX_BODY_BYTES, otlp_http_router
from hiveboard.collector.writer.batch_writer import BatchWriter, WriterConfig
from hiveboard.collector.writer.row_encoding import LOGS_INPUT
from hiveboard.storage import Storage, StorageError
from hiveboard.storage.keys import KeyStore
from hiveboard.storage.pricing import DEFAULT_INTERVAL_S, ModelPricer, PricingJob
from hiveboard_collector.http_protocol import DEFAULT_CLIENT_TIMEOUT_S, DeadlineH11Protocol
from hiveboard_collector.retention import read_retention

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectorConfig:
    """Limits of the collector: request size, batching and back-pressure, pricing refresh."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    client_timeout_s: float = DEFAULT_CLIENT_TIMEOUT_S
    """How long a client may take to send a request's head or pause within its body (HTTP), to
    open its connection, or keep it idle (gRPC), before its connection is closed."""
    writer: WriterConfig = field(default_factory=WriterConfig)
    pricing_interval_s: float = DEFAULT_INTERVAL_S


class Collector:
    """The collector's pipeline on `storage`; `ingestor` is what the receivers write through.

    Call `start()` to begin pricing in the background and `close()` to write what is pending and stop.
    """

    def __init__(self, storage: Storage, key_store: KeyStore, config: CollectorConfig | None = None) -> None:
        self.config = config or CollectorConfig()
        self.storage = storage
        self.pricer = ModelPricer(storage)
        self._pricing_job = PricingJob(self.pricer, self.config.pricing_interval_s)
        # New models get their prices soon after their first calls are written.
        self.traces_writer = BatchWriter(
            storage, TRACES_INPUT, self.config.writer, on_written=self._pricing_job.wake
        )
        self.logs_writer = BatchWriter(storage, LOGS_INPUT, self.config.writer)
        self.ingestor = Ingestor(
            key_store,
            self.traces_writer,
            self.logs_writer,
            # The TTL the tables have, read once at start: an `ALTER TABLE ... MODIFY TTL` applies to
            # what is rejected after the collector restarts.
            traces_retention=read_retention(storage, self.traces_writer.table),
            logs_retention=read_retention(storage, self.logs_writer.table),
        )

    def start(self) -> None:
        self._pricing_job.start()

    def close(self) -> None:
        self._pricing_job.stop()
        self.traces_writer.close()
        self.logs_writer.close()

    def http_router(self) -> APIRouter:
        """The OTLP/HTTP routes, to mount on any FastAPI app (the query API mounts them too)."""
        return otlp_http_router(self.ingestor, self.config.max_body_bytes)

    def http_app(self) -> FastAPI:
        """The standalone OTLP/HTTP app: the routes and `GET /health`."""
        app = FastAPI(title="HiveBoard collector", summary="OTLP/HTTP receiver writing to ClickHouse")
        app.include_router(self.http_router())

        @app.get("/health", tags=["health"])
        def health() -> dict[str, str]:
            try:
                self.storage.query("SELECT 1")
            except StorageError as error:
                return {"status": "unavailable", "storage": str(error)}
            return {"status": "ok"}

        return app


@dataclass(frozen=True)
class Listener:
    """An HTTP app to serve on `host:port` (port 0: any free port)."""

    app: FastAPI
    host: str
    port: int


@dataclass(frozen=True)
class Listening:
    """Where `serve` listens once started: the HTTP addresses in `Listener` order, the gRPC port."""

    http: list[tuple[str, int]]
    grpc_port: int | None


async def serve(
    collector: Collector,
    listeners: Sequence[Listener],
    grpc_address: str | None,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Listening], None] | None = None,
) -> None:
    """Serve `listeners` and, when `grpc_address` is set, OTLP/gRPC, until SIGINT/SIGTERM or `stop`.

    Binding happens first, so a port in use fails at once with a message naming it. At the end the
    servers stop accepting, in-flight requests finish, and the collector writes what it holds.
    """
    stop = stop or asyncio.Event()
    sockets = [_bind(listener.host, listener.port) for listener in listeners]
    grpc_server, grpc_port = (None, None)
    if grpc_address is not None:
        grpc_server, grpc_port = otlp_grpc_server(
            collector.ingestor,
            grpc_address,
            collector.config.max_body_bytes,
            collector.config.client_timeout_s,
        )
    http = DeadlineH11Protocol.with_timeout(collector.config.client_timeout_s)
    http_servers = [
        _EmbeddedServer(uvicorn.Config(listener.app, log_level="warning", lifespan="on", http=http))
        for listener in listeners
    ]
    collector.start()
    with _stop_on_signals(stop):
        serving = zip(http_servers, sockets, strict=True)
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in serving]
        if grpc_server is not None:
            await grpc_server.start()
        while not all(server.started for server in http_servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.01)
        if on_ready is not None:
            on_ready(Listening([sock.getsockname()[:2] for sock in sockets], grpc_port))
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for server in http_servers:
            server.should_exit = True
        if grpc_server is not None:
            await grpc_server.stop(grace=5)
        await asyncio.gather(*tasks, return_exceptions=True)
        waiter.cancel()
    await asyncio.to_thread(collector.close)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve`, which stops every server together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
        except (RuntimeError, ValueError):  # not the main thread (tests run servers in threads)
            pass
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port}: {error.strerror}; is another process using the port?"
        ) from error
    sock.listen(2048)
    sock.setblocking(False)
    return sock
