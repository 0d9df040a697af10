"""What The Hive and the Pipeline tab read of what is current, without scanning history.

An agent's card needs its open tasks, the tasks it ended in the last hour, the status of its latest
task, its active issues and its pending approvals. Read from `hb_tasks` (ordered by task span id)
and `hb_events` (by agent and time), each of these scans every task or event ever kept, so The Hive,
which every open dashboard polls, would grow slower with history. Three structures (migration 10)
keep them at the size of what is current:

* `hb_tasks`' projection `by_version`, its rows ordered by `(Version, EndTime, AgentId)`: the
  processing rows (Version 0) of tasks still open come first, and merges fold away those of ended
  tasks (the ReplacingMergeTree keeps a task's final row only; `deduplicate_merge_projection_mode =
  'rebuild'` rebuilds the projection from the merged rows), then the final rows in order of their
  end. ClickHouse reads the projection instead of the table when a query's filter on those columns
  selects fewer of its granules, and queries stay as they are written.
* `hb_agent_tasks`: per agent, the status of the task that ended last (an AggregatingMergeTree of
  `argMax` states, fed from `hb_tasks`' final rows). `argMax` gives the same result however often a
  row is written, so a row written twice (an exporter's retry) or copied again changes nothing.
* `hb_pipeline_events`: the events of open work (issues, TODOs, approvals, escalations), a copy of
  their `hb_events` rows ordered by `(EventType, AgentId, Timestamp)`: a few thousandths of the
  events, so the queries that look for the latest report of each issue, TODO or approval read those
  rows instead of the event type of every event.

Both tables are fed by materialized views on tables that are themselves fed by views (`otel_traces`
-> `hb_tasks` / `hb_events` -> these), so spans from either ingestion path land here. On a single
node the migration also copies what was stored before it (idempotently: the copy of the events
skips those already there); in cluster mode it is DDL only, as every migration, and the tables fill
with new rows.

Later migrations belong here too: `hb_tasks`' projection `by_agent` (ordered by `(AgentId,
StartTime)`: one agent's tasks, for its page and its recent tasks, without FINAL over every task),
ClickHouse's own `merge_selector_base` on the small tables The Hive reads (`SMALL_TABLES`), and
`hb_insight_events` (migration 14), the events the Insights tab counts, copied as
`hb_pipeline_events` is (`events_copy_statements`), `hb_issue_states` (migration 17), the latest
action of each issue, for The Hive's count of active issues, and `hb_llm_models` (migration 20), the
provider and model pairs of the LLM calls kept, which the pricing job reads after every insert.
"""

from __future__ import annotations

from hiveboard.storage.schema.agent_reports_table import AGENT_REPORTS_TABLE
from hiveboard.storage.schema.ddl import engine, on_cluster, projection, qualified, ttl
from hiveboard.storage.schema.hiveboard_tables import (
    ACTION_FAILED,
    AGENT_ACTIVITY_TABLE,
    AGENTS_TABLE,
    EVENTS_COLUMNS,
    EVENTS_TABLE,
    LLM_CALL,
    LLM_CALLS_TABLE,
    PROCESSING,
    TASK_COMPLETED,
    TASK_FAILED,
    TASKS_TABLE,
    literal,
)
from hiveboard_semconv.attributes import HiveboardEventTypeValues

TASKS_PROJECTION = "by_version"
TASKS_BY_AGENT_PROJECTION = "by_agent"
AGENT_TASKS_TABLE = "hb_agent_tasks"
PIPELINE_EVENTS_TABLE = "hb_pipeline_events"
PIPELINE_EVENT_TYPES = (
    HiveboardEventTypeValues.ISSUE,
    HiveboardEventTypeValues.TODO,
    HiveboardEventTypeValues.APPROVAL_REQUESTED,
    HiveboardEventTypeValues.APPROVAL_RECEIVED,
    HiveboardEventTypeValues.ESCALATED,
)


