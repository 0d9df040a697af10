"""Every public method of HiveLoop, checked on the exact spans it emits (compared whole).

The `captured` fixture gives deterministic ids (counting from 1) and a clock that advances 1 s per
reading, so expected start/end times follow from the order of the SDK's clock readings.
"""

from __future__ import annotations

import json
import logging
import platform
import sys

import pytest

import hiveloop

S = 1_000_000_000
AGENT = {"hiveboard.agent.id": "lead-qualifier"}
IDENTITY = {
    "hiveboard.agent.id": "lead-qualifier",
    "hiveboard.agent.type": "sales",
    "hiveboard.agent.framework": "custom",
}


def start(captured, **agent_kwargs):
    hb = captured.init(api_key="hb_test_unit")
    agent_kwargs.setdefault("type", "sales")
    agent = hb.agent("lead-qualifier", heartbeat_interval=0, **agent_kwargs)
    return hb, agent


def event(name, span_id, parent, time, trace_id, attributes, severity="info"):
    """The dict of a zero-duration event span."""
    return {
        "name": name,
        "kind": "INTERNAL",
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "start_time": time * S,
        "end_time": time * S,
        "status": "UNSET",
        "attributes": {
            **attributes,
            "hiveboard.span.type": "event",
            "hiveboard.event.type": attributes.pop("__type__", name),
            "hiveboard.severity": severity,
        },
    }


def without_registration(captured):
    return [span for span in captured.as_dicts() if span["name"] != "agent_registered"]


def test_agent_registration_declares_identity_and_thresholds(captured):
    hb = captured.init(api_key="hb_test_unit")
    agent = hb.agent(
        "lead-qualifier", type="sales", version="2.1", framework="loopcore", heartbeat_interval=0,
        stuck_threshold=120,
    )  # fmt: skip

    assert hb.agent("lead-qualifier") is agent  # idempotent: one handle, one registration
    assert captured.as_dicts() == [
        event(
            "agent_registered",
            1,
            None,
            1,
            1,
            {
                "hiveboard.agent.id": "lead-qualifier",
                "hiveboard.agent.type": "sales",
                "hiveboard.agent.framework": "loopcore",
                "hiveboard.agent.version": "2.1",
                "hiveboard.agent.heartbeat_interval": 0.0,
                "hiveboard.agent.stuck_threshold": 120,
            },
        )  # fmt: skip
    ]


def test_agent_defaults(captured):
    hb = captured.init(api_key="hb_test_unit")
    agent = hb.agent("plain", heartbeat_interval=0)
    attributes = captured.as_dicts()[0]["attributes"]
    assert (agent.type, agent.framework, agent.version, agent.stuck_threshold) == (
        "general",
        "custom",
        None,
        300,
    )
    assert attributes["hiveboard.agent.type"] == "general"
    assert "hiveboard.agent.version" not in attributes


def test_task_context_manager_completes(captured):
    _, agent = start(captured)
    with agent.task("task-001", project="sales-pipeline", type="lead_qualification") as task:
        assert hiveloop.get_current_task() is task
        assert hiveloop.get_current_agent() is agent
    assert hiveloop.get_current_task() is None

    in_task = {**AGENT, "hiveboard.task.id": "task-001", "hiveboard.task.type": "lead_qualification",
               "hiveboard.project": "sales-pipeline"}  # fmt: skip
    assert without_registration(captured) == [
        event("task_started", 3, 2, 3, 2, dict(in_task)),
        {
            "name": "invoke_agent lead-qualifier",
            "kind": "INTERNAL",
            "trace_id": 2,
            "span_id": 2,
            "parent_span_id": None,
            "start_time": 2 * S,
            "end_time": 4 * S,
            "status": "OK",
            "attributes": {
                **IDENTITY,
                **in_task,
                "hiveboard.span.type": "task",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "lead-qualifier",
                "hiveboard.task.status": "completed",
                "hiveboard.task.outcome": "success",
            },
        },
    ]


