"""HiveBoard's own tables (`hb_*`), fed from `otel_traces` by materialized views.

Each table is typed and ordered for the queries of the views it serves, so those queries never read
the `Map` columns of `otel_traces`. Because the views hang off `otel_traces`, spans written by
HiveBoard's collector and by the upstream OpenTelemetry Collector land in the same `hb_*` rows.

Conventions of every `hb_*` table:

* `TenantId` is the resource attribute `hiveboard.tenant.id` (empty: 'default'), `KeyType` is
  `hiveboard.key.type` (empty: 'live'), `Environment` is `deployment.environment.name`;
* absent string attributes are '' and absent numbers are NULL (0 is a meaningful step index,
  revision or depth), except token counts, which are 0 so they can be summed as they are;
* times are `DateTime64(9)`, so rows keep the nanosecond order of their spans.
"""

from __future__ import annotations

from hiveboard.storage.schema.ddl import engine, on_cluster, projection, qualified, ttl
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveboard_semconv.attributes import (
    DEPLOYMENT_ENVIRONMENT_NAME,
    ERROR_TYPE,
    GEN_AI_AGENT_NAME,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    HIVEBOARD_ACTION_NAME,
    HIVEBOARD_ACTION_STATUS,
    HIVEBOARD_AGENT_FRAMEWORK,
    HIVEBOARD_AGENT_HEARTBEAT_INTERVAL,
    HIVEBOARD_AGENT_ID,
    HIVEBOARD_AGENT_STUCK_THRESHOLD,
    HIVEBOARD_AGENT_TYPE,
    HIVEBOARD_AGENT_VERSION,
    HIVEBOARD_APPROVAL_DECISION,
    HIVEBOARD_EVENT_KIND,
    HIVEBOARD_EVENT_SUMMARY,
    HIVEBOARD_EVENT_TYPE,
    HIVEBOARD_HEARTBEAT_PAYLOAD,
    HIVEBOARD_ISSUE_ACTION,
    HIVEBOARD_ISSUE_CATEGORY,
    HIVEBOARD_ISSUE_ID,
    HIVEBOARD_ISSUE_OCCURRENCE_COUNT,
    HIVEBOARD_ISSUE_SEVERITY,
    HIVEBOARD_KEY_TYPE,
    HIVEBOARD_LLM_COST,
    HIVEBOARD_LLM_COST_SOURCE,
    HIVEBOARD_LLM_NAME,
    HIVEBOARD_LLM_PROMPT_PREVIEW,
    HIVEBOARD_LLM_RESPONSE_PREVIEW,
    HIVEBOARD_LLM_TURN_NUMBER,
    HIVEBOARD_PLAN_REVISION,
    HIVEBOARD_PLAN_STEP_ACTION,
    HIVEBOARD_PLAN_STEP_INDEX,
    HIVEBOARD_PLAN_TOTAL_STEPS,
    HIVEBOARD_PROJECT,
    HIVEBOARD_QUEUE_DEPTH,
    HIVEBOARD_RETRY_ATTEMPT,
    HIVEBOARD_SEVERITY,
    HIVEBOARD_SPAN_TYPE,
    HIVEBOARD_TASK_ID,
    HIVEBOARD_TASK_STATUS,
    HIVEBOARD_TASK_TYPE,
    HIVEBOARD_TENANT_ID,
    HIVEBOARD_TODO_ACTION,
    HIVEBOARD_TODO_ID,
    PROCESS_RUNTIME_DESCRIPTION,
    PROCESS_RUNTIME_NAME,
    PROCESS_RUNTIME_VERSION,
    TELEMETRY_DISTRO_VERSION,
    HiveboardActionStatusValues,
    HiveboardEventTypeValues,
    HiveboardKeyTypeValues,
    HiveboardSpanTypeValues,
    HiveboardTaskStatusValues,
)

LLM_CALLS_TABLE = "hb_llm_calls"
TASKS_TABLE = "hb_tasks"
EVENTS_TABLE = "hb_events"
AGENTS_TABLE = "hb_agents"
AGENT_ACTIVITY_TABLE = "hb_agent_activity"

