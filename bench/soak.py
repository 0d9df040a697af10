"""Whether `hiveboard serve` holds a steady OTLP load for half an hour while the dashboard is read.

Run `python bench/soak.py` (30,000 spans/s for 30 minutes) or `python bench/soak.py --rate 3000
--minutes 1` for a smoke run. It prints a row per minute as it goes, then a summary with PASS / FAIL,
and exits 0; `--json PATH` also writes the rows and the summary.

* The server is the real one, `hiveboard serve` started as the README does (its console script, the
  seeds' dev key in $HIVEBOARD_DEV_KEY), in its own process on free ports and a fresh data directory.
* The load: `--senders` threads (32) send HiveLoop's OTLP requests of 512 spans (`bench/ingest.py`'s,
  encoded once) over OTLP/HTTP protobuf, or OTLP/gRPC with `--protocol grpc`, on one schedule shared
  by all: a request every 512 / `--rate` s. A sender sends its slot when it is due, or at once when
  late. The schedule never runs more than 1 s behind the clock (the slots in between are dropped, not
  sent in a burst), so a server that cannot keep up shows a lower rate, not a catch-up storm. 32
  senders hold 16,384 spans in flight at most: the rate holds only while a request is answered within
  32 x 512 / rate s (546 ms at 30,000 spans/s), Little's law.
* Distinct rows: each replay of the request list (a generation) XORs its number into the last 4
  bytes of every trace and span id, and moves every start and end time forward by the generation's
  time since the start, in the encoded bytes (integer arithmetic on the whole request: 0.5 ms a
  request, 3% of a core at 30,000 spans/s). Identical bytes would not change the count of
  `otel_traces` (a MergeTree keeps duplicates), but `hb_tasks` (a ReplacingMergeTree by task span id)
  would collapse to the few thousand tasks generated, and every span would keep the time it was
  generated at: the views would read a fleet that stopped growing. The list ends in the middle of a
  task, so each generation leaves one task open for good, as an agent that crashed would.
* A request is acknowledged when the server answered OK, less the spans its partial success
  rejected. A 503 (UNAVAILABLE over gRPC) is retried after its Retry-After (RetryInfo) like an
  exporter; those refusals are counted per minute. Any other answer is an error, not retried. 32
  senders keep at most 16,384 spans waiting, under the writer's `max_pending_rows` (131,072) beyond
  which it refuses: at the default settings a 503 means that the storage failed.
* A reader polls the views' main requests every `--poll-seconds` (5), one after another, through the
  query API with the same key: The Hive (`/v1/agents?sort=attention`, `/v1/metrics`), Tasks
  (`/v1/tasks`), Activity (`/v1/events`), Cost (`/v1/cost`), Pipeline (`/v1/pipeline`).
* Every 10 s: the server's RSS (VmRSS) and the active parts of each table. No endpoint reports parts
  and chDB's files belong to the server's process, so they are counted on disk, in
  `<data-dir>/clickhouse/data/hiveboard/<table>/`. A merge leaves the parts it replaced on disk for
  `old_parts_lifetime` (8 minutes), so the part directories over-estimate; those another part covers
  (same partition, a block range containing theirs, as a merge or mutation leaves them) are left
  out, as ClickHouse does when it loads a table: what remains are the active parts.
* Per minute, by when the answers came: spans/s acknowledged, 503s, errors (ingest and views),
  latency p50 / p99 of the requests answered OK, the most a request left late, view p95 (all views)
  and the slowest view's p95, RSS, the server's CPU time (all its threads: receivers, inserts,
  merges, queries) per span acknowledged, and the most active parts of a table.
* At the end the senders stop and their requests finish; the server is stopped (it owns chDB's
  files) and `otel_traces` is counted from this process, against the spans acknowledged.

Targets: acknowledged = stored, rate >= 95% of `--rate`, peak RSS (VmHWM) < 1 GiB, 503s only in brief
bursts, active parts bounded. The views' p95 is compared with bench/query.py's 150 ms, as information.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import query as query_bench  # noqa: E402  (bench/query.py: the machine's description)
from ingest import (  # noqa: E402  (bench/ingest.py: the workload)
    SPANS_PER_REQUEST,
    TARGET_RSS_BYTES,
    TRACE_EXPORT,
    hiveloop_requests,
    percentile,
)

from hiveboard.cli import DEFAULT_DATABASE  # noqa: E402
from hiveboard.collector.receivers.otlp_grpc import RETRY_INFO_KEY  # noqa: E402
from hiveboard.storage import ChDBStorage  # noqa: E402
from tests.serve_process import ServeProcess, start_serve, stop_serve  # noqa: E402

TARGET_RATE_FRACTION = 0.95
VIEW_TARGET_MS = 150.0  # bench/query.py's target per endpoint
VIEW_PATHS = (
    "/v1/agents?sort=attention",
    "/v1/metrics",
    "/v1/tasks",
    "/v1/events",
    "/v1/cost",
    "/v1/pipeline",
)
MAX_BEHIND_S = 1.0
SAMPLE_INTERVAL_S = 10.0
REQUEST_TIMEOUT_S = 60.0
# uvicorn closes a connection idle for 5 s (`timeout_keep_alive`): one idle for longer than this is
# reopened before it is used, rather than raced against the server closing it.
KEEP_ALIVE_S = 4.0
# An answer that came just before a minute's end is recorded a moment later, by its sender.
RECORDING_GRACE_S = 0.2
MAX_ERRORS_KEPT = 20

OK, REFUSED, ERROR = "ok", "refused", "error"


# ---- the workload: HiveLoop's requests, distinct at every replay -------------------------------------

# Where a span's ids and times sit in an encoded request: a field's tag (and length), then the value.
# The lookaheads find overlapping candidates; only those holding an actual id or time of the request's
# spans are kept, so an attribute that happens to look like such a field is left alone.
_ID_FIELDS = re.compile(rb"(?=(?:\x0a\x10(.{16})|[\x12\x22]\x08(.{8})))", re.DOTALL)  # trace, span, parent
_TIME_FIELDS = re.compile(rb"(?=[\x39\x41](.{8}))", re.DOTALL)  # start and end time, fixed64


@dataclass(frozen=True)
class Replayable:
    """An encoded request as one little-endian integer, with masks holding a 1 in the lowest byte of
    each slot to rewrite: the last 4 bytes of every id, every 8-byte time."""

    encoded: int
    length: int
    spans: int
    id_slots: int
    time_slots: int

    def replay(self, generation: int, shift_ns: int) -> bytes:
        # Each slot is a field of its own, and neither a 32-bit XOR nor a time moved by minutes
        # carries out of it: a multiple of a mask rewrites every slot at once.
        moved = self.encoded + shift_ns * self.time_slots
        return (moved ^ (generation * self.id_slots)).to_bytes(self.length, "little")


def replayable(body: bytes) -> Replayable:
    request = ExportTraceServiceRequest.FromString(body)
    spans = [
        span for resource in request.resource_spans for scope in resource.scope_spans for span in scope.spans
    ]
    ids = {span.trace_id for span in spans} | {span.span_id for span in spans}
    ids |= {span.parent_span_id for span in spans if span.parent_span_id}
    times = {span.start_time_unix_nano.to_bytes(8, "little") for span in spans}
    times |= {span.end_time_unix_nano.to_bytes(8, "little") for span in spans}
    id_ends = [
        found.end(1) if found[1] else found.end(2)
        for found in _ID_FIELDS.finditer(body)
        if (found[1] or found[2]) in ids
    ]
    time_starts = [found.start(1) for found in _TIME_FIELDS.finditer(body) if found[1] in times]
    expected_ids = sum(2 + bool(span.parent_span_id) for span in spans)
    expected_times = sum(bool(span.start_time_unix_nano) + bool(span.end_time_unix_nano) for span in spans)
    if len(id_ends) != expected_ids or len(time_starts) != expected_times:
        raise RuntimeError(
            f"found {len(id_ends)} ids and {len(time_starts)} times in a request whose spans have "
            f"{expected_ids} and {expected_times}: links, events or an unexpected encoding"
        )
    return Replayable(
        int.from_bytes(body, "little"),
        len(body),
        len(spans),
        _mask(len(body), [end - 4 for end in id_ends]),
        _mask(len(body), time_starts),
    )


def _mask(length: int, positions: list[int]) -> int:
    mask = bytearray(length)
    for position in positions:
        mask[position] = 1
    return int.from_bytes(mask, "little")


@dataclass(frozen=True)
class Workload:
    requests: list[Replayable]
    generated_at_ns: int
    """Wall clock once every span had ended."""

    def body(self, number: int, start_ns: int, interval_s: float) -> tuple[bytes, int]:
        """Request `number` of the schedule and its spans: generation `number // len(requests)`, its
        spans moved as if they had ended when the generation's first request was due."""
        generation, index = divmod(number, len(self.requests))
        due_ns = start_ns + round(generation * len(self.requests) * interval_s * 1e9)
        request = self.requests[index]
        return request.replay(generation, due_ns - self.generated_at_ns), request.spans


