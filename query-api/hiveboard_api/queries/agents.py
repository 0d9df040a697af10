"""The Hive: each agent's identity, liveness, derived status and last-hour stats.

Status derives from the agent's open work, not from its last event, in this order:
stuck (heartbeats enabled and none within the agent's own stuck threshold), waiting_approval (an
approval request unanswered), processing (a task open, even while heartbeats keep arriving), error
(the most recently ended task failed), idle.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.agents import AgentStats, AgentStatus, AgentSummary
from hiveboard.api.params import SECOND_NS, from_ns, ns_to_ms
from hiveboard.api.queries.pipeline import active_issues, pending_approvals, queue_depths
from hiveboard.api.queries.tables import AGENTS_TABLE, COMPLETED, FAILED, LLM_COSTS_VIEW, PROCESSING
from hiveboard.api.queries.tasks import latest_tasks_sql
from hiveboard.storage import Storage

STATS_WINDOW_SECONDS = 3600


def _agent_condition(agent_id: str | None) -> str:
    return "AgentId = {agent_id:String}" if agent_id is not None else ""


def _agents_sql(agent_id: str | None) -> str:
    where = f" AND {_agent_condition(agent_id)}" if agent_id is not None else ""
    return f"""
SELECT AgentId,
    argMax(AgentType, LastHeartbeat) AS AgentType,
    argMax(Version, LastHeartbeat) AS Version,
    argMax(Framework, LastHeartbeat) AS Framework,
    argMax(Environment, LastHeartbeat) AS Environment,
    argMax(HeartbeatInterval, LastHeartbeat) AS HeartbeatInterval,
    argMax(StuckThreshold, LastHeartbeat) AS StuckThreshold,
    toUnixTimestamp64Nano(max(LastHeartbeat)) AS LastHeartbeatNs,
    argMaxIf(HeartbeatPayload, LastHeartbeat, HeartbeatPayload != '') AS LatestPayload
FROM {AGENTS_TABLE}
WHERE {SCOPE_SQL}{where}
GROUP BY AgentId
ORDER BY AgentId"""


_TASK_COLUMNS = ("AgentId", "TaskId", "Status", "StartTime", "EndTime", "DurationNs")


def _task_states_sql(agent_id: str | None) -> str:
    since = "fromUnixTimestamp64Nano({since_ns:Int64})"
    return f"""
SELECT AgentId,
    countIf(Status = '{PROCESSING}') AS OpenTasks,
    argMaxIf(TaskId, StartTime, Status = '{PROCESSING}') AS CurrentTaskId,
    argMaxIf(Status, EndTime, Status != '{PROCESSING}') AS LastTaskStatus,
    countIf(Status = '{COMPLETED}' AND EndTime >= {since}) AS Completed,
    countIf(Status = '{FAILED}' AND EndTime >= {since}) AS Failed,
    countIf(Status != '{PROCESSING}' AND EndTime >= {since}) AS Ended,
    avgIf(DurationNs, Status != '{PROCESSING}' AND EndTime >= {since}) AS AvgDurationNs
FROM ({latest_tasks_sql(_agent_condition(agent_id), _TASK_COLUMNS)})
GROUP BY AgentId"""


def _costs_sql(agent_id: str | None) -> str:
    where = f" AND {_agent_condition(agent_id)}" if agent_id is not None else ""
    return f"""
