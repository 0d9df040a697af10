"""The timeline of one task: its events in order, the action tree, the plan, error chains and where
the time went.

Reads the task's rows of `hb_events` (with their `Attributes`: one task is few rows, found through
the task's agent and start time, leading columns of the table's key), its LLM calls with their costs
(in the scan that sums them for the task's summary), and, for failed actions only, their exception
events in `otel_traces` (pruned by the trace id's bloom filter and the task's time span).
"""

from __future__ import annotations

import json
import time
from typing import Any

from hiveboard.api.auth import OTEL_SCOPE_SQL, SCOPE_SQL, DataScope
from hiveboard.api.models.tasks import (
    ActionNode,
    ChainLink,
    DurationBreakdown,
    ErrorChain,
    LlmCallNode,
    Plan,
    PlanProgress,
    PlanStep,
    StepStatus,
    Timeline,
    TimelineEvent,
)
from hiveboard.api.params import SECOND_NS, from_ns, ns_to_ms
from hiveboard.api.queries.agents import stuck_agent_ids
from hiveboard.api.queries.events import EVENT_COLUMNS_SQL
from hiveboard.api.queries.money import CALL_COST_SQL, call_usd
from hiveboard.api.queries.tables import (
    ACTION_COMPLETED,
    ACTION_FAILED,
    EVENT,
    EVENTS_TABLE,
    LLM_CALL,
    STATUS_ERROR,
    TASK_COMPLETED,
    TASK_FAILED,
)
from hiveboard.api.queries.tasks import (
    latest_task_key,
    spans_end_bound_ns,
    task_costs,
    task_row_of_key,
    task_summary,
)
from hiveboard.api.queries.together import run_together
from hiveboard.storage import Storage
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveboard_semconv.attributes import (
    EXCEPTION_STACKTRACE,
    HIVEBOARD_PAYLOAD,
    HIVEBOARD_PLAN_GOAL,
    HIVEBOARD_PLAN_STEP_TOKENS,
    HIVEBOARD_PLAN_STEP_TURNS,
    HIVEBOARD_PLAN_STEPS,
    HIVEBOARD_RETRY_BACKOFF_SECONDS,
)

_STEP_STATUS: dict[str, StepStatus] = {
    "started": "in_progress",
    "completed": "completed",
    "failed": "failed",
    "skipped": "skipped",
}

_EVENTS_SQL = f"""
SELECT {EVENT_COLUMNS_SQL}, Attributes
FROM {EVENTS_TABLE}
WHERE {SCOPE_SQL} AND AgentId = {{agent_id:String}}
    AND Timestamp >= fromUnixTimestamp64Nano({{start_ns:Int64}})
    AND Timestamp <= fromUnixTimestamp64Nano({{spans_end_ns:Int64}})
    AND TraceId = {{trace_id:String}} AND TaskId = {{task_id:String}}
ORDER BY TimestampNs, SpanId"""

# What the action tree reads of each LLM call (name: SQL).
_LLM_CALL_COLUMNS = {
    "SpanId": "SpanId",
    "CallName": "CallName",
    "ResponseModel": "ResponseModel",
    "InputTokens": "InputTokens",
    "OutputTokens": "OutputTokens",
    "RoundedCost": CALL_COST_SQL,
    "CostSource": "CostSource",
}

_STACKTRACES_SQL = f"""
SELECT SpanId, arrayFirst(a -> a['{EXCEPTION_STACKTRACE}'] != '', Events.Attributes)['{EXCEPTION_STACKTRACE}']
FROM {TRACES_TABLE}
WHERE TraceId = {{trace_id:String}} AND Timestamp >= fromUnixTimestamp64Nano({{start_ns:Int64}})
    AND Timestamp <= fromUnixTimestamp64Nano({{spans_end_ns:Int64}})
    AND StatusCode = '{STATUS_ERROR}' AND SpanId IN {{span_ids:Array(String)}} AND {OTEL_SCOPE_SQL}"""


