"""Slow and silent clients against a real `hiveboard serve`: connections that send nothing, part of a
request head, or part of a body, and then nothing, are closed once `--client-timeout` has passed, on
the query API's port, the OTLP/HTTP port and the OTLP/gRPC port; normal requests are answered
meanwhile. Every socket goes to 127.0.0.1 and every wait is bounded."""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.collector.otlp_harness import PROTOBUF, TRACES_PATH, make_span, trace_request
from tests.serve_process import ServeProcess, serve_process

CLIENT_TIMEOUT_S = 3.0
# How long past the timeout a connection may stay open (the machine is shared and busy).
GRACE_S = 8.0
PER_PORT = 60  # x 3 kinds of stalls on the HTTP ports, and the gRPC ones: 400 sockets in all

HTTP_STALLS = {
    "nothing": b"",
    "part of a request line": b"POST /v1/tra",
    "part of the headers": b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
    "part of a body": (
        b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: 1000\r\n\r\n0123456789"
    ),
}
# The HTTP/2 client preface, cut short: the gRPC server waits for the rest.
GRPC_STALLS = {"nothing": b"", "part of the preface": b"PRI * HTTP/2.0\r\n\r\nSM"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir: Path = tmp_path_factory.mktemp("slow-clients")
    with serve_process(data_dir, "--client-timeout", str(CLIENT_TIMEOUT_S)) as running:
        yield running


def address(url_or_target: str) -> tuple[str, int]:
    host, port = url_or_target.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def open_stalled(stack: ExitStack, where: tuple[str, int], sent: bytes, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(where, timeout=5))
        if sent:
            sock.sendall(sent)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (end of stream or reset), reading what it may have sent."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except (TimeoutError, BlockingIOError):
        return False


def wait_until_closed(sockets: list[socket.socket], deadline: float) -> list[socket.socket]:
    """The sockets still open at `deadline`. Watched with epoll (`selectors`), not `select()`, which
    refuses descriptors above 1023: the test process holds many, its chDB files among them."""
    open_ = list(sockets)
    with selectors.DefaultSelector() as selector:
        for sock in open_:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        while open_ and time.monotonic() < deadline:
            events = selector.select(max(0.0, min(0.5, deadline - time.monotonic())))
            readable = {key.fileobj for key, _ in events}
            closed = [sock for sock in open_ if sock in readable and closed_by_server(sock)]
            for sock in closed:
                selector.unregister(sock)
            open_ = [sock for sock in open_ if sock not in closed]
    return open_


def assert_answers(server: ServeProcess) -> None:
    """A normal request on each HTTP port is answered."""
    health = httpx.get(f"{server.api_url}/health", timeout=10)
    assert health.status_code == 200, health.text
    request = trace_request([make_span("while clients stall")])
    exported = httpx.post(
        server.otlp_http_url + TRACES_PATH,
        content=request.SerializeToString(),
        headers={"content-type": PROTOBUF, **server.auth_headers},
        timeout=10,
    )
    assert exported.status_code == 200, exported.text


def test_stalled_connections_are_closed_after_the_client_timeout_while_others_are_answered(
    server: ServeProcess,
) -> None:
    with ExitStack() as stack:
        started = time.monotonic()
        stalled: dict[str, list[socket.socket]] = {}
        for port_name, url in (("API", server.api_url), ("OTLP/HTTP", server.otlp_http_url)):
            for stall, sent in HTTP_STALLS.items():
                stalled[f"{port_name}: {stall}"] = open_stalled(stack, address(url), sent, PER_PORT // 2)
        for stall, sent in GRPC_STALLS.items():
            stalled[f"gRPC: {stall}"] = open_stalled(stack, address(server.grpc_target), sent, PER_PORT)
        opened = time.monotonic()
        # Not closed before their time: what closes them is the timeout.
        assert opened - started < CLIENT_TIMEOUT_S / 2, "opening the sockets took too long"
        early = {
            name: len(wait_until_closed(sockets, time.monotonic() + 0.2)) for name, sockets in stalled.items()
        }
        assert early == {name: len(sockets) for name, sockets in stalled.items()}

        assert_answers(server)

        deadline = opened + CLIENT_TIMEOUT_S + GRACE_S
        still_open = {name: len(wait_until_closed(sockets, deadline)) for name, sockets in stalled.items()}

        assert still_open == {name: 0 for name in stalled}
        assert_answers(server)


def test_a_kept_alive_connection_that_starts_a_request_and_stalls_is_closed(server: ServeProcess) -> None:
    """After a first request answered on the connection, the deadline applies to the next one."""
    request = trace_request([make_span("first on the connection")]).SerializeToString()
    head = (
        f"POST {TRACES_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {PROTOBUF}\r\n"
        f"Authorization: {server.auth_headers['Authorization']}\r\nContent-Length: {len(request)}\r\n\r\n"
    )
    with socket.create_connection(address(server.otlp_http_url), timeout=10) as sock:
        sock.sendall(head.encode() + request)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 1")
        started = time.monotonic()

        assert wait_until_closed([sock], started + CLIENT_TIMEOUT_S + GRACE_S) == []


def test_an_authenticated_request_whose_body_stalls_is_closed_without_an_error_logged(
    server: ServeProcess,
) -> None:
    """The handler was reading the body when the connection closed: it sees the client gone."""
    head = (
        f"POST {TRACES_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {PROTOBUF}\r\n"
        f"Authorization: {server.auth_headers['Authorization']}\r\nContent-Length: 100000\r\n\r\n"
    )
    with socket.create_connection(address(server.otlp_http_url), timeout=10) as sock:
        sock.sendall(head.encode() + b"\x0a" * 70_000)  # past uvicorn's read buffer: the handler reads
        started = time.monotonic()

        assert wait_until_closed([sock], started + CLIENT_TIMEOUT_S + GRACE_S) == []
    assert_answers(server)
    assert "Exception in ASGI application" not in server.log()
    assert "Traceback" not in server.log()
