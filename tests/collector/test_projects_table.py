"""The DDL of `hb_projects` (migration 5), on a single node and on a cluster."""

from __future__ import annotations

import pytest

from hiveboard.storage.schema import projects_table
from hiveboard.storage.schema.migrations import MIGRATIONS, SchemaConfig

EXPECTED_PROJECTS_DDL = """\
CREATE TABLE IF NOT EXISTS `hiveboard`.`hb_projects`{cluster} (
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    Slug String,
    Name String,
    Description String,
    CreatedAt DateTime64(6, 'UTC'),
    UpdatedAt DateTime64(6, 'UTC'),
    Deleted UInt8,
    Version UInt64
) ENGINE = {engine}
ORDER BY (TenantId, KeyType, Slug)
COMMENT 'Projects created or edited through the query API; the latest Version wins'"""


@pytest.mark.parametrize(
    ("cluster_name", "cluster", "engine"),
    [
        (None, "", "ReplacingMergeTree(Version)"),
        ("hive-cluster", " ON CLUSTER `hive-cluster`", "ReplicatedReplacingMergeTree(Version)"),
    ],
)
def test_the_projects_table_ddl(cluster_name: str | None, cluster: str, engine: str) -> None:
    assert projects_table.statements("hiveboard", cluster_name) == [
        EXPECTED_PROJECTS_DDL.format(cluster=cluster, engine=engine)
    ]


def test_the_projects_table_is_migration_5_in_the_configured_database() -> None:
    migration = next(migration for migration in MIGRATIONS if migration.version == 5)
    assert migration.name == "projects_table"
    [statement] = migration.statements(SchemaConfig(database="analytics", cluster_name="c1"))
    assert statement.splitlines()[0] == (
        "CREATE TABLE IF NOT EXISTS `analytics`.`hb_projects` ON CLUSTER `c1` ("
    )


def test_the_insert_columns_are_the_table_columns_in_order() -> None:
    ddl = EXPECTED_PROJECTS_DDL.splitlines()[1:10]
    assert tuple(line.split()[0] for line in ddl) == projects_table.PROJECTS_COLUMNS