DEFAULT_TENANT = "default"
DEFAULT_KEY_TYPE = HiveboardKeyTypeValues.LIVE
# Status of a task whose `task_started` marker arrived but whose task span has not (yet).
PROCESSING = "processing"
# Event types of the activity stream for spans with a duration (narrative events keep their own).
TASK_COMPLETED = "task_completed"
TASK_FAILED = "task_failed"
ACTION_COMPLETED = "action_completed"
ACTION_FAILED = "action_failed"
LLM_CALL = "llm_call"

# Read, never emitted by HiveLoop, hence not in the registry: the GenAI names other
# instrumentations use for the provider (before `gen_ai.provider.name`) and for cache writes.
GEN_AI_SYSTEM = "gen_ai.system"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"
# GenAI operations that are model calls (not agent or tool invocations).
LLM_OPERATIONS = ("chat", "text_completion", "generate_content", "embeddings")
# `StatusCode` as the exporter writes it (the Go name of the OTLP status code).
STATUS_ERROR = "Error"


def literal(value: str) -> str:
    """A ClickHouse string literal."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _span(key: str) -> str:
    return f"SpanAttributes[{literal(key)}]"


def _resource(key: str) -> str:
    return f"ResourceAttributes[{literal(key)}]"


def _first_set(*expressions: str) -> str:
    """The first of `expressions` that is not ''."""
    *preferred, last = expressions
    candidates = [f"nullIf({expression}, '')" for expression in preferred]
    return f"coalesce({', '.join(candidates)}, {last})"


def _one_of(expression: str, values: tuple[str, ...]) -> str:
    return f"{expression} IN ({', '.join(literal(value) for value in values)})"


_SPAN_TYPE = _span(HIVEBOARD_SPAN_TYPE)
_EVENT_TYPE = _span(HIVEBOARD_EVENT_TYPE)
_IDENTITY = [
    f"{_first_set(_resource(HIVEBOARD_TENANT_ID), literal(DEFAULT_TENANT))} AS TenantId",
    f"{_first_set(_resource(HIVEBOARD_KEY_TYPE), literal(DEFAULT_KEY_TYPE))} AS KeyType",
    f"{_resource(DEPLOYMENT_ENVIRONMENT_NAME)} AS Environment",
]
# HiveLoop's agent id; OTel GenAI agent spans of other instrumentations name the agent instead.
_AGENT_ID = _first_set(_span(HIVEBOARD_AGENT_ID), _span(GEN_AI_AGENT_NAME))
# When a span ends. Computed in Int128 and capped at the last DateTime64(9) instant: an absurd
# `Duration` (a client clock gone wrong) must not overflow, which would fail the whole INSERT.
_END_TIME = (
    "fromUnixTimestamp64Nano(toInt64(least("
    "toInt128(toUnixTimestamp64Nano(span.Timestamp)) + span.Duration, 9223372036854775807)))"
)
_IDENTITY_COLUMNS = """\
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    Environment LowCardinality(String),"""


# ---- hb_llm_calls: the cost explorer ----------------------------------------------------------------

_LLM_CALLS_COLUMNS = f"""\
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
{_IDENTITY_COLUMNS}
    ServiceName LowCardinality(String),
    TraceId String,
    SpanId String,
    ParentSpanId String,
    AgentId LowCardinality(String),
    TaskId String,
    Project LowCardinality(String),
    CallName LowCardinality(String),
    Provider LowCardinality(String),
    RequestModel LowCardinality(String),
    ResponseModel LowCardinality(String),
    InputTokens UInt64,
    OutputTokens UInt64,
    CacheReadTokens UInt64,
    CacheWriteTokens UInt64,
    ReportedCost Nullable(Float64),
    ReportedCostSource LowCardinality(String),
    DurationNs UInt64,
    TurnNumber Nullable(UInt32),
    FinishReasons Array(LowCardinality(String)),
    PromptPreview String CODEC(ZSTD(1)),
    ResponsePreview String CODEC(ZSTD(1)),
    StatusCode LowCardinality(String)"""

# Exporters write an array attribute as its JSON text; a plain string is one reason.
_FINISH_REASONS = _span(GEN_AI_RESPONSE_FINISH_REASONS)
_CACHE_WRITE_TOKENS = _first_set(
    _span(GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS), _span(GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS)
)
_LLM_CALLS_SELECT = [
    "Timestamp",
    *_IDENTITY,
    "ServiceName",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    f"{_AGENT_ID} AS AgentId",
    f"{_span(HIVEBOARD_TASK_ID)} AS TaskId",
    f"{_span(HIVEBOARD_PROJECT)} AS Project",
    f"{_first_set(_span(HIVEBOARD_LLM_NAME), 'SpanName')} AS CallName",
    f"{_first_set(_span(GEN_AI_PROVIDER_NAME), _span(GEN_AI_SYSTEM))} AS Provider",
    f"{_span(GEN_AI_REQUEST_MODEL)} AS RequestModel",
    f"{_first_set(_span(GEN_AI_RESPONSE_MODEL), _span(GEN_AI_REQUEST_MODEL))} AS ResponseModel",
    f"toUInt64OrZero({_span(GEN_AI_USAGE_INPUT_TOKENS)}) AS InputTokens",
    f"toUInt64OrZero({_span(GEN_AI_USAGE_OUTPUT_TOKENS)}) AS OutputTokens",
    f"toUInt64OrZero({_span(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)}) AS CacheReadTokens",
    f"toUInt64OrZero({_CACHE_WRITE_TOKENS}) AS CacheWriteTokens",
    f"toFloat64OrNull({_span(HIVEBOARD_LLM_COST)}) AS ReportedCost",
    f"{_span(HIVEBOARD_LLM_COST_SOURCE)} AS ReportedCostSource",
    "Duration AS DurationNs",
    f"toUInt32OrNull({_span(HIVEBOARD_LLM_TURN_NUMBER)}) AS TurnNumber",
    f"if(startsWith({_FINISH_REASONS}, '['), JSONExtract({_FINISH_REASONS}, 'Array(String)'), "
    f"if({_FINISH_REASONS} = '', [], [{_FINISH_REASONS}])) AS FinishReasons",
    f"{_span(HIVEBOARD_LLM_PROMPT_PREVIEW)} AS PromptPreview",
    f"{_span(HIVEBOARD_LLM_RESPONSE_PREVIEW)} AS ResponsePreview",
    "StatusCode",
]
# HiveLoop's LLM spans, and model calls of any OTel GenAI instrumentation that names a model.
_LLM_CALLS_WHERE = (
    f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.LLM)}"
    f" OR ({_one_of(_span(GEN_AI_OPERATION_NAME), LLM_OPERATIONS)}"
    f" AND ({_span(GEN_AI_REQUEST_MODEL)} != '' OR {_span(GEN_AI_RESPONSE_MODEL)} != ''))"
)


def llm_calls_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_llm_calls`: one row per LLM call, in time order per tenant, for the cost explorer."""
    return [
        _create_table(
            database,
            LLM_CALLS_TABLE,
            cluster_name,
            "LLM calls for the cost explorer: tokens, reported cost and model per call",
            _LLM_CALLS_COLUMNS,
            engine("MergeTree", cluster_name),
            "PARTITION BY toDate(Timestamp)",
            "ORDER BY (TenantId, KeyType, Timestamp)",
            ttl("toDateTime(Timestamp)", ttl_days),
            "SETTINGS ttl_only_drop_parts = 1",
        ),
        _create_view(database, cluster_name, LLM_CALLS_TABLE, _LLM_CALLS_SELECT, _LLM_CALLS_WHERE),
    ]


