"""`hb_agent_reports`: each agent's latest queue snapshot and latest report of scheduled work, with
their payloads as columns.

The Pipeline tab and The Hive show, per agent, the latest of these reports and its JSON payload
(queue items, the item being processed, scheduled items). In `hb_events` the payload sits in the
`Attributes` map, and reading it for one row decompresses the maps of its whole granule: the
latest report of every agent cost a granule per agent, about 40 ms for 50 agents at 1M spans. This
table keeps one row per agent and report type, the latest (a ReplacingMergeTree on `Timestamp`;
read it with FINAL or argMax: it holds a few rows per agent until merges collapse them).

Fed from `hb_events` by a materialized view (a cascade: `otel_traces` -> `hb_events` ->
`hb_agent_reports`), so spans from either ingestion path land here. Reports stored before the
migration are not copied (a migration is DDL only, `ON CLUSTER` in cluster mode): an agent's
queue shows again with its next snapshot, which HiveLoop sends with every heartbeat when the agent
has a queue provider, and its scheduled work with its next report.
"""

from __future__ import annotations

from hiveboard.storage.schema.ddl import engine, on_cluster, qualified, ttl
from hiveboard.storage.schema.hiveboard_tables import EVENTS_TABLE, literal
from hiveboard_semconv.attributes import (
    HIVEBOARD_QUEUE_ITEMS,
    HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS,
    HIVEBOARD_QUEUE_PROCESSING,
    HIVEBOARD_QUEUE_SOURCE,
    HIVEBOARD_SCHEDULED_ITEMS,
    HiveboardEventTypeValues,
)

AGENT_REPORTS_TABLE = "hb_agent_reports"
REPORT_EVENT_TYPES = (HiveboardEventTypeValues.QUEUE_SNAPSHOT, HiveboardEventTypeValues.SCHEDULED)

_COLUMNS = """\
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
    ScheduledItems String CODEC(ZSTD(1))"""


def _attribute(key: str) -> str:
    return f"Attributes[{literal(key)}]"


_SELECT = [
    "TenantId",
    "KeyType",
    "AgentId",
    "EventType",
    "Timestamp",
    "SpanId",
    "QueueDepth",
    f"{_attribute(HIVEBOARD_QUEUE_ITEMS)} AS QueueItems",
    f"{_attribute(HIVEBOARD_QUEUE_PROCESSING)} AS QueueProcessing",
    f"toFloat64OrNull({_attribute(HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS)}) AS QueueOldestAgeSeconds",
    f"{_attribute(HIVEBOARD_QUEUE_SOURCE)} AS QueueSource",
    f"{_attribute(HIVEBOARD_SCHEDULED_ITEMS)} AS ScheduledItems",
]
_COMMENT = (
    "Latest queue snapshot and scheduled-work report per agent, payloads as columns; latest Timestamp wins"
)


def statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """The `hb_agent_reports` table, then the materialized view that feeds it from `hb_events`."""
    table = qualified(database, AGENT_REPORTS_TABLE)
    event_types = ", ".join(literal(event_type) for event_type in REPORT_EVENT_TYPES)
    columns = ",\n".join(f"    {expression}" for expression in _SELECT)
    return [
        "\n".join(
            clause
            for clause in [
                f"CREATE TABLE IF NOT EXISTS {table}{on_cluster(cluster_name)} (",
                _COLUMNS,
                f") ENGINE = {engine('ReplacingMergeTree', cluster_name, 'Timestamp')}",
                "ORDER BY (TenantId, KeyType, AgentId, EventType)",
                ttl("toDateTime(Timestamp)", ttl_days),
                f"COMMENT {literal(_COMMENT)}",
            ]
            if clause
        ),
        "\n".join(
            [
                f"CREATE MATERIALIZED VIEW IF NOT EXISTS {qualified(database, AGENT_REPORTS_TABLE + '_mv')}"
                f"{on_cluster(cluster_name)}",
                f"TO {table}",
                "AS SELECT",
                columns,
                f"FROM {qualified(database, EVENTS_TABLE)}",
                f"WHERE EventType IN ({event_types})",
            ]
        ),
    ]