def test_task_fails_with_the_exception_and_reraises(captured):
    _, agent = start(captured)
    with pytest.raises(KeyError):
        with agent.task("task-002"):
            raise KeyError("lead-4821")

    task_span = without_registration(captured)[-1]
    assert task_span == {
        "name": "invoke_agent lead-qualifier",
        "kind": "INTERNAL",
        "trace_id": 2,
        "span_id": 2,
        "parent_span_id": None,
        "start_time": 2 * S,
        "end_time": 4 * S,
        "status": "ERROR",
        "status_description": "KeyError: 'lead-4821'",
        "attributes": {
            **IDENTITY,
            "hiveboard.task.id": "task-002",
            "hiveboard.span.type": "task",
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "lead-qualifier",
            "hiveboard.task.status": "failed",
            "error.type": "KeyError",
        },
        "events": [
            {
                "name": "exception",
                "timestamp": 4 * S,
                "attributes": {
                    "exception.type": "KeyError",
                    "exception.message": "'lead-4821'",
                    "exception.stacktrace": "<stacktrace>",
                    "exception.escaped": "False",
                },
            }
        ],
    }
    assert (
        "raise KeyError"
        in captured.as_dicts(stacktraces=True)[-1]["events"][0]["attributes"]["exception.stacktrace"]
    )


def test_manual_lifecycle_complete_with_status_and_payload(captured):
    _, agent = start(captured)
    task = agent.start_task("task-003", project="sales")
    assert hiveloop.get_current_task() is task
    task.set_payload({"ignored": True})  # an explicit payload to complete() wins
    task.complete(status="partial", payload={"result": 42})
    task.complete()  # a second end is ignored
    task.fail(exception=RuntimeError("late"))

    assert hiveloop.get_current_task() is None
    spans = without_registration(captured)
    assert [span["name"] for span in spans] == ["task_started", "invoke_agent lead-qualifier"]
    attributes = spans[-1]["attributes"]
    assert attributes["hiveboard.task.outcome"] == "partial"
    assert json.loads(attributes["hiveboard.payload"]) == {"result": 42}
    assert spans[-1]["status"] == "OK" and "events" not in spans[-1]


def test_manual_lifecycle_fail_without_exception(captured):
    _, agent = start(captured)
    task = agent.start_task("task-004")
    task.fail(payload={"reason": "gave up"})

    task_span = without_registration(captured)[-1]
    assert task_span["status"] == "ERROR"
    assert task_span["attributes"]["hiveboard.task.status"] == "failed"
    assert json.loads(task_span["attributes"]["hiveboard.payload"]) == {"reason": "gave up"}
    assert "events" not in task_span and "error.type" not in task_span["attributes"]


def test_set_payload_is_attached_on_completion(captured):
    _, agent = start(captured)
    with agent.task("task-005") as task:
        task.set_payload({"score": 72, "threshold": 80, "decision": "nurture"})
    payload = without_registration(captured)[-1]["attributes"]["hiveboard.payload"]
    assert json.loads(payload) == {"score": 72, "threshold": 80, "decision": "nurture"}


def test_llm_call_with_every_parameter(captured):
    _, agent = start(captured)
    with agent.task("task-006") as task:
        task.llm_call(
            "lead_scoring",
            "claude-sonnet-4-20250514",
            tokens_in=1800,
            tokens_out=250,
            cost=0.004,
            duration_ms=1200,
            prompt_preview="Score this lead based on...",
            response_preview="Score: 72. Reasoning: ...",
            metadata={
                "turn_number": 3,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 200,
                "stop_reason": "end_turn",
                "context_utilization_pct": 41.5,
            },
        )

    assert without_registration(captured)[1] == {
        "name": "chat claude-sonnet-4-20250514",
        "kind": "CLIENT",
        "trace_id": 2,
        "span_id": 4,
        "parent_span_id": 2,
        "start_time": 4 * S - 1_200_000_000,
        "end_time": 4 * S,
        "status": "UNSET",
        "attributes": {
            **AGENT,
            "hiveboard.task.id": "task-006",
            "hiveboard.span.type": "llm",
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "claude-sonnet-4-20250514",
            "gen_ai.response.model": "claude-sonnet-4-20250514",
            "hiveboard.llm.name": "lead_scoring",
            "gen_ai.usage.input_tokens": 1800,
            "gen_ai.usage.output_tokens": 250,
            "hiveboard.llm.cost": 0.004,
            "hiveboard.llm.cost_source": "reported",
            "hiveboard.llm.prompt_preview": "Score this lead based on...",
            "hiveboard.llm.response_preview": "Score: 72. Reasoning: ...",
            # Metadata keys with a typed attribute are not repeated in the JSON.
            "hiveboard.llm.metadata": '{"context_utilization_pct":41.5}',
            "hiveboard.llm.turn_number": 3,
            "gen_ai.usage.cache_read.input_tokens": 1000,
            "gen_ai.usage.cache_creation.input_tokens": 200,
            "gen_ai.response.finish_reasons": ["end_turn"],
            "gen_ai.provider.name": "anthropic",
        },
    }


