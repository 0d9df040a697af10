"""Screenshots of every dashboard view, light and dark, from the demo fleet.

Run `python scripts/screenshots.py` (about a minute): it starts `hiveboard serve` on a temporary
directory, plays `hiveboard demo` against it (sped up, so that a few minutes of fleet activity fill
every view), signs a real Chromium in, and, while the demo still runs (so the fleet is live: working,
waiting, stuck), saves a 1280x800 PNG of each of the nine views in both colour schemes to
`docs/screenshots/` (`VIEW-light.png`, `VIEW-dark.png`).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dashboard.conftest import find_chromium  # noqa: E402  (the repository's root, above)
from tests.serve_process import DEV_KEY, ServeProcess, hiveboard_command, serve_process  # noqa: E402

OUT_DIR = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
# Each view, its path (`{agent}` and `{task}` filled from the demo's data) and what shows it rendered.
VIEWS = (
    ("hive", "/", ".cards > li"),
    ("agent", "/agents/{agent}", ".why"),
    ("tasks", "/tasks", "table.tasks tbody tr"),
    ("timeline", "/tasks/{task}", ".wf-row"),
    ("activity", "/activity", ".events li"),
    ("cost", "/cost", ".series-chart canvas"),
    ("pipeline", "/pipeline", ".pipeline-agents"),
    ("insights", "/insights", ".turns"),
    ("settings", "/settings", "table.keys"),
)
# Charts draw and relative times settle after the content appears.
SETTLE_MS = 600


@contextmanager
def playing_demo(server: ServeProcess, warm_up_s: float, speed: float) -> Iterator[None]:
    """`hiveboard demo` playing against `server`, for `warm_up_s` before the block and until its end."""
    demo = [hiveboard_command(), "demo", "--endpoint", server.api_url, "--key", DEV_KEY]
    process = subprocess.Popen([*demo, "--speed", str(speed), "--seed", "7"])
    try:
        time.sleep(warm_up_s)
        if process.poll() is not None:
            raise SystemExit(f"`hiveboard demo` stopped early (exit {process.returncode})")
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def interesting_task(server: ServeProcess) -> tuple[str, str]:
    """The agent that most needs attention, and a finished task with the most going on (actions,
    LLM calls, a plan) to show in the timeline."""
    get = lambda path, **params: httpx.get(  # noqa: E731
        server.api_url + path, params=params, headers=server.auth_headers, timeout=30
    ).json()
    agent = get("/v1/agents", sort="attention")["data"][0]["agent_id"]
    tasks = get("/v1/tasks", range="1h", limit=200)["data"]
    finished = [task for task in tasks if task["duration_ms"] is not None] or tasks
    task = max(
        finished, key=lambda task: (task["action_count"] + task["llm_call_count"], task["error_count"])
    )
    return agent, task["task_id"]


def shoot(browser: Browser, server: ServeProcess, scheme: str, agent: str, task: str) -> list[Path]:
    context = browser.new_context(base_url=server.api_url, viewport=VIEWPORT, color_scheme=scheme)
    signin = context.new_page()
    signin.goto("/signin")
    signin.fill("#key", DEV_KEY)
    signin.click("button[type=submit]")
    signin.wait_for_url(f"{server.api_url}/")
    saved = []
    for name, path, selector in VIEWS:
        page = context.new_page()
        # The demo's activity is minutes old: the last hour shows it best.
        page.goto(path.format(agent=agent, task=task) + "?range=1h")
        page.locator(selector).first.wait_for(state="visible", timeout=20_000)
        page.wait_for_timeout(SETTLE_MS)
        target = OUT_DIR / f"{name}-{scheme}.png"
        page.screenshot(path=str(target))
        saved.append(target)
        page.close()
    context.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=25,
        help="how long the demo plays before the first screenshot (default 25)",
    )
    parser.add_argument("--speed", type=float, default=12, help="the demo's time acceleration (default 12)")
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="hiveboard-screenshots-") as data,
        serve_process(Path(data)) as server,
        playing_demo(server, args.seconds, args.speed),
        sync_playwright() as playwright,
    ):
        agent, task = interesting_task(server)
        browser = playwright.chromium.launch(executable_path=find_chromium())
        for scheme in ("light", "dark"):
            for path in shoot(browser, server, scheme, agent, task):
                print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1024:.0f} KiB")
        browser.close()


if __name__ == "__main__":
    main()
