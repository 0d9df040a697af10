"""The dashboards as Grafana loads them: generated, unique, wired to the datasource and variables."""

from __future__ import annotations

import re

from hiveboard.storage.schema.hiveboard_tables import LLM_CALLS_TABLE
from tests.grafana.grafana_files import DASHBOARDS_DIR, PLUGIN_ID, dashboards, load_generator, panels

EXPECTED_TITLES = {"The Hive", "Tasks & Timeline", "Cost Explorer", "Pipeline", "Insights"}
# Variables Grafana itself provides to data links and the plugin's macros (not dashboard variables).
BUILTINS = {"__value", "__url_time_range", "__data", "__field", "__from", "__to", "__interval", "__all"}
VARIABLE_REFERENCE = re.compile(r"\$\{(\w+)(?:[.:][^}]*)?\}|\$(\w+)")
TRACE_COLUMNS = ("traceID", "spanID", "parentSpanID", "serviceName", "operationName", "startTime", "duration",
                 "tags", "serviceTags")  # fmt: skip


def test_committed_json_is_what_the_generator_writes() -> None:
    rendered = load_generator().rendered_files()
    assert sorted(rendered) == sorted(path.name for path in DASHBOARDS_DIR.glob("*.json"))
    for name, text in rendered.items():
        assert (DASHBOARDS_DIR / name).read_text() == text, f"{name}: run python grafana/generate.py"


def test_one_dashboard_per_view_with_unique_uids_panel_ids_and_titles() -> None:
    loaded = dashboards().values()
    assert {dashboard["title"].removeprefix("HiveBoard · ") for dashboard in loaded} == EXPECTED_TITLES
    uids = [dashboard["uid"] for dashboard in loaded]
    assert len(set(uids)) == len(uids)
    for dashboard in loaded:
        for key in ("id", "title"):
            values = [panel[key] for panel in dashboard["panels"]]
            assert len(set(values)) == len(values), (dashboard["uid"], key)


def test_every_panel_and_query_uses_the_clickhouse_datasource_variable() -> None:
    for dashboard, panel in panels():
        expected = {"type": PLUGIN_ID, "uid": "${datasource}"}
        assert panel["datasource"] == expected, (dashboard["uid"], panel["title"])
        assert panel["targets"] and all(target["datasource"] == expected for target in panel["targets"])
        assert all(target["editorType"] == "sql" and target["rawSql"].strip() for target in panel["targets"])
    for dashboard in dashboards().values():
        datasource = dashboard["templating"]["list"][0]
        assert (datasource["name"], datasource["type"], datasource["query"]) == (
            "datasource",
            "datasource",
            PLUGIN_ID,
        )


def test_every_referenced_variable_is_defined() -> None:
    for dashboard in dashboards().values():
        defined = {variable["name"] for variable in dashboard["templating"]["list"]}
        assert {"datasource", "environment", "project", "agent"} <= defined
        texts = [panel["title"] for panel in dashboard["panels"]]
        texts += [target["rawSql"] for panel in dashboard["panels"] for target in panel["targets"]]
        texts += [variable.get("query", "") for variable in dashboard["templating"]["list"][1:]]
        texts += [link["url"] for _, link in _data_links(dashboard)]
        for text in texts:
            for braced, plain in VARIABLE_REFERENCE.findall(text):
                name = braced or plain
                assert name in defined or name in BUILTINS or plain.startswith("__"), (dashboard["uid"], name)


def test_data_links_open_dashboards_that_exist() -> None:
    uids = {dashboard["uid"] for dashboard in dashboards().values()}
    links = [link for dashboard in dashboards().values() for column, link in _data_links(dashboard)]
    assert any("var-task=" in link["url"] for link in links), "a task row must link to its timeline"
    for link in links:
        target = re.match(r"/d/([\w-]+)/", link["url"])
        assert target and target.group(1) in uids, link["url"]


def test_every_hb_table_read_is_scoped_to_live_keys_and_costs_come_from_hb_llm_costs() -> None:
    for dashboard, panel in panels():
        for target in panel["targets"]:
            sql = target["rawSql"]
            reads = len(re.findall(r"FROM hb_\w+", sql))
            assert sql.count("KeyType = 'live'") >= reads, (dashboard["uid"], panel["title"])
            assert LLM_CALLS_TABLE + "\n" not in sql and f"FROM {LLM_CALLS_TABLE} " not in sql
    for dashboard in dashboards().values():
        for variable in dashboard["templating"]["list"][1:]:
            assert "KeyType = 'live'" in variable["query"], (dashboard["uid"], variable["name"])


def test_the_task_trace_uses_the_plugin_trace_format_and_column_aliases() -> None:
    trace_panels = [panel for _, panel in panels() if panel["type"] == "traces"]
    assert len(trace_panels) == 1
    (target,) = trace_panels[0]["targets"]
    assert (target["format"], target["queryType"]) == (3, "traces")
    for column in TRACE_COLUMNS:
        assert f" AS {column}," in target["rawSql"] or f" AS {column}\n" in target["rawSql"], column


def _data_links(dashboard: dict) -> list[tuple[str, dict]]:
    return [
        (override["matcher"]["options"], link)
        for panel in dashboard["panels"]
        for override in panel["fieldConfig"]["overrides"]
        for prop in override["properties"]
        if prop["id"] == "links"
        for link in prop["value"]
    ]
