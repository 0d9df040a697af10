"""The collector assembled: receivers → ingestor → writers → storage, plus the pricing of new models.
`hiveboard.serving` runs it, alone or with the query API.

>>> collector = Collector(storage, KeyStore(storage))            # doctest: +SKIP
>>> collector.http_app()                                         # OTLP/HTTP, to serve   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import grpc
from fastapi import APIRouter, FastAPI

from hiveboard.collector.ingest.ingestor import Ingestor
from hiveboard.collector.ingest.trace_rows import TRACES_INPUT
from hiveboard.collector.receivers.otlp_grpc import otlp_grpc_server
from hiveboard.collector.receivers.otlp_http import DEFAULT_MAX_BODY_BYTES, otlp_http_router
from hiveboard.collector.writer.batch_writer import BatchWriter, WriterConfig
from hiveboard.collector.writer.row_encoding import LOGS_INPUT
from hiveboard.http_protocol import DEFAULT_CLIENT_TIMEOUT_S
from hiveboard.storage import Storage, StorageError
from hiveboard.storage.keys import KeyStore
from hiveboard.storage.pricing import DEFAULT_INTERVAL_S, ModelPricer, PricingJob
from hiveboard.storage.retention import read_retention

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

    def grpc_server(self, address: str) -> tuple[grpc.aio.Server, int]:
        """The OTLP/gRPC server bound to `address`, and its port (not started)."""
        return otlp_grpc_server(
            self.ingestor, address, self.config.max_body_bytes, self.config.client_timeout_s
        )

    def http_app(self) -> FastAPI:
        """The standalone OTLP/HTTP app: the routes and `GET /health`."""
        app = FastAPI(title="HiveBoard collector", summary="OTLP/HTTP receiver writing to ClickHouse")
        app.include_router(self.http_router())

        @app.get("/health", tags=["health"])
        def health() -> dict[str, str]:
            try:
                self.storage.query("SELECT 1")
            except StorageError as error:
                # Anyone may call /health: the storage's message goes to the log only.
                logger.warning("health check: storage unreachable: %s", error)
                return {"status": "unavailable", "storage": "unreachable"}
            return {"status": "ok"}

        return app
