"""The cost explorer and the LLM call list, all from `hb_llm_costs`.

`hb_llm_costs` is every LLM call of `hb_llm_calls` (HiveLoop's, and model calls of any OTel GenAI
instrumentation) with its `Cost`: the reported cost, else the estimate from the model's prices,
else NULL (unpriced: tokens without a cost, never a silent $0). Ordered by time per tenant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.cost import (
    AgentCost,
    CostOverview,
    CostPoint,
    CostSeries,
    CostSource,
    CostTimeseries,
    CostTotals,
    LlmCall,
    LlmCallPage,
    ModelCost,
)
from hiveboard.api.params import (
    SECOND_NS,
    TimeRange,
    Window,
    decode_cursor,
    equal_to,
    from_ns,
    ns_to_ms,
    window_sql,
)
from hiveboard.api.queries.money import CALL_COST_SQL, COST_SUM_SQL, call_usd, usd
from hiveboard.api.queries.paging import page_of_keys
from hiveboard.api.queries.tables import LLM_CALLS_TABLE, LLM_COSTS_VIEW
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage

CallSort = Literal["time", "cost"]
GroupBy = Literal["total", "model", "agent"]

_TOTALS_SQL = f"""count() AS Calls, sum(InputTokens) AS TokensIn, sum(OutputTokens) AS TokensOut,
    sum(CacheReadTokens) AS CacheRead, sum(CacheWriteTokens) AS CacheWrite,
    {COST_SUM_SQL} AS TotalCost,
    ifNull(sumIf({CALL_COST_SQL}, CostSource = 'reported'), 0) AS Reported,
    ifNull(sumIf({CALL_COST_SQL}, CostSource = 'estimated'), 0) AS Estimated,
    countIf(CostSource = 'reported') AS ReportedCalls,
    countIf(CostSource = 'estimated') AS EstimatedCalls,
    countIf(Cost IS NULL) AS Unpriced"""
_GROUP_KEYS = {"model": "ResponseModel", "agent": "AgentId", "total": "'total'"}


@dataclass(frozen=True)
class CallFilters:
    agent_id: str | None = None
    task_id: str | None = None
    environment: str | None = None
    project: str | None = None
    model: str | None = None
    cost_source: CostSource | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        conditions, parameters = equal_to(
            (
                ("AgentId", "agent_id", self.agent_id),
                ("TaskId", "task_id", self.task_id),
                ("Environment", "environment", self.environment),
                ("Project", "project", self.project),
                ("ResponseModel", "model", self.model),
            )
        )
        conditions.insert(0, f"{SCOPE_SQL} AND {window_sql('Timestamp')}")
        if self.cost_source is not None:
            # '' is a call the pricing job has not looked at yet: no cost, like an unpriced one.
            conditions.append(
                "Cost IS NULL" if self.cost_source == "unpriced" else "CostSource = {cost_source:String}"
            )
            parameters["cost_source"] = self.cost_source
        return " AND ".join(conditions), parameters


def _totals(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "call_count": row["Calls"],
        "tokens_in": row["TokensIn"],
        "tokens_out": row["TokensOut"],
        "cache_read_tokens": row["CacheRead"],
        "cache_write_tokens": row["CacheWrite"],
        "cost": usd(row["TotalCost"], row["Calls"]),
        "reported_cost": float(row["Reported"]),
        "estimated_cost": float(row["Estimated"]),
        "reported_calls": row["ReportedCalls"],
        "estimated_calls": row["EstimatedCalls"],
        "unpriced_calls": row["Unpriced"],
    }


def _call_totals(storage: Storage, scope: DataScope, window: Window, filters: CallFilters) -> CostTotals:
    """The totals of every call of the filter: a scan of the range that prices every call."""
    where, parameters = filters.sql()
    sql = f"SELECT {_TOTALS_SQL} FROM {LLM_COSTS_VIEW} WHERE {where}"
    row = storage.query(sql, scope.parameters(**window.parameters(), **parameters)).dicts()[0]
    return CostTotals(**_totals(row))


# One scan for the totals, both breakdowns and, when asked for, the cost over time: `grouping(column)`
# is 0 in the rows of the sets that group by `column`, 1 where it is aggregated over.
_OVERVIEW_SQL = f"""
SELECT grouping(ResponseModel) = 0 AS ByModel, grouping(AgentId) = 0 AS ByAgent, {{series_columns}},
    ResponseModel, AgentId,
    any(Provider) AS Provider, anyIf(MatchedModel, MatchedModel != '') AS MatchedModel,
    {_TOTALS_SQL}
