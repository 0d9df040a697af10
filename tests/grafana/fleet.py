"""A realistic fleet run through HiveLoop, stored as the collector stores it, ending just before now.

`capture()` gives deterministic spans on a clock that starts 1 s after the epoch and ticks 1 s per
reading; the tables keep rows for their TTL only and the dashboards filter on time, so the spans are
moved, unchanged otherwise, to end `END_BEFORE_NOW_S` seconds ago. Every agent ends in a different
status of The Hive: error, waiting_approval, processing, stuck, offline and idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan

import hiveloop
from hiveboard.storage import Storage
from hiveboard.storage.pricing import ModelPricer
from hiveloop import Agent
from hiveloop.testing import capture
from tests.stored_spans import store_spans

SECOND_NS = 1_000_000_000
END_BEFORE_NOW_S = 5
# An unknown model: tokens and no cost ('unpriced').
UNPRICED_MODEL = "acme-internal-llm-7"
# Live data of a test key must never reach a dashboard.
TEST_KEY_AGENT = "test-key-agent"

AGENT_STATUSES = {
    "night-watch": "stuck",
    "lead-qualifier": "error",
    "support-bot": "waiting_approval",
    "data-syncer": "processing",
    "idle-agent": "idle",
    "retired-agent": "offline",
}


def run_fleet() -> list[ReadableSpan]:
    """The spans of the production fleet, in the order they ended."""
    with capture() as captured:
        hb = captured.init(api_key="hb_live_dev000000000000000000000000000000", environment="production")
        # Registered first and silent since (its first heartbeat is an hour away): stuck after its 30 s
        # threshold. Agents with heartbeats disabled are never stuck: they give no liveness signal.
        night_watch = hb.agent("night-watch", type="ops", heartbeat_interval=3600, stuck_threshold=30)
        # As silent, but it shut down cleanly (at the end of the run): offline, not stuck.
        retired = hb.agent("retired-agent", type="ops", heartbeat_interval=3600, stuck_threshold=30)
        with night_watch.task("nightly-001", project="ops", type="audit") as task:
            task.llm_call("audit_summary", "gpt-4o", tokens_in=900, tokens_out=120, duration_ms=800)
        # Then it handed a task to a person and fell silent: the task shows escalated, as it will not end.
        _in_own_thread(_escalate_and_fall_silent, night_watch)

        _in_own_thread(_lead_qualifier, hb)
        _in_own_thread(_support_bot, hb)
        data_syncer = hb.agent("data-syncer", type="etl", heartbeat_interval=0)
        _in_own_thread(_data_syncer, data_syncer)
        idle_agent = hb.agent("idle-agent", type="general", heartbeat_interval=0)
        with idle_agent.task("idle-001", project="sales-pipeline", type="lead_qualification"):
            pass

        for agent in (hb.agent("lead-qualifier"), hb.agent("support-bot"), data_syncer, idle_agent):
            agent._heartbeat()  # the heartbeat thread's work, without the thread
        retired._announce_shutdown(deadline=0)  # what `hiveloop.shutdown()` emits for each agent
        spans = captured.spans
    hiveloop.reset()
    return spans


def _in_own_thread(work: Callable[..., None], *arguments: Any) -> None:
    """Run `work` in a thread of its own, as agents run: a task left open (`start_task`) keeps its
    context there, instead of becoming the parent of every later span of the test process."""
    thread = threading.Thread(target=work, args=arguments)
    thread.start()
    thread.join()


def _escalate_and_fall_silent(agent: Agent) -> None:
    task = agent.start_task("nightly-002", project="ops", type="audit")
    task.escalate("Disk almost full on the audit host", assigned_to="on-call")


def _data_syncer(agent: Agent) -> None:
    task = agent.start_task("sync-007", project="ops", type="crm_sync")
    task.llm_call("mapping", "gpt-4o-mini", tokens_in=3000, tokens_out=400, duration_ms=900)


def _lead_qualifier(hb: hiveloop.HiveBoard) -> None:
    agent = hb.agent("lead-qualifier", type="sales", version="1.2.0", heartbeat_interval=0)

    @agent.track("fetch_crm_data")
    def fetch_crm_data(lead_id: str) -> dict[str, str]:
        return {"id": lead_id}

    with agent.task("lead-001", project="sales-pipeline", type="lead_qualification") as task:
        task.plan("Process lead", ["Fetch CRM", "Score", "Route"])
        fetch_crm_data("lead-4821")
        task.plan_step(0, "completed", "CRM data retrieved")
        for turn in (1, 2):
            task.llm_call(
                "lead_scoring",
                "claude-sonnet-4-20250514",
                tokens_in=1800,
                tokens_out=250,
                cost=0.004,
                duration_ms=1200,
                metadata={"turn_number": turn, "cache_read_input_tokens": 1200, "stop_reason": "end_turn"},
            )
        task.plan_step(1, "completed", "Lead scored 72")
        task.llm_call("routing", UNPRICED_MODEL, tokens_in=400, tokens_out=30, duration_ms=300)
    agent.queue_snapshot(
        depth=3,
        oldest_age_seconds=120,
        items=[{"id": "lead-100", "priority": "high"}, {"id": "lead-101", "priority": "normal"}],
    )
    agent.todo("todo-001", action="created", summary="Follow up on lead-4821", priority="high")
    agent.todo("todo-002", action="created", summary="Re-run enrichment")
    agent.todo("todo-002", action="completed", summary="Enrichment retry succeeded")
    agent.scheduled(
        [
            {
                "id": "daily-sync",
                "name": "CRM Full Sync",
                "next_run": "2026-02-14T06:00:00Z",
                "interval": "24h",
            },
            {
                "id": "hourly-check",
                "name": "Lead Queue Check",
                "next_run": "2026-02-13T15:00:00Z",
                "interval": "1h",
            },
        ]
    )
    agent.report_issue("CRM API returning 403", severity="high", issue_id="crm-auth", category="permissions",
                       occurrence_count=8)  # fmt: skip
    agent.report_issue("Slow enrichment", severity="low", issue_id="slow-enrich", category="latency")
    agent.resolve_issue("Enrichment fast again", issue_id="slow-enrich")
    try:
        with agent.task("lead-002", project="sales-pipeline", type="lead_qualification") as task:
            task.retry("Enrichment timeout, attempt 1", attempt=1, backoff_seconds=1)
            task.escalate("Enrichment service down", assigned_to="senior-sales")
            raise ConnectionError("enrichment service unreachable")
    except ConnectionError:
        pass  # the task failed and re-raised, as HiveLoop promises


def _support_bot(hb: hiveloop.HiveBoard) -> None:
    agent = hb.agent("support-bot", type="support", heartbeat_interval=0)
    with agent.task("ticket-101", project="support", type="ticket") as task:
        task.llm_call("triage", "gpt-4o", tokens_in=5000, tokens_out=600, duration_ms=2100,
                      metadata={"turn_number": 1})  # fmt: skip
        task.event("custom", payload={"kind": "context_compaction",
                                      "data": {"tokens_before": 180000, "tokens_after": 42000, "method": "summary"}})  # fmt: skip
        task.event("custom", payload={"kind": "anomaly", "data": {"detector": "cycle", "tool_name": "search_kb",
                                                                  "message": "search_kb called 4x with same args"}})  # fmt: skip
        task.event("custom", payload={"kind": "learning", "data": {"trigger": "reflection",
                                                                   "description": "Use search_deals"}})  # fmt: skip
        task.event("custom", payload={"kind": "prompt_composition",
                                      "data": {"system_prompt_tokens": 1200, "history_tokens": 3500}})  # fmt: skip
        task.retry("KB timeout", attempt=1)
    waiting = agent.start_task("ticket-102", project="support", type="refund")
    waiting.llm_call("refund_check", "gpt-4o", tokens_in=2500, tokens_out=300, duration_ms=1500,
                     metadata={"turn_number": 1})  # fmt: skip
    waiting.request_approval("Refund $450 for customer BlueStar", approver="finance-team")


def run_test_key_fleet() -> list[ReadableSpan]:
    """Spans sent with a test key: an expensive call that no live panel may count."""
    with capture(deterministic=False) as captured:
        hb = captured.init(api_key="hb_test_dev000000000000000000000000000000", environment="production")
        agent = hb.agent(TEST_KEY_AGENT, type="sales", heartbeat_interval=0)
        with agent.task("test-001", project="sales-pipeline") as task:
            task.llm_call("scoring", "gpt-4o", tokens_in=10_000, tokens_out=1_000, cost=99.0)
        spans = captured.spans
    hiveloop.reset()
    return spans


def ending_before_now(spans: Sequence[ReadableSpan], seconds: int = END_BEFORE_NOW_S) -> list[ReadableSpan]:
    """`spans` moved in time so that the last one ends `seconds` before now."""
    offset = time.time_ns() - seconds * SECOND_NS - max(span.end_time for span in spans)
    return [_shifted(span, offset) for span in spans]


def _shifted(span: ReadableSpan, offset: int) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=[Event(event.name, event.attributes, event.timestamp + offset) for event in span.events],
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time + offset,
        end_time=span.end_time + offset,
        instrumentation_scope=span.instrumentation_scope,
    )


def store_fleet(storage: Storage) -> None:
    """The production fleet under a live key and the test-key fleet in a migrated storage, with the
    models priced as the collector's pricing job prices them."""
    store_spans(storage, ending_before_now(run_fleet()), key_type="live")
    store_spans(storage, run_test_key_fleet(), key_type="test")
    ModelPricer(storage).refresh()
