"""Migration 10 (`current_state`): `hb_tasks`' projection, `hb_agent_tasks` and `hb_pipeline_events`,
their DDL on a single node and on a cluster, what they keep, and the copy of the rows stored before
the migration (once, however often it runs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hiveboard.storage import ChDBStorage
from hiveboard.storage.schema import SchemaConfig, current_state
from hiveboard.storage.schema.migrations import MIGRATIONS
from hiveloop.testing import capture
from tests.stored_spans import stored_across_migration

TENANT = "current-state"


def test_it_is_migration_10_with_the_tasks_and_events_retention() -> None:
    (migration,) = [migration for migration in MIGRATIONS if migration.version == 10]
    assert migration.name == "current_state"
    statements = migration.statements(SchemaConfig(database="analytics", tasks_ttl_days=8, events_ttl_days=9))
    agent_tasks = next(
        s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS `analytics`.`hb_agent_tasks`")
    )
    events = next(
        s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS `analytics`.`hb_pipeline_events`")
    )
    assert "TTL toDateTime(LastTaskEnd) + toIntervalDay(8)" in agent_tasks
    assert "TTL toDateTime(Timestamp) + toIntervalDay(9)" in events
    assert "ORDER BY (TenantId, KeyType, EventType, AgentId, Timestamp)" in events


def test_on_a_cluster_every_statement_is_ddl_on_the_cluster_with_replicated_engines() -> None:
    (migration,) = [migration for migration in MIGRATIONS if migration.version == 10]
    statements = migration.statements(SchemaConfig(cluster_name="hive-cluster"))
    assert all(" ON CLUSTER `hive-cluster`" in statement.splitlines()[0] for statement in statements)
    assert not any(statement.startswith("INSERT") for statement in statements)
    assert "ENGINE = ReplicatedAggregatingMergeTree()" in statements[3]
    assert "ENGINE = ReplicatedMergeTree()" in statements[5]


def _work(task_prefix: str) -> list:
    """Spans of two agents: tasks that complete, fail and stay open, an approval, an issue, a TODO;
    made in a thread of its own, so that the open tasks stay current in that thread's context only,
    not in the tests that run after these."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_spans_of_work, task_prefix).result()


def _spans_of_work(task_prefix: str) -> list:
    with capture(deterministic=False) as captured:
        hb = captured.init(api_key="hb_live_unused")
        for agent_id in ("a1", "a2"):
            agent = hb.agent(agent_id, heartbeat_interval=0)
            with agent.task(f"{task_prefix}-done") as task:
                task.request_approval("ok?")
                task.escalate("look", assigned_to="ops@example.com")
            time.sleep(0.002)
            failing = agent.start_task(f"{task_prefix}-failed")
            failing.fail(RuntimeError("boom"))
            agent.start_task(f"{task_prefix}-open")
            agent.report_issue("slow", "high", issue_id="i1")
            agent.todo("t1", "created", "call back")
        hb.shutdown()
        return captured.spans


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    """Spans stored before migration 10, then the migration, then more spans."""
    directory = tmp_path_factory.mktemp("chdb")
    with stored_across_migration(directory, 10, _work("before"), [_work("after")], TENANT) as (
        storage,
        applied,
    ):
        assert applied == [
            "current_state",
            "small_tables_merge",
            "tasks_by_agent",
            "lookup_costs_view",
            "insight_events",
            "ended_sessions_table",
            "typed_costs_view",
            "issue_states",
            "eager_costs_view",
            "events_by_severity",
            "llm_models",
        ]
        yield storage


def test_the_copy_and_the_view_give_each_agent_its_last_task(storage: ChDBStorage) -> None:
    rows = storage.query(
        "SELECT AgentId, argMaxMerge(LastTaskStatus) FROM hb_agent_tasks GROUP BY AgentId ORDER BY AgentId"
    ).rows
    # The "after" failed task ended last.
    assert rows == [("a1", "failed"), ("a2", "failed")]


def _pipeline_events(storage: ChDBStorage) -> list[tuple]:
    return storage.query(
        "SELECT * EXCEPT Attributes FROM hb_pipeline_events ORDER BY EventType, AgentId, Timestamp"
    ).rows


def test_the_pipeline_events_are_the_events_of_open_work_before_and_after(storage: ChDBStorage) -> None:
    expected = storage.query(
        "SELECT * EXCEPT Attributes FROM hb_events WHERE EventType IN {types:Array(String)} "
        "ORDER BY EventType, AgentId, Timestamp",
        {"types": list(current_state.PIPELINE_EVENT_TYPES)},
    ).rows
    assert _pipeline_events(storage) == expected
    types = {row[10] for row in expected}
    assert types == {"issue", "todo", "approval_requested", "escalated"}
    assert len(expected) == 2 * 2 * 4  # two agents, before and after, four events each


