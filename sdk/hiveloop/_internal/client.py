"""The HiveLoop client: configuration, the OpenTelemetry pipeline, and the process-wide singleton."""

from __future__ import annotations

import atexit
import logging
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

from hiveboard_semconv.attributes import (
    DEPLOYMENT_ENVIRONMENT_NAME,
    HIVEBOARD_GROUP,
    PROCESS_RUNTIME_DESCRIPTION,
    PROCESS_RUNTIME_NAME,
    PROCESS_RUNTIME_VERSION,
    SERVICE_NAME,
    TELEMETRY_DISTRO_NAME,
    TELEMETRY_DISTRO_VERSION,
)
from hiveloop._internal.payloads import clean_attributes
from hiveloop._internal.safety import never_raise
from hiveloop._internal.version import VERSION

if TYPE_CHECKING:
    from hiveloop._internal.agent import Agent

logger = logging.getLogger("hiveloop")

DEFAULT_ENDPOINT = "http://localhost:8000"
MAX_BATCH_SIZE = 500


@dataclass(frozen=True)
class Config:
    """The validated parameters of `hiveloop.init()`."""

    api_key: str
    environment: str = "production"
    group: str = "default"
    traces_url: str = DEFAULT_ENDPOINT + "/v1/traces"
    flush_interval: float = 5.0
    batch_size: int = 100
    max_queue_size: int = 10_000
    debug: bool = False


def traces_url(endpoint: str | None) -> str:
    """Where spans go: `endpoint` (a HiveBoard base URL), else HIVEBOARD_ENDPOINT, else the standard
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (a full URL) or OTEL_EXPORTER_OTLP_ENDPOINT (a base URL),
    else http://localhost:8000."""
    base = endpoint or os.environ.get("HIVEBOARD_ENDPOINT")
    if not base:
        full = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if full:
            return full
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT
    return base.rstrip("/") + "/v1/traces"


def _positive(name: str, value: Any, default: float, kind: type, maximum: float) -> Any:
    """`value` when it is a positive finite number of the right kind, else `default` with a warning;
    capped at `maximum`, past which the batch processor's queue or timer would fail."""
    if not (isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf):
        logger.warning("hiveloop.init: %s=%r is not a positive number; using %r", name, value, default)
        return default
    if value > maximum:
        logger.warning("hiveloop.init: %s=%r is capped at %r", name, value, kind(maximum))
        return kind(maximum)
    return kind(value)


def make_config(
    api_key: str,
    environment: str,
    group: str,
    endpoint: str | None,
    flush_interval: float,
    batch_size: int,
    max_queue_size: int,
    debug: bool,
) -> Config:
    """Validate `init()`'s parameters. Only a malformed key raises: nothing could be sent without it."""
    if not isinstance(api_key, str) or not api_key.startswith("hb_") or len(api_key) <= len("hb_"):
        raise ValueError(
            "hiveloop.init: api_key must be a HiveBoard key starting with 'hb_' "
            "(hb_live_..., hb_test_... or hb_read_...); create one with `hiveboard keys create`"
        )
    queue_size = _positive("max_queue_size", max_queue_size, 10_000, int, sys.maxsize)
    batch = _positive("batch_size", batch_size, 100, int, sys.maxsize)
    # A batch can neither exceed the server's cap nor the queue it is taken from.
    cap = min(MAX_BATCH_SIZE, queue_size)
    if batch > cap:
        logger.warning("hiveloop.init: batch_size=%d is capped at %d", batch, cap)
        batch = cap
    return Config(
        api_key=api_key,
        environment=str(environment),
        group=str(group),
        traces_url=traces_url(endpoint),
        flush_interval=_positive("flush_interval", flush_interval, 5.0, float, threading.TIMEOUT_MAX),
        batch_size=batch,
        max_queue_size=queue_size,
        debug=bool(debug),
    )


def make_resource(config: Config) -> Resource:
    """The process's resource: who sends, from which environment, with which SDK on which runtime.

    The runtime attributes are those of the OpenTelemetry SDK's process resource detector, set here
    rather than by running it: the detector also reports the command, executable path and user of
    the process, which HiveBoard does not show and an agent's host may not want to send.
    """
    # Every batch carries the resource: one value OTLP cannot encode here would lose them all.
    return Resource.create(
        clean_attributes(
            {
                SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or config.group,
                DEPLOYMENT_ENVIRONMENT_NAME: config.environment,
                HIVEBOARD_GROUP: config.group,
                TELEMETRY_DISTRO_NAME: "hiveloop",
                TELEMETRY_DISTRO_VERSION: VERSION,
                PROCESS_RUNTIME_NAME: sys.implementation.name,
                PROCESS_RUNTIME_VERSION: platform.python_version(),
                PROCESS_RUNTIME_DESCRIPTION: sys.version,
            }
        )
    )