SELECT AgentId, count() AS Calls, sum(Cost) AS TotalCost
FROM {LLM_COSTS_VIEW}
WHERE {SCOPE_SQL} AND Timestamp >= fromUnixTimestamp64Nano({{since_ns:Int64}}){where}
GROUP BY AgentId"""


@dataclass(frozen=True)
class AgentFacts:
    """What status derivation looks at."""

    heartbeat_age_seconds: float
    heartbeat_interval_seconds: float
    stuck_threshold_seconds: int
    pending_approvals: int
    open_tasks: int
    last_task_status: str | None


def is_stuck(facts: AgentFacts) -> bool:
    """No heartbeat within the agent's own threshold; an agent with heartbeats disabled gives no
    liveness signal to judge by, so it is never stuck."""
    return (
        facts.heartbeat_interval_seconds > 0
        and facts.stuck_threshold_seconds > 0
        and facts.heartbeat_age_seconds > facts.stuck_threshold_seconds
    )


def derive_status(facts: AgentFacts) -> AgentStatus:
    if is_stuck(facts):
        return "stuck"
    if facts.pending_approvals > 0:
        return "waiting_approval"
    if facts.open_tasks > 0:
        return "processing"
    if facts.last_task_status == FAILED:
        return "error"
    return "idle"


def agent_rows(
    storage: Storage, scope: DataScope, agent_id: str | None = None, now_ns: int | None = None
) -> list[tuple[AgentSummary, str]]:
    """Each agent's summary with its raw heartbeat payload (JSON text, '' when none)."""
    now_ns = now_ns if now_ns is not None else time.time_ns()
    parameters = scope.parameters(agent_id=agent_id, since_ns=now_ns - STATS_WINDOW_SECONDS * SECOND_NS)
    agents = storage.query(_agents_sql(agent_id), parameters).dicts()
    if not agents:
        return []
    tasks = {row["AgentId"]: row for row in storage.query(_task_states_sql(agent_id), parameters).dicts()}
    costs = {row["AgentId"]: row for row in storage.query(_costs_sql(agent_id), parameters).dicts()}
    depths = queue_depths(storage, scope, agent_id)
    issues = active_issues(storage, scope, agent_id)
    approvals = pending_approvals(storage, scope, agent_id, with_approvers=False)
    return [
        (
            _summary(
                row,
                tasks.get(row["AgentId"], {}),
                costs.get(row["AgentId"], {}),
                depths.get(row["AgentId"]),
                len(issues.get(row["AgentId"], [])),
                len(approvals.get(row["AgentId"], [])),
                now_ns,
            ),
            row["LatestPayload"],
        )
        for row in agents
    ]


def list_agents(storage: Storage, scope: DataScope, now_ns: int | None = None) -> list[AgentSummary]:
    return [summary for summary, _ in agent_rows(storage, scope, now_ns=now_ns)]


def heartbeat_payload(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _summary(
    agent: dict[str, Any],
    tasks: dict[str, Any],
    costs: dict[str, Any],
    queue_depth: int | None,
    issue_count: int,
    approval_count: int,
    now_ns: int,
) -> AgentSummary:
    facts = AgentFacts(
        # In milliseconds, as shown: an agent is stuck by the age it is shown with.
        heartbeat_age_seconds=max(0.0, round((now_ns - agent["LastHeartbeatNs"]) / SECOND_NS, 3)),
        heartbeat_interval_seconds=float(agent["HeartbeatInterval"]),
        stuck_threshold_seconds=int(agent["StuckThreshold"]),
        pending_approvals=approval_count,
        open_tasks=int(tasks.get("OpenTasks") or 0),
        last_task_status=tasks.get("LastTaskStatus") or None,
    )
    completed = int(tasks.get("Completed") or 0)
    failed = int(tasks.get("Failed") or 0)
    ended = int(tasks.get("Ended") or 0)
    calls = int(costs.get("Calls") or 0)
    avg_duration = tasks.get("AvgDurationNs")
    return AgentSummary(
        agent_id=agent["AgentId"],
        agent_type=agent["AgentType"],
        version=agent["Version"],
        framework=agent["Framework"],
        environment=agent["Environment"],
        derived_status=derive_status(facts),
        last_heartbeat=from_ns(agent["LastHeartbeatNs"]),
        heartbeat_age_seconds=facts.heartbeat_age_seconds,
        heartbeat_interval_seconds=facts.heartbeat_interval_seconds,
        stuck_threshold_seconds=facts.stuck_threshold_seconds,
        is_stuck=is_stuck(facts),
        current_task_id=tasks.get("CurrentTaskId") or None,
        open_tasks=facts.open_tasks,
        pending_approvals=approval_count,
        last_task_status=facts.last_task_status,
        stats_1h=AgentStats(
            tasks_completed=completed,
            tasks_failed=failed,
            success_rate=round(completed / ended, 4) if ended else None,
            avg_duration_ms=ns_to_ms(round(avg_duration)) if ended and avg_duration is not None else None,
            total_cost=costs.get("TotalCost") if calls else 0.0,
            llm_calls=calls,
            throughput=ended,
            queue_depth=queue_depth,
            active_issues=issue_count,
        ),
    )