def task_timeline(
    storage: Storage, scope: DataScope, task_id: str, task_span_id: str | None = None
) -> Timeline | None:
    """The timeline of the latest execution of `task_id` (or of the one with `task_span_id`): its
    key first (ids, agent, start and duration), then its row, its costs (with its LLM calls) and its
    events at the same time."""
    key = latest_task_key(storage, scope, task_id, task_span_id)
    if key is None:
        return None
    duration_ns = key["DurationNs"]
    parameters = scope.parameters(
        agent_id=key["AgentId"],
        trace_id=key["TraceId"],
        task_id=key["TaskId"],
        start_ns=key["StartNs"] - SECOND_NS,
        # Open in the key, the task may have ended since: the bound of an open task covers it.
        spans_end_ns=spans_end_bound_ns([None if duration_ns is None else key["StartNs"] + duration_ns]),
    )
    task_row, costs, rows = run_together(
        lambda: task_row_of_key(storage, scope, key, stuck_agents=lambda: stuck_agent_ids(storage, scope)),
        lambda: task_costs(storage, scope, [key], _LLM_CALL_COLUMNS),
        lambda: storage.query(_EVENTS_SQL, parameters).dicts(),
    )
    if task_row is None:  # gone since the key was read (TTL)
        return None
    cost = costs.get((task_row["TraceId"], task_row["TaskId"]), {})
    task = task_summary(task_row, cost)
    llm_calls = {call["SpanId"]: call for call in cost.get("Calls", [])}
    failed_actions = [row["SpanId"] for row in rows if row["EventType"] == ACTION_FAILED]
    stacktraces = (
        dict(storage.query(_STACKTRACES_SQL, {**parameters, "span_ids": failed_actions}).rows)
        if failed_actions
        else {}
    )
    tree = _action_tree(rows, llm_calls, stacktraces)
    return Timeline(
        task=task,
        events=[_timeline_event(row) for row in rows],
        action_tree=tree,
        plan=_plan(rows),
        error_chains=_error_chains(rows),
        duration_breakdown=_breakdown(task_row, rows),
        payload=_task_payload(rows),
    )


def _timeline_event(row: dict[str, Any]) -> TimelineEvent:
    return TimelineEvent(
        span_id=row["SpanId"],
        parent_span_id=row["ParentSpanId"],
        timestamp=from_ns(row["TimestampNs"]),
        event_type=row["EventType"],
        kind=row["Kind"],
        severity=row["Severity"],
        summary=row["Summary"],
        action_name=row["ActionName"],
        duration_ms=ns_to_ms(row["DurationNs"]) if row["DurationNs"] else None,
        error_type=row["ErrorType"],
        error_message=row["ErrorMessage"],
        retry_attempt=row["RetryAttempt"],
        plan_step_index=row["PlanStepIndex"],
        plan_step_action=row["PlanStepAction"],
        attributes=row["Attributes"],
    )


# ---- action tree -------------------------------------------------------------------------------------


def _action_tree(
    rows: list[dict[str, Any]], llm_calls: dict[str, dict[str, Any]], stacktraces: dict[str, str]
) -> list[ActionNode | LlmCallNode]:
    """Actions and LLM calls nested by span parentage; roots are those not under an action."""
    nodes: dict[str, ActionNode | LlmCallNode] = {}
    parents: dict[str, str] = {}
    starts: dict[str, int] = {}
    for row in rows:
        span_id, event_type = row["SpanId"], row["EventType"]
        if event_type in (ACTION_COMPLETED, ACTION_FAILED):
            start_ns = row["TimestampNs"] - row["DurationNs"]
            nodes[span_id] = ActionNode(
                span_id=span_id,
                name=row["ActionName"],
                status="failed" if event_type == ACTION_FAILED else "completed",
                started_at=from_ns(start_ns),
                ended_at=from_ns(row["TimestampNs"]),
                duration_ms=ns_to_ms(row["DurationNs"]),
                error_type=row["ErrorType"],
                error_message=row["ErrorMessage"],
                exception_stacktrace=stacktraces.get(span_id),
                children=[],
            )
            parents[span_id], starts[span_id] = row["ParentSpanId"], start_ns
        elif event_type == LLM_CALL:
            call = llm_calls.get(span_id, {})
            start_ns = row["TimestampNs"] - row["DurationNs"]
            nodes[span_id] = LlmCallNode(
                span_id=span_id,
                name=call.get("CallName", row["ActionName"]),
                model=call.get("ResponseModel", ""),
                started_at=from_ns(start_ns),
                duration_ms=ns_to_ms(row["DurationNs"]) or 0.0,
                tokens_in=int(call.get("InputTokens") or 0),
                tokens_out=int(call.get("OutputTokens") or 0),
                cost=call_usd(call.get("RoundedCost")),
                cost_source=call.get("CostSource", ""),
                status="failed" if row["Severity"] == "error" else "completed",
            )
            parents[span_id], starts[span_id] = row["ParentSpanId"], start_ns
    # An action still running is known by its start marker, a child of the action span.
    for row in rows:
        action_span = row["ParentSpanId"]
        if row["EventType"] == EVENT.ACTION_STARTED and action_span not in nodes:
            nodes[action_span] = ActionNode(
                span_id=action_span,
                name=row["ActionName"],
                status="in_progress",
                started_at=from_ns(row["TimestampNs"]),
                ended_at=None,
                duration_ms=None,
                error_type="",
                error_message="",
                exception_stacktrace=None,
                children=[],
            )
            parents[action_span], starts[action_span] = "", row["TimestampNs"]
    roots: list[ActionNode | LlmCallNode] = []
    for span_id in sorted(nodes, key=lambda span: (starts[span], span)):
        parent = nodes.get(parents[span_id])
        if isinstance(parent, ActionNode):
            parent.children.append(nodes[span_id])
        else:
            roots.append(nodes[span_id])
    return roots


