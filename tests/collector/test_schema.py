"""Schema: the exporter's tables as upstream creates them, the hb_* tables fed by their materialized
views from realistic otel_traces rows, and the migrations (single node in chDB, cluster as SQL)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hiveboard.collector.ingest.trace_rows import TRACE_COLUMNS
from hiveboard.storage import ChDBStorage, ClickHouseServerStorage, Storage
from hiveboard.storage.schema import MIGRATIONS, Migration, SchemaConfig, migrate, prices_table
from hiveboard.storage.schema.ddl import qualified, quote_identifier
from hiveboard.storage.schema.migrations import bootstrap_statements
from hiveboard.storage.schema.otel_tables import render_traces_table
from tests.collector.fake_client import FakeClient

# ---- helpers: otel_traces rows in the exporter's conventions ----------------------------------------

# Recent times: the tables drop rows older than their TTL.
NOW_NS = time.time_ns() // 1_000_000_000 * 1_000_000_000
SECOND = 1_000_000_000

SPAN_COLUMNS = list(TRACE_COLUMNS)


def new_id(size: int = 8) -> str:
    """A span id (8 bytes) or trace id (16 bytes) in lowercase hex, as the exporter writes ids."""
    return os.urandom(size).hex()


def exported(attributes: dict[str, Any]) -> dict[str, str]:
    """Attributes as the exporter stores them: every value a string, arrays as JSON."""

    def as_string(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return json.dumps(value)
        return str(value)

    return {key: as_string(value) for key, value in attributes.items()}


def span(
    name: str,
    attributes: dict[str, Any],
    *,
    start_ns: int,
    trace_id: str,
    span_id: str | None = None,
    parent_span_id: str = "",
    duration_ns: int = 0,
    kind: str = "Internal",
    status: str = "Unset",
    status_message: str = "",
    resource: dict[str, str] | None = None,
    events: list[tuple[int, str, dict[str, Any]]] | None = None,
) -> list[Any]:
    """One otel_traces row (values in SPAN_COLUMNS order)."""
    resource = resource if resource is not None else {"service.name": "sales-agents"}
    events = events or []
    return [
        start_ns,
        trace_id,
        span_id or new_id(),
        parent_span_id,
        "",
        name,
        kind,
        resource.get("service.name", ""),
        resource,
        "hiveloop",
        "0.1.0",
        exported(attributes),
        duration_ns,
        status,
        status_message,
        [event[0] for event in events],
        [event[1] for event in events],
        [exported(event[2]) for event in events],
        [],
        [],
        [],
        [],
    ]


def hiveloop_resource(tenant: str, key_type: str = "live") -> dict[str, str]:
    """The resource of a HiveLoop process, with the tenant and key type the collector sets."""
    return {
        "service.name": "sales-agents",
        "deployment.environment.name": "production",
        "hiveboard.group": "sales-agents",
        "telemetry.distro.name": "hiveloop",
        "telemetry.distro.version": "0.1.0",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.language": "python",
        "hiveboard.tenant.id": tenant,
        "hiveboard.key.type": key_type,
    }


AGENT = {
    "hiveboard.agent.id": "lead-qualifier",
    "hiveboard.agent.type": "sales",
    "hiveboard.agent.framework": "custom",
    "hiveboard.agent.version": "1.0.0",
}
TASK = {
    "hiveboard.agent.id": "lead-qualifier",
    "hiveboard.task.id": "task-001",
    "hiveboard.task.type": "lead_qualification",
    "hiveboard.project": "sales-pipeline",
}


def event(event_type: str, extra: dict[str, Any], severity: str = "info") -> dict[str, Any]:
    """The attributes of a HiveLoop narrative event span inside TASK."""
    return {
        **TASK,
        "hiveboard.span.type": "event",
        "hiveboard.event.type": event_type,
        "hiveboard.severity": severity,
        **extra,
    }


def insert_spans(storage: Storage, *rows: list[Any]) -> None:
    storage.insert("otel_traces", SPAN_COLUMNS, list(rows))


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(tmp_path_factory.mktemp("schema") / "hiveboard-data") as opened:
        migrate(opened, SchemaConfig())
        yield opened


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone, so tests share one database without seeing each other's rows."""
    return f"tenant-{new_id()}"


# ---- the exporter's tables ---------------------------------------------------------------------------

EXPECTED_TRACES_DDL = """\
CREATE TABLE IF NOT EXISTS `hiveboard`.`otel_traces` (
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
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = {engine}
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
{ttl}SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1"""


def test_traces_ddl_is_the_exporters_on_a_single_node() -> None:
    expected = EXPECTED_TRACES_DDL.replace("{engine}", "MergeTree()").replace(
        "{ttl}", "TTL toDateTime(Timestamp) + toIntervalDay(30)\n"
    )
    assert render_traces_table("hiveboard", ttl_days=30, cluster_name=None) == expected


def test_traces_ddl_is_the_exporters_on_a_cluster() -> None:
    expected = (
        EXPECTED_TRACES_DDL.replace("`otel_traces` (", "`otel_traces` ON CLUSTER `main` (")
        .replace("{engine}", "ReplicatedMergeTree()")
        .replace("{ttl}", "")
    )
    assert render_traces_table("hiveboard", ttl_days=0, cluster_name="main") == expected


