"""The Pipeline tab: active issues, latest queue snapshot, open TODOs, scheduled work and pending
approvals of each agent.

Issues, TODOs and approvals come from `hb_pipeline_events`, the copy of their `hb_events` rows
ordered by event type (`storage.schema.current_state`): found on typed columns, then the
`Attributes` of the few open ones are read there too (`event_attributes`: one granule of maps per
row, so never for every event). The latest queue snapshot and scheduled-work report of each agent
come from `hb_agent_reports`, which keeps them with their payloads as columns.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from hiveboard.api.auth import SCOPE_SQL, DataScope
from hiveboard.api.models.pipeline import (
    AgentPipeline,
    FleetPipeline,
    Issue,
    PendingApproval,
    PipelineTotals,
    QueueSnapshot,
    ScheduledWork,
    Todo,
)
from hiveboard.api.queries.events import event_attributes
from hiveboard.api.queries.filters import agent_environments
from hiveboard.api.queries.tables import AGENT_REPORTS_TABLE, EVENT, ISSUE_STATES_TABLE, PIPELINE_EVENTS_TABLE
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage
from hiveboard_semconv.attributes import (
    HIVEBOARD_APPROVAL_APPROVER,
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
FROM {PIPELINE_EVENTS_TABLE}
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


def active_issue_counts(storage: Storage, scope: DataScope, agent_id: str | None = None) -> dict[str, int]:
    """Per agent with any, how many issues `active_issues` lists (The Hive shows the count only),
    from the latest action of each issue (`hb_issue_states`), not from every report kept."""
    sql = f"""
SELECT AgentId, count() AS Active
FROM (
    SELECT AgentId, IssueId, argMaxMerge(LastAction) AS LastAction
    FROM {ISSUE_STATES_TABLE}
    WHERE {SCOPE_SQL}{_agent_condition(agent_id)}
    GROUP BY AgentId, IssueId
)
WHERE LastAction != '{RESOLVED}'
GROUP BY AgentId"""
    return dict(storage.query(sql, scope.parameters(agent_id=agent_id)).rows)


# Queries that need an event's attributes (TODO details, the approver) are in two steps: `_*_rows`
# finds the events on typed columns, then a builder takes the attributes of those events, which
# `fleet_pipeline` reads for both sections at once (see `event_attributes`). The latest queue and
# scheduled-work reports, read for every agent, have their payloads in hb_agent_reports' columns.
Attributes = dict[str, dict[str, str]]
_REPORT_COLUMNS = (
    "QueueDepth",
    "QueueItems",
    "QueueProcessing",
    "QueueOldestAgeSeconds",
    "QueueSource",
    "ScheduledItems",
)


def queue_depths(storage: Storage, scope: DataScope, agent_id: str | None = None) -> dict[str, int]:
    """Per agent, the depth of its latest queue snapshot."""
    sql = f"""
SELECT AgentId, argMax(QueueDepth, Timestamp) AS Depth
FROM {AGENT_REPORTS_TABLE}
WHERE {SCOPE_SQL} AND EventType = '{EVENT.QUEUE_SNAPSHOT}'{_agent_condition(agent_id)}
GROUP BY AgentId"""
    rows = storage.query(sql, scope.parameters(agent_id=agent_id)).rows
    return {agent: int(depth or 0) for agent, depth in rows}


def latest_reports(
    storage: Storage, scope: DataScope, agent_id: str | None = None
) -> tuple[dict[str, QueueSnapshot], dict[str, ScheduledWork]]:
    """Per agent, its latest queue snapshot with its items, and its latest report of scheduled work."""
    latest = ",\n    ".join(f"argMax({column}, Timestamp) AS {column}" for column in _REPORT_COLUMNS)
    sql = f"""
SELECT AgentId, EventType, max(Timestamp) AS LatestAt,
    {latest}
