"""Projects: the ones created (or edited) through the API, stored in `hb_projects`, plus every
project a task names, listed on first use without being stored.

`hb_projects` (migration 5, `hiveboard.storage.schema.projects_table`) keeps one row per project
and version (ReplacingMergeTree: the highest `Version` wins, read with FINAL); a deletion is a row
with `Deleted = 1`. Deleting hides a project until a
task started after the deletion names it again; its tasks are not touched.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.projects import Project
from hiveboard.api.queries.tables import TASKS_TABLE
from hiveboard.storage import Storage
from hiveboard.storage.schema.ddl import qualified
from hiveboard.storage.schema.projects_table import PROJECTS_COLUMNS, PROJECTS_TABLE


def _rows(storage: Storage, scope: DataScope, slug: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stored rows by slug, and the projects tasks name with their task counts."""
    one = slug is not None
    stored_sql = f"""
SELECT Slug, Name, Description, CreatedAt, UpdatedAt, Deleted, Version
FROM {PROJECTS_TABLE} FINAL
WHERE {SCOPE_SQL}{" AND Slug = {slug:String}" if one else ""}"""
    used_sql = f"""
SELECT Project, uniqExact(TaskSpanId) AS Tasks, min(StartTime) AS FirstSeen, max(StartTime) AS LastActivity
FROM {TASKS_TABLE}
WHERE {SCOPE_SQL} AND Project != ''{" AND Project = {slug:String}" if one else ""}
GROUP BY Project"""
    parameters = scope.parameters(slug=slug)
    stored = storage.query(stored_sql, parameters).dicts()
    used = storage.query(used_sql, parameters).dicts()
    return {row["Slug"]: row for row in stored}, {row["Project"]: row for row in used}


def list_projects(storage: Storage, scope: DataScope, slug: str | None = None) -> list[Project]:
    """Listed projects (of `slug` only when given), by slug."""
    stored, used = _rows(storage, scope, slug)
    projects = (_project(name, stored.get(name), used.get(name)) for name in sorted({*stored, *used}))
    return [project for project in projects if project is not None]


def get_project(storage: Storage, scope: DataScope, slug: str) -> Project | None:
    projects = list_projects(storage, scope, slug)
    return projects[0] if projects else None


def _project(slug: str, stored: dict[str, Any] | None, used: dict[str, Any] | None) -> Project | None:
    """The listed project, or None when it was deleted and no task named it since."""
    task_count = used["Tasks"] if used else 0
    last_activity = used["LastActivity"] if used else None
    if stored is not None and not stored["Deleted"]:
        return Project(
            slug=slug,
            name=stored["Name"] or slug,
            description=stored["Description"],
            source="created",
            created_at=stored["CreatedAt"],
            updated_at=stored["UpdatedAt"],
            task_count=task_count,
            last_activity=last_activity,
        )
    if used is None or (stored is not None and used["LastActivity"] <= stored["UpdatedAt"]):
        return None
    return Project(
        slug=slug,
        name=slug,
        description="",
        source="auto",
        created_at=used["FirstSeen"],
        updated_at=None,
        task_count=task_count,
        last_activity=last_activity,
    )


def save_project(
    storage: Storage,
    scope: DataScope,
    slug: str,
    *,
    name: str,
    description: str,
    created_at: datetime | None = None,
    deleted: bool = False,
) -> None:
    """Write the project's next version (a newer `Version` than any stored one)."""
    stored, _ = _rows(storage, scope, slug)
    previous = stored.get(slug)
    now = datetime.now(UTC)
    version = max(time.time_ns(), previous["Version"] + 1 if previous else 0)
    row = [
        scope.tenant_id,
        scope.key_type,
        slug,
        name,
        description,
        created_at or now,
        now,
        int(deleted),
        version,
    ]
    storage.insert(qualified(storage.database, PROJECTS_TABLE), PROJECTS_COLUMNS, [row])