def build_workload(distinct_spans: int) -> Workload:
    requests = [replayable(body) for body in hiveloop_requests(distinct_spans)]
    return Workload(requests, time.time_ns())


# ---- what happened, recorded by every thread ---------------------------------------------------------
# Times are seconds since the schedule's start; lists are appended to without a lock (atomic in CPython).


@dataclass(slots=True)
class Attempt:
    at: float  # when the answer came
    latency_s: float
    outcome: str  # OK, REFUSED (503 / UNAVAILABLE, retried) or ERROR
    spans: int  # acknowledged: sent less rejected, 0 unless OK
    late_s: float  # how long after its slot the request left (0 for a retry)


@dataclass(slots=True)
class ViewRead:
    at: float
    path: str
    latency_s: float
    status: int  # 0: no answer


@dataclass(slots=True)
class ServerSample:
    at: float
    rss_bytes: int
    parts: dict[str, int]


@dataclass
class Records:
    attempts: list[Attempt] = field(default_factory=list)
    views: list[ViewRead] = field(default_factory=list)
    samples: list[ServerSample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)


# ---- the schedule and the senders --------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    number: int
    due: float  # time.perf_counter()


class Schedule:
    """Send times `interval_s` apart for `seconds`, shared by every sender."""

    def __init__(self, interval_s: float, seconds: float, stopping: threading.Event) -> None:
        self.interval_s = interval_s
        self.start = time.perf_counter()
        self.start_ns = time.time_ns()
        self._end = self.start + seconds
        self._stopping = stopping
        self._next = Slot(0, self.start)
        self._lock = threading.Lock()

    def claim(self) -> Slot | None:
        """The next slot, None once the schedule is over. When it is more than `MAX_BEHIND_S` behind
        the clock (every sender busy), the slots in between are given up: the senders then send as
        fast as they can for that long at most, instead of until the whole backlog is sent."""
        with self._lock:
            slot = Slot(self._next.number, max(self._next.due, time.perf_counter() - MAX_BEHIND_S))
            if slot.due >= self._end or self._stopping.is_set():
                return None
            self._next = Slot(slot.number + 1, slot.due + self.interval_s)
            return slot

    def since_start(self) -> float:
        return time.perf_counter() - self.start


