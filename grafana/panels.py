# ruff: noqa: E501  (SQL lines are kept whole: they read and diff better unbroken)
"""The five HiveBoard dashboards as data: variables, panels and their ClickHouse SQL.

Every panel reads live-key data only (`KeyType = 'live'`) and the agent status follows the query
API's rules: offline = an `agent_shutdown` (in `hb_events`) newer than its latest registration or
heartbeat; stuck = no heartbeat within the agent's own `StuckThreshold` (an agent with heartbeats
disabled gives no liveness signal, so it is never stuck); waiting_approval = an
`approval_requested` without a later `approval_received`; processing = an open task (`hb_tasks`
'processing', read with FINAL); error = its last ended task failed; idle otherwise, in that order.
Costs come from `hb_llm_costs` (`hb_llm_calls` plus the reported or estimated `Cost`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLUGIN_ID = "grafana-clickhouse-datasource"
DATASOURCE_UID = "hiveboard-clickhouse"
DATASOURCE_NAME = "HiveBoard ClickHouse"
DATASOURCE = {"type": PLUGIN_ID, "uid": "${datasource}"}
TAG = "hiveboard"
# The plugin's query formats (sqlds FormatQueryOption) and the query types its editor pairs with them.
TIME_SERIES, TABLE, TRACE = 0, 1, 3
QUERY_TYPES = {TIME_SERIES: "timeSeries", TABLE: "table", TRACE: "traces"}

HIVE_UID = "hiveboard-hive"
TASKS_UID = "hiveboard-tasks"
COST_UID = "hiveboard-cost"
PIPELINE_UID = "hiveboard-pipeline"
INSIGHTS_UID = "hiveboard-insights"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    sql: str | None = None  # None: the datasource picker
    multi: bool = True  # multi-value with an "All" option (then used through $__conditionalAll)


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class Panel:
    type: str
    title: str
    sql: str
    width: int
    height: int
    description: str = ""
    query_format: int = TABLE
    options: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    links: Mapping[str, Link] = field(default_factory=dict)  # column -> data link

    @property
    def query_type(self) -> str:
        return QUERY_TYPES[self.query_format]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    variables: list[Variable]
    panels: list[Panel]


# ---- panel kinds -------------------------------------------------------------------------------------


def stat(
    title: str, sql: str, column: str, unit: str = "none", width: int = 4, description: str = ""
) -> Panel:
    """One number: `column` of the query's single row."""
    return Panel(
        "stat",
        title,
        sql,
        width,
        4,
        description,
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": f"/^{column}$/", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "value",
        },
        defaults={"unit": unit},
    )


def table(
    title: str, sql: str, width: int = 24, height: int = 8, links: Mapping[str, Link] | None = None,
    description: str = "",
) -> Panel:  # fmt: skip
    return Panel("table", title, sql, width, height, description, links=links or {},
                 options={"showHeader": True, "cellHeight": "sm"})  # fmt: skip


def timeseries(title: str, sql: str, unit: str = "short", width: int = 12, description: str = "") -> Panel:
    """Rows of `time` and numbers, or of `time`, a label and a number (one series per label)."""
    return Panel("timeseries", title, sql, width, 8, description, query_format=TIME_SERIES,
                 defaults={"unit": unit}, options={"legend": {"displayMode": "list", "placement": "bottom"}})  # fmt: skip


def barchart(
    title: str, sql: str, x_field: str, unit: str = "short", width: int = 12, description: str = ""
) -> Panel:
    return Panel("barchart", title, sql, width, 8, description, defaults={"unit": unit},
                 options={"xField": x_field, "orientation": "horizontal", "legend": {"showLegend": True}})  # fmt: skip


def piechart(title: str, sql: str, unit: str = "short", width: int = 8, description: str = "") -> Panel:
    """One slice per row: a label column and the numbers of that row."""
    return Panel("piechart", title, sql, width, 8, description, defaults={"unit": unit},
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "values": True}, "pieType": "donut"})  # fmt: skip


