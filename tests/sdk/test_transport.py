"""HiveLoop's transport: real OTLP/HTTP export to a receiver on 127.0.0.1, and its promises.

The agent never sees an exception and is never slowed by the endpoint (unreachable, slow, 500,
429); memory is bounded and the oldest spans go first; `flush()` / `shutdown()` keep their
timeouts; the process flushes at exit. Timing bounds here are deliberately generous: the precise
figures belong to the benchmark.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import hiveloop
from hiveloop._internal.client import traces_url
from hiveloop.testing import capture
from tests.sdk.otlp_receiver import OTLPReceiver, readable_span_to_dict, typed, unreachable_url

KEY = "hb_test_transport"
ENDPOINT_VARIABLES = (
    "HIVEBOARD_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# ---- HiveLoop's OTel pipeline, seen from inside -----------------------------------------------------


class Pipeline:
    """The OpenTelemetry objects behind a HiveLoop client.

    Every access to private attributes of HiveLoop and of the OpenTelemetry SDK (1.45) is here:
    `HiveBoard._provider`, the provider's `_active_span_processor._span_processors`, and
    `BatchSpanProcessor._batch_processor` with its `_queue` (a deque, newest first), its settings
    and its exporter. The memory bound and the batch size are HiveLoop's promises, and these are
    the only places they can be observed.
    """

    def __init__(self, hb: hiveloop.HiveBoard) -> None:
        self.provider = hb._provider
        processors = self.provider._active_span_processor._span_processors
        self.processor: BatchSpanProcessor = next(p for p in processors if isinstance(p, BatchSpanProcessor))
        self._batch = self.processor._batch_processor

    @property
    def queue(self) -> Any:
        return self._batch._queue

    @property
    def max_export_batch_size(self) -> int:
        return self._batch._max_export_batch_size

    @property
    def max_queue_size(self) -> int:
        return self._batch._max_queue_size

    @property
    def schedule_delay(self) -> float:
        return self._batch._schedule_delay

    @property
    def exporter(self) -> Any:
        return self._batch._exporter

    @property
    def exporter_endpoint(self) -> str:
        return self.exporter._endpoint

    def add_processor(self, processor: SpanProcessor) -> None:
        """Tap HiveLoop's own provider (after its BatchSpanProcessor)."""
        self.provider.add_span_processor(processor)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def span_key(span: dict[str, Any]) -> tuple[str, str | None]:
    return span["name"], span["attributes"].get("hiveboard.task.id")


# ---- 1. real OTLP export ---------------------------------------------------------------------------


def representative_workload(hb: hiveloop.HiveBoard) -> None:
    agent = hb.agent("transport-agent", type="sales", version="1.2.0", heartbeat_interval=0)
    with agent.task("task-ok", project="sales-pipeline", type="lead") as task:
        task.llm_call(
            "lead_scoring", "claude-sonnet-4-20250514", tokens_in=1800, tokens_out=250, cost=0.004,
            duration_ms=1200, prompt_preview="Score this lead", response_preview="72",
            metadata={"turn_number": 1, "stop_reason": "end_turn", "cache_read_input_tokens": 40},
        )  # fmt: skip
        task.plan("Process lead", ["Fetch CRM", "Score", "Route"])
        task.plan_step(0, "completed", "CRM data retrieved", turns=2, tokens=3200)
        task.escalate("Score too low for auto-routing", assigned_to="senior-sales", reason="score 0.12")
        with agent.track_context("crm_lookup") as outer:
            outer.set_payload({"found": True, "ids": [1, 2]})
            with contextlib.suppress(RuntimeError), agent.track_context("crm_fetch"):
                raise RuntimeError("CRM timed out")
        task.retry("CRM timeout, attempt 2", attempt=2, backoff_seconds=1.5)
        task.event("custom", payload={"kind": "context_compaction", "data": {"tokens_before": 180000}})
    agent.report_issue(
        "CRM API returning 403", severity="high", issue_id="crm-auth", category="permissions",
        context={"status": 403}, occurrence_count=8,
    )  # fmt: skip
    agent.event("custom", payload={"kind": "runtime", "data": {"event": "agent_started"}})
    agent.llm_call("summary", "gpt-4o", tokens_in=500, tokens_out=80)
    with pytest.raises(ValueError), agent.task("task-failed"):
        raise ValueError("bad lead record")


