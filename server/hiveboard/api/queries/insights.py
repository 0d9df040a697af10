"""The Insights tab: one aggregate query per section, over `hb_llm_costs` (LLM call metadata: turns,
finish reasons, cache tokens) and `hb_insight_events` (custom events of kinds context_compaction,
anomaly and learning, retries, failures: the rows of `hb_events` this tab reads, ordered by type,
`storage.schema.current_state`), each scoped to the caller's tenant and the range.

A custom event's `data` is a JSON object in the attribute `hiveboard.event.data`; the queries find
the events on their typed `Kind` column first, so only those events' attributes are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.insights import (
    Anomaly,
    CacheEfficiency,
    CacheUse,
    Compaction,
    ErrorTypeCount,
    Insights,
    Learning,
    RetryRate,
    StopReason,
    TurnCost,
)
from hiveboard.api.params import TimeRange, Window, equal_to, from_ns, window_sql
from hiveboard.api.queries.money import COST_SUM_SQL, usd
from hiveboard.api.queries.tables import (
    ACTION_FAILED,
    EVENT,
    INSIGHT_EVENT_KINDS,
    INSIGHT_EVENTS_TABLE,
    LLM_CALL,
    LLM_CALLS_TABLE,
    LLM_COSTS_VIEW,
    TASK_COMPLETED,
    TASK_FAILED,
)
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage
from hiveboard_semconv.attributes import HIVEBOARD_EVENT_DATA

MAX_TURNS = 100
MAX_ERROR_TYPES = 50
# The custom event kinds of the integration guide this tab reads.
COMPACTION, ANOMALY, LEARNING = INSIGHT_EVENT_KINDS

_DATA = f"Attributes['{HIVEBOARD_EVENT_DATA}']"


@dataclass(frozen=True)
class InsightFilters:
    agent_id: str | None = None
    environment: str | None = None
    project: str | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        """Scope, range (`Timestamp`) and filters as one condition on an `hb_*` table."""
        conditions, parameters = equal_to(
            (
                ("AgentId", "agent_id", self.agent_id),
                ("Environment", "environment", self.environment),
                ("Project", "project", self.project),
            )
        )
        return " AND ".join([SCOPE_SQL, window_sql("Timestamp"), *conditions]), parameters


def insights(storage: Storage, scope: DataScope, time_range: TimeRange, filters: InsightFilters) -> Insights:
    where, parameters = filters.sql()
    parameters = scope.parameters(**Window.last(time_range).parameters(), **parameters)

    def rows(sql: str) -> Callable[[], list[dict[str, Any]]]:
        return lambda: storage.query(sql.format(where=where), parameters).dicts()

    # The sections do not depend on each other: asked together, they take about as long as the slowest.
    turns, stops, cache, custom, retries, ended_tasks, error_types = run_together(
        *map(
            rows,
            (_TURNS_SQL, _STOP_SQL, _CACHE_SQL, _CUSTOM_SQL, _RETRY_SQL, _ENDED_TASKS_SQL, _ERROR_TYPES_SQL),
        )
    )
    tasks_by_agent = {row["AgentId"]: row["Tasks"] for row in ended_tasks}
    compaction, anomalies, learning = _custom_sections(custom)
    return Insights(
        range=time_range,
        turns=[_turn(row) for row in turns],
        stop_reasons=[StopReason(reason=row["Reason"], call_count=row["Calls"]) for row in stops],
        cache=_cache(cache),
        compaction=compaction,
        anomalies=anomalies,
        learning=learning,
        retries=[_retry(row, tasks_by_agent) for row in retries],
        error_types=[_error_type(row) for row in error_types],
    )


_TURNS_SQL = f"""
SELECT TurnNumber, count() AS Calls, sum(InputTokens) AS TokensIn, sum(OutputTokens) AS TokensOut,
    {COST_SUM_SQL} AS TotalCost, countIf(Cost IS NULL) AS Unpriced
