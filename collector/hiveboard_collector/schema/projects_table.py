"""`hb_projects`: the projects created or edited through the query API.

One row per project and version, keyed by `(TenantId, KeyType, Slug)`: a ReplacingMergeTree keeps
the row with the highest `Version`, so an edit is a newer row with the same key, and a deletion a
row with `Deleted = 1` (read with `FINAL` or `argMax(..., Version)`). Projects that tasks name
without being created here are listed from `hb_tasks`, not stored. Kept until deleted (no TTL).
`hiveboard.api.queries.projects` is the only writer and reader.
"""

from __future__ import annotations

from hiveboard.storage.schema.ddl import engine, on_cluster, qualified

PROJECTS_TABLE = "hb_projects"

PROJECTS_COLUMNS = (
    "TenantId",
    "KeyType",
    "Slug",
    "Name",
    "Description",
    "CreatedAt",
    "UpdatedAt",
    "Deleted",
    "Version",
)
"""The columns of `hb_projects`, in table order (for inserts)."""

_PROJECTS_COLUMNS_DDL = """\
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    Slug String,
    Name String,
    Description String,
    CreatedAt DateTime64(6, 'UTC'),
    UpdatedAt DateTime64(6, 'UTC'),
    Deleted UInt8,
    Version UInt64"""


def statements(database: str, cluster_name: str | None) -> list[str]:
    """The `hb_projects` table: one row per project (`TenantId, KeyType, Slug`), the latest `Version` wins."""
    table = qualified(database, PROJECTS_TABLE)
    return [
        "\n".join(
            [
                f"CREATE TABLE IF NOT EXISTS {table}{on_cluster(cluster_name)} (",
                _PROJECTS_COLUMNS_DDL,
                f") ENGINE = {engine('ReplacingMergeTree', cluster_name, 'Version')}",
                "ORDER BY (TenantId, KeyType, Slug)",
                "COMMENT 'Projects created or edited through the query API; the latest Version wins'",
            ]
        )
    ]
