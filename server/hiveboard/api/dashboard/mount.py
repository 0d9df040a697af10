"""Mounting the dashboard on the query API app, and the sign-in links `hiveboard serve` prints."""

from __future__ import annotations

from fastapi import FastAPI

from hiveboard.api.dashboard.routes import router
from hiveboard.api.dashboard.state import Dashboard, DashboardConfig
from hiveboard.storage import Storage


def install_dashboard(app: FastAPI, config: DashboardConfig, storage: Storage) -> Dashboard:
    """Mount the dashboard's routes on `app`, whose sessions signed out are kept in `storage`; they
    serve only `/`, the views' paths, `/signin` and `/assets/`, so they never shadow the API (`/v1`,
    `/docs`, `/health`...)."""
    dashboard = Dashboard.of(config, storage)
    app.state.dashboard = dashboard
    app.include_router(router)
    return dashboard


def sign_in_link(app: FastAPI, base_url: str, key_id: str) -> str:
    """A one-time link that signs a browser in to the dashboard of `app` as the key `key_id`."""
    token = app.state.dashboard.sign_in_tokens.issue(key_id)
    return f"{base_url}/signin?token={token}"
