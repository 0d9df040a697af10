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
from hiveboard.api.queries.together import run_together
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


def project_slugs(storage: Storage, scope: DataScope) -> list[str]:
    """The slugs `list_projects` lists, in order, without counting each project's tasks."""
    stored_sql = f"SELECT Slug, Deleted, UpdatedAt FROM {PROJECTS_TABLE} FINAL WHERE {SCOPE_SQL}"
    used_sql = f"""
SELECT Project, max(StartTime) AS LastActivity
FROM {TASKS_TABLE}
WHERE {SCOPE_SQL} AND Project != ''
GROUP BY Project"""
    stored, used = run_together(
        lambda: storage.query(stored_sql, scope.parameters()).dicts(),
        lambda: storage.query(used_sql, scope.parameters()).dicts(),
    )
    stored_by_slug = {row["Slug"]: row for row in stored}
    last_activity = {row["Project"]: row["LastActivity"] for row in used}
    return [
        slug
        for slug in sorted({*stored_by_slug, *last_activity})
        if _listed(stored_by_slug.get(slug), last_activity.get(slug))
    ]


def _listed(stored: dict[str, Any] | None, last_activity: datetime | None) -> bool:
    """Whether a project is listed: stored and not deleted, or named by a task started after its
    deletion (or never stored)."""
    if stored is not None and not stored["Deleted"]:
        return True
    return last_activity is not None and (stored is None or last_activity > stored["UpdatedAt"])


def _project(slug: str, stored: dict[str, Any] | None, used: dict[str, Any] | None) -> Project | None:
    """The listed project, or None when it was deleted and no task named it since."""
    task_count = used["Tasks"] if used else 0
    last_activity = used["LastActivity"] if used else None
    if not _listed(stored, last_activity):
        return None
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
    assert used is not None  # listed, and not stored or deleted: a task names it
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
