"""How much HiveLoop costs the agent that calls it.

Run `python bench/sdk_overhead.py` (about a minute) or `python bench/sdk_overhead.py --quick` (a
smoke run with fewer iterations). It prints its numbers and always exits 0; PASS/FAIL are in the
tables.

A. Per-operation cost. Each HiveLoop operation is timed beside a bare OpenTelemetry span
   (`tracer.start_span(name).end()`). Both go through the same pipeline: a BatchSpanProcessor in
   front of a no-op exporter (HiveLoop's is passed to `init(span_processor=...)`, so the SDK code
   on the call path is the real one). Each operation runs `iterations` times per round; rounds
   interleave all operations; the median round is reported, and ratios to the baseline are taken
   round by round (median of the rounds). The garbage collector is off while a round is timed.
   The queue is sized so it never fills, and the exporter counts what it receives, so a dropped
   span would show. Target: at most 2x a bare span per span the operation emits
   (a task emits 2 spans, so at most 4x).

B. Unreachable endpoint. A loop of tasks (each: one llm_call, one track_context, one plan_step) runs
   with the real OTLP/HTTP exporter and BatchSpanProcessor that `hiveloop.init()` builds, against a
   closed port and against a live OTLP/HTTP receiver. The receiver is a ThreadingHTTPServer in a
   child process: in this one its work would take the GIL from the loop, slowing the live runs and
   flattering the ratio. Runs alternate unreachable/live with `hiveloop.reset()` between. Spans the
   batch processor drops (queue full) are counted from its warnings; stderr, where those warnings
   go with no logging configured, is written to a temporary file and summarised.
   Target: median unreachable/live ratio <= 1.10.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import gzip
import importlib.metadata
import logging
import multiprocessing
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import IO, Any, cast

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._shared_internal import BatchProcessor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer

import hiveloop
from hiveloop import Agent, Task
from hiveloop.testing import capture

API_KEY = "hb_test_bench"
MODEL = "claude-sonnet-4-20250514"
LLM_METADATA = {"turn_number": 1, "stop_reason": "end_turn"}
EVENT_PAYLOAD = {"kind": "context_compaction", "data": {"tokens_before": 180_000, "tokens_after": 45_000}}
PER_SPAN_TARGET = 2.0  # at most 2x a bare span per span emitted
LOOP_TARGET = 1.10  # unreachable endpoint at most 10% slower than a live one
LOOP_SPANS_PER_ITERATION = 6  # task + task_started, chat, action + action_started, plan_step
LOOP_FLUSH_INTERVAL = 0.2  # seconds: exports (or export attempts) happen during the loop
LIVE_RESET_TIMEOUT = 30.0  # the live flush must finish before the next run starts
UNREACHABLE_RESET_TIMEOUT = 1.0  # the unreachable flush never finishes: do not wait for it


@dataclass(frozen=True)
class Settings:
    op_iterations: int
    op_rounds: int
    loop_iterations: int
    loop_pairs: int


FULL = Settings(op_iterations=20_000, op_rounds=5, loop_iterations=10_000, loop_pairs=5)
QUICK = Settings(op_iterations=2_000, op_rounds=3, loop_iterations=1_000, loop_pairs=2)


# ---- A. per-operation cost -----------------------------------------------------------------------


class NoopExporter(SpanExporter):
    """Accepts every batch at once, and counts the spans it was given."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


@dataclass
class Pipeline:
    """A BatchSpanProcessor in front of a NoopExporter, never full within one round."""

    exporter: NoopExporter
    processor: BatchSpanProcessor

    @classmethod
    def create(cls, max_queue_size: int) -> Pipeline:
        exporter = NoopExporter()
        return cls(exporter, BatchSpanProcessor(exporter, max_queue_size=max_queue_size))

    def drain(self) -> int:
        """Export everything queued; the number of spans exported so far."""
        self.processor.force_flush()
        return self.exporter.exported