# (name, type, default_kind, compression codec, comment), from the exporter's sqltemplates.
Z = "CODEC(ZSTD(1))"
DELTA = "CODEC(Delta(8), ZSTD(1))"
LC = "LowCardinality(String)"
MAP = "Map(LowCardinality(String), String)"
UPSTREAM_COLUMNS = {
    "otel_traces": [
        ("Timestamp", "DateTime64(9)", "", DELTA, ""),
        ("TraceId", "String", "", Z, ""),
        ("SpanId", "String", "", Z, ""),
        ("ParentSpanId", "String", "", Z, ""),
        ("TraceState", "String", "", Z, ""),
        ("SpanName", LC, "", Z, ""),
        ("SpanKind", LC, "", Z, ""),
        ("ServiceName", LC, "", Z, ""),
        ("ResourceAttributes", MAP, "", Z, ""),
        ("ScopeName", "String", "", Z, ""),
        ("ScopeVersion", "String", "", Z, ""),
        ("SpanAttributes", MAP, "", Z, ""),
        ("Duration", "UInt64", "", "CODEC(T64, ZSTD(1))", ""),
        ("StatusCode", LC, "", Z, ""),
        ("StatusMessage", "String", "", Z, ""),
        ("Events.Timestamp", "Array(DateTime64(9))", "", Z, ""),
        ("Events.Name", f"Array({LC})", "", Z, ""),
        ("Events.Attributes", f"Array({MAP})", "", Z, ""),
        ("Links.TraceId", "Array(String)", "", Z, ""),
        ("Links.SpanId", "Array(String)", "", Z, ""),
        ("Links.TraceState", "Array(String)", "", Z, ""),
        ("Links.Attributes", f"Array({MAP})", "", Z, ""),
        ("ResourceAttributeItems", "Array(String)", "ALIAS", "", ""),
        ("SpanAttributeItems", "Array(String)", "ALIAS", "", ""),
    ],
    "otel_traces_trace_id_ts": [
        ("TraceId", "String", "", Z, ""),
        ("Start", "SimpleAggregateFunction(min, DateTime)", "", Z, ""),
        ("End", "SimpleAggregateFunction(max, DateTime)", "", Z, ""),
    ],
    "otel_logs": [
        ("Timestamp", "DateTime64(9)", "", DELTA, "Event timestamp with nanosecond precision"),
        ("TraceId", "String", "", Z, "W3C trace identifier"),
        ("SpanId", "String", "", Z, "W3C span identifier"),
        ("TraceFlags", "UInt8", "", "", "W3C trace flags"),
        ("SeverityText", LC, "", Z, "Log severity as text"),
        ("SeverityNumber", "UInt8", "", "", "Log severity as number (1-24)"),
        ("ServiceName", LC, "", Z, "Service that emitted the log"),
        ("Body", "String", "", Z, "Log message body"),
        ("ResourceSchemaUrl", LC, "", Z, "Schema URL for the resource"),
        ("ResourceAttributes", MAP, "", Z, "Resource attributes as key-value pairs"),
        ("ScopeSchemaUrl", LC, "", Z, "Schema URL for the instrumentation scope"),
        ("ScopeName", "String", "", Z, "Instrumentation scope name"),
        ("ScopeVersion", LC, "", Z, "Instrumentation scope version"),
        ("ScopeAttributes", MAP, "", Z, "Instrumentation scope attributes"),
        ("LogAttributes", MAP, "", Z, "Log record attributes"),
        ("EventName", "String", "", Z, "Event name for log records representing events"),
        *[
            (f"__otel_materialized_{attribute}", LC, "MATERIALIZED", Z, "")
            for attribute in (
                "k8s.cluster.name",
                "k8s.container.name",
                "k8s.deployment.name",
                "k8s.namespace.name",
                "k8s.node.name",
                "k8s.pod.name",
                "k8s.pod.uid",
                "deployment.environment.name",
            )
        ],
    ],
}
UPSTREAM_TABLES = {
    "otel_traces": "MergeTree PARTITION BY toDate(Timestamp) PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp)) ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp) TTL toDateTime(Timestamp) + toIntervalDay(30) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1",
    "otel_traces_trace_id_ts": "AggregatingMergeTree PARTITION BY toStartOfWeek(Start) ORDER BY (TraceId) TTL toDateTime(Start) + toIntervalDay(30) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1",
    "otel_logs": "MergeTree PARTITION BY toDate(Timestamp) ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp) TTL toDateTime(Timestamp) + toIntervalDay(30) SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1",
}
BLOOM = "bloom_filter(0.01)"
UPSTREAM_INDEXES = {
    "otel_traces": [
        ("idx_trace_id", "bloom_filter(0.001)", "TraceId", 1),
        ("idx_res_attr_key", BLOOM, "mapKeys(ResourceAttributes)", 1),
        ("idx_res_attr_value", BLOOM, "mapValues(ResourceAttributes)", 1),
        ("idx_span_attr_key", BLOOM, "mapKeys(SpanAttributes)", 1),
        ("idx_span_attr_value", BLOOM, "mapValues(SpanAttributes)", 1),
        ("idx_duration", "minmax", "Duration", 1),
        ("idx_lower_span_name", "tokenbf_v1(32768, 3, 0)", "lower(SpanName)", 8),
    ],
    "otel_traces_trace_id_ts": [],
    "otel_logs": [
        ("idx_trace_id", "bloom_filter(0.001)", "TraceId", 1),
        ("idx_res_attr_key", BLOOM, "mapKeys(ResourceAttributes)", 1),
        ("idx_res_attr_value", BLOOM, "mapValues(ResourceAttributes)", 1),
        ("idx_scope_attr_key", BLOOM, "mapKeys(ScopeAttributes)", 1),
        ("idx_scope_attr_value", BLOOM, "mapValues(ScopeAttributes)", 1),
        ("idx_log_attr_key", BLOOM, "mapKeys(LogAttributes)", 1),
        ("idx_log_attr_value", BLOOM, "mapValues(LogAttributes)", 1),
        ("idx_lower_body", "tokenbf_v1(32768, 3, 0)", "lower(Body)", 8),
    ],
}


