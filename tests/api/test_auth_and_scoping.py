"""Every endpoint needs a key, sees only its tenant's data, and test keys see only test data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hiveboard.api import create_app
from hiveboard.storage import Storage, StorageError
from hiveboard.storage.keys import KeyStore
from tests.api.conftest import Telemetry, Tenant, new_tenant
from tests.api.scenarios import AGENT, lead_task

# Endpoint -> whether a response shows the scenario's data (None: the endpoint answered 404).
Shows = Callable[[Any], bool]
ENDPOINTS: dict[str, Shows] = {
    "/v1/agents": lambda body: len(body["data"]) == 1,
    f"/v1/agents/{AGENT}": lambda body: body is not None and body["agent_id"] == AGENT,
    f"/v1/agents/{AGENT}/pipeline": lambda body: len(body["issues"]) == 1,
    "/v1/pipeline": lambda body: body["totals"]["active_issues"] == 1,
    "/v1/tasks": lambda body: len(body["data"]) == 1,
    "/v1/tasks/task-001/timeline": lambda body: body is not None and body["task"]["task_id"] == "task-001",
    "/v1/events": lambda body: len(body["data"]) > 0,
    "/v1/metrics": lambda body: body["summary"]["tasks_completed"] == 1,
    "/v1/cost": lambda body: body["totals"]["call_count"] == 1,
    "/v1/cost/calls": lambda body: len(body["data"]) == 1,
    "/v1/cost/timeseries": lambda body: (
        sum(p["call_count"] for s in body["series"] for p in s["points"]) == 1
    ),
    "/v1/llm-calls": lambda body: len(body["data"]) == 1,
    "/v1/projects": lambda body: [p["slug"] for p in body["data"]] == ["sales-pipeline"],
}


@pytest.fixture(scope="module")
def owner(storage: Storage, key_store: KeyStore) -> Tenant:
    """A tenant with the scenario's live data (and nothing sent with its test key)."""
    tenant = new_tenant(key_store)
    with Telemetry(storage).hiveloop(tenant, "live") as run:
        lead_task(run.hb)
    return tenant


def get(client: TestClient, path: str, headers: Mapping[str, str]) -> Any:
    response = client.get(path, headers=headers)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("path", ENDPOINTS)
def test_live_and_read_keys_of_the_tenant_see_its_live_data(
    client: TestClient, owner: Tenant, path: str
) -> None:
    assert ENDPOINTS[path](get(client, path, owner.headers("live")))
    assert ENDPOINTS[path](get(client, path, owner.headers("read")))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_another_tenant_sees_none_of_it(
    client: TestClient, owner: Tenant, other_tenant: Tenant, path: str
) -> None:
    assert not ENDPOINTS[path](get(client, path, other_tenant.headers("live")))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_test_key_does_not_see_live_data(client: TestClient, owner: Tenant, path: str) -> None:
    assert not ENDPOINTS[path](get(client, path, owner.headers("test")))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_test_data_is_seen_by_test_keys_only(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, path: str
) -> None:
    with telemetry.hiveloop(tenant, "test") as run:
        lead_task(run.hb)
    assert ENDPOINTS[path](get(client, path, tenant.headers("test")))
    assert not ENDPOINTS[path](get(client, path, tenant.headers("live")))


@pytest.mark.parametrize("path", [*ENDPOINTS, "/v1/api-keys"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer hb_live_unknownkey00000000000000000000"}, {"x-api-key": "not-a-key"}],
    ids=["missing", "unknown", "malformed"],
)
def test_requests_without_a_valid_key_get_401(client: TestClient, path: str, headers: dict[str, str]) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "unauthorized" and "key" in body["message"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_x_api_key_header_authenticates(client: TestClient, owner: Tenant) -> None:
    response = client.get("/v1/agents", headers={"x-api-key": owner.keys["read"]})
    assert response.status_code == 200 and len(response.json()["data"]) == 1


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "storage": "reachable"}


def test_openapi_documents_the_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(ENDPOINTS) - {
        f"/v1/agents/{AGENT}",
        f"/v1/agents/{AGENT}/pipeline",
        "/v1/tasks/task-001/timeline",
    } <= set(paths)
    assert {"/v1/agents/{agent_id}", "/v1/tasks/{task_id}/timeline", "/v1/api-keys", "/health"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_websocket_without_a_key_gets_an_error_and_is_closed(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as socket:
        message = socket.receive_json()
        assert message["type"] == "error" and message["error"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401


def _unreachable(*_: Any, **__: Any) -> Any:
    raise StorageError("cannot reach ClickHouse at localhost:8123: connection refused")


# Storage whose every method fails, as when ClickHouse is down; built from the interface's abstract
# methods so that methods added to it fail too.
UnreachableStorage = type(
    "UnreachableStorage",
    (Storage,),
    {"database": "hiveboard", **{name: _unreachable for name in Storage.__abstractmethods__}},
)


@pytest.fixture
def down_client(key_store: KeyStore, owner: Tenant) -> Iterator[TestClient]:
    """An app whose data storage is down (the key store still answers)."""
    yield TestClient(create_app(UnreachableStorage(), key_store))


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/tasks", "/v1/events", "/v1/cost"])
def test_storage_errors_are_503_with_a_message(down_client: TestClient, owner: Tenant, path: str) -> None:
    response = down_client.get(path, headers=owner.headers())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert (
        "storage unavailable" in response.json()["message"]
        and "connection refused" in response.json()["message"]
    )


def test_health_reports_unreachable_storage(down_client: TestClient) -> None:
    response = down_client.get("/health")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
