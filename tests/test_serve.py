"""`hiveboard serve` started as the README starts it answers on the ports it prints."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.serve_process import serve_process


def test_serve_prints_its_endpoints_and_answers_health(tmp_path: Path) -> None:
    with serve_process(tmp_path / "data") as server:
        health = httpx.get(f"{server.api_url}/health", headers=server.auth_headers, timeout=10)
        printed = server.log()

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert f"query API       {server.api_url}" in printed
    assert f"OTLP/gRPC       {server.grpc_target}" in printed
    assert server.key in printed