FROM {LLM_COSTS_VIEW} WHERE {{where}}
GROUP BY GROUPING SETS ((), (ResponseModel), (AgentId){{series_set}})
ORDER BY TotalCost DESC, Calls DESC, ResponseModel, AgentId"""
# The grouping set of each series' buckets.
_SERIES_SETS = {"total": "(Bucket)", "model": "(ResponseModel, Bucket)", "agent": "(AgentId, Bucket)"}
_NO_SERIES_COLUMNS = "false AS ByBucket"


def cost_overview(
    storage: Storage,
    scope: DataScope,
    time_range: TimeRange,
    filters: CallFilters,
    series: GroupBy | None = None,
) -> CostOverview:
    """Totals of the range, by model and by agent, most expensive first; with `series`, the cost over
    time of `cost_timeseries` too, from the same scan (each scan prices every call of the range)."""
    window = Window.last(time_range)
    where, parameters = filters.sql()
    if series is None:
        series_columns, series_set = _NO_SERIES_COLUMNS, ""
    else:
        bucket, key = _bucket_sql(time_range), _GROUP_KEYS[series]
        series_columns = f"grouping(Bucket) = 0 AS ByBucket, {bucket} AS Bucket, {key} AS Key"
        series_set = f", {_SERIES_SETS[series]}"
    sql = _OVERVIEW_SQL.format(where=where, series_columns=series_columns, series_set=series_set)
    rows = storage.query(sql, scope.parameters(**window.parameters(), **parameters)).dicts()
    buckets = [row for row in rows if row["ByBucket"]]
    rows = [row for row in rows if not row["ByBucket"]]
    totals = next((row for row in rows if not row["ByModel"] and not row["ByAgent"]), None)
    return CostOverview(
        range=time_range,
        timeseries=_timeseries(time_range, window, series, buckets) if series is not None else None,
        totals=CostTotals(**_totals(totals)) if totals else _no_calls(),
        by_model=[
            ModelCost(
                model=row["ResponseModel"],
                provider=row["Provider"],
                matched_model=row["MatchedModel"],
                **_totals(row),
            )
            for row in rows
            if row["ByModel"]
        ],
        by_agent=[AgentCost(agent_id=row["AgentId"], **_totals(row)) for row in rows if row["ByAgent"]],
    )


def _no_calls() -> CostTotals:
    return CostTotals(
        call_count=0, tokens_in=0, tokens_out=0, cache_read_tokens=0, cache_write_tokens=0, cost=0.0,
        reported_cost=0.0, estimated_cost=0.0, reported_calls=0, estimated_calls=0, unpriced_calls=0,
    )  # fmt: skip


_SORT_KEYS = {
    "time": ("toUnixTimestamp64Nano(Timestamp)", "Int64"),
    "cost": ("ifNull(Cost, -1.0)", "Float64"),
}
# What a page is ordered by. The newest calls by the table's key column itself, not by its
# nanoseconds (the same order): ClickHouse then reads the range backwards in key order and stops
# once it has the page, instead of reading and sorting every call of the range.
_ORDER_KEYS = {"time": "Timestamp", "cost": "SortValue"}


def list_calls(
    storage: Storage,
    scope: DataScope,
    time_range: TimeRange,
    filters: CallFilters,
    *,
    sort: CallSort,
    limit: int,
    cursor: str | None = None,
    with_totals: bool = True,
) -> LlmCallPage:
    """LLM calls with their previews, newest or most expensive first, with the totals of the filter
    (None without `with_totals`).

    The page is chosen on its sort key alone: the newest calls come from `hb_llm_calls` in its key
    order, without pricing the calls of the range; only sorting by cost, or filtering on it, prices
    them all. Then the page's rows are read whole and priced, by time (the table's key) and span id,
    beside the totals, which price every call of the range. The most expensive calls lie anywhere in
    the range, so reading them again by span id would scan it a second time: sorted by cost, the rows
    are read whole in the scan that chooses them, beside the totals.
    """
    window = Window.last(time_range)
    where, parameters = filters.sql()
    sort_key, sort_type = _SORT_KEYS[sort]
    if cursor is not None:
        value, span_id = decode_cursor(cursor, sort_type, "String")
        where += f" AND ({sort_key}, SpanId) < ({{cursor_value:{sort_type}}}, {{cursor_id:String}})"
        parameters.update(cursor_value=value, cursor_id=span_id)
        if sort == "time":  # also as a bound on the key column, so that the scan starts there
            where += " AND Timestamp <= fromUnixTimestamp64Nano({cursor_value:Int64})"
    priced = sort == "cost" or filters.cost_source is not None
    whole = sort == "cost"
    columns = f"*, {CALL_COST_SQL} AS RoundedCost" if whole else "SpanId"
    keys_sql = f"""
