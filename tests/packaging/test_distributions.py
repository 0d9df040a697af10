"""The two distributions built as wheels: `hiveloop` (the SDK alone) and `hiveboard` (the server)."""

from __future__ import annotations

import email.parser
import subprocess
import sys
import time
import tomllib
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

import hiveloop
from tests.serve_process import serve_process

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / "sdk"
SERVER_DIR = ROOT / "server"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both wheels, built as a release would build them (without fetching a build backend)."""
    out = tmp_path_factory.mktemp("wheels")
    for project in (SDK_DIR, SERVER_DIR):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "-q",
                "-w",
                str(out),
                str(project),
            ],
            check=True,
            capture_output=True,
        )
    return {path.name.split("-")[0]: path for path in out.glob("*.whl")}


def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def wheel_metadata(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = [entry for entry in archive.namelist() if entry.endswith(f".dist-info/{name}")]
        return archive.read(path).decode()


def requirements(wheel: Path) -> list[str]:
    metadata = email.parser.Parser().parsestr(wheel_metadata(wheel, "METADATA"))
    return [
        requirement
        for requirement in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in requirement
    ]


def test_the_sdk_wheel_holds_the_sdk_and_the_generated_constants_only(wheels: dict[str, Path]) -> None:
    files = wheel_files(wheels["hiveloop"])
    top_level = {name.split("/")[0] for name in files if not name.startswith("hiveloop-")}
    assert top_level == {"hiveloop", "hiveboard_semconv"}
    assert "hiveboard_semconv/attributes.py" in files
    assert not [name for name in files if name.endswith((".yaml", "registry.py", "generate.py"))]
    assert sorted(requirement.split(">")[0] for requirement in requirements(wheels["hiveloop"])) == [
        "opentelemetry-api",
        "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-sdk",
    ]
    entry_points = wheel_metadata(wheels["hiveloop"], "entry_points.txt")
    assert "console_scripts" not in entry_points
    assert "[pytest11]\nhiveloop = hiveloop.pytest_plugin" in entry_points


def test_the_server_wheel_carries_every_module_of_the_server_and_its_command(wheels: dict[str, Path]) -> None:
    files = set(wheel_files(wheels["hiveboard"]))
    sources = {path.relative_to(SERVER_DIR).as_posix() for path in (SERVER_DIR / "hiveboard").rglob("*.py")}
    assert sources and sources <= files
    dashboard = SERVER_DIR / "hiveboard" / "api" / "dashboard" / "static"
    assets = {path.relative_to(SERVER_DIR).as_posix() for path in dashboard.rglob("*") if path.is_file()}
    assert {
        "hiveboard/api/dashboard/static/index.html",
        "hiveboard/api/dashboard/static/vendor/preact/LICENSE",
    } <= assets
    assert assets <= files
    assert not [name for name in files if name.startswith(("hiveloop/", "hiveboard_semconv/", "tests/"))]
    assert "hiveboard = hiveboard.cli:main" in wheel_metadata(wheels["hiveboard"], "entry_points.txt")


def test_the_server_pins_this_repositorys_sdk_at_its_own_version(wheels: dict[str, Path]) -> None:
    server_version = tomllib.loads((SERVER_DIR / "pyproject.toml").read_text())["project"]["version"]
    assert server_version == hiveloop.__version__
    assert wheels["hiveloop"].name.startswith(f"hiveloop-{hiveloop.__version__}-")
    # Exactly our version: an unrelated `hiveloop` on the package index can never satisfy it.
    assert f"hiveloop=={hiveloop.__version__}" in requirements(wheels["hiveboard"])


def test_the_sdk_wheel_alone_sends_a_task_to_hiveboard(wheels: dict[str, Path], tmp_path: Path) -> None:
    """A fresh virtual environment with the SDK wheel only (its dependencies from the package index):
    `import hiveloop` works, a task reaches a real `hiveboard serve`, and no server is installed."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheels["hiveloop"])],
        check=True,
        capture_output=True,
        timeout=600,
    )
    with serve_process(tmp_path / "data") as server:
        script = f"""
import importlib.util, shutil, sys
import hiveloop
hb = hiveloop.init(api_key="{server.key}", endpoint="{server.api_url}")
agent = hb.agent("wheel-agent", heartbeat_interval=0)
with agent.task("wheel-task-1", project="packaging") as task:
    task.llm_call("score", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=2, cost=0.001)
assert hiveloop.flush(timeout=10)
missing = [name for name in ("hiveboard", "chdb", "fastapi", "uvicorn", "grpc", "yaml")
           if importlib.util.find_spec(name) is not None]
print("installed:", missing)
"""
        run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "installed: []"
        assert not (environment / "bin" / "hiveboard").exists()
        deadline = time.monotonic() + 15
        tasks: list[dict] = []
        while time.monotonic() < deadline and not tasks:
            answer = httpx.get(
                f"{server.api_url}/v1/tasks", params={"agent_id": "wheel-agent"}, headers=server.auth_headers
            )
            tasks = answer.json()["data"]
            time.sleep(0.2)
    assert [(task["task_id"], task["derived_status"], task["llm_call_count"]) for task in tasks] == [
        ("wheel-task-1", "completed", 1)
    ]
