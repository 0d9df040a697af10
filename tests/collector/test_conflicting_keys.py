"""A request carrying two API keys is refused on every transport of the real `hiveboard serve`:
the query API, OTLP/HTTP on the API's port and on the collector's own, and OTLP/gRPC.

Before, the last copy of a repeated header decided the tenant. Headers go out as lists of pairs, so
the repeated ones reach the server as the client sent them.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest

from hiveboard.collector.receivers.otlp_grpc import TRACE_SERVICE
from tests.collector.otlp_harness import (
    PROTOBUF,
    TRACES_PATH,
    decode_http_answer,
    grpc_export,
    make_span,
    trace_request,
)
from tests.serve_process import ServeProcess, serve_process

TIMEOUT_S = 10.0
Pairs = list[tuple[str, str]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serve_process(tmp_path_factory.mktemp("serve") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def other_key(server: ServeProcess) -> str:
    """A second valid live key: the conflict is refused even when both keys are good."""
    created = httpx.post(
        f"{server.api_url}/v1/api-keys",
        json={"key_type": "live", "name": "second"},
        headers=server.auth_headers,
        timeout=TIMEOUT_S,
    )
    assert created.status_code == 201, created.text
    return created.json()["key"]


def conflicting(key: str, other: str) -> dict[str, Pairs]:
    """The ways a request can carry two keys, with what the refusal says about each."""
    return {
        "two authorization headers": [
            ("authorization", f"Bearer {key}"),
            ("authorization", f"Bearer {other}"),
        ],
        "the same authorization twice": [
            ("authorization", f"Bearer {key}"),
            ("Authorization", f"Bearer {key}"),
        ],
        "two x-api-key headers": [("x-api-key", key), ("x-api-key", other)],
        "two keys joined by a proxy": [("authorization", f"Bearer {key}, Bearer {other}")],
        "authorization and x-api-key differ": [("authorization", f"Bearer {key}"), ("x-api-key", other)],
    }


EXPECTED_MESSAGE = {
    "two authorization headers": "the request has 2 authorization headers",
    "the same authorization twice": "the request has 2 authorization headers",
    "two x-api-key headers": "the request has 2 x-api-key headers",
    "two keys joined by a proxy": "the request has 2 authorization headers",
    "authorization and x-api-key differ": "the authorization and x-api-key headers carry different API keys",
}
CASES = list(EXPECTED_MESSAGE)


@pytest.mark.parametrize("case", CASES)
def test_the_query_api_answers_400(server: ServeProcess, other_key: str, case: str) -> None:
    headers = conflicting(server.key, other_key)[case]

    response = httpx.get(f"{server.api_url}/v1/agents", headers=headers, timeout=TIMEOUT_S)

    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["message"].startswith(EXPECTED_MESSAGE[case])


@pytest.mark.parametrize("port", ["api", "collector"])
@pytest.mark.parametrize("case", CASES)
def test_otlp_http_answers_400_and_writes_nothing_then_takes_the_same_spans_with_one_key(
    server: ServeProcess, other_key: str, case: str, port: str
) -> None:
    url = (server.api_url if port == "api" else server.otlp_http_url) + TRACES_PATH
    body = trace_request([make_span()]).SerializeToString()
    headers = [("content-type", PROTOBUF), *conflicting(server.key, other_key)[case]]

    refused = decode_http_answer(
        httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_S), TRACES_PATH
    )
    accepted = httpx.post(
        url, content=body, headers={"content-type": PROTOBUF, **server.auth_headers}, timeout=TIMEOUT_S
    )

    assert refused.status == 400
    assert refused.error.startswith(EXPECTED_MESSAGE[case])
    assert refused.message is not None and refused.message.code == 3  # INVALID_ARGUMENT
    assert accepted.status_code == 200


@pytest.mark.parametrize("case", CASES)
def test_otlp_grpc_answers_invalid_argument(server: ServeProcess, other_key: str, case: str) -> None:
    metadata = [(name.lower(), value) for name, value in conflicting(server.key, other_key)[case]]

    answer = grpc_export(server.grpc_target, TRACE_SERVICE, trace_request([make_span()]), metadata)

    assert answer.code is grpc.StatusCode.INVALID_ARGUMENT
    assert answer.details.startswith(EXPECTED_MESSAGE[case])


def test_one_key_in_both_headers_or_beside_another_scheme_is_accepted(
    server: ServeProcess, other_key: str
) -> None:
    same_in_both = [("authorization", f"Bearer {other_key}"), ("x-api-key", other_key)]
    basic_and_key = [("authorization", "Basic dXNlcjpwYXNz"), ("x-api-key", other_key)]

    for headers in (same_in_both, basic_and_key):
        response = httpx.get(f"{server.api_url}/v1/agents", headers=headers, timeout=TIMEOUT_S)
        assert response.status_code == 200, response.text
        assert (
            grpc_export(server.grpc_target, TRACE_SERVICE, trace_request([make_span()]), headers).code
            is grpc.StatusCode.OK
        )