def test_llm_call_with_name_and_model_only_is_a_zero_duration_span(captured):
    _, agent = start(captured)
    with agent.task("task-007") as task:
        task.llm_call("phase1_reasoning", model="some-local-model")
    span = without_registration(captured)[1]
    assert span["start_time"] == span["end_time"] == 4 * S
    assert span["attributes"] == {
        **AGENT,
        "hiveboard.task.id": "task-007",
        "hiveboard.span.type": "llm",
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "some-local-model",
        "gen_ai.response.model": "some-local-model",
        "hiveboard.llm.name": "phase1_reasoning",
    }


@pytest.mark.parametrize(
    ("model", "metadata", "provider"),
    [
        ("gpt-4o-mini", None, "openai"),
        ("o3-mini", None, "openai"),
        ("gemini-2.5-pro", None, "gcp.gemini"),
        ("anthropic/claude-3-haiku", None, "anthropic"),
        ("claude-haiku-4-5", {"provider": "aws.bedrock"}, "aws.bedrock"),
        ("my-finetune", None, None),
    ],
)
def test_llm_provider_is_inferred_when_known(captured, model, metadata, provider):
    _, agent = start(captured)
    agent.llm_call("classify", model, metadata=metadata)
    attributes = without_registration(captured)[0]["attributes"]
    assert attributes.get("gen_ai.provider.name") == provider


def test_agent_llm_call_outside_a_task_is_a_root_span_without_task_context(captured):
    _, agent = start(captured)
    agent.llm_call(
        "heartbeat_summary", "claude-haiku-4-5-20251001", tokens_in=500, tokens_out=80, duration_ms=300
    )
    with agent.task("task-008"):
        agent.llm_call("context_compaction", "claude-haiku-4-5-20251001")

    outside, _, inside, task_span = without_registration(captured)
    assert outside["parent_span_id"] is None
    assert outside["attributes"]["hiveboard.agent.id"] == "lead-qualifier"
    assert "hiveboard.task.id" not in outside["attributes"]
    assert (inside["trace_id"], inside["parent_span_id"]) == (task_span["trace_id"], task_span["span_id"])
    assert inside["attributes"]["hiveboard.task.id"] == "task-008"


