"""The committed Grafana files, as Grafana loads them, and the generator that writes the dashboards."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA_DIR = REPO / "grafana"
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"
DATASOURCES_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "hiveboard.yaml"
DASHBOARD_PROVIDERS_FILE = GRAFANA_DIR / "provisioning" / "dashboards" / "hiveboard.yaml"
PLUGIN_ID = "grafana-clickhouse-datasource"


def load_generator() -> ModuleType:
    """`grafana/generate.py`, imported as the script it is."""
    spec = importlib.util.spec_from_file_location("hiveboard_grafana_generate", GRAFANA_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboards() -> dict[str, dict[str, Any]]:
    """Committed dashboards by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def panels() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(dashboard, panel) for every panel of every committed dashboard."""
    for dashboard in dashboards().values():
        for panel in dashboard["panels"]:
            yield dashboard, panel


def query_variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [variable for variable in dashboard["templating"]["list"] if variable["type"] == "query"]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())