SELECT {columns}, toUnixTimestamp64Nano(Timestamp) AS StartNs, {sort_key} AS SortValue
FROM {LLM_COSTS_VIEW if priced else LLM_CALLS_TABLE} WHERE {where}
ORDER BY {_ORDER_KEYS[sort]} DESC, SpanId DESC
LIMIT {{limit:UInt32}}"""

    def page_keys() -> list[dict[str, Any]]:
        keys_parameters = scope.parameters(**window.parameters(), **parameters, limit=limit + 1)
        return storage.query(keys_sql, keys_parameters).dicts()

    def totals() -> CostTotals | None:
        return _call_totals(storage, scope, window, filters) if with_totals else None

    if whole:
        keys, call_totals = run_together(page_keys, totals)
        rows = {key["SpanId"]: key for key in keys}
    else:
        keys = page_keys()
        rows, call_totals = run_together(lambda: _priced_calls(storage, scope, keys[:limit]), totals)
    calls = page_of_keys(
        keys,
        lambda key: _call(rows[key["SpanId"]]) if key["SpanId"] in rows else None,
        lambda key: (key["SortValue"], key["SpanId"]),
        limit,
    )
    return LlmCallPage(data=calls.data, pagination=calls.pagination, totals=call_totals)


def _priced_calls(
    storage: Storage, scope: DataScope, keys: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The rows of the calls of `keys` with their cost, found by time (the table's key) and span id."""
    if not keys:
        return {}
    sql = f"""
SELECT *, {CALL_COST_SQL} AS RoundedCost, toUnixTimestamp64Nano(Timestamp) AS StartNs
FROM {LLM_COSTS_VIEW}
WHERE {SCOPE_SQL} AND {window_sql("Timestamp")} AND SpanId IN {{span_ids:Array(String)}}"""
    parameters = scope.parameters(
        start_ns=min(key["StartNs"] for key in keys),
        end_ns=max(key["StartNs"] for key in keys),
        span_ids=[key["SpanId"] for key in keys],
    )
    return {row["SpanId"]: row for row in storage.query(sql, parameters).dicts()}


