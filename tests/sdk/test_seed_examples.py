"""The product documents' Python code blocks, run unchanged against HiveLoop.

Each test pastes a block from `../shared/seeds/` (the comment above it names the document and the
section) and asserts on the captured spans what the document says HiveBoard will show. Only the
users' own helpers (CRM and LLM clients, tool registries, queues...) are stand-ins, from
`seed_standins`; a block that calls code the document never shows calls it with the stand-ins in
scope, and a block that only defines functions is followed by the call an application would make.
The integration guide's page lost its indentation when it was saved: its blocks are re-indented,
otherwise unchanged. Where a block trips the linter (unused names, import order, f-strings without
placeholders) the line carries a `noqa`, and blocks the formatter would reflow stay as written
between `# fmt: off` and `# fmt: on`.

An agent registered without `heartbeat_interval=0` starts its heartbeat thread, which emits a
heartbeat (and a queue snapshot when it has a `queue_provider`) at once, concurrently with the test:
assertions look at the story without those spans (`story()`) and wait for them where a document
promises them (`wait_for()`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import hiveloop
from hiveloop.testing import CapturedSpans
from tests.sdk.seed_standins import (
    AgingQueue,
    APITimeoutError,
    BaseCallbackHandler,
    CrmClient,
    EnrichmentApi,
    Lead,
    LlmClient,
    LlmResponse,
    ToolCall,
    ToolError,
    ToolRegistry,
    ToolResult,
    Usage,
    count_tokens,
    fails_first,
)

Span = dict[str, Any]

# ---- reading the captured spans ------------------------------------------------------------------


def event_type(span: Span) -> str | None:
    return span["attributes"].get("hiveboard.event.type")


def is_liveness(span: Span) -> bool:
    """A span of the heartbeat thread: a heartbeat, or a queue snapshot from `queue_provider`."""
    return event_type(span) == "heartbeat" or span["attributes"].get("hiveboard.queue.source") == "provider"


def story(captured: CapturedSpans) -> list[Span]:
    """The captured spans, in the order they ended, without those of the heartbeat thread."""
    return [span for span in captured.as_dicts() if not is_liveness(span)]


def of_type(spans: list[Span], type_: str) -> list[Span]:
    return [span for span in spans if event_type(span) == type_]


def the(spans: list[Span], name: str) -> Span:
    """The one span called `name`."""
    matches = [span for span in spans if span["name"] == name]
    assert len(matches) == 1, f"{len(matches)} spans named {name!r}"
    return matches[0]


def children(spans: list[Span], parent: Span) -> list[Span]:
    return [span for span in spans if span["parent_span_id"] == parent["span_id"]]


def timeline(spans: list[Span], parent: Span) -> list[str]:
    """The children of `parent` as the labels of a HiveBoard timeline, in the order they ended."""
    labels = []
    for span in children(spans, parent):
        attributes = span["attributes"]
        kind = attributes["hiveboard.span.type"]
        if kind == "action":
            labels.append(f"{span['name']} {attributes['hiveboard.action.status']}")
        elif kind == "llm":
            labels.append(span["name"])
        elif event_type(span) == "plan_step":
            step = f"{attributes['hiveboard.plan.step.index']} {attributes['hiveboard.plan.step.action']}"
            labels.append(f"plan_step {step}")
        elif event_type(span) == "retry_started":
            labels.append(f"retry #{attributes['hiveboard.retry.attempt']}")
        else:
            labels.append(event_type(span))
    return labels


def assert_has(span: Span, expected: dict[str, Any]) -> None:
    """`span` has these attribute values (among others)."""
    assert {key: span["attributes"].get(key) for key in expected} == expected, span["name"]


def payload(span: Span, key: str = "hiveboard.payload") -> Any:
    return json.loads(span["attributes"][key])


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` (tests may have replaced `time.sleep`, so this waits on an Event)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        threading.Event().wait(0.01)


def wait_for(captured: CapturedSpans, type_: str, agent_id: str) -> Span:
    """The first span of event type `type_` of `agent_id`, once the heartbeat thread has emitted it."""

    def found() -> list[Span]:
        return [
            span
            for span in captured.as_dicts()
            if event_type(span) == type_ and span["attributes"]["hiveboard.agent.id"] == agent_id
        ]

    wait_until(lambda: bool(found()))
    return found()[0]


def install_module(monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> ModuleType:
    """Make `source` importable as `name`, a module of the user's application, for one test."""
    module = ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    package_name = name.rpartition(".")[0]
    monkeypatch.setitem(sys.modules, package_name, ModuleType(package_name))
    monkeypatch.setitem(sys.modules, name, module)
    return module


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """`time.sleep` as a no-op recording its argument: the documents back off for whole seconds."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


# ---- hiveloop-README.md --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def seeds_init_into_the_capture(captured: CapturedSpans, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeds' code calls `hiveloop.init()` itself, as written: route it to the capture."""
    monkeypatch.setattr(hiveloop, "init", captured.init)


@pytest.fixture
def hb(captured: CapturedSpans) -> hiveloop.HiveBoard:
    # hiveloop-README.md, the opening example
    hb = hiveloop.init(api_key="hb_live_...")
    return hb


@pytest.fixture
def agent(hb: hiveloop.HiveBoard) -> hiveloop.Agent:
    # hiveloop-README.md, the opening example
    agent = hb.agent("lead-qualifier", type="sales")
    return agent


def test_readme_layer0_presence(captured):
    threads_before = set(threading.enumerate())

    # hiveloop-README.md, "Quick Start" > "Layer 0: Presence (3 lines)"
    import hiveloop

    hb = hiveloop.init(api_key="hb_live_...")
    agent = hb.agent("my-agent", type="support", version="1.0.0")

    # Your agent code runs here. Heartbeats are sent automatically.
    heartbeat = wait_for(captured, "heartbeat", "my-agent")
    heartbeat_threads = set(threading.enumerate()) - threads_before
    # When you're done:
    hiveloop.shutdown()

    identity = {
        "hiveboard.agent.id": "my-agent",
        "hiveboard.agent.type": "support",
        "hiveboard.agent.version": "1.0.0",
        "hiveboard.agent.heartbeat_interval": 30.0,
        "hiveboard.agent.stuck_threshold": 300,
        "hiveboard.span.type": "event",
    }
    registered = the(captured.as_dicts(), "agent_registered")
    assert_has(registered, {**identity, "hiveboard.event.type": "agent_registered"})
    assert_has(heartbeat, {**identity, "hiveboard.event.type": "heartbeat"})
    assert heartbeat["parent_span_id"] is None
    assert agent.agent_id == "my-agent"
    # shutdown() stops the heartbeat thread.
    assert heartbeat_threads
    wait_until(lambda: not any(thread.is_alive() for thread in heartbeat_threads))


def test_readme_layer1_task_timeline(agent, captured):
    routed = []

    def fetch_crm_data(lead_id):
        return Lead(lead_id)

    def score_lead(lead):
        return 72

    route_lead = routed.append

    # hiveloop-README.md, "Quick Start" > "Layer 1: Task Timelines (add context managers)"
    with agent.task("task-001", project="sales-pipeline", type="lead_qualification") as task:
        lead = fetch_crm_data("lead-4821")
        score = score_lead(lead)
        route_lead(score)

    assert routed == [72]
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert task_span["status"] == "OK"
    assert_has(
        task_span,
        {
            "hiveboard.span.type": "task",
            "hiveboard.agent.id": "lead-qualifier",
            "hiveboard.agent.type": "sales",
            "hiveboard.task.id": "task-001",
            "hiveboard.project": "sales-pipeline",
            "hiveboard.task.type": "lead_qualification",
            "hiveboard.task.status": "completed",
            "hiveboard.task.outcome": "success",
        },
    )
    assert timeline(spans, task_span) == ["task_started"]
    assert task.task_id == "task-001"


def test_readme_layer1_exception_fails_the_task_and_propagates(agent, captured):
    def fetch_crm_data(lead_id):
        return Lead(lead_id)

    def score_lead(lead):
        return 72

    def route_lead(score):
        raise LookupError(f"no sales rep for score {score}")

    with pytest.raises(LookupError, match="no sales rep for score 72"):
        # hiveloop-README.md, "Quick Start" > "Layer 1: Task Timelines (add context managers)"
        with agent.task("task-001", project="sales-pipeline", type="lead_qualification") as task:
            lead = fetch_crm_data("lead-4821")
            score = score_lead(lead)
            route_lead(score)

    task_span = the(story(captured), "invoke_agent lead-qualifier")
    assert task_span["status"] == "ERROR"
    assert_has(task_span, {"hiveboard.task.status": "failed", "error.type": "LookupError"})
    [exception] = task_span["events"]
    assert exception["name"] == "exception"
    assert_has(exception, {"exception.type": "LookupError", "exception.message": "no sales rep for score 72"})
    assert task.task_id == "task-001"


def test_readme_layer2_full_story(agent, captured):
    # hiveloop-README.md, "Quick Start" > "Layer 2: Full Story (add rich events)"
    with agent.task("task-001", project="sales-pipeline") as task:
        # Track LLM calls with cost data
        task.llm_call(
            "lead_scoring",
            "claude-sonnet-4-20250514",
            tokens_in=1800,
            tokens_out=250,
            cost=0.004,
            duration_ms=1200,
            prompt_preview="Score this lead based on...",
            response_preview="Score: 72. Reasoning: ...",
        )

        # Track multi-step plans
        task.plan("Process lead", ["Fetch CRM", "Score", "Enrich", "Route"])
        task.plan_step(0, "completed", "CRM data retrieved", turns=1, tokens=800)
        task.plan_step(1, "completed", "Lead scored 72", turns=2, tokens=3200)
        task.plan_step(2, "failed", "Enrichment API timeout")

        # Escalate when needed
        task.escalate("Enrichment service down", reason="service_outage")

        # Request human approval
        task.request_approval("Credit $450 for customer BlueStar?", approver="sales-lead")

    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == [
        "task_started",
        "chat claude-sonnet-4-20250514",
        "plan_created",
        "plan_step 0 completed",
        "plan_step 1 completed",
        "plan_step 2 failed",
        "escalated",
        "approval_requested",
    ]
    llm = the(spans, "chat claude-sonnet-4-20250514")
    assert llm["kind"] == "CLIENT"
    assert llm["end_time"] - llm["start_time"] == 1_200_000_000
    assert_has(
        llm,
        {
            "hiveboard.span.type": "llm",
            "hiveboard.task.id": "task-001",
            "hiveboard.llm.name": "lead_scoring",
            "gen_ai.request.model": "claude-sonnet-4-20250514",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.usage.input_tokens": 1800,
            "gen_ai.usage.output_tokens": 250,
            "hiveboard.llm.cost": 0.004,
            "hiveboard.llm.prompt_preview": "Score this lead based on...",
            "hiveboard.llm.response_preview": "Score: 72. Reasoning: ...",
        },
    )
    assert_has(
        the(spans, "plan_created"),
        {
            "hiveboard.plan.goal": "Process lead",
            "hiveboard.plan.steps": ["Fetch CRM", "Score", "Enrich", "Route"],
            "hiveboard.plan.total_steps": 4,
            "hiveboard.plan.revision": 0,
        },
    )
    steps = of_type(spans, "plan_step")
    assert [step["attributes"]["hiveboard.plan.total_steps"] for step in steps] == [4, 4, 4]
    assert_has(steps[1], {"hiveboard.plan.step.turns": 2, "hiveboard.plan.step.tokens": 3200})
    assert_has(steps[2], {"hiveboard.event.summary": "Enrichment API timeout", "hiveboard.severity": "warn"})
    assert_has(
        the(spans, "escalated"),
        {
            "hiveboard.event.summary": "Enrichment service down",
            "hiveboard.escalation.reason": "service_outage",
        },
    )
    assert_has(
        the(spans, "approval_requested"),
        {
            "hiveboard.event.summary": "Credit $450 for customer BlueStar?",
            "hiveboard.approval.approver": "sales-lead",
        },
    )


