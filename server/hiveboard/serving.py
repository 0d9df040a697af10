"""Runs HiveBoard's servers in one event loop: the collector's OTLP/gRPC server and any HTTP apps
(the collector's OTLP/HTTP app, the query API), stopping them together on SIGINT/SIGTERM.

>>> asyncio.run(serve(collector, [Listener(collector.http_app(), "0.0.0.0", 4318)], "0.0.0.0:4317"))
... # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from hiveboard.collector.service import Collector
from hiveboard.http_protocol import DeadlineH11Protocol


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
        grpc_server, grpc_port = collector.grpc_server(grpc_address)
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
