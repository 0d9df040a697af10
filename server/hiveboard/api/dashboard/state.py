"""What the dashboard's routes and the API's authentication share: `app.state.dashboard`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from hiveboard.api.dashboard.assets import Assets
from hiveboard.api.dashboard.sessions import SessionSigner, SignInTokens
from hiveboard.storage import Storage
from hiveboard.storage.ended_sessions import EndedSessions


@dataclass(frozen=True)
class DashboardConfig:
    """How the dashboard runs: the secret that signs its sessions (`sessions.session_secret`; the
    processes behind one load balancer share it) and Grafana's base URL for links to trace views."""

    session_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    grafana_url: str | None = None


@dataclass(frozen=True)
class Dashboard:
    """The dashboard of one app: session signer, sessions signed out, sign-in link tokens, files,
    Grafana's URL."""

    signer: SessionSigner
    ended_sessions: EndedSessions
    sign_in_tokens: SignInTokens
    assets: Assets
    grafana_url: str | None

    @classmethod
    def of(cls, config: DashboardConfig, storage: Storage) -> Dashboard:
        return cls(
            signer=SessionSigner(config.session_secret),
            ended_sessions=EndedSessions(storage),
            sign_in_tokens=SignInTokens(),
            assets=Assets(),
            grafana_url=config.grafana_url.rstrip("/") if config.grafana_url else None,
        )


def dashboard_of(connection: HTTPConnection) -> Dashboard:
    """The dashboard of the app serving `connection` (a request or a WebSocket)."""
    return connection.app.state.dashboard