def tasks_projection_statements(database: str, cluster_name: str | None) -> list[str]:
    """The `by_version` projection of `hb_tasks`, built for the rows already there too.

    `EndTime` is NULL on processing rows, hence `allow_nullable_key`; ClickHouse refuses a
    projection on a ReplacingMergeTree unless told what merges do with it."""
    table = f"{qualified(database, TASKS_TABLE)}{on_cluster(cluster_name)}"
    return [
        f"ALTER TABLE {table} MODIFY SETTING "
        "deduplicate_merge_projection_mode = 'rebuild', allow_nullable_key = 1",
        *_tasks_projection(
            database, cluster_name, TASKS_PROJECTION, "TenantId, KeyType, Version, EndTime, AgentId"
        ),
    ]


def tasks_by_agent_projection_statements(database: str, cluster_name: str | None) -> list[str]:
    """The `by_agent` projection of `hb_tasks`: an agent's tasks in order of start, so that a list of
    one agent's tasks (its page, its recent tasks) reads its rows rather than every task's."""
    return _tasks_projection(
        database, cluster_name, TASKS_BY_AGENT_PROJECTION, "TenantId, KeyType, AgentId, StartTime"
    )


def _tasks_projection(database: str, cluster_name: str | None, name: str, order_by: str) -> list[str]:
    return projection(database, TASKS_TABLE, cluster_name, name, f"SELECT * ORDER BY ({order_by})")


_AGENT_TASKS_COMMENT = "Status of the latest ended task of each agent, for The Hive; aggregate on read"
_AGENT_TASKS_COLUMNS = """\
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    AgentId LowCardinality(String),
    LastTaskStatus AggregateFunction(argMax, String, DateTime64(9)),
    LastTaskEnd SimpleAggregateFunction(max, DateTime64(9))"""
# The final rows of ended tasks, grouped by agent (one state per agent and insert).
_AGENT_TASKS_SELECT = f"""\
SELECT TenantId, KeyType, AgentId,
    argMaxState(CAST(Status AS String), assumeNotNull(EndTime)) AS LastTaskStatus,
    max(assumeNotNull(EndTime)) AS LastTaskEnd
FROM {{tasks}}
WHERE Version = 1 AND EndTime IS NOT NULL AND Status != {literal(PROCESSING)}
GROUP BY TenantId, KeyType, AgentId"""


def agent_tasks_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_agent_tasks`, the view that feeds it from `hb_tasks`, and on a single node the copy of
    the tasks stored before. It keeps an agent's row as long as `hb_tasks` keeps its latest task."""
    return _states_statements(
        database,
        cluster_name,
        AGENT_TASKS_TABLE,
        _AGENT_TASKS_COLUMNS,
        "TenantId, KeyType, AgentId",
        ttl("toDateTime(LastTaskEnd)", ttl_days),
        _AGENT_TASKS_COMMENT,
        _AGENT_TASKS_SELECT.format(tasks=qualified(database, TASKS_TABLE)),
    )


def _states_statements(
    database: str,
    cluster_name: str | None,
    table_name: str,
    columns: str,
    order_by: str,
    retention: str,
    comment: str,
    select: str,
    settings: str = "",
) -> list[str]:
    """An AggregatingMergeTree table of `columns` (aggregate states), the view that feeds it with
    `select`, and on a single node the copy of `select` over the rows stored before (states merge to
    the same result however often a row is counted, so the view and the copy may both see one)."""
    table = qualified(database, table_name)
    statements = [
        "\n".join(
            clause
            for clause in [
                f"CREATE TABLE IF NOT EXISTS {table}{on_cluster(cluster_name)} (",
                columns,
                f") ENGINE = {engine('AggregatingMergeTree', cluster_name)}",
                f"ORDER BY ({order_by})",
                retention,
                settings,
                f"COMMENT {literal(comment)}",
            ]
            if clause
        ),
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {qualified(database, table_name + '_mv')}"
        f"{on_cluster(cluster_name)}\nTO {table}\nAS {select}",
    ]
    if cluster_name is None:
        statements.append(f"INSERT INTO {table}\n{select}")
    return statements


ISSUE_STATES_TABLE = "hb_issue_states"
_ISSUE_STATES_COMMENT = "Latest action of each issue of each agent, for The Hive; aggregate on read"
_ISSUE_STATES_COLUMNS = """\
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    AgentId LowCardinality(String),
    IssueId String,
    LastAction AggregateFunction(argMax, String, DateTime64(9)),
    LastReport SimpleAggregateFunction(max, DateTime64(9))"""
# The issue events of the rows `hb_pipeline_events` receives, grouped by issue (one state per issue
# and insert).
_ISSUE_STATES_SELECT = f"""\
SELECT TenantId, KeyType, AgentId, IssueId,
    argMaxState(CAST(IssueAction AS String), Timestamp) AS LastAction,
    max(Timestamp) AS LastReport
FROM {{events}}
WHERE EventType = {literal(HiveboardEventTypeValues.ISSUE)}
GROUP BY TenantId, KeyType, AgentId, IssueId"""


def issue_states_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_issue_states` (migration 17), the view that feeds it from `hb_pipeline_events`, and on a
    single node the copy of the issue events stored before.

    The Hive counts each agent's active issues (those whose latest report is not a resolution) on
    every poll. Read from the events, that grows with the reports kept (an agent re-reports a
    persistent issue with each occurrence, for the whole retention); this table keeps a row per issue
    once merged, whatever the reports. An issue leaves with its latest report, as its events do from
    `hb_pipeline_events`. Small, so merged at ClickHouse's own pace, as `SMALL_TABLES` are."""
    return _states_statements(
        database,
        cluster_name,
        ISSUE_STATES_TABLE,
        _ISSUE_STATES_COLUMNS,
        "TenantId, KeyType, AgentId, IssueId",
        ttl("toDateTime(LastReport)", ttl_days),
        _ISSUE_STATES_COMMENT,
        _ISSUE_STATES_SELECT.format(events=qualified(database, PIPELINE_EVENTS_TABLE)),
        f"SETTINGS merge_selector_base = {SMALL_TABLES_MERGE_SELECTOR_BASE}",
    )


