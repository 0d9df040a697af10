"""The activity stream: `hb_events` newest first, filtered, one page at a time.

Heartbeats only feed `hb_agents` (which keeps the latest per agent), so when a caller asks for them
they are read from `otel_traces`, where `SpanName` (part of its primary key) finds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hiveboard.api.auth import OTEL_SCOPE_SQL, SCOPE_SQL, DataScope
from hiveboard.api.models.events import Event, EventGroup
from hiveboard.api.params import Page, Window, decode_cursor, equal_to, from_ns, ns_to_ms, window_sql
from hiveboard.api.queries.paging import LATE_COLUMNS, page_of_keys
from hiveboard.api.queries.tables import (
    ACTION_COMPLETED,
    ACTION_FAILED,
    EVENT,
    EVENTS_TABLE,
    LLM_CALL,
    TASK_COMPLETED,
    TASK_FAILED,
)
from hiveboard.storage import Storage
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveboard_semconv.attributes import (
    DEPLOYMENT_ENVIRONMENT_NAME,
    HIVEBOARD_AGENT_ID,
    HIVEBOARD_EVENT_TYPE,
    HIVEBOARD_SEVERITY,
)

# Event types of each filter button; `error` also takes every event of severity error.
GROUP_EVENT_TYPES: dict[EventGroup, tuple[str, ...]] = {
    EventGroup.TASK: (EVENT.TASK_STARTED, TASK_COMPLETED, TASK_FAILED),
    EventGroup.ACTION: (EVENT.ACTION_STARTED, ACTION_COMPLETED, ACTION_FAILED),
    EventGroup.ERROR: (TASK_FAILED, ACTION_FAILED),
    EventGroup.LLM: (LLM_CALL,),
    EventGroup.PIPELINE: (EVENT.QUEUE_SNAPSHOT, EVENT.TODO, EVENT.SCHEDULED, EVENT.ISSUE),
    EventGroup.HUMAN: (EVENT.ESCALATED, EVENT.APPROVAL_REQUESTED, EVENT.APPROVAL_RECEIVED),
    EventGroup.PLAN: (EVENT.PLAN_CREATED, EVENT.PLAN_STEP),
}

# Column of hb_events -> its expression for a heartbeat span of otel_traces.
_COLUMNS: dict[str, str] = {
    "TraceId": "TraceId",
    "SpanId": "SpanId",
    "ParentSpanId": "ParentSpanId",
    "AgentId": f"SpanAttributes['{HIVEBOARD_AGENT_ID}']",
    "TaskId": "''",
    "Project": "''",
    "Environment": f"ResourceAttributes['{DEPLOYMENT_ENVIRONMENT_NAME}']",
    "EventType": f"'{EVENT.HEARTBEAT}'",
    "Kind": "''",
    "Severity": f"SpanAttributes['{HIVEBOARD_SEVERITY}']",
    "Summary": "''",
    "ActionName": "''",
    "DurationNs": "Duration",
    "ErrorType": "''",
    "ErrorMessage": "''",
    "IssueId": "''",
    "IssueAction": "''",
    "IssueSeverity": "''",
    "IssueCategory": "''",
    "OccurrenceCount": "CAST(NULL, 'Nullable(UInt32)')",
    "QueueDepth": "CAST(NULL, 'Nullable(UInt32)')",
    "TodoId": "''",
    "TodoAction": "''",
    "PlanStepIndex": "CAST(NULL, 'Nullable(UInt32)')",
    "PlanStepAction": "''",
    "PlanTotalSteps": "CAST(NULL, 'Nullable(UInt32)')",
    "PlanRevision": "CAST(NULL, 'Nullable(UInt32)')",
    "RetryAttempt": "CAST(NULL, 'Nullable(UInt32)')",
    "ApprovalDecision": "''",
}
EVENT_COLUMNS_SQL = "toUnixTimestamp64Nano(Timestamp) AS TimestampNs, " + ", ".join(_COLUMNS)


def _heartbeats_sql() -> str:
    expressions = ", ".join(f"{expression} AS {column}" for column, expression in _COLUMNS.items())
    return f"""
