"""Independent queries of one request run at the same time, results in order, errors not lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from hiveboard.api.queries.together import run_beside, run_together
from hiveboard.storage import StorageError


def test_results_come_in_the_order_of_the_calls_and_the_calls_overlap() -> None:
    both_running = threading.Barrier(2, timeout=5)  # each call waits for the other: only together

    def call(value: str) -> str:
        both_running.wait()
        return value

    assert run_together(lambda: call("agents"), lambda: call("costs")) == ["agents", "costs"]


def slow_call(finished: list[str]) -> Callable[[], str]:
    """A call that takes 0.2 s and notes in `finished` that it finished."""

    def slow() -> str:
        time.sleep(0.2)
        finished.append("slow")
        return "slow"

    return slow


def failing() -> str:
    raise StorageError("storage unavailable")


def test_the_first_error_propagates_once_every_call_has_finished() -> None:
    finished: list[str] = []
    with pytest.raises(StorageError, match="storage unavailable"):
        run_together(failing, slow_call(finished))
    assert finished == ["slow"]


def test_run_beside_overlaps_two_calls_that_each_use_the_pool() -> None:
    both_running = threading.Barrier(2, timeout=5)

    def card() -> list[str]:
        both_running.wait()
        return run_together(lambda: "agents", lambda: "costs")

    def tasks() -> str:
        both_running.wait()
        # Not one of the pool's threads: while it waits for the pool, the pool is not waiting on it.
        assert threading.current_thread().name.startswith("hiveboard-beside")
        return run_together(lambda: "tasks")[0]

    assert run_beside(card, tasks) == (["agents", "costs"], "tasks")


def test_run_beside_propagates_an_error_once_both_calls_have_finished() -> None:
    finished: list[str] = []
    with pytest.raises(StorageError, match="storage unavailable"):
        run_beside(failing, slow_call(finished))
    assert finished == ["slow"]
    with pytest.raises(StorageError, match="storage unavailable"):
        run_beside(slow_call(finished), failing)
    assert finished == ["slow", "slow"]
