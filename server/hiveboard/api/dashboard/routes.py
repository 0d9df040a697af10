"""The dashboard's HTTP routes: its pages, its assets and signing in.

* `GET /` and every view's path (`VIEWS`): the dashboard's page, whose script routes in the browser
  (History API); without a valid session, a redirect to the sign-in page that comes back here.
* `GET /signin?token=...`: a one-time sign-in link (`hiveboard serve` prints one): sets the session
  and redirects to `/`, so the token leaves the address bar. `GET /signin`: the sign-in page, which
  POSTs an API key to `POST /signin`.
* `GET /assets/<build>/<path>`: the dashboard's files, cached for good (see `assets`).

Signing out is the API's `DELETE /v1/session`.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Final
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from hiveboard.api.auth import dashboard_session, require_same_origin
from hiveboard.api.dashboard.sessions import SESSION_COOKIE
from hiveboard.api.dashboard.state import Dashboard, dashboard_of
from hiveboard.api.routers.session import session_info
from hiveboard.storage.keys import AuthenticationError, KeyStore

# The first segment of every view's path. The views of later releases are listed too, so adding
# one to the browser's router needs no change here. None of them is an API path (`/v1`, `/docs`...).
VIEWS: Final = ("agents", "tasks", "activity", "cost", "pipeline", "insights", "settings")
# What the sign-in page says when the dashboard sent the browser there (`?reason=`): fixed texts,
# so nothing from the URL is ever shown.
REASONS: Final = {
    "signed_out": "You are signed out.",
    "session_ended": "Your session ended: it was signed out (in another window, perhaps), it expired, or "
    "the API key it was signed in with was revoked. Sign in again with a valid key.",
}
_USED_LINK = (
    "This sign-in link was already used, or is from an earlier start of the server: sign in with the API "
    "key `hiveboard serve` printed (it is kept in the file api-key of its data directory)."
)
# A sign-in form is a few hundred bytes; anything much larger is not one.
_MAX_FORM_BYTES = 8192
_PAGE_HEADERS = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(request: Request) -> Response:
    return _dashboard_page(request)


# Explicit paths per view (not a catch-all), so a GET of an API path keeps its own answer.
for _view in VIEWS:
    router.add_api_route(f"/{_view}", index, methods=["GET"])
    router.add_api_route(f"/{_view}/{{rest:path}}", index, methods=["GET"])


def _dashboard_page(request: Request) -> Response:
    """The dashboard's page for a signed-in browser, else the way to the sign-in page."""
    dashboard = dashboard_of(request)
    if SESSION_COOKIE not in request.cookies:
        return _to_sign_in(request, reason=None)
    try:
        principal = request.app.state.key_store.authenticate_id(dashboard_session(request).key_id)
    except AuthenticationError:
        return _to_sign_in(request, reason="session_ended")
    # The page says who is signed in, so the dashboard starts without asking `GET /v1/session`.
    session = session_info(request, principal).model_dump_json()
    return _page(dashboard, "index.html", request, session=session)


def _to_sign_in(request: Request, reason: str | None) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = f"next={quote(target, safe='')}" + (f"&reason={reason}" if reason else "")
    response = RedirectResponse(f"/signin?{query}", status_code=303)
    if reason:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/signin")
def sign_in_page(
    request: Request,
    token: Annotated[str | None, Query()] = None,
    reason: Annotated[str | None, Query()] = None,
    next: Annotated[str, Query()] = "/",
) -> Response:
    dashboard = dashboard_of(request)
    if token is not None:
        key_id = dashboard.sign_in_tokens.redeem(token)
        if key_id is None:
            return _sign_in_form(request, _USED_LINK, next, status=400)
        return _signed_in(request, key_id, "/")
    return _sign_in_form(request, REASONS.get(reason or "", ""), next)


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    require_same_origin(request)
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return _sign_in_form(request, "That is not a sign-in form: send the field key only.", "/", status=413)
    form = parse_qs(body.decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    next_path = (form.get("next") or ["/"])[0]
    store: KeyStore = request.app.state.key_store
    try:
        principal = store.authenticate(key)
    except AuthenticationError as error:
        return _sign_in_form(request, str(error), next_path, status=401)
    return _signed_in(request, principal.key_id, next_path)


def _signed_in(request: Request, key_id: str, next_path: str) -> RedirectResponse:
    dashboard = dashboard_of(request)
    response = RedirectResponse(_local(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        dashboard.signer.sign(key_id),
        max_age=dashboard.signer.lifetime_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _sign_in_form(request: Request, message: str, next_path: str, status: int = 200) -> HTMLResponse:
    page = dashboard_of(request).assets.page(
        "signin.html", message=message, next=_local(next_path), hidden="" if message else "hidden"
    )
    return HTMLResponse(page, status, headers=_page_headers(dashboard_of(request)))


def _page(dashboard: Dashboard, name: str, request: Request, **values: str) -> Response:
    page = dashboard.assets.page(name, **values)
    etag = '"' + hashlib.sha256(page.encode()).hexdigest()[:20] + '"'
    headers = {**_page_headers(dashboard), "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(page, headers=headers)


def _page_headers(dashboard: Dashboard) -> dict[str, str]:
    return {
        **_PAGE_HEADERS,
        "Content-Security-Policy": dashboard.assets.content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _local(path: str) -> str:
    """`path` when it is a path of this site, else `/`: a sign-in never sends a browser elsewhere."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/assets/{build}/{path:path}")
def asset(request: Request, build: str, path: str) -> Response:
    assets = dashboard_of(request).assets
    found = assets.get(path) if build == assets.build else None
    if found is None:
        raise HTTPException(404, "no such dashboard file; reload the page")
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "ETag": found.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            found.gzipped, media_type=found.media_type, headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(found.body, media_type=found.media_type, headers=headers)