SELECT toUnixTimestamp64Nano(Timestamp) AS TimestampNs, {expressions}, SpanAttributes AS Attributes, Timestamp
FROM {TRACES_TABLE}
WHERE SpanName = '{EVENT.HEARTBEAT}' AND SpanAttributes['{HIVEBOARD_EVENT_TYPE}'] = '{EVENT.HEARTBEAT}'
    AND {OTEL_SCOPE_SQL} AND {window_sql("Timestamp")}"""


@dataclass(frozen=True)
class EventFilters:
    agent_id: str | None = None
    task_id: str | None = None
    environment: str | None = None
    project: str | None = None
    event_types: Sequence[str] = ()
    severities: Sequence[str] = ()
    groups: Sequence[EventGroup] = ()
    payload_kind: str | None = None
    exclude_heartbeats: bool = True

    def sql(self) -> tuple[str, dict[str, Any]]:
        """The filters as one SQL condition (on hb_events' columns) and its parameters."""
        conditions, parameters = equal_to(
            (
                ("AgentId", "agent_id", self.agent_id),
                ("TaskId", "task_id", self.task_id),
                ("Environment", "environment", self.environment),
                ("Project", "project", self.project),
                ("Kind", "payload_kind", self.payload_kind),
            )
        )
        if self.event_types:
            conditions.append("EventType IN {event_types:Array(String)}")
            parameters["event_types"] = list(self.event_types)
        if self.severities:
            conditions.append("Severity IN {severities:Array(String)}")
            parameters["severities"] = list(self.severities)
        if self.groups:
            group_types = sorted({t for group in self.groups for t in GROUP_EVENT_TYPES[group]})
            errors = " OR Severity = 'error'" if EventGroup.ERROR in self.groups else ""
            conditions.append(f"(EventType IN {{group_types:Array(String)}}{errors})")
            parameters["group_types"] = group_types
        return " AND ".join(conditions) or "1", parameters


def list_events(
    storage: Storage,
    scope: DataScope,
    window: Window,
    filters: EventFilters,
    *,
    limit: int,
    cursor: str | None = None,
) -> Page[Event]:
    """Events of `window` matching `filters`, newest first, with their attributes.

    ClickHouse sorts on hb_events' sort key (time, span id) and reads the other columns of the page's
    rows only (`LATE_COLUMNS`): reading every column of each candidate row would cost far more than
    the sort. Heartbeats, when asked for, are read from `otel_traces` for the time the page covers only.
    """
    condition, parameters = filters.sql()
    if cursor is not None:
        timestamp_ns, span_id = decode_cursor(cursor, "Int64", "String")
        condition += (
            " AND (TimestampNs, SpanId) < ({cursor_ns:Int64}, {cursor_id:String})"
            " AND Timestamp <= fromUnixTimestamp64Nano({cursor_ns:Int64})"
        )
        parameters.update(cursor_ns=timestamp_ns, cursor_id=span_id)
    parameters = scope.parameters(**window.parameters(), **parameters, limit=limit + 1)
    sql = f"""
SELECT {EVENT_COLUMNS_SQL}, Attributes
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND {window_sql("Timestamp")} AND {condition}
ORDER BY Timestamp DESC, SpanId DESC
LIMIT {{limit:UInt32}}
SETTINGS {LATE_COLUMNS}"""
    rows = storage.query(sql, parameters).dicts()
    heartbeats = (
        [] if filters.exclude_heartbeats else _heartbeats(storage, rows, condition, parameters, limit)
    )
    if heartbeats:
        rows = sorted(rows + heartbeats, key=lambda row: (row["TimestampNs"], row["SpanId"]), reverse=True)
    return page_of_keys(
        rows[: limit + 1],
        lambda row: event_of(row, row["Attributes"]),
        lambda row: (row["TimestampNs"], row["SpanId"]),
        limit,
    )


def _heartbeats(
    storage: Storage, keys: list[dict[str, Any]], condition: str, parameters: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """The heartbeats (whole rows) that may enter the page whose hb_events `keys` (rows) are given:
    those since the oldest key of a full page, read from `otel_traces` (hb_events has none)."""
    since_ns = keys[limit]["TimestampNs"] if len(keys) > limit else parameters["start_ns"]
    sql = f"""
SELECT * FROM ({_heartbeats_sql()})
WHERE {condition}
ORDER BY TimestampNs DESC, SpanId DESC
LIMIT {{limit:UInt32}}"""
    return storage.query(sql, {**parameters, "start_ns": max(since_ns, parameters["start_ns"])}).dicts()


def event_attributes(
    storage: Storage, scope: DataScope, rows: Sequence[dict[str, Any]], table: str = EVENTS_TABLE
) -> dict[str, dict[str, str]]:
    """The `Attributes` of the rows (with their `AgentId`, `TimestampNs`, `SpanId`) of hb_events or of
    `table`, a copy of some of its rows, by span id.

    `Attributes` is the heaviest column: queries find their rows on typed columns first, then read it
    for those rows only, through the table's key (agent, time)."""
    return {
        span_id: row["Attributes"]
        for span_id, row in _rows_by_span(storage, scope, rows, "SpanId, Attributes", table).items()
    }


def _rows_by_span(
    storage: Storage,
    scope: DataScope,
    keys: Sequence[dict[str, Any]],
    columns: str,
    table: str = EVENTS_TABLE,
) -> dict[str, dict[str, Any]]:
    """`columns` of the rows of `keys` (`AgentId`, `TimestampNs`, `SpanId`) in `table`, by span id."""
    if not keys:
        return {}
    sql = f"""
SELECT {columns} FROM {table}
WHERE {SCOPE_SQL} AND AgentId IN {{agents:Array(String)}} AND {window_sql("Timestamp")}
    AND SpanId IN {{span_ids:Array(String)}}"""
    parameters = scope.parameters(
        agents=sorted({key["AgentId"] for key in keys}),
        start_ns=min(key["TimestampNs"] for key in keys),
        end_ns=max(key["TimestampNs"] for key in keys),
        span_ids=[key["SpanId"] for key in keys],
    )
    return {row["SpanId"]: row for row in storage.query(sql, parameters).dicts()}


def event_of(row: dict[str, Any], attributes: dict[str, str] | None) -> Event:
    """An `Event` from a row of `EVENT_COLUMNS_SQL`."""
    return Event(
        event_id=row["SpanId"],
        trace_id=row["TraceId"],
        parent_span_id=row["ParentSpanId"],
        timestamp=from_ns(row["TimestampNs"]),
        agent_id=row["AgentId"],
        task_id=row["TaskId"],
        project=row["Project"],
        environment=row["Environment"],
        event_type=row["EventType"],
        kind=row["Kind"],
        severity=row["Severity"],
        summary=row["Summary"],
        action_name=row["ActionName"],
        duration_ms=ns_to_ms(row["DurationNs"]) if row["DurationNs"] else None,
        error_type=row["ErrorType"],
        error_message=row["ErrorMessage"],
        issue_id=row["IssueId"],
        issue_action=row["IssueAction"],
        issue_severity=row["IssueSeverity"],
        issue_category=row["IssueCategory"],
        occurrence_count=row["OccurrenceCount"],
        queue_depth=row["QueueDepth"],
        todo_id=row["TodoId"],
        todo_action=row["TodoAction"],
        plan_step_index=row["PlanStepIndex"],
        plan_step_action=row["PlanStepAction"],
        plan_total_steps=row["PlanTotalSteps"],
        plan_revision=row["PlanRevision"],
        retry_attempt=row["RetryAttempt"],
        approval_decision=row["ApprovalDecision"],
        attributes=attributes,
    )


def recent_events(
    storage: Storage, scopes: Sequence[DataScope], since_ns: int
) -> list[tuple[DataScope, Event]]:
    """Events of any of `scopes` since `since_ns`, oldest first, without attributes (the live stream)."""
    sql = f"""
SELECT TenantId, KeyType, {EVENT_COLUMNS_SQL}
FROM {EVENTS_TABLE}
WHERE (TenantId, KeyType) IN {{scopes:Array(Tuple(String, String))}}
    AND Timestamp >= fromUnixTimestamp64Nano({{since_ns:Int64}})
ORDER BY TimestampNs, SpanId"""
    parameters = {"scopes": [(scope.tenant_id, scope.key_type) for scope in scopes], "since_ns": since_ns}
    return [
        (DataScope(row["TenantId"], row["KeyType"]), event_of(row, None))
        for row in storage.query(sql, parameters).dicts()
    ]
