"""Metrics: the stats ribbon (totals of a range) and its mini-charts (the same per time bucket).

Tasks count in the bucket they end in; LLM calls in the one they start in; errors when they happen.
Open tasks, escalated tasks and stuck agents are in the totals only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.metrics import AgentActivity, FleetActivity, Metrics, MetricsPoint, MetricsSummary
from hiveboard.api.params import SECOND_NS, TimeRange, Window, equal_to, from_ns, ns_to_ms, window_sql
from hiveboard.api.queries.agents import stuck_agent_ids
from hiveboard.api.queries.money import COST_SUM_SQL, usd
from hiveboard.api.queries.tables import COMPLETED, EVENTS_TABLE, FAILED, LLM_COSTS_VIEW, PROCESSING
from hiveboard.api.queries.tasks import DERIVED_STATUS_SQL, flags_sql, latest_tasks_sql
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage

_ENDED = f"Status != '{PROCESSING}' AND {window_sql('EndTime')}"


def _filters(agent_id: str | None, environment: str | None, project: str | None) -> str:
    conditions, _ = equal_to(
        (
            ("AgentId", "agent_id", agent_id),
            ("Environment", "environment", environment),
            ("Project", "project", project),
        )
    )
    return " AND ".join(conditions)


# Each query returns its totals (the row where `grouping(Bucket)` is 1) and its buckets in one scan.
_BUCKETS_AND_TOTAL = "GROUP BY GROUPING SETS ((Bucket), ())"
_TASK_COLUMNS = ("TraceId", "TaskId", "AgentId", "Project", "Status", "EndTime", "DurationNs")


def _tasks_sql(filters: str, bucket: str, by_agent: bool) -> str:
    """Task counts; `Escalated` counts the tasks the task table shows as escalated among those ended
    in the range or open now (the flags join is what derives it)."""
    return f"""
SELECT grouping(Bucket) AS Total, {bucket} AS Bucket,
    countIf(Status = '{COMPLETED}' AND {window_sql("EndTime")}) AS Completed,
    countIf(Status = '{FAILED}' AND {window_sql("EndTime")}) AS Failed,
    countIf({_ENDED}) AS Ended,
    countIf(Status = '{PROCESSING}') AS Processing,
    countIf({DERIVED_STATUS_SQL} = 'escalated' AND ({_ENDED} OR Status = '{PROCESSING}')) AS Escalated,
    avgIf(DurationNs, {_ENDED}) AS AvgDurationNs,
    quantileIf(0.95)(DurationNs, {_ENDED}) AS P95DurationNs
FROM ({latest_tasks_sql(filters, _TASK_COLUMNS, by_agent=by_agent)}) AS t
LEFT JOIN ({flags_sql()}) AS f ON f.FlagTraceId = t.TraceId AND f.FlagTaskId = t.TaskId
{_BUCKETS_AND_TOTAL}"""


def _llm_sql(filters: str, bucket: str) -> str:
    return f"""
SELECT grouping(Bucket) AS Total, {bucket} AS Bucket,
    count() AS Calls, sum(InputTokens) AS TokensIn, sum(OutputTokens) AS TokensOut,
    {COST_SUM_SQL} AS TotalCost, countIf(Cost IS NULL) AS Unpriced
FROM {LLM_COSTS_VIEW}
WHERE {SCOPE_SQL} AND {window_sql("Timestamp")}{f" AND {filters}" if filters else ""}
{_BUCKETS_AND_TOTAL}"""


def _errors_sql(filters: str, bucket: str) -> str:
    return f"""
SELECT grouping(Bucket) AS Total, {bucket} AS Bucket, count() AS Errors
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND {window_sql("Timestamp")} AND Severity = 'error'{f" AND {filters}" if filters else ""}
{_BUCKETS_AND_TOTAL}"""


def _bucket(column: str, seconds: int) -> str:
    """The start (in seconds) of `column`'s bucket."""
    return f"intDiv(toUnixTimestamp({column}), {seconds}) * {seconds}"


def metrics(
    storage: Storage,
    scope: DataScope,
    time_range: TimeRange,
    agent_id: str | None = None,
    project: str | None = None,
    now_ns: int | None = None,
    environment: str | None = None,
) -> Metrics:
    window = Window.last(time_range, now_ns)
    filters = _filters(agent_id, environment, project)
    parameters = scope.parameters(
        **window.parameters(), agent_id=agent_id, environment=environment, project=project
    )
    bucket_seconds = time_range.bucket_seconds

    def task_rows() -> tuple[list[str], list[dict[str, Any]]]:
        """The stuck agents, then the task counts that derive the escalated status from them."""
        stuck = stuck_agent_ids(storage, scope, now_ns, agent_id, environment)
        sql = _tasks_sql(filters, _bucket("EndTime", bucket_seconds), by_agent=agent_id is not None)
        return stuck, storage.query(sql, {**parameters, "stuck_agents": stuck}).dicts()

    # Independent of each other: asked together, they take about as long as the slowest.
    (stuck_agents, tasks), calls, errors = run_together(
        task_rows,
        lambda: storage.query(_llm_sql(filters, _bucket("Timestamp", bucket_seconds)), parameters).dicts(),
        lambda: storage.query(_errors_sql(filters, _bucket("Timestamp", bucket_seconds)), parameters).dicts(),
    )
    totals: list[dict[str, Any]] = []
    series: list[dict[int, dict[str, Any]]] = []
    for rows in (tasks, calls, errors):
        totals.append(next((row for row in rows if row["Total"]), {}))
        series.append({row["Bucket"]: row for row in rows if not row["Total"]})
    first = window.start_ns // SECOND_NS // bucket_seconds * bucket_seconds
    last = window.end_ns // SECOND_NS // bucket_seconds * bucket_seconds
    points = [
        _point(start, *(part.get(start, {}) for part in series))
        for start in range(first, last + 1, bucket_seconds)
    ]
    return Metrics(
        range=time_range,
        bucket_seconds=bucket_seconds,
        summary=_summary(time_range, len(stuck_agents), *totals),
        timeseries=points,
    )