def _breakdown(task_row: dict[str, Any], rows: list[dict[str, Any]]) -> DurationBreakdown:
    """Where the task's wall-clock time went: in LLM calls, in actions (tools) while no LLM call ran,
    and the rest, each within the task's own span (up to now while it is open).

    An LLM call is reported when it ends, with the duration the agent measured, so it can reach
    back before the task started (a call reported right at the start), and calls or actions can run
    in parallel: time is counted once, as the union of their intervals clipped to the task, so the
    three parts add up to the task's duration. The calls keep their reported durations elsewhere.
    """
    start_ns = task_row["StartNs"]
    duration_ns = task_row["DurationNs"]
    end_ns = start_ns + duration_ns if duration_ns is not None else max(start_ns, time.time_ns())
    llm = [_interval(row) for row in rows if row["EventType"] == LLM_CALL]
    actions = [_interval(row) for row in rows if row["EventType"] in (ACTION_COMPLETED, ACTION_FAILED)]
    llm_ns = _covered_ns(llm, start_ns, end_ns)
    tools_ns = _covered_ns(llm + actions, start_ns, end_ns) - llm_ns
    return DurationBreakdown(
        total_ms=ns_to_ms(end_ns - start_ns) or 0.0,
        llm_ms=ns_to_ms(llm_ns) or 0.0,
        tools_ms=ns_to_ms(tools_ns) or 0.0,
        other_ms=ns_to_ms(end_ns - start_ns - llm_ns - tools_ns) or 0.0,
    )


def _interval(row: dict[str, Any]) -> tuple[int, int]:
    """The span of an event row that carries its end (`TimestampNs`) and duration."""
    return row["TimestampNs"] - (row["DurationNs"] or 0), row["TimestampNs"]


def _covered_ns(intervals: list[tuple[int, int]], start_ns: int, end_ns: int) -> int:
    """How long, within `[start_ns, end_ns]`, at least one of `intervals` runs."""
    covered, reached = 0, start_ns
    for low, high in sorted(intervals):
        low, high = max(low, reached), min(high, end_ns)
        if high > low:
            covered += high - low
            reached = high
    return covered


# ---- plan ------------------------------------------------------------------------------------------------


