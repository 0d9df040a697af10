"""Serving the dashboard and signing in, against a real `hiveboard serve`: the printed one-time link,
the key form, the session cookie as an API credential (and its CSRF and Origin rules), sign-out, a
revoked key's session, the assets' caching, and the API's own paths left alone."""

from __future__ import annotations

import gzip
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from websockets.sync.client import connect

from hiveboard.api.dashboard.assets import STATIC_DIR, Assets
from hiveboard.api.dashboard.sessions import CSRF_HEADER, SESSION_COOKIE
from tests.dashboard.conftest import sign_in_with_key
from tests.serve_process import DEV_KEY, ServeProcess

ASSET_BUDGET_BYTES = 300 * 1024
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session_cookie(server: ServeProcess) -> str:
    """A session made through the key form, as a browser's cookie jar would keep it."""
    response = httpx.post(f"{server.api_url}/signin", data={"key": DEV_KEY, "next": "/tasks"})
    assert response.status_code == 303 and response.headers["location"] == "/tasks"
    return response.cookies[SESSION_COOKIE]


@pytest.fixture
def client(server: ServeProcess, session_cookie: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_url, cookies={SESSION_COOKIE: session_cookie}) as client:
        yield client


def test_the_printed_link_signs_in_once_and_leaves_the_address_bar(
    browser: Browser, server: ServeProcess
) -> None:
    link = server.sign_in_link
    assert link.startswith(f"{server.api_url}/signin?token=")
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.wait_for_url(f"{server.api_url}/")
    expect(page.locator(".data-badge")).to_contain_text("default")
    expect(page.locator(".data-badge")).to_contain_text("live")
    # A fresh install: how to send data here, without printing the key.
    getting_started = page.locator(".getting-started")
    expect(getting_started).to_contain_text(
        f'hiveloop.init(api_key="hb_live_...", endpoint="{server.api_url}")'
    )
    expect(getting_started).to_contain_text(f"hiveboard demo --endpoint {server.api_url} --key hb_live_...")
    assert DEV_KEY not in page.content()
    # So do the views of what agents send, in place of their "nothing matches" state.
    for path in ("/tasks", "/activity", "/cost", "/pipeline"):
        page.goto(f"{server.api_url}{path}")
        expect(getting_started).to_contain_text(f'endpoint="{server.api_url}"')
    cookie = next(cookie for cookie in context.cookies() if cookie["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # not readable by scripts
    context.close()

    again = browser.new_context()
    page = again.new_page()
    page.goto(link)
    expect(page.locator(".notice")).to_contain_text("already used")
    assert SESSION_COOKIE not in {cookie["name"] for cookie in again.cookies()}
    again.close()


def test_the_key_form_signs_in_and_back_to_the_page_asked_for(browser: Browser, server: ServeProcess) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.api_url}/tasks?status=failed")
    page.wait_for_url("**/signin?next=*")
    page.fill("#key", "hb_live_not_a_key_of_this_server_0000000000")
    page.click("button[type=submit]")
    expect(page.locator(".notice")).to_contain_text("unknown API key")
    page.fill("#key", DEV_KEY)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.api_url}/tasks?status=failed")
    expect(page.locator("h1")).to_have_text("Tasks")
    assert DEV_KEY not in page.content() and DEV_KEY not in page.url
    context.close()


def test_sign_out_ends_the_session(browser: Browser, server: ServeProcess) -> None:
    context = browser.new_context()
    sign_in_with_key(context, server)
    page = context.new_page()
    page.goto(f"{server.api_url}/")
    cookie = next(cookie for cookie in context.cookies() if cookie["name"] == SESSION_COOKIE)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin?reason=signed_out")
    expect(page.locator(".notice")).to_have_text("You are signed out.")
    page.goto(f"{server.api_url}/")
    page.wait_for_url("**/signin?next=*")
    context.close()
    # A copy of the cookie taken before signing out signs no other browser in.
    elsewhere = browser.new_context()
    elsewhere.add_cookies([cookie])
    page = elsewhere.new_page()
    page.goto(f"{server.api_url}/")
    page.wait_for_url("**/signin?next=*&reason=session_ended")
    expect(page.locator(".notice")).to_contain_text("signed out")
    elsewhere.close()