def test_copying_again_adds_nothing(storage: ChDBStorage) -> None:
    before_tasks = storage.query(
        "SELECT AgentId, argMaxMerge(LastTaskStatus) FROM hb_agent_tasks GROUP BY AgentId"
    ).rows
    before_events = _pipeline_events(storage)
    for statement in current_state.agent_tasks_statements("hiveboard", None, 30):
        storage.command(statement)
    for statement in current_state.pipeline_events_statements("hiveboard", None, 30):
        storage.command(statement)
    assert _pipeline_events(storage) == before_events
    after_tasks = storage.query(
        "SELECT AgentId, argMaxMerge(LastTaskStatus) FROM hb_agent_tasks GROUP BY AgentId"
    ).rows
    assert sorted(after_tasks) == sorted(before_tasks)


@pytest.mark.parametrize("projection", ["by_version", "by_agent"])
def test_the_projections_hold_every_task_row_before_and_after(storage: ChDBStorage, projection: str) -> None:
    parts = storage.query(
        "SELECT sum(rows) FROM system.projection_parts "
        "WHERE database = 'hiveboard' AND table = 'hb_tasks' AND name = {name:String} AND active",
        {"name": projection},
    ).rows
    assert parts == storage.query("SELECT count() FROM hb_tasks").rows
    open_tasks = storage.query(
        "SELECT TaskId FROM hb_tasks FINAL WHERE Status = 'processing' ORDER BY TaskId"
    ).rows
    assert open_tasks == [("after-open",), ("after-open",), ("before-open",), ("before-open",)]


def test_the_small_tables_merge_with_clickhouses_own_selector_base(storage: ChDBStorage) -> None:
    settings = storage.query(
        "SELECT name, extract(engine_full, 'merge_selector_base = (\\d+)') FROM system.tables "
        "WHERE database = 'hiveboard' AND name LIKE 'hb\\_%' AND engine LIKE '%MergeTree' ORDER BY name"
    ).rows
    small = {*current_state.SMALL_TABLES, current_state.ISSUE_STATES_TABLE, current_state.LLM_MODELS_TABLE}
    assert {name for name, base in settings if base == "5"} == small
    # The large tables keep the engine-wide base (ChDBStorage's configuration).
    assert {"hb_events", "hb_llm_calls"} <= {name for name, base in settings if base == ""}


def test_the_small_tables_migration_on_a_cluster() -> None:
    (migration,) = [migration for migration in MIGRATIONS if migration.version == 11]
    assert migration.name == "small_tables_merge"
    statements = migration.statements(SchemaConfig(cluster_name="hive-cluster"))
    assert statements[0] == (
        "ALTER TABLE `hiveboard`.`hb_agents` ON CLUSTER `hive-cluster` MODIFY SETTING merge_selector_base = 5"
    )
    assert len(statements) == len(current_state.SMALL_TABLES)


def _insight_events(storage: ChDBStorage, table: str) -> list[tuple]:
    return storage.query(
        f"SELECT * EXCEPT Attributes FROM {table} "
        "WHERE EventType IN {types:Array(String)} OR (EventType = 'custom' AND Kind IN {kinds:Array(String)}) "
        "OR (EventType = 'llm_call' AND Severity = 'error') ORDER BY EventType, AgentId, Timestamp, SpanId",
        {"types": list(current_state.INSIGHT_EVENT_TYPES), "kinds": list(current_state.INSIGHT_EVENT_KINDS)},
    ).rows


def test_the_insight_events_are_those_of_hb_events_before_and_after(storage: ChDBStorage) -> None:
    copied = _insight_events(storage, current_state.INSIGHT_EVENTS_TABLE)
    assert copied == _insight_events(storage, "hb_events")
    assert storage.query(f"SELECT count() FROM {current_state.INSIGHT_EVENTS_TABLE}").rows == [(len(copied),)]
    # Both agents' ended tasks, written before migration 14 (copied) and after (by the view).
    ended = storage.query(
        f"SELECT DISTINCT TaskId FROM {current_state.INSIGHT_EVENTS_TABLE} WHERE EventType = 'task_completed'"
    ).rows
    assert {task_id.split("-")[0] for (task_id,) in ended} == {"before", "after"}
    for statement in current_state.insight_events_statements("hiveboard", None, 30):
        storage.command(statement)
    assert (
        _insight_events(storage, current_state.INSIGHT_EVENTS_TABLE) == copied
    )  # copying again adds nothing


def test_migration_14_on_a_cluster_is_ddl_only() -> None:
    (migration,) = [migration for migration in MIGRATIONS if migration.version == 14]
    assert migration.name == "insight_events"
    statements = migration.statements(SchemaConfig(cluster_name="hive-cluster", events_ttl_days=9))
    assert all(" ON CLUSTER `hive-cluster`" in statement.splitlines()[0] for statement in statements)
    assert len(statements) == 2 and "ENGINE = ReplicatedMergeTree()" in statements[0]
    assert "TTL toDateTime(Timestamp) + toIntervalDay(9)" in statements[0]
