"""The independent queries of one request, run at the same time.

A view's answer often needs several small queries that do not depend on each other (The Hive: the
agents, their tasks, activity, costs, queues, issues, approvals). Run one after another, their
latencies add up; ClickHouse runs each mostly on one core, and the storage serves concurrent calls
(chDB with a client per thread, a ClickHouse server over HTTP), so run together they take about as
long as the slowest. The pool is shared and bounded, and its tasks never wait on each other.

>>> agents, costs = run_together(lambda: storage.query(AGENTS), lambda: storage.query(COSTS))
... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

First = TypeVar("First")
Second = TypeVar("Second")

_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hiveboard-query")


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """The results of `calls`, in their order, run concurrently; the first exception raised (in that
    order) propagates once every call has finished."""
    futures = [_POOL.submit(call) for call in calls]
    wait(futures)  # none is left running behind an exception
    return [future.result() for future in futures]


def run_beside(first: Callable[[], First], second: Callable[[], Second]) -> tuple[First, Second]:
    """The results of two calls that each use `run_together`, run at the same time: `second` in a
    thread of its own, not one of the pool's (a pool task waiting for other pool tasks could wait
    for ever once every thread of the pool waits); an exception of either propagates once both
    have finished."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hiveboard-beside") as beside:
        second_result = beside.submit(second)
        try:
            first_result = first()
        finally:
            wait([second_result])
    return first_result, second_result.result()