def test_plan_and_plan_steps_infer_total_steps_and_revision(captured):
    _, agent = start(captured)
    with agent.task("task-009") as task:
        task.plan("Process lead", ["Fetch CRM", "Score", "Enrich", "Route"])
        task.plan_step(0, "completed", "CRM data retrieved", turns=1, tokens=800)
        task.plan_step(2, "failed", "Enrichment API timeout")
        task.plan("Revised: route to manual review", ["Notify manager", "Route"], revision=1)
        task.plan_step(0, "started", "Notifying manager")
        task.plan_step(1, "skipped", "Not needed", total_steps=5, plan_revision=7)

    in_task = {**AGENT, "hiveboard.task.id": "task-009"}
    assert without_registration(captured)[1:7] == [
        event("plan_created", 4, 2, 4, 2, {
            **in_task, "hiveboard.plan.goal": "Process lead",
            "hiveboard.plan.steps": ["Fetch CRM", "Score", "Enrich", "Route"],
            "hiveboard.plan.total_steps": 4, "hiveboard.plan.revision": 0,
        }),
        event("plan_step", 5, 2, 5, 2, {
            **in_task, "hiveboard.event.summary": "CRM data retrieved", "hiveboard.plan.step.index": 0,
            "hiveboard.plan.step.action": "completed", "hiveboard.plan.total_steps": 4,
            "hiveboard.plan.revision": 0, "hiveboard.plan.step.turns": 1, "hiveboard.plan.step.tokens": 800,
        }),
        event("plan_step", 6, 2, 6, 2, {
            **in_task, "hiveboard.event.summary": "Enrichment API timeout", "hiveboard.plan.step.index": 2,
            "hiveboard.plan.step.action": "failed", "hiveboard.plan.total_steps": 4,
            "hiveboard.plan.revision": 0,
        }, severity="warn"),
        event("plan_created", 7, 2, 7, 2, {
            **in_task, "hiveboard.plan.goal": "Revised: route to manual review",
            "hiveboard.plan.steps": ["Notify manager", "Route"],
            "hiveboard.plan.total_steps": 2, "hiveboard.plan.revision": 1,
        }),
        event("plan_step", 8, 2, 8, 2, {
            **in_task, "hiveboard.event.summary": "Notifying manager", "hiveboard.plan.step.index": 0,
            "hiveboard.plan.step.action": "started", "hiveboard.plan.total_steps": 2,
            "hiveboard.plan.revision": 1,
        }),
        event("plan_step", 9, 2, 9, 2, {
            **in_task, "hiveboard.event.summary": "Not needed", "hiveboard.plan.step.index": 1,
            "hiveboard.plan.step.action": "skipped", "hiveboard.plan.total_steps": 5,
            "hiveboard.plan.revision": 7,
        }),
    ]  # fmt: skip


def test_plan_step_without_a_plan_has_no_total(captured):
    _, agent = start(captured)
    with agent.task("task-010") as task:
        task.plan_step(0, "started", "Go")
    attributes = without_registration(captured)[1]["attributes"]
    assert "hiveboard.plan.total_steps" not in attributes and "hiveboard.plan.revision" not in attributes


def test_escalation_approval_and_retry(captured):
    _, agent = start(captured)
    with agent.task("refund-review") as task:
        task.escalate("Enrichment service down", assigned_to="senior-sales", reason="service_outage")
        task.request_approval("Refund $450 for customer BlueStar", approver="finance-team")
        task.approval_received("Approved by @jsmith", approved_by="jsmith", decision="approved")
        task.retry("API timeout, attempt 2", attempt=2, backoff_seconds=4)

    in_task = {**AGENT, "hiveboard.task.id": "refund-review"}
    assert without_registration(captured)[1:5] == [
        event("escalated", 4, 2, 4, 2, {
            **in_task, "hiveboard.event.summary": "Enrichment service down",
            "hiveboard.escalation.assigned_to": "senior-sales", "hiveboard.escalation.reason": "service_outage",
        }, severity="warn"),
        event("approval_requested", 5, 2, 5, 2, {
            **in_task, "hiveboard.event.summary": "Refund $450 for customer BlueStar",
            "hiveboard.approval.approver": "finance-team",
        }),
        event("approval_received", 6, 2, 6, 2, {
            **in_task, "hiveboard.event.summary": "Approved by @jsmith",
            "hiveboard.approval.approved_by": "jsmith", "hiveboard.approval.decision": "approved",
        }),
        event("retry_started", 7, 2, 7, 2, {
            **in_task, "hiveboard.event.summary": "API timeout, attempt 2",
            "hiveboard.retry.attempt": 2, "hiveboard.retry.backoff_seconds": 4.0,
        }, severity="warn"),
    ]  # fmt: skip


