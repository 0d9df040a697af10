"""`hiveboard demo`: the simulated fleet emits every feature of the seeds, reproducibly, and stops.

Most tests share one run of the demo (4 agents, 3 s at speed 200, i.e. ten simulated minutes)
captured in memory with the real clock, and check the spans HiveLoop produced.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from typing import Any

import pytest

from hiveboard.demo import DemoSummary, run_demo
from hiveboard_semconv.attributes import HiveboardEventTypeValues
from hiveloop.testing import capture
from tests.sdk.otlp_receiver import OTLPReceiver

Span = dict[str, Any]
SECOND_NS = 1_000_000_000
FLEET = ("lead-qualifier", "support-triage", "research-writer", "data-pipeline")


def run_captured(**kwargs: Any) -> tuple[DemoSummary, list[Span]]:
    with capture(deterministic=False) as captured:
        summary = run_demo("http://127.0.0.1:9", "hb_test_demo", **kwargs)
        return summary, captured.as_dicts()


def attrs(span: Span) -> dict[str, Any]:
    return span["attributes"]


def of_type(spans: list[Span], event_type: str) -> list[Span]:
    return [span for span in spans if attrs(span).get("hiveboard.event.type") == event_type]


def by_span_type(spans: list[Span], span_type: str) -> list[Span]:
    return [span for span in spans if attrs(span).get("hiveboard.span.type") == span_type]


@pytest.fixture(scope="module")
def run() -> tuple[DemoSummary, list[Span]]:
    return run_captured(duration_s=3.0, speed=200, seed=7)


@pytest.fixture(scope="module")
def spans(run: tuple[DemoSummary, list[Span]]) -> list[Span]:
    return run[1]


def test_summary_counts_what_was_sent(run: tuple[DemoSummary, list[Span]]) -> None:
    summary, spans = run
    assert summary.agents == FLEET
    assert summary.seed == 7 and summary.flushed
    assert 2.9 <= summary.elapsed_s < 3.0 + 5.0
    tasks = by_span_type(spans, "task")
    failed = [task for task in tasks if task["status"] == "ERROR"]
    assert (summary.tasks_completed, summary.tasks_failed) == (len(tasks) - len(failed), len(failed))
    assert summary.llm_calls == len(by_span_type(spans, "llm"))
    assert summary.tasks_completed > 20 and summary.tasks_failed >= 2


def test_every_agent_registers_with_its_type_and_announces_itself(spans: list[Span]) -> None:
    registered = {attrs(s)["hiveboard.agent.id"]: attrs(s) for s in of_type(spans, "agent_registered")}
    assert {agent: a["hiveboard.agent.type"] for agent, a in registered.items()} == {
        "lead-qualifier": "sales",
        "support-triage": "support",
        "research-writer": "research",
        "data-pipeline": "etl",
    }
    kinds = defaultdict(set)
    for span in of_type(spans, "custom"):
        kinds[attrs(span)["hiveboard.agent.id"]].add(attrs(span)["hiveboard.event.kind"])
    assert all({"runtime", "config_snapshot"} <= kinds[agent] for agent in FLEET)


def test_every_event_type_of_the_semconv_appears(spans: list[Span]) -> None:
    expected = {value for name, value in vars(HiveboardEventTypeValues).items() if not name.startswith("_")}
    assert len(expected) == 15
    seen = {attrs(span).get("hiveboard.event.type") for span in spans}
    assert expected - seen == set()


def test_layer_3_and_4_custom_events(spans: list[Span]) -> None:
    custom = of_type(spans, "custom")
    data = defaultdict(list)
    for span in custom:
        if "hiveboard.event.data" in attrs(span):
            data[attrs(span)["hiveboard.event.kind"]].append(json.loads(attrs(span)["hiveboard.event.data"]))
    expected = {
        "context_compaction",
        "anomaly",
        "prompt_composition",
        "learning",
        "error_context",
        "memory_op",
    }
    assert expected <= set(data)
    assert all(d["tokens_after"] < d["tokens_before"] for d in data["context_compaction"])
    assert {d["detector"] for d in data["anomaly"]} == {"cycle"}
    assert all(d["context_utilization_pct"] > 50 for d in data["prompt_composition"])
    anomalies = [s for s in custom if attrs(s)["hiveboard.event.kind"] == "anomaly"]
    assert {s["attributes"]["hiveboard.severity"] for s in anomalies} == {"warn"}


def test_llm_calls_of_several_models_with_and_without_reported_cost(spans: list[Span]) -> None:
    llm = by_span_type(spans, "llm")
    reported = {attrs(s)["gen_ai.request.model"] for s in llm if "hiveboard.llm.cost" in attrs(s)}
    unreported = {attrs(s)["gen_ai.request.model"] for s in llm if "hiveboard.llm.cost" not in attrs(s)}
    assert reported == {
        "claude-sonnet-4-20250514",
        "claude-haiku-4-5-20251001",
        "gpt-4o-mini",
        "gemini-2.5-flash",
    }
    # Left to HiveBoard: two models genai-prices knows, and one nobody prices.
    assert unreported == {"gpt-4o", "gemini-2.5-pro", "acme-factcheck-7b"}
    assert {attrs(s).get("gen_ai.provider.name") for s in llm} == {"anthropic", "openai", "gcp.gemini", None}
    assert all(attrs(s)["hiveboard.llm.cost"] > 0 for s in llm if "hiveboard.llm.cost" in attrs(s))
    assert all(
        attrs(s)["gen_ai.usage.input_tokens"] > 0 and attrs(s)["gen_ai.usage.output_tokens"] > 0 for s in llm
    )
    cached = [s for s in llm if attrs(s).get("gen_ai.usage.cache_read.input_tokens", 0) > 0]
    assert cached and all(attrs(s)["gen_ai.provider.name"] == "anthropic" for s in cached)
    with_previews = [s for s in llm if "hiveboard.llm.prompt_preview" in attrs(s)]
    assert with_previews and all(attrs(s)["hiveboard.llm.response_preview"] for s in with_previews)
    assert {attrs(s)["hiveboard.llm.turn_number"] for s in llm if "hiveboard.llm.turn_number" in attrs(s)} >= {
        1, 2, 3, 4, 5,
    }  # fmt: skip
    # The pipeline's run digests are agent-level calls, outside any task.
    outside = [s for s in llm if "hiveboard.task.id" not in attrs(s)]
    assert outside and {attrs(s)["hiveboard.agent.id"] for s in outside} == {"data-pipeline"}


def test_llm_calls_sit_under_the_action_that_made_them(spans: list[Span]) -> None:
    actions = {s["span_id"]: s for s in by_span_type(spans, "action")}
    scoring = [s for s in by_span_type(spans, "llm") if attrs(s)["hiveboard.llm.name"] == "lead_scoring"]
    assert scoring and all(actions[s["parent_span_id"]]["name"] == "score_lead" for s in scoring)


def test_tracked_actions_nest_and_record_failures(spans: list[Span]) -> None:
    actions = by_span_type(spans, "action")
    by_id = {s["span_id"]: s for s in actions}
    # @agent.track records the function; track_context does not.
    decorated = {
        attrs(s)["hiveboard.action.name"] for s in actions if "hiveboard.action.function" in attrs(s)
    }
    assert {"process_lead", "fetch_crm_data", "score_lead", "extract", "transform", "load"} <= decorated
    assert "enrich_lead" not in decorated
    nested = {
        (by_id[s["parent_span_id"]]["name"], s["name"], attrs(s)["hiveboard.action.depth"])
        for s in actions
        if s["parent_span_id"] in by_id
    }
    assert {("process_lead", "fetch_crm_data", 1), ("process_lead", "enrich_lead", 1)} <= nested
    assert ("read_sources", "fetch_page", 1) in nested
    failed = {(s["name"], attrs(s).get("error.type")) for s in actions if s["status"] == "ERROR"}
    assert {("enrich_lead", "EnrichmentTimeout"), ("create_jira_issue", "UpstreamError")} <= failed
    assert all(attrs(s)["hiveboard.action.status"] == "failed" for s in actions if s["status"] == "ERROR")


def test_a_failed_plan_step_then_a_replan(spans: list[Span]) -> None:
    plans = of_type(spans, "plan_created")
    replanned = {attrs(s)["hiveboard.task.id"] for s in plans if attrs(s)["hiveboard.plan.revision"] == 1}
    failed_steps = {
        attrs(s)["hiveboard.task.id"]
        for s in of_type(spans, "plan_step")
        if attrs(s)["hiveboard.plan.step.action"] == "failed" and attrs(s)["hiveboard.plan.revision"] == 0
    }
    assert replanned and replanned <= failed_steps
    task_id = sorted(replanned)[0]
    timeline = [s for s in spans if attrs(s).get("hiveboard.task.id") == task_id]
    steps = [
        (
            attrs(s)["hiveboard.plan.revision"],
            attrs(s)["hiveboard.plan.step.index"],
            attrs(s)["hiveboard.plan.step.action"],
        )
        for s in of_type(timeline, "plan_step")
    ]
    assert steps.index((0, 2, "failed")) < steps.index((1, 0, "started"))
    completed_tasks = [s for s in by_span_type(timeline, "task") if s["status"] == "OK"]
    assert len(completed_tasks) == 1  # the replan saved the lead


def test_retries_and_escalations(spans: list[Span]) -> None:
    retries = of_type(spans, "retry_started")
    assert {attrs(s)["hiveboard.retry.attempt"] for s in retries} >= {1, 2}
    assert all(attrs(s)["hiveboard.retry.backoff_seconds"] > 0 for s in retries)
    assert {attrs(s)["hiveboard.agent.id"] for s in retries} == set(FLEET)
    escalations = of_type(spans, "escalated")
    assert {attrs(s)["hiveboard.escalation.assigned_to"] for s in escalations} == {
        "senior-sales",
        "support-tier-2",
    }
    assert all("hiveboard.task.id" in attrs(s) for s in escalations)


def test_approvals_granted_and_rejected(spans: list[Span]) -> None:
    requested = {attrs(s)["hiveboard.task.id"]: s for s in of_type(spans, "approval_requested")}
    decisions = {
        attrs(s)["hiveboard.task.id"]: attrs(s)["hiveboard.approval.decision"]
        for s in of_type(spans, "approval_received")
    }
    assert set(decisions) == set(requested)
    assert set(decisions.values()) == {"approved", "rejected"}
    for span in of_type(spans, "approval_received"):
        assert requested[attrs(span)["hiveboard.task.id"]]["end_time"] <= span["start_time"]
    assert {attrs(s)["hiveboard.approval.approver"] for s in requested.values()} == {"finance-team"}


def test_an_issue_is_reported_then_resolved(spans: list[Span]) -> None:
    issues = [
        (attrs(s)["hiveboard.issue.id"], attrs(s)["hiveboard.issue.action"]) for s in of_type(spans, "issue")
    ]
    assert issues[:2] == [("enrichment-timeout", "reported"), ("enrichment-timeout", "resolved")]
    reported = [attrs(s) for s in of_type(spans, "issue") if attrs(s)["hiveboard.issue.action"] == "reported"]
    assert reported[0]["hiveboard.issue.severity"] == "high"
    assert reported[0]["hiveboard.issue.category"] == "connectivity"


def test_queue_snapshots_by_hand_and_from_the_provider(spans: list[Span]) -> None:
    snapshots = of_type(spans, "queue_snapshot")
    sources = defaultdict(set)
    for span in snapshots:
        sources[attrs(span)["hiveboard.queue.source"]].add(attrs(span)["hiveboard.agent.id"])
    assert sources["manual"] == {"support-triage"}
    assert sources["provider"] == {"lead-qualifier", "research-writer", "data-pipeline"}
    manual = [attrs(s) for s in snapshots if attrs(s)["hiveboard.queue.source"] == "manual"]
    assert all(json.loads(a["hiveboard.queue.processing"])["id"].startswith("ticket-") for a in manual)
    assert max(a["hiveboard.queue.depth"] for a in manual) >= 1


def test_heartbeats_carry_the_payload(spans: list[Span]) -> None:
    heartbeats = of_type(spans, "heartbeat")
    assert {attrs(s)["hiveboard.agent.id"] for s in heartbeats} == set(FLEET)
    payloads = [json.loads(attrs(s)["hiveboard.heartbeat.payload"]) for s in heartbeats]
    assert max(p["tasks_completed"] for p in payloads) > 0 and max(p["cost_usd"] for p in payloads) > 0


def test_todos_created_and_completed_and_scheduled_work(spans: list[Span]) -> None:
    todos = defaultdict(list)
    for span in of_type(spans, "todo"):
        todos[attrs(span)["hiveboard.todo.id"]].append(attrs(span)["hiveboard.todo.action"])
    assert ["created", "completed"] in todos.values()
    assert {todo_id.split("-")[0] for todo_id in todos} == {"follow", "rerun"}
    scheduled = of_type(spans, "scheduled")
    assert {attrs(s)["hiveboard.agent.id"] for s in scheduled} == {"data-pipeline"}
    items = [json.loads(attrs(s)["hiveboard.scheduled.items"]) for s in scheduled]
    assert all(len(i) == 2 for i in items) and any("last_status" in item for i in items for item in i)


def test_failing_tasks_record_their_exception(spans: list[Span]) -> None:
    failed = [s for s in by_span_type(spans, "task") if s["status"] == "ERROR"]
    errors = {attrs(s)["error.type"] for s in failed}
    assert {"SourcesUnavailable", "SchemaValidationError", "WarehouseLockTimeout"} <= errors
    assert all(s["events"][0]["name"] == "exception" for s in failed)
    assert all(attrs(s)["hiveboard.task.status"] == "failed" for s in failed)


def test_every_started_task_ends(spans: list[Span]) -> None:
    started = [attrs(s)["hiveboard.task.id"] for s in of_type(spans, "task_started")]
    ended = [attrs(s)["hiveboard.task.id"] for s in by_span_type(spans, "task")]
    assert sorted(started) == sorted(ended) and len(set(ended)) == len(ended)


def heartbeat_gaps(spans: list[Span], agent: str, until: int) -> list[tuple[int, int]]:
    times = sorted(
        s["start_time"] for s in of_type(spans, "heartbeat") if attrs(s)["hiveboard.agent.id"] == agent
    )
    times = [t for t in times if t <= until] + [until]
    return list(zip(times, times[1:], strict=False))


def test_the_silent_agent_stops_heartbeating_past_its_stuck_threshold(spans: list[Span]) -> None:
    threshold = {
        attrs(s)["hiveboard.agent.id"]: attrs(s)["hiveboard.agent.stuck_threshold"]
        for s in of_type(spans, "agent_registered")
    }
    assert set(threshold.values()) == {1}  # 30 s at speed 200, at least the SDK's 1 s
    [hang] = [s for s in by_span_type(spans, "action") if s["name"] == "acquire_warehouse_lock"]
    assert (
        attrs(hang)["hiveboard.agent.id"] == "data-pipeline"
        and attrs(hang)["error.type"] == "WarehouseLockTimeout"
    )
    end = hang["end_time"]  # the hang lasts until the demo stops

    before, after = max(heartbeat_gaps(spans, "data-pipeline", end), key=lambda gap: gap[1] - gap[0])
    assert after - before > threshold["data-pipeline"] * SECOND_NS
    assert before <= hang["start_time"] < after
    # It had been heartbeating before it hung, and the rest of the fleet never went silent.
    assert before > 0 and sum(1 for _ in heartbeat_gaps(spans, "data-pipeline", before)) >= 2
    for agent in FLEET[:3]:
        longest = max(b - a for a, b in heartbeat_gaps(spans, agent, end))
        assert longest < threshold[agent] * SECOND_NS


def fingerprint(spans: list[Span]) -> dict[str, list[tuple[Any, ...]]]:
    """Per agent, what its work loop emitted, in order (heartbeat-driven spans follow the clock)."""
    timelines = defaultdict(list)
    for span in spans:
        a = attrs(span)
        if a.get("hiveboard.event.type") == "heartbeat" or a.get("hiveboard.queue.source") == "provider":
            continue
        timelines[a["hiveboard.agent.id"]].append(
            (
                span["name"],
                a.get("hiveboard.task.id"),
                a.get("hiveboard.event.type"),
                a.get("gen_ai.usage.input_tokens"),
            )
        )
    return dict(timelines)


def test_the_same_seed_replays_the_same_fleet_activity() -> None:
    first, first_spans = run_captured(tasks_per_agent=3, speed=2000, seed=11, duration_s=20)
    second, second_spans = run_captured(tasks_per_agent=3, speed=2000, seed=11, duration_s=20)
    other, other_spans = run_captured(tasks_per_agent=3, speed=2000, seed=12, duration_s=20)
    # Every agent ran its 3 tasks: the run ended on the task budget, not on the duration.
    assert first.tasks_completed + first.tasks_failed == 12 and first.elapsed_s < 20

    one, two = fingerprint(first_spans), fingerprint(second_spans)
    assert set(one) == set(FLEET)
    assert one == two
    task_ids = [entry[1] for timeline in one.values() for entry in timeline if entry[0] == "task_started"]
    assert len(task_ids) == 12
    other_ids = [entry[1] for timeline in fingerprint(other_spans).values() for entry in timeline]
    assert not set(task_ids) & set(other_ids)
    assert (first.tasks_completed, first.llm_calls) == (second.tasks_completed, second.llm_calls)


def test_setting_stop_ends_the_demo_promptly() -> None:
    stop = threading.Event()
    result: list[DemoSummary] = []
    with capture(deterministic=False) as captured:
        # At speed 1 every agent is in the middle of a multi-second wait when stop is set.
        thread = threading.Thread(
            target=lambda: result.append(run_demo("http://127.0.0.1:9", "hb_test_demo", seed=5, stop=stop))
        )
        thread.start()
        time.sleep(1.0)
        stopped_at = time.monotonic()
        stop.set()
        thread.join(10)
        took = time.monotonic() - stopped_at
        spans = captured.as_dicts()
    assert not thread.is_alive() and took < 1.0
    [summary] = result
    assert summary.flushed and 1.0 <= summary.elapsed_s < 2.0
    started = sorted(attrs(s)["hiveboard.task.id"] for s in of_type(spans, "task_started"))
    ended = sorted(attrs(s)["hiveboard.task.id"] for s in by_span_type(spans, "task"))
    assert len(started) == 4 and started == ended  # the tasks under way were finished, not dropped


def test_spans_arrive_over_otlp_http() -> None:
    with OTLPReceiver() as receiver:
        summary = run_demo(receiver.url, "hb_test_demo_wire", duration_s=1.5, speed=200, seed=3)
        spans = receiver.spans
        requests = receiver.requests
    assert summary.flushed and len(requests) >= 2  # flushed every `flush_interval`, then at shutdown
    assert {r.header("Authorization") for r in requests} == {"Bearer hb_test_demo_wire"}
    assert {s["resource"]["deployment.environment.name"] for s in spans} == {"demo"}
    assert {attrs(s)["hiveboard.agent.id"] for s in spans} == set(FLEET)
    tasks = by_span_type(spans, "task")
    assert len(tasks) == summary.tasks_completed + summary.tasks_failed
    assert len(by_span_type(spans, "llm")) == summary.llm_calls
    assert {attrs(s).get("hiveboard.event.type") for s in spans} >= {"heartbeat", "plan_step", "issue"}


def test_more_agents_cycle_through_the_kinds() -> None:
    summary, spans = run_captured(agents=6, tasks_per_agent=1, speed=2000, seed=1, duration_s=20)
    assert summary.agents == (*FLEET, "lead-qualifier-2", "support-triage-2")
    assert {attrs(s)["hiveboard.agent.id"] for s in by_span_type(spans, "task")} == set(summary.agents)


@pytest.mark.parametrize(("agents", "speed"), [(0, 1.0), (4, 0.0), (4, -2.0)])
def test_invalid_arguments_are_refused_before_anything_starts(agents: int, speed: float) -> None:
    with capture(deterministic=False) as captured, pytest.raises(ValueError):
        run_demo("http://127.0.0.1:9", "hb_test_demo", agents=agents, speed=speed)
    assert captured.as_dicts() == []
