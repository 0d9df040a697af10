"""How the dashboard's tests find their browser (`find_chromium` in this folder's conftest), without
a browser: a system Chromium on PATH comes first; else Playwright's own, downloaded if need be; and
when all of that fails, the run fails (never skips) with the command that installs one, whether the
download failed or hung.

PATH, Playwright's Chromium and the download are stood in for here: this tests the fixture's own
logic, not the machine it runs on."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import conftest
from tests.dashboard.conftest import find_chromium

INSTALL_COMMAND = "apt-get install -y chromium"


def executable(directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


class FakeInstall:
    """`subprocess.run` for the Playwright install: records the command, then answers as told."""

    def __init__(self, returncode: int = 1, stderr: str = "", hangs: bool = False) -> None:
        self.returncode = returncode
        self.stderr = stderr
        self.hangs = hangs
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        if self.hangs:
            raise subprocess.TimeoutExpired(command, options.get("timeout", 0))
        return subprocess.CompletedProcess(command, self.returncode, stdout="", stderr=self.stderr)


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH of one empty directory: no system Chromium."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", str(directory))
    return directory


def test_a_chromium_on_path_is_used_and_playwright_is_not_asked(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = executable(empty_path, "chromium")

    def must_not_be_asked() -> str | None:
        raise AssertionError("Playwright's Chromium was looked for although one is on PATH")

    monkeypatch.setattr(conftest, "_playwright_chromium", must_not_be_asked)
    monkeypatch.setattr(subprocess, "run", FakeInstall(returncode=0))
    assert find_chromium() == str(chromium)


def test_playwrights_chromium_is_downloaded_when_none_is_on_path(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install = FakeInstall(returncode=0)
    downloaded = "/home/user/.cache/ms-playwright/chromium-1/chrome-linux/chrome"
    # Missing before the download, there after it.
    monkeypatch.setattr(conftest, "_playwright_chromium", lambda: downloaded if install.commands else None)
    monkeypatch.setattr(subprocess, "run", install)
    assert find_chromium() == downloaded
    assert len(install.commands) == 1
    assert install.commands[0][-3:] == ["playwright", "install", "chromium"]


def test_without_any_chromium_the_run_fails_with_the_command_that_installs_one(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conftest, "_playwright_chromium", lambda: None)
    monkeypatch.setattr(
        subprocess, "run", FakeInstall(returncode=1, stderr="Host system is missing dependencies")
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        find_chromium()
    message = str(failure.value)
    assert message.endswith(f"Install one with: {INSTALL_COMMAND}")
    assert "Host system is missing dependencies" in message  # why Playwright's download did not do


def test_a_download_that_hangs_fails_the_run_with_the_same_command(
    empty_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hanging = FakeInstall(hangs=True)
    monkeypatch.setattr(conftest, "_playwright_chromium", lambda: None)
    monkeypatch.setattr(subprocess, "run", hanging)
    with pytest.raises(pytest.fail.Exception) as failure:
        find_chromium()
    message = str(failure.value)
    assert message.endswith(f"Install one with: {INSTALL_COMMAND}")
    assert f"did not finish within {conftest.PLAYWRIGHT_INSTALL_TIMEOUT_S} s" in message
    assert len(hanging.commands) == 1