def bargauge(title: str, sql: str, column: str, width: int = 6) -> Panel:
    return Panel("bargauge", title, sql, width, 8, defaults={"unit": "percentunit", "min": 0, "max": 1},
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": f"/^{column}$/", "values": False},
                          "displayMode": "gradient"})  # fmt: skip


def traces(title: str, sql: str) -> Panel:
    """Grafana's trace view: the plugin's trace format and the column aliases of its trace-id query."""
    return Panel("traces", title, sql, 24, 12, query_format=TRACE)


# ---- filters shared by the panels --------------------------------------------------------------------

LIVE = "KeyType = 'live'"
ENVIRONMENT = "$__conditionalAll(Environment IN (${environment}), $environment)"
PROJECT = "$__conditionalAll(Project IN (${project}), $project)"
AGENT = "$__conditionalAll(AgentId IN (${agent}), $agent)"
AGENT_SCOPE = f"{LIVE} AND {ENVIRONMENT} AND {AGENT}"  # tables without a project (agents, issues, queues)
TASK_SCOPE = f"{AGENT_SCOPE} AND {PROJECT}"
# One run of a task: a task id can run more than once, each run in a trace of its own.
ONE_TASK = f"{LIVE} AND TaskId = '${{task}}' AND TraceId = '${{trace}}'"

TASK_URL = f"/d/{TASKS_UID}/tasks-and-timeline?var-task=${{__value.raw}}&${{__url_time_range}}&${{datasource:queryparam}}"
AGENT_URL = f"/d/{TASKS_UID}/tasks-and-timeline?var-agent=${{__value.raw}}&${{__url_time_range}}&${{datasource:queryparam}}"
TASK_LINK = {"TaskId": Link("Open the task's timeline", TASK_URL)}

VARIABLES = [
    Variable("datasource", "Data source"),
    Variable(
        "environment",
        "Environment",
        f"SELECT DISTINCT Environment FROM hb_agents WHERE {LIVE} ORDER BY Environment",
    ),  # fmt: skip
    Variable(
        "project",
        "Project",
        f"SELECT DISTINCT Project FROM hb_tasks WHERE {LIVE} AND {ENVIRONMENT} AND Project != '' ORDER BY Project",
    ),  # fmt: skip
    Variable(
        "agent",
        "Agent",
        f"SELECT DISTINCT AgentId FROM hb_agents WHERE {LIVE} AND {ENVIRONMENT} ORDER BY AgentId",
    ),  # fmt: skip
]
TASK_VARIABLE = Variable(
    "task",
    "Task",
    f"SELECT TaskId FROM hb_tasks FINAL WHERE {TASK_SCOPE} AND $__timeFilter(StartTime) "
    "ORDER BY StartTime DESC LIMIT 500",
    multi=False,
)
# The runs of the chosen task, latest first: the latest is shown unless a link names another (as
# HiveBoard's timeline does, for the run it shows).
TRACE_VARIABLE = Variable(
    "trace",
    "Run (trace id)",
    f"SELECT TraceId FROM hb_tasks WHERE {LIVE} AND TaskId = '${{task}}' GROUP BY TraceId "
    "ORDER BY max(StartTime) DESC",
    multi=False,
)

# ---- The Hive ----------------------------------------------------------------------------------------

# An agent's derived status, as `GET /v1/agents` derives it, over its row `agent` and the joins of
# `_AGENT_FACTS`.
_AGENT_STATUS_EXPRESSION = """multiIf(
        shutdown.at > agent.LastHeartbeat, 'offline',
        agent.HeartbeatInterval > 0 AND agent.StuckThreshold > 0
            AND dateDiff('second', agent.LastHeartbeat, now64(9)) > agent.StuckThreshold, 'stuck',
        approval.waiting = 1, 'waiting_approval',
        work.open_tasks > 0, 'processing',
        work.last_ended_status = 'failed', 'error',
        'idle')"""