def test_custom_events_and_unknown_types_are_kept(captured):
    _, agent = start(captured)
    with agent.task("task-011") as task:
        task.event("custom", payload={"kind": "context_compaction", "data": {"tokens_before": 180000}})
        task.event("custom", payload={"kind": "anomaly", "data": {"detector": "cycle"}, "extra": 1})
        task.event("reflection_started", payload={"summary": "Reflecting", "turn": 4}, severity="debug")
    agent.event("approval_requested", payload={"summary": "Approval needed: refund", "approver": "human"})

    in_task = {**AGENT, "hiveboard.task.id": "task-011"}
    spans = without_registration(captured)
    assert spans[1:4] == [
        event("custom", 4, 2, 4, 2, {
            **in_task, "hiveboard.event.kind": "context_compaction",
            "hiveboard.event.data": '{"tokens_before":180000}',
        }),
        event("custom", 5, 2, 5, 2, {
            **in_task, "hiveboard.event.kind": "anomaly", "hiveboard.event.data": '{"detector":"cycle"}',
            "hiveboard.payload": '{"extra":1}',
        }, severity="warn"),
        event("reflection_started", 6, 2, 6, 2, {
            **in_task, "hiveboard.event.summary": "Reflecting", "hiveboard.payload": '{"turn":4}',
        }, severity="debug"),
    ]  # fmt: skip
    assert spans[-1] == event("approval_requested", 7, None, 8, 3, {
        **AGENT, "hiveboard.event.summary": "Approval needed: refund", "hiveboard.approval.approver": "human",
    })  # fmt: skip


def test_agent_level_pipeline_events(captured):
    _, agent = start(captured)
    agent.queue_snapshot(
        depth=5,
        oldest_age_seconds=120,
        items=[{"id": "lead-100", "priority": "high"}],
        processing={"id": "job-003", "summary": "Sending email"},
    )
    agent.todo("todo-001", action="created", summary="Follow up", priority="high", source="failed_action",
               due_by="2026-02-14T15:00:00Z", context="error=timeout")  # fmt: skip
    agent.todo("todo-001", action="completed", summary="Done", context={"attempts": 2})
    agent.scheduled([{"id": "daily-sync", "interval": "24h"}, {"id": "hourly-check", "interval": "1h"}])
    agent.report_issue("CRM API returning 403", severity="high", issue_id="crm-auth-failure",
                       category="permissions", context={"status_code": 403}, occurrence_count=8)  # fmt: skip
    agent.resolve_issue("CRM credentials rotated", issue_id="crm-auth-failure")

    assert without_registration(captured) == [
        event("queue_snapshot", 2, None, 2, 2, {
            **AGENT, "hiveboard.queue.depth": 5, "hiveboard.queue.source": "manual",
            "hiveboard.queue.oldest_age_seconds": 120.0,
            "hiveboard.queue.items": '[{"id":"lead-100","priority":"high"}]',
            "hiveboard.queue.processing": '{"id":"job-003","summary":"Sending email"}',
        }),
        event("todo", 3, None, 3, 3, {
            **AGENT, "hiveboard.todo.id": "todo-001", "hiveboard.todo.action": "created",
            "hiveboard.event.summary": "Follow up", "hiveboard.todo.priority": "high",
            "hiveboard.todo.source": "failed_action", "hiveboard.todo.context": "error=timeout",
            "hiveboard.todo.due_by": "2026-02-14T15:00:00Z",
        }),
        event("todo", 4, None, 4, 4, {
            **AGENT, "hiveboard.todo.id": "todo-001", "hiveboard.todo.action": "completed",
            "hiveboard.event.summary": "Done", "hiveboard.todo.context": '{"attempts":2}',
        }),
        event("scheduled", 5, None, 5, 5, {
            **AGENT,
            "hiveboard.scheduled.items": '[{"id":"daily-sync","interval":"24h"},{"id":"hourly-check","interval":"1h"}]',
            "hiveboard.scheduled.count": 2,
        }),
        event("issue", 6, None, 6, 6, {
            **AGENT, "hiveboard.event.summary": "CRM API returning 403", "hiveboard.issue.id": "crm-auth-failure",
            "hiveboard.issue.action": "reported", "hiveboard.issue.severity": "high",
            "hiveboard.issue.category": "permissions", "hiveboard.issue.occurrence_count": 8,
            "hiveboard.issue.context": '{"status_code":403}',
        }, severity="error"),
        event("issue", 7, None, 7, 7, {
            **AGENT, "hiveboard.event.summary": "CRM credentials rotated",
            "hiveboard.issue.id": "crm-auth-failure", "hiveboard.issue.action": "resolved",
        }),
    ]  # fmt: skip


