"""How fast the collector ingests OTLP into chDB, without loss, in bounded memory.

Run `python bench/ingest.py` (1,000,000 spans per protocol, a few minutes) or
`python bench/ingest.py --spans 100000` for a smoke run. It prints its numbers and exits 0; PASS /
FAIL are in the table.

* The collector is the real one, `hiveboard collector`, in its own process on a fresh data directory,
  so its peak RSS (VmHWM) is measured alone.
* The requests are HiveLoop's own: agents run tasks with plans, tracked actions, LLM calls and
  events through the real SDK (real clock, random ids), and the exported spans are encoded once into
  OTLP requests of 512 spans (the OTel batch processor's default batch). Senders replay these bytes,
  so the figure measures the collector, not the client.
* Phase by protocol: `--senders` threads send concurrently over OTLP/gRPC, then over OTLP/HTTP
  (protobuf), each until `--spans` spans were acknowledged. A request counts when the collector
  answered OK (which it does only once the rows are written); a refused one (503 / UNAVAILABLE) is
  retried after its Retry-After like an exporter would.
* Senders: 32 by default, so 16,384 spans in flight. A request is answered once its rows are
  written, so throughput is at most the spans in flight over a request's latency (Little's law);
  a request waits for the insert under way, then for its own (100-150 ms each at these sizes), so
  16 senders (8,192 spans in flight) cap the figure near 8,192 / 0.25 s, about 33,000 spans/s on
  2 cores, whatever the collector's capacity. A fleet sending 50,000 spans/s is hundreds of
  exporters; `--senders 16` shows that latency-bound figure.
* Zero loss: after each phase, the rows in `otel_traces` must equal the spans acknowledged.
* CPU us/span: the collector's CPU time (all its threads) per acknowledged span, the figure that
  varies least between runs on a shared VM; compare versions on it as well as on spans/s.
* Baseline, same run: the same rows written straight to chDB with the collector's own insert (no
  network), in this process, the ceiling the receivers are compared with, and its CPU per span in
  two halves: the span checks in Python (`parse_export` and `trace_export`, this thread's CPU) and the
  INSERT (the process's CPU while it runs: chDB's decoding, `otel_traces`, the materialized views
  and the merges running meanwhile). A collector can use no less CPU per span than their sum.

Targets: >= 50,000 spans/s sustained, zero loss, collector RSS < 1 GiB.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import hiveloop
from hiveboard.collector.ingest.trace_rows import TRACES_INPUT, trace_export
from hiveboard.collector.receivers.otlp_decoding import parse_export
from hiveboard.collector.writer.batch_writer import WriterConfig
from hiveboard.storage import ChDBStorage
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveloop.testing import capture

KEY = "hb_live_bench00000000000000000000000000000"
SPANS_PER_REQUEST = 512
TARGET_SPANS_PER_S = 50_000
TARGET_RSS_BYTES = 1024**3
TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


# ---- the workload ----------------------------------------------------------------------------------


def hiveloop_requests(distinct_spans: int) -> list[bytes]:
    """OTLP requests of HiveLoop-shaped spans, `SPANS_PER_REQUEST` each, encoded once."""
    with capture(deterministic=False) as captured:
        hb = captured.init(api_key=KEY, environment="bench")
        agents = [hb.agent(f"bench-agent-{n}", type="bench", heartbeat_interval=0) for n in range(10)]
        task_number = 0
        while len(captured.spans) < distinct_spans:
            agent = agents[task_number % len(agents)]
            task_number += 1
            with agent.task(f"task-{task_number}", project="bench", type="qualify") as task:
                task.plan("Qualify the lead", ["fetch", "score", "route"])
                for step in range(3):
                    task.plan_step(step, "started", f"step {step}")
                    with agent.track_context("call_tool") as action:
                        action.set_payload({"step": step, "lead": f"lead-{task_number}"})
                        task.llm_call(
                            "reason",
                            "claude-sonnet-4-20250514",
                            tokens_in=1800,
                            tokens_out=220,
                            prompt_preview="Score this lead given the CRM record " * 4,
                            response_preview="Score 72: mid-market, active trial " * 4,
                            metadata={"turn_number": step},
                        )
                    task.plan_step(step, "completed", f"step {step}")
                task.event("lead_scored", payload={"score": 72, "tier": "mid"})
        hiveloop.shutdown()
        spans = list(captured.spans)
    return [
        encode_spans(spans[start : start + SPANS_PER_REQUEST]).SerializeToString()
        for start in range(0, len(spans) - SPANS_PER_REQUEST + 1, SPANS_PER_REQUEST)
    ]


# ---- senders ----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the senders of one phase did; shared by them under `lock`."""

    target_spans: int
    acknowledged_spans: int = 0
    retried: int = 0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self) -> bool:
        """Whether another request should go out (stops once the target is covered)."""
        with self.lock:
            if self.acknowledged_spans + self._in_flight >= self.target_spans:
                return False
            self._in_flight += SPANS_PER_REQUEST
            return True

    def done(self, latency_s: float | None, spans: int) -> None:
        with self.lock:
            self._in_flight -= SPANS_PER_REQUEST
            if latency_s is not None:
                self.acknowledged_spans += spans
                self.latencies_s.append(latency_s)

    _in_flight: int = 0