FROM {LLM_COSTS_VIEW} WHERE {{where}} AND TurnNumber IS NOT NULL
GROUP BY TurnNumber ORDER BY TurnNumber LIMIT {MAX_TURNS}"""


def _turn(row: dict[str, Any]) -> TurnCost:
    return TurnCost(
        turn_number=row["TurnNumber"],
        call_count=row["Calls"],
        tokens_in=row["TokensIn"],
        tokens_out=row["TokensOut"],
        cost=usd(row["TotalCost"], row["Calls"]),
        unpriced_calls=row["Unpriced"],
    )


# A call with several finish reasons (one per choice) counts once per reason.
_STOP_SQL = f"""
SELECT arrayJoin(if(empty(FinishReasons), [''], arrayDistinct(FinishReasons))) AS Reason, count() AS Calls
FROM {LLM_CALLS_TABLE} WHERE {{where}}
GROUP BY Reason ORDER BY Calls DESC, Reason"""

_CACHE_SQL = f"""
SELECT grouping(ResponseModel) = 0 AS ByModel, ResponseModel, count() AS Calls,
    countIf(CacheReadTokens > 0 OR CacheWriteTokens > 0) AS CachedCalls, sum(InputTokens) AS TokensIn,
    sum(CacheReadTokens) AS CacheRead, sum(CacheWriteTokens) AS CacheWrite
FROM {LLM_CALLS_TABLE} WHERE {{where}}
GROUP BY GROUPING SETS ((), (ResponseModel))
ORDER BY CacheRead DESC, Calls DESC, ResponseModel"""


def _cache_use(row: dict[str, Any] | None, model: str = "") -> CacheUse:
    row = row or {"Calls": 0, "CachedCalls": 0, "TokensIn": 0, "CacheRead": 0, "CacheWrite": 0}
    return CacheUse(
        model=model,
        call_count=row["Calls"],
        calls_with_cache=row["CachedCalls"],
        tokens_in=row["TokensIn"],
        cache_read_tokens=row["CacheRead"],
        cache_write_tokens=row["CacheWrite"],
        read_ratio=row["CacheRead"] / row["TokensIn"] if row["TokensIn"] else None,
    )


def _cache(rows: list[dict[str, Any]]) -> CacheEfficiency:
    totals = next((row for row in rows if not row["ByModel"]), None)
    return CacheEfficiency(
        totals=_cache_use(totals),
        by_model=[_cache_use(row, row["ResponseModel"]) for row in rows if row["ByModel"]],
    )


# The three kinds of custom event in one scan: reading their `data` attribute is most of the cost,
# once for all three instead of once per kind. `Key` is an anomaly's detector or a learning's
# category; each kind's rows are then ordered as its section lists them.
_CUSTOM_SQL = f"""
SELECT Kind, AgentId,
    multiIf(Kind = '{ANOMALY}', JSONExtractString({_DATA}, 'detector'),
        Kind = '{LEARNING}', JSONExtractString({_DATA}, 'category'), '') AS Key,
    count() AS Events, uniqExact(TaskId) AS Tasks, toUnixTimestamp64Nano(max(Timestamp)) AS LastNs,
    sum(JSONExtractUInt({_DATA}, 'tokens_before')) AS TokensBefore,
    sum(JSONExtractUInt({_DATA}, 'tokens_after')) AS TokensAfter,
    argMax(if(Summary != '', Summary, JSONExtractString({_DATA}, 'message')), Timestamp) AS LastSummary,
    argMax(TaskId, Timestamp) AS LastTask,
    countIf(JSONExtractBool({_DATA}, 'correction_applied')) AS Corrections,
    argMax(JSONExtractString({_DATA}, 'description'), Timestamp) AS LastDescription
FROM {INSIGHT_EVENTS_TABLE}
WHERE {{where}} AND EventType = '{EVENT.CUSTOM}' AND Kind IN ('{COMPACTION}', '{ANOMALY}', '{LEARNING}')
GROUP BY Kind, AgentId, Key"""


def _custom_sections(rows: list[dict[str, Any]]) -> tuple[list[Compaction], list[Anomaly], list[Learning]]:
    """Compactions by events (most first), anomalies by their latest (newest first), learning events
    by events (most first), ties by agent (and category)."""
    by_kind: dict[str, list[dict[str, Any]]] = {COMPACTION: [], ANOMALY: [], LEARNING: []}
    for row in rows:
        by_kind[row["Kind"]].append(row)
    return (
        [_compaction(row) for row in sorted(by_kind[COMPACTION], key=lambda r: (-r["Events"], r["AgentId"]))],
        [_anomaly(row) for row in sorted(by_kind[ANOMALY], key=lambda r: -r["LastNs"])],
        [
            _learning(row)
            for row in sorted(by_kind[LEARNING], key=lambda r: (-r["Events"], r["AgentId"], r["Key"]))
        ],
    )


def _compaction(row: dict[str, Any]) -> Compaction:
    return Compaction(
        agent_id=row["AgentId"],
        event_count=row["Events"],
        task_count=row["Tasks"],
        tokens_before=row["TokensBefore"],
        tokens_after=row["TokensAfter"],
        last_at=from_ns(row["LastNs"]),
    )


def _anomaly(row: dict[str, Any]) -> Anomaly:
    return Anomaly(
        agent_id=row["AgentId"],
        detector=row["Key"],
        event_count=row["Events"],
        task_count=row["Tasks"],
        last_at=from_ns(row["LastNs"]),
        last_summary=row["LastSummary"],
        last_task_id=row["LastTask"],
    )


def _learning(row: dict[str, Any]) -> Learning:
    return Learning(
        agent_id=row["AgentId"],
        category=row["Key"],
        event_count=row["Events"],
        corrections_applied=row["Corrections"],
        last_at=from_ns(row["LastNs"]),
        last_description=row["LastDescription"],
    )


# Each retry takes the error type of the latest failed action of its task before it (or at the same
# time); failed actions are counted beside them, per agent and per agent and failure type. Each
# task's failures and retries are sorted in time order in an array (the failures of an instant
# before its retries) and the error type carried forward along it, as an ASOF join of retries to
# failures would match it: grouped by task, where a window over them sorted every row of the range
# (at 10M spans, 24 h: 346 -> 255 ms).
_RETRY_SQL = f"""
SELECT AgentId, FailureType, grouping(FailureType) = 1 AS AllTypes,
    countIf(IsRetry) AS Retries, countIf(NOT IsRetry) AS Failures,
    uniqExactIf(TaskId, IsRetry) AS RetriedTasks
