"""A real collector (OTLP/HTTP and OTLP/gRPC servers, writers, pricing) running in the test process.

`running_collector` runs `hiveboard.collector.service.serve` on its own event loop in a background
thread, on free ports of 127.0.0.1, and stops it cleanly at the end of the block: the servers stop
accepting, in-flight requests finish and the writers write what they hold. End-to-end tests of the
collector and of the query API send to it with real clients::

    with running_collector(storage) as running:
        exporter = OTLPSpanExporter(endpoint=running.http_url + "/v1/traces", headers=...)
        grpc_exporter = GrpcOTLPSpanExporter(endpoint=running.grpc_target, insecure=True, headers=...)
        hiveloop.init(api_key=..., endpoint=running.http_url)

Every request the collector acknowledged is in storage once the client has its answer (the
collector answers only after writing), so tests query right after a successful export or
`hiveloop.flush()`, without sleeping.

`storage` must be migrated (`hiveboard.storage.schema.migrate`). The default `key_store` accepts
only the keys stored in `storage` (no `HIVEBOARD_DEV_KEY`); pass a `KeyStore` to change that, and a
`CollectorConfig` for small limits (body size, batching, back-pressure).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hiveboard.collector.service import Collector, CollectorConfig, Listener, Listening, serve
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore

HOST = "127.0.0.1"
# How long starting and stopping may take before the test fails (a collector that hangs must not
# hang the suite).
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningCollector:
    """A collector serving in the background.

    `http_url`: the OTLP/HTTP base URL (`http://127.0.0.1:PORT`; post to `/v1/traces`, `/v1/logs`).
    `grpc_target`: the OTLP/gRPC address (`127.0.0.1:PORT`, for `grpc.insecure_channel` or an
    exporter's `endpoint` with `insecure=True`). `collector`: its pipeline (writers, ingestor, config).
    """

    http_url: str
    grpc_target: str
    collector: Collector


class CollectorThread:
    """`serve` in a thread of its own, with its own event loop; `start()` returns once it listens."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self._ready = threading.Event()
        self._listening: Listening | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="test-collector", daemon=True)

    def start(self) -> RunningCollector:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise TimeoutError(f"the collector did not start listening within {START_TIMEOUT_S} s")
        if self._listening is None:
            raise RuntimeError("the collector failed to start") from self._error
        (http_host, http_port), grpc_port = self._listening.http[0], self._listening.grpc_port
        return RunningCollector(f"http://{http_host}:{http_port}", f"{HOST}:{grpc_port}", self.collector)

    def stop(self) -> None:
        """Stop serving and wait for the collector to write what it holds; re-raise a crash of `serve`."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop ended on its own (serve failed)
                pass
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            raise TimeoutError(f"the collector did not stop within {STOP_TIMEOUT_S} s")
        if self._error is not None:
            raise RuntimeError("the collector failed while serving") from self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by start() or stop()
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await serve(
            self.collector,
            [Listener(self.collector.http_app(), HOST, 0)],
            f"{HOST}:0",
            stop=self._stop,
            on_ready=self._on_ready,
        )

    def _on_ready(self, listening: Listening) -> None:
        self._listening = listening
        self._ready.set()


@contextmanager
def running_collector(
    storage: Storage, key_store: KeyStore | None = None, config: CollectorConfig | None = None
) -> Iterator[RunningCollector]:
    """A collector on `storage` serving OTLP/HTTP and OTLP/gRPC on free local ports for the block.

    `key_store` defaults to `KeyStore(storage, dev_key=None)`. On exit the collector stops and
    writes everything it acknowledged; an error raised by the collector's servers fails the test.
    """
    collector = Collector(storage, key_store or KeyStore(storage, dev_key=None), config)
    thread = CollectorThread(collector)
    try:
        running = thread.start()
    except BaseException:
        collector.close()
        raise
    try:
        yield running
    finally:
        thread.stop()
