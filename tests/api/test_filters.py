"""The choices of the dashboard's global filters: `GET /v1/filters`."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import lead_task


def test_the_filters_offer_the_agents_their_environments_and_the_listed_projects(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    headers = tenant.headers()
    assert client.get("/v1/filters", headers=headers).json() == {
        "environments": [],
        "projects": [],
        "agents": [],
    }
    with telemetry.hiveloop(tenant) as run:
        lead_task(run.hb, "t1", agent_id="router", project="sales")
        lead_task(run.hb, "t2", agent_id="qualifier", project="support")
    with telemetry.hiveloop(tenant, environment="staging") as run:
        run.hb.agent("canary", heartbeat_interval=0)
    assert (
        client.post("/v1/projects", json={"slug": "billing", "name": "Billing"}, headers=headers).status_code
        == 201
    )
    # Deleted, and no task named it since: no longer a choice.
    assert client.delete("/v1/projects/support", headers=headers).status_code == 204

    choices = client.get("/v1/filters", headers=headers).json()
    assert choices == {
        "environments": ["production", "staging"],
        "projects": ["billing", "sales"],
        "agents": ["canary", "qualifier", "router"],
    }
    # The same projects as the project list, by slug (not by display name).
    assert choices["projects"] == [
        p["slug"] for p in client.get("/v1/projects", headers=headers).json()["data"]
    ]


def test_the_filters_offer_only_the_keys_data(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, other_tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant, key_type="test") as run:
        lead_task(run.hb, "t1", agent_id="sandbox-agent", project="sandbox")
    assert client.get("/v1/filters", headers=tenant.headers("test")).json() == {
        "environments": ["production"],
        "projects": ["sandbox"],
        "agents": ["sandbox-agent"],
    }
    empty = {"environments": [], "projects": [], "agents": []}
    assert client.get("/v1/filters", headers=tenant.headers("live")).json() == empty
    assert client.get("/v1/filters", headers=other_tenant.headers("test")).json() == empty
    assert client.get("/v1/filters").status_code == 401
