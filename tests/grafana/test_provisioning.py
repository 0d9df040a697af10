"""Grafana provisioning: the ClickHouse datasource with its OTel settings, and the dashboard provider."""

from __future__ import annotations

import re

from hiveboard.storage.schema import SchemaConfig
from hiveboard.storage.schema.otel_tables import LOGS_TABLE, TRACES_TABLE
from tests.grafana.grafana_files import (
    DASHBOARD_PROVIDERS_FILE,
    DATASOURCES_FILE,
    PLUGIN_ID,
    dashboards,
    load_yaml,
)

ENV_REFERENCE = re.compile(r"^\$\{[A-Z_]+\}$")


def test_the_datasource_is_the_clickhouse_plugin_the_dashboards_select() -> None:
    provisioning = load_yaml(DATASOURCES_FILE)
    assert provisioning["apiVersion"] == 1
    (datasource,) = provisioning["datasources"]
    assert datasource["type"] == PLUGIN_ID
    for dashboard in dashboards().values():
        assert dashboard["templating"]["list"][0]["current"]["value"] == datasource["uid"]


def test_the_connection_comes_from_environment_variables_and_uses_the_hiveboard_database() -> None:
    (datasource,) = load_yaml(DATASOURCES_FILE)["datasources"]
    settings = datasource["jsonData"]
    assert settings["protocol"] in ("native", "http")
    for key in ("host", "port", "username"):
        assert ENV_REFERENCE.match(str(settings[key])), key
    assert ENV_REFERENCE.match(datasource["secureJsonData"]["password"])
    assert settings["defaultDatabase"] == SchemaConfig().database


def test_otel_traces_and_logs_settings_point_at_our_raw_tables() -> None:
    (datasource,) = load_yaml(DATASOURCES_FILE)["datasources"]
    settings = datasource["jsonData"]
    for signal, table in (("traces", TRACES_TABLE), ("logs", LOGS_TABLE)):
        assert settings[signal]["defaultDatabase"] == SchemaConfig().database
        assert settings[signal]["defaultTable"] == table
        assert settings[signal]["otelEnabled"] is True
    assert settings["traces"]["durationUnit"] == "nanoseconds"  # otel_traces.Duration


def test_the_dashboard_provider_loads_files() -> None:
    provisioning = load_yaml(DASHBOARD_PROVIDERS_FILE)
    assert provisioning["apiVersion"] == 1
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