def readme_action_tracking(agent, crm_client, enrichment_api, score):
    # hiveloop-README.md, "Action Tracking"
    # fmt: off
    @agent.track("fetch_crm_data")
    def fetch_crm_data(lead_id):
        return crm_client.get_lead(lead_id)

    @agent.track("enrich_company")
    async def enrich_company(company_name):
        return await enrichment_api.lookup(company_name)

    @agent.track("process_lead")
    def process_lead(lead_id):
        lead = fetch_crm_data(lead_id)       # Nested action
        company = enrich_company(lead.company) # Nested action
        return score(lead, company)

    with agent.task("task-001") as task:
        result = process_lead("lead-4821")
    # fmt: on

    return task, result


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_readme_action_tracking_nests_sync_actions(agent, captured):
    task, result = readme_action_tracking(agent, CrmClient(), EnrichmentApi(), lambda lead, company: 72)

    assert result == 72
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    process_lead = the(spans, "process_lead")
    fetch_crm_data = the(spans, "fetch_crm_data")
    assert timeline(spans, task_span) == ["task_started", "process_lead completed"]
    assert fetch_crm_data["parent_span_id"] == process_lead["span_id"]
    assert fetch_crm_data["status"] == "OK"
    assert timeline(spans, fetch_crm_data) == ["action_started"]
    assert_has(process_lead, {"hiveboard.span.type": "action", "hiveboard.action.depth": 0})
    assert_has(fetch_crm_data, {"hiveboard.task.id": "task-001", "hiveboard.action.depth": 1})
    assert fetch_crm_data["end_time"] > fetch_crm_data["start_time"]
    assert task.task_id == "task-001"


@pytest.mark.xfail(
    strict=True,
    reason="seed bug: the README's sync process_lead() calls the async enrich_company() without "
    "awaiting it, so the coroutine never runs and no enrich_company action can appear",
)
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_readme_action_tracking_shows_enrich_company_under_process_lead(agent, captured):
    readme_action_tracking(agent, CrmClient(), EnrichmentApi(), lambda lead, company: 72)

    spans = story(captured)
    assert the(spans, "enrich_company")["parent_span_id"] == the(spans, "process_lead")["span_id"]


def test_readme_action_tracking_async_function(agent, captured):
    enrichment_api = EnrichmentApi()

    # hiveloop-README.md, "Action Tracking" (the async function)
    @agent.track("enrich_company")
    async def enrich_company(company_name):
        return await enrichment_api.lookup(company_name)

    # An async caller awaits it, here in a task.
    with agent.task("task-001"):
        company = asyncio.run(enrich_company("BlueStar"))

    assert company == {"name": "BlueStar", "employees": 120}
    spans = story(captured)
    enrich = the(spans, "enrich_company")
    assert enrich["parent_span_id"] == the(spans, "invoke_agent lead-qualifier")["span_id"]
    assert enrich["status"] == "OK"
    assert_has(enrich, {"hiveboard.action.status": "completed", "hiveboard.task.id": "task-001"})


def test_readme_track_context_with_payload(agent, captured):
    data = ["lead-100", "lead-101", "lead-102"]

    def process_batch(batch):
        return [item.upper() for item in batch]

    # hiveloop-README.md, "Action Tracking" (inline tracking without decorators)
    with agent.track_context("data_processing") as action:
        items = process_batch(data)
        action.set_payload({"items_processed": len(items)})

    spans = story(captured)
    processing = the(spans, "data_processing")
    assert processing["status"] == "OK"
    assert_has(
        processing,
        {
            "hiveboard.span.type": "action",
            "hiveboard.agent.id": "lead-qualifier",
            "hiveboard.action.status": "completed",
        },
    )
    assert payload(processing) == {"items_processed": 3}
    assert timeline(spans, processing) == ["action_started"]


def test_readme_queue_monitoring(hb, agent, captured):
    my_queue = AgingQueue(["lead-102", "lead-103", "lead-104"])

    # hiveloop-README.md, "Agent-Level Features" > "Queue Monitoring"
    # Manual snapshot
    agent.queue_snapshot(
        depth=5,
        oldest_age_seconds=120,
        items=[
            {"id": "lead-100", "priority": "high", "source": "inbound"},
            {"id": "lead-101", "priority": "normal", "source": "referral"},
        ],
    )

    # Or use automatic reporting via callback (emits with each heartbeat)
    def get_queue():
        return {"depth": len(my_queue), "oldest_age_seconds": my_queue.oldest_age()}

    agent = hb.agent("my-agent", queue_provider=get_queue)

    manual = the(story(captured), "queue_snapshot")
    assert_has(
        manual,
        {
            "hiveboard.agent.id": "lead-qualifier",
            "hiveboard.queue.depth": 5,
            "hiveboard.queue.oldest_age_seconds": 120.0,
            "hiveboard.queue.source": "manual",
        },
    )
    assert payload(manual, "hiveboard.queue.items") == [
        {"id": "lead-100", "priority": "high", "source": "inbound"},
        {"id": "lead-101", "priority": "normal", "source": "referral"},
    ]
    automatic = wait_for(captured, "queue_snapshot", "my-agent")
    assert_has(
        automatic,
        {
            "hiveboard.queue.depth": 3,
            "hiveboard.queue.oldest_age_seconds": 120.0,
            "hiveboard.queue.source": "provider",
        },
    )
    assert agent.agent_id == "my-agent"


def test_readme_issue_reporting(agent, captured):
    # hiveloop-README.md, "Agent-Level Features" > "Issue Reporting"
    agent.report_issue(
        "CRM API returning 403",
        severity="high",
        issue_id="crm-auth-failure",
        category="permissions",
        context={"endpoint": "/api/leads", "status_code": 403},
        occurrence_count=8,
    )

    # Later, when resolved:
    agent.resolve_issue("CRM credentials rotated", issue_id="crm-auth-failure")

    reported, resolved = of_type(story(captured), "issue")
    assert_has(
        reported,
        {
            "hiveboard.agent.id": "lead-qualifier",
            "hiveboard.event.summary": "CRM API returning 403",
            "hiveboard.issue.id": "crm-auth-failure",
            "hiveboard.issue.action": "reported",
            "hiveboard.issue.severity": "high",
            "hiveboard.issue.category": "permissions",
            "hiveboard.issue.occurrence_count": 8,
        },
    )
    assert payload(reported, "hiveboard.issue.context") == {"endpoint": "/api/leads", "status_code": 403}
    assert_has(
        resolved,
        {
            "hiveboard.event.summary": "CRM credentials rotated",
            "hiveboard.issue.id": "crm-auth-failure",
            "hiveboard.issue.action": "resolved",
        },
    )


def test_readme_todo_tracking(agent, captured):
    # hiveloop-README.md, "Agent-Level Features" > "TODO Tracking"
    agent.todo(
        "todo-001",
        action="created",
        summary="Follow up on failed enrichment for lead-4821",
        priority="high",
        source="failed_action",
        due_by="2026-02-14T15:00:00Z",
    )

    # When completed:
    agent.todo("todo-001", action="completed", summary="Enrichment retry succeeded")

    created, completed = of_type(story(captured), "todo")
    assert_has(
        created,
        {
            "hiveboard.todo.id": "todo-001",
            "hiveboard.todo.action": "created",
            "hiveboard.event.summary": "Follow up on failed enrichment for lead-4821",
            "hiveboard.todo.priority": "high",
            "hiveboard.todo.source": "failed_action",
            "hiveboard.todo.due_by": "2026-02-14T15:00:00Z",
        },
    )
    assert_has(
        completed,
        {
            "hiveboard.todo.id": "todo-001",
            "hiveboard.todo.action": "completed",
            "hiveboard.event.summary": "Enrichment retry succeeded",
        },
    )


def test_readme_scheduled_work(agent, captured):
    # hiveloop-README.md, "Agent-Level Features" > "Scheduled Work"
    # fmt: off
    agent.scheduled([
        {
            "id": "daily-sync",
            "name": "CRM Full Sync",
            "next_run": "2026-02-14T06:00:00Z",
            "interval": "24h",
            "enabled": True,
        },
        {
            "id": "hourly-check",
            "name": "Lead Queue Check",
            "next_run": "2026-02-13T15:00:00Z",
            "interval": "1h",
            "enabled": True,
        },
    ])
    # fmt: on

    scheduled = the(story(captured), "scheduled")
    assert scheduled["attributes"]["hiveboard.scheduled.count"] == 2
    assert [item["id"] for item in payload(scheduled, "hiveboard.scheduled.items")] == [
        "daily-sync",
        "hourly-check",
    ]
    assert payload(scheduled, "hiveboard.scheduled.items")[0]["next_run"] == "2026-02-14T06:00:00Z"


def test_readme_custom_heartbeat_data(hb, captured):
    my_queue = AgingQueue(["lead-100", "lead-101"])
    last_success_time = datetime.fromisoformat("2026-02-13T14:55:00+00:00")

    # hiveloop-README.md, "Agent-Level Features" > "Custom Heartbeat Data"
    def heartbeat_data():
        return {
            "crm_sync": True,
            "email_check": True,
            "queue_depth": len(my_queue),
            "last_success": last_success_time.isoformat(),
        }

    agent = hb.agent("my-agent", heartbeat_payload=heartbeat_data)

    heartbeat = wait_for(captured, "heartbeat", "my-agent")
    assert payload(heartbeat, "hiveboard.heartbeat.payload") == {
        "crm_sync": True,
        "email_check": True,
        "queue_depth": 2,
        "last_success": "2026-02-13T14:55:00+00:00",
    }
    assert agent.agent_id == "my-agent"


def test_readme_task_context_manager(agent, captured):
    work_done = []

    def do_work():
        work_done.append("lead-4821")

    # hiveloop-README.md, "Task Lifecycle" > "Context Manager (recommended)"
    with agent.task("task-001") as task:
        do_work()
        # Auto-completes on clean exit
        # Auto-fails with exception details if exception is raised

    assert work_done == ["lead-4821"]
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert task_span["status"] == "OK"
    assert_has(task_span, {"hiveboard.task.id": "task-001", "hiveboard.task.status": "completed"})
    assert timeline(spans, task_span) == ["task_started"]
    assert task.task_id == "task-001"


def test_readme_manual_lifecycle_completes(agent, captured):
    def do_work():
        return {"lead": "lead-4821", "score": 72}

    # hiveloop-README.md, "Task Lifecycle" > "Manual Lifecycle"
    task = agent.start_task("task-001", project="sales")

    try:
        result = do_work()
        task.complete(status="success", payload={"result": result})
    except Exception as e:
        task.fail(exception=e)

    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert task_span["status"] == "OK"
    assert_has(
        task_span,
        {
            "hiveboard.task.id": "task-001",
            "hiveboard.project": "sales",
            "hiveboard.task.status": "completed",
            "hiveboard.task.outcome": "success",
        },
    )
    assert payload(task_span) == {"result": {"lead": "lead-4821", "score": 72}}
    assert timeline(spans, task_span) == ["task_started"]
    assert hiveloop.get_current_task() is None


def test_readme_manual_lifecycle_fails(agent, captured):
    def do_work():
        raise TimeoutError("CRM did not answer within 30 s")

    # hiveloop-README.md, "Task Lifecycle" > "Manual Lifecycle"
    task = agent.start_task("task-001", project="sales")

    try:
        result = do_work()
        task.complete(status="success", payload={"result": result})
    except Exception as e:
        task.fail(exception=e)

    task_span = the(story(captured), "invoke_agent lead-qualifier")
    assert task_span["status"] == "ERROR"
    assert_has(task_span, {"hiveboard.task.status": "failed", "error.type": "TimeoutError"})
    [exception] = task_span["events"]
    assert_has(
        exception, {"exception.type": "TimeoutError", "exception.message": "CRM did not answer within 30 s"}
    )
    assert hiveloop.get_current_task() is None


