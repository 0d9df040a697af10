"""`GET /v1/session`: who the caller is and which data it sees, for the dashboard's badge."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hiveboard.api import create_app
from hiveboard.api.dashboard.state import DashboardConfig
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore
from tests.api.conftest import Tenant


def test_each_key_type_says_its_tenant_and_data(client: TestClient, tenant: Tenant) -> None:
    for key_type, data in (("live", "live"), ("test", "test"), ("read", "live")):
        response = client.get("/v1/session", headers=tenant.headers(key_type))
        assert response.status_code == 200, response.text
        session = response.json()
        assert session["tenant_id"] == tenant.id and session["key_type"] == key_type
        assert session["data"] == data and session["authenticated_by"] == "api_key"
        assert session["key_id"].startswith("key_") and session["session_expires_at"] is None
        assert session["grafana_url"] is None


def test_without_a_key_it_is_a_401(client: TestClient) -> None:
    response = client.get("/v1/session")
    assert response.status_code == 401 and "missing API key" in response.json()["message"]


def test_grafanas_url_is_given_to_the_dashboard(
    storage: Storage, key_store: KeyStore, tenant: Tenant
) -> None:
    app = create_app(storage, key_store, dashboard=DashboardConfig(grafana_url="https://grafana.example/"))
    with TestClient(app) as client:
        session = client.get("/v1/session", headers=tenant.headers()).json()
    assert session["grafana_url"] == "https://grafana.example"
