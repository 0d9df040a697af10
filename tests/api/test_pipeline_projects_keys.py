"""The Pipeline tab, projects (CRUD, listed on first use) and API keys of the caller's tenant."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant
from tests.api.scenarios import AGENT, lead_task

# ---- pipeline -------------------------------------------------------------------------------------------


def test_pipeline_shows_issues_queue_todos_schedule_and_approvals(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        agent = run.hb.agent(AGENT, heartbeat_interval=0)
        agent.report_issue(
            "CRM 403", severity="high", issue_id="crm-403", category="permissions", occurrence_count=8
        )
        agent.report_issue("Cache misses", severity="low", issue_id="cache", category="other")
        agent.report_issue("Fixed already", severity="critical", issue_id="gone")
        agent.resolve_issue("Recovered", issue_id="gone")
        agent.queue_snapshot(
            depth=2,
            oldest_age_seconds=120,
            items=[{"id": "job-1", "priority": "high"}, {"id": "job-2", "priority": "normal"}],
            processing={"id": "job-0", "summary": "Sending email"},
        )
        agent.todo(
            "td-1", action="created", summary="Retry lead TechNova", priority="high", source="failed_run"
        )
        agent.todo("td-2", action="created", summary="Done soon")
        agent.todo("td-2", action="completed", summary="Done")
        agent.scheduled([{"id": "crm-sync", "name": "CRM Sync", "interval": "10m", "enabled": True}])
        with agent.task("refund") as task:
            task.request_approval("Refund $450", approver="finance-team")
    pipeline = client.get(f"/v1/agents/{AGENT}/pipeline", headers=tenant.headers()).json()
    assert [
        (i["issue_id"], i["severity"], i["category"], i["occurrence_count"]) for i in pipeline["issues"]
    ] == [
        ("crm-403", "high", "permissions", 8),
        ("cache", "low", "other", 1),
    ]
    queue = pipeline["queue"]
    assert queue["depth"] == 2 and queue["oldest_age_seconds"] == 120 and queue["source"] == "manual"
    assert [item["id"] for item in queue["items"]] == ["job-1", "job-2"] and queue["processing"][
        "id"
    ] == "job-0"
    (todo,) = pipeline["todos"]
    assert (todo["todo_id"], todo["summary"], todo["priority"], todo["source"]) == (
        "td-1",
        "Retry lead TechNova",
        "high",
        "failed_run",
    )
    assert pipeline["scheduled"]["items"][0]["name"] == "CRM Sync"
    (approval,) = pipeline["pending_approvals"]
    assert (approval["task_id"], approval["approver"]) == ("refund", "finance-team")
    fleet = client.get("/v1/pipeline", headers=tenant.headers()).json()
    assert fleet["totals"] == {
        "queue_depth": 2,
        "active_issues": 2,
        "open_todos": 1,
        "pending_approvals": 1,
        "scheduled_items": 1,
    }
    assert [agent["agent_id"] for agent in fleet["agents"]] == [AGENT]


def test_queue_provider_items_reach_the_pipeline(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        run.hb.agent(
            AGENT, heartbeat_interval=3600, queue_provider=lambda: {"depth": 1, "items": [{"id": "q-1"}]}
        )
        run.wait_for_heartbeat(AGENT)
    queue = client.get(f"/v1/agents/{AGENT}/pipeline", headers=tenant.headers()).json()["queue"]
    assert (queue["depth"], queue["source"], queue["items"]) == (1, "provider", [{"id": "q-1"}])


# ---- projects ---------------------------------------------------------------------------------------------


def test_a_project_named_by_a_task_is_listed_on_first_use(
    client: TestClient, telemetry: Telemetry, tenant: Tenant
) -> None:
    assert client.get("/v1/projects", headers=tenant.headers()).json()["data"] == []
    with telemetry.hiveloop(tenant) as run:
        lead_task(run.hb, "t1", project="sales-pipeline")
        lead_task(run.hb, "t2", project="sales-pipeline")
    (project,) = client.get("/v1/projects", headers=tenant.headers()).json()["data"]
    assert (project["slug"], project["name"], project["source"], project["task_count"]) == (
        "sales-pipeline",
        "sales-pipeline",
        "auto",
        2,
    )


def test_project_crud(client: TestClient, telemetry: Telemetry, tenant: Tenant) -> None:
    headers = tenant.headers()
    created = client.post("/v1/projects", json={"slug": "support", "name": "Support"}, headers=headers)
    assert created.status_code == 201 and created.json()["source"] == "created"
    assert client.post("/v1/projects", json={"slug": "support"}, headers=headers).status_code == 409
    assert client.post("/v1/projects", json={"slug": "bad slug!"}, headers=headers).status_code == 422
    renamed = client.patch("/v1/projects/support", json={"description": "Tier 1"}, headers=headers).json()
    assert (renamed["name"], renamed["description"]) == ("Support", "Tier 1")
    assert client.get("/v1/projects/support", headers=headers).json()["description"] == "Tier 1"
    assert client.delete("/v1/projects/support", headers=headers).status_code == 204
    assert client.get("/v1/projects/support", headers=headers).status_code == 404
    assert client.delete("/v1/projects/support", headers=headers).status_code == 404
    # A task naming a deleted project lists it again.
    with telemetry.hiveloop(tenant) as run:
        lead_task(run.hb, "t1", project="support")
    assert client.get("/v1/projects/support", headers=headers).json()["source"] == "auto"
    # Renaming an auto project stores it.
    assert (
        client.patch("/v1/projects/support", json={"name": "Help"}, headers=headers).json()["source"]
        == "created"
    )


def test_read_keys_cannot_change_projects_and_test_projects_stay_apart(
    client: TestClient, tenant: Tenant
) -> None:
    denied = client.post("/v1/projects", json={"slug": "x"}, headers=tenant.headers("read"))
    assert denied.status_code == 403 and "read keys" in denied.json()["message"]
    assert (
        client.post("/v1/projects", json={"slug": "sandbox"}, headers=tenant.headers("test")).status_code
        == 201
    )
    assert client.get("/v1/projects", headers=tenant.headers("live")).json()["data"] == []
    assert [p["slug"] for p in client.get("/v1/projects", headers=tenant.headers("test")).json()["data"]] == [
        "sandbox"
    ]


# ---- API keys -------------------------------------------------------------------------------------------------


def test_api_keys_list_create_revoke_within_the_tenant(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    listed = client.get("/v1/api-keys", headers=tenant.headers("read")).json()["data"]
    assert sorted(key["key_type"] for key in listed) == ["live", "read", "test"]
    assert all("key" not in key and key["prefix"].startswith("hb_") for key in listed)
    created = client.post(
        "/v1/api-keys", json={"key_type": "read", "name": "grafana"}, headers=tenant.headers()
    )
    assert created.status_code == 201
    new_key = created.json()
    assert new_key["key"].startswith("hb_read_") and new_key["name"] == "grafana"
    assert client.get("/v1/agents", headers={"x-api-key": new_key["key"]}).status_code == 200
    # Another tenant can neither see nor revoke it.
    other_ids = {
        key["key_id"] for key in client.get("/v1/api-keys", headers=other_tenant.headers()).json()["data"]
    }
    assert new_key["key_id"] not in other_ids
    assert (
        client.delete(f"/v1/api-keys/{new_key['key_id']}", headers=other_tenant.headers()).status_code == 404
    )
    revoked = client.delete(f"/v1/api-keys/{new_key['key_id']}", headers=tenant.headers())
    assert revoked.status_code == 200 and revoked.json()["revoked"]
    assert client.get("/v1/agents", headers={"x-api-key": new_key["key"]}).status_code == 401


def test_only_live_keys_create_or_revoke_keys(client: TestClient, tenant: Tenant) -> None:
    for key_type in ("read", "test"):
        response = client.post("/v1/api-keys", json={"key_type": "live"}, headers=tenant.headers(key_type))
        assert response.status_code == 403 and "live key" in response.json()["message"]
    live_id = next(
        key["key_id"]
        for key in client.get("/v1/api-keys", headers=tenant.headers()).json()["data"]
        if key["key_type"] == "live"
    )
    assert client.delete(f"/v1/api-keys/{live_id}", headers=tenant.headers("read")).status_code == 403