def test_issues_without_id_deduplicate_on_summary(captured):
    _, agent = start(captured)
    agent.report_issue("Enrichment API timing out", severity="medium")
    agent.report_issue("Enrichment API timing out", severity="medium", occurrence_count=2)
    agent.report_issue("Something else", severity="low")
    first, second, third = (span["attributes"] for span in without_registration(captured))
    assert first["hiveboard.issue.id"] == second["hiveboard.issue.id"] != third["hiveboard.issue.id"]
    assert first["hiveboard.issue.id"].startswith("auto-")
    assert [span["attributes"]["hiveboard.severity"] for span in without_registration(captured)] == [
        "warn", "warn", "info",
    ]  # fmt: skip


def test_track_decorator_nests_sync_and_async_actions(captured):
    import asyncio

    _, agent = start(captured)

    @agent.track("enrich_company")
    async def enrich_company(name):
        return name.upper()

    @agent.track("fetch_crm_data")
    def fetch_crm_data(lead_id):
        return {"company": "acme", "id": lead_id}

    @agent.track()
    def process_lead(lead_id):
        lead = fetch_crm_data(lead_id)
        return asyncio.run(enrich_company(lead["company"]))

    with agent.task("task-012"):
        assert process_lead("lead-4821") == "ACME"

    spans = {
        span["name"]: span for span in without_registration(captured) if span["name"] != "action_started"
    }
    process, fetch, enrich = spans["process_lead"], spans["fetch_crm_data"], spans["enrich_company"]
    task_span = spans["invoke_agent lead-qualifier"]
    assert process["parent_span_id"] == task_span["span_id"]
    assert fetch["parent_span_id"] == enrich["parent_span_id"] == process["span_id"]
    assert process["attributes"] == {
        **AGENT,
        "hiveboard.task.id": "task-012",
        "hiveboard.span.type": "action",
        "hiveboard.action.name": "process_lead",
        "hiveboard.action.depth": 0,
        "hiveboard.action.function": "test_track_decorator_nests_sync_and_async_actions.<locals>.process_lead",
        "hiveboard.action.status": "completed",
    }
    assert (
        fetch["attributes"]["hiveboard.action.depth"] == enrich["attributes"]["hiveboard.action.depth"] == 1
    )
    assert enrich["status"] == "OK"


def test_track_context_emits_start_marker_payload_and_failure(captured):
    _, agent = start(captured)
    with agent.task("task-013"):
        with agent.track_context("crm_search") as ctx:
            ctx.set_payload(hiveloop.tool_payload(args={"q": "acme"}, result=[1, 2], tool_category="crm"))
        with pytest.raises(ConnectionError):
            with agent.track_context("send_email"):
                raise ConnectionError("Connection refused")

    spans = without_registration(captured)
    in_task = {**AGENT, "hiveboard.task.id": "task-013"}
    assert spans[1] == event("action_started", 5, 4, 5, 2, {
        **in_task, "hiveboard.action.name": "crm_search", "hiveboard.action.depth": 0,
    })  # fmt: skip
    search = spans[2]
    assert (search["name"], search["start_time"], search["end_time"]) == ("crm_search", 4 * S, 6 * S)
    assert json.loads(search["attributes"]["hiveboard.payload"]) == {
        "success": True, "args": {"q": "acme"}, "result": "[1, 2]", "tool_category": "crm",
    }  # fmt: skip
    failed = spans[4]
    assert failed["name"] == "send_email" and failed["status"] == "ERROR"
    assert failed["status_description"] == "ConnectionError: Connection refused"
    assert failed["attributes"]["hiveboard.action.status"] == "failed"
    assert failed["attributes"]["error.type"] == "ConnectionError"
    assert failed["events"][0]["attributes"]["exception.message"] == "Connection refused"


def test_track_context_outside_a_task_is_a_root_action(captured):
    _, agent = start(captured)
    with agent.track_context("startup_check"):
        assert hiveloop.get_current_agent() is agent
        assert hiveloop.get_current_task() is None
    action = without_registration(captured)[-1]
    assert action["parent_span_id"] is None and "hiveboard.task.id" not in action["attributes"]


