"""The Hive: each agent's identity, liveness, derived status, last-hour stats, first and last
span, SDK version and runtime.

Status derives from the agent's open work, not from its last event, in this order:
offline (its latest `agent_shutdown` is newer than its latest registration or heartbeat: it stopped
cleanly), stuck (heartbeats enabled and none within the agent's own stuck threshold), waiting_approval (an
approval request unanswered), processing (a task open, even while heartbeats keep arriving), error
(the most recently ended task failed), idle.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.agents import AgentRuntime, AgentStats, AgentStatus, AgentSummary
from hiveboard.api.params import SECOND_NS, from_ns, ns_to_ms
from hiveboard.api.queries.money import COST_SUM_SQL, usd
from hiveboard.api.queries.pipeline import active_issue_counts, pending_approval_counts, queue_depths
from hiveboard.api.queries.tables import (
    AGENT_ACTIVITY_TABLE,
    AGENT_TASKS_TABLE,
    AGENTS_TABLE,
    COMPLETED,
    FAILED,
    LLM_COSTS_VIEW,
)
from hiveboard.api.queries.tasks import current_tasks_sql
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage

STATS_WINDOW_SECONDS = 3600

AgentSort = Literal["agent_id", "attention"]
# The order of The Hive's cards when sorted by attention: what needs a human first, then by agent id.
# `offline` (an agent shut down cleanly) needs none.
ATTENTION_ORDER = ("stuck", "error", "waiting_approval", "processing", "idle", "offline")


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


def _task_states_sql(agent_id: str | None) -> str:
    """Per agent, its open tasks (count, and the latest started) and the tasks it ended since
    `since_ns` (counts by status, average duration, the status of the last): what is current
    (`tasks.current_tasks_sql`), not history."""
    columns = ("AgentId", "TaskId", "StartTime", "Status", "DurationNs", "EndTime")
    return f"""
SELECT AgentId,
    countIf(Open) AS OpenTasks,
    argMaxIf(TaskId, StartTime, Open) AS CurrentTaskId,
    countIf(NOT Open AND Status = '{COMPLETED}') AS Completed,
    countIf(NOT Open AND Status = '{FAILED}') AS Failed,
    countIf(NOT Open) AS Ended,
    avgIf(DurationNs, NOT Open) AS AvgDurationNs,
    argMaxIf(Status, EndTime, NOT Open) AS LastEndedStatus
FROM ({current_tasks_sql(_agent_condition(agent_id), columns)})
GROUP BY AgentId"""


def _last_task_sql(agent_id: str | None) -> str:
    """Per agent, the status of the task it ended last (`hb_agent_tasks`). An agent that ended a task
    since `since_ns` takes it from `_task_states_sql` instead: `hb_agent_tasks` is written just after
    `hb_tasks` (by a view on it), and a read in between would see the task neither open nor ended."""
    where = f" AND {_agent_condition(agent_id)}" if agent_id is not None else ""
    return f"""
SELECT AgentId, argMaxMerge(LastTaskStatus) AS LastTaskStatus
FROM {AGENT_TASKS_TABLE}
WHERE {SCOPE_SQL}{where}
GROUP BY AgentId"""


def _activity_sql(agent_id: str | None) -> str:
    """First and last span, SDK version and runtime per agent; the table holds partial rows until
    merges combine them, so they are combined here too."""
    where = f" AND {_agent_condition(agent_id)}" if agent_id is not None else ""
    return f"""
SELECT AgentId,
    toUnixTimestamp64Nano(min(FirstSeen)) AS FirstSeenNs,
    toUnixTimestamp64Nano(max(LastSeen)) AS LastSeenNs,
    argMaxMerge(SdkVersion) AS SdkVersion,
    argMaxMerge(Runtime) AS Runtime,
    toUnixTimestamp64Nano(max(LastShutdown)) AS LastShutdownNs
FROM {AGENT_ACTIVITY_TABLE}
WHERE {SCOPE_SQL}{where}
GROUP BY AgentId"""


def _costs_sql(agent_id: str | None) -> str:
    where = f" AND {_agent_condition(agent_id)}" if agent_id is not None else ""
    return f"""