_AGENT_FACTS = f"""FROM (
    SELECT TenantId, AgentId, AgentType, LastHeartbeat, StuckThreshold, HeartbeatInterval
    FROM hb_agents FINAL
    WHERE {AGENT_SCOPE}
) AS agent
LEFT JOIN (
    SELECT TenantId, AgentId, max(Timestamp) AS at
    FROM hb_events
    WHERE {LIVE} AND EventType = 'agent_shutdown'
    GROUP BY TenantId, AgentId
) AS shutdown ON shutdown.TenantId = agent.TenantId AND shutdown.AgentId = agent.AgentId
LEFT JOIN (
    SELECT TenantId, AgentId,
        countIf(Status = 'processing') AS open_tasks,
        argMaxIf(TaskId, StartTime, Status = 'processing') AS current_task,
        argMaxIf(Status, StartTime, Status != 'processing') AS last_ended_status
    FROM hb_tasks FINAL
    WHERE {LIVE}
    GROUP BY TenantId, AgentId
) AS work ON work.TenantId = agent.TenantId AND work.AgentId = agent.AgentId
LEFT JOIN (
    SELECT TenantId, AgentId,
        maxIf(Timestamp, EventType = 'approval_requested') > maxIf(Timestamp, EventType = 'approval_received') AS waiting
    FROM hb_events
    WHERE {LIVE} AND EventType IN ('approval_requested', 'approval_received')
    GROUP BY TenantId, AgentId
) AS approval ON approval.TenantId = agent.TenantId AND approval.AgentId = agent.AgentId
LEFT JOIN (
    SELECT TenantId, AgentId, argMax(QueueDepth, Timestamp) AS depth
    FROM hb_events
    WHERE {LIVE} AND EventType = 'queue_snapshot'
    GROUP BY TenantId, AgentId
) AS queue ON queue.TenantId = agent.TenantId AND queue.AgentId = agent.AgentId
LEFT JOIN (
    SELECT TenantId, AgentId, countIf(last_action = 'reported') AS active
    FROM (
        SELECT TenantId, AgentId, IssueId, argMax(IssueAction, Timestamp) AS last_action
        FROM hb_events
        WHERE {LIVE} AND EventType = 'issue'
        GROUP BY TenantId, AgentId, IssueId
    )
    GROUP BY TenantId, AgentId
) AS issues ON issues.TenantId = agent.TenantId AND issues.AgentId = agent.AgentId"""

# One row per agent with its derived status.
AGENT_STATUS = f"""SELECT
    agent.AgentId AS AgentId,
    agent.AgentType AS AgentType,
    {_AGENT_STATUS_EXPRESSION} AS Status,
    dateDiff('second', agent.LastHeartbeat, now64(9)) AS HeartbeatAgeSeconds,
    queue.depth AS QueueDepth,
    issues.active AS ActiveIssues,
    work.current_task AS CurrentTask
{_AGENT_FACTS}"""

# The agents stuck now, by tenant.
STUCK_AGENTS = f"""SELECT agent.TenantId AS TenantId, agent.AgentId AS AgentId
{_AGENT_FACTS}
WHERE {_AGENT_STATUS_EXPRESSION} = 'stuck'"""


def agents_in(status: str) -> str:
    return f"SELECT countIf(Status = '{status}') AS agents FROM (\n{AGENT_STATUS}\n)"


TASKS_IN_RANGE = f"FROM hb_tasks FINAL\nWHERE {TASK_SCOPE} AND $__timeFilter(StartTime)"
ENDED_TASKS_IN_RANGE = (
    f"FROM hb_tasks FINAL\nWHERE {TASK_SCOPE} AND Status != 'processing' AND $__timeFilter(EndTime)"
)
COSTS_IN_RANGE = f"FROM hb_llm_costs\nWHERE {TASK_SCOPE} AND $__timeFilter(Timestamp)"