def test_tool_payload_strips_none_and_truncates():
    payload = hiveloop.tool_payload(
        args={"query": "x" * 600, "limit": 10, "flag": None},
        result="r" * 1200,
        success=False,
        error="timeout",
        duration_ms=1500.7,
        http_status=504,
        args_max_len=100,
        result_max_len=50,
    )
    assert payload == {
        "success": False,
        "args": {"query": "x" * 100, "limit": 10, "flag": None},
        "result": "r" * 50,
        "error": "timeout",
        "duration_ms": 1500,
        "http_status": 504,
    }
    assert hiveloop.tool_payload() == {"success": True}


def test_strings_and_payloads_are_truncated_to_documented_limits(captured):
    _, agent = start(captured)
    with agent.task("task-014") as task:
        task.escalate("s" * 600)
        task.llm_call("n", "m", prompt_preview="p" * 600, response_preview="r" * 501)
        task.set_payload({"blob": "b" * 40_000})
    escalation, llm, task_span = without_registration(captured)[1:4]
    assert escalation["attributes"]["hiveboard.event.summary"] == "s" * 512
    assert len(llm["attributes"]["hiveboard.llm.prompt_preview"]) == 500
    assert len(llm["attributes"]["hiveboard.llm.response_preview"]) == 500
    payload = task_span["attributes"]["hiveboard.payload"]
    assert len(payload.encode()) <= 32 * 1024
    assert json.loads(payload)["_truncated"] is True


def test_bad_input_never_raises_and_keeps_what_it_can(captured):
    _, agent = start(captured)

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no str")

    with agent.task("task-015") as task:
        task.plan(None, None)
        task.plan_step("first", "started", None)
        task.llm_call(
            None, None, tokens_in="many", cost="free", duration_ms="slow", metadata={"turn_number": "x"}
        )
        task.retry(Unprintable())
        task.event(None, payload=["not", "a", "dict"])
        circular = {"name": "loop"}
        circular["self"] = circular
        task.set_payload(circular)
    agent.queue_snapshot(depth="deep", items=object())
    agent.report_issue(None, severity=None)
    agent.todo(None, None, None)
    agent.scheduled(None)

    spans = without_registration(captured)
    names = [span["name"] for span in spans]
    assert names[:2] == ["task_started", "plan_created"]
    assert "chat unknown" in names and "invoke_agent lead-qualifier" in names
    llm = next(span for span in spans if span["name"] == "chat unknown")
    assert (
        "gen_ai.usage.input_tokens" not in llm["attributes"] and "hiveboard.llm.cost" not in llm["attributes"]
    )
    assert (
        next(span for span in spans if span["name"] == "queue_snapshot")["attributes"][
            "hiveboard.queue.depth"
        ]
        == 0
    )
    task_span = next(span for span in spans if span["name"] == "invoke_agent lead-qualifier")
    assert task_span["attributes"]["hiveboard.task.status"] == "completed"
    assert "loop" in task_span["attributes"]["hiveboard.payload"]


def test_hiveloop_spans_nest_under_the_applications_current_span(captured):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    app_exporter = InMemorySpanExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
    _, agent = start(captured)
    with app_provider.get_tracer("app").start_as_current_span("POST /agents/run") as request_span:
        with agent.task("task-016"):
            pass
    task_span = without_registration(captured)[-1]
    assert task_span["parent_span_id"] == request_span.get_span_context().span_id
    assert task_span["trace_id"] == request_span.get_span_context().trace_id
    assert [span.name for span in app_exporter.get_finished_spans()] == ["POST /agents/run"]


def test_init_with_the_applications_tracer_provider():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    hb = hiveloop.init(api_key="hb_live_app", tracer_provider=provider)
    agent = hb.agent("shared", heartbeat_interval=0)
    with agent.task("task-017"):
        pass
    hiveloop.shutdown()

    assert [span.name for span in exporter.get_finished_spans()] == [
        "agent_registered", "task_started", "invoke_agent shared", "agent_shutdown",
    ]  # fmt: skip
    # HiveLoop did not shut the application's provider down: it still exports.
    provider.get_tracer("app").start_span("after").end()
    assert exporter.get_finished_spans()[-1].name == "after"


