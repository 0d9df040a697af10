"""Task context follows the program: per thread, per asyncio task, and across manual lifecycles."""

from __future__ import annotations

import asyncio
import threading

import hiveloop


def spans_by_name(captured):
    spans: dict[str, list[dict]] = {}
    for span in captured.as_dicts():
        spans.setdefault(span["name"], []).append(span)
    return spans


def test_context_does_not_leak_into_other_threads(captured):
    hb = captured.init(api_key="hb_test_ctx")
    agent = hb.agent("worker", heartbeat_interval=0)
    seen = {}

    def in_thread():
        seen["task"] = hiveloop.get_current_task()
        seen["agent"] = hiveloop.get_current_agent()
        with agent.track_context("background_job"):
            pass

    with agent.task("task-main") as task:
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
        assert hiveloop.get_current_task() is task

    assert seen == {"task": None, "agent": None}
    job = spans_by_name(captured)["background_job"][0]
    assert job["parent_span_id"] is None
    assert "hiveboard.task.id" not in job["attributes"]


def test_each_thread_has_its_own_task(captured):
    hb = captured.init(api_key="hb_test_ctx")
    agent = hb.agent("worker", heartbeat_interval=0)
    barrier = threading.Barrier(4)
    errors = []

    def run(index):
        with agent.task(f"task-{index}") as task:
            barrier.wait()  # all four tasks are open at once
            if hiveloop.get_current_task() is not task:
                errors.append(index)
            with agent.track_context(f"step-{index}"):
                task.plan_step(0, "completed", f"done {index}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    spans = spans_by_name(captured)
    tasks = {span["attributes"]["hiveboard.task.id"]: span for span in spans["invoke_agent worker"]}
    for index in range(4):
        step = spans[f"step-{index}"][0]
        (plan_step,) = [
            s for s in spans["plan_step"] if s["attributes"]["hiveboard.event.summary"] == f"done {index}"
        ]
        assert step["parent_span_id"] == tasks[f"task-{index}"]["span_id"]
        assert plan_step["parent_span_id"] == step["span_id"]
        assert plan_step["attributes"]["hiveboard.task.id"] == f"task-{index}"


def test_concurrent_asyncio_tasks_keep_their_own_task(captured):
    hb = captured.init(api_key="hb_test_ctx")
    agent = hb.agent("async-agent", heartbeat_interval=0)

    @agent.track("call_tool")
    async def call_tool(name):
        await asyncio.sleep(0.01)
        return hiveloop.get_current_task().task_id

    async def handle(request_id):
        with agent.task(f"req-{request_id}"):
            first = await call_tool("a")
            # A child asyncio task created inside the task sees the task too.
            second = await asyncio.create_task(call_tool("b"))
            return first, second

    async def main():
        return await asyncio.gather(*(handle(i) for i in range(3)))

    results = asyncio.run(main())
    assert results == [(f"req-{i}", f"req-{i}") for i in range(3)]
    spans = spans_by_name(captured)
    tasks = {
        span["span_id"]: span["attributes"]["hiveboard.task.id"] for span in spans["invoke_agent async-agent"]
    }
    for tool in spans["call_tool"]:
        assert tasks[tool["parent_span_id"]] == tool["attributes"]["hiveboard.task.id"]
    assert len(spans["call_tool"]) == 6


def test_manual_task_is_the_parent_of_what_happens_inside_it(captured):
    hb = captured.init(api_key="hb_test_ctx")
    agent = hb.agent("manual", heartbeat_interval=0)
    task = agent.start_task("task-manual", project="sales")
    with agent.track_context("step"):
        agent.report_issue("inside the action", severity="low")
    task.llm_call("reasoning", "gpt-4o")

    # The end is reported from another thread, as callback-driven frameworks do.
    finisher = threading.Thread(target=task.complete)
    finisher.start()
    finisher.join()

    spans = spans_by_name(captured)
    task_span = spans["invoke_agent manual"][0]
    step = spans["step"][0]
    assert step["parent_span_id"] == task_span["span_id"]
    assert spans["issue"][0]["parent_span_id"] == step["span_id"]
    assert spans["issue"][0]["attributes"]["hiveboard.task.id"] == "task-manual"
    assert spans["chat gpt-4o"][0]["parent_span_id"] == task_span["span_id"]
    assert task_span["attributes"]["hiveboard.task.status"] == "completed"


def test_task_methods_called_from_another_thread_stay_in_their_task(captured):
    hb = captured.init(api_key="hb_test_ctx")
    agent = hb.agent("handoff", heartbeat_interval=0)
    with agent.task("task-approval") as task:
        thread = threading.Thread(
            target=task.approval_received, args=("Approved",), kwargs={"decision": "approved"}
        )
        thread.start()
        thread.join()

    spans = spans_by_name(captured)
    approval = spans["approval_received"][0]
    assert approval["parent_span_id"] == spans["invoke_agent handoff"][0]["span_id"]
    assert approval["attributes"]["hiveboard.task.id"] == "task-approval"


def test_agent_of_another_task_does_not_borrow_its_context(captured):
    hb = captured.init(api_key="hb_test_ctx")
    sales = hb.agent("sales", heartbeat_interval=0)
    support = hb.agent("support", heartbeat_interval=0)
    with sales.task("task-sales"):
        support.report_issue("support inbox full", severity="medium")
    issue = spans_by_name(captured)["issue"][0]
    assert issue["attributes"]["hiveboard.agent.id"] == "support"
    assert "hiveboard.task.id" not in issue["attributes"]