HIVE = Dashboard(
    HIVE_UID,
    "HiveBoard · The Hive",
    "The fleet now: every agent's status, heartbeat, queue and issues; throughput, success and cost.",
    VARIABLES,
    [
        stat("Processing", agents_in("processing"), "agents"),
        stat("Waiting for approval", agents_in("waiting_approval"), "agents"),
        stat(
            "Stuck",
            agents_in("stuck"),
            "agents",
            description="No heartbeat within the agent's own stuck threshold, and no clean shutdown.",
        ),  # fmt: skip
        stat("Failing", agents_in("error"), "agents", description="Agents whose last task failed."),
        stat(
            "Success rate",
            f"SELECT countIf(Status = 'completed') / count() AS success_rate\n{ENDED_TASKS_IN_RANGE}",
            "success_rate",
            "percentunit",
        ),  # fmt: skip
        stat(
            "Avg duration",
            f"SELECT avg(DurationNs) / 1e6 AS avg_duration_ms\n{ENDED_TASKS_IN_RANGE}",
            "avg_duration_ms",
            "ms",
            width=2,
        ),  # fmt: skip
        stat("Cost", f"SELECT sum(Cost) AS cost\n{COSTS_IN_RANGE}", "cost", "currencyUSD", width=2),
        table(
            "Agents",
            f"{AGENT_STATUS}\nORDER BY AgentId",
            height=9,
            links={
                "AgentId": Link("The agent's tasks", AGENT_URL),
                "CurrentTask": Link("Open the task's timeline", TASK_URL),
            },
        ),  # fmt: skip
        timeseries(
            "Throughput",
            "SELECT $__timeInterval(EndTime) AS time, countIf(Status = 'completed') AS completed, "
            f"countIf(Status = 'failed') AS failed\n{ENDED_TASKS_IN_RANGE}\nGROUP BY time ORDER BY time",
            description="Tasks ended per interval.",
        ),
        timeseries(
            "Success rate over time",
            "SELECT $__timeInterval(EndTime) AS time, countIf(Status = 'completed') / count() AS success_rate"
            f"\n{ENDED_TASKS_IN_RANGE}\nGROUP BY time ORDER BY time",
            unit="percentunit",
        ),
        timeseries(
            "Errors over time",
            "SELECT $__timeInterval(Timestamp) AS time, count() AS errors\nFROM hb_events\n"
            f"WHERE {TASK_SCOPE} AND Severity = 'error' AND $__timeFilter(Timestamp)\nGROUP BY time ORDER BY time",
            description="Failed tasks and actions, and issues reported with a high severity.",
        ),
        timeseries(
            "Cost per task",
            "SELECT $__timeInterval(Timestamp) AS time, sum(Cost) / uniqExact(TaskId) AS cost_per_task\n"
            f"{COSTS_IN_RANGE} AND TaskId != ''\nGROUP BY time ORDER BY time",
            unit="currencyUSD",
        ),
    ],
)

# ---- Tasks & Timeline --------------------------------------------------------------------------------

# Each task with its derived status, as the task table of `GET /v1/tasks` derives it: an open task
# handed to a person is escalated once its agent is stuck (its process died with the task in a
# human's hands, and it will not end).
TASK_TABLE = f"""SELECT
    task.TaskId AS TaskId,
    task.AgentId AS AgentId,
    task.Project AS Project,
    task.TaskType AS TaskType,
    multiIf(
        task.Status = 'failed', 'failed',
        task.Status = 'processing' AND events.escalations > 0 AND stuck.AgentId != '', 'escalated',
        task.Status = 'processing' AND events.waiting = 1, 'waiting',
        task.Status = 'processing', 'processing',
        events.escalations > 0, 'escalated',
        'completed') AS Status,
    task.StartTime AS Started,
    task.DurationNs / 1e6 AS DurationMs,
    llm.calls AS LlmCalls,
    llm.tokens AS Tokens,
    llm.cost AS Cost,
    events.actions AS Actions,
    events.errors AS Errors
FROM (
    SELECT TenantId, TaskId, AgentId, Project, TaskType, Status, StartTime, DurationNs
    {TASKS_IN_RANGE}
) AS task
LEFT JOIN (
    SELECT TenantId, TaskId, count() AS calls, sum(InputTokens + OutputTokens) AS tokens, sum(Cost) AS cost
    FROM hb_llm_costs
    WHERE {LIVE} AND TaskId != ''
    GROUP BY TenantId, TaskId
) AS llm ON llm.TenantId = task.TenantId AND llm.TaskId = task.TaskId
LEFT JOIN (
    SELECT TenantId, TaskId,
        countIf(EventType = 'escalated') AS escalations,
        maxIf(Timestamp, EventType = 'approval_requested') > maxIf(Timestamp, EventType = 'approval_received') AS waiting,
        countIf(EventType IN ('action_completed', 'action_failed')) AS actions,
        countIf(Severity = 'error') AS errors
    FROM hb_events
    WHERE {LIVE} AND TaskId != ''
    GROUP BY TenantId, TaskId
) AS events ON events.TenantId = task.TenantId AND events.TaskId = task.TaskId
LEFT JOIN (
{STUCK_AGENTS}
) AS stuck ON stuck.TenantId = task.TenantId AND stuck.AgentId = task.AgentId
ORDER BY Started DESC
LIMIT 500"""

