"""The task table: one row per task execution, with its LLM, action and error counts.

`hb_tasks` holds a 'processing' row (Version 0, from the `task_started` marker) and, once the task
ends, its final row (Version 1); `latest_tasks_sql` keeps the latest version of each task span.

A page is read in three queries: the page's keys, chosen on the few columns it sorts and filters on
(with every task's cost only when sorting by cost, every task's flags only when filtering on the
derived status); the page's task rows with their flags and event counts (one scan of their events,
by agent and time); their LLM costs (bounded by the tasks' own time span), which for a timeline
(`latest_task_key`, then `task_row_of_key` and `task_costs` with its calls) also bring the task's calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.tasks import TaskStatus, TaskSummary
from hiveboard.api.params import (
    SECOND_NS,
    Page,
    TimeRange,
    Window,
    decode_cursor,
    equal_to,
    from_ns,
    ns_to_ms,
)
from hiveboard.api.queries.money import COST_SUM_SQL, usd
from hiveboard.api.queries.paging import page_of_keys
from hiveboard.api.queries.tables import (
    ACTION_COMPLETED,
    ACTION_FAILED,
    AGENTS_TABLE,
    EVENT,
    EVENTS_TABLE,
    FAILED,
    LLM_CALL,
    LLM_COSTS_VIEW,
    PIPELINE_EVENTS_TABLE,
    PROCESSING,
    TASK_FAILED,
    TASKS_TABLE,
)
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage
from hiveboard_semconv.attributes import HIVEBOARD_ESCALATION_ASSIGNED_TO

TaskSort = Literal["started_at", "duration_ms", "cost"]
# What gives the agents stuck now (`agents.stuck_agent_ids`): called only when a query needs them.
StuckAgents = Callable[[], Sequence[str]]
# An LLM span starts `duration_ms` before it is recorded, possibly before its task's start.
LLM_START_SLACK_NS = 3600 * SECOND_NS
# The spans of a task end by the end of its task span; the slack covers other processes' clocks.
TASK_END_SLACK_NS = 60 * SECOND_NS
# An open task's spans end up to now; the bound only keeps lookups off later data.
OPEN_TASK_HORIZON_NS = 24 * 3600 * SECOND_NS


def spans_end_bound_ns(ends_ns: Sequence[int | None]) -> int:
    """The latest time a span of tasks ending at `ends_ns` (None: still open) can carry."""
    if any(end is None for end in ends_ns):
        return time.time_ns() + OPEN_TASK_HORIZON_NS
    return max(end for end in ends_ns if end is not None) + TASK_END_SLACK_NS


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


def latest_tasks_sql(
    where: str = "", columns: Sequence[str] = _TASK_COLUMNS, *, by_agent: bool = False
) -> str:
    """Each task span's latest row among the scoped rows matching `where` (conditions on columns that
    do not change between a task's versions: ids, agent, type, project), with `TaskSpanId` and
    `columns` of it. Needs `DataScope.parameters()`.

    `FINAL` merges the versions in the table's key order, several times faster than grouping by span
    id; conditions of the enclosing query on `Status` or times apply after it (ClickHouse keeps a
    WHERE of a FINAL read out of PREWHERE), so they see the latest version only. With `by_agent`
    (`where` names one agent), the agent's rows are grouped by span id instead (each column of the
    highest `Version`, as FINAL keeps it): read through hb_tasks' `by_agent` projection, they are a
    few of the table's rows, all of which FINAL would merge."""
    condition = f" AND {where}" if where else ""
    if not by_agent:
        selected = ", ".join(("TaskSpanId", *columns))
        return f"SELECT {selected}\nFROM {TASKS_TABLE} FINAL\nWHERE {SCOPE_SQL}{condition}"
    # Named apart from the columns, which `where` filters on before grouping.
    latest = ", ".join(f"argMax({column}, Version) AS Latest{column}" for column in columns)
    renamed = ", ".join(f"Latest{column} AS {column}" for column in columns)
    return (
        f"SELECT TaskSpanId, {renamed}\nFROM (\n    SELECT TaskSpanId, {latest}\n    FROM {TASKS_TABLE}\n"
        f"    WHERE {SCOPE_SQL}{condition}\n    GROUP BY TaskSpanId)"
    )


