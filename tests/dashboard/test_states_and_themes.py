"""The dashboard's shared behaviour in a real Chromium over a real `hiveboard serve`: a list view's
loading and error states (with its retry) while the query API is held back or fails, relative times
that tick without a reload, and light and dark themes that follow the system's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests.dashboard.conftest import VIEW_TIMEOUT_MS, Console, signed_in_context
from tests.serve_process import ServeProcess

# Chromium logs every failed fetch itself; the 500s these tests answer are expected.
EXPECTED_500_LOG = re.compile(r"status of 500")
# A relative time as the dashboard writes one ("12 s ago", "3 min ago").
RECENT = re.compile(r"^\d+ (s|min) ago$")


def is_task_list_request(url: str) -> bool:
    """The Tasks view's `GET /v1/tasks?...` (not a task's own `/v1/tasks/ID...`)."""
    return urlsplit(url).path == "/v1/tasks"


def relative_luminance(css_colour: str) -> float:
    """WCAG's relative luminance of an `rgb(r, g, b)` colour: 0 is black, 1 is white."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_colour)[:3])

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def body_background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


class HeldRequests:
    """A route handler that holds requests until `release()`, then lets every request through."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.released = False

    def handle(self, route: Route) -> None:
        if self.released:
            route.continue_()
        else:
            self.routes.append(route)

    def release(self) -> None:
        self.released = True
        for route in self.routes:
            route.continue_()


@pytest.fixture
def own_context(browser: Browser, server: ServeProcess, fleet: None) -> Iterator[BrowserContext]:
    """A signed-in context of its own, for a test that installs a fake clock: Playwright's clock
    belongs to the whole context, and the module's other tests share `signed_in`."""
    with signed_in_context(browser, server) as context:
        yield context


def test_a_list_view_shows_its_loading_state_until_its_data_arrives(page: Page) -> None:
    held = HeldRequests()
    # Not unrouted later: removing the route would let the held requests through by itself.
    page.route(is_task_list_request, held.handle)
    page.goto("/tasks")
    expect(page.locator(".state-loading")).to_have_text("Loading tasks…")
    expect(page.locator("table.tasks")).to_have_count(0)
    assert held.routes, "the Tasks view asked nothing of /v1/tasks"
    held.release()
    expect(page.locator('table.tasks tr[data-task="task-wait"]')).to_be_visible()
    expect(page.locator(".state-loading")).to_have_count(0)


def test_a_failing_list_view_shows_its_error_and_retries_on_demand(signed_in: BrowserContext) -> None:
    page = signed_in.new_page()  # the `page` fixture would fail on the 500 Chromium logs
    page.set_default_timeout(VIEW_TIMEOUT_MS)
    console = Console()
    console.watch(page)
    try:
        page.route(
            is_task_list_request,
            lambda route: route.fulfill(
                status=500, json={"error": "storage_unavailable", "message": "ClickHouse did not answer"}
            ),
        )
        page.goto("/tasks")
        error = page.locator(".state-error")
        expect(error).to_contain_text("Could not load this view.")
        expect(error).to_contain_text("ClickHouse did not answer")  # the API's own message
        expect(page.locator("table.tasks")).to_have_count(0)

        page.unroute_all()
        # The retry asks again at once (the view's own 10 s refresh would come much later).
        with page.expect_request(lambda request: is_task_list_request(request.url)):
            error.get_by_role("button", name="Try again").click()
        expect(page.locator('table.tasks tr[data-task="task-wait"]')).to_be_visible()
        expect(page.locator(".state-error")).to_have_count(0)
    finally:
        page.close()
    unexpected = [message for message in console.errors if not EXPECTED_500_LOG.search(message)]
    assert unexpected == [], f"the dashboard logged errors: {unexpected}"


def test_relative_times_tick_without_a_reload(own_context: BrowserContext) -> None:
    page = own_context.new_page()
    page.set_default_timeout(VIEW_TIMEOUT_MS)
    console = Console()
    console.watch(page)
    reloads: list[Request] = []
    try:
        own_context.clock.install()  # the page's timers and Date, from now, moved by the test
        page.goto("/")
        page.on(
            "request", lambda request: reloads.append(request) if request.is_navigation_request() else None
        )
        heartbeat = page.locator('[data-agent="stuck-agent"] .heartbeat time')
        expect(heartbeat).to_have_text(RECENT)  # the fleet was sent moments ago
        own_context.clock.fast_forward("02:00:00")
        expect(heartbeat).to_have_text("2 h ago")
        assert reloads == [], "the page was loaded again"
    finally:
        page.close()
    assert console.errors == [], f"the dashboard logged errors: {console.errors}"


def test_the_theme_follows_the_system_and_dark_is_dark(page: Page) -> None:
    page.emulate_media(color_scheme="light")
    page.goto("/")
    expect(page.locator("main")).to_contain_text("The Hive")
    light = body_background(page)
    page.emulate_media(color_scheme="dark")  # the system switches while the page is open
    dark = body_background(page)
    assert dark != light
    assert relative_luminance(dark) < 0.05, f"the dark theme's background {dark} is not dark"
    assert relative_luminance(light) > 0.8, f"the light theme's background {light} is not light"