@dataclass(frozen=True)
class Answer:
    outcome: str
    rejected_spans: int = 0
    retry_after_s: float = 1.0
    error: str = ""


def rejected_spans(response: bytes) -> int:
    return ExportTraceServiceResponse.FromString(response).partial_success.rejected_spans


class KeptAlive:
    """An HTTP/1.1 connection, reopened when it was idle long enough for the server to close it."""

    def __init__(self, url: str) -> None:
        address = urlsplit(url)
        self._connection = http.client.HTTPConnection(
            address.hostname, address.port, timeout=REQUEST_TIMEOUT_S
        )
        self._used = 0.0

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """Status, Retry-After and body; raises OSError or HTTPException when there was no answer."""
        if time.perf_counter() - self._used > KEEP_ALIVE_S:
            self._connection.close()  # the next request opens a new one
        try:
            self._connection.request(method, path, body, headers)
            response = self._connection.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            raise
        self._used = time.perf_counter()
        return response.status, response.getheader("retry-after", "1"), answer

    def close(self) -> None:
        self._connection.close()


class HttpExporter:
    """OTLP/HTTP protobuf, with the standard library's client as in bench/ingest.py (little Python per
    request, whose CPU would be taken from the server's two cores)."""

    def __init__(self, url: str, key: str) -> None:
        self._connection = KeptAlive(url)
        self._headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-protobuf"}

    def export(self, body: bytes) -> Answer:
        try:
            status, retry_after, answer = self._connection.request("POST", "/v1/traces", body, self._headers)
        except (OSError, http.client.HTTPException) as error:
            return Answer(ERROR, error=f"HTTP: no answer: {error!r}")
        if status == 503:
            return Answer(REFUSED, retry_after_s=float(retry_after))
        if status != 200:
            return Answer(ERROR, error=f"HTTP {status}: {answer[:200]!r}")
        return Answer(OK, rejected_spans(answer))

    def close(self) -> None:
        self._connection.close()