def current_tasks_sql(where: str, columns: Sequence[str]) -> str:
    """The tasks open now and those ended since `since_ns` (status not processing), one row per task
    span among the scoped rows matching `where` (as `latest_tasks_sql` takes it), with `TaskSpanId`,
    `columns` of its latest version and `Open`. For an open task, `columns` are of its processing row.

    What is current, not history: a task is open while `hb_tasks` holds its processing row (Version
    0) and no final row (Version 1), and merges fold the processing rows of ended tasks away. The
    processing rows are found first (by Version, which leads the `by_version` projection,
    `storage.schema.current_state`, which ClickHouse reads instead of the table), then every row of
    those tasks by the table's key; the final rows are read from `since_ns` on (by Version and end
    time, the same projection). The tasks that ended before `since_ns` are never read, where FINAL
    would merge every task."""
    condition = f" AND {where}" if where else ""
    # Named apart from the columns, which `where` and the time conditions filter on before grouping.
    selected = ", ".join(f"any({column}) AS Current{column}" for column in columns)
    renamed = ", ".join(f"Current{column} AS {column}" for column in columns)
    return f"""
SELECT TaskSpanId, {renamed}, Open
FROM (
SELECT TaskSpanId, {selected}, true AS Open
FROM {TASKS_TABLE}
WHERE {SCOPE_SQL} AND TaskSpanId IN (
    SELECT TaskSpanId FROM {TASKS_TABLE} WHERE {SCOPE_SQL} AND Version = 0{condition})
GROUP BY TaskSpanId
HAVING max(Version) = 0
UNION ALL
SELECT TaskSpanId, {selected}, false AS Open
FROM {TASKS_TABLE}
WHERE {SCOPE_SQL} AND Version = 1 AND EndTime >= fromUnixTimestamp64Nano({{since_ns:Int64}})
    AND Status != '{PROCESSING}'{condition}
GROUP BY TaskSpanId)"""


def flags_sql(tasks: str = "") -> str:
    """Per task (`FlagTraceId`, `FlagTaskId`), what `DERIVED_STATUS_SQL` reads as `f`: escalations and
    whether its latest approval event is a request still unanswered; `tasks` (a condition) restricts
    it to some tasks. Needs `start_ns`, from which on it reads events."""
    return f"""
SELECT TraceId AS FlagTraceId, TaskId AS FlagTaskId,
    countIf(EventType = '{EVENT.ESCALATED}') AS Escalations,
    argMaxIf(EventType, Timestamp, EventType != '{EVENT.ESCALATED}') = '{EVENT.APPROVAL_REQUESTED}'
        AS PendingApproval
FROM {PIPELINE_EVENTS_TABLE}
WHERE {SCOPE_SQL} AND TaskId != '' AND Timestamp >= fromUnixTimestamp64Nano({{start_ns:Int64}})
    AND EventType IN ('{EVENT.ESCALATED}', '{EVENT.APPROVAL_REQUESTED}', '{EVENT.APPROVAL_RECEIVED}'){tasks}
GROUP BY FlagTraceId, FlagTaskId"""


# A task's derived status from its row (`t`) and flags (`f`, of `flags_sql`). An open task that was
# escalated is escalated, not processing or waiting, once its agent is stuck (`stuck_agents`, from
# `agents.stuck_agent_ids`): its process died with the task in a human's hands, and it will not end.
DERIVED_STATUS_SQL = f"""multiIf(
        t.Status = '{FAILED}', 'failed',
        t.Status = '{PROCESSING}' AND f.Escalations > 0 AND has({{stuck_agents:Array(String)}}, t.AgentId),
            'escalated',
        t.Status = '{PROCESSING}' AND f.PendingApproval, 'waiting',
        t.Status = '{PROCESSING}', 'processing',
        f.Escalations > 0, 'escalated',
        'completed')"""