def test_readme_task_set_payload(agent, captured):
    def compute_score():
        return 64

    # hiveloop-README.md, "Task Lifecycle" > "Setting Payload"
    with agent.task("task-001") as task:
        score = compute_score()
        task.set_payload({"score": score, "threshold": 80, "decision": "nurture"})

    task_span = the(story(captured), "invoke_agent lead-qualifier")
    assert_has(task_span, {"hiveboard.task.status": "completed"})
    assert payload(task_span) == {"score": 64, "threshold": 80, "decision": "nurture"}


def test_readme_approval_workflow(agent, captured):
    # hiveloop-README.md, "Approval Workflows"
    with agent.task("refund-review") as task:
        task.request_approval(
            "Refund $450 for customer BlueStar",
            approver="finance-team",
        )

        # ... wait for human decision ...

        task.approval_received(
            "Approved by @jsmith",
            approved_by="jsmith",
            decision="approved",
        )

    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == ["task_started", "approval_requested", "approval_received"]
    assert_has(
        the(spans, "approval_requested"),
        {
            "hiveboard.task.id": "refund-review",
            "hiveboard.event.summary": "Refund $450 for customer BlueStar",
            "hiveboard.approval.approver": "finance-team",
        },
    )
    assert_has(
        the(spans, "approval_received"),
        {
            "hiveboard.event.summary": "Approved by @jsmith",
            "hiveboard.approval.approved_by": "jsmith",
            "hiveboard.approval.decision": "approved",
        },
    )


def test_readme_retry_tracking(agent, captured, sleeps):
    call_external_api = fails_first(2, TimeoutError("read timed out"), result={"status": "ok"})

    # hiveloop-README.md, "Retry Tracking"
    # fmt: off
    with agent.task("task-001") as task:
        for attempt in range(3):
            try:
                result = call_external_api()
                break
            except TimeoutError:
                task.retry(
                    f"API timeout, attempt {attempt + 1}",
                    attempt=attempt + 1,
                    backoff_seconds=2 ** attempt,
                )
                time.sleep(2 ** attempt)
    # fmt: on

    assert result == {"status": "ok"}
    assert sleeps == [1, 2]
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == ["task_started", "retry #1", "retry #2"]
    first, second = of_type(spans, "retry_started")
    assert_has(
        first,
        {
            "hiveboard.event.summary": "API timeout, attempt 1",
            "hiveboard.retry.attempt": 1,
            "hiveboard.retry.backoff_seconds": 1.0,
        },
    )
    assert_has(second, {"hiveboard.retry.attempt": 2, "hiveboard.retry.backoff_seconds": 2.0})
    assert_has(task_span, {"hiveboard.task.status": "completed"})


# ---- manual-part7-operational-events.md ----------------------------------------------------------


def test_part7_replanning(agent, captured):
    objective = "Process and route incoming lead"
    planner = SimpleNamespace(
        replan=lambda objective, failed_step: [
            SimpleNamespace(description="Notify manager"),
            SimpleNamespace(description="Route to manual review"),
        ]
    )

    with agent.task("lead-4801") as task:
        # manual-part7-operational-events.md, §3.2 "The API"
        # fmt: off
        task.plan(
            "Process and route incoming lead",       # goal — what the plan achieves
            [                                        # steps — ordered list of step descriptions
                "Search CRM for existing record",
                "Score lead against criteria",
                "Generate follow-up email",
                "Update CRM with outcome",
            ],
        )
        # fmt: on

        # manual-part7-operational-events.md, §3.5 "Replanning"
        # Original plan failed at step 2
        task.plan_step(2, "failed", "Email API returned 403")

        # Agent replans
        new_steps = planner.replan(objective, failed_step=2)
        task.plan("Revised: route to manual review", [s.description for s in new_steps], revision=1)

        # Continue with new plan
        task.plan_step(0, "started", "Notifying manager")

    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == [
        "task_started",
        "plan_created",
        "plan_step 2 failed",
        "plan_created",
        "plan_step 0 started",
    ]
    original, revised = of_type(spans, "plan_created")
    failed, restarted = of_type(spans, "plan_step")
    assert_has(original, {"hiveboard.plan.revision": 0, "hiveboard.plan.total_steps": 4})
    assert_has(failed, {"hiveboard.plan.revision": 0, "hiveboard.plan.total_steps": 4})
    assert_has(
        revised,
        {
            "hiveboard.plan.goal": "Revised: route to manual review",
            "hiveboard.plan.steps": ["Notify manager", "Route to manual review"],
            "hiveboard.plan.total_steps": 2,
            "hiveboard.plan.revision": 1,
        },
    )
    # The steps that follow belong to the revised plan.
    assert_has(
        restarted,
        {
            "hiveboard.event.summary": "Notifying manager",
            "hiveboard.plan.revision": 1,
            "hiveboard.plan.total_steps": 2,
        },
    )


def test_part7_failed_tool_propagates(agent, captured):
    hiveloop_agent = agent
    crm_client = CrmClient(down=True)
    query = "ceo@bluestar.example"

    with pytest.raises(ConnectionError, match="Connection refused"), agent.task("lead-4821"):
        # manual-part7-operational-events.md, §8.7 "Error handling"
        with hiveloop_agent.track_context("crm_search") as ctx:
            result = crm_client.search(query)  # raises ConnectionError  # noqa: F841
        # ConnectionError propagates — but the timeline now shows:
        #   [● crm_search] (red, failed)
        #     exception_type: ConnectionError
        #     exception_message: Connection refused
        #     duration: 2.1s

    spans = story(captured)
    crm_search = the(spans, "crm_search")
    assert crm_search["status"] == "ERROR"
    assert crm_search["status_description"] == "ConnectionError: Connection refused"
    assert_has(
        crm_search,
        {"hiveboard.action.status": "failed", "error.type": "ConnectionError"},
    )
    [exception] = crm_search["events"]
    assert_has(exception, {"exception.type": "ConnectionError", "exception.message": "Connection refused"})
    # The exception propagated out of the task too.
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == ["task_started", "crm_search failed"]
    assert_has(task_span, {"hiveboard.task.status": "failed", "error.type": "ConnectionError"})
    assert ctx.name == "crm_search"


def test_part7_caught_tool_failure_continues(agent, captured):
    hiveloop_agent = agent

    def crm_search(query):
        raise ToolError("CRM returned 500")

    tool_registry = ToolRegistry(
        {"crm_search": crm_search, "send_email": lambda to: ToolResult(output="sent")}
    )
    response = LlmResponse(
        "claude-sonnet-4-20250514",
        Usage(900, 120),
        [
            ToolCall("crm_search", {"query": "BlueStar"}),
            ToolCall("send_email", {"to": "ceo@bluestar.example"}),
        ],
    )
    results = []

    with agent.task("lead-4821"):
        # manual-part7-operational-events.md, §8.7 "Error handling" (catch and continue)
        for tool_call in response.tool_calls:
            try:
                with hiveloop_agent.track_context(tool_call.name) as ctx:
                    result = tool_registry.execute(tool_call.name, tool_call.arguments)
            except ToolError as e:
                results.append({"error": str(e)})
                continue

    assert results == [{"error": "CRM returned 500"}]
    assert str(result) == "sent"
    assert [name for name, _ in tool_registry.executed] == ["crm_search", "send_email"]
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == ["task_started", "crm_search failed", "send_email completed"]
    assert_has(the(spans, "crm_search"), {"error.type": "ToolError"})
    assert_has(task_span, {"hiveboard.task.status": "completed"})
    assert ctx.name == "send_email"


def test_part7_nested_tool_calls(agent, captured):
    hiveloop_agent = agent
    crm_client = CrmClient()
    scorer = SimpleNamespace(score=lambda lead, record: 0.72)
    lead = Lead("lead-4821")

    with agent.task("lead-4821"):
        # manual-part7-operational-events.md, §8.8 "Nested tool calls"
        with hiveloop_agent.track_context("process_lead") as ctx:
            # This tool internally calls sub-tools:
            with hiveloop_agent.track_context("crm_search") as ctx2:
                record = crm_client.search(lead.email)
            with hiveloop_agent.track_context("score_lead") as ctx3:
                score = scorer.score(lead, record)

    assert score == 0.72
    spans = story(captured)
    process_lead = the(spans, "process_lead")
    assert timeline(spans, the(spans, "invoke_agent lead-qualifier")) == [
        "task_started",
        "process_lead completed",
    ]
    assert timeline(spans, process_lead) == ["action_started", "crm_search completed", "score_lead completed"]
    assert [
        the(spans, name)["attributes"]["hiveboard.action.depth"] for name in ("crm_search", "score_lead")
    ] == [1, 1]
    assert (ctx.name, ctx2.name, ctx3.name) == ("process_lead", "crm_search", "score_lead")


GUIDE_OBSERVABILITY_PY = """\
# integration-guide-for-agentic-frameworks.md, Layer 1 "Step 4: Plumb the task handle through the call stack"
# observability.py
import contextvars
from typing import Any, Optional

_current_task = contextvars.ContextVar("hiveloop_task", default=None)
_current_agent = contextvars.ContextVar("hiveloop_agent", default=None)

def set_current_task(task: Any) -> None:
    _current_task.set(task)

def get_current_task() -> Optional[Any]:
    return _current_task.get()

def clear_current_task() -> None:
    _current_task.set(None)

def set_hiveloop_agent(agent: Any) -> None:
    _current_agent.set(agent)

def get_hiveloop_agent() -> Optional[Any]:
    return _current_agent.get()

def clear_hiveloop_agent() -> None:
    _current_agent.set(None)

# integration-guide-for-agentic-frameworks.md, Layer 2a "Cost estimation helper"
# Prices as of early 2026 -- update when pricing changes
COST_PER_MILLION = {
    # Anthropic
    "claude-opus-4-6": {"input": 15.00, "output": 75.00},
    "claude-sonnet-4-5-20250929": {"input": 3.00, "output": 15.00},
    "claude-haiku-4-5-20251001": {"input": 0.80, "output": 4.00},
    "claude-3-haiku-20240307": {"input": 0.25, "output": 1.25},
    # OpenAI
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    # Add your models here
}

def estimate_cost(model: str, tokens_in: int, tokens_out: int) -> float | None:
    rates = COST_PER_MILLION.get(model)
    if not rates:
        return None
    return (tokens_in * rates["input"] / 1_000_000) + (tokens_out * rates["output"] / 1_000_000)
"""


