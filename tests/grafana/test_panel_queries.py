"""Every panel's SQL, expanded as the ClickHouse plugin expands it, on chDB filled through HiveLoop:
each returns rows with the columns its visualization needs, from live-key data only."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest

from hiveboard.storage import QueryResult, Storage
from tests.grafana.fleet import TEST_KEY_AGENT
from tests.grafana.grafana_files import dashboards, panels, query_variables
from tests.grafana.plugin_macros import ALL, Selection, TimeRange, expand

# The task the timeline panels show: it has a plan, actions and LLM calls.
TIMELINE_TASK = "lead-001"
# Grafana's trace data frame (the aliases of the plugin's trace-id query).
TRACE_COLUMNS = {"traceID", "spanID", "parentSpanID", "serviceName", "operationName", "startTime", "duration",
                 "tags", "serviceTags"}  # fmt: skip
PANEL_IDS = [pytest.param(dashboard["uid"], panel["id"], id=f"{dashboard['uid']}:{panel['title']}")
             for dashboard, panel in panels()]  # fmt: skip


def dashboard_by_uid(uid: str) -> dict[str, Any]:
    (dashboard,) = [dashboard for dashboard in dashboards().values() if dashboard["uid"] == uid]
    return dashboard


def run(storage: Storage, sql: str, selections: dict[str, Selection], time_range: TimeRange) -> QueryResult:
    return storage.query(expand(sql, selections, time_range))


def resolve_variables(
    storage: Storage, dashboard: dict[str, Any], time_range: TimeRange, chosen: dict[str, Selection]
) -> dict[str, Selection]:
    """Each query variable in dashboard order, with its options from its own query: `chosen` values
    (which must be options), else All, or the first option of a single-valued one (as Grafana)."""
    selections: dict[str, Selection] = {}
    for variable in query_variables(dashboard):
        options = tuple(row[0] for row in run(storage, variable["query"], selections, time_range).rows)
        assert options, f"variable {variable['name']} has no values"
        selection = chosen.get(variable["name"], Selection([ALL] if variable["multi"] else options[0]))
        values = selection.value if isinstance(selection.value, list) else [selection.value]
        assert set(values) - {ALL} <= set(options), (variable["name"], options)
        selections[variable["name"]] = Selection(selection.value, options)
    return selections


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_visualizable(panel: dict[str, Any], result: QueryResult) -> None:
    """The columns the panel's visualization reads are there, with values of the right kind."""
    assert result.rows, f"{panel['title']}: no rows"
    rows = result.dicts()
    columns = set(result.column_names)
    numeric = {column for column in columns if any(is_number(row[column]) for row in rows)}
    match panel["type"]:
        case "traces":
            assert TRACE_COLUMNS <= columns, TRACE_COLUMNS - columns
            assert all(is_number(row["startTime"]) and is_number(row["duration"]) for row in rows)
            assert len({row["traceID"] for row in rows}) == 1, "one task, one trace"
            span_ids = {row["spanID"] for row in rows}
            assert all(row["parentSpanID"] in span_ids | {""} for row in rows), "a span's parent is missing"
        case "timeseries":
            assert isinstance(rows[0]["time"], datetime) and numeric - {"time"}, columns
        case "stat" | "bargauge":
            column = panel["options"]["reduceOptions"]["fields"].strip("/^$")
            assert column in numeric and not math.isnan(rows[0][column]), (column, rows)
        case "barchart":
            assert panel["options"]["xField"] in columns and numeric, columns
        case "piechart":
            assert numeric and columns - numeric, columns
        case "table":
            for override in panel["fieldConfig"]["overrides"]:
                assert override["matcher"]["options"] in columns, override["matcher"]["options"]
        case other:
            raise AssertionError(f"no check for panel type {other}")


@pytest.mark.parametrize(("uid", "panel_id"), PANEL_IDS)
def test_panel_returns_what_its_visualization_needs(
    fleet_storage: Storage, last_hour: TimeRange, uid: str, panel_id: int
) -> None:
    dashboard = dashboard_by_uid(uid)
    selections = resolve_variables(fleet_storage, dashboard, last_hour, {"task": Selection(TIMELINE_TASK)})
    (panel,) = [panel for panel in dashboard["panels"] if panel["id"] == panel_id]
    for target in panel["targets"]:
        result = run(fleet_storage, target["rawSql"], selections, last_hour)
        assert_visualizable(panel, result)
        assert TEST_KEY_AGENT not in repr(result.rows), "test-key data on a live dashboard"


@pytest.mark.parametrize("uid", sorted(dashboard["uid"] for dashboard in dashboards().values()))
def test_selected_agents_and_projects_filter_every_panel(
    fleet_storage: Storage, last_hour: TimeRange, uid: str
) -> None:
    chosen = {
        "agent": Selection(["lead-qualifier", "support-bot"]),
        "project": Selection(["sales-pipeline", "support"]),
        "task": Selection(TIMELINE_TASK),
    }
    dashboard = dashboard_by_uid(uid)
    selections = resolve_variables(fleet_storage, dashboard, last_hour, chosen)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            rows = run(fleet_storage, target["rawSql"], selections, last_hour).dicts()
            assert {row["AgentId"] for row in rows if "AgentId" in row} <= {"lead-qualifier", "support-bot"}
            assert {row["Project"] for row in rows if "Project" in row} <= {"sales-pipeline", "support"}


def test_a_time_range_without_data_leaves_the_trends_empty(
    fleet_storage: Storage, last_hour: TimeRange
) -> None:
    dashboard = dashboard_by_uid("hiveboard-hive")
    before = TimeRange(last_hour.start.replace(year=2020), last_hour.end.replace(year=2020), 15)
    selections = resolve_variables(fleet_storage, dashboard, last_hour, {})
    (throughput,) = [panel for panel in dashboard["panels"] if panel["title"] == "Throughput"]
    assert run(fleet_storage, throughput["targets"][0]["rawSql"], selections, before).rows == []