def _cost_by_task_sql(where: str, call_columns: Mapping[str, str] | None = None) -> str:
    """LLM calls, tokens and cost per task of the calls matching `where`, and with `call_columns`
    (name: SQL) the calls themselves (`Calls`: one tuple of those values per call), read in the same scan."""
    calls = f",\n    groupArray(tuple({', '.join(call_columns.values())})) AS Calls" if call_columns else ""
    return f"""
SELECT TraceId, TaskId, count() AS LlmCalls, sum(InputTokens) AS TokensIn, sum(OutputTokens) AS TokensOut,
    {COST_SUM_SQL} AS TaskCost, countIf(Cost IS NULL) AS Unpriced,
    countIf(CostSource = 'estimated') AS Estimated{calls}
FROM {LLM_COSTS_VIEW}
WHERE {SCOPE_SQL} AND TaskId != '' AND {where}
GROUP BY TraceId, TaskId"""


# Every task's LLM calls since the window's start.
_ALL_COSTS_WHERE = (
    "Timestamp >= fromUnixTimestamp64Nano({llm_start_ns:Int64})"
    " AND Timestamp <= fromUnixTimestamp64Nano({spans_end_ns:Int64})"
)
# The traces of a page's tasks. Rows of other tasks in those traces are grouped apart and dropped by
# the lookup on (trace, task); a filter on the (TraceId, TaskId) pair was measured twice as slow.
_PAGE_TRACES = "TraceId IN {traces:Array(String)}"


def _time_span_sql(
    rows: Sequence[dict[str, Any]], start_slack_ns: int, agent: bool
) -> tuple[str, dict[str, Any]]:
    """A condition on `Timestamp` (and `AgentId` when `agent`) holding for the spans of the tasks of
    `rows` (with `AgentId`, `StartNs`, `DurationNs`): from the first start (less `start_slack_ns`)
    to the last end, the leading columns of a key (agent, time) or (time). One range per task, OR-ed,
    was measured slower: evaluating it on every row costs more than the granules it skips."""
    ends_ns = [None if row["DurationNs"] is None else row["StartNs"] + row["DurationNs"] for row in rows]
    parameters: dict[str, Any] = {
        "span_from": min(row["StartNs"] for row in rows) - start_slack_ns,
        "span_to": spans_end_bound_ns(ends_ns),
    }
    condition = (
        "Timestamp >= fromUnixTimestamp64Nano({span_from:Int64})"
        " AND Timestamp <= fromUnixTimestamp64Nano({span_to:Int64})"
    )
    if agent:
        parameters["span_agents"] = sorted({row["AgentId"] for row in rows})
        condition = f"AgentId IN {{span_agents:Array(String)}} AND {condition}"
    return condition, parameters


def _page_events_sql(time_spans: str) -> str:
    """Per task of a page, in one scan of its events (`time_spans`, from `_time_span_sql`): its
    flags (as `flags_sql`) and its counts."""
    return f"""
SELECT TraceId AS FlagTraceId, TaskId AS FlagTaskId,
    countIf(EventType = '{EVENT.ESCALATED}') AS Escalations,
    argMaxIf(EventType, Timestamp, EventType IN ('{EVENT.APPROVAL_REQUESTED}', '{EVENT.APPROVAL_RECEIVED}'))
        = '{EVENT.APPROVAL_REQUESTED}' AS PendingApproval,
    countIf(EventType IN ('{ACTION_COMPLETED}', '{ACTION_FAILED}')) AS Actions,
    countIf(EventType IN ('{ACTION_FAILED}', '{TASK_FAILED}')
        OR (EventType = '{LLM_CALL}' AND Severity = 'error')) AS Errors,
    countIf(EventType = '{EVENT.RETRY_STARTED}') AS Retries,
    countIf(EventType = '{EVENT.APPROVAL_REQUESTED}') AS ApprovalRequests
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND {time_spans} AND {_PAGE_TRACES}
GROUP BY FlagTraceId, FlagTaskId"""


_ASSIGNED_TO = f"Attributes['{HIVEBOARD_ESCALATION_ASSIGNED_TO}']"


def _human_escalations_sql(time_spans: str) -> str:
    """Per task of a page, its escalations assigned to a person: to someone (`assigned_to`) who is
    not one of the tenant's agents (an escalation may hand work to another agent). They are read
    from `hb_pipeline_events`, whose key leads with the event type, so `Attributes`, the heaviest
    column, is read for granules of escalations only."""
    return f"""
SELECT TraceId AS HumanTraceId, TaskId AS HumanTaskId, count() AS HumanEscalations
FROM {PIPELINE_EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType = '{EVENT.ESCALATED}' AND {time_spans} AND {_PAGE_TRACES}
    AND {_ASSIGNED_TO} != '' AND {_ASSIGNED_TO} NOT IN (SELECT AgentId FROM {AGENTS_TABLE} WHERE {SCOPE_SQL})
GROUP BY HumanTraceId, HumanTaskId"""


