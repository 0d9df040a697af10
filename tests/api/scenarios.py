"""Agents the tests run through the real HiveLoop SDK, as the seeds instrument them."""

from __future__ import annotations

from typing import Any

AGENT = "lead-qualifier"


def lead_task(
    hb: Any, task_id: str = "task-001", *, agent_id: str = AGENT, project: str = "sales-pipeline"
) -> Any:
    """One complete task touching every view: plan, actions, LLM calls, retry, agent-level events.

    Returns the agent handle.
    """
    agent = hb.agent(agent_id, type="sales", version="1.0.0", heartbeat_interval=0, stuck_threshold=300)
    with agent.task(task_id, project=project, type="lead_processing") as task:
        task.plan("Qualify and route lead", ["Search CRM", "Score lead", "Route"])
        task.plan_step(0, "started", "Searching CRM")
        with agent.track_context("search_crm") as ctx:
            ctx.set_payload({"found": True})
        task.plan_step(0, "completed", "Found record")
        task.llm_call(
            "lead_scoring",
            "claude-sonnet-4-20250514",
            tokens_in=1800,
            tokens_out=250,
            cost=0.004,
            duration_ms=5,
            prompt_preview="Score this lead",
            response_preview="Score: 72",
        )
        task.retry("CRM timeout", attempt=1, backoff_seconds=2.0)
    agent.report_issue("CRM API returning 403", severity="high", issue_id="crm-403", category="permissions")
    agent.queue_snapshot(depth=3, items=[{"id": "lead-100", "priority": "high"}])
    agent.todo("todo-1", action="created", summary="Follow up lead-4821", priority="high")
    agent.scheduled([{"id": "daily-sync", "name": "CRM Full Sync", "interval": "24h"}])
    return agent
