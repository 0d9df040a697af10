"""The task table: one row per task execution, with its LLM, action and error counts.

`hb_tasks` holds a 'processing' row (Version 0, from the `task_started` marker) and, once the task
ends, its final row (Version 1); `latest_tasks_sql` keeps the latest version of each task span.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hiveboard_api.auth import SCOPE_SQL, DataScope
from hiveboard_api.models.tasks import TaskStatus, TaskSummary
from hiveboard_api.params import SECOND_NS, Page, Window, decode_cursor, from_ns, ns_to_ms, page
from hiveboard_api.queries.tables import (
    ACTION_COMPLETED,
    ACTION_FAILED,
    EVENT,
    EVENTS_TABLE,
    FAILED,
    LLM_CALL,
    LLM_COSTS_VIEW,
    PROCESSING,
    TASK_FAILED,
    TASKS_TABLE,
)
from hiveboard_collector.storage import Storage

TaskSort = Literal["started_at", "duration_ms", "cost"]
# An LLM span starts `duration_ms` before it is recorded, possibly before its task's start.
LLM_START_SLACK_NS = 3600 * SECOND_NS
SortOrder = Literal["desc", "asc"]

_TASK_COLUMNS = (
    "TraceId",
    "TaskId",
    "AgentId",
    "AgentType",
    "TaskType",
    "Project",
    "Environment",
    "Status",
    "StartTime",
    "EndTime",
    "DurationNs",
    "ErrorType",
    "ErrorMessage",
)


def latest_tasks_sql(where: str = "") -> str:
    """Each task span's latest row among the scoped rows matching `where` (columns that do not change
    between a task's versions: ids, agent, type, project). Needs `DataScope.parameters()`."""
    latest = ",\n    ".join(f"argMax({column}, Version) AS {column}" for column in _TASK_COLUMNS)
    # The filter sits in a subquery: in this SELECT the column names are the aggregates' aliases.
    rows = f"SELECT * FROM {TASKS_TABLE} WHERE {SCOPE_SQL}{f' AND {where}' if where else ''}"
    return f"SELECT TaskSpanId,\n    {latest}\nFROM ({rows})\nGROUP BY TaskSpanId"


# Per task: escalations and whether its latest approval event is a request still unanswered.
_FLAGS_SQL = f"""
SELECT TraceId AS FlagTraceId, TaskId AS FlagTaskId,
    countIf(EventType = '{EVENT.ESCALATED}') AS Escalations,
    argMaxIf(EventType, Timestamp, EventType != '{EVENT.ESCALATED}') = '{EVENT.APPROVAL_REQUESTED}'
        AS PendingApproval
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND TaskId != '' AND Timestamp >= fromUnixTimestamp64Nano({{start_ns:Int64}})
    AND EventType IN ('{EVENT.ESCALATED}', '{EVENT.APPROVAL_REQUESTED}', '{EVENT.APPROVAL_RECEIVED}')
GROUP BY FlagTraceId, FlagTaskId"""

_DERIVED_STATUS_SQL = f"""multiIf(
        t.Status = '{FAILED}', 'failed',
        t.Status = '{PROCESSING}' AND f.PendingApproval, 'waiting',
        t.Status = '{PROCESSING}', 'processing',
        f.Escalations > 0, 'escalated',
        'completed')"""


def _cost_by_task_sql(page_only: bool) -> str:
    """LLM calls, tokens and cost per task; `page_only` restricts it to the `pairs` parameter."""
    pairs = " AND (TraceId, TaskId) IN {pairs:Array(Tuple(String, String))}" if page_only else ""
    return f"""
SELECT TraceId, TaskId, count() AS LlmCalls, sum(InputTokens) AS TokensIn, sum(OutputTokens) AS TokensOut,
    sum(Cost) AS TaskCost, countIf(Cost IS NULL) AS Unpriced
FROM {LLM_COSTS_VIEW}
WHERE {SCOPE_SQL} AND Timestamp >= fromUnixTimestamp64Nano({{llm_start_ns:Int64}}) AND TaskId != ''{pairs}
GROUP BY TraceId, TaskId"""


_EVENT_COUNTS_SQL = f"""
SELECT TraceId, TaskId,
    countIf(EventType IN ('{ACTION_COMPLETED}', '{ACTION_FAILED}')) AS Actions,
    countIf(EventType IN ('{ACTION_FAILED}', '{TASK_FAILED}')
        OR (EventType = '{LLM_CALL}' AND Severity = 'error')) AS Errors,
    countIf(EventType = '{EVENT.RETRY_STARTED}') AS Retries
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND AgentId IN {{agents:Array(String)}}
    AND Timestamp >= fromUnixTimestamp64Nano({{start_ns:Int64}})
    AND (TraceId, TaskId) IN {{pairs:Array(Tuple(String, String))}}
GROUP BY TraceId, TaskId"""

_SORT_KEYS = {
    "started_at": ("toUnixTimestamp64Nano(t.StartTime)", "Int64"),
    "duration_ms": ("ifNull(toInt64(t.DurationNs), -1)", "Int64"),
    "cost": ("ifNull(c.TaskCost, -1.0)", "Float64"),
}


@dataclass(frozen=True)
class TaskFilters:
    agent_id: str | None = None
    project: str | None = None
    task_type: str | None = None
    task_id: str | None = None
    task_span_id: str | None = None
    status: TaskStatus | None = None


