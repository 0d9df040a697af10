"""Who is asking: `GET /v1/session`; the dashboard's sign-out: `DELETE /v1/session`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from hiveboard.api.auth import CurrentPrincipal, DataScope, dashboard_session
from hiveboard.api.dashboard.sessions import SESSION_COOKIE
from hiveboard.api.dashboard.state import dashboard_of
from hiveboard.api.errors import ERROR_RESPONSES
from hiveboard.api.models.session import SessionInfo
from hiveboard.storage.keys import Principal, headers_key

router = APIRouter(prefix="/v1/session", tags=["session"], responses=ERROR_RESPONSES)


@router.get("", summary="The tenant, key and data (live or test) of this request's credentials")
def get_session(request: Request, principal: CurrentPrincipal) -> SessionInfo:
    return session_info(request, principal)


def session_info(request: Request, principal: Principal) -> SessionInfo:
    """Who `request` is, as `GET /v1/session` says it (the dashboard's page carries it too)."""
    dashboard = dashboard_of(request)
    by_key = headers_key(request.headers) is not None
    session = None if by_key else dashboard.signer.verify(request.cookies.get(SESSION_COOKIE))
    return SessionInfo(
        tenant_id=principal.tenant_id,
        key_id=principal.key_id,
        key_type=principal.key_type.value,
        data=DataScope.of(principal).key_type,
        authenticated_by="api_key" if by_key else "session",
        session_expires_at=datetime.fromtimestamp(session.expires_at, UTC) if session else None,
        grafana_url=dashboard.grafana_url,
    )


@router.delete(
    "",
    status_code=204,
    summary="Sign the dashboard out: end its session, everywhere, and delete its cookie "
    "(with a session: needs X-HiveBoard-CSRF)",
)
def delete_session(request: Request, _: CurrentPrincipal) -> Response:
    if headers_key(request.headers) is None:  # signed in with a session, not an API key
        session = dashboard_session(request)
        dashboard_of(request).ended_sessions.end(session.session_id, session.expires_at)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