def test_resource_identifies_the_sdk_group_and_environment(captured, monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    hb = captured.init(api_key="hb_test_unit", environment="staging", group="loopcolony")
    hb.agent("a", heartbeat_interval=0)
    resource = captured.resource_attributes()
    assert {key: resource[key] for key in (
        "service.name", "deployment.environment.name", "hiveboard.group", "telemetry.distro.name",
        "telemetry.distro.version",
    )} == {
        "service.name": "loopcolony",
        "deployment.environment.name": "staging",
        "hiveboard.group": "loopcolony",
        "telemetry.distro.name": "hiveloop",
        "telemetry.distro.version": hiveloop.__version__,
    }  # fmt: skip
    # The runtime, as the OpenTelemetry SDK's process resource detector names it.
    assert {key: resource[key] for key in (
        "process.runtime.name", "process.runtime.version", "process.runtime.description"
    )} == {
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "process.runtime.description": sys.version,
    }  # fmt: skip


def test_service_name_comes_from_otel_service_name(captured, monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "lead-service")
    captured.init(api_key="hb_test_unit", group="loopcolony").agent("a", heartbeat_interval=0)
    assert captured.resource_attributes()["service.name"] == "lead-service"


def test_escalate_and_retry_accept_the_guides_reason_keyword(captured):
    _, agent = start(captured)
    with agent.task("task-018") as task:
        task.escalate(reason="Agent escalated: low confidence", assigned_to="human")
        task.retry(reason="Rate limited by crm", attempt=1, backoff_seconds=2)
    escalation, retry = without_registration(captured)[1:3]
    assert escalation["attributes"]["hiveboard.event.summary"] == "Agent escalated: low confidence"
    assert retry["attributes"]["hiveboard.event.summary"] == "Rate limited by crm"
    assert retry["attributes"]["hiveboard.retry.attempt"] == 1


def test_a_call_with_wrong_arguments_warns_once_and_never_raises(captured, caplog, monkeypatch):
    from hiveloop._internal import safety

    monkeypatch.setattr(safety, "_warned", set())  # as in a fresh process
    caplog.set_level(logging.DEBUG, logger="hiveloop")
    _, agent = start(captured)
    with agent.task("task-019") as task:
        task.plan_step(0)  # missing action and summary
        task.plan_step(0)
    failures = [
        r for r in caplog.records if r.name == "hiveloop" and "Task.plan_step failed" in r.getMessage()
    ]
    assert [record.levelname for record in failures] == ["WARNING", "DEBUG"]
    assert [span["name"] for span in without_registration(captured)] == [
        "task_started",
        "invoke_agent lead-qualifier",
    ]


def test_registering_an_agent_again_attaches_new_callbacks(captured):
    hb, agent = start(captured)
    again = hb.agent("lead-qualifier", queue_provider=lambda: {"depth": 3})
    assert again is agent
    agent._heartbeat()  # what the heartbeat thread does each interval
    snapshot = [span for span in captured.as_dicts() if span["name"] == "queue_snapshot"][0]
    assert snapshot["attributes"]["hiveboard.queue.depth"] == 3
    assert snapshot["attributes"]["hiveboard.queue.source"] == "provider"
    assert [span["name"] for span in captured.as_dicts()].count("agent_registered") == 1


def test_shutdown_announces_each_agent_before_the_last_flush(captured):
    hb = captured.init(api_key="hb_test_unit")
    hb.agent("lead-qualifier", type="sales", heartbeat_interval=0, stuck_threshold=120)
    hb.agent("beating", heartbeat_interval=0.01)
    assert hiveloop.shutdown()
    hiveloop.shutdown()  # a second shutdown announces nothing more

    spans = captured.as_dicts()
    names = [span["name"] for span in spans]
    assert names[-2:] == ["agent_shutdown", "agent_shutdown"]
    assert names.count("agent_shutdown") == 2  # after every heartbeat of the stopped thread
    assert spans[-2] == event(
        "agent_shutdown",
        spans[-2]["span_id"],
        None,
        spans[-2]["start_time"] // S,
        spans[-2]["trace_id"],
        {
            **IDENTITY,
            "hiveboard.agent.heartbeat_interval": 0.0,
            "hiveboard.agent.stuck_threshold": 120,
        },
    )
    assert spans[-1]["attributes"]["hiveboard.agent.id"] == "beating"