FROM (
    SELECT AgentId, TaskId, Event.2 AS IsRetry, ifNull(LatestFailureType, '') AS FailureType
    FROM (
        SELECT AgentId, TaskId,
            arraySort(groupArray((Timestamp, EventType != '{ACTION_FAILED}', ErrorType))) AS Events,
            arrayFill(type -> type IS NOT NULL, arrayMap(event -> if(event.2, NULL, event.3), Events))
                AS LatestFailureTypes
        FROM {INSIGHT_EVENTS_TABLE}
        WHERE {{where}} AND EventType IN ('{EVENT.RETRY_STARTED}', '{ACTION_FAILED}')
        GROUP BY AgentId, TaskId
    )
    ARRAY JOIN Events AS Event, LatestFailureTypes AS LatestFailureType
)
GROUP BY GROUPING SETS ((AgentId), (AgentId, FailureType))
ORDER BY AgentId, AllTypes DESC, Retries DESC, Failures DESC, FailureType"""
# The tasks each agent ended in the range, for the retry rate of its row over every failure type: a
# query of its own, as the rows of the ended tasks, most of those the retries' query would read,
# would otherwise be grouped in both of its grouping sets.
_ENDED_TASKS_SQL = f"""
SELECT AgentId, uniqExact(TaskId) AS Tasks
FROM {INSIGHT_EVENTS_TABLE}
WHERE {{where}} AND EventType IN ('{TASK_COMPLETED}', '{TASK_FAILED}')
GROUP BY AgentId"""


def _retry(row: dict[str, Any], ended_tasks: dict[str, int]) -> RetryRate:
    return RetryRate(
        agent_id=row["AgentId"],
        failure_type=None if row["AllTypes"] else row["FailureType"],
        retries=row["Retries"],
        failures=row["Failures"],
        retried_tasks=row["RetriedTasks"],
        tasks=ended_tasks.get(row["AgentId"], 0) if row["AllTypes"] else None,
    )


_ERROR_TYPES_SQL = f"""
SELECT ErrorType, EventType, count() AS Count, uniqExact(AgentId) AS Agents,
    toUnixTimestamp64Nano(max(Timestamp)) AS LastNs, argMax(ErrorMessage, Timestamp) AS LastMessage,
    argMax(TaskId, Timestamp) AS LastTask, argMax(AgentId, Timestamp) AS LastAgent
FROM {INSIGHT_EVENTS_TABLE}
WHERE {{where}} AND (EventType IN ('{TASK_FAILED}', '{ACTION_FAILED}')
    OR (EventType = '{LLM_CALL}' AND Severity = 'error'))
GROUP BY ErrorType, EventType ORDER BY Count DESC, LastNs DESC LIMIT {MAX_ERROR_TYPES}"""


def _error_type(row: dict[str, Any]) -> ErrorTypeCount:
    return ErrorTypeCount(
        error_type=row["ErrorType"],
        event_type=row["EventType"],
        count=row["Count"],
        agent_count=row["Agents"],
        last_at=from_ns(row["LastNs"]),
        last_message=row["LastMessage"],
        last_task_id=row["LastTask"],
        last_agent_id=row["LastAgent"],
    )