# The cost columns of `_cost_by_task_sql`, as the cost sort's join carries them.
_COST_COLUMNS = ", c.LlmCalls AS LlmCalls, c.TokensIn AS TokensIn, c.TokensOut AS TokensOut, " + (
    "c.TaskCost AS TaskCost, c.Unpriced AS Unpriced, c.Estimated AS Estimated"
)
# What the page of `list_tasks` is chosen on: sort keys, status, and the ids flags and costs join on.
_PAGE_KEY_COLUMNS = ("TraceId", "TaskId", "AgentId", "Status", "StartTime", "DurationNs")

_SORT_KEYS = {
    "started_at": ("toUnixTimestamp64Nano(t.StartTime)", "Int64"),
    "duration_ms": ("ifNull(toInt64(t.DurationNs), -1)", "Int64"),
    # A float, as the cursor carries it; the task's exact cost (a Decimal) converts to the float shown.
    "cost": ("ifNull(toFloat64(c.TaskCost), -1.0)", "Float64"),
}


@dataclass(frozen=True)
class TaskFilters:
    agent_id: str | None = None
    environment: str | None = None
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
    stuck_agents: StuckAgents,
) -> Page[TaskSummary]:
    """Tasks started in `window`, plus those still open whenever they started, sorted, one page;
    `stuck_agents` gives the agents stuck now (`agents.stuck_agent_ids`, see `DERIVED_STATUS_SQL`),
    read only when the page is chosen on the derived status or holds an escalated open task."""
    # Chosen on the derived status, the page needs the stuck agents before its keys.
    stuck = list(stuck_agents()) if _by_derived_status(filters) else None
    keys = _page_keys(storage, scope, window, filters, sort, order, limit, cursor, stuck or [])
    page = keys[:limit]

    def task_rows() -> dict[str, dict[str, Any]]:
        return _task_rows_with_status(storage, scope, page, stuck, stuck_agents)

    if sort == "cost":  # the costs were read with the keys
        rows = task_rows()
        costs = {(key["TraceId"], key["TaskId"]): key for key in keys}
    else:  # the page's rows and costs, read at the same time
        rows, costs = run_together(task_rows, lambda: task_costs(storage, scope, page))
    shown = [rows[key["TaskSpanId"]] for key in page if key["TaskSpanId"] in rows]
    by_span = {
        row["TaskSpanId"]: task_summary(row, costs.get((row["TraceId"], row["TaskId"]), {})) for row in shown
    }
    return page_of_keys(
        keys,
        lambda key: by_span.get(key["TaskSpanId"]),
        lambda key: (key["SortValue"], key["TaskSpanId"]),
        limit,
    )


def latest_task_key(
    storage: Storage, scope: DataScope, task_id: str, task_span_id: str | None = None
) -> dict[str, Any] | None:
    """The key of the latest execution of `task_id` in the last month, or of the one with
    `task_span_id` (its ids, agent, start and duration, as `task_costs` takes them); None when
    there is none."""
    filters = TaskFilters(task_id=task_id, task_span_id=task_span_id)
    window = Window.last(TimeRange.MONTH)
    keys = _page_keys(storage, scope, window, filters, "started_at", "desc", 1, None, [])
    return keys[0] if keys else None


def task_row_of_key(
    storage: Storage, scope: DataScope, key: dict[str, Any], *, stuck_agents: StuckAgents
) -> dict[str, Any] | None:
    """The row (as `_task_rows` reads it) of the task of `key` (from `latest_task_key`); None when
    it is gone since. `stuck_agents` as for `list_tasks`."""
    return _task_rows_with_status(storage, scope, [key], None, stuck_agents).get(key["TaskSpanId"])


def _by_derived_status(filters: TaskFilters) -> bool:
    """Whether the page is chosen on the derived status (`DERIVED_STATUS_SQL`), which needs every
    task's flags and the stuck agents; `failed` is the task's own status, a column of its row."""
    return filters.status is not None and filters.status != FAILED