def send_grpc(target: str, requests: list[bytes], span_counts: list[int], tally: Tally, offset: int) -> None:
    with grpc.insecure_channel(
        target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        export = channel.unary_unary(TRACE_EXPORT)  # bytes in, bytes out
        metadata = (("authorization", f"Bearer {KEY}"),)
        index = offset
        while tally.claim():
            body, spans = requests[index % len(requests)], span_counts[index % len(requests)]
            index += 1
            while True:
                started = time.perf_counter()
                try:
                    export(body, metadata=metadata, timeout=60)
                except grpc.RpcError as error:
                    if error.code() == grpc.StatusCode.UNAVAILABLE:
                        tally.retried += 1
                        time.sleep(0.2)
                        continue
                    tally.errors.append(f"gRPC {error.code().name}: {error.details()}")
                    tally.done(None, 0)
                    break
                tally.done(time.perf_counter() - started, spans)
                break


def send_http(url: str, requests: list[bytes], span_counts: list[int], tally: Tally, offset: int) -> None:
    # The standard library's HTTP client: a keep-alive connection per sender, and much less Python
    # per request than httpx, whose cost on the same two cores would be counted against the collector.
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-protobuf"}
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        index = offset
        while tally.claim():
            body, spans = requests[index % len(requests)], span_counts[index % len(requests)]
            index += 1
            while True:
                started = time.perf_counter()
                connection.request("POST", "/v1/traces", body, headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status == 503:
                    tally.retried += 1
                    time.sleep(float(response.getheader("retry-after", "1")) / 5)
                    continue
                if response.status != 200:
                    tally.errors.append(f"HTTP {response.status}: {answer[:200]!r}")
                    tally.done(None, 0)
                    break
                tally.done(time.perf_counter() - started, spans)
                break
    finally:
        connection.close()


@dataclass
class PhaseResult:
    name: str
    spans: int
    seconds: float
    latencies_s: list[float]
    retried: int
    errors: list[str]
    stored_rows: int = 0
    peak_rss_bytes: int = 0
    cpu_seconds: float = 0.0
    """The collector's CPU time (all its threads, user and system) during the phase."""

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds


def run_phase(
    name, sender, address_of, requests, span_counts, target_spans, senders, data_dir: Path
) -> PhaseResult:
    """One protocol against a fresh collector on `data_dir`; rows are counted after it stopped (it
    owns chDB)."""
    collector = CollectorProcess(data_dir)
    tally = Tally(target_spans)
    try:
        address = address_of(collector)
        threads = [
            threading.Thread(target=sender, args=(address, requests, span_counts, tally, n * 7))
            for n in range(senders)
        ]
        cpu_before = collector.cpu_seconds()
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        cpu_seconds = collector.cpu_seconds() - cpu_before
        peak_rss = collector.peak_rss_bytes()
    finally:
        collector.stop()
    with ChDBStorage(data_dir) as storage:
        stored = storage.query("SELECT count() FROM otel_traces").rows[0][0]
    result = PhaseResult(
        name, tally.acknowledged_spans, seconds, tally.latencies_s, tally.retried, tally.errors
    )
    result.stored_rows, result.peak_rss_bytes, result.cpu_seconds = stored, peak_rss, cpu_seconds
    return result


# ---- the collector process --------------------------------------------------------------------------


class CollectorProcess:
    """`hiveboard collector` on `data_dir`, on free ports, until `stop()`."""

    def __init__(self, data_dir: Path) -> None:
        self.grpc_port, self.http_port = free_port(), free_port()
        env = {**os.environ, "HIVEBOARD_DEV_KEY": KEY}
        command = [
            *hiveboard_command(),
            "collector",
            f"--data-dir={data_dir}",
            f"--grpc-port={self.grpc_port}",
            f"--http-port={self.http_port}",
            "--host=127.0.0.1",
        ]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        line = self.process.stdout.readline()
        if "OTLP/gRPC" not in line:
            raise RuntimeError(f"the collector did not start: {line}{self.process.stdout.read()}")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep the pipe drained

    def cpu_seconds(self) -> float:
        """CPU time used so far, user and system (`/proc/<pid>/stat` fields 14 and 15)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


def hiveboard_command() -> list[str]:
    executable = shutil.which("hiveboard")
    return [executable] if executable else [sys.executable, "-m", "hiveboard.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Baseline:
    """The in-process ceiling: spans/s, and the CPU per span of its two halves."""

    spans_per_s: float
    checks_us_per_span: float
    """The request parsed as the receivers parse it (`parse_export`), then `trace_export` (Python):
    each span checked, the structured values of the spans holding them rendered, the request wrapped."""
    insert_us_per_span: float
    """The INSERT (chDB, every thread: decoding, `otel_traces`, its materialized views, and the merges
    running meanwhile)."""


def baseline(requests: list[bytes], target_spans: int, data_dir: Path) -> Baseline:
    """The collector's own span checks + insert, in this process, in batches of the writer's
    `max_batch_rows`: spans/s, and the CPU of each half."""
    with ChDBStorage(data_dir) as storage:
        migrate(storage, SchemaConfig())
        written = 0
        checks_s = insert_s = 0.0
        started = time.perf_counter()
        index = 0
        batch_rows = WriterConfig().max_batch_rows
        while written < target_spans:
            envelopes, spans = [], 0
            checks_started = time.thread_time()
            while spans < batch_rows:
                request = parse_export(requests[index % len(requests)], ExportTraceServiceRequest)
                export = trace_export(request, "default", "live")
                envelopes.append(export.envelope)
                spans += export.spans
                index += 1
            checks_s += time.thread_time() - checks_started
            insert_started = time.process_time()
            TRACES_INPUT.insert(storage, envelopes)
            insert_s += time.process_time() - insert_started
            written += spans
        seconds = time.perf_counter() - started
        return Baseline(written / seconds, checks_s / written * 1e6, insert_s / written * 1e6)


def span_count(body: bytes) -> int:
    request = ExportTraceServiceRequest.FromString(body)
    return sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans per protocol (default 1,000,000)")
    parser.add_argument("--senders", type=int, default=32, help="concurrent senders (default 32)")
    parser.add_argument("--distinct", type=int, default=102_400, help="distinct spans generated and replayed")
    parser.add_argument("--no-baseline", action="store_true", help="skip the in-process baseline")
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    requests = hiveloop_requests(args.distinct)
    span_counts = [span_count(body) for body in requests]
    size = sum(len(body) for body in requests) / sum(span_counts)
    print(
        f"workload: {len(requests)} distinct requests of {SPANS_PER_REQUEST} HiveLoop spans "
        f"({size:.0f} bytes/span), built in {time.perf_counter() - started:.1f} s"
    )

    phases = [
        ("OTLP/gRPC", send_grpc, lambda collector: f"127.0.0.1:{collector.grpc_port}"),
        ("OTLP/HTTP", send_http, lambda collector: f"http://127.0.0.1:{collector.http_port}"),
    ]
    results = []
    # Every data directory is removed at the end, not between phases: deleting a phase's ~100k files
    # makes creating files slow for minutes on an ext4 without journal (this machine's /tmp), which
    # skips recently deleted inodes one by one; the next phase would measure that.
    with tempfile.TemporaryDirectory(prefix="hiveboard-bench-") as scratch:
        for name, sender, address_of in phases:
            data_dir = Path(scratch) / name.replace("/", "-")
            result = run_phase(
                name, sender, address_of, requests, span_counts, args.spans, args.senders, data_dir
            )
            results.append(result)
            print(f"  {name}: {result.spans:,} spans acknowledged in {result.seconds:.1f} s", flush=True)
        base = None
        if not args.no_baseline:
            base = baseline(requests, min(args.spans, 500_000), Path(scratch) / "baseline")

    print()
    print(
        f"{'phase':<10} {'acked spans':>12} {'rows':>10} {'spans/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'RSS MiB':>8} {'CPU us/span':>11} {'retried':>8} {'errors':>7}"
    )
    for result in results:
        p50_ms, p99_ms = (percentile(result.latencies_s, fraction) * 1e3 for fraction in (0.5, 0.99))
        print(
            f"{result.name:<10} {result.spans:>12,} {result.stored_rows:>10,} {result.spans_per_s:>9,.0f} "
            f"{p50_ms:>7.1f} {p99_ms:>7.1f} "
            f"{result.peak_rss_bytes / 1024**2:>8.0f} {result.cpu_seconds / result.spans * 1e6:>11.1f} "
            f"{result.retried:>8} {len(result.errors):>7}"
        )
    if base is not None:
        cpu = base.checks_us_per_span + base.insert_us_per_span
        print(
            f"{'baseline':<10} {'':>23} {base.spans_per_s:>9,.0f} {'':>24} {cpu:>11.1f}"
            "   (checks + insert in-process, no receiver)"
        )
        print(
            f"baseline CPU per span: span checks (Python) {base.checks_us_per_span:.1f} us, insert (chDB: "
            f"decoding, otel_traces, its views, merges meanwhile) {base.insert_us_per_span:.1f} us"
        )
    print()
    slowest = min(result.spans_per_s for result in results)
    peak_rss = max(result.peak_rss_bytes for result in results)
    lossless = all(result.stored_rows == result.spans for result in results)
    checks = [
        (
            f"throughput >= {TARGET_SPANS_PER_S:,} spans/s (slowest: {slowest:,.0f})",
            slowest >= TARGET_SPANS_PER_S,
        ),
        ("zero loss: rows stored == spans acknowledged, per protocol", lossless),
        (f"collector peak RSS {peak_rss / 1024**2:.0f} MiB < 1024 MiB", peak_rss < TARGET_RSS_BYTES),
    ]
    for text, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    for result in results:
        for error in result.errors[:5]:
            print(f"error ({result.name}): {error}")


if __name__ == "__main__":
    main()
