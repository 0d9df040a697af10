"""Bad input to the query API: a clear 400 that says what to send, never an internal detail.

Crafted cursors on every paged endpoint, and every enum-like filter of every endpoint, both found in
the app's own OpenAPI document so that an endpoint or filter added later is covered too.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hiveboard.api.params import INVALID_CURSOR
from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import lead_task

# Paged endpoints and the variants whose cursors hold other types (a cost is a Float64).
PAGED = {
    "/v1/tasks": [{}, {"sort": "duration_ms"}, {"sort": "cost", "order": "asc"}],
    "/v1/events": [{}, {"exclude_heartbeats": "false"}],
    "/v1/cost/calls": [{}],
    "/v1/llm-calls": [{}],
}
PAGED_CASES = [(path, params) for path, variants in PAGED.items() for params in variants]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


CRAFTED_CURSORS = {
    "booleans": b64("[true, false]"),
    "strings for numbers": b64('["123", "abc"]'),
    "number for the id": b64("[1, 2]"),
    "null": b64("[1, null]"),
    "int64 overflow": b64(f'[{2**70}, "abc"]'),
    "not a number": b64('[NaN, "abc"]'),
    "infinity": b64('[Infinity, "abc"]'),
    "too short": b64("[1]"),
    "too long": b64('[1, "a", "b"]'),
    "an object": b64('{"a": 1, "b": "x"}'),
    "nested lists": b64('[[1], ["a"]]'),
    "deeply nested": b64("[" * 300 + "]" * 300),
    "nested past the recursion limit": b64("[" * 5_000 + "]" * 5_000),
    "not base64": "!!not-base64!!",
    "not json": b64("SELECT 1"),
    "not utf-8": base64.urlsafe_b64encode(b"\xff\xfe\x00\x01").decode(),
    "huge": "A" * 60_000,  # near the longest URL clients send
}
# What a body must never show: the statement, the storage's files, Python's internals.
SQL_WORDS = re.compile(r"\b(SELECT|FROM|WHERE|ORDER BY|LIMIT|DB::Exception)\b")


def assert_nothing_internal(body: str, data_dir: str) -> None:
    assert not SQL_WORDS.search(body), body
    assert data_dir not in body and "chdb" not in body.lower(), body
    assert "Traceback" not in body and 'File "' not in body, body


@pytest.fixture
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The directory of the module's chDB (under pytest's base temporary directory)."""
    return str(tmp_path_factory.getbasetemp())


def test_the_paged_endpoints_are_those_of_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    with_cursor = {
        path
        for path, methods in paths.items()
        for operation in methods.values()
        if any(parameter["name"] == "cursor" for parameter in operation.get("parameters", []))
    }
    assert with_cursor == set(PAGED)


@pytest.mark.parametrize("cursor", CRAFTED_CURSORS.values(), ids=CRAFTED_CURSORS.keys())
@pytest.mark.parametrize(("path", "params"), PAGED_CASES)
def test_a_crafted_cursor_is_a_400_without_internals(
    client: TestClient, tenant: Tenant, data_dir: str, path: str, params: dict[str, str], cursor: str
) -> None:
    response = client.get(path, params={**params, "cursor": cursor}, headers=tenant.headers())

    assert response.status_code == 400, response.text
    assert response.json() == {"error": "bad_request", "message": INVALID_CURSOR}
    assert_nothing_internal(response.text, data_dir)


@pytest.mark.parametrize(("path", "params"), PAGED_CASES)
def test_the_next_cursor_still_pages_through_every_row(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, path: str, params: dict[str, str]
) -> None:
    with telemetry.hiveloop(tenant) as run:
        for number in range(3):
            lead_task(run.hb, f"task-{number}")
    first = client.get(path, params={**params, "limit": 1}, headers=tenant.headers()).json()
    cursor = first["pagination"]["next_cursor"]
    assert cursor is not None

    second = client.get(path, params={**params, "limit": 1, "cursor": cursor}, headers=tenant.headers())

    assert second.status_code == 200, second.text
    assert second.json()["data"] and second.json()["data"] != first["data"]