def _rate(completed: int, ended: int) -> float | None:
    return round(completed / ended, 4) if ended else None


def _cost_per_task(cost: float | None, ended: int) -> float | None:
    """USD per ended task, to the micro-dollar; None without ended tasks or without a known cost."""
    return round(cost / ended, 6) if ended and cost is not None else None


def _summary(
    time_range: TimeRange,
    stuck_agents: int,
    tasks: dict[str, Any],
    llm: dict[str, Any],
    errors: dict[str, Any],
) -> MetricsSummary:
    defaults: dict[str, Any] = defaultdict(int)
    tasks, llm, errors = defaults | tasks, defaults | llm, defaults | errors
    ended = tasks["Ended"]
    cost = usd(llm["TotalCost"], llm["Calls"])
    return MetricsSummary(
        tasks_completed=tasks["Completed"],
        tasks_failed=tasks["Failed"],
        processing=tasks["Processing"],
        escalated=tasks["Escalated"],
        stuck_agents=stuck_agents,
        success_rate=_rate(tasks["Completed"], ended),
        avg_duration_ms=ns_to_ms(round(tasks["AvgDurationNs"])) if ended else None,
        p95_duration_ms=ns_to_ms(round(tasks["P95DurationNs"])) if ended else None,
        throughput_per_hour=round(ended * 3600 / time_range.seconds, 3),
        errors=errors["Errors"],
        llm_calls=llm["Calls"],
        tokens_in=llm["TokensIn"],
        tokens_out=llm["TokensOut"],
        total_cost=cost,
        unpriced_calls=llm["Unpriced"],
        cost_per_task=_cost_per_task(cost, ended),
    )


def _point(start: int, tasks: dict[str, Any], llm: dict[str, Any], errors: dict[str, Any]) -> MetricsPoint:
    ended = int(tasks.get("Ended") or 0)
    calls = int(llm.get("Calls") or 0)
    cost = usd(llm.get("TotalCost"), calls)
    return MetricsPoint(
        timestamp=from_ns(start * SECOND_NS),
        tasks_completed=int(tasks.get("Completed") or 0),
        tasks_failed=int(tasks.get("Failed") or 0),
        throughput=ended,
        success_rate=_rate(int(tasks.get("Completed") or 0), ended),
        avg_duration_ms=ns_to_ms(round(tasks["AvgDurationNs"])) if ended else None,
        errors=int(errors.get("Errors") or 0),
        llm_calls=calls,
        cost=cost,
        unpriced_calls=int(llm.get("Unpriced") or 0),
        cost_per_task=_cost_per_task(cost, ended),
    )


def fleet_activity(
    storage: Storage, scope: DataScope, time_range: TimeRange, now_ns: int | None = None
) -> FleetActivity:
    """Tasks ended and failed per agent and bucket of `time_range`, in one scan."""
    window = Window.last(time_range, now_ns)
    bucket_seconds = time_range.bucket_seconds
    sql = f"""
SELECT AgentId, {_bucket("EndTime", bucket_seconds)} AS Bucket,
    count() AS Ended, countIf(Status = '{FAILED}') AS Failed
FROM ({latest_tasks_sql("", ("AgentId", "Status", "EndTime"))})
WHERE {_ENDED}
GROUP BY AgentId, Bucket"""
    rows = storage.query(sql, scope.parameters(**window.parameters())).dicts()
    first = window.start_ns // SECOND_NS // bucket_seconds * bucket_seconds
    last = window.end_ns // SECOND_NS // bucket_seconds * bucket_seconds
    starts = list(range(first, last + 1, bucket_seconds))
    index = {start: position for position, start in enumerate(starts)}
    per_agent: dict[str, AgentActivity] = {}
    for row in rows:
        if row["Bucket"] not in index:
            continue
        agent = per_agent.setdefault(
            row["AgentId"],
            AgentActivity(agent_id=row["AgentId"], throughput=[0] * len(starts), failed=[0] * len(starts)),
        )
        agent.throughput[index[row["Bucket"]]] = row["Ended"]
        agent.failed[index[row["Bucket"]]] = row["Failed"]
    return FleetActivity(
        range=time_range,
        bucket_seconds=bucket_seconds,
        timestamps=[from_ns(start * SECOND_NS) for start in starts],
        agents=[per_agent[agent_id] for agent_id in sorted(per_agent)],
    )
