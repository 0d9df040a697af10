"""`hb_agent_reports` (migration 6): its DDL on a single node and on a cluster, and what it keeps."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hiveboard.storage import ChDBStorage
from hiveboard.storage.schema import SchemaConfig, agent_reports_table, migrate
from hiveboard.storage.schema.migrations import MIGRATIONS

EXPECTED_TABLE_DDL = """\
CREATE TABLE IF NOT EXISTS `hiveboard`.`hb_agent_reports`{cluster} (
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    AgentId LowCardinality(String),
    EventType LowCardinality(String),
    Timestamp DateTime64(9),
    SpanId String,
    QueueDepth Nullable(UInt32),
    QueueItems String CODEC(ZSTD(1)),
    QueueProcessing String CODEC(ZSTD(1)),
    QueueOldestAgeSeconds Nullable(Float64),
    QueueSource LowCardinality(String),
    ScheduledItems String CODEC(ZSTD(1))
) ENGINE = {engine}
ORDER BY (TenantId, KeyType, AgentId, EventType)
TTL toDateTime(Timestamp) + toIntervalDay(30)
COMMENT 'Latest queue snapshot and scheduled-work report per agent, payloads as columns; latest Timestamp wins'"""

EXPECTED_VIEW_DDL = """\
CREATE MATERIALIZED VIEW IF NOT EXISTS `hiveboard`.`hb_agent_reports_mv`{cluster}
TO `hiveboard`.`hb_agent_reports`
AS SELECT
    TenantId,
    KeyType,
    AgentId,
    EventType,
    Timestamp,
    SpanId,
    QueueDepth,
    Attributes['hiveboard.queue.items'] AS QueueItems,
    Attributes['hiveboard.queue.processing'] AS QueueProcessing,
    toFloat64OrNull(Attributes['hiveboard.queue.oldest_age_seconds']) AS QueueOldestAgeSeconds,
    Attributes['hiveboard.queue.source'] AS QueueSource,
    Attributes['hiveboard.scheduled.items'] AS ScheduledItems
FROM `hiveboard`.`hb_events`
WHERE EventType IN ('queue_snapshot', 'scheduled')"""


@pytest.mark.parametrize(
    ("cluster_name", "cluster", "engine"),
    [
        (None, "", "ReplacingMergeTree(Timestamp)"),
        ("hive-cluster", " ON CLUSTER `hive-cluster`", "ReplicatedReplacingMergeTree(Timestamp)"),
    ],
)
def test_the_agent_reports_ddl(cluster_name: str | None, cluster: str, engine: str) -> None:
    table, view = agent_reports_table.statements("hiveboard", cluster_name, ttl_days=30)
    assert table == EXPECTED_TABLE_DDL.format(cluster=cluster, engine=engine)
    assert view == EXPECTED_VIEW_DDL.format(cluster=cluster)


def test_no_ttl_keeps_reports_forever() -> None:
    table, _ = agent_reports_table.statements("hiveboard", None, ttl_days=0)
    assert "TTL" not in table


def test_it_is_migration_6_with_the_events_retention() -> None:
    migration = next(migration for migration in MIGRATIONS if migration.version == 6)
    assert migration.name == "agent_reports_table"
    table, _ = migration.statements(SchemaConfig(database="analytics", events_ttl_days=9))
    assert table.startswith("CREATE TABLE IF NOT EXISTS `analytics`.`hb_agent_reports` (")
    assert "TTL toDateTime(Timestamp) + toIntervalDay(9)" in table


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(tmp_path_factory.mktemp("chdb")) as storage:
        migrate(storage, SchemaConfig())
        yield storage


def test_events_of_hb_events_feed_the_latest_report_per_agent_and_type(storage: ChDBStorage) -> None:
    now = time.time_ns()
    columns = [
        "Timestamp",
        "TenantId",
        "KeyType",
        "AgentId",
        "SpanId",
        "EventType",
        "QueueDepth",
        "Attributes",
    ]
    rows = [
        [now - 2_000, "t1", "live", "a1", "s1", "queue_snapshot", 5, {"hiveboard.queue.items": "[1]"}],
        [now - 1_000, "t1", "live", "a1", "s2", "queue_snapshot", 3, {"hiveboard.queue.items": "[2]"}],
        [now - 1_500, "t1", "live", "a1", "s3", "scheduled", None, {"hiveboard.scheduled.items": "[3]"}],
        [now - 1_000, "t1", "live", "a1", "s4", "todo", None, {"hiveboard.queue.items": "[4]"}],
    ]
    storage.insert("hb_events", columns, rows)

    latest = storage.query(
        "SELECT EventType, argMax(SpanId, Timestamp), argMax(QueueDepth, Timestamp),"
        " argMax(QueueItems, Timestamp), argMax(ScheduledItems, Timestamp)"
        " FROM hb_agent_reports WHERE TenantId = 't1' GROUP BY EventType ORDER BY EventType"
    )
    assert latest.rows == [("queue_snapshot", "s2", 3, "[2]", ""), ("scheduled", "s3", None, "", "[3]")]