def test_otlp_export_delivers_exactly_what_the_sdk_recorded() -> None:
    with OTLPReceiver() as receiver:
        hb = hiveloop.init(KEY, environment="staging", group="sales-team", endpoint=receiver.url)
        memory = InMemorySpanExporter()
        Pipeline(hb).add_processor(SimpleSpanProcessor(memory))
        representative_workload(hb)
        assert hiveloop.flush(timeout=5)
        recorded: list[ReadableSpan] = list(memory.get_finished_spans())
        received = receiver.wait_for_spans(len(recorded), timeout=5)

    assert len(recorded) >= 15
    expected = {span.context.span_id: readable_span_to_dict(span) for span in recorded}
    arrived = {int(span["span_id"], 16): span for span in received}
    assert len(received) == len(recorded)
    # Whole spans, type-exact: int stays int, double stays double, string[] stays a list.
    assert typed(arrived) == typed(expected)

    # The comparison is not vacuous: the spans carry what the workload put in them.
    by_key = {span_key(span): span for span in received}
    by_name = {span["name"]: span for span in received if span_key(span)[1] != "task-failed"}
    llm = by_name["chat claude-sonnet-4-20250514"]
    task = by_key["invoke_agent transport-agent", "task-ok"]
    assert llm["kind"] == "CLIENT"
    assert llm["parent_span_id"] == task["span_id"]
    assert llm["end_time"] - llm["start_time"] == 1_200_000_000
    assert typed(llm["attributes"]["gen_ai.usage.input_tokens"]) == ("int", 1800)
    assert typed(llm["attributes"]["hiveboard.llm.cost"]) == ("float", 0.004)
    assert llm["attributes"]["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert by_name["plan_created"]["attributes"]["hiveboard.plan.steps"] == ["Fetch CRM", "Score", "Route"]
    outer, inner = by_name["crm_lookup"], by_name["crm_fetch"]
    assert (outer["parent_span_id"], inner["parent_span_id"]) == (task["span_id"], outer["span_id"])
    assert (outer["status"], inner["status"]) == ("OK", "ERROR")
    assert inner["status_description"] == "RuntimeError: CRM timed out"
    assert [event["name"] for event in inner["events"]] == ["exception"]
    assert inner["events"][0]["attributes"]["exception.type"] == "RuntimeError"
    failed_task = by_key["invoke_agent transport-agent", "task-failed"]
    assert failed_task["status"] == "ERROR"
    assert failed_task["events"][0]["attributes"]["exception.message"] == "bad lead record"

    requests = receiver.requests
    assert requests and all(r.path == "/v1/traces" for r in requests)
    assert all(r.header("Authorization") == f"Bearer {KEY}" for r in requests)
    assert all(r.header("Content-Type") == "application/x-protobuf" for r in requests)
    resource = received[0]["resource"]
    assert all(span["resource"] == resource for span in received)
    assert resource["service.name"] == "sales-team"
    assert resource["deployment.environment.name"] == "staging"
    assert resource["hiveboard.group"] == "sales-team"
    assert resource["telemetry.distro.name"] == "hiveloop"
    assert resource["telemetry.distro.version"] == hiveloop.__version__
    assert received[0]["scope"] == ("hiveloop", hiveloop.__version__)


def test_gzip_compression_from_the_standard_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    with OTLPReceiver() as receiver:
        hb = hiveloop.init(KEY, endpoint=receiver.url)
        with hb.agent("gzip-agent", heartbeat_interval=0).task("gzip-task"):
            pass
        assert hiveloop.flush(timeout=5)
        spans = receiver.wait_for_spans(3)
    assert receiver.requests[0].header("Content-Encoding") == "gzip"
    assert ("invoke_agent gzip-agent", "gzip-task") in {span_key(span) for span in spans}


# ---- 2. endpoint resolution -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "environment", "expected"),
    [
        (
            "http://arg:1",
            {
                "HIVEBOARD_ENDPOINT": "http://hb:2",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:3/custom/path",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4",
            },
            "http://arg:1/v1/traces",
        ),
        (
            None,
            {
                "HIVEBOARD_ENDPOINT": "http://hb:2/",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:3/custom/path",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4",
            },
            "http://hb:2/v1/traces",
        ),
        (
            None,
            {
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:3/custom/path",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4",
            },
            "http://traces:3/custom/path",
        ),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4/"}, "http://otel:4/v1/traces"),
        (None, {}, "http://localhost:8000/v1/traces"),
        ("http://arg:1/", {}, "http://arg:1/v1/traces"),
    ],
    ids=["argument", "hiveboard-env", "otlp-traces-env", "otlp-env", "default", "trailing-slash"],
)
def test_endpoint_resolution_order(
    monkeypatch: pytest.MonkeyPatch, argument: str | None, environment: dict[str, str], expected: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert traces_url(argument) == expected
    hb = hiveloop.init(KEY, endpoint=argument)  # no span is emitted: nothing is sent there
    assert hb.config.traces_url == expected
    assert Pipeline(hb).exporter_endpoint == expected
    hiveloop.shutdown(timeout=1)


@pytest.mark.parametrize("variable", ["HIVEBOARD_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
def test_real_export_to_an_endpoint_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    with OTLPReceiver() as receiver:
        full = variable == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        monkeypatch.setenv(variable, receiver.traces_url if full else receiver.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # lower priority: unused
        hb = hiveloop.init(KEY)
        with hb.agent("env-agent", heartbeat_interval=0).task("env-task"):
            pass
        assert hiveloop.flush(timeout=5)
        spans = receiver.wait_for_spans(3)
    assert ("invoke_agent env-agent", "env-task") in {span_key(span) for span in spans}
    assert receiver.requests[0].path == "/v1/traces"


# ---- 3. failure modes: no exception, no slowdown ------------------------------------------------------

LOOP_ITERATIONS = 2_000


def instrumented_loop(hb: hiveloop.HiveBoard) -> tuple[float, int]:
    """An agent's hot loop; returns its wall time and how many iterations completed."""
    agent = hb.agent("loop-agent", heartbeat_interval=0)
    done = 0
    started = time.perf_counter()
    for i in range(LOOP_ITERATIONS):
        with agent.task(f"loop-{i}") as task:
            task.llm_call("step", "claude-haiku-4-5", tokens_in=100, tokens_out=20, duration_ms=3)
            task.plan_step(0, "completed", "step done")
        done += 1
    return time.perf_counter() - started, done


@contextlib.contextmanager
def endpoint(kind: str, **receiver_options: Any) -> Iterator[tuple[str, OTLPReceiver | None]]:
    """A base URL that behaves as `kind` ("unreachable" or a receiver mode), and its receiver."""
    if kind == "unreachable":
        with unreachable_url() as url:
            yield url, None
    else:
        with OTLPReceiver(kind, **receiver_options) as receiver:
            yield receiver.url, receiver


def _same_batch_retried(requests: list[Any]) -> bool:
    return any(count > 1 for count in Counter(r.body for r in requests).values())


@pytest.mark.parametrize("kind", ["unreachable", "slow", "error500", "error429"])
def test_failing_endpoint_never_raises_nor_slows_the_agent(kind: str) -> None:
    with OTLPReceiver() as ok_receiver:
        hiveloop.init(KEY, endpoint=ok_receiver.url, flush_interval=0.05)
        baseline, _ = instrumented_loop(hiveloop.get_client())
        assert hiveloop.shutdown(timeout=5)
        # The baseline really exported: registration, the loop, the shutdown event.
        assert len(ok_receiver.spans) == 1 + 4 * LOOP_ITERATIONS + 1
    hiveloop.reset()

    with endpoint(kind, delay=10.0, retry_after="2") as (url, receiver):
        hb = hiveloop.init(KEY, endpoint=url, flush_interval=0.05)
        try:
            elapsed, done = instrumented_loop(hb)  # an exception here fails the test

            assert done == LOOP_ITERATIONS
            assert elapsed < 3 * baseline + 0.5, f"{kind}: {elapsed:.2f}s vs {baseline:.2f}s against ok"
            if kind == "unreachable":
                assert len(Pipeline(hb).queue) > 0  # nothing could leave
            elif kind == "slow":
                assert receiver.wait_for_requests(1, timeout=2)
                assert receiver.spans == []  # the export is still held by the receiver
            elif kind == "error500":
                # 500 is not retryable under OTLP: the batch is dropped and the next ones still go.
                assert receiver.wait_until(lambda rs: len({r.body for r in rs}) >= 2, timeout=5)
                assert {r.status for r in receiver.requests} == {500}
            else:
                # 429 is retried: the same batch arrives again, after the server's Retry-After (2 s;
                # the exporter's own first backoff would be about 1 s).
                assert receiver.wait_until(_same_batch_retried, timeout=8)
                requests = receiver.requests
                first = requests[0]
                again = next(r for r in requests[1:] if r.body == first.body)
                assert again.received_at - first.received_at >= 1.8
                assert {r.status for r in requests} == {429}
        finally:
            hiveloop.shutdown(timeout=0.5)  # aborts the exporter's retries at the deadline


# ---- 4. bounded memory, oldest dropped first ---------------------------------------------------------


class QueueProbe(SpanProcessor):
    """Runs after HiveLoop's BatchSpanProcessor: records each span's key and the queue length then."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.emitted: list[tuple[str, str | None]] = []
        self.largest = 0

    def on_end(self, span: ReadableSpan) -> None:
        self.emitted.append((span.name, (span.attributes or {}).get("hiveboard.task.id")))
        self.largest = max(self.largest, len(self.queue))


def emit_tasks(hb: hiveloop.HiveBoard, count: int) -> QueueProbe:
    pipeline = Pipeline(hb)
    probe = QueueProbe(pipeline.queue)
    pipeline.add_processor(probe)
    agent = hb.agent("memory-agent", heartbeat_interval=0)
    for i in range(count):
        with agent.task(f"task-{i:04d}"):
            pass
    return probe


@pytest.mark.parametrize("kind", ["unreachable", "slow"])
def test_queue_is_bounded_and_keeps_the_newest_spans(kind: str) -> None:
    with endpoint(kind, delay=10.0) as (url, _):
        hb = hiveloop.init(KEY, endpoint=url, flush_interval=60, max_queue_size=100)
        try:
            probe = emit_tasks(hb, 2_500)  # 5,000 spans
            queue = Pipeline(hb).queue
            assert len(probe.emitted) == 5_001  # with agent_registered
            assert probe.largest == 100  # reached the bound, never beyond
            assert len(queue) == 100
            oldest_to_newest = [
                (s.name, (s.attributes or {}).get("hiveboard.task.id")) for s in reversed(queue)
            ]
            assert oldest_to_newest == probe.emitted[-100:]
        finally:
            hiveloop.shutdown(timeout=0.5)  # aborts the exporter's retries at the deadline


def test_after_an_outage_the_newest_spans_are_delivered() -> None:
    with OTLPReceiver("slow", delay=10.0) as receiver:
        hb = hiveloop.init(KEY, endpoint=receiver.url, flush_interval=60, max_queue_size=100)
        probe = emit_tasks(hb, 2_500)
        in_flight = [span_key(span) for span in receiver.wait_for_requests(1, timeout=2)[0].spans]
        receiver.mode = "ok"
        receiver.release()
        assert hiveloop.flush(timeout=5)
        delivered = [span_key(span) for span in receiver.wait_for_spans(len(in_flight) + 100)]

    newest = probe.emitted[-100:]
    # What was already in flight when the endpoint stalled, then the newest 100: 4,800+ dropped.
    assert 0 < len(in_flight) <= 100
    assert len(delivered) == len(in_flight) + 100
    assert sorted(delivered) == sorted(in_flight + newest)
    assert set(in_flight).isdisjoint(newest)


# ---- 5. shutdown keeps its timeout --------------------------------------------------------------------


def test_shutdown_flushes_everything_within_its_timeout() -> None:
    with OTLPReceiver() as receiver:
        hb = hiveloop.init(KEY, endpoint=receiver.url, flush_interval=60)
        agent = hb.agent("shutdown-agent", heartbeat_interval=0)
        for i in range(50):
            with agent.task(f"task-{i}"):
                pass
        assert receiver.spans == []  # nothing left before shutdown (60 s flush interval)
        started = time.perf_counter()
        finished = hiveloop.shutdown(timeout=5)
        elapsed = time.perf_counter() - started
        assert finished
        assert elapsed < 2.0
        assert len(receiver.spans) == 102  # with agent_registered and agent_shutdown
        assert {span_key(s) for s in receiver.spans} >= {("invoke_agent shutdown-agent", "task-49")}


def test_shutdown_returns_at_its_timeout_when_the_endpoint_is_slow() -> None:
    with OTLPReceiver("slow", delay=10.0) as receiver:
        hb = hiveloop.init(KEY, endpoint=receiver.url, flush_interval=60)
        with hb.agent("slow-agent", heartbeat_interval=0).task("slow-task"):
            pass
        started = time.perf_counter()
        finished = hiveloop.shutdown(timeout=1)
        elapsed = time.perf_counter() - started
        assert not finished
        assert 0.9 <= elapsed < 2.0
        assert len(receiver.requests) == 1  # the flush did start, and is held by the receiver
        assert receiver.spans == []


# ---- 6. flush at exit -------------------------------------------------------------------------------


def test_process_exit_flushes_without_an_explicit_shutdown() -> None:
    with OTLPReceiver() as receiver:
        script = textwrap.dedent(
            f"""
            import hiveloop
            hb = hiveloop.init(api_key="hb_test_atexit", endpoint={receiver.url!r}, flush_interval=60)
            with hb.agent("atexit-agent", heartbeat_interval=0).task("atexit-task"):
                pass
            """
        )
        child = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
        )
        assert child.returncode == 0, child.stderr
        spans = receiver.wait_for_spans(4, timeout=2)
    assert sorted(span_key(s) for s in spans) == [
        ("agent_registered", None),
        ("agent_shutdown", None),
        ("invoke_agent atexit-agent", "atexit-task"),
        ("task_started", "atexit-task"),
    ]
    assert receiver.requests[0].header("Authorization") == "Bearer hb_test_atexit"


# ---- 7. init's contract ------------------------------------------------------------------------------


def test_second_init_warns_and_returns_the_first_client(caplog: pytest.LogCaptureFixture) -> None:
    with unreachable_url() as first, unreachable_url() as second:
        hb = hiveloop.init(KEY, endpoint=first)
        with caplog.at_level(logging.WARNING, logger="hiveloop"):
            again = hiveloop.init("hb_test_other", endpoint=second)
        assert again is hb
        assert hb.config.traces_url == first + "/v1/traces"
        warnings = [r for r in caplog.records if r.name == "hiveloop" and r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "already" in warnings[0].getMessage()
        hiveloop.shutdown(timeout=1)


def test_reset_allows_a_new_client_with_another_endpoint() -> None:
    with OTLPReceiver() as first, OTLPReceiver() as second:
        hb = hiveloop.init(KEY, endpoint=first.url)
        with hb.agent("agent-a", heartbeat_interval=0).task("before-reset"):
            pass
        hiveloop.reset()
        assert hiveloop.get_client() is None
        hb2 = hiveloop.init(KEY, endpoint=second.url)
        assert hb2 is not hb
        with hb2.agent("agent-b", heartbeat_interval=0).task("after-reset"):
            pass
        assert hiveloop.flush(timeout=5)
        second.wait_for_spans(3)
    assert {span_key(s)[1] for s in first.spans} == {None, "before-reset"}  # reset flushed it
    assert {span_key(s)[1] for s in second.spans} == {None, "after-reset"}


@pytest.mark.parametrize("key", ["abc", None, "hb_", "", 123, "HB_live_x"])
def test_malformed_api_key_raises_a_clear_error(key: Any) -> None:
    with pytest.raises(ValueError, match=r"api_key must be a HiveBoard key starting with 'hb_'"):
        hiveloop.init(key, endpoint="http://127.0.0.1:9")
    assert hiveloop.get_client() is None


@pytest.mark.parametrize(
    ("options", "warning", "check"),
    [
        ({"flush_interval": -1}, "flush_interval", lambda p, c: c.flush_interval == p.schedule_delay == 5.0),
        ({"flush_interval": "soon"}, "flush_interval", lambda p, c: p.schedule_delay == 5.0),
        ({"batch_size": 0}, "batch_size", lambda p, c: c.batch_size == p.max_export_batch_size == 100),
        (
            {"batch_size": 10_000},
            "capped at 500",
            lambda p, c: c.batch_size == p.max_export_batch_size == 500,
        ),
        ({"max_queue_size": -5}, "max_queue_size", lambda p, c: p.max_queue_size == 10_000),
    ],
    ids=["negative-interval", "string-interval", "zero-batch", "huge-batch", "negative-queue"],
)
def test_bad_numeric_parameters_warn_and_fall_back(
    caplog: pytest.LogCaptureFixture, options: dict[str, Any], warning: str, check: Callable[..., bool]
) -> None:
    with unreachable_url() as url, caplog.at_level(logging.WARNING, logger="hiveloop"):
        hb = hiveloop.init(KEY, endpoint=url, **options)
    assert check(Pipeline(hb), hb.config)
    assert any(warning in r.getMessage() for r in caplog.records if r.name == "hiveloop")
    hiveloop.shutdown(timeout=1)


def test_small_queue_caps_the_batch_instead_of_raising() -> None:
    with unreachable_url() as url:
        hb = hiveloop.init(KEY, endpoint=url, max_queue_size=50)  # batch_size defaults to 100
    pipeline = Pipeline(hb)
    assert pipeline.max_queue_size == 50
    assert pipeline.max_export_batch_size == 50
    hiveloop.shutdown(timeout=1)


# ---- 8. heartbeats -----------------------------------------------------------------------------------


def heartbeat_thread_alive(agent_id: str) -> bool:
    return any(t.name == f"hiveloop-heartbeat-{agent_id}" and t.is_alive() for t in threading.enumerate())


def liveness(spans: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dicts = spans.as_dicts()
    return (
        [s for s in dicts if s["name"] == "heartbeat"],
        [s for s in dicts if s["name"] == "queue_snapshot"],
    )


def test_heartbeats_carry_payload_and_queue_snapshot_and_stop_at_shutdown() -> None:
    beats = iter(range(1_000_000))

    def payload() -> dict[str, Any]:
        return {"active": True, "beat": next(beats)}

    def queue() -> dict[str, Any]:
        return {"depth": 3, "oldest_age_seconds": 1.5, "items": [{"id": "lead-1", "priority": "high"}]}

    with capture(deterministic=False) as spans:
        hb = spans.init(KEY)
        hb.agent("beating", heartbeat_interval=0.05, heartbeat_payload=payload, queue_provider=queue)
        assert wait_for(lambda: len(liveness(spans)[0]) >= 4, timeout=5)
        assert hiveloop.shutdown(timeout=2)
        assert wait_for(lambda: not heartbeat_thread_alive("beating"), timeout=2)
        heartbeats, snapshots = liveness(spans)

    assert [json.loads(h["attributes"]["hiveboard.heartbeat.payload"]) for h in heartbeats] == [
        {"active": True, "beat": n} for n in range(len(heartbeats))
    ]
    starts = [h["start_time"] for h in heartbeats]
    assert all(later - earlier >= 40_000_000 for earlier, later in zip(starts, starts[1:], strict=False))
    assert all(h["attributes"]["hiveboard.agent.id"] == "beating" for h in heartbeats)
    # One snapshot per heartbeat (the last one may have been cut off by the shutdown).
    assert len(heartbeats) - 1 <= len(snapshots) <= len(heartbeats)
    for snapshot in snapshots:
        attributes = snapshot["attributes"]
        assert attributes["hiveboard.queue.source"] == "provider"
        assert typed(attributes["hiveboard.queue.depth"]) == ("int", 3)
        assert typed(attributes["hiveboard.queue.oldest_age_seconds"]) == ("float", 1.5)
        assert json.loads(attributes["hiveboard.queue.items"]) == [{"id": "lead-1", "priority": "high"}]


def test_a_raising_heartbeat_payload_still_sends_heartbeat_and_snapshot() -> None:
    def payload() -> dict[str, Any]:
        raise RuntimeError("payload broke")

    with capture(deterministic=False) as spans:
        hb = spans.init(KEY)
        hb.agent(
            "p-agent", heartbeat_interval=0.05, heartbeat_payload=payload, queue_provider=lambda: {"depth": 2}
        )
        assert wait_for(lambda: len(liveness(spans)[1]) >= 2, timeout=5)
        heartbeats, snapshots = liveness(spans)
    assert len(heartbeats) >= 2
    assert all("hiveboard.heartbeat.payload" not in h["attributes"] for h in heartbeats)
    assert all(s["attributes"]["hiveboard.queue.depth"] == 2 for s in snapshots)
    assert all(s["attributes"]["hiveboard.queue.source"] == "provider" for s in snapshots)


def test_a_raising_queue_provider_still_sends_the_heartbeat() -> None:
    def queue() -> dict[str, Any]:
        raise RuntimeError("queue broke")

    with capture(deterministic=False) as spans:
        hb = spans.init(KEY)
        hb.agent(
            "q-agent", heartbeat_interval=0.05, heartbeat_payload=lambda: {"ok": 1}, queue_provider=queue
        )
        assert wait_for(lambda: len(liveness(spans)[0]) >= 3, timeout=5)
        heartbeats, snapshots = liveness(spans)
    assert snapshots == []
    assert all(json.loads(h["attributes"]["hiveboard.heartbeat.payload"]) == {"ok": 1} for h in heartbeats)
