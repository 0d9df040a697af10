"""The Pipeline tab: active issues, latest queue snapshot, open TODOs, scheduled work and pending
approvals of each agent, all from `hb_events`.

Queries that need an event's JSON payload (queue items, scheduled items) first find the latest event
per agent on typed columns, then read `Attributes` of those rows only: `(AgentId, Timestamp)` is a
prefix of the table's key after the scope, so the lookup reads a few granules.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from hiveboard_api.auth import SCOPE_SQL, DataScope
from hiveboard_api.models.pipeline import (
    AgentPipeline,
    FleetPipeline,
    Issue,
    PendingApproval,
    PipelineTotals,
    QueueSnapshot,
    ScheduledWork,
    Todo,
)
from hiveboard_api.queries.tables import EVENT, EVENTS_TABLE
from hiveboard_collector.storage import Storage
from hiveboard_semconv.attributes import (
    HIVEBOARD_APPROVAL_APPROVER,
    HIVEBOARD_QUEUE_ITEMS,
    HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS,
    HIVEBOARD_QUEUE_PROCESSING,
    HIVEBOARD_QUEUE_SOURCE,
    HIVEBOARD_SCHEDULED_ITEMS,
    HIVEBOARD_TODO_DUE_BY,
    HIVEBOARD_TODO_PRIORITY,
    HIVEBOARD_TODO_SOURCE,
    HiveboardIssueActionValues,
)

RESOLVED = HiveboardIssueActionValues.RESOLVED
# TODO actions after which a TODO leaves the list.
CLOSED_TODO_ACTIONS = ("completed", "dismissed")


def _agent_condition(agent_id: str | None) -> str:
    return " AND AgentId = {agent_id:String}" if agent_id is not None else ""


def active_issues(storage: Storage, scope: DataScope, agent_id: str | None = None) -> dict[str, list[Issue]]:
    """Per agent, its issues whose latest report is not a resolution, most severe first."""
    sql = f"""
SELECT AgentId, IssueId,
    argMax(IssueAction, Timestamp) AS LastAction,
    argMaxIf(Summary, Timestamp, IssueAction != '{RESOLVED}') AS Summary,
    argMaxIf(IssueSeverity, Timestamp, IssueAction != '{RESOLVED}') AS IssueSeverity,
    argMaxIf(IssueCategory, Timestamp, IssueAction != '{RESOLVED}') AS IssueCategory,
    argMaxIf(OccurrenceCount, Timestamp, IssueAction != '{RESOLVED}') AS ReportedCount,
    countIf(IssueAction != '{RESOLVED}') AS Reports,
    minIf(Timestamp, IssueAction != '{RESOLVED}') AS FirstSeen,
    maxIf(Timestamp, IssueAction != '{RESOLVED}') AS LastSeen
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType = '{EVENT.ISSUE}'{_agent_condition(agent_id)}
GROUP BY AgentId, IssueId
HAVING LastAction != '{RESOLVED}'
ORDER BY AgentId, indexOf(['critical', 'high', 'medium', 'low'], IssueSeverity) = 0,
    indexOf(['critical', 'high', 'medium', 'low'], IssueSeverity), LastSeen DESC"""
    issues: dict[str, list[Issue]] = defaultdict(list)
    for row in storage.query(sql, scope.parameters(agent_id=agent_id)).dicts():
        issues[row["AgentId"]].append(
            Issue(
                issue_id=row["IssueId"],
                summary=row["Summary"],
                severity=row["IssueSeverity"],
                category=row["IssueCategory"],
                occurrence_count=row["ReportedCount"] if row["ReportedCount"] is not None else row["Reports"],
                first_seen=row["FirstSeen"],
                last_seen=row["LastSeen"],
            )
        )
    return issues


def _latest_per_agent_sql(event_type: str, columns: str, agent_id: str | None) -> str:
    """The latest `event_type` event of each agent, `columns` of it."""
    condition = f"{SCOPE_SQL} AND EventType = '{event_type}'{_agent_condition(agent_id)}"
    return f"""
