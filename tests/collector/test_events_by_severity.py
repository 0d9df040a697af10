"""Migration 19 (`events_by_severity`): `hb_events`' projection `by_severity`, from which the metrics
count the errors of a range: built for the events stored before the migration and kept for those
after it, and giving the error counts of the table."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hiveboard.api.auth import DataScope
from hiveboard.api.params import TimeRange, Window
from hiveboard.api.queries import metrics
from hiveboard.storage import ChDBStorage
from hiveboard.storage.schema import SchemaConfig
from hiveboard.storage.schema.migrations import MIGRATIONS
from hiveloop.testing import capture
from tests.stored_spans import stored_across_migration

TENANT = "events-by-severity"
SCOPE = DataScope(TENANT, "live")
FILTERS = [
    {"agent_id": None, "environment": None, "project": None},
    {"agent_id": "a1", "environment": None, "project": None},
    {"agent_id": None, "environment": None, "project": "p2"},
    {"agent_id": "a2", "environment": "production", "project": "p1"},
]


def _spans(prefix: str) -> list:
    """Two agents' tasks in two projects, each failing or completing; made in a thread of its own
    (HiveLoop's context stays there)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_spans_of_work, prefix).result()


def _spans_of_work(prefix: str) -> list:
    with capture(deterministic=False) as captured:
        hb = captured.init(api_key="hb_live_unused", environment="production")
        for agent_id, failures in (("a1", 3), ("a2", 2)):
            agent = hb.agent(agent_id, heartbeat_interval=0)
            for index in range(4):
                task = agent.start_task(f"{prefix}-{agent_id}-{index}", project=f"p{index % 2 + 1}")
                if index < failures:
                    task.fail(RuntimeError("boom"))
                else:
                    task.complete()
                time.sleep(0.002)
        hb.shutdown()
        return captured.spans


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    """Spans stored before migration 19, then the migration, then more spans."""
    directory = tmp_path_factory.mktemp("chdb")
    with stored_across_migration(directory, 19, _spans("before"), [_spans("after")], TENANT) as (
        storage,
        applied,
    ):
        assert applied == ["events_by_severity", "llm_models"]
        yield storage


def _error_counts(storage: ChDBStorage, filters: dict[str, Any], source: str = "hb_events") -> list[tuple]:
    """The metrics' error counts in the last hour, read from `source` (in place of `hb_events`)."""
    sql = metrics._errors_sql(metrics._filters(**filters), metrics._bucket("Timestamp", 60))
    parameters = SCOPE.parameters(**Window.last(TimeRange.HOUR).parameters(), **filters)
    return sorted(storage.query(sql.replace("FROM hb_events", f"FROM {source}"), parameters).rows)


def test_the_projection_holds_every_event_before_and_after(storage: ChDBStorage) -> None:
    projected = storage.query(
        "SELECT sum(rows) FROM system.projection_parts "
        "WHERE database = 'hiveboard' AND table = 'hb_events' AND name = 'by_severity' AND active"
    ).rows
    assert projected == storage.query("SELECT count() FROM hb_events").rows


@pytest.mark.parametrize("filters", FILTERS)
def test_the_projections_error_counts_are_those_of_the_table(
    storage: ChDBStorage, filters: dict[str, Any]
) -> None:
    plain = _error_counts(storage, filters)
    # ClickHouse reads the projection instead of the table where it reads fewer granules (at scale,
    # not in a table of a few events): read here directly, the projection gives the same counts.
    assert _error_counts(storage, filters, "mergeTreeProjection(hiveboard, hb_events, by_severity)") == plain
    total = next(errors for total, _, errors in plain if total)
    failed = storage.query(
        "SELECT count() FROM hb_tasks FINAL WHERE TenantId = {tenant:String} AND Status = 'failed'"
        + "".join(f" AND {column} = {{{name}:String}}" for column, name in _COLUMNS.items() if filters[name]),
        {"tenant": TENANT, **filters},
    ).rows[0][0]
    assert total == failed > 0  # every failed task, before the migration and after, is an error


_COLUMNS = {"AgentId": "agent_id", "Environment": "environment", "Project": "project"}


def test_on_a_cluster_the_migration_is_ddl_on_the_cluster() -> None:
    (migration,) = [migration for migration in MIGRATIONS if migration.version == 19]
    add, materialize = migration.statements(SchemaConfig(database="analytics", cluster_name="hive-cluster"))
    assert add.startswith(
        "ALTER TABLE `analytics`.`hb_events` ON CLUSTER `hive-cluster` ADD PROJECTION IF NOT EXISTS by_severity"
    )
    assert "ORDER BY (TenantId, KeyType, Severity, Timestamp)" in add
    assert materialize == (
        "ALTER TABLE `analytics`.`hb_events` ON CLUSTER `hive-cluster` "
        "MATERIALIZE PROJECTION by_severity SETTINGS mutations_sync = 2"
    )
