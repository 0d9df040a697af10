"""A collector killed with SIGKILL under load loses nothing it acknowledged.

The collector runs as its own process with the CLI (`hiveboard collector`), on a data directory of
its own, accepting the dev key. Several threads send pre-encoded OTLP/HTTP requests of spans with
unique ids and record which were acknowledged (200); the process is killed mid-load, started again
on the same directory (so the directory lock died with it), stopped cleanly, and the data directory
is then opened here: every acknowledged span must be in `otel_traces`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hiveboard.storage import ChDBStorage
from hiveboard.storage.keys import DEFAULT_TENANT, DEV_KEY_ENV
from tests.collector.otlp_harness import (
    DEV_KEY,
    PROTOBUF,
    TRACES_PATH,
    make_span,
    span_ids_hex,
    stored_span_ids,
    trace_request,
)
from tests.serve_process import free_port

HOST = "127.0.0.1"
SENDERS = 4
SPANS_PER_REQUEST = 50
# Kill once this many requests were acknowledged (senders keep sending until the kill).
ACKNOWLEDGED_BEFORE_KILL = 60
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class CollectorProcess:
    """`hiveboard collector` on `data_dir`, listening on `http_url` once `started`."""

    process: subprocess.Popen[str]
    http_url: str
    output: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "".join(self.output)


def start_collector(data_dir: Path) -> CollectorProcess:
    """Start the CLI's collector and wait until it says it listens."""
    http_port, grpc_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "hiveboard.cli",
        "collector",
        "--data-dir",
        str(data_dir),
        "--host",
        HOST,
        "--http-port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
    ]
    process = subprocess.Popen(
        command,
        env={**os.environ, DEV_KEY_ENV: DEV_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    collector = CollectorProcess(process, f"http://{HOST}:{http_port}")
    ready = threading.Event()

    def read_output() -> None:  # until the process ends, so its pipe never fills up
        assert process.stdout is not None
        for line in process.stdout:
            collector.output.append(line)
            if line.startswith("HiveBoard collector:"):
                ready.set()
        ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    ready.wait(START_TIMEOUT_S)
    if process.poll() is not None or not any(
        line.startswith("HiveBoard collector:") for line in collector.output
    ):
        process.kill()
        raise AssertionError(f"the collector did not start:\n{collector.log()}")
    return collector


@contextmanager
def collector_process(data_dir: Path) -> Iterator[CollectorProcess]:
    collector = start_collector(data_dir)
    try:
        yield collector
    finally:
        if collector.process.poll() is None:
            collector.process.kill()
        collector.process.wait(STOP_TIMEOUT_S)


class Load:
    """Senders posting pre-encoded requests until they fail; `acknowledged` holds the span ids of
    every request answered 200."""

    def __init__(self, http_url: str, requests_per_sender: int = 100) -> None:
        self.http_url = http_url
        self.acknowledged: set[str] = set()
        self.acknowledged_requests = 0
        self.failed_requests = 0
        self.enough = threading.Event()
        self._lock = threading.Lock()
        # Pre-encoded, so the senders spend their time waiting for the collector, not encoding.
        requests = [
            [
                trace_request([make_span(f"load {n}") for n in range(SPANS_PER_REQUEST)])
                for _ in range(requests_per_sender)
            ]
            for _ in range(SENDERS)
        ]
        self._encoded = [
            [(request.SerializeToString(), span_ids_hex(request)) for request in mine] for mine in requests
        ]
        self._threads = [threading.Thread(target=self._send, args=(index,)) for index in range(SENDERS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(STOP_TIMEOUT_S)
            assert not thread.is_alive()

    def _send(self, index: int) -> None:
        headers = {"content-type": PROTOBUF, "authorization": f"Bearer {DEV_KEY}"}
        with httpx.Client(timeout=10.0) as client:
            for body, span_ids in self._encoded[index]:
                try:
                    response = client.post(self.http_url + TRACES_PATH, content=body, headers=headers)
                except httpx.HTTPError:
                    with self._lock:
                        self.failed_requests += 1
                    return  # the collector is gone
                if response.status_code != 200:
                    with self._lock:
                        self.failed_requests += 1
                    continue
                with self._lock:
                    self.acknowledged |= span_ids
                    self.acknowledged_requests += 1
                    if self.acknowledged_requests >= ACKNOWLEDGED_BEFORE_KILL:
                        self.enough.set()
        self.enough.set()  # ran out of requests before the kill: the test says so


def test_every_span_acknowledged_before_a_sigkill_is_stored_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "hiveboard-data"
    with collector_process(data_dir) as first:
        load = Load(first.http_url)
        load.start()
        assert load.enough.wait(START_TIMEOUT_S)

        os.kill(first.process.pid, signal.SIGKILL)  # mid-load: the senders are still sending

        assert first.process.wait(STOP_TIMEOUT_S) == -signal.SIGKILL
        load.join()
    assert load.acknowledged_requests >= ACKNOWLEDGED_BEFORE_KILL
    assert load.failed_requests > 0, "the collector was killed after the load ended, not during it"

    with collector_process(data_dir) as second:  # starts: the killed process's lock is gone
        after_restart = trace_request([make_span("after restart")])
        response = httpx.post(
            second.http_url + TRACES_PATH,
            content=after_restart.SerializeToString(),
            headers={"content-type": PROTOBUF, "authorization": f"Bearer {DEV_KEY}"},
        )
        assert response.status_code == 200, response.text
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(STOP_TIMEOUT_S) == 0, second.log()

    with ChDBStorage(data_dir) as storage:
        stored = stored_span_ids(storage, DEFAULT_TENANT)
    lost = load.acknowledged - stored
    assert not lost, f"{len(lost)} of {len(load.acknowledged)} acknowledged spans are missing"
    assert span_ids_hex(after_restart) <= stored
