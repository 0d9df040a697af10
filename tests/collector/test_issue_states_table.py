"""Migration 17 (`issue_states`): `hb_issue_states`, the latest action of each issue, from which The
Hive counts each agent's active issues: the same count as the Pipeline's list of active issues read
from every report, for issues reported before the migration (copied) and after it (the view)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hiveboard.api.auth import DataScope
from hiveboard.api.queries.pipeline import active_issue_counts, active_issues
from hiveboard.storage import ChDBStorage
from hiveboard.storage.schema import SchemaConfig
from hiveboard.storage.schema.migrations import MIGRATIONS
from hiveloop.testing import capture
from tests.stored_spans import stored_across_migration

TENANT = "issue-states"
SCOPE = DataScope(TENANT, "live")

# (agent, "report", "resolve" or "todo", issue or TODO id), in time order, one batch per insert.
BEFORE_MIGRATION = [
    ("a1", "report", "i1"),
    ("a1", "report", "i2"),
    ("a2", "report", "i3"),
    ("a4", "report", "i7"),
]
AFTER_MIGRATION = [
    [
        ("a1", "report", "i1"),
        ("a1", "resolve", "i2"),
        ("a2", "resolve", "i3"),
        ("a3", "report", "i4"),
        ("a1", "todo", "t1"),
    ],
    [("a2", "report", "i3"), ("a1", "resolve", "i1"), ("a1", "report", "i5"), ("a3", "report", "i6")],
]
# a1: i1 and i2 resolved, i5 open; a2: i3 reported again after its resolution; a3: two open;
# a4: reported before the migration only. A TODO is an event of open work, not an issue.
ACTIVE = {"a1": 1, "a2": 1, "a3": 2, "a4": 1}


def _spans(actions: list[tuple[str, str, str]]) -> list:
    """The spans of `actions`, made in a thread of its own (HiveLoop's context stays there)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_spans_of, actions).result()


def _spans_of(actions: list[tuple[str, str, str]]) -> list:
    with capture(deterministic=False) as captured:
        hb = captured.init(api_key="hb_live_unused")
        agents = {}
        for agent_id, action, issue_id in actions:
            agent = agents.get(agent_id) or agents.setdefault(
                agent_id, hb.agent(agent_id, heartbeat_interval=0)
            )
            if action == "report":
                agent.report_issue(f"problem {issue_id}", "high", issue_id=issue_id)
            elif action == "resolve":
                agent.resolve_issue(f"fixed {issue_id}", issue_id=issue_id)
            else:
                agent.todo(issue_id, "created", "call back")
            time.sleep(0.002)  # every report at its own instant
        hb.shutdown()
        return captured.spans


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    before = _spans(BEFORE_MIGRATION)  # made first: the actions are in time order
    after = [_spans(batch) for batch in AFTER_MIGRATION]
    directory = tmp_path_factory.mktemp("chdb")
    with stored_across_migration(directory, 17, before, after, TENANT) as (storage, applied):
        assert applied == ["issue_states", "eager_costs_view", "events_by_severity", "llm_models"]
        yield storage


def test_the_hive_counts_the_issues_the_pipeline_lists(storage: ChDBStorage) -> None:
    listed = {agent: len(issues) for agent, issues in active_issues(storage, SCOPE).items()}
    assert listed == ACTIVE
    assert active_issue_counts(storage, SCOPE) == ACTIVE
    assert active_issue_counts(storage, SCOPE, agent_id="a3") == {"a3": 2}
    assert active_issue_counts(storage, DataScope(TENANT, "test")) == {}


def test_merged_the_table_holds_a_row_per_issue(storage: ChDBStorage) -> None:
    storage.command("OPTIMIZE TABLE hb_issue_states FINAL")
    rows = storage.query(
        "SELECT AgentId, IssueId, finalizeAggregation(LastAction) FROM hb_issue_states "
        "WHERE TenantId = {tenant:String} ORDER BY AgentId, IssueId",
        {"tenant": TENANT},
    ).rows
    assert rows == [
        ("a1", "i1", "resolved"),
        ("a1", "i2", "resolved"),
        ("a1", "i5", "reported"),
        ("a2", "i3", "reported"),
        ("a3", "i4", "reported"),
        ("a3", "i6", "reported"),
        ("a4", "i7", "reported"),
    ]
    assert active_issue_counts(storage, SCOPE) == ACTIVE


def test_it_keeps_an_issue_as_long_as_its_latest_report_and_on_a_cluster_is_ddl_only() -> None:
    (migration,) = [migration for migration in MIGRATIONS if migration.version == 17]
    table, view, copy = migration.statements(SchemaConfig(database="analytics", events_ttl_days=9))
    assert "TTL toDateTime(LastReport) + toIntervalDay(9)" in table
    assert view.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS `analytics`.`hb_issue_states_mv`")
    assert copy.startswith("INSERT INTO `analytics`.`hb_issue_states`")
    on_cluster = migration.statements(SchemaConfig(cluster_name="hive-cluster"))
    assert len(on_cluster) == 2
    assert all(" ON CLUSTER `hive-cluster`" in statement.splitlines()[0] for statement in on_cluster)