SELECT AgentId, Timestamp, {columns}
FROM {EVENTS_TABLE}
WHERE {condition}
    AND (AgentId, Timestamp) IN (
        SELECT AgentId, max(Timestamp) FROM {EVENTS_TABLE} WHERE {condition} GROUP BY AgentId)
ORDER BY AgentId, SpanId
LIMIT 1 BY AgentId"""


def queue_depths(storage: Storage, scope: DataScope, agent_id: str | None = None) -> dict[str, int]:
    """Per agent, the depth of its latest queue snapshot."""
    sql = f"""
SELECT AgentId, argMax(QueueDepth, Timestamp) AS Depth
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType = '{EVENT.QUEUE_SNAPSHOT}'{_agent_condition(agent_id)}
GROUP BY AgentId"""
    rows = storage.query(sql, scope.parameters(agent_id=agent_id)).rows
    return {agent: int(depth or 0) for agent, depth in rows}


def latest_queues(
    storage: Storage, scope: DataScope, agent_id: str | None = None
) -> dict[str, QueueSnapshot]:
    """Per agent, its latest queue snapshot with its items."""
    columns = (
        f"QueueDepth, Attributes['{HIVEBOARD_QUEUE_ITEMS}'] AS Items, "
        f"Attributes['{HIVEBOARD_QUEUE_PROCESSING}'] AS Processing, "
        f"toFloat64OrNull(Attributes['{HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS}']) AS OldestAge, "
        f"Attributes['{HIVEBOARD_QUEUE_SOURCE}'] AS Source"
    )
    sql = _latest_per_agent_sql(EVENT.QUEUE_SNAPSHOT, columns, agent_id)
    return {
        row["AgentId"]: QueueSnapshot(
            depth=int(row["QueueDepth"] or 0),
            oldest_age_seconds=row["OldestAge"],
            items=_json_objects(row["Items"]),
            processing=_json_object(row["Processing"]),
            source=row["Source"],
            reported_at=row["Timestamp"],
        )
        for row in storage.query(sql, scope.parameters(agent_id=agent_id)).dicts()
    }


def latest_scheduled(
    storage: Storage, scope: DataScope, agent_id: str | None = None
) -> dict[str, ScheduledWork]:
    """Per agent, its latest report of scheduled work."""
    sql = _latest_per_agent_sql(
        EVENT.SCHEDULED, f"Attributes['{HIVEBOARD_SCHEDULED_ITEMS}'] AS Items", agent_id
    )
    return {
        row["AgentId"]: ScheduledWork(items=_json_objects(row["Items"]), reported_at=row["Timestamp"])
        for row in storage.query(sql, scope.parameters(agent_id=agent_id)).dicts()
    }


def open_todos(storage: Storage, scope: DataScope, agent_id: str | None = None) -> dict[str, list[Todo]]:
    """Per agent, TODOs whose latest action is not completed or dismissed, oldest first."""

    def latest_attribute(key: str) -> str:
        return f"argMaxIf(Attributes['{key}'], Timestamp, Attributes['{key}'] != '')"

    sql = f"""