class GrpcExporter:
    def __init__(self, target: str, key: str) -> None:
        self._channel = grpc.insecure_channel(
            target, options=[("grpc.max_send_message_length", 64 * 1024**2)]
        )
        self._export = self._channel.unary_unary(TRACE_EXPORT)  # bytes in, bytes out
        self._metadata = (("authorization", f"Bearer {key}"),)

    def export(self, body: bytes) -> Answer:
        try:
            answer = self._export(body, metadata=self._metadata, timeout=REQUEST_TIMEOUT_S)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                return Answer(REFUSED, retry_after_s=_retry_delay_s(error.trailing_metadata() or ()))
            return Answer(ERROR, error=f"gRPC {error.code().name}: {error.details()}")
        return Answer(OK, rejected_spans(answer))

    def close(self) -> None:
        self._channel.close()


def _retry_delay_s(metadata: tuple[tuple[str, bytes], ...]) -> float:
    for key, value in metadata:
        if key == RETRY_INFO_KEY:
            delay = RetryInfo.FromString(value).retry_delay
            return delay.seconds + delay.nanos / 1e9
    return 1.0  # UNAVAILABLE without a delay: the connection failed


def send(
    exporter: HttpExporter | GrpcExporter,
    workload: Workload,
    schedule: Schedule,
    records: Records,
    stopping: threading.Event,
) -> None:
    """Send the slots this sender claims until the schedule is over; a refused request is sent again
    after its Retry-After until it is answered otherwise, or the server is gone."""
    try:
        while (slot := schedule.claim()) is not None:
            body, spans = workload.body(slot.number, schedule.start_ns, schedule.interval_s)
            time.sleep(max(0.0, slot.due - time.perf_counter()))
            late_s = max(0.0, time.perf_counter() - slot.due)
            while True:
                started = time.perf_counter()
                answer = exporter.export(body)
                finished = time.perf_counter()
                acknowledged = spans - answer.rejected_spans if answer.outcome == OK else 0
                records.attempts.append(
                    Attempt(
                        finished - schedule.start, finished - started, answer.outcome, acknowledged, late_s
                    )
                )
                if answer.outcome == ERROR:
                    records.error(answer.error)
                if answer.outcome != REFUSED or stopping.wait(answer.retry_after_s):
                    break
                late_s = 0.0
    finally:
        exporter.close()


# ---- the reader and the monitor ----------------------------------------------------------------------


def read_views(
    api_url: str, key: str, poll_s: float, schedule: Schedule, records: Records, done: threading.Event
) -> None:
    """Every view's request in turn, every `poll_s` (at once when a round took longer)."""
    connection = KeptAlive(api_url)
    headers = {"Authorization": f"Bearer {key}"}
    next_round = time.perf_counter()
    try:
        while not done.is_set():
            for path in VIEW_PATHS:
                started = time.perf_counter()
                try:
                    status, _, _ = connection.request("GET", path, None, headers)
                except (OSError, http.client.HTTPException) as error:
                    status = 0
                    records.error(f"GET {path}: no answer: {error!r}")
                finished = time.perf_counter()
                records.views.append(ViewRead(finished - schedule.start, path, finished - started, status))
            next_round = max(next_round + poll_s, time.perf_counter())
            done.wait(next_round - time.perf_counter())
    finally:
        connection.close()