# ---- hb_tasks: the task table and agent status -----------------------------------------------------

_TASKS_COLUMNS = f"""\
{_IDENTITY_COLUMNS}
    TaskSpanId String,
    TraceId String,
    TaskId String,
    AgentId LowCardinality(String),
    AgentType LowCardinality(String),
    TaskType LowCardinality(String),
    Project LowCardinality(String),
    Status LowCardinality(String),
    StartTime DateTime64(9),
    EndTime Nullable(DateTime64(9)),
    DurationNs Nullable(UInt64),
    ErrorType LowCardinality(String),
    ErrorMessage String,
    Version UInt8"""

_TASK_CONTEXT = [
    "TraceId",
    f"{_span(HIVEBOARD_TASK_ID)} AS TaskId",
    f"{_AGENT_ID} AS AgentId",
    f"{_span(HIVEBOARD_AGENT_TYPE)} AS AgentType",
    f"{_span(HIVEBOARD_TASK_TYPE)} AS TaskType",
    f"{_span(HIVEBOARD_PROJECT)} AS Project",
]
# The `task_started` marker is a child of the task span. EndTime and DurationNs stay NULL and the
# error columns empty: the task span's row (Version 1) replaces this one when the task ends.
_TASK_STARTED_SELECT = [
    *_IDENTITY,
    "ParentSpanId AS TaskSpanId",
    *_TASK_CONTEXT,
    f"{literal(PROCESSING)} AS Status",
    "Timestamp AS StartTime",
    "0 AS Version",
]
_TASK_STARTED_WHERE = (
    f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.EVENT)}"
    f" AND {_EVENT_TYPE} = {literal(HiveboardEventTypeValues.TASK_STARTED)}"
)
_IS_TASK_SPAN = f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.TASK)}"
# HiveLoop always sets the task status; without one, the span's OTel status decides.
_TASK_STATUS = _first_set(
    _span(HIVEBOARD_TASK_STATUS),
    f"if(StatusCode = {literal(STATUS_ERROR)}, {literal(HiveboardTaskStatusValues.FAILED)}, "
    f"{literal(HiveboardTaskStatusValues.COMPLETED)})",
)
_TASK_ENDED_SELECT = [
    *_IDENTITY,
    "SpanId AS TaskSpanId",
    *_TASK_CONTEXT,
    f"{_TASK_STATUS} AS Status",
    "Timestamp AS StartTime",
    f"{_END_TIME} AS EndTime",
    "Duration AS DurationNs",
    f"{_span(ERROR_TYPE)} AS ErrorType",
    "StatusMessage AS ErrorMessage",
    "1 AS Version",
]


