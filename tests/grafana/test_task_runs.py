"""A task id that ran twice, each run in a trace of its own: the Tasks & Timeline dashboard offers the
runs latest first, shows the latest unless a link names another (`var-trace`, as HiveBoard's
timeline links to the run it shows), and every panel of the task shows the chosen run only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hiveboard.storage import ChDBStorage, Storage
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveloop.testing import capture
from tests.grafana.fleet import ending_before_now
from tests.grafana.plugin_macros import Selection, TimeRange
from tests.grafana.test_panel_queries import dashboard_by_uid, resolve_variables, run
from tests.stored_spans import store_spans

TASK = "nightly-report"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Storage, list[str]]]:
    """A storage where `TASK` ran twice (the second failed), and the trace ids of its runs in order."""
    storage = ChDBStorage(Path(tmp_path_factory.mktemp("chdb")))
    try:
        migrate(storage, SchemaConfig())
        with capture(deterministic=False) as captured:
            hb = captured.init(api_key="hb_live_dev000000000000000000000000000000")
            agent = hb.agent("reporter", type="ops", heartbeat_interval=0)
            with agent.task(TASK, project="ops") as task:
                task.event("custom", payload={"kind": "note", "summary": "first run"})
            try:
                with agent.task(TASK, project="ops") as task:
                    task.event("custom", payload={"kind": "note", "summary": "second run"})
                    raise TimeoutError("the warehouse did not answer")
            except TimeoutError:
                pass
        # Moved seconds back, as the fleet's: the plugin's time filter has whole seconds.
        spans = ending_before_now(list(captured.spans))
        store_spans(storage, spans)
        runs = sorted({(span.start_time, span.context.trace_id) for span in spans if span.parent is None
                       and (span.attributes or {}).get("hiveboard.task.id") == TASK})  # fmt: skip
        yield storage, [format(trace_id, "032x") for _, trace_id in runs]
    finally:
        storage.close()


def story(storage: Storage, time_range: TimeRange, **chosen: str) -> tuple[list[str], list[str], set[str]]:
    """The run options of `TASK`, then the summaries of its story panel and the trace ids of its
    timeline panel, with the variables `chosen` (Grafana's defaults for the rest)."""
    dashboard = dashboard_by_uid("hiveboard-tasks")
    selections = resolve_variables(
        storage,
        dashboard,
        time_range,
        {"task": Selection(TASK)} | {name: Selection(value) for name, value in chosen.items()},
    )
    panels = {panel["title"]: panel["targets"][0]["rawSql"] for panel in dashboard["panels"]}
    story_rows = run(storage, panels["Story of task $task"], selections, time_range).dicts()
    trace_rows = run(storage, panels["Timeline of task $task"], selections, time_range).dicts()
    return (
        list(selections["trace"].options),
        [row["Summary"] for row in story_rows if row["Summary"].endswith("run")],
        {row["traceID"] for row in trace_rows},
    )


def test_the_latest_run_is_shown_and_a_link_can_name_another(
    two_runs: tuple[Storage, list[str]], last_hour: TimeRange
) -> None:
    storage, (first, second) = two_runs
    assert first != second
    assert story(storage, last_hour) == ([second, first], ["second run"], {second})
    assert story(storage, last_hour, trace=first) == ([second, first], ["first run"], {first})