def monitor(
    server: ServeProcess,
    tables_dir: Path,
    schedule: Schedule,
    records: Records,
    stopping: threading.Event,
    done: threading.Event,
) -> None:
    """Sample the server every `SAMPLE_INTERVAL_S`; stop the run if it exits."""
    while not done.is_set():
        if server.process.poll() is not None:
            stopping.set()
            return
        try:
            rss = proc_status_bytes(server.process.pid, "VmRSS")
            parts = {table.name: active_parts(table) for table in sorted(tables_dir.iterdir())}
        except OSError as error:  # the process exiting, or a table's directory changing under the scan
            records.error(f"sample: {error}")
        else:
            records.samples.append(ServerSample(schedule.since_start(), rss, parts))
        done.wait(SAMPLE_INTERVAL_S)


def proc_status_bytes(pid: int, name: str) -> int:
    """A memory figure of `/proc/<pid>/status` (VmRSS, VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no {name} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread, user and system (`/proc/<pid>/stat` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A part's directory: partition id (no underscore: a date, `all` or a hash), first and last block,
# merge level and, after a mutation, its version. `tmp_*`, `delete_tmp_*`, `detached` do not match.
_PART_NAME = re.compile(r"([^_]+)_(\d+)_(\d+)_(\d+)(?:_(\d+))?")


def active_parts(table_dir: Path) -> int:
    """Part directories of a table that no other part covers (see the module's docstring)."""
    by_partition: dict[str, list[tuple[int, int, int, int]]] = {}
    with os.scandir(table_dir) as entries:
        for entry in entries:
            found = _PART_NAME.fullmatch(entry.name)
            if found and entry.is_dir():
                first, last, level, mutation = (int(number or 0) for number in found.groups()[1:])
                by_partition.setdefault(found[1], []).append((first, last, level, mutation))
    return sum(_uncovered(parts) for parts in by_partition.values())


def _uncovered(parts: list[tuple[int, int, int, int]]) -> int:
    """By first block, then widest and newest first, a part is covered when one before it reaches as
    far: that one starts no later and ends no earlier."""
    count, reach = 0, -1
    for _, last, _, _ in sorted(parts, key=lambda part: (part[0], -part[1], -part[2], -part[3])):
        if last > reach:
            count, reach = count + 1, last
    return count


# ---- the report --------------------------------------------------------------------------------------


@dataclass
class Minute:
    minute: int
    seconds: float
    spans: int
    spans_per_s: float
    refused: int
    errors: int
    ingest_p50_ms: float | None
    ingest_p99_ms: float | None
    late_max_s: float
    view_p95_ms: float | None
    slowest_view: str
    slowest_view_p95_ms: float | None
    view_errors: int
    rss_mib: float | None
    cpu_us_per_span: float | None
    parts_max: int | None
    parts_table: str


HEADER = (
    f"{'min':>3} {'spans/s':>8} {'503s':>5} {'err':>4} {'p50 ms':>7} {'p99 ms':>7} {'late s':>6} "
    f"{'view p95':>8}  {'slowest view p95':<32} {'RSS MiB':>7} {'CPU us/span':>11} {'parts':>5}"
)


def minute_row(number: int, start: float, end: float, records: Records, cpu_s: float | None) -> Minute:
    """Minute `number`: what was answered, read and sampled from `start` to `end`; `cpu_s` is the
    server's CPU time over it."""
    attempts = [attempt for attempt in records.attempts if start <= attempt.at < end]
    acknowledged = [attempt for attempt in attempts if attempt.outcome == OK]
    views = [read for read in records.views if start <= read.at < end]
    samples = [sample for sample in records.samples if start <= sample.at < end]
    spans = sum(attempt.spans for attempt in acknowledged)
    latencies = [attempt.latency_s for attempt in acknowledged]
    slowest, slowest_p95 = slowest_view(views)
    parts_table, parts_max = max(
        ((table, count) for sample in samples for table, count in sample.parts.items()),
        key=lambda item: item[1],
        default=("", None),
    )
    return Minute(
        minute=number,
        seconds=end - start,
        spans=spans,
        spans_per_s=spans / (end - start),
        refused=sum(attempt.outcome == REFUSED for attempt in attempts),
        errors=sum(attempt.outcome == ERROR for attempt in attempts),
        ingest_p50_ms=_ms(latencies, 0.50),
        ingest_p99_ms=_ms(latencies, 0.99),
        late_max_s=max((attempt.late_s for attempt in attempts), default=0.0),
        view_p95_ms=_ms([read.latency_s for read in views], 0.95),
        slowest_view=slowest,
        slowest_view_p95_ms=slowest_p95,
        view_errors=sum(read.status != 200 for read in views),
        rss_mib=max((sample.rss_bytes / 1024**2 for sample in samples), default=None),
        cpu_us_per_span=cpu_s / spans * 1e6 if cpu_s is not None and spans else None,
        parts_max=parts_max,
        parts_table=parts_table,
    )


def view_p95s(views: list[ViewRead]) -> dict[str, float]:
    by_path: dict[str, list[float]] = {}
    for read in views:
        by_path.setdefault(read.path, []).append(read.latency_s)
    return {path: percentile(latencies, 0.95) * 1e3 for path, latencies in by_path.items()}


def slowest_view(views: list[ViewRead]) -> tuple[str, float | None]:
    return max(view_p95s(views).items(), key=lambda item: item[1], default=("", None))


def _ms(seconds: list[float], fraction: float) -> float | None:
    return percentile(seconds, fraction) * 1e3 if seconds else None


def _shown(value: float | None, width: int, digits: int = 0) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width},.{digits}f}"