FROM {AGENT_REPORTS_TABLE}
WHERE {SCOPE_SQL}{_agent_condition(agent_id)}
GROUP BY AgentId, EventType"""
    queues: dict[str, QueueSnapshot] = {}
    scheduled: dict[str, ScheduledWork] = {}
    for row in storage.query(sql, scope.parameters(agent_id=agent_id)).dicts():
        if row["EventType"] == EVENT.SCHEDULED:
            scheduled[row["AgentId"]] = ScheduledWork(
                items=_json_objects(row["ScheduledItems"]), reported_at=row["LatestAt"]
            )
        else:
            queues[row["AgentId"]] = QueueSnapshot(
                depth=int(row["QueueDepth"] or 0),
                oldest_age_seconds=row["QueueOldestAgeSeconds"],
                items=_json_objects(row["QueueItems"]),
                processing=_json_object(row["QueueProcessing"]),
                source=row["QueueSource"],
                reported_at=row["LatestAt"],
            )
    return queues, scheduled


def _todo_rows(storage: Storage, scope: DataScope, agent_id: str | None) -> list[dict[str, Any]]:
    """Per agent, TODOs whose latest action is not completed or dismissed, oldest first, with their
    events (priority, source and due date are the latest non-empty ones of their attributes)."""
    sql = f"""
SELECT AgentId, TodoId,
    argMax(TodoAction, Timestamp) AS Status,
    argMaxIf(Summary, Timestamp, TodoAction = 'created') AS CreatedSummary,
    argMax(Summary, Timestamp) AS LatestSummary,
    min(Timestamp) AS CreatedAt,
    max(Timestamp) AS UpdatedAt,
    groupArray((toUnixTimestamp64Nano(Timestamp), SpanId)) AS Events