def test_a_revoked_keys_session_ends_with_a_message(browser: Browser, server: ServeProcess) -> None:
    created = httpx.post(
        f"{server.api_url}/v1/api-keys",
        json={"key_type": "test", "name": "soon revoked"},
        headers=server.auth_headers,
    ).json()
    context = browser.new_context()
    sign_in_with_key(context, server, created["key"])
    page = context.new_page()
    page.goto(f"{server.api_url}/")
    expect(page.locator(".data-badge")).to_contain_text("test")  # a test key sees test data
    revoked = httpx.delete(f"{server.api_url}/v1/api-keys/{created['key_id']}", headers=server.auth_headers)
    assert revoked.status_code == 200
    # The Hive refreshes every 5 s; the key cache forgets a key within 5 s.
    page.wait_for_url("**/signin?reason=session_ended*", timeout=15_000)
    expect(page.locator(".notice")).to_contain_text("revoked")
    context.close()


def test_the_session_cookie_reads_the_api_and_says_who_it_is(client: httpx.Client) -> None:
    session = client.get("/v1/session").json()
    assert session["tenant_id"] == "default" and session["key_id"] == "dev"
    assert session["data"] == "live" and session["authenticated_by"] == "session"
    assert session["session_expires_at"] is not None and session["grafana_url"] is None
    assert client.get("/v1/agents").status_code == 200


def test_the_page_says_who_is_signed_in_as_the_api_does(client: httpx.Client) -> None:
    page = client.get("/tasks").text
    found = re.search(r'<div id="app" data-session="([^"]*)"', page)
    assert found is not None, "the page does not carry the session"
    assert json.loads(html.unescape(found.group(1))) == client.get("/v1/session").json()


def test_a_forged_or_missing_session_is_refused(server: ServeProcess, session_cookie: str) -> None:
    forged = session_cookie.rsplit(".", 1)[0] + ".AAAA"
    answer = httpx.get(f"{server.api_url}/v1/agents", cookies={SESSION_COOKIE: forged})
    assert answer.status_code == 401 and "sign in again" in answer.json()["message"]
    # A signature of non-ASCII characters (sent raw as Latin-1 bytes) is refused too, not a 500.
    raw_cookie = f"{SESSION_COOKIE}={session_cookie.rsplit('.', 1)[0]}.\xe9\xe9".encode("latin-1")
    non_ascii = httpx.get(f"{server.api_url}/v1/agents", headers=[(b"Cookie", raw_cookie)])
    assert non_ascii.status_code == 401
    page = httpx.get(f"{server.api_url}/tasks", headers=[(b"Cookie", raw_cookie)])
    assert page.status_code == 303 and page.headers["location"].startswith("/signin?")
    assert httpx.get(f"{server.api_url}/v1/agents").status_code == 401
    to_sign_in = httpx.get(f"{server.api_url}/tasks")
    assert to_sign_in.status_code == 303 and to_sign_in.headers["location"] == "/signin?next=%2Ftasks"