@dataclass
class Harness:
    """What the timed loops call: a bare tracer, a HiveLoop agent, and the task they run in."""

    tracer: Tracer
    agent: Agent
    reference_attributes: dict[str, Any]
    task: Task | None = None


@dataclass(frozen=True)
class Operation:
    label: str
    spans: int  # spans one call emits
    context: str  # "in task": timed inside one open task; "agent": outside any task
    run: Callable[[Harness, int], None]  # calls the operation n times
    hiveloop: bool = True  # False: a bare OpenTelemetry span, timed on the baseline pipeline


def bare_span(h: Harness, n: int) -> None:
    tracer = h.tracer
    for _ in range(n):
        tracer.start_span("bare").end()


def bare_span_with_llm_attributes(h: Harness, n: int) -> None:
    tracer, attributes = h.tracer, h.reference_attributes
    for _ in range(n):
        tracer.start_span(f"chat {MODEL}", attributes=attributes).end()


def task_block(h: Harness, n: int) -> None:
    agent = h.agent
    for _ in range(n):
        with agent.task("task-001", project="sales-pipeline", type="lead_qualification"):
            pass


def llm_call(h: Harness, n: int) -> None:
    """The README's Layer 2 call: tokens, cost and duration."""
    task = cast(Task, h.task)
    for _ in range(n):
        task.llm_call("lead_scoring", MODEL, tokens_in=1800, tokens_out=250, cost=0.004, duration_ms=1200)


def llm_call_with_metadata(h: Harness, n: int) -> None:
    """The integration guide's Layer 5 call: the same plus turn, cache and stop-reason metadata."""
    task = cast(Task, h.task)
    for _ in range(n):
        task.llm_call(
            "lead_scoring", MODEL, tokens_in=1800, tokens_out=250, cost=0.004, duration_ms=1200,
            metadata=LLM_METADATA,
        )  # fmt: skip


def track_context(h: Harness, n: int) -> None:
    agent = h.agent
    for _ in range(n):
        with agent.track_context("search_crm"):
            pass


def plan_step(h: Harness, n: int) -> None:
    task = cast(Task, h.task)
    for _ in range(n):
        task.plan_step(1, "completed", "Lead scored 72", turns=2, tokens=3200)


def report_issue(h: Harness, n: int) -> None:
    agent = h.agent
    for _ in range(n):
        agent.report_issue(
            "CRM API returning 403", severity="high", issue_id="crm-auth-failure", category="permissions",
            occurrence_count=8,
        )  # fmt: skip


def custom_event(h: Harness, n: int) -> None:
    task = cast(Task, h.task)
    for _ in range(n):
        task.event("custom", payload=EVENT_PAYLOAD)


BASELINE = Operation("bare OTel span (baseline)", 1, "-", bare_span, hiveloop=False)
REFERENCE = Operation("OTel span + llm_call's attrs", 1, "-", bare_span_with_llm_attributes, hiveloop=False)
OPERATIONS = (
    Operation("with agent.task(...)", 2, "agent", task_block),
    Operation("task.llm_call(...)", 1, "in task", llm_call),
    Operation("task.llm_call(..., metadata=)", 1, "in task", llm_call_with_metadata),
    Operation("with agent.track_context(...)", 2, "in task", track_context),
    Operation("task.plan_step(...)", 1, "in task", plan_step),
    Operation("agent.report_issue(...)", 1, "agent", report_issue),
    Operation('task.event("custom", ...)', 1, "in task", custom_event),
)


@dataclass
class OpResult:
    operation: Operation
    ns_per_op: list[float] = field(default_factory=list)  # one per round
    expected_spans: int = 0
    exported_spans: int = 0

    @property
    def median_us(self) -> float:
        return statistics.median(self.ns_per_op) / 1000

    @property
    def min_us(self) -> float:
        return min(self.ns_per_op) / 1000

    @property
    def dropped(self) -> int:
        return self.expected_spans - self.exported_spans

    def ratio_to(self, baseline: OpResult) -> float:
        """Median over rounds of this round's cost over the baseline's in the same round."""
        rounds = zip(self.ns_per_op, baseline.ns_per_op, strict=True)
        return statistics.median(op / base for op, base in rounds)