SELECT AgentId, count() AS Calls, {COST_SUM_SQL} AS TotalCost, countIf(Cost IS NULL) AS Unpriced
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
    shut_down: bool


def is_stuck(facts: AgentFacts) -> bool:
    """No heartbeat within the agent's own threshold; an agent with heartbeats disabled gives no
    liveness signal to judge by, and one that shut down cleanly stopped them on purpose, so neither
    is ever stuck."""
    return (
        not facts.shut_down
        and facts.heartbeat_interval_seconds > 0
        and facts.stuck_threshold_seconds > 0
        and facts.heartbeat_age_seconds > facts.stuck_threshold_seconds
    )


def derive_status(facts: AgentFacts) -> AgentStatus:
    if facts.shut_down:
        return "offline"
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
    # Independent of each other: asked together, they take about as long as the slowest.
    agents, tasks, last_tasks, activity, approvals, costs, depths, issues = run_together(
        *_status_reads(storage, scope, agent_id, parameters),
        _by_agent(storage, _costs_sql(agent_id), parameters),
        lambda: queue_depths(storage, scope, agent_id),
        lambda: active_issue_counts(storage, scope, agent_id),
    )
    return [
        (
            _summary(
                row,
                _task_facts(tasks.get(row["AgentId"], {}), last_tasks.get(row["AgentId"], {})),
                activity.get(row["AgentId"], {}),
                costs.get(row["AgentId"], {}),
                depths.get(row["AgentId"]),
                issues.get(row["AgentId"], 0),
                approvals.get(row["AgentId"], 0),
                now_ns,
            ),
            row["LatestPayload"],
        )
        for row in agents
    ]


def agent_statuses(storage: Storage, scope: DataScope, now_ns: int | None = None) -> dict[str, AgentStatus]:
    """Each agent's derived status, as `list_agents` derives it, read without what the status does
    not depend on (costs, queues, issues, last-hour stats): five of The Hive's eight queries. The
    live stream polls this twice a second while anyone follows the agents, and reads the full cards
    only when a status changed."""
    now_ns = now_ns if now_ns is not None else time.time_ns()
    parameters = scope.parameters(agent_id=None, since_ns=now_ns - STATS_WINDOW_SECONDS * SECOND_NS)
    reads = _status_reads(storage, scope, None, parameters)
    agents, tasks, last_tasks, activity, approvals = run_together(*reads)
    return {
        row["AgentId"]: derive_status(
            _facts(
                row,
                _task_facts(tasks.get(row["AgentId"], {}), last_tasks.get(row["AgentId"], {})),
                activity.get(row["AgentId"], {}),
                approvals.get(row["AgentId"], 0),
                now_ns,
            )
        )
        for row in agents
    }


def _status_reads(
    storage: Storage, scope: DataScope, agent_id: str | None, parameters: dict[str, Any]
) -> list[Callable[[], Any]]:
    """The reads an agent's derived status depends on, to run together (one pool, never nested):
    the rows of `_agents_sql` (a list), of `_task_states_sql`, `_last_task_sql` and `_activity_sql`
    by agent, and the pending approval counts by agent."""
    return [
        lambda: storage.query(_agents_sql(agent_id), parameters).dicts(),
        _by_agent(storage, _task_states_sql(agent_id), parameters),
        _by_agent(storage, _last_task_sql(agent_id), parameters),
        _by_agent(storage, _activity_sql(agent_id), parameters),
        lambda: pending_approval_counts(storage, scope, agent_id),
    ]


def _by_agent(
    storage: Storage, sql: str, parameters: dict[str, Any]
) -> Callable[[], dict[str, dict[str, Any]]]:
    """A call that reads `sql` into its rows by agent id."""
    return lambda: {row["AgentId"]: row for row in storage.query(sql, parameters).dicts()}


def list_agents(
    storage: Storage, scope: DataScope, now_ns: int | None = None, sort: AgentSort = "agent_id"
) -> list[AgentSummary]:
    """Every agent, by agent id or by attention (`ATTENTION_ORDER`, then agent id)."""
    agents = [summary for summary, _ in agent_rows(storage, scope, now_ns=now_ns)]
    if sort == "attention":
        agents.sort(key=lambda agent: (_attention_rank(agent.derived_status), agent.agent_id))
    return agents