def print_row(row: Minute) -> None:
    slowest = f"{row.slowest_view} {_shown(row.slowest_view_p95_ms, 0)}" if row.slowest_view else "-"
    print(
        f"{row.minute:>3} {row.spans_per_s:>8,.0f} {row.refused:>5} {row.errors + row.view_errors:>4} "
        f"{_shown(row.ingest_p50_ms, 7)} {_shown(row.ingest_p99_ms, 7)} {row.late_max_s:>6.2f} "
        f"{_shown(row.view_p95_ms, 8)}  {slowest:<32} {_shown(row.rss_mib, 7)} "
        f"{_shown(row.cpu_us_per_span, 11, 1)} {_shown(row.parts_max, 5)}",
        flush=True,
    )


# ---- the run -----------------------------------------------------------------------------------------


@dataclass
class Run:
    rows: list[Minute]
    records: Records
    seconds: float
    server_cpu_s: float
    bench_cpu_s: float  # this process's, senders and reader, during the run
    peak_rss_bytes: int  # 0 when the server stopped during the run
    server_exit: int | None  # the server's exit code when it stopped during the run


def soak(server: ServeProcess, data_dir: Path, workload: Workload, args: argparse.Namespace) -> Run:
    """The load, the reader and the monitor against `server`, a row printed per minute."""
    records, stopping, done = Records(), threading.Event(), threading.Event()
    new_exporter: Callable[[], HttpExporter | GrpcExporter] = (
        (lambda: HttpExporter(server.otlp_http_url, server.key))
        if args.protocol == "http"
        else (lambda: GrpcExporter(server.grpc_target, server.key))
    )
    tables_dir = data_dir / "clickhouse" / "data" / DEFAULT_DATABASE
    pid = server.process.pid
    server_cpu_at_start, bench_cpu_at_start = cpu_seconds(pid), _own_cpu_seconds()
    schedule = Schedule(SPANS_PER_REQUEST / args.rate, args.minutes * 60, stopping)
    senders = [
        threading.Thread(target=send, args=(new_exporter(), workload, schedule, records, stopping))
        for _ in range(args.senders)
    ]
    helpers = [
        threading.Thread(
            target=read_views, args=(server.api_url, server.key, args.poll_seconds, schedule, records, done)
        ),
        threading.Thread(target=monitor, args=(server, tables_dir, schedule, records, stopping, done)),
    ]
    for thread in senders + helpers:
        thread.start()
    try:
        rows, server_cpu_s = report_minutes(args.minutes, schedule, senders, records, stopping, pid)
    finally:  # also on Ctrl-C: no thread may outlive the run
        stopping.set()
        done.set()
        for thread in senders + helpers:
            thread.join()
    exited = server.process.poll()
    return Run(
        rows,
        records,
        seconds=sum(row.seconds for row in rows),
        server_cpu_s=server_cpu_s - server_cpu_at_start,
        bench_cpu_s=_own_cpu_seconds() - bench_cpu_at_start,
        peak_rss_bytes=proc_status_bytes(pid, "VmHWM") if exited is None else 0,
        server_exit=exited,
    )