def _run_with_deadline(work: Callable[[], object], timeout: float, name: str) -> bool:
    """Run `work` on a daemon thread and wait at most `timeout` seconds for it.

    The OpenTelemetry SDK's force_flush and shutdown ignore their timeouts while an export is
    retrying against a slow endpoint; this keeps HiveLoop's own promises.
    """
    done = threading.Event()

    def run() -> None:
        try:
            work()
        except Exception:
            logger.debug("hiveloop: %s failed", name, exc_info=True)
        finally:
            done.set()

    threading.Thread(target=run, name=f"hiveloop-{name}", daemon=True).start()
    finished = done.wait(max(timeout, 0.0))
    if not finished:
        logger.warning("hiveloop: %s did not finish within %.1fs; continuing without waiting", name, timeout)
    return finished


@dataclass(frozen=True)
class Pipeline:
    """What `init` may replace in HiveLoop's own span pipeline: where spans go instead of OTLP, how
    ids are made and what clock dates spans (each None: the default)."""

    span_processor: SpanProcessor | None = None
    id_generator: IdGenerator | None = None
    clock: Callable[[], int] | None = None


class HiveBoard:
    """The client returned by `hiveloop.init()`: it registers agents and owns the span pipeline.

    ```python
    hb = hiveloop.init(api_key="hb_live_...")
    agent = hb.agent("lead-qualifier", type="sales")
    ```
    """

    def __init__(
        self,
        config: Config,
        tracer_provider: trace.TracerProvider | None = None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.config = config
        self.now: Callable[[], int] = pipeline.clock if pipeline and pipeline.clock else time.time_ns
        self._agents: dict[str, Agent] = {}
        self._agents_lock = threading.Lock()
        self._closed = False
        self._exporter: OTLPSpanExporter | None = None
        self._owns_provider = tracer_provider is None
        if tracer_provider is None:
            tracer_provider = self._build_provider(pipeline)
        self._provider = tracer_provider
        self.tracer = tracer_provider.get_tracer("hiveloop", VERSION)

    def _build_provider(self, pipeline: Pipeline | None) -> TracerProvider:
        provider = TracerProvider(
            resource=make_resource(self.config),
            id_generator=pipeline.id_generator if pipeline else None,
            # Every agent call is recorded: an application's trace sampling must not drop agent
            # telemetry that happens to run under one of its unsampled spans.
            sampler=ALWAYS_ON,
            # HiveLoop flushes at exit itself, within its own timeout.
            shutdown_on_exit=False,
        )
        if pipeline is not None and pipeline.span_processor is not None:
            provider.add_span_processor(pipeline.span_processor)
            return provider
        self._exporter = OTLPSpanExporter(
            endpoint=self.config.traces_url,
            headers={"Authorization": f"Bearer {self.config.api_key}"},
        )
        provider.add_span_processor(
            BatchSpanProcessor(
                self._exporter,
                max_queue_size=self.config.max_queue_size,
                schedule_delay_millis=self.config.flush_interval * 1000,
                max_export_batch_size=self.config.batch_size,
            )
        )
        return provider

    def agent(
        self,
        agent_id: str,
        type: str = "general",
        version: str | None = None,
        framework: str = "custom",
        heartbeat_interval: float = 30.0,
        stuck_threshold: int = 300,
        heartbeat_payload: Callable[[], dict[str, Any]] | None = None,
        queue_provider: Callable[[], dict[str, Any]] | None = None,
    ) -> Agent:
        """Register an agent, or return the handle already registered under `agent_id`.

        Registering again returns the same handle; `heartbeat_payload` / `queue_provider` given
        then replace the handle's callbacks (its other parameters are kept).

        Registration emits an `agent_registered` event and, unless `heartbeat_interval` is 0, starts
        a daemon thread that emits a heartbeat every `heartbeat_interval` seconds (with the
        `heartbeat_payload` data, and a queue snapshot from `queue_provider`).

        ```python
        agent = hb.agent("my-agent", type="support", version="1.0.0", queue_provider=get_queue)
        ```
        """
        from hiveloop._internal.agent import Agent

        key = str(agent_id)
        with self._agents_lock:
            existing = self._agents.get(key)
            if existing is not None:
                existing._use_callbacks(heartbeat_payload, queue_provider)
                return existing
            agent = Agent(
                self,
                key,
                type=type,
                version=version,
                framework=framework,
                heartbeat_interval=heartbeat_interval,
                stuck_threshold=stuck_threshold,
                heartbeat_payload=heartbeat_payload,
                queue_provider=queue_provider,
            )
            self._agents[key] = agent
        agent._start()
        return agent

    def flush(self, timeout: float = 5.0) -> bool:
        """Export everything buffered now; wait at most `timeout` seconds. True if it finished."""
        if self._closed:
            return False
        return _run_with_deadline(self._provider.force_flush, timeout, "flush")

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop heartbeats, emit each agent's `agent_shutdown` (HiveBoard then shows it offline, not
        stuck), flush, and close the exporter, within `timeout` seconds in all."""
        if self._closed:
            return True
        self._closed = True
        started = time.monotonic()
        with self._agents_lock:
            agents = list(self._agents.values())
        for agent in agents:
            agent._stop_heartbeat()
        # At most half the time waits for heartbeat threads (a slow heartbeat callback); the
        # flush that sends the shutdown events gets the rest.
        for agent in agents:
            try:
                agent._announce_shutdown(started + max(timeout, 0.0) / 2)
            except Exception:
                logger.debug("hiveloop: shutdown event of %s failed", agent.agent_id, exc_info=True)
        timeout = max(0.0, timeout - (time.monotonic() - started))

        def close() -> None:
            self._provider.force_flush()
            if self._owns_provider:
                self._provider.shutdown()

        finished = _run_with_deadline(close, timeout, "shutdown")
        if not finished and self._exporter is not None:
            # Abort the exporter's retry waits: what is left after the deadline is dropped.
            self._exporter.shutdown()
        return finished


_client: HiveBoard | None = None
_client_lock = threading.Lock()
_atexit_registered = False


def _configure_debug_logging() -> None:
    if not any(getattr(h, "_hiveloop_debug", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s hiveloop %(levelname)s %(message)s"))
        handler._hiveloop_debug = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def init(
    api_key: str,
    environment: str = "production",
    group: str = "default",
    endpoint: str | None = None,
    flush_interval: float = 5.0,
    batch_size: int = 100,
    max_queue_size: int = 10_000,
    debug: bool = False,
    tracer_provider: trace.TracerProvider | None = None,
    span_processor: SpanProcessor | None = None,
    id_generator: IdGenerator | None = None,
    clock: Callable[[], int] | None = None,
) -> HiveBoard:
    """Initialize HiveLoop once per process and return its client.

    Spans leave through the standard OTLP/HTTP exporter to `{endpoint}/v1/traces` on a background
    thread, in batches of `batch_size` (at most 500) every `flush_interval` seconds; at most
    `max_queue_size` spans wait in memory, the oldest dropped first. A second call logs a warning and
    returns the first client; `hiveloop.reset()` allows a new one.

    Pass `tracer_provider` to send HiveLoop's spans through an application's own provider instead
    (its processors and resource then apply; HiveLoop does not shut it down).

    For tests (`hiveloop.testing` passes them): `span_processor` receives the spans instead of the
    OTLP exporter, `id_generator` makes trace and span ids, and `clock` (nanoseconds since the epoch)
    dates them.

    ```python
    hb = hiveloop.init(api_key="hb_live_...", endpoint="http://localhost:8000", environment="staging")
    ```
    """
    global _client, _atexit_registered
    with _client_lock:
        if _client is not None:
            logger.warning("hiveloop.init() was already called; returning the existing client")
            return _client
        config = make_config(
            api_key, environment, group, endpoint, flush_interval, batch_size, max_queue_size, debug
        )
        if config.debug:
            _configure_debug_logging()
        _client = HiveBoard(config, tracer_provider, Pipeline(span_processor, id_generator, clock))
        if not _atexit_registered:
            atexit.register(_shutdown_at_exit)
            _atexit_registered = True
        logger.debug("hiveloop: initialized, sending spans to %s", config.traces_url)
        return _client


def get_client() -> HiveBoard | None:
    """The client `init()` created, or None."""
    return _client


@never_raise
def flush(timeout: float = 5.0) -> bool:
    """Export everything buffered now, waiting at most `timeout` seconds. True if it finished."""
    client = _client
    return client.flush(timeout) if client is not None else True


@never_raise
def shutdown(timeout: float = 5.0) -> bool:
    """Flush and stop HiveLoop, within `timeout` seconds. Later calls on its agents emit nothing.

    ```python
    atexit.register(hiveloop.shutdown)  # also done by init()
    ```
    """
    client = _client
    return client.shutdown(timeout) if client is not None else True


def reset(timeout: float = 5.0) -> None:
    """Flush, stop and forget the client so `init()` can be called again (for test suites)."""
    global _client
    with _client_lock:
        client, _client = _client, None
    if client is not None:
        never_raise(client.shutdown)(timeout)


def _shutdown_at_exit() -> None:
    shutdown(timeout=5.0)