def list_tasks(
    storage: Storage,
    scope: DataScope,
    window: Window,
    filters: TaskFilters,
    *,
    sort: TaskSort = "started_at",
    order: SortOrder = "desc",
    limit: int,
    cursor: str | None = None,
) -> Page[TaskSummary]:
    """Tasks started in `window`, plus those still open whenever they started, sorted, one page."""
    where, parameters = _where(filters)
    sort_key, sort_type = _SORT_KEYS[sort]
    conditions = [
        f"(t.StartTime >= fromUnixTimestamp64Nano({{start_ns:Int64}}) OR t.Status = '{PROCESSING}')",
        "t.StartTime <= fromUnixTimestamp64Nano({end_ns:Int64})",
    ]
    if filters.status is not None:
        conditions.append("DerivedStatus = {status:String}")
        parameters["status"] = filters.status
    if cursor is not None:
        value, span_id = decode_cursor(cursor, 2)
        comparison = "<" if order == "desc" else ">"
        conditions.append(
            f"({sort_key}, t.TaskSpanId) {comparison} ({{cursor_value:{sort_type}}}, {{cursor_id:String}})"
        )
        parameters.update(cursor_value=value, cursor_id=span_id)
    # Sorting by cost needs every task's cost; other sorts join costs for the page only (below).
    cost_join = (
        "LEFT JOIN (SELECT TraceId AS CostTraceId, TaskId AS CostTaskId, TaskCost "
        f"FROM ({_cost_by_task_sql(page_only=False)})) AS c "
        "ON c.CostTraceId = t.TraceId AND c.CostTaskId = t.TaskId"
        if sort == "cost"
        else ""
    )
    sql = f"""
SELECT t.*, {_DERIVED_STATUS_SQL} AS DerivedStatus, f.Escalations AS Escalations,
    toUnixTimestamp64Nano(t.StartTime) AS StartNs, {sort_key} AS SortValue
FROM ({latest_tasks_sql(where)}) AS t
LEFT JOIN ({_FLAGS_SQL}) AS f ON f.FlagTraceId = t.TraceId AND f.FlagTaskId = t.TaskId
{cost_join}
WHERE {" AND ".join(conditions)}
ORDER BY SortValue {order}, t.TaskSpanId {order}
LIMIT {{limit:UInt32}}"""
    parameters["llm_start_ns"] = window.start_ns - LLM_START_SLACK_NS
    rows = storage.query(sql, scope.parameters(**window.parameters(), **parameters, limit=limit + 1)).dicts()
    summaries = task_summaries(storage, scope, rows)
    return page(
        [
            (summary, (row["SortValue"], row["TaskSpanId"]))
            for summary, row in zip(summaries, rows, strict=True)
        ],
        limit,
    )


def task_summaries(storage: Storage, scope: DataScope, rows: Sequence[dict[str, Any]]) -> list[TaskSummary]:
    """`TaskSummary`s of task rows (from `list_tasks`' SQL), with their LLM, action and error counts."""
    if not rows:
        return []
    pairs = [(row["TraceId"], row["TaskId"]) for row in rows]
    start_ns = min(row["StartNs"] for row in rows)
    parameters = scope.parameters(
        start_ns=start_ns,
        llm_start_ns=start_ns - LLM_START_SLACK_NS,
        pairs=pairs,
        agents=sorted({row["AgentId"] for row in rows}),
    )
    cost_sql = _cost_by_task_sql(page_only=True)
    costs = {(r["TraceId"], r["TaskId"]): r for r in storage.query(cost_sql, parameters).dicts()}
    counts = {(r["TraceId"], r["TaskId"]): r for r in storage.query(_EVENT_COUNTS_SQL, parameters).dicts()}
    return [
        _summary(row, costs.get(pair, {}), counts.get(pair, {}))
        for row, pair in zip(rows, pairs, strict=True)
    ]


def _summary(row: dict[str, Any], cost: dict[str, Any], counts: dict[str, Any]) -> TaskSummary:
    tokens_in = int(cost.get("TokensIn") or 0)
    tokens_out = int(cost.get("TokensOut") or 0)
    llm_calls = int(cost.get("LlmCalls") or 0)
    unpriced = int(cost.get("Unpriced") or 0)
    return TaskSummary(
        task_id=row["TaskId"],
        task_span_id=row["TaskSpanId"],
        trace_id=row["TraceId"],
        agent_id=row["AgentId"],
        agent_type=row["AgentType"],
        task_type=row["TaskType"],
        project=row["Project"],
        environment=row["Environment"],
        status=row["Status"],
        derived_status=row["DerivedStatus"],
        started_at=from_ns(row["StartNs"]),
        ended_at=row["EndTime"],
        duration_ms=ns_to_ms(row["DurationNs"]),
        error_type=row["ErrorType"],
        error_message=row["ErrorMessage"],
        llm_call_count=llm_calls,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        total_tokens=tokens_in + tokens_out,
        cost=cost.get("TaskCost") if llm_calls > unpriced else None,
        unpriced_calls=unpriced,
        action_count=int(counts.get("Actions") or 0),
        error_count=int(counts.get("Errors") or 0),
        escalation_count=int(row["Escalations"] or 0),
        retry_count=int(counts.get("Retries") or 0),
    )


def _where(filters: TaskFilters) -> tuple[str, dict[str, Any]]:
    """Conditions on the columns every version of a task shares, so they prune before grouping."""
    conditions: list[str] = []
    parameters: dict[str, Any] = {}
    for column, name, value in (
        ("AgentId", "agent_id", filters.agent_id),
        ("Project", "project", filters.project),
        ("TaskType", "task_type", filters.task_type),
        ("TaskId", "task_id", filters.task_id),
        ("TaskSpanId", "task_span_id", filters.task_span_id),
    ):
        if value is not None:
            conditions.append(f"{column} = {{{name}:String}}")
            parameters[name] = value
    return " AND ".join(conditions), parameters