def enum_parameters(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """Every `(path, query parameter, accepted values)` of the GET endpoints whose values are an enum."""
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def values(schema: dict[str, Any]) -> list[str]:
        if "$ref" in schema:
            return values(schemas[schema["$ref"].rsplit("/", 1)[1]])
        if "items" in schema:
            return values(schema["items"])
        return schema.get("enum") or [value for option in schema.get("anyOf", []) for value in values(option)]

    return [
        (path, parameter["name"], accepted)
        for path, methods in document["paths"].items()
        for parameter in methods.get("get", {}).get("parameters", [])
        if parameter["in"] == "query" and (accepted := values(parameter["schema"]))
    ]


def test_every_enum_filter_refuses_an_unknown_value_with_the_accepted_values(
    client: TestClient, tenant: Tenant, data_dir: str
) -> None:
    parameters = enum_parameters(client)
    assert {(path, name) for path, name, _ in parameters} >= {
        ("/v1/agents", "status"),
        ("/v1/tasks", "status"),
        ("/v1/tasks", "sort"),
        ("/v1/tasks", "order"),
        ("/v1/tasks", "range"),
        ("/v1/events", "severity"),
        ("/v1/events", "group"),
        ("/v1/metrics", "range"),
        ("/v1/cost", "cost_source"),
        ("/v1/cost/timeseries", "group_by"),
    }
    for path, name, values in parameters:
        response = client.get(path, params={name: "bogus"}, headers=tenant.headers())

        assert response.status_code == 400, (path, name, response.text)
        message = response.json()["message"]
        assert f"query parameter {name} 'bogus'" in message, message
        assert all(repr(str(value)) in message for value in values), (path, name, message)
        assert_nothing_internal(response.text, data_dir)


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/events", {"limit": "0"}, "limit"),
        ("/v1/events", {"limit": "lots"}, "limit"),
        ("/v1/events", {"exclude_heartbeats": "perhaps"}, "exclude_heartbeats"),
        ("/v1/tasks", {"status": "completed,failed"}, "status"),
    ],
)
def test_other_invalid_parameters_are_a_400_naming_them(
    client: TestClient, tenant: Tenant, path: str, params: dict[str, str], named: str
) -> None:
    response = client.get(path, params=params, headers=tenant.headers())

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert f"query parameter {named} " in response.json()["message"]


def test_a_long_invalid_value_is_quoted_cut(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/v1/tasks", params={"status": "x" * 5_000}, headers=tenant.headers())

    assert response.status_code == 400
    assert "'xxxx" in response.json()["message"] and len(response.json()["message"]) < 300


def event_types(client: TestClient, tenant: Tenant, params: Any) -> list[str]:
    response = client.get("/v1/events", params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    return sorted(row["event_type"] for row in response.json()["data"])


def test_several_values_come_repeated_or_comma_separated(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = lead_task(run.hb)
        try:
            with agent.task("failing"):
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    ended = ["task_completed", "task_failed"]

    assert event_types(client, tenant, {"event_type": "task_completed,task_failed"}) == ended
    assert (
        event_types(client, tenant, [("event_type", "task_completed"), ("event_type", "task_failed")])
        == ended
    )
    assert (
        event_types(client, tenant, [("event_type", "task_completed, "), ("event_type", "task_failed")])
        == ended
    )
    assert set(event_types(client, tenant, {"group": "llm,plan"})) == {
        "llm_call",
        "plan_created",
        "plan_step",
    }
    assert set(event_types(client, tenant, {"severity": "warn,error"})) >= {"task_failed", "retry_started"}
    assert event_types(client, tenant, {"severity": "error", "event_type": "task_failed,llm_call"}) == [
        "task_failed"
    ]


def test_a_severity_of_an_issue_is_refused_with_the_stream_severities(
    client: TestClient, tenant: Tenant
) -> None:
    response = client.get("/v1/events", params={"severity": "info,high"}, headers=tenant.headers())

    assert response.status_code == 400
    assert response.json()["message"] == (
        "query parameter severity 'high': Input should be 'debug', 'info', 'warn' or 'error'"
    )


def test_event_types_are_free_custom_ones_included(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent("deployer", heartbeat_interval=0)
        agent.event("deployment_finished", {"summary": "v2 is live"})

    assert event_types(client, tenant, {"event_type": "deployment_finished"}) == ["deployment_finished"]
    assert event_types(client, tenant, {"event_type": "never_sent"}) == []


def test_a_request_body_error_keeps_fastapis_422_with_the_fields(client: TestClient, tenant: Tenant) -> None:
    response = client.post("/v1/projects", json={"slug": 42}, headers=tenant.headers())

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "slug"]


def test_a_crafted_cursor_never_reaches_the_log_as_sql(
    client: TestClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    client.get("/v1/events", params={"cursor": CRAFTED_CURSORS["booleans"]}, headers=tenant.headers())

    assert "DB::Exception" not in caplog.text and "storage error" not in caplog.text


def test_the_openapi_document_gives_a_bad_parameter_400_as_the_api_answers_it(
    client: TestClient, tenant: Tenant
) -> None:
    document = client.get("/openapi.json").json()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    without_body = [(name, operation) for name, operation in operations if "requestBody" not in operation]
    with_body = [(name, operation) for name, operation in operations if "requestBody" in operation]
    assert len(without_body) > 20 and with_body
    assert [name for name, operation in without_body if "422" in operation["responses"]] == []
    assert [name for name, operation in with_body if "422" not in operation["responses"]] == []
    undocumented = [
        name
        for name, operation in without_body
        if operation.get("parameters") and "400" not in operation["responses"]
    ]
    assert undocumented == []
    answer = client.get("/v1/tasks", params={"limit": "many"}, headers=tenant.headers())
    assert answer.status_code == 400 and "limit" in answer.json()["message"]
