"""Shared fixtures: every test starts and ends with HiveLoop reset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import hiveloop
from hiveloop.testing import CapturedSpans, capture


@pytest.fixture
def captured() -> Iterator[CapturedSpans]:
    """Spans of the next `hiveloop.init()`, in memory, with deterministic ids and clock."""
    with capture() as spans:
        yield spans


@pytest.fixture(autouse=True)
def _reset_hiveloop() -> Iterator[None]:
    hiveloop.reset()
    yield
    hiveloop.reset()
