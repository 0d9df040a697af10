"""Who the caller is: `GET /v1/session`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SessionInfo(BaseModel):
    """The key a request authenticated with and the data it sees; the dashboard shows it as a badge."""

    tenant_id: str
    key_id: str = Field(description="`key_...`, or `dev` for the HIVEBOARD_DEV_KEY")
    key_type: Literal["live", "test", "read"]
    data: Literal["live", "test"] = Field(description="Test keys see test data; live and read keys live data")
    authenticated_by: Literal["api_key", "session"] = Field(
        description="An API key header, or the dashboard's session cookie"
    )
    session_expires_at: datetime | None = Field(description="When the dashboard session ends; None for a key")
    grafana_url: str | None = Field(
        description="Grafana's base URL when the server was started with --grafana-url, for links to traces"
    )