def _plan(rows: list[dict[str, Any]]) -> Plan | None:
    """The latest revision of the plan; each step takes the latest `plan_step` of that revision."""
    plans = [row for row in rows if row["EventType"] == EVENT.PLAN_CREATED]
    steps = [row for row in rows if row["EventType"] == EVENT.PLAN_STEP]
    if not plans and not steps:
        return None
    latest = max(plans, key=lambda row: (row["PlanRevision"] or 0, row["TimestampNs"])) if plans else None
    revision = (latest["PlanRevision"] or 0) if latest else max(row["PlanRevision"] or 0 for row in steps)
    since_ns = latest["TimestampNs"] if latest else 0
    descriptions = _json_strings(latest["Attributes"].get(HIVEBOARD_PLAN_STEPS, "")) if latest else []
    updates = [
        row for row in steps if (row["PlanRevision"] or 0) == revision and row["TimestampNs"] >= since_ns
    ]
    total = max(
        [len(descriptions)]
        + [row["PlanTotalSteps"] or 0 for row in updates]
        + [(row["PlanStepIndex"] or 0) + 1 for row in updates]
    )
    latest_update: dict[int, dict[str, Any]] = {}
    for row in updates:  # in time order: the last one wins
        latest_update[row["PlanStepIndex"] or 0] = row
    plan_steps = []
    for index in range(total):
        update = latest_update.get(index)
        attributes = update["Attributes"] if update else {}
        plan_steps.append(
            PlanStep(
                index=index,
                description=descriptions[index] if index < len(descriptions) else "",
                status=_STEP_STATUS.get(update["PlanStepAction"], "in_progress") if update else "not_started",
                summary=update["Summary"] if update else "",
                turns=_int(attributes.get(HIVEBOARD_PLAN_STEP_TURNS)),
                tokens=_int(attributes.get(HIVEBOARD_PLAN_STEP_TOKENS)),
                updated_at=from_ns(update["TimestampNs"]) if update else None,
            )
        )
    counts = {status: sum(step.status == status for step in plan_steps) for status in _STEP_STATUS.values()}
    done = counts["completed"] + counts["skipped"]
    return Plan(
        goal=latest["Attributes"].get(HIVEBOARD_PLAN_GOAL, "") if latest else "",
        revision=revision,
        created_at=from_ns(latest["TimestampNs"]) if latest else None,
        steps=plan_steps,
        progress=PlanProgress(
            total=total,
            completed=counts["completed"],
            failed=counts["failed"],
            in_progress=counts["in_progress"],
            skipped=counts["skipped"],
            not_started=sum(step.status == "not_started" for step in plan_steps),
            percent=round(100.0 * done / total, 1) if total else 0.0,
        ),
    )


# ---- error chains ---------------------------------------------------------------------------------------


def _error_chains(rows: list[dict[str, Any]]) -> list[ErrorChain]:
    """Chains that start at a failure, retry or escalation and follow it: a success of an action that
    failed in the chain ends it as recovered, an escalation as escalated, the task's failure as failed."""
    chains: list[ErrorChain] = []
    links: list[ChainLink] = []
    failed_actions: set[str] = set()

    def close(outcome: str) -> None:
        chains.append(
            ErrorChain(
                outcome=outcome,
                retry_count=sum(link.event_type == EVENT.RETRY_STARTED for link in links),
                started_at=links[0].timestamp,
                ended_at=links[-1].timestamp,
                links=list(links),
            )
        )
        links.clear()
        failed_actions.clear()

    for row in rows:
        event_type = row["EventType"]
        is_failure = (
            event_type in (ACTION_FAILED, TASK_FAILED, EVENT.RETRY_STARTED, EVENT.ESCALATED)
            or (event_type == LLM_CALL and row["Severity"] == "error")
            or (event_type == EVENT.PLAN_STEP and row["PlanStepAction"] == "failed")
        )
        recovers = event_type == ACTION_COMPLETED and row["ActionName"] in failed_actions
        if not is_failure and not recovers:
            continue
        if not links and recovers:
            continue
        links.append(_link(row))
        if event_type == ACTION_FAILED:
            failed_actions.add(row["ActionName"])
        if recovers:
            close("recovered")
        elif event_type == EVENT.ESCALATED:
            close("escalated")
        elif event_type == TASK_FAILED:
            close("failed")
    if links:
        close("unresolved")
    return chains


def _link(row: dict[str, Any]) -> ChainLink:
    backoff = row["Attributes"].get(HIVEBOARD_RETRY_BACKOFF_SECONDS)
    return ChainLink(
        span_id=row["SpanId"],
        timestamp=from_ns(row["TimestampNs"]),
        event_type=row["EventType"],
        summary=row["Summary"],
        action_name=row["ActionName"],
        retry_attempt=row["RetryAttempt"],
        backoff_seconds=float(backoff) if backoff else None,
        error_type=row["ErrorType"],
        error_message=row["ErrorMessage"],
    )


# ---- helpers -----------------------------------------------------------------------------------------------


def _task_payload(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    for row in rows:
        if row["EventType"] in (TASK_COMPLETED, TASK_FAILED):
            try:
                payload = json.loads(row["Attributes"].get(HIVEBOARD_PAYLOAD) or "null")
            except ValueError:
                return None
            return payload if isinstance(payload, dict) else None
    return None


def _json_strings(text: str) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