def test_changes_with_a_session_need_the_csrf_header_and_our_origin(
    client: httpx.Client, server: ServeProcess
) -> None:
    project = {"slug": "dashboard", "name": "Dashboard project"}
    refused = client.post("/v1/projects", json=project)
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["message"]
    foreign = client.post(
        "/v1/projects", json=project, headers={CSRF_HEADER: "1", "Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403
    allowed = client.post("/v1/projects", json=project, headers={CSRF_HEADER: "1", "Origin": server.api_url})
    assert allowed.status_code == 201, allowed.text
    # An API key needs neither: it is not sent by browsers on their own.
    by_key = httpx.post(
        f"{server.api_url}/v1/projects",
        json={"slug": "by-key", "name": "By key"},
        headers=server.auth_headers,
    )
    assert by_key.status_code == 201


def test_the_stream_takes_the_session_from_our_pages_only(server: ServeProcess, session_cookie: str) -> None:
    cookie = {"Cookie": f"{SESSION_COOKIE}={session_cookie}"}
    with connect(server.stream_url, additional_headers={**cookie, "Origin": server.api_url}) as socket:
        socket.send(json.dumps({"action": "subscribe", "channels": ["events"]}))
        assert json.loads(socket.recv(timeout=10))["type"] == "subscribed"
    with connect(server.stream_url, additional_headers={**cookie, "Origin": "http://evil.example"}) as socket:
        assert json.loads(socket.recv(timeout=10))["error"] == "forbidden"


def new_session(server: ServeProcess) -> str:
    """The cookie of a session made through the key form."""
    return httpx.post(f"{server.api_url}/signin", data={"key": DEV_KEY}).cookies[SESSION_COOKIE]


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(server: ServeProcess) -> None:
    cookie, other = new_session(server), new_session(server)
    with httpx.Client(base_url=server.api_url, cookies={SESSION_COOKIE: cookie}) as client:
        with connect(
            server.stream_url,
            additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": server.api_url},
        ) as socket:
            socket.send(json.dumps({"action": "subscribe", "channels": ["agents"]}))
            assert client.delete("/v1/session").status_code == 403  # a cross-site form could do this
            answer = client.delete("/v1/session", headers={CSRF_HEADER: "1"})
            assert answer.status_code == 204
            assert f"{SESSION_COOKIE}=" in answer.headers["set-cookie"]
            assert "Max-Age=0" in answer.headers["set-cookie"]
            # The stream the session opened closes at its next check of the session.
            while (message := json.loads(socket.recv(timeout=10)))["type"] != "error":
                pass
            assert message["error"] == "unauthorized" and "signed out" in message["message"]
    # A copy of the cookie, kept by the browser or taken from it, no longer works anywhere.
    copied = {SESSION_COOKIE: cookie}
    api = httpx.get(f"{server.api_url}/v1/agents", cookies=copied)
    assert api.status_code == 401 and "signed out" in api.json()["message"]
    page = httpx.get(f"{server.api_url}/tasks", cookies=copied)
    assert page.status_code == 303 and "reason=session_ended" in page.headers["location"]
    with connect(
        server.stream_url,
        additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": server.api_url},
    ) as socket:
        assert json.loads(socket.recv(timeout=10))["error"] == "unauthorized"
    # Another session of the same key goes on.
    assert httpx.get(f"{server.api_url}/v1/agents", cookies={SESSION_COOKIE: other}).status_code == 200


def test_sign_in_is_refused_from_another_site(server: ServeProcess) -> None:
    answer = httpx.post(
        f"{server.api_url}/signin", data={"key": DEV_KEY}, headers={"Origin": "http://evil.example"}
    )
    assert answer.status_code == 403 and SESSION_COOKIE not in answer.cookies


def test_sign_in_never_redirects_to_another_site(server: ServeProcess) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = httpx.post(f"{server.api_url}/signin", data={"key": DEV_KEY, "next": target})
        assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_assets_are_cached_for_good_and_pages_revalidated(client: httpx.Client) -> None:
    index = client.get("/")
    assert index.status_code == 200 and index.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in index.headers["content-security-policy"]
    assert client.get("/", headers={"If-None-Match": index.headers["etag"]}).status_code == 304
    prefix = Assets().prefix
    assert f'src="{prefix}/js/main.js"' in index.text
    script = client.get(f"{prefix}/js/main.js", headers={"Accept-Encoding": "gzip"})
    assert script.status_code == 200 and script.headers["content-encoding"] == "gzip"
    assert "immutable" in script.headers["cache-control"] and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert (
        client.get(f"{prefix}/js/main.js", headers={"If-None-Match": script.headers["etag"]}).status_code
        == 304
    )
    assert client.get("/assets/0000000000000000/js/main.js").status_code == 404
    assert client.get(f"{prefix}/../../app.py").status_code == 404


def test_the_dashboard_fits_its_budget() -> None:
    total = Assets().total_gzipped_bytes()
    assert 0 < total <= ASSET_BUDGET_BYTES, f"{total} bytes compressed"
    assert total > len(gzip.compress((STATIC_DIR / "vendor/preact/preact.mjs").read_bytes()))


def test_the_dashboard_leaves_the_apis_paths_alone(server: ServeProcess, client: httpx.Client) -> None:
    assert client.get("/v1/traces").status_code == 405  # OTLP/HTTP: POST only, as before
    assert client.get("/health").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/v1/session"]
    assert client.get("/nothing-here").status_code == 404
    for view in ("/", "/tasks", "/tasks/task-1", "/agents/a", "/cost", "/settings"):
        assert client.get(view).headers["content-type"].startswith("text/html"), view