# The plugin's trace-id query for OTel tables: the trace's bounds from otel_traces_trace_id_ts, then
# its spans under the aliases of Grafana's trace data frame (times and durations in milliseconds).
TASK_TRACE = """WITH
    '${trace}' AS trace_id,
    (SELECT min(Start) FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_start,
    (SELECT max(End) + 1 FROM otel_traces_trace_id_ts WHERE TraceId = trace_id) AS trace_end
SELECT
    TraceId AS traceID,
    SpanId AS spanID,
    ParentSpanId AS parentSpanID,
    ServiceName AS serviceName,
    SpanName AS operationName,
    multiply(toUnixTimestamp64Nano(Timestamp), 0.000001) AS startTime,
    multiply(Duration, 0.000001) AS duration,
    arrayMap(key -> map('key', key, 'value', SpanAttributes[key]), mapKeys(SpanAttributes)) AS tags,
    arrayMap(key -> map('key', key, 'value', ResourceAttributes[key]), mapKeys(ResourceAttributes)) AS serviceTags,
    SpanKind AS kind,
    multiIf(StatusCode = 'Error', 2, StatusCode = 'Ok', 1, 0) AS statusCode,
    StatusMessage AS statusMessage
FROM otel_traces
WHERE TraceId = trace_id AND Timestamp >= trace_start AND Timestamp <= trace_end
ORDER BY startTime"""

# The latest plan of the task, one row per step with what last happened to it.
PLAN_STEPS = f"""SELECT
    plan.index - 1 AS Step,
    plan.description AS Description,
    if(progress.action = '', 'pending', progress.action) AS Action,
    progress.summary AS Summary
FROM (
    SELECT step.1 AS index, step.2 AS description, revision
    FROM (
        SELECT
            JSONExtract(argMax(Attributes['hiveboard.plan.steps'], Timestamp), 'Array(String)') AS steps,
            argMax(PlanRevision, Timestamp) AS revision
        FROM hb_events
        WHERE {ONE_TASK} AND EventType = 'plan_created'
    )
    ARRAY JOIN arrayZip(arrayEnumerate(steps), steps) AS step
) AS plan
LEFT JOIN (
    SELECT PlanRevision, assumeNotNull(PlanStepIndex) + 1 AS index,
        argMax(PlanStepAction, Timestamp) AS action, argMax(Summary, Timestamp) AS summary
    FROM hb_events
    WHERE {ONE_TASK} AND EventType = 'plan_step'
    GROUP BY PlanRevision, index
) AS progress ON progress.index = plan.index AND progress.PlanRevision = plan.revision
ORDER BY Step"""