def _task_rows_with_status(
    storage: Storage,
    scope: DataScope,
    keys: list[dict[str, Any]],
    stuck: Sequence[str] | None,
    stuck_agents: StuckAgents,
) -> dict[str, dict[str, Any]]:
    """`_task_rows` of `keys`, with the agents stuck now: `stuck` when already read, else read only
    when a task is open and was escalated, the one case of `DERIVED_STATUS_SQL` that depends on them
    (then the rows are read again with them): most pages and timelines need no second read."""
    if stuck is not None:
        return _task_rows(storage, scope, keys, stuck)
    rows = _task_rows(storage, scope, keys, [])
    if any(row["Status"] == PROCESSING and row["Escalations"] for row in rows.values()):
        stuck = list(stuck_agents())
        if stuck:
            return _task_rows(storage, scope, keys, stuck)
    return rows


def _page_keys(
    storage: Storage,
    scope: DataScope,
    window: Window,
    filters: TaskFilters,
    sort: TaskSort,
    order: SortOrder,
    limit: int,
    cursor: str | None,
    stuck_agents: Sequence[str],
) -> list[dict[str, Any]]:
    """The keys of the page's tasks and of the next one (`limit + 1` rows): their ids, agent, start,
    duration and `SortValue`, and when sorting by cost the columns of `_cost_by_task_sql`."""
    where, parameters = _where(filters)
    sort_key, sort_type = _SORT_KEYS[sort]
    conditions = [
        f"(t.StartTime >= fromUnixTimestamp64Nano({{start_ns:Int64}}) OR t.Status = '{PROCESSING}')",
        "t.StartTime <= fromUnixTimestamp64Nano({end_ns:Int64})",
    ]
    by_status = _by_derived_status(filters)
    if filters.status == FAILED:
        conditions.append(f"t.Status = '{FAILED}'")
    elif by_status:
        conditions.append("DerivedStatus = {status:String}")
        parameters.update(status=filters.status, stuck_agents=list(stuck_agents))
    if cursor is not None:
        value, span_id = decode_cursor(cursor, sort_type, "String")
        comparison = "<" if order == "desc" else ">"
        conditions.append(
            f"({sort_key}, t.TaskSpanId) {comparison} ({{cursor_value:{sort_type}}}, {{cursor_id:String}})"
        )
        parameters.update(cursor_value=value, cursor_id=span_id)
    # Sorting by cost needs every task's cost, filtering on the derived status every task's flags;
    # otherwise both are read for the page only (below).
    cost_join = (
        "LEFT JOIN (SELECT TraceId AS CostTraceId, TaskId AS CostTaskId, LlmCalls, TokensIn, TokensOut, "
        f"TaskCost, Unpriced, Estimated FROM ({_cost_by_task_sql(_ALL_COSTS_WHERE)})) AS c "
        "ON c.CostTraceId = t.TraceId AND c.CostTaskId = t.TaskId"
        if sort == "cost"
        else ""
    )
    flags_join = (
        f"LEFT JOIN ({flags_sql()}) AS f ON f.FlagTraceId = t.TraceId AND f.FlagTaskId = t.TaskId"
        if by_status
        else ""
    )
    derived_status = f", {DERIVED_STATUS_SQL} AS DerivedStatus" if by_status else ""
    # The page is chosen on the few columns it sorts and filters on; its rows are read whole after.
    keys_sql = f"""
SELECT t.TaskSpanId AS TaskSpanId, t.TraceId AS TraceId, t.TaskId AS TaskId, t.AgentId AS AgentId,
    toUnixTimestamp64Nano(t.StartTime) AS StartNs, t.DurationNs AS DurationNs,
    {sort_key} AS SortValue{derived_status}{_COST_COLUMNS if cost_join else ""}
FROM ({latest_tasks_sql(where, _PAGE_KEY_COLUMNS, by_agent=filters.agent_id is not None)}) AS t
{flags_join}
{cost_join}
WHERE {" AND ".join(conditions)}
ORDER BY SortValue {order}, t.TaskSpanId {order}
LIMIT {{limit:UInt32}}"""
    parameters["llm_start_ns"] = window.start_ns - LLM_START_SLACK_NS
    parameters["spans_end_ns"] = spans_end_bound_ns([None])  # costs of tasks open or ended
    parameters = scope.parameters(**window.parameters(), **parameters, limit=limit + 1)
    return storage.query(keys_sql, parameters).dicts()