def _attention_rank(status: str) -> int:
    """Where `status` comes in `ATTENTION_ORDER`; a status it does not list comes last."""
    return ATTENTION_ORDER.index(status) if status in ATTENTION_ORDER else len(ATTENTION_ORDER)


def _task_facts(states: dict[str, Any], last_task: dict[str, Any]) -> dict[str, Any]:
    """An agent's row of `_task_states_sql` with `LastTaskStatus`: of its last task ended in the
    window when there is one, else of `_last_task_sql` (see there)."""
    return {**states, "LastTaskStatus": states.get("LastEndedStatus") or last_task.get("LastTaskStatus")}


def stuck_agent_ids(
    storage: Storage,
    scope: DataScope,
    now_ns: int | None = None,
    agent_id: str | None = None,
    environment: str | None = None,
) -> list[str]:
    """The agents The Hive shows as stuck (of `agent_id` only, for a view of its tasks; of
    `environment` only, as its card says it). Being stuck depends on heartbeats alone, so this reads
    `hb_agents` only, not the open work the rest of the status derives from."""
    now_ns = now_ns if now_ns is not None else time.time_ns()
    parameters = scope.parameters(agent_id=agent_id)
    rows = storage.query(_agents_sql(agent_id), parameters).dicts()
    activity = {row["AgentId"]: row for row in storage.query(_activity_sql(agent_id), parameters).dicts()}
    return [
        row["AgentId"]
        for row in rows
        if environment in (None, row["Environment"])
        and is_stuck(_facts(row, {}, activity.get(row["AgentId"], {}), 0, now_ns))
    ]


def heartbeat_payload(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _facts(
    agent: dict[str, Any], tasks: dict[str, Any], activity: dict[str, Any], approval_count: int, now_ns: int
) -> AgentFacts:
    """The facts of an agent's rows of `_agents_sql`, `_task_states_sql` and `_activity_sql` ({} when
    it has none)."""
    return AgentFacts(
        # In milliseconds, as shown: an agent is stuck by the age it is shown with.
        heartbeat_age_seconds=max(0.0, round((now_ns - agent["LastHeartbeatNs"]) / SECOND_NS, 3)),
        heartbeat_interval_seconds=float(agent["HeartbeatInterval"]),
        stuck_threshold_seconds=int(agent["StuckThreshold"]),
        pending_approvals=approval_count,
        open_tasks=int(tasks.get("OpenTasks") or 0),
        last_task_status=tasks.get("LastTaskStatus") or None,
        shut_down=(activity.get("LastShutdownNs") or 0) > agent["LastHeartbeatNs"],
    )


def _runtime(activity: dict[str, Any]) -> AgentRuntime | None:
    name, version, description = activity.get("Runtime") or ("", "", "")
    return AgentRuntime(name=name, version=version, description=description) if name or version else None


def _summary(
    agent: dict[str, Any],
    tasks: dict[str, Any],
    activity: dict[str, Any],
    costs: dict[str, Any],
    queue_depth: int | None,
    issue_count: int,
    approval_count: int,
    now_ns: int,
) -> AgentSummary:
    """The card of an agent from its rows of `_agents_sql`, `_task_states_sql`, `_activity_sql` and
    `_costs_sql` ({} when the agent has none)."""
    facts = _facts(agent, tasks, activity, approval_count, now_ns)
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
        first_seen=from_ns(activity.get("FirstSeenNs")),
        # The heartbeat counts too for an agent silent since before hb_agent_activity existed.
        last_seen=from_ns(max(activity.get("LastSeenNs") or 0, agent["LastHeartbeatNs"])),
        sdk_version=activity.get("SdkVersion") or None,
        runtime=_runtime(activity),
        stats_1h=AgentStats(
            tasks_completed=completed,
            tasks_failed=failed,
            success_rate=round(completed / ended, 4) if ended else None,
            avg_duration_ms=ns_to_ms(round(avg_duration)) if ended and avg_duration is not None else None,
            total_cost=usd(costs.get("TotalCost"), calls),
            unpriced_calls=int(costs.get("Unpriced") or 0),
            llm_calls=calls,
            throughput=ended,
            queue_depth=queue_depth,
            active_issues=issue_count,
        ),
    )