TASKS = Dashboard(
    TASKS_UID,
    "HiveBoard · Tasks & Timeline",
    "Every task with its status, duration, LLM calls and cost; for the selected task its trace, plan and story.",
    [*VARIABLES, TASK_VARIABLE, TRACE_VARIABLE],
    [
        table(
            "Tasks",
            TASK_TABLE,
            height=10,
            links=TASK_LINK,
            description="Click a task id to open its timeline below.",
        ),  # fmt: skip
        traces("Timeline of task $task", TASK_TRACE),
        bargauge(
            "Plan progress",
            f"SELECT countIf(Action = 'completed') / count() AS progress FROM (\n{PLAN_STEPS}\n)",
            "progress",
        ),  # fmt: skip
        table("Plan", PLAN_STEPS, width=18),
        table(
            "Story of task $task",
            "SELECT Timestamp AS Time, EventType, Kind, Severity, ActionName, Summary, DurationNs / 1e6 AS DurationMs,"
            f" ErrorType, ErrorMessage\nFROM hb_events\nWHERE {ONE_TASK}\nORDER BY Timestamp",
            height=10,
        ),
    ],
)

# ---- Cost Explorer -----------------------------------------------------------------------------------

COST = Dashboard(
    COST_UID,
    "HiveBoard · Cost Explorer",
    "What the fleet spends on LLM calls: by model, by agent, over time; tokens, cache reads and cost sources.",
    VARIABLES,
    [
        stat("Total cost", f"SELECT sum(Cost) AS cost\n{COSTS_IN_RANGE}", "cost", "currencyUSD", width=6),
        stat("LLM calls", f"SELECT count() AS calls\n{COSTS_IN_RANGE}", "calls", width=6),
        stat(
            "Cache read share",
            f"SELECT sum(CacheReadTokens) / sum(InputTokens) AS cache_read_share\n{COSTS_IN_RANGE}",
            "cache_read_share",
            "percentunit",
            width=6,
            description="Input tokens read from the provider's cache.",
        ),  # fmt: skip
        stat(
            "Unpriced calls",
            f"SELECT countIf(CostSource = 'unpriced') AS unpriced\n{COSTS_IN_RANGE}",
            "unpriced",
            width=6,
            description="Calls of a model without a known price: tokens, no cost.",
        ),  # fmt: skip
        table(
            "Cost by model",
            "SELECT ResponseModel AS Model, count() AS Calls, sum(InputTokens) AS InputTokens, "
            "sum(OutputTokens) AS OutputTokens, sum(Cost) AS Cost, countIf(CostSource = 'unpriced') AS UnpricedCalls"
            f"\n{COSTS_IN_RANGE}\nGROUP BY Model\nORDER BY Cost DESC",
            width=12,
        ),
        barchart(
            "Cost by agent",
            f"SELECT AgentId, sum(Cost) AS Cost\n{COSTS_IN_RANGE}\nGROUP BY AgentId\nORDER BY Cost DESC",
            "AgentId",
            "currencyUSD",
        ),  # fmt: skip
        timeseries(
            "Cost over time by model",
            f"SELECT $__timeInterval(Timestamp) AS time, ResponseModel AS Model, sum(Cost) AS Cost\n"
            f"{COSTS_IN_RANGE}\nGROUP BY time, Model\nORDER BY time",
            unit="currencyUSD",
        ),  # fmt: skip
        timeseries(
            "Tokens in / out",
            "SELECT $__timeInterval(Timestamp) AS time, sum(InputTokens) AS input, "
            f"sum(OutputTokens) AS output, sum(CacheReadTokens) AS cache_read\n{COSTS_IN_RANGE}\n"
            "GROUP BY time ORDER BY time",
        ),  # fmt: skip
        piechart(
            "Reported vs estimated",
            f"SELECT CostSource AS Source, count() AS Calls\n{COSTS_IN_RANGE} AND CostSource != ''\n"
            "GROUP BY Source ORDER BY Source",
            description="Calls by where their cost comes from: the SDK (reported), genai-prices "
            "(estimated) or nowhere (unpriced).",
        ),  # fmt: skip
        table(
            "Most expensive calls",
            "SELECT Timestamp AS Time, AgentId, TaskId, CallName, ResponseModel AS Model, InputTokens, OutputTokens,"
            f" Cost, CostSource, MatchedModel\n{COSTS_IN_RANGE} AND Cost IS NOT NULL\nORDER BY Cost DESC\nLIMIT 20",
            width=16,
            links=TASK_LINK,
        ),
    ],
)

