"""Live check: every attribute on every span the full API emits is declared, with its type, in the
registry group of that span (semconv/registry)."""

from __future__ import annotations

import logging

import pytest

import hiveloop
from hiveloop.contrib.log_handler import HiveBoardLogHandler
from semconv.checker import load_registry


def exercise_the_whole_api() -> None:
    hb = hiveloop.init(api_key="hb_test_live", environment="staging", group="live-check")
    agent = hb.agent(
        "live-agent",
        type="sales",
        version="1.0",
        framework="loopcore",
        heartbeat_interval=0,
        stuck_threshold=60,
        heartbeat_payload=lambda: {"uptime_seconds": 5},
        queue_provider=lambda: {
            "depth": 2,
            "oldest_age_seconds": 3,
            "items": [{"id": "q1"}],
            "processing": {},
        },
    )
    agent._heartbeat()  # one heartbeat and provider snapshot, without waiting for the thread

    @agent.track("decorated")
    def decorated():
        return 1

    with agent.task("t-1", project="proj", type="kind") as task:
        task.llm_call(
            "reasoning", "claude-sonnet-4-20250514", tokens_in=10, tokens_out=5, cost=0.1, duration_ms=12,
            prompt_preview="p", response_preview="r",
            metadata={"turn_number": 1, "cache_read_input_tokens": 2, "cache_creation_input_tokens": 1,
                      "stop_reason": "end_turn"},
        )  # fmt: skip
        task.plan("goal", ["a", "b"])
        task.plan_step(0, "completed", "done", turns=1, tokens=10)
        task.escalate("help", assigned_to="human", reason="why")
        task.request_approval("ok?", approver="boss")
        task.approval_received("ok", approved_by="boss", decision="approved")
        task.retry("again", attempt=2, backoff_seconds=1.5)
        task.event("custom", payload={"kind": "learning", "data": {"x": 1}, "extra": True})
        task.event("my_own_type", payload={"summary": "mine", "n": 1})
        decorated()
        with agent.track_context("tool") as ctx:
            ctx.set_payload(hiveloop.tool_payload(args={"a": 1}))
        with pytest.raises(ValueError), agent.track_context("failing_tool"):
            raise ValueError("bad")
        task.set_payload({"result": 1})
    with pytest.raises(RuntimeError), agent.task("t-2"):
        raise RuntimeError("task failed")
    manual = agent.start_task("t-3")
    manual.complete(status="partial", payload={"p": 1})
    agent.llm_call("outside", "gpt-4o", tokens_in=1)
    agent.queue_snapshot(depth=1, oldest_age_seconds=2, items=[{"id": "x"}], processing={"id": "y"})
    agent.todo("td", "created", "todo", priority="high", source="me", context={"k": 1}, due_by="2026-01-01")
    agent.scheduled([{"id": "job"}])
    agent.report_issue(
        "issue", severity="critical", issue_id="i", category="c", context={"a": 1}, occurrence_count=3
    )
    agent.resolve_issue("fixed", issue_id="i")
    agent.event("approval_requested", payload={"summary": "s", "approver": "a", "ticket": 7})
    logger = logging.getLogger("live_check_app")
    logger.addHandler(HiveBoardLogHandler(agent))
    logger.warning("disk almost full")


def group_of(span) -> str:
    span_type = span.attributes["hiveboard.span.type"]
    if span_type != "event":
        return f"span.hiveboard.{span_type}"
    group = f"span.hiveboard.event.{span.attributes['hiveboard.event.type']}"
    return group if group in REGISTRY.spans else "span.hiveboard.event.custom"


REGISTRY = load_registry()


def test_every_emitted_attribute_is_declared_with_its_type(captured):
    exercise_the_whole_api()
    spans = captured.spans
    problems = []
    for span in spans:
        for problem in REGISTRY.validate_attributes(dict(span.attributes), group_of(span)):
            problems.append(f"{span.name}: {problem}")
        for event in span.events:
            for problem in REGISTRY.validate_attributes(dict(event.attributes), f"event.{event.name}"):
                problems.append(f"{span.name} event {event.name}: {problem}")
    for problem in REGISTRY.validate_attributes(dict(spans[0].resource.attributes)):
        problems.append(f"resource: {problem}")
    assert problems == []

    # The workload really covers every span group of the registry.
    assert {group_of(span) for span in spans} == set(REGISTRY.spans) - {"span.hiveboard.event"}
    assert {event.name for span in spans for event in span.events} == {"exception"}


def test_live_check_catches_an_undeclared_or_mistyped_attribute(captured):
    exercise_the_whole_api()
    span = captured.spans[-1]
    bad = {**span.attributes, "hiveboard.undeclared": "x", "hiveboard.issue.occurrence_count": "3"}
    problems = REGISTRY.validate_attributes(bad, group_of(span))
    assert any("hiveboard.undeclared" in problem for problem in problems)
    assert any("hiveboard.issue.occurrence_count" in problem for problem in problems)