def llm_call_attributes() -> dict[str, Any]:
    """The attributes HiveLoop puts on an llm_call span, for the reference row."""
    with capture() as spans:
        agent = spans.init(api_key=API_KEY).agent("bench-agent", heartbeat_interval=0)
        with agent.task("task-001") as task:
            task.llm_call("lead_scoring", MODEL, tokens_in=1800, tokens_out=250, cost=0.004,
                          duration_ms=1200, metadata=LLM_METADATA)  # fmt: skip
    chat = next(span for span in spans.spans if span.name.startswith("chat "))
    return dict(chat.attributes or {})


def init_hiveloop(pipeline: Pipeline) -> Agent:
    """`hiveloop.init()` with its span processor replaced by `pipeline`'s (ids and clock unchanged)."""
    hiveloop.reset()
    client = hiveloop.init(api_key=API_KEY, span_processor=pipeline.processor)
    return client.agent("bench-agent", type="benchmark", heartbeat_interval=0)


@contextmanager
def operation_scope(h: Harness, operation: Operation) -> Iterator[None]:
    """Run inside one open task when the operation needs one."""
    if operation.context != "in task":
        yield
        return
    with h.agent.task("bench-open-task", project="bench") as task:
        h.task = task
        try:
            yield
        finally:
            h.task = None


def time_operation(h: Harness, operation: Operation, pipeline: Pipeline, n: int) -> tuple[int, int]:
    """(elapsed ns, spans exported) for n calls, with an empty queue at the start and the GC off."""
    with operation_scope(h, operation):
        before = pipeline.drain()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            operation.run(h, n)
            elapsed = time.perf_counter_ns() - start
        finally:
            gc.enable()
        return elapsed, pipeline.drain() - before


def measure_operations(settings: Settings) -> list[OpResult]:
    n = settings.op_iterations
    operations = (BASELINE, REFERENCE, *OPERATIONS)
    queue_size = 2 * n * max(op.spans for op in operations)
    bare_pipeline, hiveloop_pipeline = Pipeline.create(queue_size), Pipeline.create(queue_size)
    reference_attributes = llm_call_attributes()  # before init: capture() resets HiveLoop
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(bare_pipeline.processor)
    harness = Harness(provider.get_tracer("bench"), init_hiveloop(hiveloop_pipeline), reference_attributes)
    results = [OpResult(op) for op in operations]
    try:
        for operation in operations:  # warm-up, not reported
            pipeline = hiveloop_pipeline if operation.hiveloop else bare_pipeline
            time_operation(harness, operation, pipeline, min(n, 1000))
        for _ in range(settings.op_rounds):
            for result in results:
                operation = result.operation
                pipeline = hiveloop_pipeline if operation.hiveloop else bare_pipeline
                elapsed, exported = time_operation(harness, operation, pipeline, n)
                result.ns_per_op.append(elapsed / n)
                result.expected_spans += operation.spans * n
                result.exported_spans += exported
    finally:
        hiveloop.reset()
        provider.shutdown()
    return results


