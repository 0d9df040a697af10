"""The Insights tab's one-scan queries return what the plain queries return on the same data: the
three kinds of custom event read together against one query per kind, and retries matched to their
failure by carrying the error type forward against an ASOF join of retries to failures."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hiveboard.api.auth import DataScope
from hiveboard.api.params import TimeRange, Window
from hiveboard.api.queries import insights
from hiveboard.api.queries.insights import InsightFilters
from hiveboard.api.queries.tables import (
    ACTION_FAILED,
    EVENT,
    EVENTS_TABLE,
    INSIGHT_EVENTS_TABLE,
    TASK_COMPLETED,
    TASK_FAILED,
)
from hiveboard.storage import Storage
from hiveboard_semconv.attributes import HIVEBOARD_EVENT_DATA
from tests.api.conftest import Telemetry, Tenant

_DATA = f"Attributes['{HIVEBOARD_EVENT_DATA}']"

PLAIN_COMPACTION_SQL = f"""
SELECT AgentId, count() AS Events, uniqExact(TaskId) AS Tasks,
    sum(JSONExtractUInt({_DATA}, 'tokens_before')) AS TokensBefore,
    sum(JSONExtractUInt({_DATA}, 'tokens_after')) AS TokensAfter
FROM {EVENTS_TABLE} WHERE {{where}} AND EventType = '{EVENT.CUSTOM}' AND Kind = 'context_compaction'
GROUP BY AgentId ORDER BY Events DESC, AgentId"""

PLAIN_ANOMALY_SQL = f"""
SELECT AgentId, JSONExtractString({_DATA}, 'detector') AS Detector, count() AS Events,
    uniqExact(TaskId) AS Tasks,
    argMax(if(Summary != '', Summary, JSONExtractString({_DATA}, 'message')), Timestamp) AS LastSummary,
    argMax(TaskId, Timestamp) AS LastTask
FROM {EVENTS_TABLE} WHERE {{where}} AND EventType = '{EVENT.CUSTOM}' AND Kind = 'anomaly'
GROUP BY AgentId, Detector ORDER BY max(Timestamp) DESC"""

PLAIN_LEARNING_SQL = f"""
SELECT AgentId, JSONExtractString({_DATA}, 'category') AS Category, count() AS Events,
    countIf(JSONExtractBool({_DATA}, 'correction_applied')) AS Corrections,
    argMax(JSONExtractString({_DATA}, 'description'), Timestamp) AS LastDescription
FROM {EVENTS_TABLE} WHERE {{where}} AND EventType = '{EVENT.CUSTOM}' AND Kind = 'learning'
GROUP BY AgentId, Category ORDER BY Events DESC, AgentId, Category"""

PLAIN_RETRY_SQL = f"""
SELECT AgentId, FailureType, grouping(FailureType) = 1 AS AllTypes,
    countIf(Row = 'retry') AS Retries, countIf(Row = 'failure') AS Failures,
    uniqExactIf(TaskId, Row = 'retry') AS RetriedTasks, uniqExactIf(TaskId, Row = 'task') AS Tasks