def report_minutes(
    minutes: int,
    schedule: Schedule,
    senders: list[threading.Thread],
    records: Records,
    stopping: threading.Event,
    pid: int,
) -> tuple[list[Minute], float]:
    """Print a row at the end of every minute, the last once every sender is done (or as soon as the
    server stopped); return the rows and the server's CPU time at the last."""
    print(HEADER, flush=True)
    rows: list[Minute] = []
    start, cpu_mark = 0.0, cpu_seconds(pid)
    for minute in range(1, minutes + 1):
        last = minute == minutes or stopping.wait(schedule.start + minute * 60 - time.perf_counter())
        if last:  # its row takes every answer, up to that of the last request sent
            for sender in senders:
                sender.join()
            end = schedule.since_start()
        else:
            end = minute * 60.0
        cpu = _cpu_seconds_or_none(pid)
        time.sleep(RECORDING_GRACE_S)
        rows.append(minute_row(minute, start, end, records, None if cpu is None else cpu - cpu_mark))
        print_row(rows[-1])
        start = end
        if cpu is not None:
            cpu_mark = cpu
        if last:
            break
    return rows, cpu_mark


def _own_cpu_seconds() -> float:
    user, system, *_ = os.times()
    return user + system


def _cpu_seconds_or_none(pid: int) -> float | None:
    try:
        return cpu_seconds(pid)
    except OSError:  # the server is gone
        return None


def stored_spans(data_dir: Path) -> int:
    """Rows of `otel_traces`, read here once the server stopped (chDB's files are one process's)."""
    with ChDBStorage(data_dir) as storage:
        return storage.query("SELECT count() FROM otel_traces").rows[0][0]


@contextmanager
def fresh_data_dir(path: Path | None) -> Iterator[Path]:
    """`path` (kept), which must not hold data yet, or a temporary directory removed at the end."""
    if path is not None:
        if path.exists() and any(path.iterdir()):
            raise SystemExit(f"--data-dir {path} is not empty: the soak compares the rows with what it sent")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hiveboard-soak-") as scratch:
        yield Path(scratch) / "data"


def most_parts(samples: list[ServerSample]) -> dict[str, int]:
    """The most active parts each table had in a sample."""
    most: dict[str, int] = {}
    for sample in samples:
        for table, count in sample.parts.items():
            most[table] = max(most.get(table, 0), count)
    return most