def print_operations(results: list[OpResult], settings: Settings) -> None:
    baseline = results[0]
    print(f"A. Per-operation cost ({settings.op_iterations:,} calls per round, {settings.op_rounds} rounds,")
    print("   median round; GC disabled while timing; BatchSpanProcessor -> no-op exporter for both)")
    print()
    header = (
        f"{'operation':<31} {'context':<8} {'spans':>5} {'µs/op':>8} {'min':>8} {'x bare':>7} "
        f"{'x bare/span':>11} {'target':>8} {'dropped':>7}  result"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        operation = result.operation
        ratio = result.ratio_to(baseline)
        per_span = ratio / operation.spans
        if operation is BASELINE:
            target, verdict = "-", "baseline"
        elif operation is REFERENCE:
            target, verdict = "-", "reference"
        else:
            limit = PER_SPAN_TARGET * operation.spans
            target = f"<={limit:.1f}x"
            verdict = "PASS" if per_span <= PER_SPAN_TARGET else "FAIL"
        print(
            f"{operation.label:<31} {operation.context:<8} {operation.spans:>5} {result.median_us:>8.2f} "
            f"{result.min_us:>8.2f} {ratio:>6.2f}x {per_span:>10.2f}x {target:>8} {result.dropped:>7}  "
            f"{verdict}"
        )
    exported = sum(r.exported_spans for r in results)
    expected = sum(r.expected_spans for r in results)
    print()
    print(f"   exporter received {exported:,} of {expected:,} spans timed ({expected - exported:,} dropped);")
    print("   'x bare': median over rounds of µs/op over the baseline's µs/op in the same round;")
    print("   'x bare/span' = 'x bare' / spans; target: <= 2.00x per span emitted.")
    print("   The reference row is a bare span given the attributes of an llm_call span: the part of")
    print("   llm_call's cost that is OpenTelemetry's own span and attribute handling.")


# ---- B. unreachable endpoint versus live ---------------------------------------------------------


class OtlpReceiver(ThreadingHTTPServer):
    """A minimal OTLP/HTTP trace receiver on 127.0.0.1 that counts requests and spans."""

    daemon_threads = True

    def __init__(self, requests: Synchronized[int], spans: Synchronized[int]) -> None:
        super().__init__(("127.0.0.1", 0), OtlpHandler)
        self.requests = requests
        self.spans = spans


class OtlpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
        server = cast(OtlpReceiver, self.server)
        with server.requests.get_lock():
            server.requests.value += 1
        with server.spans.get_lock():
            server.spans.value += count
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_otlp(port_out: Connection, requests: Synchronized[int], spans: Synchronized[int]) -> None:
    """The receiver process: report the port, then serve until terminated."""
    server = OtlpReceiver(requests, spans)
    port_out.send(server.server_address[1])
    server.serve_forever()


@dataclass
class Receiver:
    port: int
    requests: Synchronized[int]
    spans: Synchronized[int]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def counts(self) -> tuple[int, int]:
        return self.requests.value, self.spans.value


@contextmanager
def live_receiver() -> Iterator[Receiver]:
    """Run an OtlpReceiver in a child process for the duration of the block."""
    mp = multiprocessing.get_context("spawn")
    port_in, port_out = mp.Pipe(duplex=False)
    requests, spans = mp.Value("q", 0), mp.Value("q", 0)
    process = mp.Process(target=serve_otlp, args=(port_out, requests, spans), daemon=True)
    process.start()
    try:
        if not port_in.poll(60):
            raise RuntimeError("the OTLP receiver process did not start")
        yield Receiver(port_in.recv(), requests, spans)
    finally:
        process.terminate()
        process.join()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DropCounter(logging.Filter):
    """Counts the batch processor's "Queue full" warnings, one per dropped span.

    It runs ahead of the SDK's own DuplicateFilter (which lets one identical warning through per
    20 s), so it sees every warning, and passes every record on; it costs well under 1 µs a drop.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Queue full"):
            self.dropped += 1
        return True


@contextmanager
def counted_drops() -> Iterator[DropCounter]:
    logger = logging.getLogger(BatchProcessor.__module__)
    counter = DropCounter()
    logger.filters.insert(0, counter)
    try:
        yield counter
    finally:
        logger.removeFilter(counter)


class StderrCapture:
    """Reads what was written to the captured stderr, run by run."""

    def __init__(self, reader: IO[str]) -> None:
        self._reader = reader

    def take(self) -> Counter[str]:
        """The lines written since the last call, grouped with numbers (but ports) blanked out."""
        sys.stderr.flush()
        lines = self._reader.read().splitlines()
        return Counter(re.sub(r"(?<!port=)\b\d+(\.\d+)*", "N", line)[:100] for line in lines if line.strip())


@contextmanager
def captured_stderr() -> Iterator[StderrCapture]:
    """Send sys.stderr, where Python's last-resort log handler writes, to a temporary file.

    With no logging configured, the warnings of the OpenTelemetry SDK and of HiveLoop go to stderr:
    a real cost the loop keeps (the file is written line by line, like a terminal), but shown as
    counts instead of flooding the output. The file is opened for appending, so threads still
    retrying exports of an earlier run never write over unread lines.
    """
    original = sys.stderr
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "stderr.log")
        with open(path, "a", buffering=1, encoding="utf-8") as writer, open(path, encoding="utf-8") as reader:
            sys.stderr = writer
            try:
                yield StderrCapture(reader)
            finally:
                sys.stderr = original


@dataclass(frozen=True)
class LoopRun:
    variant: str  # "live" or "unreachable"
    seconds: float
    iterations: int
    dropped: int  # spans the batch processor dropped because its queue was full
    received: int | None  # spans the live receiver got, after the flush in hiveloop.reset()
    requests: int | None
    log_lines: Counter[str]

    @property
    def emitted(self) -> int:
        return self.iterations * LOOP_SPANS_PER_ITERATION + 1  # + agent_registered

    @property
    def lost(self) -> int | None:
        """Live spans the receiver never got."""
        return None if self.received is None else self.emitted - self.received


@dataclass
class LoopRig:
    """What every loop run shares: the endpoints, the drop counter and the captured stderr."""

    receiver: Receiver
    unreachable_port: int
    drops: DropCounter
    stderr: StderrCapture


def instrumented_loop(agent: Agent, iterations: int) -> None:
    for i in range(iterations):
        with agent.task(f"task-{i}", project="sales-pipeline") as task:
            task.llm_call("lead_scoring", MODEL, tokens_in=1800, tokens_out=250, cost=0.004, duration_ms=1200)
            with agent.track_context("search_crm"):
                pass
            task.plan_step(0, "completed", "CRM data retrieved")


def run_loop(rig: LoopRig, variant: str, iterations: int) -> LoopRun:
    """One timed loop with the pipeline `hiveloop.init()` builds, then `hiveloop.reset()`."""
    live = variant == "live"
    url = rig.receiver.url if live else f"http://127.0.0.1:{rig.unreachable_port}"
    requests_before, spans_before = rig.receiver.counts()
    dropped_before = rig.drops.dropped
    client = hiveloop.init(api_key=API_KEY, endpoint=url, flush_interval=LOOP_FLUSH_INTERVAL)
    agent = client.agent("loop-agent", type="benchmark", heartbeat_interval=0)
    start = time.perf_counter_ns()
    instrumented_loop(agent, iterations)
    seconds = (time.perf_counter_ns() - start) / 1e9
    hiveloop.reset(timeout=LIVE_RESET_TIMEOUT if live else UNREACHABLE_RESET_TIMEOUT)
    requests_after, spans_after = rig.receiver.counts()
    return LoopRun(
        variant, seconds, iterations, rig.drops.dropped - dropped_before,
        received=spans_after - spans_before if live else None,
        requests=requests_after - requests_before if live else None,
        log_lines=rig.stderr.take(),
    )  # fmt: skip


@contextmanager
def loop_rig() -> Iterator[LoopRig]:
    hiveloop.reset()
    with live_receiver() as receiver, counted_drops() as drops, captured_stderr() as stderr:
        yield LoopRig(receiver, closed_port(), drops, stderr)


def measure_loops(rig: LoopRig, settings: Settings) -> list[LoopRun]:
    run_loop(rig, "live", min(settings.loop_iterations, 1000))  # warm-up, not reported
    runs: list[LoopRun] = []
    for _ in range(settings.loop_pairs):
        # Unreachable first, so the last run is live: what the export threads an unreachable run
        # leaves behind still log lands in the next run's stderr, not after the report.
        runs.append(run_loop(rig, "unreachable", settings.loop_iterations))
        runs.append(run_loop(rig, "live", settings.loop_iterations))
    return runs


def print_loops(runs: list[LoopRun], rig: LoopRig, settings: Settings) -> None:
    print(f"B. Instrumented loop: {settings.loop_iterations:,} tasks, each with llm_call + track_context +")
    print(f"   plan_step ({LOOP_SPANS_PER_ITERATION} spans); HiveLoop's own OTLP/HTTP exporter and batch")
    print(f"   processor, flush_interval={LOOP_FLUSH_INTERVAL}s, default batch and queue sizes; GC on;")
    print(f"   live receiver: port {rig.receiver.port} (child process); closed port: {rig.unreachable_port}")
    print()
    header = (
        f"{'run':>3} {'endpoint':<12} {'wall s':>7} {'µs/iter':>8} {'emitted':>8} {'dropped':>8} "
        f"{'received':>8} {'requests':>8} {'lost':>7}"
    )
    print(header)
    print("-" * len(header))
    for number, run in enumerate(runs, 1):
        received, requests, lost = (
            "-" if value is None else f"{value:,}" for value in (run.received, run.requests, run.lost)
        )
        print(
            f"{number:>3} {run.variant:<12} {run.seconds:>7.3f} {run.seconds * 1e6 / run.iterations:>8.1f} "
            f"{run.emitted:>8,} {run.dropped:>8,} {received:>8} {requests:>8} {lost:>7}"
        )
    live = [run.seconds for run in runs if run.variant == "live"]
    unreachable = [run.seconds for run in runs if run.variant == "unreachable"]
    pair_ratios = [u / v for u, v in zip(unreachable, live, strict=True)]
    ratio = statistics.median(pair_ratios)
    verdict = "PASS" if ratio <= LOOP_TARGET else "FAIL"
    print()
    live_s, unreachable_s = statistics.median(live), statistics.median(unreachable)
    print(f"   median wall time: live {live_s:.3f}s, unreachable {unreachable_s:.3f}s")
    print(f"   unreachable/live per pair: {', '.join(f'{r:.3f}' for r in pair_ratios)}")
    print(f"   median ratio unreachable/live = {ratio:.3f}  (target <= {LOOP_TARGET:.2f})  {verdict}")
    print("   dropped: the batch processor's 'Queue full' warnings, one per span dropped (the SDK checks the")
    print("   queue before appending, racing its export thread, so a few may not have been dropped);")
    print("   received/requests: what the live receiver got, flush in hiveloop.reset() included;")
    print("   lost: emitted - received.")
    for variant in ("live", "unreachable"):
        lines = sum((run.log_lines for run in runs if run.variant == variant), Counter[str]())
        print()
        print(f"   stderr during the {variant} runs (numbers as N; earlier runs' exports may still retry):")
        for line, count in lines.most_common(6) or [("(none)", 0)]:
            print(f"   {count:>6,} x {line}")


# ---- report --------------------------------------------------------------------------------------


def print_header(quick: bool) -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print("HiveLoop SDK overhead benchmark" + (" (--quick)" if quick else ""))
    print(f"date:     {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine:  {platform.platform()}, os.cpu_count()={os.cpu_count()}, load average {load}")
    print(
        f"versions: {platform.python_implementation()} {platform.python_version()}, opentelemetry-sdk "
        f"{importlib.metadata.version('opentelemetry-sdk')}, hiveloop {hiveloop.__version__}"
    )
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few iterations: a smoke run")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    print_header(args.quick)
    print_operations(measure_operations(settings), settings)
    print()
    with loop_rig() as rig:
        runs = measure_loops(rig, settings)
        print_loops(runs, rig, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