@pytest.fixture
def myproject_observability(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Manual part 7 imports its plumbing (the integration guide's) from `myproject.observability`."""
    return install_module(monkeypatch, "myproject.observability", GUIDE_OBSERVABILITY_PY)


def part7_putting_it_all_together(
    lead, work_queue, search_crm, score_lead, enrich_lead, assign_to_rep, get_rep
):
    # manual-part7-operational-events.md, §9 "Putting It All Together"
    import hiveloop  # noqa: I001
    from myproject.observability import get_current_task, get_hiveloop_agent  # noqa: F401

    # fmt: off
    hb = hiveloop.init(api_key="hb_live_xxx", endpoint="http://localhost:8000")

    agent = hb.agent(
        "lead-qualifier",
        type="sales",
        queue_provider=lambda: {"depth": work_queue.qsize()},    # queue snapshot (automatic)
    )

    def process_lead(lead):
        with agent.task(f"lead-{lead.id}", project="sales-pipeline", type="lead_processing") as task:

            # Create a plan
            task.plan("Qualify and route lead", [
                "Search CRM for existing record",
                "Score lead against criteria",
                "Enrich with external data",
                "Route to sales rep",
            ])

            # Step 0: CRM search — tracked as a tool execution
            task.plan_step(0, "started", "Searching CRM")
            with agent.track_context("search_crm") as ctx:
                crm_record = search_crm(lead.email)
            task.plan_step(0, "completed", f"Found: {crm_record is not None}")

            # Step 1: Score lead — tracked as a tool execution
            task.plan_step(1, "started", "Scoring lead")
            with agent.track_context("score_lead") as ctx:
                score = score_lead(lead, crm_record)
            task.plan_step(1, "completed", f"Score: {score}")

            # Step 2: Enrich — with retry on failure, each attempt tracked
            task.plan_step(2, "started", "Enriching lead data")
            for attempt in range(1, 4):
                try:
                    with agent.track_context("enrich_lead") as ctx:
                        enrichment = enrich_lead(lead)  # noqa: F841
                    task.plan_step(2, "completed", "Enrichment succeeded")
                    break
                except APITimeoutError as e:  # noqa: F841
                    if attempt < 3:
                        task.retry(f"Enrichment API timeout", attempt=attempt, backoff_seconds=2.0)  # noqa: F541
                        time.sleep(2.0)
                    else:
                        task.plan_step(2, "failed", f"Enrichment failed after 3 attempts")  # noqa: F541
                        # Report persistent issue
                        agent.report_issue(
                            summary="Enrichment API consistently timing out",
                            severity="high",
                            issue_id="enrichment-timeout",
                            category="connectivity",
                            context={"api": "clearbit", "timeout_ms": 5000},
                        )

            # Step 3: Route — with escalation for low scores
            task.plan_step(3, "started", "Routing lead")
            if score < 0.2:
                task.escalate(
                    f"Lead score {score:.2f} — below threshold, needs manual review",
                    assigned_to="senior-sales",
                )
                task.plan_step(3, "completed", "Escalated to senior sales")
            else:
                with agent.track_context("assign_to_rep") as ctx:  # noqa: F841
                    assign_to_rep(lead, score)
                task.plan_step(3, "completed", f"Assigned to {get_rep(score)}")
    # fmt: on

    # (The application processes a lead.)
    process_lead(lead)

    # Later, when the API recovers:
    agent.resolve_issue("Enrichment API recovered", issue_id="enrichment-timeout")


def a_work_queue(*items: str) -> queue.Queue:
    work_queue: queue.Queue = queue.Queue()
    for item in items:
        work_queue.put(item)
    return work_queue


@pytest.mark.usefixtures("myproject_observability")
def test_part7_all_together_routes_a_good_lead_after_retries(captured, sleeps):
    assigned = []
    part7_putting_it_all_together(
        Lead("4821"),
        a_work_queue("lead-4822", "lead-4823", "lead-4824"),
        search_crm=CrmClient().search,
        score_lead=lambda lead, record: 0.85,
        enrich_lead=fails_first(2, APITimeoutError("no answer within 5000 ms"), result={"employees": 120}),
        assign_to_rep=lambda lead, score: assigned.append((lead.id, score)),
        get_rep=lambda score: "rep-7",
    )

    assert assigned == [("4821", 0.85)]
    assert sleeps == [2.0, 2.0]
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span) == [
        "task_started",
        "plan_created",
        "plan_step 0 started",
        "search_crm completed",
        "plan_step 0 completed",
        "plan_step 1 started",
        "score_lead completed",
        "plan_step 1 completed",
        "plan_step 2 started",
        "enrich_lead failed",
        "retry #1",
        "enrich_lead failed",
        "retry #2",
        "enrich_lead completed",
        "plan_step 2 completed",
        "plan_step 3 started",
        "assign_to_rep completed",
        "plan_step 3 completed",
    ]
    assert task_span["status"] == "OK"
    assert_has(
        task_span,
        {
            "hiveboard.task.id": "lead-4821",
            "hiveboard.project": "sales-pipeline",
            "hiveboard.task.type": "lead_processing",
            "hiveboard.task.status": "completed",
        },
    )
    assert_has(
        the(spans, "plan_created"),
        {
            "hiveboard.plan.goal": "Qualify and route lead",
            "hiveboard.plan.steps": [
                "Search CRM for existing record",
                "Score lead against criteria",
                "Enrich with external data",
                "Route to sales rep",
            ],
        },
    )
    assert {step["attributes"]["hiveboard.plan.total_steps"] for step in of_type(spans, "plan_step")} == {4}
    assert of_type(spans, "plan_step")[-1]["attributes"]["hiveboard.event.summary"] == "Assigned to rep-7"
    failed_attempts = [span for span in spans if span["name"] == "enrich_lead" and span["status"] == "ERROR"]
    assert [span["attributes"]["error.type"] for span in failed_attempts] == ["APITimeoutError"] * 2
    assert [span["events"][0]["attributes"]["exception.message"] for span in failed_attempts] == [
        "no answer within 5000 ms"
    ] * 2
    assert [
        retry["attributes"]["hiveboard.retry.backoff_seconds"] for retry in of_type(spans, "retry_started")
    ] == [
        2.0,
        2.0,
    ]
    # No issue was reported: only the "Later" resolution, at agent level.
    [resolved] = of_type(spans, "issue")
    assert_has(resolved, {"hiveboard.issue.action": "resolved", "hiveboard.issue.id": "enrichment-timeout"})
    assert "hiveboard.task.id" not in resolved["attributes"]
    # The agent card's queue badge, from queue_provider.
    assert_has(wait_for(captured, "queue_snapshot", "lead-qualifier"), {"hiveboard.queue.depth": 3})


@pytest.mark.usefixtures("myproject_observability")
def test_part7_all_together_escalates_a_poor_lead_and_reports_the_outage(captured, sleeps):
    part7_putting_it_all_together(
        Lead("4822"),
        a_work_queue(),
        search_crm=CrmClient().search,
        score_lead=lambda lead, record: 0.12,
        enrich_lead=fails_first(3, APITimeoutError("no answer within 5000 ms")),
        assign_to_rep=lambda lead, score: pytest.fail("a lead scored below 0.2 is escalated, not assigned"),
        get_rep=lambda score: "rep-7",
    )

    assert sleeps == [2.0, 2.0]
    spans = story(captured)
    task_span = the(spans, "invoke_agent lead-qualifier")
    assert timeline(spans, task_span)[8:] == [
        "plan_step 2 started",
        "enrich_lead failed",
        "retry #1",
        "enrich_lead failed",
        "retry #2",
        "enrich_lead failed",
        "plan_step 2 failed",
        "issue",
        "plan_step 3 started",
        "escalated",
        "plan_step 3 completed",
    ]
    # The task still completes: the agent handled the failure by escalating.
    assert task_span["status"] == "OK"
    assert_has(task_span, {"hiveboard.task.id": "lead-4822", "hiveboard.task.status": "completed"})
    assert_has(
        the(spans, "escalated"),
        {
            "hiveboard.event.summary": "Lead score 0.12 — below threshold, needs manual review",
            "hiveboard.escalation.assigned_to": "senior-sales",
            "hiveboard.severity": "warn",
        },
    )
    reported, resolved = of_type(spans, "issue")
    assert_has(
        reported,
        {
            "hiveboard.task.id": "lead-4822",
            "hiveboard.event.summary": "Enrichment API consistently timing out",
            "hiveboard.issue.id": "enrichment-timeout",
            "hiveboard.issue.action": "reported",
            "hiveboard.issue.severity": "high",
            "hiveboard.issue.category": "connectivity",
        },
    )
    assert payload(reported, "hiveboard.issue.context") == {"api": "clearbit", "timeout_ms": 5000}
    # Later, outside the task, the same issue is resolved.
    assert resolved["parent_span_id"] is None
    assert_has(
        resolved,
        {
            "hiveboard.agent.id": "lead-qualifier",
            "hiveboard.event.summary": "Enrichment API recovered",
            "hiveboard.issue.id": "enrichment-timeout",
            "hiveboard.issue.action": "resolved",
        },
    )
    assert "hiveboard.task.id" not in resolved["attributes"]
    assert_has(wait_for(captured, "queue_snapshot", "lead-qualifier"), {"hiveboard.queue.depth": 0})


# ---- integration-guide-for-agentic-frameworks.md -------------------------------------------------


@pytest.fixture
def your_app_observability(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The guide's plumbing module, imported by its examples as `your_app.observability`."""
    return install_module(monkeypatch, "your_app.observability", GUIDE_OBSERVABILITY_PY)


@pytest.fixture
def guide_hb(captured: CapturedSpans) -> hiveloop.HiveBoard:
    # integration-guide-for-agentic-frameworks.md, Layer 0 "Step 1: Initialize the SDK"
    hb = hiveloop.init(
        api_key="hb_live_your_key_here",
        endpoint="https://your-hiveboard-server.com",
        environment="production",
    )
    return hb


@pytest.fixture
def guide_agent(guide_hb: hiveloop.HiveBoard) -> hiveloop.Agent:
    hb = guide_hb
    # integration-guide-for-agentic-frameworks.md, Layer 0 "Step 2: Register agents"
    hiveloop_agent = hb.agent(
        agent_id="sales",
        type="sales",  # role or classification
        version="claude-sonnet-4-5",  # model or agent version
        framework="my-framework",  # your framework name
        heartbeat_interval=30,  # seconds between heartbeats (0 to disable)
        stuck_threshold=300,  # seconds without heartbeat before "stuck" badge
    )
    return hiveloop_agent


def test_guide_complete_turn(your_app_observability, guide_agent, captured):
    from your_app.observability import (
        clear_current_task,
        clear_hiveloop_agent,
        set_current_task,
        set_hiveloop_agent,
    )

    llm_client = LlmClient(
        "claude-sonnet-4-5-20250929",
        LlmResponse(
            "claude-sonnet-4-5-20250929",
            Usage(input_tokens=1200, output_tokens=300),
            [
                ToolCall("search_crm", {"query": "BlueStar", "limit": 5}),
                ToolCall("draft_email", {"body": "x" * 150}),
            ],
        ),
    )
    tool_registry = ToolRegistry(
        {
            "search_crm": lambda query, limit: ToolResult(output=f"1 record for {query}: owner rep-7"),
            "draft_email": lambda body: ToolResult(output="Draft saved"),
        }
    )
    messages = [{"role": "user", "content": "Qualify the BlueStar lead"}]
    tool_catalog = [{"name": "search_crm"}, {"name": "draft_email"}]
    system_prompt = "You are a sales agent."

    # integration-guide-for-agentic-frameworks.md, "Putting It All Together: Complete Turn Instrumentation"
    import time  # noqa: I001
    import json  # noqa: F401
    from your_app.observability import get_current_task, get_hiveloop_agent, estimate_cost

    # fmt: off
    def run_turn(messages, tool_catalog, system_prompt):
        """One turn of the agentic loop with full HiveLoop instrumentation."""

        # --- LLM CALL (Layer 2a) ---
        _start = time.perf_counter()
        response = llm_client.chat(
            messages=messages,
            tools=tool_catalog,
            system=system_prompt,
        )
        _elapsed_ms = (time.perf_counter() - _start) * 1000

        tokens_in = response.usage.input_tokens
        tokens_out = response.usage.output_tokens

        _task = get_current_task()
        if _task:
            try:
                _task.llm_call(
                    "agent_turn",
                    model=response.model,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    cost=estimate_cost(response.model, tokens_in, tokens_out),
                    duration_ms=round(_elapsed_ms),
                )
            except Exception:
                pass

        # --- TOOL EXECUTION (Layer 2b) ---
        if response.tool_calls:
            _agent = get_hiveloop_agent()
            for tool_call in response.tool_calls:
                if _agent is not None:
                    with _agent.track_context(tool_call.name) as ctx:
                        result = tool_registry.execute(tool_call.name, tool_call.arguments)
                        ctx.set_payload({
                            "args": {k: str(v)[:100] for k, v in tool_call.arguments.items()},
                            "result_preview": str(result)[:200],
                            "success": result.success,
                        })
                else:
                    result = tool_registry.execute(tool_call.name, tool_call.arguments)
                messages.append({"role": "tool", "content": str(result)})

        return response
    # fmt: on

    # The application's agent runs one turn; its HiveLoop handle is stored as in "Step 2", Option A.
    agent = SimpleNamespace(run=lambda message: run_turn(messages, tool_catalog, system_prompt))
    agent._hiveloop = guide_agent

    def generate_unique_task_id():  # the guide's Step 3 calls it without the arguments its own takes
        return "sales-evt-1001"

    # integration-guide-for-agentic-frameworks.md, Layer 1 "Step 3: Wrap task execution with agent.task()"
    def execute_agent(agent, message, event_context=None):
        hiveloop_agent = agent._hiveloop  # the handle from Layer 0
        if hiveloop_agent is not None:
            task_id = generate_unique_task_id()  # must be unique per execution
            with hiveloop_agent.task(
                task_id,
                project="my-project",
                type=event_context.get("source", "api") if event_context else "api",
            ) as task:
                # Make the task handle available deeper in the call stack
                set_current_task(task)
                set_hiveloop_agent(hiveloop_agent)
                try:
                    result = agent.run(message)
                finally:
                    clear_current_task()
                    clear_hiveloop_agent()
            return result
        else:
            return agent.run(message)

    response = execute_agent(agent, "Qualify the BlueStar lead", event_context={"source": "webhook"})

    assert response.model == "claude-sonnet-4-5-20250929"
    assert messages[1:] == [
        {"role": "tool", "content": "1 record for BlueStar: owner rep-7"},
        {"role": "tool", "content": "Draft saved"},
    ]
    assert get_current_task() is None and get_hiveloop_agent() is None
    spans = story(captured)
    task_span = the(spans, "invoke_agent sales")
    assert_has(
        task_span,
        {
            "hiveboard.agent.framework": "my-framework",
            "hiveboard.agent.version": "claude-sonnet-4-5",
            "hiveboard.task.id": "sales-evt-1001",
            "hiveboard.project": "my-project",
            "hiveboard.task.type": "webhook",
            "hiveboard.task.status": "completed",
        },
    )
    assert timeline(spans, task_span) == [
        "task_started",
        "chat claude-sonnet-4-5-20250929",
        "search_crm completed",
        "draft_email completed",
    ]
    llm = the(spans, "chat claude-sonnet-4-5-20250929")
    assert_has(
        llm,
        {
            "hiveboard.llm.name": "agent_turn",
            "gen_ai.usage.input_tokens": 1200,
            "gen_ai.usage.output_tokens": 300,
            "hiveboard.task.id": "sales-evt-1001",
        },
    )
    assert llm["attributes"]["hiveboard.llm.cost"] == pytest.approx(0.0081)
    assert payload(the(spans, "search_crm")) == {
        "args": {"query": "BlueStar", "limit": "5"},
        "result_preview": "1 record for BlueStar: owner rep-7",
        "success": True,
    }
    assert payload(the(spans, "draft_email"))["args"] == {"body": "x" * 100}


def test_guide_separated_lifecycle(guide_agent, captured):
    tool_registry = ToolRegistry(
        {"crm_lookup": lambda email: ToolResult(success=False, error=f"No CRM record for {email}")}
    )
    _agent, tool_name, parameters = guide_agent, "crm_lookup", {"email": "ceo@bluestar.example"}

    with guide_agent.task("sales-evt-1002", project="my-project"):
        # integration-guide-for-agentic-frameworks.md, Layer 2b "Separated lifecycle pattern"
        _ctx = None
        if _agent is not None:
            try:
                _ctx = _agent.track_context(tool_name)
                _ctx.__enter__()
            except Exception:
                _ctx = None

        # Tool always executes exactly once, regardless of tracking
        result = tool_registry.execute(tool_name, parameters)

        # fmt: off
        if _ctx is not None:
            try:
                _ctx.set_payload({
                    "args": {k: str(v)[:100] for k, v in parameters.items()},
                    "result_preview": (result.output or "")[:200],
                    "success": result.success,
                    "error": result.error,
                })
                _ctx.__exit__(None, None, None)
            except Exception:
                pass
        # fmt: on

        guide_agent.event("custom", payload={"kind": "marker"})  # after the tool, back in the task

    assert tool_registry.executed == [("crm_lookup", {"email": "ceo@bluestar.example"})]
    spans = story(captured)
    task_span = the(spans, "invoke_agent sales")
    assert timeline(spans, task_span) == ["task_started", "crm_lookup completed", "custom"]
    crm_lookup = the(spans, "crm_lookup")
    assert payload(crm_lookup) == {
        "args": {"email": "ceo@bluestar.example"},
        "result_preview": "",
        "success": False,
        "error": "No CRM record for ceo@bluestar.example",
    }
    assert timeline(spans, crm_lookup) == ["action_started"]


def test_guide_tool_payload(your_app_observability, guide_agent, captured):
    from your_app.observability import clear_hiveloop_agent, set_hiveloop_agent

    raw = b'{"id": "lead-4821", "stage": "qualified"}'
    tool_registry = ToolRegistry(
        {
            "crm_get_lead": lambda lead_id: ToolResult(
                data={"id": lead_id, "stage": "qualified"}, status_code=200, raw=raw
            )
        }
    )

    # integration-guide-for-agentic-frameworks.md, Layer 2b "Step 9" (import) and
    # "Standardized tool payloads with tool_payload()"
    from your_app.observability import get_hiveloop_agent  # noqa: I001
    from hiveloop import tool_payload

    # fmt: off
    def execute_tool(tool_name, parameters):
        _agent = get_hiveloop_agent()
        if _agent is not None:
            with _agent.track_context(tool_name) as ctx:
                result = tool_registry.execute(tool_name, parameters)
                ctx.set_payload(tool_payload(
                    args=parameters,
                    result=result.data,
                    success=result.ok,
                    error=result.error,
                    tool_category="crm",
                    http_status=result.status_code,
                    result_size_bytes=len(result.raw),
                ))
            return result
        else:
            return tool_registry.execute(tool_name, parameters)
    # fmt: on

    execute_tool("crm_get_lead", {"lead_id": "lead-4821"})  # no agent in this context: untracked
    with guide_agent.task("sales-evt-1003"):
        set_hiveloop_agent(guide_agent)
        try:
            result = execute_tool("crm_get_lead", {"lead_id": "lead-4821"})
        finally:
            clear_hiveloop_agent()

    assert result.data == {"id": "lead-4821", "stage": "qualified"}
    assert len(tool_registry.executed) == 2
    spans = story(captured)
    assert timeline(spans, the(spans, "invoke_agent sales")) == ["task_started", "crm_get_lead completed"]
    assert payload(the(spans, "crm_get_lead")) == {
        "success": True,
        "args": {"lead_id": "lead-4821"},
        "result": "{'id': 'lead-4821', 'stage': 'qualified'}",
        "tool_category": "crm",
        "http_status": 200,
        "result_size_bytes": len(raw),
    }


def test_guide_log_handler(guide_hb, captured, monkeypatch):
    monkeypatch.setattr(logging.getLogger("my_app"), "handlers", [])
    hb = guide_hb

    # integration-guide-for-agentic-frameworks.md, Layer 2c "Log forwarding with HiveBoardLogHandler"
    # (`...` stands for the other parameters; it runs as written.)
    from hiveloop.contrib.log_handler import HiveBoardLogHandler

    agent = hb.agent("my-agent", ...)
    logging.getLogger("my_app").addHandler(HiveBoardLogHandler(agent))

    logging.getLogger("my_app").info("Cache warmed")
    logging.getLogger("my_app").warning("Fallback model in use")
    logging.getLogger("my_app").error("CRM API returning 403")

    warning, error = of_type(story(captured), "issue")
    assert_has(
        warning,
        {
            "hiveboard.agent.id": "my-agent",
            "hiveboard.event.summary": "Fallback model in use",
            "hiveboard.issue.id": "log-my_app-WARNING",
            "hiveboard.issue.severity": "medium",
            "hiveboard.issue.category": "log",
        },
    )
    context = payload(warning, "hiveboard.issue.context")
    assert isinstance(context.pop("lineno"), int)
    assert context == {
        "logger": "my_app",
        "filename": "test_seed_examples.py",
        "funcName": "test_guide_log_handler",
    }
    assert_has(error, {"hiveboard.issue.id": "log-my_app-ERROR", "hiveboard.issue.severity": "high"})


def test_guide_approval_outside_a_task(guide_agent, captured):
    agents = {"sales": SimpleNamespace(_hiveloop=guide_agent)}
    get_agent = agents.get
    agent_id, event_title, event_id = "sales", "Credit $450 for BlueStar", "evt-77"

    # integration-guide-for-agentic-frameworks.md, Layer 2c "Approvals", outside a task context
    _hl_agent = getattr(get_agent(agent_id), "_hiveloop", None)
    if _hl_agent:
        try:
            _hl_agent.event(
                "approval_requested",
                payload={"summary": f"Approval needed: {event_title}", "approver": "human"},
            )
        except Exception:
            pass

    # fmt: off
    # Later, when the human responds:
    if _hl_agent:
        try:
            _hl_agent.event(
                "approval_received",
                payload={"summary": f"Event '{event_id}' approved", "approved_by": "human", "decision": "approved"},
            )
        except Exception:
            pass
    # fmt: on

    [requested] = of_type(story(captured), "approval_requested")
    [received] = of_type(story(captured), "approval_received")
    assert requested["parent_span_id"] is None and received["parent_span_id"] is None
    assert_has(
        requested,
        {
            "hiveboard.agent.id": "sales",
            "hiveboard.event.type": "approval_requested",
            "hiveboard.event.summary": "Approval needed: Credit $450 for BlueStar",
            "hiveboard.approval.approver": "human",
            "hiveboard.task.id": None,
        },
    )
    assert_has(
        received,
        {
            "hiveboard.event.type": "approval_received",
            "hiveboard.event.summary": "Event 'evt-77' approved",
            "hiveboard.approval.approved_by": "human",
            "hiveboard.approval.decision": "approved",
        },
    )


def test_guide_heartbeat_payload_and_queue_provider(guide_hb, captured):
    hb = guide_hb
    queued_at = datetime.fromisoformat("2026-02-13T14:00:00+00:00")
    inbox = AgingQueue(
        [
            SimpleNamespace(
                id="evt-2",
                priority="high",
                source="webhook",
                title=None,
                message="TechNova asks for a demo next week " * 4,
                timestamp=queued_at,
            )
        ]
    )
    working_on = SimpleNamespace(id="evt-1", title="Renewal quote for BlueStar", timestamp=queued_at)
    get_queue_for_agent = {"sales": inbox}.get
    get_currently_processing = {"sales": working_on}.get
    agent_obj = SimpleNamespace(
        config=SimpleNamespace(version="1.4.0"),
        current_model="claude-sonnet-4-5-20250929",
        metrics=SimpleNamespace(
            total_tokens_in=52_000,
            total_tokens_out=6_100,
            total_cost=0.23456,
            error_count=2,
            consecutive_failures=0,
            last_error_message="CRM timeout",
            tasks_completed=14,
            tasks_failed=2,
        ),
    )

    # integration-guide-for-agentic-frameworks.md, Layer 0 "Heartbeat payload: Rich agent telemetry"
    def make_heartbeat_payload(agent_obj):
        """Build a heartbeat payload callback for an agent."""
        _boot_time = time.time()

        def payload():
            return {
                # Uptime and lifecycle
                "uptime_seconds": int(time.time() - _boot_time),
                "version": agent_obj.config.version,
                # Cumulative token/cost counters (since boot)
                "total_tokens_in": agent_obj.metrics.total_tokens_in,
                "total_tokens_out": agent_obj.metrics.total_tokens_out,
                "total_cost_usd": round(agent_obj.metrics.total_cost, 4),
                # Error counters
                "total_errors": agent_obj.metrics.error_count,
                "consecutive_failures": agent_obj.metrics.consecutive_failures,
                "last_error": agent_obj.metrics.last_error_message,
                # Current state
                "current_model": agent_obj.current_model,
                "tasks_completed": agent_obj.metrics.tasks_completed,
                "tasks_failed": agent_obj.metrics.tasks_failed,
            }

        return payload

    # integration-guide-for-agentic-frameworks.md, Layer 2c "Queue snapshots"
    # fmt: off
    def make_queue_provider(agent_id):
        def provider():
            queue = get_queue_for_agent(agent_id)
            if not queue:
                return {"depth": 0}
            return {
                "depth": len(queue),
                "oldest_age_seconds": queue.oldest_age_seconds(),
                "items": [
                    {
                        "id": item.id,
                        "priority": item.priority,
                        "source": item.source,
                        "summary": item.title or item.message[:80],
                        "queued_at": item.timestamp.isoformat(),
                    }
                    for item in queue[:10]  # cap at 10 items
                ],
                "processing": {
                    "id": current.id,
                    "summary": current.title or current.message[:80],
                    "started_at": current.timestamp.isoformat(),
                } if (current := get_currently_processing(agent_id)) else None,
            }
        return provider
    # fmt: on

    # integration-guide-for-agentic-frameworks.md, Layer 0 "Heartbeat payload" (at agent registration)
    hiveloop_agent = hb.agent(
        agent_id="sales",
        type="sales",
        version="claude-sonnet-4-5",
        framework="my-framework",
        heartbeat_payload=make_heartbeat_payload(agent_obj),
        queue_provider=make_queue_provider("sales"),
    )

    heartbeat = wait_for(captured, "heartbeat", "sales")
    data = payload(heartbeat, "hiveboard.heartbeat.payload")
    assert data.pop("uptime_seconds") in (0, 1)
    assert data == {
        "version": "1.4.0",
        "total_tokens_in": 52_000,
        "total_tokens_out": 6_100,
        "total_cost_usd": 0.2346,
        "total_errors": 2,
        "consecutive_failures": 0,
        "last_error": "CRM timeout",
        "current_model": "claude-sonnet-4-5-20250929",
        "tasks_completed": 14,
        "tasks_failed": 2,
    }
    snapshot = wait_for(captured, "queue_snapshot", "sales")
    assert_has(snapshot, {"hiveboard.queue.depth": 1, "hiveboard.queue.oldest_age_seconds": 120.0})
    assert payload(snapshot, "hiveboard.queue.items") == [
        {
            "id": "evt-2",
            "priority": "high",
            "source": "webhook",
            "summary": ("TechNova asks for a demo next week " * 4)[:80],
            "queued_at": "2026-02-13T14:00:00+00:00",
        }
    ]
    assert payload(snapshot, "hiveboard.queue.processing") == {
        "id": "evt-1",
        "summary": "Renewal quote for BlueStar",
        "started_at": "2026-02-13T14:00:00+00:00",
    }
    assert hiveloop_agent.agent_id == "sales"


def test_guide_layer3_custom_events(your_app_observability, guide_agent, captured):
    from your_app.observability import clear_current_task, get_current_task, set_current_task

    agent_obj = SimpleNamespace(
        _hiveloop=guide_agent,
        config=SimpleNamespace(
            model="claude-sonnet-4-5-20250929",
            max_turns=20,
            temperature=0.2,
            max_tokens=4096,
            guardrails_enabled=True,
            version="1.4.0",
        ),
        tools=[SimpleNamespace(name="search_crm"), SimpleNamespace(name="draft_email")],
    )
    framework = SimpleNamespace(__version__="0.9.1")
    system_prompt = "You are a sales agent."
    previous_model, new_model = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"
    turn_count = 7
    tokens_before_compaction, tokens_after_compaction, num_messages_dropped = 180_000, 45_000, 32

    # integration-guide-for-agentic-frameworks.md, Layer 3 "Runtime lifecycle events"
    # fmt: off
    # At agent startup
    _agent = getattr(agent_obj, "_hiveloop", None)
    if _agent:
        try:
            _agent.event("custom", payload={
                "kind": "runtime",
                "data": {
                    "event": "agent_started",
                    "config": {
                        "model": agent_obj.config.model,
                        "max_turns": agent_obj.config.max_turns,
                        "temperature": agent_obj.config.temperature,
                        "tools_enabled": [t.name for t in agent_obj.tools],
                    },
                    "environment": {
                        "python_version": sys.version.split()[0],
                        "framework_version": framework.__version__,
                    },
                },
            })
        except Exception:
            pass

    # When the model changes mid-session (e.g., fallback to cheaper model)
    if _agent:
        try:
            _agent.event("custom", payload={
                "kind": "runtime",
                "data": {
                    "event": "model_switched",
                    "from_model": previous_model,
                    "to_model": new_model,
                    "reason": "cost_optimization",  # or "rate_limit", "fallback", "user_request"
                },
            })
        except Exception:
            pass

    # integration-guide-for-agentic-frameworks.md, Layer 3 "Configuration snapshots"
    # At agent boot or after config reload
    _agent = getattr(agent_obj, "_hiveloop", None)
    if _agent:
        try:
            _agent.event("custom", payload={
                "kind": "config_snapshot",
                "data": {
                    "model": agent_obj.config.model,
                    "temperature": agent_obj.config.temperature,
                    "max_turns": agent_obj.config.max_turns,
                    "max_tokens": agent_obj.config.max_tokens,
                    "tools": [t.name for t in agent_obj.tools],
                    "system_prompt_hash": hashlib.md5(
                        system_prompt.encode()
                    ).hexdigest()[:8],
                    "system_prompt_tokens": count_tokens(system_prompt),
                    "guardrails_enabled": agent_obj.config.guardrails_enabled,
                    "version": agent_obj.config.version,
    # fmt: on
                },
            })
        except Exception:
            pass

    with guide_agent.task("sales-evt-1004") as task:
        set_current_task(task)
        try:
            # integration-guide-for-agentic-frameworks.md, Layer 3 "Learning and self-correction events"
            # fmt: off
            _task = get_current_task()
            if _task:
                try:
                    _task.event("custom", payload={
                        "kind": "learning",
                        "data": {
                            "trigger": "reflection",  # what triggered the learning
                            "category": "tool_selection",  # what was learned about
                            "description": "Selected search_contacts instead of search_deals",
                            "correction_applied": True,
                            "turn_number": turn_count,
                        },
                    })
                except Exception:
                    pass

            # integration-guide-for-agentic-frameworks.md, Layer 3 "Context compaction tracking"
            _task = get_current_task()
            if _task:
                try:
                    _task.event("custom", payload={
                        "kind": "context_compaction",
                        "data": {
                            "tokens_before": tokens_before_compaction,
                            "tokens_after": tokens_after_compaction,
                            "tokens_removed": tokens_before_compaction - tokens_after_compaction,
                            "compression_ratio": round(tokens_after_compaction / tokens_before_compaction, 2),
                            "method": "summary",  # "summary", "truncation", "sliding_window"
                            "turn_number": turn_count,
                            "messages_removed": num_messages_dropped,
            # fmt: on
                        },
                    })
                except Exception:
                    pass
        finally:
            clear_current_task()

    spans = story(captured)
    customs = of_type(spans, "custom")
    kinds = [span["attributes"]["hiveboard.event.kind"] for span in customs]
    assert kinds == ["runtime", "runtime", "config_snapshot", "learning", "context_compaction"]
    agent_level, task_level = customs[:3], customs[3:]
    # Startup, model switch and configuration happen outside any task; learning and compaction inside one.
    assert [span["parent_span_id"] for span in agent_level] == [None] * 3
    assert all("hiveboard.task.id" not in span["attributes"] for span in agent_level)
    assert timeline(spans, the(spans, "invoke_agent sales")) == ["task_started", "custom", "custom"]
    started, switched, config = (payload(span, "hiveboard.event.data") for span in agent_level)
    assert started["event"] == "agent_started"
    assert started["config"]["tools_enabled"] == ["search_crm", "draft_email"]
    assert started["environment"] == {"python_version": sys.version.split()[0], "framework_version": "0.9.1"}
    assert switched == {
        "event": "model_switched",
        "from_model": "claude-sonnet-4-5-20250929",
        "to_model": "claude-haiku-4-5-20251001",
        "reason": "cost_optimization",
    }
    assert config["system_prompt_hash"] == hashlib.md5(b"You are a sales agent.").hexdigest()[:8]
    assert config["max_tokens"] == 4096
    learning, compaction = (payload(span, "hiveboard.event.data") for span in task_level)
    assert learning["category"] == "tool_selection" and learning["turn_number"] == 7
    assert compaction["tokens_removed"] == 135_000
    assert compaction["compression_ratio"] == 0.25
    assert {span["attributes"]["hiveboard.severity"] for span in customs} == {"info"}


def test_guide_layer4_cycle_detection(your_app_observability, guide_agent, captured):
    from your_app.observability import clear_current_task, get_current_task, set_current_task

    tool_registry = ToolRegistry({"search_crm": lambda query: ToolResult(output="no match")})
    turn_count = 3

    # integration-guide-for-agentic-frameworks.md, Layer 4 "Loop and cycle detection"
    # Cycle detection state — maintain per task
    # fmt: off
    _recent_actions = []  # list of (tool_name, args_hash) tuples
    MAX_HISTORY = 20
    CYCLE_THRESHOLD = 3  # same action 3+ times = probable loop

    def detect_cycle(tool_name: str, arguments: dict) -> bool:
        """Returns True if a cycle is detected."""
        args_hash = hashlib.md5(
            json.dumps(arguments, sort_keys=True).encode()
        ).hexdigest()[:8]
        _recent_actions.append((tool_name, args_hash))
        if len(_recent_actions) > MAX_HISTORY:
            _recent_actions.pop(0)

        # Check for exact repetition
        recent = _recent_actions[-CYCLE_THRESHOLD:]
        if len(recent) == CYCLE_THRESHOLD and len(set(recent)) == 1:
            return True

        # Check for A-B-A-B alternation
        if len(_recent_actions) >= 4:
            last4 = _recent_actions[-4:]
            if last4[0] == last4[2] and last4[1] == last4[3] and last4[0] != last4[1]:
                return True

        return False

    # In your tool dispatch function
    def execute_tool(tool_name, arguments):
        if detect_cycle(tool_name, arguments):
            _task = get_current_task()
            if _task:
                try:
                    _task.event("custom", payload={
                        "kind": "anomaly",
                        "data": {
                            "detector": "cycle",
                            "tool_name": tool_name,
                            "args_hash": hashlib.md5(
                                json.dumps(arguments, sort_keys=True).encode()
                            ).hexdigest()[:8],
                            "cycle_length": CYCLE_THRESHOLD,
                            "turn_number": turn_count,
                            "message": f"Agent called {tool_name} {CYCLE_THRESHOLD}x with same args",
                        },
                    })
                except Exception:
                    pass
            # Optional: break the cycle by failing the task or injecting guidance
            # raise CycleDetectedError(f"Loop detected: {tool_name}")

        result = tool_registry.execute(tool_name, arguments)
        return result
    # fmt: on

    with guide_agent.task("sales-evt-1005") as task:
        set_current_task(task)
        try:
            for _ in range(3):
                execute_tool("search_crm", {"query": "BlueStar"})
        finally:
            clear_current_task()

    assert len(tool_registry.executed) == 3
    spans = story(captured)
    assert timeline(spans, the(spans, "invoke_agent sales")) == ["task_started", "custom"]
    anomaly = the(spans, "custom")
    assert_has(anomaly, {"hiveboard.event.kind": "anomaly", "hiveboard.severity": "warn"})
    assert payload(anomaly, "hiveboard.event.data") == {
        "detector": "cycle",
        "tool_name": "search_crm",
        "args_hash": hashlib.md5(b'{"query": "BlueStar"}').hexdigest()[:8],
        "cycle_length": 3,
        "turn_number": 3,
        "message": "Agent called search_crm 3x with same args",
    }


def test_guide_layer4_prompt_composition(your_app_observability, guide_agent, captured):
    from your_app.observability import clear_current_task, get_current_task, set_current_task

    system_prompt = "You are a sales agent. " * 100
    tool_results = ["1 record for BlueStar: owner rep-7"]
    turns = [[{"role": "user", "content": "Qualify BlueStar"}], [{"role": "user", "content": "x" * 480_000}]]

    # integration-guide-for-agentic-frameworks.md, Layer 4 "Prompt composition breakdown"
    def analyze_prompt_composition(
        system_prompt: str,
        messages: list,
        tool_results: list | None = None,
        model_context_limit: int = 200_000,
    ) -> dict:
        """Analyze token distribution across prompt components."""
        sys_tokens = count_tokens(system_prompt)
        history_tokens = count_tokens(messages)
        tool_tokens = count_tokens(tool_results) if tool_results else 0
        total = sys_tokens + history_tokens + tool_tokens

        breakdown = {
            "system_prompt_tokens": sys_tokens,
            "history_tokens": history_tokens,
            "tool_results_tokens": tool_tokens,
            "total_input_tokens": total,
            "context_utilization_pct": round(total / model_context_limit * 100, 1),
            "largest_component": max(
                [("system", sys_tokens), ("history", history_tokens), ("tools", tool_tokens)],
                key=lambda x: x[1],
            )[0],
        }

        # Detect bloat: any single component > 60% of total
        for name, tokens in [("system", sys_tokens), ("history", history_tokens), ("tools", tool_tokens)]:
            pct = (tokens / total * 100) if total > 0 else 0
            breakdown[f"{name}_pct"] = round(pct, 1)
            if pct > 60:
                breakdown["bloat_warning"] = f"{name} is {pct:.0f}% of prompt"

        return breakdown

    with guide_agent.task("sales-evt-1006") as task:
        set_current_task(task)
        try:
            for turn_count, messages in enumerate(turns, start=1):
                # Before each LLM call
                # fmt: off
                composition = analyze_prompt_composition(system_prompt, messages, tool_results)
                _task = get_current_task()
                if _task and composition.get("context_utilization_pct", 0) > 50:
                    try:
                        _task.event("custom", payload={
                            "kind": "prompt_composition",
                            "data": {
                                **composition,
                                "turn_number": turn_count,
                            },
                        })
                    except Exception:
                        pass
                # fmt: on
        finally:
            clear_current_task()

    spans = story(captured)
    # Only the second turn, over 50% of the context window, is reported.
    assert timeline(spans, the(spans, "invoke_agent sales")) == ["task_started", "custom"]
    reported = the(spans, "custom")
    assert reported["attributes"]["hiveboard.event.kind"] == "prompt_composition"
    data = payload(reported, "hiveboard.event.data")
    assert data["turn_number"] == 2
    assert data["context_utilization_pct"] > 50
    assert data["largest_component"] == "history"
    assert data["bloat_warning"] == "history is 100% of prompt"


def test_guide_langchain_callback_handler(your_app_observability, guide_agent, captured):
    from your_app.observability import (
        clear_current_task,
        clear_hiveloop_agent,
        get_current_task,
        get_hiveloop_agent,
        set_current_task,
        set_hiveloop_agent,
    )

    # integration-guide-for-agentic-frameworks.md, "Framework callbacks (LangChain, CrewAI, AutoGen)"
    # LangChain example
    # fmt: off
    class HiveLoopCallbackHandler(BaseCallbackHandler):
        def on_llm_start(self, serialized, prompts, **kwargs):
            self._llm_start = time.perf_counter()

        def on_llm_end(self, response, **kwargs):
            elapsed = (time.perf_counter() - self._llm_start) * 1000
            _task = get_current_task()
            if _task:
                _task.llm_call("llm_call", model=response.model,
                               tokens_in=response.usage.input_tokens,
                               tokens_out=response.usage.output_tokens,
                               duration_ms=round(elapsed))

        def on_tool_start(self, serialized, input_str, **kwargs):
            self._tool_ctx = get_hiveloop_agent().track_context(serialized["name"])
            self._tool_ctx.__enter__()

        def on_tool_end(self, output, **kwargs):
            if self._tool_ctx:
                self._tool_ctx.set_payload({"result_preview": str(output)[:200]})
                self._tool_ctx.__exit__(None, None, None)
    # fmt: on

    # The framework runs a chain: LLM, tool, LLM.
    handler = HiveLoopCallbackHandler()
    model = "claude-haiku-4-5-20251001"
    with guide_agent.task("sales-evt-1007") as task:
        set_current_task(task)
        set_hiveloop_agent(guide_agent)
        try:
            handler.on_llm_start({"name": "ChatAnthropic"}, ["Qualify BlueStar"])
            handler.on_llm_end(LlmResponse(model, Usage(input_tokens=800, output_tokens=90)))
            handler.on_tool_start({"name": "search_crm"}, "BlueStar")
            handler.on_tool_end("1 record for BlueStar: owner rep-7")
            handler.on_llm_start({"name": "ChatAnthropic"}, ["Summarize"])
            handler.on_llm_end(LlmResponse(model, Usage(input_tokens=950, output_tokens=40)))
        finally:
            clear_current_task()
            clear_hiveloop_agent()

    spans = story(captured)
    task_span = the(spans, "invoke_agent sales")
    # The second LLM call is back under the task: on_tool_end restored the context.
    assert timeline(spans, task_span) == [
        "task_started",
        f"chat {model}",
        "search_crm completed",
        f"chat {model}",
    ]
    assert payload(the(spans, "search_crm")) == {"result_preview": "1 record for BlueStar: owner rep-7"}
    first_llm = [span for span in spans if span["name"] == f"chat {model}"][0]
    assert_has(
        first_llm,
        {
            "hiveboard.llm.name": "llm_call",
            "gen_ai.usage.input_tokens": 800,
            "gen_ai.usage.output_tokens": 90,
        },
    )


def test_guide_manual_task_lifecycle(your_app_observability, guide_agent, captured):
    from your_app.observability import clear_current_task, get_current_task, set_current_task

    hiveloop_agent, task_id = guide_agent, "sales-evt-1008"

    def do_work():
        get_current_task().llm_call("reasoning", "claude-haiku-4-5-20251001", tokens_in=400, tokens_out=60)
        with hiveloop_agent.track_context("search_crm"):
            return "qualified"

    # integration-guide-for-agentic-frameworks.md, Layer 1 "Alternative: Manual task lifecycle"
    task = hiveloop_agent.start_task(
        task_id,
        project="my-project",
        type="webhook",
    )
    set_current_task(task)

    # ... later, when the work finishes:
    try:
        result = do_work()
        task.complete()  # emits task_completed
    except Exception as exc:
        task.fail(exception=exc)  # emits task_failed
    finally:
        clear_current_task()

    assert result == "qualified"
    assert get_current_task() is None and hiveloop.get_current_task() is None
    spans = story(captured)
    task_span = the(spans, "invoke_agent sales")
    assert timeline(spans, task_span) == [
        "task_started",
        "chat claude-haiku-4-5-20251001",
        "search_crm completed",
    ]
    assert_has(
        task_span,
        {
            "hiveboard.task.id": "sales-evt-1008",
            "hiveboard.task.type": "webhook",
            "hiveboard.task.status": "completed",
        },
    )


# ---- example-loopcore-instrumentation-plan.md and example-loopcore-llm-call-tracking.md ----------

LOOP_CORE_OBSERVABILITY_PY = """\
# example-loopcore-instrumentation-plan.md, 1.1 "Initialize HiveLoop at startup" (module-level accessor)
# src/loop_core/observability.py (new file)
import hiveloop

_hb = None

def init_hiveloop(**kwargs):
    global _hb
    _hb = hiveloop.init(**kwargs)
    return _hb

def get_hb():
    return _hb

# example-loopcore-instrumentation-plan.md, 1.3 "Store the mapping"
# Wherever makes sense in loopCore's architecture
_hiveloop_agents: dict[str, hiveloop.Agent] = {}

def get_hiveloop_agent(agent_name: str):
    return _hiveloop_agents.get(agent_name)

# example-loopcore-instrumentation-plan.md, "Plumbing: Passing the Task Object"
# src/loop_core/observability.py
import contextvars

_current_task = contextvars.ContextVar('hiveloop_task', default=None)

def set_current_task(task):
    _current_task.set(task)

def get_current_task():
    return _current_task.get()
"""


@pytest.fixture
def loop_core_observability(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """loopCore's `src/loop_core/observability.py`, as the plan assembles it (see its "File Summary")."""
    return install_module(monkeypatch, "loop_core.observability", LOOP_CORE_OBSERVABILITY_PY)


@pytest.fixture
def loop_core_agent(loop_core_observability: ModuleType, captured: CapturedSpans) -> hiveloop.Agent:
    """loopCore initialized and its agent "sales-agent" registered and mapped."""
    hb = loop_core_observability.init_hiveloop(api_key="hb_live_dev000000000000000000000000000000")
    handle = hb.agent(
        "sales-agent", type="sales", framework="loopcore", heartbeat_interval=30, stuck_threshold=300
    )
    loop_core_observability._hiveloop_agents["sales-agent"] = handle
    return handle


def test_loopcore_init_and_register_agents(loop_core_observability, captured):
    # example-loopcore-instrumentation-plan.md, 1.2 "Register agents dynamically"
    from loop_core.observability import get_hb

    # fmt: off
    def register_agent_with_hiveloop(agent):
        """Call this wherever loopCore creates a new agent."""
        hb = get_hb()
        if hb is None:
            return None  # HiveLoop not initialized (e.g. testing)

        hiveloop_agent = hb.agent(
            agent_id=agent.name,          # unique identifier
            type=agent.type,              # e.g. "sales", "support", "research"
            version=getattr(agent, 'version', None),
            framework="loopcore",
            heartbeat_interval=30,
            stuck_threshold=300,
        )
        return hiveloop_agent
    # fmt: on

    from loop_core.observability import _hiveloop_agents, get_hiveloop_agent, init_hiveloop

    sales = SimpleNamespace(name="sales-agent", type="sales", version="2.1.0")
    research = SimpleNamespace(name="research-agent", type="research")
    assert register_agent_with_hiveloop(sales) is None  # HiveLoop not initialized yet

    # The parameters of 1.1 "Initialize HiveLoop at startup", through the accessor.
    hb = init_hiveloop(
        api_key="hb_live_dev000000000000000000000000000000",
        endpoint="http://localhost:8000",
        environment="production",
        group="loopcolony",
        flush_interval=2.0,
        batch_size=50,
    )
    # Where loopCore creates its agents, the mapping of 1.3 is filled.
    for agent in (sales, research):
        _hiveloop_agents[agent.name] = register_agent_with_hiveloop(agent)

    assert get_hb() is hb
    assert (hb.config.flush_interval, hb.config.batch_size) == (2.0, 50)
    # hb.agent() is idempotent: registering again returns the same handle and registers nothing new.
    assert register_agent_with_hiveloop(sales) is get_hiveloop_agent("sales-agent")
    resource = captured.resource_attributes()
    assert (resource["hiveboard.group"], resource["deployment.environment.name"]) == (
        "loopcolony",
        "production",
    )
    sales_registered, research_registered = of_type(story(captured), "agent_registered")
    liveness = {
        "hiveboard.agent.framework": "loopcore",
        "hiveboard.agent.heartbeat_interval": 30.0,
        "hiveboard.agent.stuck_threshold": 300,
    }
    assert_has(
        sales_registered,
        {
            **liveness,
            "hiveboard.agent.id": "sales-agent",
            "hiveboard.agent.type": "sales",
            "hiveboard.agent.version": "2.1.0",
        },
    )
    assert_has(
        research_registered,
        {
            **liveness,
            "hiveboard.agent.id": "research-agent",
            "hiveboard.agent.type": "research",
            "hiveboard.agent.version": None,
        },
    )
    # Each agent gets its own heartbeat thread.
    for agent_id in ("sales-agent", "research-agent"):
        assert_has(wait_for(captured, "heartbeat", agent_id), liveness)


def test_loopcore_task_wrapper_and_llm_call_sites(loop_core_agent, captured):
    from loop_core.observability import get_current_task, get_hiveloop_agent, set_current_task

    phase1_client = LlmClient(
        "claude-sonnet-4-5-20250929", LlmResponse("claude-sonnet-4-5-20250929", Usage(2400, 350))
    )
    phase2_client = LlmClient(
        "claude-haiku-4-5-20251001", LlmResponse("claude-haiku-4-5-20251001", Usage(5200, 410))
    )

    def run_loop():  # loopCore's loop.py
        # example-loopcore-llm-call-tracking.md, "The Pattern" (imports)
        import time  # noqa: I001
        from loop_core.observability import get_current_task

        # example-loopcore-llm-call-tracking.md, "Site 1: Phase 1 — Structured Reasoning"
        # fmt: off
        _llm_start = time.perf_counter()
        phase1_response = phase1_client.complete_json(...)
        _llm_elapsed = (time.perf_counter() - _llm_start) * 1000

        _task = get_current_task()
        if _task:
            try:
                _task.llm_call(
                    "phase1_reasoning",
                    model=phase1_client.model,          # or however the model name is accessed
                    tokens_in=phase1_response.usage.input_tokens,
                    tokens_out=phase1_response.usage.output_tokens,
                    duration_ms=round(_llm_elapsed),
                )
            except Exception:
                pass

        # example-loopcore-llm-call-tracking.md, "Site 2: Phase 2 — Tool Use Execution"
        _llm_start = time.perf_counter()
        phase2_response = phase2_client.complete_with_tools(...)
        _llm_elapsed = (time.perf_counter() - _llm_start) * 1000

        _task = get_current_task()
        if _task:
            try:
                _task.llm_call(
                    "phase2_tool_use",
                    model=phase2_client.model,
                    tokens_in=phase2_response.usage.input_tokens,
                    tokens_out=phase2_response.usage.output_tokens,
                    duration_ms=round(_llm_elapsed),
                )
            except Exception:
                pass

        return phase2_response
        # fmt: on

    agent = SimpleNamespace(name="sales-agent", run=lambda *args: run_loop())
    event_id = "evt-1001"

    # example-loopcore-instrumentation-plan.md, 2.1 "Wrap agent runs with task context", with the
    # wrapper's body from "Plumbing: Passing the Task Object" ("At the agent.task() wrapper")
    hiveloop_agent = get_hiveloop_agent(agent.name)

    if hiveloop_agent:
        with hiveloop_agent.task(event_id, project="loopcolony", type="agent_run") as task:
            set_current_task(task)
            try:
                result = agent.run(...)
            finally:
                set_current_task(None)
    else:
        result = agent.run(...)

    assert result.usage == Usage(5200, 410)
    assert get_current_task() is None
    spans = story(captured)
    task_span = the(spans, "invoke_agent sales-agent")
    assert_has(
        task_span,
        {
            "hiveboard.agent.framework": "loopcore",
            "hiveboard.task.id": "evt-1001",
            "hiveboard.project": "loopcolony",
            "hiveboard.task.type": "agent_run",
            "hiveboard.task.status": "completed",
        },
    )
    assert timeline(spans, task_span) == [
        "task_started",
        "chat claude-sonnet-4-5-20250929",
        "chat claude-haiku-4-5-20251001",
    ]
    assert_has(
        the(spans, "chat claude-sonnet-4-5-20250929"),
        {
            "hiveboard.llm.name": "phase1_reasoning",
            "gen_ai.usage.input_tokens": 2400,
            "gen_ai.usage.output_tokens": 350,
        },
    )
    assert_has(
        the(spans, "chat claude-haiku-4-5-20251001"),
        {
            "hiveboard.llm.name": "phase2_tool_use",
            "gen_ai.usage.input_tokens": 5200,
            "gen_ai.usage.output_tokens": 410,
        },
    )

    client = LlmClient("claude-haiku-4-5-20251001", LlmResponse("claude-haiku-4-5-20251001", Usage(300, 40)))

    # example-loopcore-llm-call-tracking.md, "The Pattern", run outside any task (like the heartbeat
    # summary of Site 5): the guard skips it.
    # fmt: off
    # Before the call:
    _llm_start = time.perf_counter()

    # The existing LLM call:
    response = client.complete(...)

    # After the call — add this:
    _llm_elapsed = (time.perf_counter() - _llm_start) * 1000  # ms
    _task = get_current_task()
    if _task:
        try:
            _task.llm_call(
                "descriptive_name",
                model=response.model,                          # or the model string passed to the client
                tokens_in=response.usage.input_tokens,         # adjust to actual response shape
                tokens_out=response.usage.output_tokens,       # adjust to actual response shape
                duration_ms=round(_llm_elapsed),
            )
        except Exception:
            pass  # never break agent for observability
    # fmt: on

    assert client.calls == [{}]
    assert [span for span in story(captured) if span["attributes"]["hiveboard.span.type"] == "llm"] == [
        the(spans, "chat claude-sonnet-4-5-20250929"),
        the(spans, "chat claude-haiku-4-5-20251001"),
    ]


def test_loopcore_phase1_call_with_cost(loop_core_agent, captured):
    # example-loopcore-instrumentation-plan.md, Step 3 "Cost calculation"
    # Model pricing lookup (approximate, per 1K tokens)
    # fmt: off
    MODEL_COSTS = {
        "claude-sonnet-4-20250514": (0.003, 0.015),       # (input, output) per 1K
        "claude-haiku-4-5-20251001": (0.00025, 0.00125),
        "gpt-4o": (0.005, 0.015),
        "gpt-4o-mini": (0.00015, 0.0006),
    }

    def calculate_cost(model, tokens_in, tokens_out):
        costs = MODEL_COSTS.get(model, (0.001, 0.005))
        return round((tokens_in / 1000) * costs[0] + (tokens_out / 1000) * costs[1], 6)
    # fmt: on

    phase1_model_name = "claude-sonnet-4-20250514"
    prompt = "Analyze the inbound lead and decide the next step. " * 20
    response = LlmResponse(phase1_model_name, Usage(1800, 250), content="Next: score the lead. " * 40)
    elapsed_ms = 1200
    calculated_cost = calculate_cost(
        phase1_model_name, response.usage.input_tokens, response.usage.output_tokens
    )

    with loop_core_agent.task("evt-1002", project="loopcolony", type="agent_run") as task:
        # example-loopcore-instrumentation-plan.md, 3.1 "Phase 1 reasoning call"
        # After the Phase 1 LLM call completes:
        # fmt: off
        if task:  # HiveLoop task from context
            task.llm_call(
                "phase1_reasoning",
                model=phase1_model_name,          # e.g. "claude-sonnet-4-20250514"
                tokens_in=response.usage.input_tokens,
                tokens_out=response.usage.output_tokens,
                cost=calculated_cost,             # USD — calculate from model pricing
                duration_ms=elapsed_ms,
                prompt_preview=prompt[:500],      # optional, first 500 chars
                response_preview=str(response)[:500],  # optional
        # fmt: on
            )

    llm = the(story(captured), "chat claude-sonnet-4-20250514")
    assert llm["end_time"] - llm["start_time"] == 1_200_000_000
    assert_has(
        llm,
        {
            "hiveboard.task.id": "evt-1002",
            "hiveboard.llm.name": "phase1_reasoning",
            "hiveboard.llm.cost": 0.00915,
            "hiveboard.llm.prompt_preview": prompt[:500],
            "hiveboard.llm.response_preview": str(response)[:500],
        },
    )


def test_loopcore_narrative_events(loop_core_agent, captured):
    from loop_core.observability import get_current_task, get_hiveloop_agent, set_current_task

    goal_description = "Qualify lead TechNova"
    step_names = ["Research company", "Score lead", "Draft outreach"]
    step_index, step_summary = 0, "TechNova: 120 employees, Series B"
    reason = "discount above policy requested"
    event = SimpleNamespace(summary="Send a 20% discount offer to TechNova")
    failure_reason, attempt_number = "CRM timeout", 2
    agent_name, issue_message = "sales-agent", "CRM tool failing: 3 timeouts in a row"

    with loop_core_agent.task("evt-1003", project="loopcolony", type="agent_run") as running:
        set_current_task(running)
        try:
            task = get_current_task()

            # example-loopcore-instrumentation-plan.md, 4.1 "Plans"
            if task:
                task.plan(goal_description, step_names)

            # And as steps complete:
            if task:
                task.plan_step(step_index, "completed", step_summary)

            # example-loopcore-instrumentation-plan.md, 4.2 "Escalations"
            if task:
                task.escalate(
                    f"Agent escalated: {reason}",
                    assigned_to="human-reviewer",
                )

            # example-loopcore-instrumentation-plan.md, 4.3 "Approvals" (pending, approve_event(), drop_event())
            if task:
                task.request_approval(
                    f"Approval needed: {event.summary}",
                    approver="human",
                )

            if task:
                task.approval_received(
                    "Approved by operator",
                    approved_by="human",
                    decision="approved",
                )

            if task:
                task.approval_received(
                    "Dropped by operator",
                    approved_by="human",
                    decision="rejected",
                )

            # example-loopcore-instrumentation-plan.md, 4.4 "Retries"
            if task:
                task.retry(f"Retry: {failure_reason}", attempt=attempt_number)

            # example-loopcore-instrumentation-plan.md, 4.5 "Issues" (the report_issue tool, called twice)
            for _ in range(2):
                hiveloop_agent = get_hiveloop_agent(agent_name)
                if hiveloop_agent:
                    hiveloop_agent.report_issue(
                        summary=issue_message,
                        severity="high",
                        category="tool_error",
                    )
        finally:
            set_current_task(None)

    spans = story(captured)
    task_span = the(spans, "invoke_agent sales-agent")
    assert timeline(spans, task_span) == [
        "task_started",
        "plan_created",
        "plan_step 0 completed",
        "escalated",
        "approval_requested",
        "approval_received",
        "approval_received",
        "retry #2",
        "issue",
        "issue",
    ]
    assert_has(
        the(spans, "plan_created"), {"hiveboard.plan.steps": step_names, "hiveboard.plan.total_steps": 3}
    )
    assert_has(
        the(spans, "escalated"),
        {
            "hiveboard.event.summary": "Agent escalated: discount above policy requested",
            "hiveboard.escalation.assigned_to": "human-reviewer",
        },
    )
    assert_has(
        the(spans, "approval_requested"),
        {
            "hiveboard.event.summary": "Approval needed: Send a 20% discount offer to TechNova",
            "hiveboard.approval.approver": "human",
        },
    )
    decisions = [
        span["attributes"]["hiveboard.approval.decision"] for span in of_type(spans, "approval_received")
    ]
    assert decisions == ["approved", "rejected"]
    assert_has(the(spans, "retry_started"), {"hiveboard.event.summary": "Retry: CRM timeout"})
    first, second = of_type(spans, "issue")
    assert_has(
        first,
        {
            "hiveboard.task.id": "evt-1003",
            "hiveboard.event.summary": "CRM tool failing: 3 timeouts in a row",
            "hiveboard.issue.action": "reported",
            "hiveboard.issue.severity": "high",
            "hiveboard.issue.category": "tool_error",
        },
    )
    # Without an issue_id, HiveBoard deduplicates on the summary: both reports are one issue.
    assert first["attributes"]["hiveboard.issue.id"] == second["attributes"]["hiveboard.issue.id"]