def summarize(run: Run, stored: int, args: argparse.Namespace, machine: str) -> dict[str, object]:
    """The run's figures, printed and returned for `--json`."""
    attempts, views, rows = run.records.attempts, run.records.views, run.rows
    acknowledged = sum(attempt.spans for attempt in attempts)
    refused = sum(attempt.outcome == REFUSED for attempt in attempts)
    errors = sum(attempt.outcome == ERROR for attempt in attempts)
    rate = acknowledged / run.seconds
    view_p95 = _ms([read.latency_s for read in views], 0.95)
    worst_ingest = max(
        (row for row in rows if row.ingest_p99_ms is not None),
        key=lambda row: row.ingest_p99_ms,
        default=None,
    )
    worst_view = max(
        (row for row in rows if row.view_p95_ms is not None), key=lambda row: row.view_p95_ms, default=None
    )
    parts = most_parts(run.records.samples)
    sampled_rss = max((sample.rss_bytes for sample in run.records.samples), default=0)

    print()
    print(f"machine: {machine}")
    print(f"acknowledged spans: {acknowledged:,} in {run.seconds:,.0f} s; rows in otel_traces: {stored:,}")
    print(f"rate: {rate:,.0f} spans/s ({rate / args.rate:.1%} of {args.rate:,})")
    print(
        f"503s: {refused} in {sum(row.refused > 0 for row in rows)} of {len(rows)} minutes; "
        f"errors: {errors} ingest, {sum(read.status != 200 for read in views)} views"
    )
    if worst_ingest:
        print(
            f"worst minute's ingest p99: {worst_ingest.ingest_p99_ms:,.0f} ms (minute {worst_ingest.minute})"
        )
    if worst_view:
        print(
            f"worst minute's view p95: {worst_view.view_p95_ms:,.0f} ms (minute {worst_view.minute}, "
            f"slowest {worst_view.slowest_view} {_shown(worst_view.slowest_view_p95_ms, 0)} ms)"
        )
    print(
        "views over the run, p95 ms: "
        + ", ".join(f"{path} {p95:,.0f}" for path, p95 in view_p95s(views).items())
    )
    print(
        f"RSS: {sampled_rss / 1024**2:,.0f} MiB most sampled, "
        f"{run.peak_rss_bytes / 1024**2:,.0f} MiB peak (VmHWM)"
    )
    if acknowledged:
        print(f"server CPU: {run.server_cpu_s / acknowledged * 1e6:.1f} us/span acknowledged")
    print(f"this benchmark's own CPU (senders, reader): {run.bench_cpu_s / run.seconds:.0%} of a core")
    print(
        "active parts, most seen: " + ", ".join(f"{table} {count}" for table, count in parts.items() if count)
    )
    if run.server_exit is not None:
        print(f"hiveboard serve exited with code {run.server_exit} during the run")
    for message in run.records.errors[:5]:
        print(f"error: {message}")
    print()
    checks = {
        "acknowledged_is_stored": (
            f"acknowledged = stored ({acknowledged:,} acknowledged, {stored:,} stored)",
            acknowledged == stored,
        ),
        "peak_rss": (
            f"peak RSS {run.peak_rss_bytes / 1024**2:,.0f} MiB < {TARGET_RSS_BYTES // 1024**2} MiB",
            0 < run.peak_rss_bytes < TARGET_RSS_BYTES,
        ),
        "rate": (
            f"rate {rate:,.0f} spans/s >= {TARGET_RATE_FRACTION:.0%} of {args.rate:,}",
            rate >= TARGET_RATE_FRACTION * args.rate,
        ),
    }
    if view_p95 is not None:
        checks["view_p95"] = (
            f"view p95 over the run {view_p95:,.0f} ms <= {VIEW_TARGET_MS:.0f} ms (information: "
            "bench/query.py's target per endpoint, without load)",
            view_p95 <= VIEW_TARGET_MS,
        )
    for text, passed in checks.values():
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return {
        "acknowledged_spans": acknowledged,
        "stored_spans": stored,
        "seconds": run.seconds,
        "spans_per_s": rate,
        "refused": refused,
        "errors": errors,
        "view_p95_ms": view_p95,
        "max_rss_bytes_sampled": sampled_rss,
        "peak_rss_bytes": run.peak_rss_bytes,
        "server_cpu_s": run.server_cpu_s,
        "bench_cpu_s": run.bench_cpu_s,
        "max_active_parts": parts,
        "server_exit": run.server_exit,
        "checks": {name: passed for name, (_, passed) in checks.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=30_000, help="spans/s sent (default 30,000)")
    parser.add_argument("--minutes", type=int, default=30, help="how long (default 30)")
    parser.add_argument("--senders", type=int, default=32, help="concurrent senders (default 32)")
    parser.add_argument(
        "--protocol", choices=("http", "grpc"), default="http", help="OTLP protocol (default http)"
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=5.0, help="between two reads of the views (default 5)"
    )
    parser.add_argument("--distinct", type=int, default=102_400, help="spans generated, then replayed")
    parser.add_argument("--data-dir", type=Path, help="keep the server's data here (a new directory)")
    parser.add_argument("--json", type=Path, help="also write the rows and the summary here")
    args = parser.parse_args()

    machine = query_bench.machine()
    print(f"machine: {machine}")
    started = time.perf_counter()
    workload = build_workload(args.distinct)
    spans = sum(request.spans for request in workload.requests)
    size = sum(request.length for request in workload.requests) / spans
    print(
        f"workload: {len(workload.requests)} requests of {SPANS_PER_REQUEST} HiveLoop spans ({size:.0f} "
        f"bytes/span), built in {time.perf_counter() - started:.1f} s; {args.rate:,} spans/s over "
        f"OTLP/{args.protocol.upper()} from {args.senders} senders for {args.minutes} min",
        flush=True,
    )
    with fresh_data_dir(args.data_dir) as data_dir:
        server = start_serve(data_dir)
        try:
            run = soak(server, data_dir, workload, args)
        finally:
            stop_serve(server)
        stored = stored_spans(data_dir)
    summary = summarize(run, stored, args, machine)
    if args.json:
        report = {"machine": machine, "settings": vars(args), "minutes": [asdict(row) for row in run.rows]}
        args.json.write_text(json.dumps({**report, "summary": summary}, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