FROM {PIPELINE_EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType = '{EVENT.TODO}'{_agent_condition(agent_id)}
GROUP BY AgentId, TodoId
HAVING Status NOT IN {{closed:Array(String)}}
ORDER BY AgentId, CreatedAt"""
    parameters = scope.parameters(agent_id=agent_id, closed=list(CLOSED_TODO_ACTIONS))
    return storage.query(sql, parameters).dicts()


def _todo_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the open TODOs of `rows`, as `event_attributes` takes them."""
    return [
        {"AgentId": row["AgentId"], "TimestampNs": timestamp_ns, "SpanId": span_id}
        for row in rows
        for timestamp_ns, span_id in row["Events"]
    ]


def _todos(rows: list[dict[str, Any]], attributes: Attributes) -> dict[str, list[Todo]]:
    todos: dict[str, list[Todo]] = defaultdict(list)
    for row in rows:
        in_time_order = [attributes.get(span_id, {}) for _, span_id in sorted(row["Events"])]

        def latest(key: str, reports: list[dict[str, str]] = in_time_order) -> str:
            return next((report[key] for report in reversed(reports) if report.get(key)), "")

        todos[row["AgentId"]].append(
            Todo(
                todo_id=row["TodoId"],
                summary=row["CreatedSummary"] or row["LatestSummary"],
                status=row["Status"],
                priority=latest(HIVEBOARD_TODO_PRIORITY),
                source=latest(HIVEBOARD_TODO_SOURCE),
                due_by=latest(HIVEBOARD_TODO_DUE_BY),
                created_at=row["CreatedAt"],
                updated_at=row["UpdatedAt"],
            )
        )
    return todos


def pending_approval_counts(
    storage: Storage, scope: DataScope, agent_id: str | None = None
) -> dict[str, int]:
    """Per agent with any, how many approval requests are pending (as `_pending_requests` finds
    them), counted in the database: The Hive shows the count only."""
    rows = storage.query(_pending_counts_sql(agent_id), scope.parameters(agent_id=agent_id)).dicts()
    return {row["AgentId"]: row["Pending"] for row in rows}


def _pending_counts_sql(agent_id: str | None) -> str:
    """Per agent with any, its pending approval requests (`Pending`).

    Every answer settles one open request if there is one (of its own task first, which changes
    which request stays open, not how many), so the count is a walk over the agent's events in time
    order (requests before answers at the same instant, as `_pending_requests` reads them): +1 per
    request, -1 per answer, never below 0. Such a walk ends at its last prefix sum less the lowest
    one below 0 (an answer with nothing open is the walk held at 0), which arrays compute whole."""
    return f"""
SELECT AgentId,
    arrayCumSum(arrayMap(event -> if(event.2, -1, 1),
        arraySort(groupArray((Timestamp, EventType = '{EVENT.APPROVAL_RECEIVED}'))))) AS Walk,
    Walk[-1] - least(0, arrayMin(Walk)) AS Pending
FROM {PIPELINE_EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType IN ('{EVENT.APPROVAL_REQUESTED}', '{EVENT.APPROVAL_RECEIVED}')
    {_agent_condition(agent_id)}
GROUP BY AgentId
HAVING Pending > 0"""


def approval_events_sql(agent_id: str | None, pending_only: bool = True) -> str:
    """The approval requests and answers of each agent in the order `open_requests` walks them; with
    `pending_only`, of the agents with a request pending only (`_pending_counts_sql`): the answered
    history of every other agent, most of a month of approvals, is never read out."""
    pending = (
        f"\n    AND AgentId IN (SELECT AgentId FROM ({_pending_counts_sql(agent_id)}))"
        if pending_only
        else ""
    )
    return f"""
SELECT AgentId, TaskId, EventType, Timestamp, toUnixTimestamp64Nano(Timestamp) AS TimestampNs, SpanId, Summary
FROM {PIPELINE_EVENTS_TABLE}
WHERE {SCOPE_SQL} AND EventType IN ('{EVENT.APPROVAL_REQUESTED}', '{EVENT.APPROVAL_RECEIVED}')
    {_agent_condition(agent_id)}{pending}
ORDER BY AgentId, Timestamp, EventType DESC"""


def _pending_requests(storage: Storage, scope: DataScope, agent_id: str | None) -> list[dict[str, Any]]:
    """The approval requests no `approval_received` answered yet, in time order per agent."""
    events = storage.query(approval_events_sql(agent_id), scope.parameters(agent_id=agent_id)).dicts()
    return open_requests(events)


def open_requests(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests of `events` (rows of `approval_events_sql`) that no answer settled.

    An answer settles the oldest open request of its own task; an answer given outside the task
    (the integration guide's `agent.event("approval_received", ...)` from another handler) settles
    the agent's oldest open request."""
    open_by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in events:
        requests = open_by_agent[row["AgentId"]]
        if row["EventType"] == EVENT.APPROVAL_REQUESTED:
            requests.append(row)
            continue
        same_task = [request for request in requests if row["TaskId"] and request["TaskId"] == row["TaskId"]]
        answered = same_task[0] if same_task else (requests[0] if requests else None)
        if answered is not None:
            requests.remove(answered)
    return [request for requests in open_by_agent.values() for request in requests]


def _approvals(pending: list[dict[str, Any]], attributes: Attributes) -> dict[str, list[PendingApproval]]:
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for request in pending:
        by_agent[request["AgentId"]].append(request)
    return {
        agent: [
            PendingApproval(
                task_id=request["TaskId"],
                summary=request["Summary"],
                approver=attributes.get(request["SpanId"], {}).get(HIVEBOARD_APPROVAL_APPROVER, ""),
                requested_at=request["Timestamp"],
            )
            for request in requests
        ]
        for agent, requests in by_agent.items()
    }


def agent_pipeline(storage: Storage, scope: DataScope, agent_id: str) -> AgentPipeline:
    """The pipeline of one agent (empty sections when it has nothing queued or open)."""
    return fleet_pipeline(storage, scope, agent_id).agents[0]


def fleet_pipeline(
    storage: Storage, scope: DataScope, agent_id: str | None = None, environment: str | None = None
) -> FleetPipeline:
    """The pipeline of every agent with something in it (or of `agent_id`, even if empty), of the
    agents of `environment` only when given (as The Hive's cards say it), with their totals."""
    # Independent of each other: asked together, they take about as long as the slowest.
    (queues, scheduled), todo_rows, pending, issues, environments = run_together(
        lambda: latest_reports(storage, scope, agent_id),
        lambda: _todo_rows(storage, scope, agent_id),
        lambda: _pending_requests(storage, scope, agent_id),
        lambda: active_issues(storage, scope, agent_id),
        lambda: agent_environments(storage, scope) if environment is not None else {},
    )
    # One read of the attributes of both sections' events.
    attributes = event_attributes(storage, scope, _todo_events(todo_rows) + pending, PIPELINE_EVENTS_TABLE)
    todos = _todos(todo_rows, attributes)
    approvals = _approvals(pending, attributes)
    agents = sorted(
        agent
        for agent in {*queues, *issues, *todos, *scheduled, *approvals} | ({agent_id} if agent_id else set())
        if environment is None or environments.get(agent) == environment
    )
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
        scheduled_items=sum(len(p.scheduled.items) for p in pipelines if p.scheduled is not None),
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
