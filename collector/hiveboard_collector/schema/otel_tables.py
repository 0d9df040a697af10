"""The raw store: `otel_traces`, its trace-id lookup and `otel_logs`, exactly as the OpenTelemetry
Collector Contrib `clickhouseexporter` creates them.

Same columns, types, codecs, indexes, keys, TTL and settings as the exporter's
`internal/sqltemplates/*.sql` (the bloom-filter variant it uses below ClickHouse 26.2, which every
ClickHouse reading these tables understands), so the upstream collector can write the same tables
and Grafana's ClickHouse plugin reads them with its OpenTelemetry defaults. Reference:
https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/exporter/clickhouseexporter
"""

from __future__ import annotations

from hiveboard.storage.schema.ddl import engine, on_cluster, qualified, ttl

TRACES_TABLE = "otel_traces"
TRACES_ID_TS_TABLE = "otel_traces_trace_id_ts"
TRACES_ID_TS_VIEW = "otel_traces_trace_id_ts_mv"
LOGS_TABLE = "otel_logs"

_TRACES_COLUMNS = """\
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8"""  # noqa: E501

_TRACES_ID_TS_COLUMNS = """\
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))"""

_LOGS_COLUMNS = """\
    `Timestamp` DateTime64(9) COMMENT 'Event timestamp with nanosecond precision' CODEC(Delta(8), ZSTD(1)),
    `TraceId` String COMMENT 'W3C trace identifier' CODEC(ZSTD(1)),
    `SpanId` String COMMENT 'W3C span identifier' CODEC(ZSTD(1)),
    `TraceFlags` UInt8 COMMENT 'W3C trace flags',
    `SeverityText` LowCardinality(String) COMMENT 'Log severity as text' CODEC(ZSTD(1)),
    `SeverityNumber` UInt8 COMMENT 'Log severity as number (1-24)',
    `ServiceName` LowCardinality(String) COMMENT 'Service that emitted the log' CODEC(ZSTD(1)),
    `Body` String COMMENT 'Log message body' CODEC(ZSTD(1)),
    `ResourceSchemaUrl` LowCardinality(String) COMMENT 'Schema URL for the resource' CODEC(ZSTD(1)),
    `ResourceAttributes` Map(LowCardinality(String), String) COMMENT 'Resource attributes as key-value pairs' CODEC(ZSTD(1)),
    `ScopeSchemaUrl` LowCardinality(String) COMMENT 'Schema URL for the instrumentation scope' CODEC(ZSTD(1)),
    `ScopeName` String COMMENT 'Instrumentation scope name' CODEC(ZSTD(1)),
    `ScopeVersion` LowCardinality(String) COMMENT 'Instrumentation scope version' CODEC(ZSTD(1)),
    `ScopeAttributes` Map(LowCardinality(String), String) COMMENT 'Instrumentation scope attributes' CODEC(ZSTD(1)),
    `LogAttributes` Map(LowCardinality(String), String) COMMENT 'Log record attributes' CODEC(ZSTD(1)),
    `EventName` String COMMENT 'Event name for log records representing events' CODEC(ZSTD(1)),
    `__otel_materialized_k8s.cluster.name` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.cluster.name'] CODEC(ZSTD(1)),
    `__otel_materialized_k8s.container.name` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.container.name'] CODEC(ZSTD(1)),
    `__otel_materialized_k8s.deployment.name` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.deployment.name'] CODEC(ZSTD(1)),
    `__otel_materialized_k8s.namespace.name` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.namespace.name'] CODEC(ZSTD(1)),
    `__otel_materialized_k8s.node.name` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.node.name'] CODEC(ZSTD(1)),
    `__otel_materialized_k8s.pod.name` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.pod.name'] CODEC(ZSTD(1)),
    `__otel_materialized_k8s.pod.uid` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.pod.uid'] CODEC(ZSTD(1)),
    `__otel_materialized_deployment.environment.name` LowCardinality(String) MATERIALIZED ResourceAttributes['deployment.environment.name'] CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8"""  # noqa: E501

_SETTINGS = "SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"


def render_traces_table(database: str, ttl_days: int, cluster_name: str | None) -> str:
    """`CREATE TABLE otel_traces`: one row per span, ids in hex, `Duration` in nanoseconds."""
    return _create_table(
        database,
        TRACES_TABLE,
        cluster_name,
        _TRACES_COLUMNS,
        engine("MergeTree", cluster_name),
        "PARTITION BY toDate(Timestamp)",
        "PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))",
        "ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)",
        ttl("toDateTime(Timestamp)", ttl_days),
    )


def render_traces_id_ts_table(database: str, ttl_days: int, cluster_name: str | None) -> str:
    """`CREATE TABLE otel_traces_trace_id_ts`: first and last span time of each trace."""
    return _create_table(
        database,
        TRACES_ID_TS_TABLE,
        cluster_name,
        _TRACES_ID_TS_COLUMNS,
        # The exporter swaps its MergeTree engine for the Aggregating variant on this table.
        engine("AggregatingMergeTree", cluster_name),
        "PARTITION BY toStartOfWeek(Start)",
        "ORDER BY (TraceId)",
        ttl("toDateTime(Start)", ttl_days),
    )


def render_traces_id_ts_view(database: str, cluster_name: str | None) -> str:
    """`CREATE MATERIALIZED VIEW otel_traces_trace_id_ts_mv`, which feeds the trace-id lookup."""
    return "\n".join(
        [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {qualified(database, TRACES_ID_TS_VIEW)}"
            f"{on_cluster(cluster_name)}",
            f"TO {qualified(database, TRACES_ID_TS_TABLE)}",
            "AS SELECT",
            "    TraceId,",
            "    min(toDateTime(Timestamp)) AS Start,",
            "    max(toDateTime(Timestamp)) AS End",
            f"FROM {qualified(database, TRACES_TABLE)}",
            "WHERE TraceId != ''",
            "GROUP BY TraceId",
        ]
    )


def render_logs_table(database: str, ttl_days: int, cluster_name: str | None) -> str:
    """`CREATE TABLE otel_logs`: one row per log record."""
    return _create_table(
        database,
        LOGS_TABLE,
        cluster_name,
        _LOGS_COLUMNS,
        engine("MergeTree", cluster_name),
        "PARTITION BY toDate(Timestamp)",
        "ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)",
        ttl("toDateTime(Timestamp)", ttl_days),
    )


def statements(database: str, ttl_days: int, cluster_name: str | None) -> list[str]:
    """The exporter's DDL in its own order (`ttl_days` 0 keeps data forever)."""
    return [
        render_traces_table(database, ttl_days, cluster_name),
        render_traces_id_ts_table(database, ttl_days, cluster_name),
        render_traces_id_ts_view(database, cluster_name),
        render_logs_table(database, ttl_days, cluster_name),
    ]


def _create_table(
    database: str, table: str, cluster_name: str | None, columns: str, engine_sql: str, *clauses: str
) -> str:
    """`CREATE TABLE IF NOT EXISTS` with the exporter's layout; empty clauses (no TTL) are left out."""
    return "\n".join(
        [
            f"CREATE TABLE IF NOT EXISTS {qualified(database, table)}{on_cluster(cluster_name)} (",
            columns,
            f") ENGINE = {engine_sql}",
            *[clause for clause in clauses if clause],
            _SETTINGS,
        ]
    )
