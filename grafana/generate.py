"""Generate HiveBoard's Grafana dashboards, `grafana/dashboards/*.json`, from the SQL in `grafana/panels.py`.

Run `python grafana/generate.py` after changing a panel; a test checks that the committed JSON is
exactly what this script writes. The panels query the `hb_*` tables (and `otel_traces` for the trace
view) through the official `grafana-clickhouse-datasource` plugin, with its macros
(`$__timeFilter`, `$__timeInterval`, `$__conditionalAll`...) and the dashboard variables
datasource, environment, project and agent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import panels  # noqa: E402  (a sibling module: this file runs as a script)

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39  # Grafana 10.4 / 11
GRID_WIDTH = 24


def variable_json(variable: panels.Variable) -> dict[str, Any]:
    if variable.sql is None:  # the datasource picker
        return {
            "name": variable.name,
            "label": variable.label,
            "type": "datasource",
            "query": panels.PLUGIN_ID,
            "current": {"text": panels.DATASOURCE_NAME, "value": panels.DATASOURCE_UID},
            "hide": 0,
            "refresh": 1,
            "regex": "",
            "options": [],
        }
    every = variable.multi
    return {
        "name": variable.name,
        "label": variable.label,
        "type": "query",
        "datasource": panels.DATASOURCE,
        "query": variable.sql,
        "definition": variable.sql,
        "multi": variable.multi,
        "includeAll": every,
        "current": {"text": ["All"], "value": ["$__all"]} if every else {},
        "hide": 0,
        "refresh": 2,  # on time range change
        "sort": 0,  # the query's own order
        "regex": "",
        "options": [],
    }


def target_json(panel: panels.Panel) -> dict[str, Any]:
    return {
        "refId": "A",
        "datasource": panels.DATASOURCE,
        "editorType": "sql",
        "format": panel.query_format,
        "queryType": panel.query_type,
        "rawSql": panel.sql,
    }


def panel_json(panel: panels.Panel, panel_id: int, grid_pos: dict[str, int]) -> dict[str, Any]:
    field_config: dict[str, Any] = {"defaults": dict(panel.defaults), "overrides": []}
    for column, link in panel.links.items():
        field_config["overrides"].append(
            {
                "matcher": {"id": "byName", "options": column},
                "properties": [{"id": "links", "value": [{"title": link.title, "url": link.url}]}],
            }
        )
    return {
        "id": panel_id,
        "type": panel.type,
        "title": panel.title,
        "description": panel.description,
        "datasource": panels.DATASOURCE,
        "gridPos": grid_pos,
        "targets": [target_json(panel)],
        "fieldConfig": field_config,
        "options": dict(panel.options),
    }


def layout(dashboard_panels: list[panels.Panel]) -> list[dict[str, int]]:
    """Grid positions left to right, wrapping to a new row when a panel does not fit."""
    positions, x, y, row_height = [], 0, 0, 0
    for panel in dashboard_panels:
        if x + panel.width > GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        positions.append({"x": x, "y": y, "w": panel.width, "h": panel.height})
        x, row_height = x + panel.width, max(row_height, panel.height)
    return positions


def dashboard_json(dashboard: panels.Dashboard) -> dict[str, Any]:
    positions = layout(dashboard.panels)
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": [panels.TAG],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "annotations": {"list": []},
        # Every HiveBoard dashboard, keeping the time range and the variables.
        "links": [
            {
                "type": "dashboards",
                "tags": [panels.TAG],
                "title": "HiveBoard",
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "templating": {"list": [variable_json(variable) for variable in dashboard.variables]},
        "panels": [
            panel_json(panel, panel_id, position)
            for panel_id, (panel, position) in enumerate(zip(dashboard.panels, positions, strict=True), 1)
        ],
    }


def render(dashboard: panels.Dashboard) -> str:
    return json.dumps(dashboard_json(dashboard), indent=2, ensure_ascii=False) + "\n"


def rendered_files() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"{dashboard.uid}.json": render(dashboard) for dashboard in panels.DASHBOARDS}


def main() -> None:
    DASHBOARDS_DIR.mkdir(exist_ok=True)
    for name, text in rendered_files().items():
        (DASHBOARDS_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote {DASHBOARDS_DIR / name}")


if __name__ == "__main__":
    main()
