"""`hiveboard serve` as a user starts it: the installed console script in its own process.

Behaviour that exists only in the real process (the WebSocket library uvicorn picks, the server's
timeouts, signals, the dashboard in a browser) is tested against this, not against the in-process
app.

    with serve_process(tmp_path) as server:
        httpx.get(f"{server.api_url}/health", headers=server.auth_headers)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
DEV_KEY_ENV = "HIVEBOARD_DEV_KEY"
DEV_KEY = "hb_live_dev000000000000000000000000000000"
READY_LINE = "HiveBoard is running"
# `  Dashboard       http://127.0.0.1:8000/signin?token=...`, printed with the ready line.
DASHBOARD_LINE = re.compile(r"^\s+Dashboard\s+(\S+)")
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
LINE_TIMEOUT_S = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def hiveboard_command() -> str:
    """The `hiveboard` script installed beside this interpreter (what the README's install gives)."""
    script = Path(sys.executable).parent / "hiveboard"
    if script.exists():
        return str(script)
    found = shutil.which("hiveboard")
    if found is None:
        raise AssertionError("no `hiveboard` command: install the server as the README says")
    return found


@dataclass
class ServeProcess:
    """A running `hiveboard serve`; `output` collects everything it printed."""

    process: subprocess.Popen[str]
    api_url: str
    otlp_http_url: str
    grpc_target: str
    key: str
    output: list[str] = field(default_factory=list)

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def stream_url(self) -> str:
        return self.api_url.replace("http://", "ws://", 1) + "/v1/stream"

    def log(self) -> str:
        return "".join(self.output)

    @property
    def sign_in_link(self) -> str:
        """The one-time dashboard sign-in link `hiveboard serve` printed (with its ready line, which
        the output reader may have taken a moment before this one)."""
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while True:
            for line in list(self.output):
                found = DASHBOARD_LINE.match(line)
                if found:
                    return found.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(f"`hiveboard serve` printed no dashboard sign-in link:\n{self.log()}")
            time.sleep(0.05)


def start_serve(data_dir: Path, *extra_args: str, environment: dict[str, str] | None = None) -> ServeProcess:
    """Start `hiveboard serve` on free ports with the seeds' dev key; wait until it says it runs."""
    api_port, otlp_port, grpc_port = free_port(), free_port(), free_port()
    command = [
        hiveboard_command(),
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        HOST,
        "--port",
        str(api_port),
        "--otlp-http-port",
        str(otlp_port),
        "--grpc-port",
        str(grpc_port),
        *extra_args,
    ]
    process = subprocess.Popen(
        command,
        env={**os.environ, DEV_KEY_ENV: DEV_KEY, **(environment or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServeProcess(
        process,
        api_url=f"http://{HOST}:{api_port}",
        otlp_http_url=f"http://{HOST}:{otlp_port}",
        grpc_target=f"{HOST}:{grpc_port}",
        key=DEV_KEY,
    )
    ready = threading.Event()

    def read_output() -> None:  # until the process ends, so its pipe never fills up
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line)
            if line.startswith(READY_LINE):
                ready.set()
        ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    ready.wait(START_TIMEOUT_S)
    if process.poll() is not None or not any(line.startswith(READY_LINE) for line in server.output):
        process.kill()
        raise AssertionError(f"`hiveboard serve` did not start:\n{server.log()}")
    return server


def stop_serve(server: ServeProcess) -> None:
    stop_process(server.process)


def stop_process(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a user stops a `hiveboard` command; killed if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)


@contextmanager
def serve_process(
    data_dir: Path, *extra_args: str, environment: dict[str, str] | None = None
) -> Iterator[ServeProcess]:
    server = start_serve(data_dir, *extra_args, environment=environment)
    try:
        yield server
    finally:
        stop_serve(server)