def tasks_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_tasks`: one row per task span id, 'processing' from the `task_started` marker until the
    task span's final row (higher `Version`) replaces it; read it with `FINAL` or `argMax(..., Version)`.

    Not partitioned: ReplacingMergeTree replaces rows only within a partition, and the two rows of a
    task carry different start times (the marker is emitted just after the task span starts).
    """
    return [
        _create_table(
            database,
            TASKS_TABLE,
            cluster_name,
            "Tasks for the task table and agent status: one row per task span, the latest Version wins",
            _TASKS_COLUMNS,
            engine("ReplacingMergeTree", cluster_name, "Version"),
            "ORDER BY (TenantId, KeyType, TaskSpanId)",
            ttl("toDateTime(StartTime)", ttl_days),
        ),
        _create_view(
            database, cluster_name, TASKS_TABLE, _TASK_STARTED_SELECT, _TASK_STARTED_WHERE, suffix="started"
        ),
        _create_view(
            database,
            cluster_name,
            TASKS_TABLE,
            _TASK_ENDED_SELECT,
            _IS_TASK_SPAN,
            suffix="ended",
        ),
    ]


# Since migration 7, one view feeds hb_tasks with both rows of a task. ClickHouse plans each view's
# SELECT anew at every insert into otel_traces, and each view writes a part of its own: the two
# views cost about 6 ms of every insert more than one.
_TASK_ROW_SELECT = [
    *_IDENTITY,
    f"if({_IS_TASK_SPAN}, SpanId, ParentSpanId) AS TaskSpanId",
    *_TASK_CONTEXT,
    f"if({_IS_TASK_SPAN}, {_TASK_STATUS}, {literal(PROCESSING)}) AS Status",
    "Timestamp AS StartTime",
    f"if({_IS_TASK_SPAN}, {_END_TIME}, NULL) AS EndTime",
    f"if({_IS_TASK_SPAN}, Duration, NULL) AS DurationNs",
    f"if({_IS_TASK_SPAN}, {_span(ERROR_TYPE)}, '') AS ErrorType",
    f"if({_IS_TASK_SPAN}, StatusMessage, '') AS ErrorMessage",
    f"if({_IS_TASK_SPAN}, 1, 0) AS Version",
]


def one_tasks_view_statements(database: str, cluster_name: str | None) -> list[str]:
    """`hb_tasks_mv`, which writes both rows of a task (the `task_started` marker's and the task
    span's), in place of the two views that wrote one each. It is created before they are dropped:
    meanwhile a task's row may be written twice, which the ReplacingMergeTree collapses."""
    where = f"{_IS_TASK_SPAN} OR ({_TASK_STARTED_WHERE})"
    old_views = (qualified(database, f"{TASKS_TABLE}_{suffix}_mv") for suffix in ("started", "ended"))
    return [
        _create_view(database, cluster_name, TASKS_TABLE, _TASK_ROW_SELECT, where),
        *(f"DROP VIEW IF EXISTS {view}{on_cluster(cluster_name)}" for view in old_views),
    ]


# ---- hb_events: the activity stream, the timeline and the pipeline --------------------------------

_EVENTS_ATTRIBUTES_TYPE = "Map(LowCardinality(String), String)"
# Also the columns of hb_pipeline_events and hb_insight_events (`current_state`), copies of some of its rows.
EVENTS_COLUMNS = f"""\
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
{_IDENTITY_COLUMNS}
    AgentId LowCardinality(String),
    TaskId String,
    Project LowCardinality(String),
    TraceId String,
    SpanId String,
    ParentSpanId String,
    EventType LowCardinality(String),
    Kind LowCardinality(String),
    Severity LowCardinality(String),
    Summary String,
    ActionName LowCardinality(String),
    DurationNs UInt64,
    ErrorType LowCardinality(String),
    ErrorMessage String,
    IssueId String,
    IssueAction LowCardinality(String),
    IssueSeverity LowCardinality(String),
    IssueCategory LowCardinality(String),
    OccurrenceCount Nullable(UInt32),
    QueueDepth Nullable(UInt32),
    TodoId String,
    TodoAction LowCardinality(String),
    PlanStepIndex Nullable(UInt32),
    PlanStepAction LowCardinality(String),
    PlanTotalSteps Nullable(UInt32),
    PlanRevision Nullable(UInt32),
    RetryAttempt Nullable(UInt32),
    ApprovalDecision LowCardinality(String),
    Attributes {_EVENTS_ATTRIBUTES_TYPE} CODEC(ZSTD(1))"""

_EVENT_TYPE_OF_SPAN = (
    "multiIf("
    f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.EVENT)}, {_EVENT_TYPE}, "
    f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.TASK)}, "
    f"if({_span(HIVEBOARD_TASK_STATUS)} = {literal(HiveboardTaskStatusValues.FAILED)}"
    f" OR StatusCode = {literal(STATUS_ERROR)}, {literal(TASK_FAILED)}, {literal(TASK_COMPLETED)}), "
    f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.ACTION)}, "
    f"if({_span(HIVEBOARD_ACTION_STATUS)} = {literal(HiveboardActionStatusValues.FAILED)}"
    f" OR StatusCode = {literal(STATUS_ERROR)}, {literal(ACTION_FAILED)}, {literal(ACTION_COMPLETED)}), "
    f"{literal(LLM_CALL)})"
)
_EVENTS_SELECT = [
    # A span with a duration enters the stream when it ends. `span.` in _END_TIME keeps the source
    # column apart from this alias of the same name.
    f"{_END_TIME} AS Timestamp",
    *_IDENTITY,
    f"{_AGENT_ID} AS AgentId",
    f"{_span(HIVEBOARD_TASK_ID)} AS TaskId",
    f"{_span(HIVEBOARD_PROJECT)} AS Project",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    f"{_EVENT_TYPE_OF_SPAN} AS EventType",
    f"{_span(HIVEBOARD_EVENT_KIND)} AS Kind",
    # Events carry their severity; tasks, actions and LLM calls get theirs from their status.
    f"if({_span(HIVEBOARD_SEVERITY)} != '', {_span(HIVEBOARD_SEVERITY)}, "
    "if(StatusCode = 'Error', 'error', 'info')) AS Severity",
    f"{_span(HIVEBOARD_EVENT_SUMMARY)} AS Summary",
    f"{_span(HIVEBOARD_ACTION_NAME)} AS ActionName",
    "Duration AS DurationNs",
    f"{_span(ERROR_TYPE)} AS ErrorType",
    "StatusMessage AS ErrorMessage",
    f"{_span(HIVEBOARD_ISSUE_ID)} AS IssueId",
    f"{_span(HIVEBOARD_ISSUE_ACTION)} AS IssueAction",
    f"{_span(HIVEBOARD_ISSUE_SEVERITY)} AS IssueSeverity",
    f"{_span(HIVEBOARD_ISSUE_CATEGORY)} AS IssueCategory",
    f"toUInt32OrNull({_span(HIVEBOARD_ISSUE_OCCURRENCE_COUNT)}) AS OccurrenceCount",
    f"toUInt32OrNull({_span(HIVEBOARD_QUEUE_DEPTH)}) AS QueueDepth",
    f"{_span(HIVEBOARD_TODO_ID)} AS TodoId",
    f"{_span(HIVEBOARD_TODO_ACTION)} AS TodoAction",
    f"toUInt32OrNull({_span(HIVEBOARD_PLAN_STEP_INDEX)}) AS PlanStepIndex",
    f"{_span(HIVEBOARD_PLAN_STEP_ACTION)} AS PlanStepAction",
    f"toUInt32OrNull({_span(HIVEBOARD_PLAN_TOTAL_STEPS)}) AS PlanTotalSteps",
    f"toUInt32OrNull({_span(HIVEBOARD_PLAN_REVISION)}) AS PlanRevision",
    f"toUInt32OrNull({_span(HIVEBOARD_RETRY_ATTEMPT)}) AS RetryAttempt",
    f"{_span(HIVEBOARD_APPROVAL_DECISION)} AS ApprovalDecision",
    "SpanAttributes AS Attributes",
]
# Every HiveLoop span but heartbeats, which only feed hb_agents.
_EVENTS_WHERE = (
    _one_of(
        _SPAN_TYPE,
        (
            HiveboardSpanTypeValues.EVENT,
            HiveboardSpanTypeValues.TASK,
            HiveboardSpanTypeValues.ACTION,
            HiveboardSpanTypeValues.LLM,
        ),
    )
    + f" AND {_EVENT_TYPE} != {literal(HiveboardEventTypeValues.HEARTBEAT)}"
)


def events_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_events`: one row per HiveLoop span the activity stream shows, in time order per agent.

    The typed columns are what the stream, timeline and pipeline filter on; `Attributes` (the span's
    attributes) is read only for the detail of one event.
    """
    return [
        _create_table(
            database,
            EVENTS_TABLE,
            cluster_name,
            "Events for the activity stream, the timeline and the pipeline (no heartbeats)",
            EVENTS_COLUMNS,
            engine("MergeTree", cluster_name),
            "PARTITION BY toDate(Timestamp)",
            "ORDER BY (TenantId, KeyType, AgentId, Timestamp)",
            ttl("toDateTime(Timestamp)", ttl_days),
            "SETTINGS ttl_only_drop_parts = 1",
        ),
        _create_view(database, cluster_name, EVENTS_TABLE, _EVENTS_SELECT, _EVENTS_WHERE),
    ]


EVENTS_BY_SEVERITY_PROJECTION = "by_severity"


def events_by_severity_statements(database: str, cluster_name: str | None) -> list[str]:
    """`hb_events`' projection `by_severity`: the columns an error count filters on, ordered by
    severity, then time. The table is ordered by agent, then time, so a count of the errors of a
    range (a few hundredths of its events: the metrics' error series) reads every event of the range
    there, and only the errors in the projection, which ClickHouse reads instead when a query needs
    none of the other columns and fewer granules. About 5 bytes per span more on disk."""
    return projection(
        database,
        EVENTS_TABLE,
        cluster_name,
        EVENTS_BY_SEVERITY_PROJECTION,
        "SELECT TenantId, KeyType, Severity, Timestamp, AgentId, Environment, Project"
        " ORDER BY (TenantId, KeyType, Severity, Timestamp)",
    )


def events_attributes_lz4_statements(database: str, cluster_name: str | None) -> list[str]:
    """`hb_events.Attributes` compressed with LZ4 instead of ZSTD(1): a copy of every event's
    attributes, written with every insert and merge but read only for one event's detail, so the
    cheaper codec saves more CPU (about 3 ms of the view's 17 in an 8k-span insert) than its bytes
    cost. Parts written before keep ZSTD until they are merged."""
    return [
        f"ALTER TABLE {qualified(database, EVENTS_TABLE)}{on_cluster(cluster_name)} "
        f"MODIFY COLUMN Attributes {_EVENTS_ATTRIBUTES_TYPE} CODEC(LZ4)"
    ]


# ---- hb_agents: The Hive ------------------------------------------------------------------------------

_AGENTS_COLUMNS = f"""\
{_IDENTITY_COLUMNS}
    AgentId LowCardinality(String),
    AgentType LowCardinality(String),
    Version LowCardinality(String),
    Framework LowCardinality(String),
    HeartbeatInterval Float64,
    StuckThreshold UInt32,
    LastHeartbeat DateTime64(9),
    HeartbeatPayload String CODEC(ZSTD(1))"""

_AGENTS_SELECT = [
    *_IDENTITY,
    f"{_span(HIVEBOARD_AGENT_ID)} AS AgentId",
    f"{_span(HIVEBOARD_AGENT_TYPE)} AS AgentType",
    f"{_span(HIVEBOARD_AGENT_VERSION)} AS Version",
    f"{_span(HIVEBOARD_AGENT_FRAMEWORK)} AS Framework",
    f"toFloat64OrZero({_span(HIVEBOARD_AGENT_HEARTBEAT_INTERVAL)}) AS HeartbeatInterval",
    f"toUInt32OrZero({_span(HIVEBOARD_AGENT_STUCK_THRESHOLD)}) AS StuckThreshold",
    "Timestamp AS LastHeartbeat",
    f"{_span(HIVEBOARD_HEARTBEAT_PAYLOAD)} AS HeartbeatPayload",
]
_AGENTS_WHERE = (
    f"{_SPAN_TYPE} = {literal(HiveboardSpanTypeValues.EVENT)}"
    + " AND "
    + _one_of(_EVENT_TYPE, (HiveboardEventTypeValues.AGENT_REGISTERED, HiveboardEventTypeValues.HEARTBEAT))
    + f" AND {_span(HIVEBOARD_AGENT_ID)} != ''"
)


def agents_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_agents`: per agent, the facts of its latest registration or heartbeat (`LastHeartbeat`).

    Fed by heartbeats, so it takes the short heartbeat TTL: an agent silent for that long leaves The Hive.
    """
    return [
        _create_table(
            database,
            AGENTS_TABLE,
            cluster_name,
            "Agents for The Hive: latest registration or heartbeat per agent",
            _AGENTS_COLUMNS,
            engine("ReplacingMergeTree", cluster_name, "LastHeartbeat"),
            "ORDER BY (TenantId, KeyType, AgentId)",
            ttl("toDateTime(LastHeartbeat)", ttl_days),
        ),
        _create_view(database, cluster_name, AGENTS_TABLE, _AGENTS_SELECT, _AGENTS_WHERE),
    ]


# ---- hb_agent_activity: The Hive's first and last seen, SDK version and runtime ------------------------

_AGENT_ACTIVITY_COLUMNS = """\
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    AgentId LowCardinality(String),
    FirstSeen SimpleAggregateFunction(min, DateTime64(9)),
    LastSeen SimpleAggregateFunction(max, DateTime64(9)),
    SdkVersion AggregateFunction(argMax, String, DateTime64(9)),
    Runtime AggregateFunction(argMax, Tuple(String, String, String), DateTime64(9)),
    LastShutdown SimpleAggregateFunction(max, DateTime64(9))"""

_SDK_VERSION = _resource(TELEMETRY_DISTRO_VERSION)
_RUNTIME_NAME = _resource(PROCESS_RUNTIME_NAME)
_RUNTIME_VERSION = _resource(PROCESS_RUNTIME_VERSION)
_AGENT_ACTIVITY_SELECT = [
    # The tenant and key type of _IDENTITY; the agent's environment is hb_agents' to tell.
    *_IDENTITY[:2],
    f"{_AGENT_ID} AS AgentId",
    "min(span.Timestamp) AS FirstSeen",
    f"max({_END_TIME}) AS LastSeen",
    # Only spans that carry them count, so spans of other senders in the agent's name keep them.
    f"argMaxIfState({_SDK_VERSION}, span.Timestamp, {_SDK_VERSION} != '') AS SdkVersion",
    f"argMaxIfState(tuple({_RUNTIME_NAME}, {_RUNTIME_VERSION}, {_resource(PROCESS_RUNTIME_DESCRIPTION)}), "
    f"span.Timestamp, {_RUNTIME_NAME} != '' OR {_RUNTIME_VERSION} != '') AS Runtime",
    # 1970 when the agent never shut down: older than any heartbeat.
    f"maxIf(span.Timestamp, {_EVENT_TYPE} = {literal(HiveboardEventTypeValues.AGENT_SHUTDOWN)})"
    " AS LastShutdown",
]


def agent_activity_statements(database: str, cluster_name: str | None, ttl_days: int) -> list[str]:
    """`hb_agent_activity`: per agent, its first and last span of any kind, the latest HiveLoop
    version (`telemetry.distro.version`) and language runtime (`process.runtime.*`) it sent, and
    its latest clean shutdown (`agent_shutdown`, which makes it offline rather than stuck).

    The Hive is polled, so its cards read a few rows per agent, never `otel_traces`; `hb_agents`
    sees registrations and heartbeats only, this table every span with an agent id, so `LastSeen`
    is the agent's latest sign of life even with heartbeats disabled. An AggregatingMergeTree: the
    view writes one partial row per agent and insert, which merges (and reads, grouping by agent
    with `min`, `max` and `argMaxMerge`) combine; the latest non-empty version and runtime win, by
    span start. Spans stored before the table existed are not copied (a migration is DDL only,
    `ON CLUSTER` in cluster mode): an agent's row starts with its next span.

    It takes the heartbeat TTL of `hb_agents`, whose agents it describes; a merged row's `LastSeen`
    is the agent's latest span, so the row of an agent still active stays.
    """
    return [
        _create_table(
            database,
            AGENT_ACTIVITY_TABLE,
            cluster_name,
            "Agents' first and last span, SDK version and runtime for The Hive; aggregate on read",
            _AGENT_ACTIVITY_COLUMNS,
            engine("AggregatingMergeTree", cluster_name),
            "ORDER BY (TenantId, KeyType, AgentId)",
            ttl("toDateTime(LastSeen)", ttl_days),
        ),
        _create_view(
            database,
            cluster_name,
            AGENT_ACTIVITY_TABLE,
            _AGENT_ACTIVITY_SELECT,
            f"{_AGENT_ID} != ''",
            group_by="TenantId, KeyType, AgentId",
        ),
    ]


def statements(
    database: str,
    cluster_name: str | None,
    *,
    llm_calls_ttl_days: int,
    tasks_ttl_days: int,
    events_ttl_days: int,
    agents_ttl_days: int,
) -> list[str]:
    """Every `hb_*` table, each followed by the materialized views that feed it from `otel_traces`."""
    return [
        *llm_calls_statements(database, cluster_name, llm_calls_ttl_days),
        *tasks_statements(database, cluster_name, tasks_ttl_days),
        *events_statements(database, cluster_name, events_ttl_days),
        *agents_statements(database, cluster_name, agents_ttl_days),
    ]


def _create_table(
    database: str,
    table: str,
    cluster_name: str | None,
    comment: str,
    columns: str,
    engine_sql: str,
    *clauses: str,
) -> str:
    """`CREATE TABLE IF NOT EXISTS`; empty clauses (no TTL) are left out, `comment` says which view
    the table serves (ClickHouse keeps it in `system.tables.comment`)."""
    return "\n".join(
        [
            f"CREATE TABLE IF NOT EXISTS {qualified(database, table)}{on_cluster(cluster_name)} (",
            columns,
            f") ENGINE = {engine_sql}",
            *[clause for clause in clauses if clause],
            f"COMMENT {literal(comment)}",
        ]
    )


def _create_view(
    database: str,
    cluster_name: str | None,
    table: str,
    select: list[str],
    where: str,
    suffix: str = "",
    group_by: str = "",
) -> str:
    """The materialized view `<table>[_<suffix>]_mv` that inserts `select` of each matching span, or
    with `group_by` one row per group of each insert's matching spans."""
    view = f"{table}_{suffix}_mv" if suffix else f"{table}_mv"
    columns = ",\n".join(f"    {expression}" for expression in select)
    return "\n".join(
        [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {qualified(database, view)}{on_cluster(cluster_name)}",
            f"TO {qualified(database, table)}",
            "AS SELECT",
            columns,
            f"FROM {qualified(database, TRACES_TABLE)} AS span",
            f"WHERE {where}",
            *([f"GROUP BY {group_by}"] if group_by else []),
        ]
    )