LLM_MODELS_TABLE = "hb_llm_models"
_LLM_MODELS_COMMENT = "Provider and model pairs of the LLM calls kept, for the pricing job; aggregate on read"
_LLM_MODELS_COLUMNS = """\
    Provider LowCardinality(String),
    Model LowCardinality(String),
    LastCall SimpleAggregateFunction(max, DateTime64(9))"""
# The pairs of the rows `hb_llm_calls` receives: each call's request and response model (one state
# per pair and insert).
_LLM_MODELS_SELECT = """\
SELECT Provider, Model, max(Timestamp) AS LastCall
FROM {calls}
ARRAY JOIN [ResponseModel, RequestModel] AS Model
WHERE Model != ''
GROUP BY Provider, Model"""


def llm_models_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_llm_models` (migration 20), the view that feeds it from `hb_llm_calls`, and on a single
    node the copy of the pairs of the calls stored before.

    The pricing job looks for models without a price after every insert the collector makes (twice a
    second at most). Read from `hb_llm_calls`, that scanned every call kept (135 ms of CPU at 1.2M
    calls, growing with history); this table keeps a row per pair once merged. A pair leaves with its
    latest call, as the calls leave `hb_llm_calls`."""
    return _states_statements(
        database,
        cluster_name,
        LLM_MODELS_TABLE,
        _LLM_MODELS_COLUMNS,
        "Provider, Model",
        ttl("toDateTime(LastCall)", ttl_days),
        _LLM_MODELS_COMMENT,
        _LLM_MODELS_SELECT.format(calls=qualified(database, LLM_CALLS_TABLE)),
        f"SETTINGS merge_selector_base = {SMALL_TABLES_MERGE_SELECTOR_BASE}",
    )


def _event_column_names() -> list[str]:
    return [line.split()[0] for line in EVENTS_COLUMNS.splitlines() if line.strip()]


def pipeline_events_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_pipeline_events`, the view that feeds it from `hb_events`, and on a single node the copy of
    the events stored before (those the view has not written already). It keeps `hb_events`' columns,
    partitions and retention."""
    event_types = ", ".join(literal(event_type) for event_type in PIPELINE_EVENT_TYPES)
    return events_copy_statements(
        database,
        cluster_name,
        ttl_days,
        PIPELINE_EVENTS_TABLE,
        f"EventType IN ({event_types})",
        "Events of open work (issues, TODOs, approvals, escalations) by type",
    )


def events_copy_statements(
    database: str, cluster_name: str | None, ttl_days: int, table_name: str, condition: str, comment: str
) -> list[str]:
    """A copy of the `hb_events` rows matching `condition`, ordered by event type, the view that
    feeds it, and on a single node the copy of the rows stored before (those the view has not
    written already). It keeps `hb_events`' columns, partitions and retention."""
    table = qualified(database, table_name)
    columns = ", ".join(_event_column_names())
    select = f"SELECT {columns}\nFROM {qualified(database, EVENTS_TABLE)}\nWHERE ({condition})"
    statements = [
        "\n".join(
            clause
            for clause in [
                f"CREATE TABLE IF NOT EXISTS {table}{on_cluster(cluster_name)} (",
                EVENTS_COLUMNS,
                f") ENGINE = {engine('MergeTree', cluster_name)}",
                "PARTITION BY toDate(Timestamp)",
                "ORDER BY (TenantId, KeyType, EventType, AgentId, Timestamp)",
                ttl("toDateTime(Timestamp)", ttl_days),
                "SETTINGS ttl_only_drop_parts = 1",
                f"COMMENT {literal(comment)}",
            ]
            if clause
        ),
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {qualified(database, table_name + '_mv')}"
        f"{on_cluster(cluster_name)}\nTO {table}\nAS {select}",
    ]
    if cluster_name is None:
        statements.append(
            f"INSERT INTO {table} ({columns})\n{select}\n    AND SpanId NOT IN (SELECT SpanId FROM {table})"
        )
    return statements