SELECT AgentId, TodoId,
    argMax(TodoAction, Timestamp) AS Status,
    argMaxIf(Summary, Timestamp, TodoAction = 'created') AS CreatedSummary,
    argMax(Summary, Timestamp) AS LatestSummary,
    {latest_attribute(HIVEBOARD_TODO_PRIORITY)} AS Priority,
    {latest_attribute(HIVEBOARD_TODO_SOURCE)} AS Source,
    {latest_attribute(HIVEBOARD_TODO_DUE_BY)} AS DueBy,
    min(Timestamp) AS CreatedAt,
    max(Timestamp) AS UpdatedAt
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType = '{EVENT.TODO}'{_agent_condition(agent_id)}
GROUP BY AgentId, TodoId
HAVING Status NOT IN {{closed:Array(String)}}
ORDER BY AgentId, CreatedAt"""
    todos: dict[str, list[Todo]] = defaultdict(list)
    parameters = scope.parameters(agent_id=agent_id, closed=list(CLOSED_TODO_ACTIONS))
    for row in storage.query(sql, parameters).dicts():
        todos[row["AgentId"]].append(
            Todo(
                todo_id=row["TodoId"],
                summary=row["CreatedSummary"] or row["LatestSummary"],
                status=row["Status"],
                priority=row["Priority"],
                source=row["Source"],
                due_by=row["DueBy"],
                created_at=row["CreatedAt"],
                updated_at=row["UpdatedAt"],
            )
        )
    return todos


def pending_approvals(
    storage: Storage, scope: DataScope, agent_id: str | None = None
) -> dict[str, list[PendingApproval]]:
    """Per agent, approval requests no `approval_received` answered yet.

    An answer settles the oldest open request of its own task; an answer given outside the task
    (the integration guide's `agent.event("approval_received", ...)` from another handler) settles
    the agent's oldest open request.
    """
    sql = f"""
SELECT AgentId, TaskId, EventType, Timestamp, Summary, Attributes['{HIVEBOARD_APPROVAL_APPROVER}'] AS Approver
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType IN ('{EVENT.APPROVAL_REQUESTED}', '{EVENT.APPROVAL_RECEIVED}')
    {_agent_condition(agent_id)}
ORDER BY AgentId, Timestamp, EventType DESC"""
    open_requests: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in storage.query(sql, scope.parameters(agent_id=agent_id)).dicts():
        requests = open_requests[row["AgentId"]]
        if row["EventType"] == EVENT.APPROVAL_REQUESTED:
            requests.append(row)
            continue
        same_task = [request for request in requests if row["TaskId"] and request["TaskId"] == row["TaskId"]]
        answered = same_task[0] if same_task else (requests[0] if requests else None)
        if answered is not None:
            requests.remove(answered)
    return {
        agent: [
            PendingApproval(
                task_id=request["TaskId"],
                summary=request["Summary"],
                approver=request["Approver"],
                requested_at=request["Timestamp"],
            )
            for request in requests
        ]
        for agent, requests in open_requests.items()
        if requests
    }


def agent_pipeline(storage: Storage, scope: DataScope, agent_id: str) -> AgentPipeline:
    """The pipeline of one agent (empty sections when it has nothing queued or open)."""
    return fleet_pipeline(storage, scope, agent_id).agents[0]


def fleet_pipeline(storage: Storage, scope: DataScope, agent_id: str | None = None) -> FleetPipeline:
    """The pipeline of every agent with something in it (or of `agent_id`, even if empty)."""
    queues = latest_queues(storage, scope, agent_id)
    issues = active_issues(storage, scope, agent_id)
    todos = open_todos(storage, scope, agent_id)
    scheduled = latest_scheduled(storage, scope, agent_id)
    approvals = pending_approvals(storage, scope, agent_id)
    agents = sorted({*queues, *issues, *todos, *scheduled, *approvals} | ({agent_id} if agent_id else set()))
    pipelines = [
        AgentPipeline(
            agent_id=agent,
            queue=queues.get(agent),
            issues=issues.get(agent, []),
            todos=todos.get(agent, []),
            scheduled=scheduled.get(agent),
            pending_approvals=approvals.get(agent, []),
        )
        for agent in agents
    ]
    totals = PipelineTotals(
        queue_depth=sum(p.queue.depth for p in pipelines if p.queue is not None),
        active_issues=sum(len(p.issues) for p in pipelines),
        open_todos=sum(len(p.todos) for p in pipelines),
        pending_approvals=sum(len(p.pending_approvals) for p in pipelines),
    )
    return FleetPipeline(totals=totals, agents=pipelines)


def _json_object(text: str) -> dict[str, Any] | None:
    """A JSON object attribute; None when absent or not an object (payloads are truncated at 32 KiB)."""
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _json_objects(text: str) -> list[dict[str, Any]]:
    """A JSON array-of-objects attribute; [] when absent or unreadable."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
