"""Shared fixtures: every test starts and ends with HiveLoop reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import hiveloop
from hiveloop.testing import CapturedSpans


@pytest.fixture
def captured(hiveloop_capture: CapturedSpans) -> CapturedSpans:
    """HiveLoop's own pytest fixture (its `pytest11` plugin): `captured.init(...)` sends spans to
    memory, with deterministic ids and clock."""
    return hiveloop_capture


@pytest.fixture(autouse=True)
def _reset_hiveloop() -> Iterator[None]:
    hiveloop.reset()
    yield
    hiveloop.reset()