INSIGHT_EVENTS_TABLE = "hb_insight_events"
# The custom event kinds of the integration guide that the Insights tab reads.
INSIGHT_EVENT_KINDS = ("context_compaction", "anomaly", "learning")
# What the Insights tab counts: ended tasks, failed actions and retries (retry rates), failures and
# failed LLM calls (error types), and the custom events of `INSIGHT_EVENT_KINDS`.
INSIGHT_EVENT_TYPES = (TASK_COMPLETED, TASK_FAILED, ACTION_FAILED, HiveboardEventTypeValues.RETRY_STARTED)


def insight_events_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_insight_events` (migration 14): the events the Insights tab reads, a few hundredths of
    `hb_events`, ordered by type, so that its sections read those rows instead of scanning every
    event of the range (8.9M in 16 h at 10M spans) for a few types."""
    event_types = ", ".join(literal(event_type) for event_type in INSIGHT_EVENT_TYPES)
    kinds = ", ".join(literal(kind) for kind in INSIGHT_EVENT_KINDS)
    condition = (
        f"EventType IN ({event_types})"
        f" OR (EventType = {literal(HiveboardEventTypeValues.CUSTOM)} AND Kind IN ({kinds}))"
        f" OR (EventType = {literal(LLM_CALL)} AND Severity = 'error')"
    )
    return events_copy_statements(
        database,
        cluster_name,
        ttl_days,
        INSIGHT_EVENTS_TABLE,
        condition,
        "Events the Insights tab reads (task ends, failures, retries, LLM errors, custom kinds) by type",
    )


# The tables The Hive reads on every poll, a few rows per agent, and the task table: written a part per
# insert and table like the others, but small enough that merging them costs nothing worth saving.
SMALL_TABLES = (
    AGENTS_TABLE,
    AGENT_ACTIVITY_TABLE,
    AGENT_TASKS_TABLE,
    AGENT_REPORTS_TABLE,
    PIPELINE_EVENTS_TABLE,
    TASKS_TABLE,
)
SMALL_TABLES_MERGE_SELECTOR_BASE = 5


def small_tables_merge_statements(database: str, cluster_name: str | None) -> list[str]:
    """ClickHouse's own `merge_selector_base` (5) on the small tables, in place of the engine-wide 20
    that `ChDBStorage` sets to spare the large tables' rows from being rewritten by merges.

    Each of these tables gains a part with every insert; with a base of 20, merges wait for about 20
    parts of a size, and a read of a table of 200 rows in 14 parts took 17 ms instead of 6 (The Hive
    reads five such tables). A higher merge rate costs little where the rows are few."""
    return [
        f"ALTER TABLE {qualified(database, table)}{on_cluster(cluster_name)} "
        f"MODIFY SETTING merge_selector_base = {SMALL_TABLES_MERGE_SELECTOR_BASE}"
        for table in SMALL_TABLES
    ]