FROM (
    SELECT retry.AgentId AS AgentId, retry.TaskId AS TaskId, 'retry' AS Row, failure.ErrorType AS FailureType
    FROM (
        SELECT AgentId, TaskId, Timestamp FROM {EVENTS_TABLE}
        WHERE {{where}} AND EventType = '{EVENT.RETRY_STARTED}'
    ) AS retry
    ASOF LEFT JOIN (
        SELECT AgentId, TaskId, Timestamp, ErrorType FROM {EVENTS_TABLE}
        WHERE {{where}} AND EventType = '{ACTION_FAILED}'
    ) AS failure
    ON retry.AgentId = failure.AgentId AND retry.TaskId = failure.TaskId
        AND retry.Timestamp >= failure.Timestamp
    UNION ALL
    SELECT AgentId, TaskId, 'failure' AS Row, ErrorType AS FailureType FROM {EVENTS_TABLE}
    WHERE {{where}} AND EventType = '{ACTION_FAILED}'
    UNION ALL
    SELECT AgentId, TaskId, 'task' AS Row, '' AS FailureType FROM {EVENTS_TABLE}
    WHERE {{where}} AND EventType IN ('{TASK_COMPLETED}', '{TASK_FAILED}')
)
GROUP BY GROUPING SETS ((AgentId), (AgentId, FailureType))
HAVING Retries > 0 OR Failures > 0
ORDER BY AgentId, AllTypes DESC, Retries DESC, Failures DESC, FailureType"""

ERRORS = (TimeoutError, ValueError, KeyError, ConnectionError)
DETECTORS = ("cycle", "cost_spike", "drift")
CATEGORIES = ("tool_selection", "prompting", "planning")


@pytest.fixture
def fleet(telemetry: Telemetry, tenant: Tenant) -> Tenant:
    """Seeded random agents and tasks: failed actions of several types, retries after some of them
    (and some before any failure), and custom events of the three kinds with random data."""
    rng = random.Random(17)
    with telemetry.hiveloop(tenant) as run:
        agents = [run.hb.agent(f"agent-{n}", heartbeat_interval=0) for n in range(4)]
        for number in range(40):
            agent = rng.choice(agents)
            try:
                with agent.task(f"task-{number}") as task:
                    if rng.random() < 0.2:
                        task.retry("warming up", attempt=1)
                    for attempt in range(rng.randint(0, 4)):
                        error = rng.choice(ERRORS)
                        try:
                            with agent.track_context("call_tool"):
                                raise error("tool failed")
                        except error:
                            if rng.random() < 0.7:
                                task.retry(error.__name__, attempt=attempt + 1)
                    for _ in range(rng.randint(0, 3)):
                        task.event("custom", payload=_custom_payload(rng))
                    if rng.random() < 0.2:
                        raise RuntimeError("gave up")
            except RuntimeError:
                pass
    return tenant


def _custom_payload(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("context_compaction", "anomaly", "learning"))
    if kind == "context_compaction":
        data: dict[str, Any] = {
            "tokens_before": rng.randint(1000, 9000),
            "tokens_after": rng.randint(100, 900),
        }
        return {"kind": kind, "data": data}
    if kind == "anomaly":
        data = {"detector": rng.choice(DETECTORS), "message": f"m{rng.randint(0, 99)}"}
        return {"kind": kind, "summary": rng.choice(("", f"s{rng.randint(0, 99)}")), "data": data}
    data = {"category": rng.choice(CATEGORIES), "description": f"d{rng.randint(0, 99)}"}
    data["correction_applied"] = rng.random() < 0.5
    return {"kind": kind, "data": data}


def plain(storage: Storage, tenant: Tenant, sql: str) -> list[dict[str, Any]]:
    where, parameters = InsightFilters().sql()
    window = Window.last(TimeRange("24h")).parameters()
    return storage.query(
        sql.format(where=where), DataScope(tenant.id, "live").parameters(**window, **parameters)
    ).dicts()


def test_the_custom_events_read_together_equal_one_query_per_kind(
    client: TestClient, storage: Storage, fleet: Tenant
) -> None:
    insights = client.get("/v1/insights", params={"range": "24h"}, headers=fleet.headers()).json()
    compaction = plain(storage, fleet, PLAIN_COMPACTION_SQL)
    assert len(compaction) > 1
    assert [
        (c["agent_id"], c["event_count"], c["task_count"], c["tokens_before"], c["tokens_after"])
        for c in insights["compaction"]
    ] == [(r["AgentId"], r["Events"], r["Tasks"], r["TokensBefore"], r["TokensAfter"]) for r in compaction]
    anomalies = plain(storage, fleet, PLAIN_ANOMALY_SQL)
    assert len(anomalies) > 1
    assert [
        (
            a["agent_id"],
            a["detector"],
            a["event_count"],
            a["task_count"],
            a["last_summary"],
            a["last_task_id"],
        )
        for a in insights["anomalies"]
    ] == [
        (r["AgentId"], r["Detector"], r["Events"], r["Tasks"], r["LastSummary"], r["LastTask"])
        for r in anomalies
    ]
    learning = plain(storage, fleet, PLAIN_LEARNING_SQL)
    assert len(learning) > 1
    assert [
        (e["agent_id"], e["category"], e["event_count"], e["corrections_applied"], e["last_description"])
        for e in insights["learning"]
    ] == [
        (r["AgentId"], r["Category"], r["Events"], r["Corrections"], r["LastDescription"]) for r in learning
    ]


def test_retries_carried_forward_equal_the_asof_join(
    client: TestClient, storage: Storage, fleet: Tenant
) -> None:
    retries = client.get("/v1/insights", params={"range": "24h"}, headers=fleet.headers()).json()["retries"]
    rows = plain(storage, fleet, PLAIN_RETRY_SQL)
    # Retries after failures of several types, and retries with no failure before them.
    assert len({row["FailureType"] for row in rows if not row["AllTypes"] and row["Retries"]}) >= 4
    assert any(row["FailureType"] == "" and row["Retries"] for row in rows if not row["AllTypes"])
    assert [
        (r["agent_id"], r["failure_type"], r["retries"], r["failures"], r["retried_tasks"], r["tasks"])
        for r in retries
    ] == [
        (
            row["AgentId"],
            None if row["AllTypes"] else row["FailureType"],
            row["Retries"],
            row["Failures"],
            row["RetriedTasks"],
            row["Tasks"] if row["AllTypes"] else None,
        )
        for row in rows
    ]


@pytest.mark.parametrize("section", ["_CUSTOM_SQL", "_RETRY_SQL", "_ERROR_TYPES_SQL"])
def test_the_insight_events_give_each_section_what_every_event_gives(
    storage: Storage, fleet: Tenant, section: str
) -> None:
    sql = getattr(insights, section)
    assert f"FROM {INSIGHT_EVENTS_TABLE}" in sql
    rows = plain(storage, fleet, sql)
    assert rows
    assert sorted(map(repr, rows)) == sorted(
        map(repr, plain(storage, fleet, sql.replace(INSIGHT_EVENTS_TABLE, EVENTS_TABLE)))
    )
