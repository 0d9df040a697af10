"""Who is asking and which data they may see.

Every request carries an API key (`Authorization: Bearer hb_...` or `x-api-key`; the WebSocket
also accepts `?key=`, since browsers cannot set headers on one) or the dashboard's session cookie,
which names a key that is looked up again on every request. A cookie-authenticated request that
changes something must show it comes from the dashboard itself (`require_same_origin`), since a
browser sends cookies with requests other sites make. The key's tenant and type decide
the `DataScope` every query is restricted to: test keys see the data sent with test keys, live and
read keys the data sent with live keys, so the two never mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPBearer
from starlette.requests import HTTPConnection

from hiveboard.api.dashboard.sessions import CSRF_HEADER, SESSION_COOKIE, Session
from hiveboard.api.dashboard.state import dashboard_of
from hiveboard.storage import Storage
from hiveboard.storage.keys import AuthenticationError, KeyStore, KeyType, Principal, headers_key
from hiveboard.storage.schema.hiveboard_tables import DEFAULT_KEY_TYPE, DEFAULT_TENANT
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID

# Declared for OpenAPI's "Authorize" dialog; `headers_key` reads the same two headers.
_BEARER = HTTPBearer(auto_error=False, description="`Authorization: Bearer hb_live_...`")
_API_KEY_HEADER = APIKeyHeader(name="x-api-key", auto_error=False, description="`x-api-key: hb_live_...`")


@dataclass(frozen=True)
class DataScope:
    """The rows a caller may read: its tenant, and `live` or `test` data by its key type."""

    tenant_id: str
    key_type: str

    @classmethod
    def of(cls, principal: Principal) -> DataScope:
        key_type = KeyType.TEST if principal.key_type is KeyType.TEST else KeyType.LIVE
        return cls(principal.tenant_id, key_type.value)

    def parameters(self, **more: Any) -> dict[str, Any]:
        """Query parameters for `SCOPE_SQL`, plus `more`."""
        return {"tenant": self.tenant_id, "key_type": self.key_type, **more}


# The condition every query on an `hb_*` table starts with: the leading columns of their ORDER BY.
SCOPE_SQL = "TenantId = {tenant:String} AND KeyType = {key_type:String}"
# The same scope on `otel_traces` rows, whose tenant and key type are resource attributes (empty
# means the defaults, as in the `hb_*` materialized views).
OTEL_SCOPE_SQL = (
    f"coalesce(nullIf(ResourceAttributes['{HIVEBOARD_TENANT_ID}'], ''), '{DEFAULT_TENANT}')"
    " = {tenant:String}"
    f" AND coalesce(nullIf(ResourceAttributes['{HIVEBOARD_KEY_TYPE}'], ''), '{DEFAULT_KEY_TYPE}')"
    " = {key_type:String}"
)


def key_store(request: Request) -> KeyStore:
    return request.app.state.key_store


# Requests that change something: a cookie-authenticated one must prove it is the dashboard's own.
_MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def authenticated_principal(
    request: Request,
    store: Annotated[KeyStore, Depends(key_store)],
    _bearer: Annotated[Any, Security(_BEARER)],
    _api_key: Annotated[Any, Security(_API_KEY_HEADER)],
) -> Principal:
    """The caller's principal, from its API key header, else its dashboard session; an
    `AuthenticationError` becomes a 401 in `errors.py`."""
    return principal_of(request, store, headers_key(request.headers))


def principal_of(connection: HTTPConnection, store: KeyStore, key: str | None) -> Principal:
    """The principal of `key`, else (no key, a session cookie) of the dashboard session, which
    must come from a page of this server when it opens a WebSocket or changes something."""
    if key is not None or SESSION_COOKIE not in connection.cookies:
        return store.authenticate(key)
    if connection.scope["type"] == "websocket":
        require_same_origin(connection, needs_origin=True)
    elif connection.scope["method"] in _MUTATING_METHODS:
        require_same_origin(connection, needs_header=True)
    return store.authenticate_id(dashboard_session(connection).key_id)


SESSION_REASONS: Final = frozenset({"expired", "ended"})
"""The `AuthenticationError.reason`s of a dashboard session refused (`dashboard_session`)."""


def dashboard_session(connection: HTTPConnection) -> Session:
    """The verified session of the connection's cookie; raises `AuthenticationError` when there is
    none, or it is forged, expired or signed out."""
    dashboard = dashboard_of(connection)
    session = dashboard.signer.verify(connection.cookies.get(SESSION_COOKIE))
    if session is None:
        raise AuthenticationError(
            "expired", "the dashboard session expired or is not valid: sign in again at /signin"
        )
    if dashboard.ended_sessions.is_ended(session.session_id):
        raise AuthenticationError("ended", "the dashboard session was signed out: sign in again at /signin")
    return session


def require_same_origin(
    connection: HTTPConnection, *, needs_origin: bool = False, needs_header: bool = False
) -> None:
    """403 unless the connection comes from a page of this server: an Origin header, when sent
    (browsers send one with every POST and WebSocket; `needs_origin` requires it), names this host,
    and with `needs_header` it carries the dashboard's CSRF header, which a cross-site form cannot set."""
    origin = connection.headers.get("origin")
    host = connection.headers.get("host", "")
    if origin is None and needs_origin:
        raise HTTPException(403, "cross-origin use of a dashboard session is refused: no Origin header")
    if origin is not None and urlsplit(origin).netloc != host:
        raise HTTPException(403, "cross-origin use of a dashboard session is refused; use an API key")
    if needs_header and CSRF_HEADER.lower() not in connection.headers:
        raise HTTPException(
            403, f"changes made with a dashboard session need the {CSRF_HEADER} header; or use an API key"
        )


def data_scope(principal: Annotated[Principal, Depends(authenticated_principal)]) -> DataScope:
    return DataScope.of(principal)


def writer(principal: Annotated[Principal, Depends(authenticated_principal)]) -> Principal:
    """Live and test keys may change their tenant's settings (projects); read keys only read."""
    if principal.key_type is KeyType.READ:
        raise HTTPException(
            status_code=403,
            detail="read keys (hb_read_...) can only read; "
            "use a live or test key of this tenant to make changes",
        )
    return principal


def key_manager(principal: Annotated[Principal, Depends(authenticated_principal)]) -> Principal:
    """Only live keys create and revoke API keys: a test or read key must not mint a live key."""
    if principal.key_type is not KeyType.LIVE:
        raise HTTPException(
            status_code=403,
            detail=f"{principal.key_type.value} keys cannot create or revoke API keys; "
            "use a live key (hb_live_...)",
        )
    return principal


Scope = Annotated[DataScope, Depends(data_scope)]
Writer = Annotated[Principal, Depends(writer)]
KeyManager = Annotated[Principal, Depends(key_manager)]
CurrentPrincipal = Annotated[Principal, Depends(authenticated_principal)]


def storage(request: Request) -> Storage:
    return request.app.state.storage


StorageDep = Annotated[Storage, Depends(storage)]
