"""One bad value never costs other spans.

The OTLP encoder fails a whole export batch on one value it cannot encode (an int outside int64, a
string with lone surrogates, a negative time): every span batched with it would be lost. HiveLoop
fixes or leaves out only the offending attribute, with one warning per attribute key.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import hiveloop
from hiveloop import Agent, Task
from hiveloop._internal import payloads
from hiveloop.testing import CapturedSpans
from tests.sdk.otlp_receiver import OTLPReceiver, readable_span_to_dict
from tests.sdk.test_transport import Pipeline

S = 1_000_000_000
HUGE = 10**30
NAN = float("nan")
INF = float("inf")
TASK = {"hiveboard.agent.id": "robust", "hiveboard.task.id": "task-1"}


def start(captured: CapturedSpans) -> tuple[hiveloop.HiveBoard, Agent]:
    hb = captured.init(api_key="hb_test_bad_values")
    return hb, hb.agent("robust", heartbeat_interval=0)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def assert_encodable(captured: CapturedSpans) -> None:
    """What the OTLP/HTTP exporter does with a batch: encode every span in one request."""
    assert encode_spans(captured.spans).SerializeToString()


def named(captured: CapturedSpans, name: str) -> dict[str, Any]:
    (span,) = [span for span in captured.as_dicts() if span["name"] == name]
    return span


def test_an_llm_call_with_out_of_range_numbers_keeps_its_other_attributes(captured: CapturedSpans) -> None:
    _, agent = start(captured)
    with agent.task("task-1") as task:
        task.llm_call("scoring", "gpt-4o", tokens_in=HUGE, tokens_out=250, cost=NAN, duration_ms=INF)

    assert named(captured, "chat gpt-4o") == {
        "name": "chat gpt-4o",
        "kind": "CLIENT",
        "trace_id": 2,
        "span_id": 4,
        "parent_span_id": 2,
        "start_time": 0,  # an infinite duration reaches back to the epoch, not before it
        "end_time": 4 * S,
        "status": "UNSET",
        "attributes": {
            **TASK,
            "hiveboard.span.type": "llm",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o",
            "hiveboard.llm.name": "scoring",
            "gen_ai.usage.output_tokens": 250,
            "gen_ai.provider.name": "openai",
        },
    }
    assert_encodable(captured)


# Every public call that takes numbers, with values OTLP cannot carry: (call, span, attributes that
# must be left out, attributes that must still be there).
BAD_CALLS: list[tuple[str, Callable[[Agent, Task], None], str, set[str], dict[str, Any]]] = [
    (
        "agent.llm_call",
        lambda agent, task: agent.llm_call(
            "x", "m", tokens_in=HUGE, tokens_out=-HUGE, cost=INF, metadata={"turn_number": HUGE}
        ),
        "chat m",
        {
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "hiveboard.llm.cost",
            "hiveboard.llm.turn_number",
            "hiveboard.llm.cost_source",  # no cost to be the source of
        },
        {"hiveboard.llm.name": "x", "gen_ai.provider.name": None},
    ),
    (
        "task.llm_call metadata",
        lambda agent, task: task.llm_call(
            "x", "m", metadata={"cache_read_input_tokens": HUGE, "turn_number": 3}
        ),
        "chat m",
        {"gen_ai.usage.cache_read.input_tokens"},
        {"hiveboard.llm.turn_number": 3},
    ),
    (
        "task.plan",
        lambda agent, task: task.plan("goal", ["a", "b"], revision=HUGE),
        "plan_created",
        {"hiveboard.plan.revision"},
        {"hiveboard.plan.total_steps": 2, "hiveboard.plan.steps": ["a", "b"]},
    ),
    (
        "task.plan_step",
        lambda agent, task: task.plan_step(HUGE, "completed", "done", total_steps=HUGE, turns=2, tokens=HUGE),
        "plan_step",
        {"hiveboard.plan.step_index", "hiveboard.plan.total_steps", "hiveboard.plan.step.tokens"},
        {"hiveboard.plan.step.action": "completed", "hiveboard.plan.step.turns": 2},
    ),
    (
        "agent.queue_snapshot",
        lambda agent, task: agent.queue_snapshot(depth=HUGE, oldest_age_seconds=NAN, items=[{"n": NAN}]),
        "queue_snapshot",
        {"hiveboard.queue.depth", "hiveboard.queue.oldest_age_seconds"},
        {"hiveboard.queue.items": '[{"n":null}]', "hiveboard.queue.source": "manual"},
    ),
    (
        "agent.scheduled",
        lambda agent, task: agent.scheduled([{"id": "sync", "interval_s": INF, "runs": HUGE}]),
        "scheduled",
        set(),
        {
            "hiveboard.scheduled.items": compact([{"id": "sync", "interval_s": None, "runs": HUGE}]),
            "hiveboard.scheduled.count": 1,
        },
    ),
    (
        "agent.report_issue",
        lambda agent, task: agent.report_issue("CRM down", "high", issue_id="crm", occurrence_count=HUGE),
        "issue",
        {"hiveboard.issue.occurrence_count"},
        {"hiveboard.issue.id": "crm", "hiveboard.issue.severity": "high"},
    ),
    (
        "task.retry",
        lambda agent, task: task.retry("again", attempt=HUGE, backoff_seconds=INF),
        "retry_started",
        {"hiveboard.retry.attempt", "hiveboard.retry.backoff_seconds"},
        {"hiveboard.event.summary": "again"},
    ),
    (
        "task.event retry_started",
        lambda agent, task: task.event("retry_started", {"attempt": -HUGE, "backoff_seconds": NAN}),
        "retry_started",
        {"hiveboard.retry.attempt", "hiveboard.retry.backoff_seconds"},
        {"hiveboard.event.type": "retry_started"},
    ),
    (
        "agent.event data",
        lambda agent, task: agent.event("custom", {"kind": "stats", "data": {"ratio": NAN, "big": HUGE}}),
        "custom",
        set(),
        {"hiveboard.event.kind": "stats", "hiveboard.event.data": compact({"ratio": None, "big": HUGE})},
    ),
    (
        "task.set_payload tool_payload",
        lambda agent, task: task.set_payload(
            hiveloop.tool_payload(args={"limit": INF}, duration_ms=NAN, http_status=HUGE)
        ),
        "invoke_agent robust",
        set(),
        {"hiveboard.payload": compact({"success": True, "args": {"limit": None}, "http_status": HUGE})},
    ),
]


@pytest.mark.parametrize(
    ("call", "span_name", "left_out", "kept"),
    [pytest.param(call, span, left_out, kept, id=name) for name, call, span, left_out, kept in BAD_CALLS],
)
def test_every_numeric_call_leaves_out_only_the_values_otlp_cannot_carry(
    captured: CapturedSpans,
    call: Callable[[Agent, Task], None],
    span_name: str,
    left_out: set[str],
    kept: dict[str, Any],
) -> None:
    _, agent = start(captured)
    with agent.task("task-1") as task:
        call(agent, task)
        task.llm_call("after", "m2", tokens_in=10)

    spans = captured.as_dicts()
    assert [span["name"] for span in spans] == [
        "agent_registered", "task_started", span_name, "chat m2", "invoke_agent robust",
    ] if span_name != "invoke_agent robust" else [
        "agent_registered", "task_started", "chat m2", "invoke_agent robust",
    ]  # fmt: skip
    attributes = named(captured, span_name)["attributes"]
    assert left_out.isdisjoint(attributes)
    assert {key: attributes.get(key) for key in kept} == kept
    assert_encodable(captured)


def test_a_bad_value_warns_once_per_attribute_key(
    captured: CapturedSpans, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(payloads, "_warned_keys", set())  # as in a fresh process
    _, agent = start(captured)
    with caplog.at_level(logging.DEBUG, logger="hiveloop"):
        for _ in range(3):
            agent.llm_call("x", "m", tokens_in=HUGE, tokens_out=HUGE)
    warnings = [
        r.getMessage() for r in caplog.records if r.name == "hiveloop" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 2
    assert any(w.startswith("hiveloop: gen_ai.usage.input_tokens=") for w in warnings)
    assert any(w.startswith("hiveloop: gen_ai.usage.output_tokens=") for w in warnings)
    assert "outside the 64-bit integer range" in warnings[0]
    assert len([span for span in captured.as_dicts() if span["name"] == "chat m"]) == 3


def test_text_that_is_not_utf8_is_repaired_in_names_attributes_and_exceptions(
    captured: CapturedSpans,
) -> None:
    bad = "caf\udce9"  # a Latin-1 file name read with surrogateescape
    _, agent = start(captured)
    with pytest.raises(ValueError):
        with agent.task("task-1") as task:
            task.llm_call("x", f"model-{bad}", prompt_preview=bad)
            task.event(bad, {"summary": bad, "path": bad})
            with agent.track_context(f"action-{bad}") as action:
                action.set_payload({"file": bad})
            raise ValueError(f"cannot parse {bad}")  # a message quoting the file name as it is

    assert_encodable(captured)
    fixed = "caf\ufffd"
    spans = {span["name"]: span for span in captured.as_dicts()}
    assert spans["chat model-caf\ufffd"]["attributes"]["hiveboard.llm.prompt_preview"] == fixed
    assert spans[fixed]["attributes"]["hiveboard.event.summary"] == fixed
    assert json.loads(spans[fixed]["attributes"]["hiveboard.payload"]) == {"path": fixed}
    assert json.loads(spans["action-caf\ufffd"]["attributes"]["hiveboard.payload"]) == {"file": fixed}
    task_span = spans["invoke_agent robust"]
    assert task_span["status_description"] == f"ValueError: cannot parse {fixed}"
    (exception,) = task_span["events"]
    assert exception["attributes"]["exception.message"] == f"cannot parse {fixed}"
    assert exception["attributes"]["exception.type"] == "ValueError"


def test_heartbeat_payload_and_agent_options_out_of_range(captured: CapturedSpans) -> None:
    hb = captured.init(api_key="hb_test_bad_values")
    agent = hb.agent(
        "robust",
        heartbeat_interval=0,
        stuck_threshold=HUGE,
        heartbeat_payload=lambda: {"active_jobs": NAN, "processed": HUGE},
    )
    agent._heartbeat()  # the heartbeat thread's work, without the thread

    registered, heartbeat = captured.as_dicts()
    assert "hiveboard.agent.stuck_threshold" not in registered["attributes"]
    assert registered["attributes"]["hiveboard.agent.heartbeat_interval"] == 0.0
    payload = heartbeat["attributes"]["hiveboard.heartbeat.payload"]
    assert json.loads(payload, parse_constant=lambda token: pytest.fail(f"{token} is not JSON")) == {
        "active_jobs": None,
        "processed": HUGE,
    }
    assert_encodable(captured)


def test_an_infinite_heartbeat_interval_does_not_kill_the_heartbeat_thread(captured: CapturedSpans) -> None:
    hb = captured.init(api_key="hb_test_bad_values")
    hb.agent("robust", heartbeat_interval=INF)
    thread = next(t for t in threading.enumerate() if t.name == "hiveloop-heartbeat-robust")
    thread.join(0.2)
    assert thread.is_alive()  # waiting for its next heartbeat, not dead of an OverflowError
    assert [span["name"] for span in captured.as_dicts()] == ["agent_registered", "heartbeat"]


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"flush_interval": INF}, lambda p: p.schedule_delay == 5.0),
        ({"flush_interval": 1e300}, lambda p: math.isfinite(p.schedule_delay) and p.schedule_delay > 1e6),
        ({"batch_size": INF}, lambda p: p.max_export_batch_size == 100),
        ({"max_queue_size": HUGE}, lambda p: p.max_queue_size > 10**9),
        ({"max_queue_size": NAN}, lambda p: p.max_queue_size == 10_000),
    ],
    ids=["infinite-interval", "huge-interval", "infinite-batch", "huge-queue", "nan-queue"],
)
def test_init_options_out_of_range_fall_back_or_are_capped(
    options: dict[str, Any], check: Callable[[Pipeline], bool]
) -> None:
    with OTLPReceiver() as receiver:
        hb = hiveloop.init("hb_test_bad_values", endpoint=receiver.url, **options)
        assert check(Pipeline(hb))
        with hb.agent("robust", heartbeat_interval=0).task("task-1"):
            pass
        assert hiveloop.flush(timeout=5)
        assert {span["name"] for span in receiver.spans} >= {"invoke_agent robust"}


# ---- through a real OTLP receiver ----------------------------------------------------------------


def _valid_tasks(agent: Agent, worker: int, count: int) -> None:
    for i in range(count):
        with agent.task(f"w{worker}-task-{i}", project="robustness") as task:
            task.plan("goal", ["fetch", "score"])
            task.llm_call("scoring", "claude-sonnet-4", tokens_in=100 + i, tokens_out=20, cost=0.001)
            task.plan_step(0, "completed", "fetched", turns=1, tokens=120)
            task.event("custom", {"kind": "progress", "data": {"i": i}})


def test_a_burst_from_several_threads_arrives_whole_despite_one_bad_call() -> None:
    """The bad call shares its export batch with other agents' and threads' spans: all arrive, every
    span exactly as the SDK recorded it."""
    recorded = InMemorySpanExporter()
    with OTLPReceiver() as receiver:
        hb = hiveloop.init("hb_test_bad_values", endpoint=receiver.url, flush_interval=60, batch_size=500)
        Pipeline(hb).add_processor(SimpleSpanProcessor(recorded))
        agents = [hb.agent(f"agent-{n}", heartbeat_interval=0) for n in range(3)]
        threads = [
            threading.Thread(target=_valid_tasks, args=(agents[worker % 3], worker, 15))
            for worker in range(4)
        ]
        for thread in threads:
            thread.start()
        with agents[0].task("bad-task") as task:
            task.llm_call("x", "m", tokens_in=HUGE, cost=NAN, duration_ms=INF)
            task.plan_step(HUGE, "started", "caf\udce9", tokens=-HUGE)
            task.event("custom", {"kind": "odd", "data": {"ratio": INF}})
        agents[1].queue_snapshot(depth=HUGE, oldest_age_seconds=INF)
        for thread in threads:
            thread.join()
        assert hiveloop.flush(timeout=10)

        sent = [readable_span_to_dict(span) for span in recorded.get_finished_spans()]
        assert len(sent) == 3 + 4 * 15 * 6 + 5 + 1  # registrations, valid tasks, the bad task, snapshot
        received = receiver.wait_for_spans(len(sent), timeout=10)

    def key(span: dict[str, Any]) -> str:
        return span["span_id"]

    assert sorted(received, key=key) == sorted(sent, key=key)
    valid_tasks = {s["attributes"]["hiveboard.task.id"] for s in received if s["name"].startswith("invoke")}
    assert valid_tasks == {f"w{w}-task-{i}" for w in range(4) for i in range(15)} | {"bad-task"}