@pytest.mark.parametrize("table", list(UPSTREAM_COLUMNS))
def test_created_exporter_tables_have_the_upstream_columns_indexes_and_keys(
    storage: ChDBStorage, table: str
) -> None:
    where = "WHERE database = 'hiveboard' AND table = {table:String}"
    columns = storage.query(
        f"SELECT name, type, default_kind, compression_codec, comment FROM system.columns {where} ORDER BY position",
        {"table": table},
    )
    indexes = storage.query(
        f"SELECT name, type_full, expr, granularity FROM system.data_skipping_indices {where}",
        {"table": table},
    )
    definition = storage.query(
        "SELECT engine_full FROM system.tables WHERE database = 'hiveboard' AND name = {table:String}",
        {"table": table},
    )
    assert columns.rows == UPSTREAM_COLUMNS[table]
    assert indexes.rows == UPSTREAM_INDEXES[table]
    assert definition.rows == [(UPSTREAM_TABLES[table],)]


def test_trace_id_lookup_holds_the_first_and_last_span_time_of_a_trace(storage: ChDBStorage) -> None:
    trace_id = new_id(16)
    insert_spans(
        storage,
        span("root", {}, start_ns=NOW_NS, trace_id=trace_id, duration_ns=5 * SECOND),
        span("child", {}, start_ns=NOW_NS + 3 * SECOND + 400_000_000, trace_id=trace_id),
    )
    result = storage.query(
        "SELECT toUnixTimestamp(min(Start)), toUnixTimestamp(max(End)) FROM otel_traces_trace_id_ts"
        " WHERE TraceId = {trace:String}",
        {"trace": trace_id},
    )
    assert result.rows == [(NOW_NS // SECOND, NOW_NS // SECOND + 3)]


# ---- hb_llm_calls -----------------------------------------------------------------------------------

LLM_CALL_QUERY = (
    "SELECT * EXCEPT (Timestamp), toUnixTimestamp64Nano(Timestamp) AS TimestampNs FROM hb_llm_calls"
    " WHERE TraceId = {trace:String} ORDER BY Timestamp"
)


def test_a_hiveloop_llm_span_lands_in_hb_llm_calls_typed(storage: ChDBStorage, tenant: str) -> None:
    trace_id, task_span_id, llm_span_id = new_id(16), new_id(), new_id()
    attributes = {
        **TASK,
        "hiveboard.span.type": "llm",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-20250514",
        "gen_ai.response.model": "claude-sonnet-4-20250514",
        "gen_ai.usage.input_tokens": 1800,
        "gen_ai.usage.output_tokens": 250,
        "gen_ai.usage.cache_read.input_tokens": 1200,
        "gen_ai.usage.cache_creation.input_tokens": 300,
        "gen_ai.response.finish_reasons": ["end_turn"],
        "hiveboard.llm.name": "lead_scoring",
        "hiveboard.llm.cost": 0.004,
        "hiveboard.llm.cost_source": "reported",
        "hiveboard.llm.turn_number": 3,
        "hiveboard.llm.prompt_preview": "Score this lead based on...",
        "hiveboard.llm.response_preview": "Score: 72. Reasoning: ...",
    }
    insert_spans(
        storage,
        span(
            "chat claude-sonnet-4-20250514",
            attributes,
            start_ns=NOW_NS,
            duration_ns=1_200_000_000,
            trace_id=trace_id,
            span_id=llm_span_id,
            parent_span_id=task_span_id,
            kind="Client",
            resource=hiveloop_resource(tenant, key_type="test"),
        ),
    )
    assert storage.query(LLM_CALL_QUERY, {"trace": trace_id}).dicts() == [
        {
            "TimestampNs": NOW_NS,
            "TenantId": tenant,
            "KeyType": "test",
            "Environment": "production",
            "ServiceName": "sales-agents",
            "TraceId": trace_id,
            "SpanId": llm_span_id,
            "ParentSpanId": task_span_id,
            "AgentId": "lead-qualifier",
            "TaskId": "task-001",
            "Project": "sales-pipeline",
            "CallName": "lead_scoring",
            "Provider": "anthropic",
            "RequestModel": "claude-sonnet-4-20250514",
            "ResponseModel": "claude-sonnet-4-20250514",
            "InputTokens": 1800,
            "OutputTokens": 250,
            "CacheReadTokens": 1200,
            "CacheWriteTokens": 300,
            "ReportedCost": 0.004,
            "ReportedCostSource": "reported",
            "DurationNs": 1_200_000_000,
            "TurnNumber": 3,
            "FinishReasons": ["end_turn"],
            "PromptPreview": "Score this lead based on...",
            "ResponsePreview": "Score: 72. Reasoning: ...",
            "StatusCode": "Unset",
        }
    ]


def test_a_plain_otel_genai_span_lands_in_hb_llm_calls_with_defaults(storage: ChDBStorage) -> None:
    trace_id, span_id = new_id(16), new_id()
    openllmetry_resource = {"service.name": "support-bot"}
    genai_call = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cache_write.input_tokens": 64,
        "gen_ai.response.finish_reasons": "stop",
    }
    insert_spans(
        storage,
        span(
            "openai.chat",
            genai_call,
            start_ns=NOW_NS,
            duration_ns=SECOND,
            trace_id=trace_id,
            span_id=span_id,
            kind="Client",
            resource=openllmetry_resource,
        ),
        # Not model calls: an agent invocation, a tool, and a chat span that names no model.
        span(
            "invoke_agent planner",
            {"gen_ai.operation.name": "invoke_agent"},
            start_ns=NOW_NS,
            trace_id=trace_id,
        ),
        span(
            "execute_tool search",
            {"gen_ai.operation.name": "execute_tool"},
            start_ns=NOW_NS,
            trace_id=trace_id,
        ),
        span("chat", {"gen_ai.operation.name": "chat"}, start_ns=NOW_NS, trace_id=trace_id),
    )
    (row,) = storage.query(LLM_CALL_QUERY, {"trace": trace_id}).dicts()
    assert row == {
        **row,
        "SpanId": span_id,
        "TenantId": "default",
        "KeyType": "live",
        "Environment": "",
        "ServiceName": "support-bot",
        "AgentId": "",
        "TaskId": "",
        "CallName": "openai.chat",
        "Provider": "openai",
        "RequestModel": "gpt-4o",
        "ResponseModel": "gpt-4o",
        "InputTokens": 100,
        "OutputTokens": 20,
        "CacheReadTokens": 0,
        "CacheWriteTokens": 64,
        "ReportedCost": None,
        "ReportedCostSource": "",
        "TurnNumber": None,
        "FinishReasons": ["stop"],
    }


# ---- hb_tasks ----------------------------------------------------------------------------------------

TASK_QUERY = (
    "SELECT TaskId, AgentId, AgentType, TaskType, Project, Status, toUnixTimestamp64Nano(StartTime) AS Start,"
    " toUnixTimestamp64Nano(EndTime) AS End, DurationNs, ErrorType, ErrorMessage"
    " FROM hb_tasks FINAL WHERE TenantId = {tenant:String} AND TaskSpanId = {task:String}"
)


def task_span(
    tenant: str,
    trace_id: str,
    task_span_id: str,
    task_status: str,
    duration_ns: int,
    extra_attributes: dict[str, Any] | None = None,
    **span_options: Any,
) -> list[Any]:
    """The span of a HiveLoop task (`invoke_agent`), written when the task ends."""
    attributes = {
        **AGENT,
        **TASK,
        "hiveboard.span.type": "task",
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "lead-qualifier",
        "hiveboard.task.status": task_status,
        **(extra_attributes or {}),
    }
    return span(
        "invoke_agent lead-qualifier",
        attributes,
        start_ns=NOW_NS,
        duration_ns=duration_ns,
        trace_id=trace_id,
        span_id=task_span_id,
        resource=hiveloop_resource(tenant),
        **span_options,
    )


def task_started(tenant: str, trace_id: str, task_span_id: str) -> list[Any]:
    return span(
        "task_started",
        event("task_started", {}),
        start_ns=NOW_NS + 1_000,  # just after the task span started
        trace_id=trace_id,
        parent_span_id=task_span_id,
        resource=hiveloop_resource(tenant),
    )


def test_a_started_task_is_processing_until_its_span_completes_it(storage: ChDBStorage, tenant: str) -> None:
    trace_id, task_span_id = new_id(16), new_id()
    parameters = {"tenant": tenant, "task": task_span_id}

    insert_spans(storage, task_started(tenant, trace_id, task_span_id))
    assert storage.query(TASK_QUERY, parameters).rows == [
        ("task-001", "lead-qualifier", "", "lead_qualification", "sales-pipeline", "processing")
        + (NOW_NS + 1_000, None, None, "", "")
    ]

    insert_spans(storage, task_span(tenant, trace_id, task_span_id, "completed", 4 * SECOND, status="Ok"))
    completed = ("task-001", "lead-qualifier", "sales", "lead_qualification", "sales-pipeline", "completed")
    assert storage.query(TASK_QUERY, parameters).rows == [
        completed + (NOW_NS, NOW_NS + 4 * SECOND, 4 * SECOND, "", "")
    ]
    # Without FINAL, the latest version per task span gives the same answer.
    latest = storage.query(
        "SELECT argMax(Status, Version), count() FROM hb_tasks"
        " WHERE TenantId = {tenant:String} AND TaskSpanId = {task:String} GROUP BY TaskSpanId",
        parameters,
    )
    assert latest.rows == [("completed", 2)]


def test_a_task_that_starts_and_ends_within_one_insert_is_completed(
    storage: ChDBStorage, tenant: str
) -> None:
    trace_id, task_span_id = new_id(16), new_id()
    ended = task_span(tenant, trace_id, task_span_id, "completed", 4 * SECOND, status="Ok")
    insert_spans(storage, task_started(tenant, trace_id, task_span_id), ended)

    rows = storage.query(
        "SELECT Status, Version FROM hb_tasks WHERE TenantId = {tenant:String} AND TaskSpanId = {task:String}",
        {"tenant": tenant, "task": task_span_id},
    )
    # One view writes both rows in one block, which the ReplacingMergeTree collapses as it writes it.
    assert rows.rows == [("completed", 1)]
    views = storage.query(
        "SELECT name FROM system.tables WHERE database = 'hiveboard' AND engine = 'MaterializedView'"
        " AND name LIKE 'hb_tasks%'"
    )
    assert views.rows == [("hb_tasks_mv",)]  # migration 7 replaced the marker's and the span's views


def test_a_failed_task_keeps_its_error_even_when_its_marker_arrives_last(
    storage: ChDBStorage, tenant: str
) -> None:
    trace_id, task_span_id = new_id(16), new_id()
    failed = task_span(
        tenant,
        trace_id,
        task_span_id,
        "failed",
        2 * SECOND,
        status="Error",
        status_message="ConnectionError: CRM timed out",
        extra_attributes={"error.type": "ConnectionError"},
        events=[(NOW_NS + 2 * SECOND, "exception", {"exception.type": "ConnectionError"})],
    )
    insert_spans(storage, failed)
    insert_spans(storage, task_started(tenant, trace_id, task_span_id))

    (row,) = storage.query(TASK_QUERY, {"tenant": tenant, "task": task_span_id}).rows
    assert row[5:] == (
        "failed",
        NOW_NS,
        NOW_NS + 2 * SECOND,
        2 * SECOND,
        "ConnectionError",
        "ConnectionError: CRM timed out",
    )


# ---- hb_events ---------------------------------------------------------------------------------------

EVENT_DEFAULTS = {
    "Kind": "",
    "Severity": "info",
    "Summary": "",
    "ActionName": "",
    "DurationNs": 0,
    "ErrorType": "",
    "ErrorMessage": "",
    "IssueId": "",
    "IssueAction": "",
    "IssueSeverity": "",
    "IssueCategory": "",
    "OccurrenceCount": None,
    "QueueDepth": None,
    "TodoId": "",
    "TodoAction": "",
    "PlanStepIndex": None,
    "PlanStepAction": "",
    "PlanTotalSteps": None,
    "PlanRevision": None,
    "RetryAttempt": None,
    "ApprovalDecision": "",
}


def action(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        **TASK,
        "hiveboard.span.type": "action",
        "hiveboard.action.name": name,
        "hiveboard.action.status": status,
        "hiveboard.action.depth": 0,
        **extra,
    }


def test_the_activity_stream_gets_typed_events_and_no_heartbeats(storage: ChDBStorage, tenant: str) -> None:
    trace_id, task_span_id = new_id(16), new_id()

    def at(offset_ms: int, name: str, attributes: dict[str, Any], **options: Any) -> list[Any]:
        start_ns = NOW_NS + offset_ms * 1_000_000
        resource = hiveloop_resource(tenant)
        return span(
            name,
            attributes,
            start_ns=start_ns,
            trace_id=trace_id,
            parent_span_id=task_span_id,
            resource=resource,
            **options,
        )

    issue = {
        "hiveboard.issue.id": "crm-auth-failure",
        "hiveboard.issue.action": "reported",
        "hiveboard.issue.severity": "high",
        "hiveboard.issue.category": "permissions",
        "hiveboard.issue.occurrence_count": 8,
    }
    plan_step = {
        "hiveboard.plan.step.index": 0,
        "hiveboard.plan.step.action": "completed",
        "hiveboard.plan.total_steps": 4,
        "hiveboard.plan.revision": 0,
        "hiveboard.event.summary": "CRM data retrieved",
    }
    compaction = {
        "hiveboard.event.kind": "context_compaction",
        "hiveboard.event.summary": "Compacted context",
    }
    llm = {
        **TASK,
        "hiveboard.span.type": "llm",
        "gen_ai.request.model": "gpt-4o",
    }
    insert_spans(
        storage,
        task_span(tenant, trace_id, task_span_id, "completed", 3 * SECOND, status="Ok"),
        at(0, "task_started", event("task_started", {})),
        at(10, "plan_step", event("plan_step", plan_step)),
        at(20, "heartbeat", {**event("heartbeat", {}, severity="debug"), **AGENT}),
        at(30, "fetch_crm_data", action("fetch_crm_data", "completed"), duration_ns=500_000_000, status="Ok"),
        at(
            40,
            "enrich",
            action("enrich", "failed", **{"error.type": "TimeoutError"}),
            duration_ns=100_000_000,
            status="Error",
            status_message="TimeoutError: enrichment timed out",
        ),
        at(50, "chat gpt-4o", llm, duration_ns=800_000_000, kind="Client"),
        at(60, "issue", event("issue", issue, severity="error")),
        at(70, "queue_snapshot", event("queue_snapshot", {"hiveboard.queue.depth": 5})),
        at(80, "todo", event("todo", {"hiveboard.todo.id": "todo-001", "hiveboard.todo.action": "created"})),
        at(90, "retry_started", event("retry_started", {"hiveboard.retry.attempt": 2}, severity="warn")),
        at(100, "approval_received", event("approval_received", {"hiveboard.approval.decision": "approved"})),
        at(110, "custom", event("custom", compaction)),
        at(120, "GET /crm", {"http.request.method": "GET"}, kind="Client"),  # not a HiveLoop span
    )

    result = storage.query(
        "SELECT intDiv(toUnixTimestamp64Nano(Timestamp) - {start:Int64}, 1000000) AS AtMs, EventType,"
        f" {', '.join(EVENT_DEFAULTS)}"
        " FROM hb_events WHERE TenantId = {tenant:String} AND TraceId = {trace:String} ORDER BY Timestamp",
        {"tenant": tenant, "trace": trace_id, "start": NOW_NS},
    )
    expected = [
        {"AtMs": 0, "EventType": "task_started"},
        {"AtMs": 10, "EventType": "plan_step", "Summary": "CRM data retrieved", "PlanStepIndex": 0}
        | {"PlanStepAction": "completed", "PlanTotalSteps": 4, "PlanRevision": 0},
        {"AtMs": 60, "EventType": "issue", "Severity": "error", "IssueId": "crm-auth-failure"}
        | {
            "IssueAction": "reported",
            "IssueSeverity": "high",
            "IssueCategory": "permissions",
            "OccurrenceCount": 8,
        },
        {"AtMs": 70, "EventType": "queue_snapshot", "QueueDepth": 5},
        {"AtMs": 80, "EventType": "todo", "TodoId": "todo-001", "TodoAction": "created"},
        {"AtMs": 90, "EventType": "retry_started", "Severity": "warn", "RetryAttempt": 2},
        {"AtMs": 100, "EventType": "approval_received", "ApprovalDecision": "approved"},
        {"AtMs": 110, "EventType": "custom", "Kind": "context_compaction", "Summary": "Compacted context"},
        # Spans with a duration enter the stream when they end.
        {"AtMs": 140, "EventType": "action_failed", "Severity": "error", "ActionName": "enrich"}
        | {
            "DurationNs": 100_000_000,
            "ErrorType": "TimeoutError",
            "ErrorMessage": "TimeoutError: enrichment timed out",
        },
        {
            "AtMs": 530,
            "EventType": "action_completed",
            "ActionName": "fetch_crm_data",
            "DurationNs": 500_000_000,
        },
        {"AtMs": 850, "EventType": "llm_call", "DurationNs": 800_000_000},
        {"AtMs": 3000, "EventType": "task_completed", "DurationNs": 3 * SECOND},
    ]
    assert result.dicts() == [EVENT_DEFAULTS | row for row in expected]


def test_an_event_keeps_its_attributes_for_the_detail_panel(storage: ChDBStorage, tenant: str) -> None:
    trace_id, span_id = new_id(16), new_id()
    attributes = event("escalated", {"hiveboard.escalation.assigned_to": "senior-sales"}, severity="warn")
    row = span(
        "escalated",
        attributes,
        start_ns=NOW_NS,
        trace_id=trace_id,
        span_id=span_id,
        resource=hiveloop_resource(tenant),
    )
    insert_spans(storage, row)
    result = storage.query(
        "SELECT EventType, AgentId, TaskId, Project, Attributes FROM hb_events"
        " WHERE TenantId = {tenant:String} AND SpanId = {span:String}",
        {"tenant": tenant, "span": span_id},
    )
    assert result.rows == [
        ("escalated", "lead-qualifier", "task-001", "sales-pipeline", exported(attributes))
    ]


def test_a_span_with_an_absurd_duration_does_not_fail_the_insert(storage: ChDBStorage, tenant: str) -> None:
    trace_id, task_span_id = new_id(16), new_id()
    broken_clock = task_span(tenant, trace_id, task_span_id, "completed", 2**64 - 1)
    insert_spans(storage, broken_clock)  # the views' end time would overflow DateTime64(9)

    stored = storage.query(
        "SELECT toInt128(Duration) FROM otel_traces WHERE SpanId = {task:String}"
        " UNION ALL SELECT toUnixTimestamp64Nano(EndTime) FROM hb_tasks WHERE TaskSpanId = {task:String}",
        {"task": task_span_id},
    )
    # The task ends at the last DateTime64(9) instant. (Its hb_events row lands in a partition whose
    # TTL, computed in DateTime, wraps around: the next merge drops it, which garbage deserves.)
    assert sorted(stored.rows) == [(2**63 - 1,), (2**64 - 1,)]


# ---- hb_agents ---------------------------------------------------------------------------------------


def test_the_hive_keeps_the_latest_registration_or_heartbeat_per_agent(
    storage: ChDBStorage, tenant: str
) -> None:
    trace_id = new_id(16)
    identity = {
        **AGENT,
        "hiveboard.span.type": "event",
        "hiveboard.agent.heartbeat_interval": 30.0,
        "hiveboard.agent.stuck_threshold": 300,
    }

    def agent_event(event_type: str, offset_s: int, payload: dict[str, int] | None = None) -> list[Any]:
        attributes = {**identity, "hiveboard.event.type": event_type, "hiveboard.severity": "debug"}
        if payload is not None:
            attributes["hiveboard.heartbeat.payload"] = json.dumps(payload)
        start_ns = NOW_NS + offset_s * SECOND
        return span(
            event_type, attributes, start_ns=start_ns, trace_id=trace_id, resource=hiveloop_resource(tenant)
        )

    # The later heartbeat arrives first: the latest one must still win.
    insert_spans(
        storage, agent_event("agent_registered", 0), agent_event("heartbeat", 60, {"queue_depth": 1})
    )
    insert_spans(storage, agent_event("heartbeat", 30, {"queue_depth": 3}))

    result = storage.query(
        "SELECT * EXCEPT (LastHeartbeat), toUnixTimestamp64Nano(LastHeartbeat) AS LastHeartbeatNs"
        " FROM hb_agents FINAL WHERE TenantId = {tenant:String}",
        {"tenant": tenant},
    )
    assert result.dicts() == [
        {
            "TenantId": tenant,
            "KeyType": "live",
            "Environment": "production",
            "AgentId": "lead-qualifier",
            "AgentType": "sales",
            "Version": "1.0.0",
            "Framework": "custom",
            "HeartbeatInterval": 30.0,
            "StuckThreshold": 300,
            "LastHeartbeatNs": NOW_NS + 60 * SECOND,
            "HeartbeatPayload": '{"queue_depth": 1}',
        }
    ]
    heartbeats_in_stream = storage.query(
        "SELECT count() FROM hb_events WHERE TenantId = {tenant:String} AND EventType = 'heartbeat'",
        {"tenant": tenant},
    )
    assert heartbeats_in_stream.rows == [(0,)]


# ---- hb_model_prices and hb_llm_costs (their contents: tests/collector/test_pricing.py) ---------------

EXPECTED_PRICES_DDL = """\
CREATE TABLE IF NOT EXISTS `hiveboard`.`hb_model_prices`{cluster} (
    Provider LowCardinality(String),
    Model String,
    Input Nullable(Float64),
    Output Nullable(Float64),
    CacheRead Nullable(Float64),
    CacheWrite Nullable(Float64),
    MatchedModel String,
    Priced Bool,
    Tiered Bool,
    UpdatedAt DateTime64(3, 'UTC')
) ENGINE = {engine}
ORDER BY (Provider, Model)
COMMENT 'Token rates (USD per million) of the models of hb_llm_calls; the latest UpdatedAt wins'"""


@pytest.mark.parametrize(
    ("cluster_name", "cluster", "engine"),
    [
        (None, "", "ReplacingMergeTree(UpdatedAt)"),
        ("hive-cluster", " ON CLUSTER `hive-cluster`", "ReplicatedReplacingMergeTree(UpdatedAt)"),
    ],
)
def test_the_prices_table_and_costs_view_ddl(cluster_name: str | None, cluster: str, engine: str) -> None:
    table, view = prices_table.statements("hiveboard", cluster_name)
    assert table == EXPECTED_PRICES_DDL.format(cluster=cluster, engine=engine)
    lines = view.splitlines()
    assert lines[0] == f"CREATE VIEW IF NOT EXISTS `hiveboard`.`hb_llm_costs`{cluster} AS"
    assert "FROM `hiveboard`.`hb_llm_calls` AS calls" in lines
    # The prices are read once per query and looked up, not joined.
    assert view.count("FROM `hiveboard`.`hb_model_prices` FINAL") == 1 and "JOIN" not in view
    assert "ENGINE" not in view  # a plain view: computed when read, nothing stored
    (replacement,) = prices_table.replace_costs_view_statements("hiveboard", cluster_name)
    assert replacement == view.replace("CREATE VIEW IF NOT EXISTS", "CREATE OR REPLACE VIEW", 1)


@pytest.mark.parametrize(
    ("version", "name"), [(13, "lookup_costs_view"), (16, "typed_costs_view"), (18, "eager_costs_view")]
)
def test_a_migration_replaces_the_costs_view_made_before_it(
    storage: ChDBStorage, version: int, name: str
) -> None:
    config = SchemaConfig(database="costs_view_test")
    migrate(storage, config, MIGRATIONS[: version - 1])
    view = qualified(config.database, prices_table.LLM_COSTS_VIEW)
    storage.command(f"CREATE OR REPLACE VIEW {view} AS SELECT 1 AS Before")
    assert migrate(storage, config, MIGRATIONS[:version]) == [name]
    create = storage.query(f"SHOW CREATE TABLE {view}").rows[0][0]
    assert "transform(" in create and "Before" not in create
    storage.command(f"DROP DATABASE {quote_identifier(config.database)}")


def test_the_costs_view_has_every_llm_call_column_and_the_cost(storage: ChDBStorage) -> None:
    def columns(table: str) -> list[tuple[str, str]]:
        return storage.query(
            "SELECT name, type FROM system.columns WHERE database = 'hiveboard' AND table = {table:String}"
            " ORDER BY position",
            {"table": table},
        ).rows

    assert columns("hb_llm_costs") == [
        *columns("hb_llm_calls"),
        ("Cost", "Nullable(Float64)"),
        ("CostSource", "LowCardinality(String)"),
        ("MatchedModel", "String"),
    ]


# ---- retention -----------------------------------------------------------------------------------------


def test_each_hiveboard_table_has_its_key_and_retention(storage: ChDBStorage) -> None:
    result = storage.query(
        "SELECT name, engine, partition_key, sorting_key, extract(engine_full, 'TTL toDateTime\\(\\w+\\) \\+ toIntervalDay\\(\\d+\\)'), comment != ''"
        " FROM system.tables WHERE database = 'hiveboard' AND name LIKE 'hb\\_%'"
        " AND engine NOT IN ('MaterializedView', 'View')"
        " ORDER BY name"
    )
    assert result.rows == [
        (
            "hb_agent_activity",
            "AggregatingMergeTree",
            "",
            "TenantId, KeyType, AgentId",
            "TTL toDateTime(LastSeen) + toIntervalDay(7)",
            True,
        ),
        (
            "hb_agent_reports",
            "ReplacingMergeTree",
            "",
            "TenantId, KeyType, AgentId, EventType",
            "TTL toDateTime(Timestamp) + toIntervalDay(30)",
            True,
        ),
        (
            "hb_agent_tasks",
            "AggregatingMergeTree",
            "",
            "TenantId, KeyType, AgentId",
            "TTL toDateTime(LastTaskEnd) + toIntervalDay(30)",
            True,
        ),
        (
            "hb_agents",
            "ReplacingMergeTree",
            "",
            "TenantId, KeyType, AgentId",
            "TTL toDateTime(LastHeartbeat) + toIntervalDay(7)",
            True,
        ),
        ("hb_api_keys", "ReplacingMergeTree", "", "KeyHash", "", True),
        ("hb_ended_sessions", "MergeTree", "", "SessionId", "", True),  # TTL ExpiresAt
        (
            "hb_events",
            "MergeTree",
            "toDate(Timestamp)",
            "TenantId, KeyType, AgentId, Timestamp",
            "TTL toDateTime(Timestamp) + toIntervalDay(30)",
            True,
        ),
        (
            "hb_insight_events",
            "MergeTree",
            "toDate(Timestamp)",
            "TenantId, KeyType, EventType, AgentId, Timestamp",
            "TTL toDateTime(Timestamp) + toIntervalDay(30)",
            True,
        ),
        (
            "hb_issue_states",
            "AggregatingMergeTree",
            "",
            "TenantId, KeyType, AgentId, IssueId",
            "TTL toDateTime(LastReport) + toIntervalDay(30)",
            True,
        ),
        (
            "hb_llm_calls",
            "MergeTree",
            "toDate(Timestamp)",
            "TenantId, KeyType, Timestamp",
            "TTL toDateTime(Timestamp) + toIntervalDay(30)",
            True,
        ),
        (
            "hb_llm_models",
            "AggregatingMergeTree",
            "",
            "Provider, Model",
            "TTL toDateTime(LastCall) + toIntervalDay(30)",
            True,
        ),
        ("hb_model_prices", "ReplacingMergeTree", "", "Provider, Model", "", True),
        (
            "hb_pipeline_events",
            "MergeTree",
            "toDate(Timestamp)",
            "TenantId, KeyType, EventType, AgentId, Timestamp",
            "TTL toDateTime(Timestamp) + toIntervalDay(30)",
            True,
        ),
        ("hb_projects", "ReplacingMergeTree", "", "TenantId, KeyType, Slug", "", True),
        ("hb_schema_migrations", "MergeTree", "", "version", "", True),
        (
            "hb_tasks",
            "ReplacingMergeTree",
            "",
            "TenantId, KeyType, TaskSpanId",
            "TTL toDateTime(StartTime) + toIntervalDay(30)",
            True,
        ),
    ]


# ---- migrations ----------------------------------------------------------------------------------------


def test_migrate_applies_each_migration_once_in_version_order(storage: ChDBStorage) -> None:
    config = SchemaConfig(database="migrations_test", raw_ttl_days=0)
    assert migrate(storage, config) == [
        "otel_exporter_tables",
        "hiveboard_tables",
        "api_keys_table",
        "model_prices",
        "projects_table",
        "agent_reports_table",
        "one_tasks_view",
        "events_attributes_lz4",
        "agent_activity_table",
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
    assert migrate(storage, config) == []

    notes = Migration(
        21,
        "hb_notes",
        lambda c: [
            f"CREATE TABLE IF NOT EXISTS `{c.database}`.hb_notes (note String) ENGINE = MergeTree ORDER BY note"
        ],
    )
    assert migrate(storage, config, [notes, *MIGRATIONS]) == ["hb_notes"]

    recorded = storage.query(
        "SELECT version, name FROM migrations_test.hb_schema_migrations ORDER BY version"
    )
    assert recorded.rows == [
        (1, "otel_exporter_tables"),
        (2, "hiveboard_tables"),
        (3, "api_keys_table"),
        (4, "model_prices"),
        (5, "projects_table"),
        (6, "agent_reports_table"),
        (7, "one_tasks_view"),
        (8, "events_attributes_lz4"),
        (9, "agent_activity_table"),
        (10, "current_state"),
        (11, "small_tables_merge"),
        (12, "tasks_by_agent"),
        (13, "lookup_costs_view"),
        (14, "insight_events"),
        (15, "ended_sessions_table"),
        (16, "typed_costs_view"),
        (17, "issue_states"),
        (18, "eager_costs_view"),
        (19, "events_by_severity"),
        (20, "llm_models"),
        (21, "hb_notes"),
    ]
    tables = storage.query("SELECT count() FROM system.tables WHERE database = 'migrations_test'")
    # 4 exporter + 8 hb_* tables and views + hb_api_keys + hb_model_prices + hb_llm_costs
    # + hb_projects + hb_agent_reports and its view + hb_agent_activity and its view
    # + hb_agent_tasks, hb_pipeline_events, hb_insight_events, hb_issue_states and hb_llm_models and
    # their views + hb_ended_sessions + hb_schema_migrations + hb_notes
    assert tables.rows == [(33,)]


def test_event_attributes_are_compressed_with_lz4_after_the_migrations(storage: ChDBStorage) -> None:
    # Created with ZSTD(1) by migration 2, switched by migration 8; every other column keeps its codec.
    codecs = dict(
        storage.query(
            "SELECT name, compression_codec FROM system.columns "
            "WHERE database = 'hiveboard' AND table = 'hb_events' AND compression_codec != ''"
        ).rows
    )
    assert codecs == {"Timestamp": "CODEC(Delta(8), ZSTD(1))", "Attributes": "CODEC(LZ4)"}


def test_migrate_refuses_two_migrations_with_one_version(storage: ChDBStorage) -> None:
    twin = Migration(2, "twin", lambda config: [])
    with pytest.raises(ValueError, match="migration versions must be unique"):
        migrate(storage, SchemaConfig(database="never_created"), [*MIGRATIONS, twin])


def test_every_statement_of_cluster_mode_is_on_the_cluster_with_replicated_engines() -> None:
    config = SchemaConfig(cluster_name="hive-cluster")
    ddl = bootstrap_statements(config) + [statement for m in MIGRATIONS for statement in m.statements(config)]

    assert all(" ON CLUSTER `hive-cluster`" in statement.splitlines()[0] for statement in ddl)
    engines = [
        line.split("ENGINE = ", 1)[1]
        for statement in ddl
        for line in statement.splitlines()
        if "ENGINE = " in line
    ]
    assert engines == [
        "ReplicatedMergeTree()",  # hb_schema_migrations
        "ReplicatedMergeTree()",  # otel_traces
        "ReplicatedAggregatingMergeTree()",  # otel_traces_trace_id_ts
        "ReplicatedMergeTree()",  # otel_logs
        "ReplicatedMergeTree()",  # hb_llm_calls
        "ReplicatedReplacingMergeTree(Version)",  # hb_tasks
        "ReplicatedMergeTree()",  # hb_events
        "ReplicatedReplacingMergeTree(LastHeartbeat)",  # hb_agents
        "ReplicatedReplacingMergeTree(Version)",  # hb_api_keys
        "ReplicatedReplacingMergeTree(UpdatedAt)",  # hb_model_prices
        "ReplicatedReplacingMergeTree(Version)",  # hb_projects
        "ReplicatedReplacingMergeTree(Timestamp)",  # hb_agent_reports
        "ReplicatedAggregatingMergeTree()",  # hb_agent_activity
        "ReplicatedAggregatingMergeTree()",  # hb_agent_tasks
        "ReplicatedMergeTree()",  # hb_pipeline_events
        "ReplicatedMergeTree()",  # hb_insight_events
        "ReplicatedMergeTree()",  # hb_ended_sessions
        "ReplicatedAggregatingMergeTree()",  # hb_issue_states
        "ReplicatedAggregatingMergeTree()",  # hb_llm_models
    ]


def test_migrate_on_a_cluster_sends_only_cluster_ddl_and_records_each_migration() -> None:
    client = FakeClient()
    storage = ClickHouseServerStorage(host="ch-1", client_factory=client.factory)
    assert migrate(storage, SchemaConfig(cluster_name="hive-cluster")) == [
        "otel_exporter_tables",
        "hiveboard_tables",
        "api_keys_table",
        "model_prices",
        "projects_table",
        "agent_reports_table",
        "one_tasks_view",
        "events_attributes_lz4",
        "agent_activity_table",
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

    commands = client.commands()
    assert len(commands) == 54 and all("ON CLUSTER `hive-cluster`" in command for command in commands)
    inserts = [args for method, args, _ in client.calls if method == "insert"]
    assert inserts == [
        ("`hiveboard`.`hb_schema_migrations`", [[1], ["otel_exporter_tables"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[2], ["hiveboard_tables"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[3], ["api_keys_table"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[4], ["model_prices"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[5], ["projects_table"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[6], ["agent_reports_table"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[7], ["one_tasks_view"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[8], ["events_attributes_lz4"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[9], ["agent_activity_table"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[10], ["current_state"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[11], ["small_tables_merge"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[12], ["tasks_by_agent"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[13], ["lookup_costs_view"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[14], ["insight_events"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[15], ["ended_sessions_table"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[16], ["typed_costs_view"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[17], ["issue_states"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[18], ["eager_costs_view"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[19], ["events_by_severity"]]),
        ("`hiveboard`.`hb_schema_migrations`", [[20], ["llm_models"]]),
    ]