def _task_rows(
    storage: Storage, scope: DataScope, keys: list[dict[str, Any]], stuck_agents: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The latest rows of the task spans of `keys` (columns `_PAGE_KEY_COLUMNS` and `TaskSpanId`),
    with their derived status, whether a human was involved and the counts of their events, by span
    id. Tasks are looked up by the table's key; their events by agent and time, the leading columns
    of hb_events' key."""
    if not keys:
        return {}
    time_spans, span_parameters = _time_span_sql(keys, 0, agent=True)
    sql = f"""
SELECT t.*, {DERIVED_STATUS_SQL} AS DerivedStatus, f.Escalations AS Escalations,
    f.Actions AS Actions, f.Errors AS Errors, f.Retries AS Retries,
    f.ApprovalRequests > 0 OR h.HumanEscalations > 0 AS HumanIntervention,
    toUnixTimestamp64Nano(t.StartTime) AS StartNs
FROM ({latest_tasks_sql("TaskSpanId IN {span_ids:Array(String)}")}) AS t
LEFT JOIN ({_page_events_sql(time_spans)}) AS f
    ON f.FlagTraceId = t.TraceId AND f.FlagTaskId = t.TaskId
LEFT JOIN ({_human_escalations_sql(time_spans)}) AS h
    ON h.HumanTraceId = t.TraceId AND h.HumanTaskId = t.TaskId"""
    parameters = scope.parameters(
        **span_parameters,
        span_ids=[key["TaskSpanId"] for key in keys],
        traces=sorted({key["TraceId"] for key in keys}),
        stuck_agents=list(stuck_agents),
    )
    return {row["TaskSpanId"]: row for row in storage.query(sql, parameters).dicts()}


def task_costs(
    storage: Storage,
    scope: DataScope,
    rows: Sequence[dict[str, Any]],
    call_columns: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The LLM calls, tokens and cost (columns of `_cost_by_task_sql`) of the tasks of `rows` (page
    keys or `_task_rows`: trace, task and agent ids, start and duration), by trace and task id; with
    `call_columns` (name: SQL), their calls too (`Calls`: dicts by those names)."""
    if not rows:
        return {}
    time_spans, span_parameters = _time_span_sql(rows, LLM_START_SLACK_NS, agent=False)
    sql = _cost_by_task_sql(f"{time_spans} AND {_PAGE_TRACES}", call_columns)
    parameters = scope.parameters(**span_parameters, traces=sorted({row["TraceId"] for row in rows}))
    costs = {(row["TraceId"], row["TaskId"]): row for row in storage.query(sql, parameters).dicts()}
    if call_columns:
        for cost in costs.values():
            cost["Calls"] = [dict(zip(call_columns, call, strict=True)) for call in cost["Calls"]]
    return costs


def task_summary(row: dict[str, Any], cost: dict[str, Any]) -> TaskSummary:
    """The `TaskSummary` of a task row (from `_task_rows`) with its `task_costs` ({} without calls)."""
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
        cost=usd(cost.get("TaskCost"), llm_calls),
        unpriced_calls=unpriced,
        estimated_calls=int(cost.get("Estimated") or 0),
        action_count=int(row["Actions"] or 0),
        error_count=int(row["Errors"] or 0),
        escalation_count=int(row["Escalations"] or 0),
        retry_count=int(row["Retries"] or 0),
        has_human_intervention=bool(row["HumanIntervention"]),
    )


def _where(filters: TaskFilters) -> tuple[str, dict[str, Any]]:
    """Conditions on the columns every version of a task shares, so they prune before grouping."""
    conditions, parameters = equal_to(
        (
            ("AgentId", "agent_id", filters.agent_id),
            ("Environment", "environment", filters.environment),
            ("Project", "project", filters.project),
            ("TaskType", "task_type", filters.task_type),
            ("TaskId", "task_id", filters.task_id),
            ("TaskSpanId", "task_span_id", filters.task_span_id),
        )
    )
    return " AND ".join(conditions), parameters