# ---- Pipeline ----------------------------------------------------------------------------------------

ACTIVE_ISSUES = f"""SELECT
    AgentId,
    IssueId,
    argMax(Summary, Timestamp) AS Summary,
    argMaxIf(IssueSeverity, Timestamp, IssueAction = 'reported') AS Severity,
    argMaxIf(IssueCategory, Timestamp, IssueAction = 'reported') AS Category,
    greatest(ifNull(max(OccurrenceCount), 0), countIf(IssueAction = 'reported')) AS Occurrences,
    minIf(Timestamp, IssueAction = 'reported') AS FirstSeen,
    dateDiff('second', FirstSeen, now64(9)) AS AgeSeconds
FROM hb_events
WHERE {AGENT_SCOPE} AND EventType = 'issue'
GROUP BY TenantId, AgentId, IssueId
HAVING argMax(IssueAction, Timestamp) = 'reported'"""

PIPELINE = Dashboard(
    PIPELINE_UID,
    "HiveBoard · Pipeline",
    "What is waiting: active issues, queues and their latest items, open todos and scheduled work.",
    VARIABLES,
    [
        stat(
            "Active issues",
            f"SELECT count() AS issues FROM (\n{ACTIVE_ISSUES}\n)",
            "issues",
            width=4,
            description="Reported and not resolved since.",
        ),  # fmt: skip
        table("Active issues by agent", f"{ACTIVE_ISSUES}\nORDER BY FirstSeen", width=20),
        timeseries(
            "Queue depth per agent",
            "SELECT $__timeInterval(Timestamp) AS time, AgentId, max(QueueDepth) AS depth\nFROM hb_events\n"
            f"WHERE {AGENT_SCOPE} AND EventType = 'queue_snapshot' AND $__timeFilter(Timestamp)\n"
            "GROUP BY time, AgentId\nORDER BY time",
        ),
        table(
            "Latest queue of each agent",
            "SELECT AgentId, argMax(QueueDepth, Timestamp) AS Depth,\n"
            "    toFloat64OrNull(argMax(Attributes['hiveboard.queue.oldest_age_seconds'], Timestamp)) AS OldestAgeSeconds,\n"
            "    argMax(Attributes['hiveboard.queue.items'], Timestamp) AS Items,\n"
            "    argMax(Attributes['hiveboard.queue.processing'], Timestamp) AS Processing,\n"
            "    max(Timestamp) AS SnapshotAt\nFROM hb_events\n"
            f"WHERE {AGENT_SCOPE} AND EventType = 'queue_snapshot'\nGROUP BY TenantId, AgentId\nORDER BY Depth DESC",
            width=12,
        ),
        table(
            "Open todos",
            "SELECT AgentId, TodoId, argMax(Summary, Timestamp) AS Summary,\n"
            "    argMaxIf(Attributes['hiveboard.todo.priority'], Timestamp, TodoAction = 'created') AS Priority,\n"
            "    argMaxIf(Attributes['hiveboard.todo.due_by'], Timestamp, TodoAction = 'created') AS DueBy,\n"
            "    argMax(TodoAction, Timestamp) AS LastAction, min(Timestamp) AS Created\nFROM hb_events\n"
            f"WHERE {AGENT_SCOPE} AND EventType = 'todo'\nGROUP BY TenantId, AgentId, TodoId\n"
            "HAVING LastAction NOT IN ('completed', 'failed', 'dismissed')\nORDER BY Created",
            width=12,
        ),
        table(
            "Scheduled work",
            "SELECT AgentId, JSONExtractString(item, 'id') AS Id, JSONExtractString(item, 'name') AS Name,\n"
            "    JSONExtractString(item, 'next_run') AS NextRun, JSONExtractString(item, 'interval') AS Interval,\n"
            "    JSONExtractRaw(item, 'enabled') AS Enabled, JSONExtractString(item, 'last_status') AS LastStatus\n"
            "FROM (\n    SELECT AgentId, argMax(Attributes['hiveboard.scheduled.items'], Timestamp) AS items\n"
            f"    FROM hb_events\n    WHERE {AGENT_SCOPE} AND EventType = 'scheduled'\n    GROUP BY TenantId, AgentId\n)\n"
            "ARRAY JOIN JSONExtractArrayRaw(items) AS item\nORDER BY NextRun",
            width=12,
            description="The latest list each agent reported with agent.scheduled().",
        ),
    ],
)