def _call(row: dict[str, Any]) -> LlmCall:
    return LlmCall(
        call_id=row["SpanId"],
        trace_id=row["TraceId"],
        parent_span_id=row["ParentSpanId"],
        timestamp=from_ns(row["StartNs"]),
        service_name=row["ServiceName"],
        agent_id=row["AgentId"],
        task_id=row["TaskId"],
        project=row["Project"],
        name=row["CallName"],
        provider=row["Provider"],
        model=row["ResponseModel"],
        request_model=row["RequestModel"],
        tokens_in=row["InputTokens"],
        tokens_out=row["OutputTokens"],
        cache_read_tokens=row["CacheReadTokens"],
        cache_write_tokens=row["CacheWriteTokens"],
        cost=call_usd(row["RoundedCost"]),
        cost_source=row["CostSource"] or ("unpriced" if row["RoundedCost"] is None else ""),
        matched_model=row["MatchedModel"],
        duration_ms=ns_to_ms(row["DurationNs"]) or 0.0,
        turn_number=row["TurnNumber"],
        finish_reasons=list(row["FinishReasons"]),
        prompt_preview=row["PromptPreview"],
        response_preview=row["ResponsePreview"],
        status=row["StatusCode"],
    )


def cost_timeseries(
    storage: Storage, scope: DataScope, time_range: TimeRange, filters: CallFilters, group_by: GroupBy
) -> CostTimeseries:
    """Cost per bucket of the range, in one series or one per model or agent (zero-filled)."""
    window = Window.last(time_range)
    where, parameters = filters.sql()
    sql = f"""
SELECT {_GROUP_KEYS[group_by]} AS Key, {_bucket_sql(time_range)} AS Bucket,
    {COST_SUM_SQL} AS TotalCost, count() AS Calls, countIf(Cost IS NULL) AS Unpriced,
    sum(InputTokens) AS TokensIn, sum(OutputTokens) AS TokensOut
FROM {LLM_COSTS_VIEW} WHERE {where}
GROUP BY Key, Bucket"""
    rows = storage.query(sql, scope.parameters(**window.parameters(), **parameters)).dicts()
    return _timeseries(time_range, window, group_by, rows)


def _bucket_sql(time_range: TimeRange) -> str:
    """The start (Unix seconds) of the timeseries bucket of a call of `time_range`."""
    return f"intDiv(toUnixTimestamp(Timestamp), {time_range.bucket_seconds}) * {time_range.bucket_seconds}"


def _timeseries(
    time_range: TimeRange, window: Window, group_by: GroupBy, rows: list[dict[str, Any]]
) -> CostTimeseries:
    """The zero-filled series of `rows`: a row per series (`Key`) and bucket (`Bucket`), with the
    columns `_cost_point` reads."""
    bucket_seconds = time_range.bucket_seconds
    buckets: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        buckets[row["Key"]][row["Bucket"]] = row
    if group_by == "total":
        buckets.setdefault("total", {})
    first = window.start_ns // SECOND_NS // bucket_seconds * bucket_seconds
    last = window.end_ns // SECOND_NS // bucket_seconds * bucket_seconds
    # Each bucket's time made once for every series.
    starts = [(start, from_ns(start * SECOND_NS)) for start in range(first, last + 1, bucket_seconds)]
    series = [
        CostSeries(key=key, points=[_cost_point(time, points.get(start, {})) for start, time in starts])
        # The most expensive series first; one whose calls are all unpriced costs nothing known.
        for key, points in sorted(
            buckets.items(), key=lambda item: -sum(r["TotalCost"] or 0 for r in item[1].values())
        )
    ]
    return CostTimeseries(range=time_range, bucket_seconds=bucket_seconds, group_by=group_by, series=series)


def _cost_point(timestamp: datetime, row: dict[str, Any]) -> CostPoint:
    """The point of the bucket starting at `timestamp` from its row ({} without calls)."""
    calls = row.get("Calls", 0)
    return CostPoint(
        timestamp=timestamp,
        cost=usd(row.get("TotalCost"), calls),
        unpriced_calls=row.get("Unpriced", 0),
        call_count=calls,
        tokens_in=row.get("TokensIn", 0),
        tokens_out=row.get("TokensOut", 0),
    )