# ---- Insights ----------------------------------------------------------------------------------------

EVENTS_IN_RANGE = f"FROM hb_events\nWHERE {TASK_SCOPE} AND $__timeFilter(Timestamp)"
CUSTOM_DATA = "Attributes['hiveboard.event.data']"

INSIGHTS = Dashboard(
    INSIGHTS_UID,
    "HiveBoard · Insights",
    "How agents behave: retries and escalations, context compaction, anomalies, learning, prompt composition "
    "and cost per turn of the agentic loop.",
    VARIABLES,
    [
        barchart(
            "Retries and escalations per agent",
            "SELECT AgentId, countIf(EventType = 'retry_started') AS Retries, "
            f"countIf(EventType = 'escalated') AS Escalations\n{EVENTS_IN_RANGE}\n"
            "AND EventType IN ('retry_started', 'escalated')\nGROUP BY AgentId\nORDER BY AgentId",
            "AgentId",
        ),  # fmt: skip
        timeseries(
            "Custom events by kind",
            f"SELECT $__timeInterval(Timestamp) AS time, Kind, count() AS events\n{EVENTS_IN_RANGE}\n"
            "AND EventType = 'custom'\nGROUP BY time, Kind\nORDER BY time",
        ),  # fmt: skip
        table(
            "Context compaction",
            f"SELECT Timestamp AS Time, AgentId, TaskId,\n"
            f"    JSONExtractInt({CUSTOM_DATA}, 'tokens_before') AS TokensBefore,\n"
            f"    JSONExtractInt({CUSTOM_DATA}, 'tokens_after') AS TokensAfter,\n"
            "    round(TokensAfter / nullIf(TokensBefore, 0), 2) AS Ratio,\n"
            f"    JSONExtractString({CUSTOM_DATA}, 'method') AS Method\n{EVENTS_IN_RANGE}\n"
            "AND EventType = 'custom' AND Kind = 'context_compaction'\nORDER BY Timestamp DESC",
            width=12,
            links=TASK_LINK,
        ),
        table(
            "Anomalies",
            f"SELECT Timestamp AS Time, AgentId, TaskId, JSONExtractString({CUSTOM_DATA}, 'detector') AS Detector,\n"
            f"    JSONExtractString({CUSTOM_DATA}, 'tool_name') AS Tool,\n"
            f"    JSONExtractString({CUSTOM_DATA}, 'message') AS Message\n{EVENTS_IN_RANGE}\n"
            "AND EventType = 'custom' AND Kind = 'anomaly'\nORDER BY Timestamp DESC",
            width=12,
            links=TASK_LINK,
            description="Cycle detection and other anomalies agents report (kind 'anomaly').",
        ),
        table(
            "Learning and prompt composition",
            f"SELECT Timestamp AS Time, AgentId, TaskId, Kind, {CUSTOM_DATA} AS Data\n{EVENTS_IN_RANGE}\n"
            "AND EventType = 'custom' AND Kind IN ('learning', 'prompt_composition')\nORDER BY Timestamp DESC",
            width=12,
            links=TASK_LINK,
        ),
        barchart(
            "Cost per turn",
            "SELECT toString(TurnNumber) AS Turn, count() AS Calls, avg(InputTokens) AS AvgInputTokens, "
            f"sum(Cost) AS Cost\n{COSTS_IN_RANGE} AND TurnNumber IS NOT NULL\n"
            "GROUP BY TurnNumber\nORDER BY TurnNumber",
            "Turn",
            description="LLM calls that carry turn_number metadata, by turn of the agentic loop.",
        ),  # fmt: skip
    ],
)

DASHBOARDS = [HIVE, TASKS, COST, PIPELINE, INSIGHTS]
