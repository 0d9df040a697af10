"""The Hive and the Pipeline read what is current (`storage.schema.current_state`): the same answers
as the plain queries over the whole history, on the same data.

The fleet is random (seeded): agents with tasks that complete, fail or stay open, approvals requested
and answered in and out of their task, issues reported and resolved, TODOs and escalations, written
in several inserts so that tasks' rows sit in separate parts. The plain queries are the ones The Hive
ran before: every task's latest row (`FINAL`) and every event of `hb_events`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from hiveboard.api.auth import DataScope
from hiveboard.api.params import SECOND_NS, TimeRange, Window
from hiveboard.api.queries import agents, pipeline, tasks
from hiveboard.api.queries.tables import EVENTS_TABLE, TASKS_TABLE
from hiveboard.api.queries.tasks import TaskFilters, latest_tasks_sql
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore
from tests.api.conftest import Recording, Telemetry, Tenant, new_tenant

AGENT_COUNT = 4

# The Hive's task states before `current_state`: every task's latest row.
PLAIN_TASK_STATES_SQL = f"""
SELECT AgentId,
    countIf(Status = 'processing') AS OpenTasks,
    argMaxIf(TaskId, StartTime, Status = 'processing') AS CurrentTaskId,
    countIf(Status = 'completed' AND EndTime >= fromUnixTimestamp64Nano({{since_ns:Int64}})) AS Completed,
    countIf(Status = 'failed' AND EndTime >= fromUnixTimestamp64Nano({{since_ns:Int64}})) AS Failed,
    countIf(Status != 'processing' AND EndTime >= fromUnixTimestamp64Nano({{since_ns:Int64}})) AS Ended,
    avgIf(DurationNs, Status != 'processing' AND EndTime >= fromUnixTimestamp64Nano({{since_ns:Int64}}))
        AS AvgDurationNs,
    argMaxIf(Status, EndTime, Status != 'processing' AND EndTime >= fromUnixTimestamp64Nano({{since_ns:Int64}}))
        AS LastEndedStatus
FROM ({latest_tasks_sql("", ("AgentId", "TaskId", "Status", "StartTime", "EndTime", "DurationNs"))})
GROUP BY AgentId"""

PLAIN_LAST_TASK_SQL = f"""
SELECT AgentId, argMaxIf(Status, EndTime, Status != 'processing') AS LastTaskStatus
FROM ({latest_tasks_sql("", ("AgentId", "Status", "EndTime"))})
GROUP BY AgentId
HAVING countIf(Status != 'processing') > 0"""


def _random_work(run: Recording, rng: random.Random, round_number: int, open_tasks: list[Any]) -> None:
    """One round of every agent's work; some tasks stay open (`open_tasks`: ended in a later round,
    whose insert holds their final rows apart from their processing rows, or never)."""
    for task in [open_tasks.pop() for _ in range(len(open_tasks) // 2)]:
        task.complete() if rng.random() < 0.5 else task.fail(RuntimeError("late"))
    for number in range(AGENT_COUNT):
        agent = run.hb.agent(f"agent-{number}", heartbeat_interval=0)
        for task_number in range(rng.randint(1, 4)):
            task = agent.start_task(f"r{round_number}-a{number}-t{task_number}")
            for _ in range(rng.randint(0, 2)):
                task.request_approval(f"approve {task_number}")
            if rng.random() < 0.5:
                task.approval_received("decided")
            if rng.random() < 0.3:
                task.escalate("needs a human", assigned_to=rng.choice(["ops@example.com", "agent-0"]))
            if rng.random() < 0.2:
                # An answer given outside the task settles the agent's oldest open request.
                agent.event("approval_received", {"summary": "answered elsewhere"})
            if rng.random() < 0.3:
                agent.report_issue(f"issue {rng.randint(0, 3)}", "high", issue_id=f"i{rng.randint(0, 3)}")
            if rng.random() < 0.2:
                agent.resolve_issue("fixed", issue_id=f"i{rng.randint(0, 3)}")
            if rng.random() < 0.3:
                agent.todo(
                    f"todo-{rng.randint(0, 3)}", rng.choice(["created", "completed"]), f"todo {number}"
                )
            outcome = rng.random()
            if outcome < 0.5:
                task.complete()
            elif outcome < 0.75:
                task.fail(RuntimeError("boom"))
            else:
                open_tasks.append(task)
        run.flush()  # each round is an insert of its own: versions of a task in separate parts


@pytest.fixture(scope="module")
def fleet(storage: Storage, key_store: KeyStore) -> Iterator[DataScope]:
    tenant: Tenant = new_tenant(key_store)
    telemetry = Telemetry(storage)
    rng = random.Random(20261207)
    # Without merges, a task's processing and final rows both stay stored when written apart.
    storage.command(f"SYSTEM STOP MERGES {TASKS_TABLE}")
    with telemetry.hiveloop(tenant) as run:

        def work() -> None:
            open_tasks: list[Any] = []
            for round_number in range(4):
                _random_work(run, rng, round_number, open_tasks)
            # Whatever the draw: a task waiting for a decision, and an escalated one that ended.
            agent = run.hb.agent("agent-0", heartbeat_interval=0)
            agent.start_task("waiting").request_approval("sign off")
            with agent.task("escalated") as task:
                task.escalate("over to a person", assigned_to="ops@example.com")
            # And an agent whose every request was answered, in its task and outside it.
            settled = run.hb.agent("settled-agent", heartbeat_interval=0)
            with settled.task("settled") as task:
                task.request_approval("go ahead?")
                task.approval_received("approved")
                task.request_approval("and this?")
            settled.event("approval_received", {"summary": "answered elsewhere"})

        # In a thread of its own: the tasks left open stay current in that thread's context only,
        # not in the tests that run after these.
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(work).result()
    yield DataScope(tenant.id, "live")
    storage.command(f"SYSTEM START MERGES {TASKS_TABLE}")


def _by_agent(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["AgentId"]: row for row in rows}


def _since_ns() -> int:
    return time.time_ns() - 3600 * SECOND_NS


def test_the_fleet_has_open_and_ended_tasks_approvals_and_issues(storage: Storage, fleet: DataScope) -> None:
    # Tasks that ended in a later insert than their start: both rows stored, until a merge.
    versions = storage.query(
        "SELECT count() FROM hb_tasks WHERE TenantId = {tenant:String} AND Version = 0 AND TaskSpanId IN "
        "(SELECT TaskSpanId FROM hb_tasks WHERE TenantId = {tenant:String} AND Version = 1)",
        fleet.parameters(),
    )
    assert versions.rows[0][0] > 0
    states = storage.query(PLAIN_TASK_STATES_SQL, fleet.parameters(since_ns=_since_ns())).dicts()
    assert sum(row["OpenTasks"] for row in states) > 0
    assert sum(row["Completed"] for row in states) > 0 and sum(row["Failed"] for row in states) > 0
    assert pipeline.pending_approval_counts(storage, fleet)
    assert pipeline.active_issues(storage, fleet)


@pytest.mark.parametrize("agent_id", [None, "agent-1"])
@pytest.mark.parametrize("window_seconds", [3600, 0])
def test_task_states_equal_the_plain_query(
    storage: Storage, fleet: DataScope, agent_id: str | None, window_seconds: int
) -> None:
    since_ns = time.time_ns() - window_seconds * SECOND_NS
    parameters = fleet.parameters(agent_id=agent_id, since_ns=since_ns)
    current = _by_agent(storage.query(agents._task_states_sql(agent_id), parameters).dicts())
    plain = _by_agent(storage.query(PLAIN_TASK_STATES_SQL, parameters).dicts())
    if agent_id is not None:
        plain = {agent_id: plain[agent_id]}
    # The plain query has a row for agents with no open or recent task; the current one leaves them out.
    empty = {
        "OpenTasks": 0,
        "CurrentTaskId": "",
        "Completed": 0,
        "Failed": 0,
        "Ended": 0,
        "LastEndedStatus": "",
    }
    for agent, row in plain.items():
        # A status over no ended task is NULL or '' (the argument types differ): either is none.
        mine = current.get(agent, empty)
        expected = {key: empty[key] if row[key] is None else row[key] for key in empty}
        got = {key: empty[key] if mine[key] is None else mine[key] for key in empty}
        assert got == expected, agent
        if row["Ended"]:
            assert current[agent]["AvgDurationNs"] == pytest.approx(row["AvgDurationNs"])


def test_the_last_task_status_equals_the_plain_query(storage: Storage, fleet: DataScope) -> None:
    parameters = fleet.parameters(agent_id=None)
    current = {
        row["AgentId"]: row["LastTaskStatus"]
        for row in storage.query(agents._last_task_sql(None), parameters).dicts()
    }
    plain = {
        row["AgentId"]: row["LastTaskStatus"]
        for row in storage.query(PLAIN_LAST_TASK_SQL, parameters).dicts()
    }
    assert current == plain and set(plain.values()) <= {"completed", "failed"} and plain


def test_pending_requests_read_for_agents_with_some_equal_the_walk_over_every_approval(
    storage: Storage, fleet: DataScope
) -> None:
    parameters = fleet.parameters(agent_id=None)
    every_event = storage.query(pipeline.approval_events_sql(None, pending_only=False), parameters).dicts()
    plain = pipeline.open_requests(every_event)
    assert pipeline._pending_requests(storage, fleet, None) == plain and plain
    # The fleet has agents whose every request was answered: their events are not read.
    read = storage.query(pipeline.approval_events_sql(None), parameters).dicts()
    assert {row["AgentId"] for row in read} == {request["AgentId"] for request in plain}
    assert {row["AgentId"] for row in every_event} > {row["AgentId"] for row in read}
    for agent_id in ("agent-1", "agent-2"):
        assert pipeline._pending_requests(storage, fleet, agent_id) == [
            request for request in plain if request["AgentId"] == agent_id
        ]


def test_pending_approval_counts_equal_the_requests_left_open(storage: Storage, fleet: DataScope) -> None:
    pending = pipeline._pending_requests(storage, fleet, None)
    expected: dict[str, int] = {}
    for request in pending:
        expected[request["AgentId"]] = expected.get(request["AgentId"], 0) + 1
    assert pipeline.pending_approval_counts(storage, fleet) == expected
    assert pipeline.pending_approval_counts(storage, fleet, "agent-2") == (
        {"agent-2": expected["agent-2"]} if "agent-2" in expected else {}
    )


def test_active_issue_counts_equal_the_issues_listed(storage: Storage, fleet: DataScope) -> None:
    listed = {
        agent: len(issues) for agent, issues in pipeline.active_issues(storage, fleet).items() if issues
    }
    assert pipeline.active_issue_counts(storage, fleet) == listed and listed
    assert pipeline.active_issue_counts(storage, fleet, "agent-3") == {
        agent: count for agent, count in listed.items() if agent == "agent-3"
    }


def test_the_pipeline_equals_the_plain_query_over_hb_events(
    storage: Storage, fleet: DataScope, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = pipeline.fleet_pipeline(storage, fleet)
    monkeypatch.setattr(pipeline, "PIPELINE_EVENTS_TABLE", EVENTS_TABLE)
    plain = pipeline.fleet_pipeline(storage, fleet)
    assert current == plain
    assert current.totals.pending_approvals and current.totals.active_issues and current.totals.open_todos


def test_task_flags_and_human_involvement_equal_the_plain_query_over_hb_events(
    storage: Storage, fleet: DataScope, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pages() -> dict[str, Any]:
        window = Window.last(TimeRange.DAY)
        return {
            status: tasks.list_tasks(
                storage, fleet, window, TaskFilters(status=status), limit=500, stuck_agents=lambda: []
            ).data
            for status in (None, "waiting", "escalated", "processing", "completed", "failed")
        }

    current = pages()
    monkeypatch.setattr(tasks, "PIPELINE_EVENTS_TABLE", EVENTS_TABLE)
    plain = pages()
    assert current == plain
    assert current["waiting"] and current["escalated"]
    assert any(task.has_human_intervention for task in current[None])


@pytest.mark.parametrize("status", ["failed", "completed", "escalated", "waiting", "processing"])
def test_a_page_filtered_on_a_status_lists_the_tasks_of_that_derived_status(
    storage: Storage, fleet: DataScope, status: str
) -> None:
    # `failed` is read from the task's own status, the others from its flags: both must agree with
    # the derived status of the unfiltered list.
    window = Window.last(TimeRange.DAY)

    def page(filters: TaskFilters) -> list[Any]:
        return tasks.list_tasks(storage, fleet, window, filters, limit=500, stuck_agents=lambda: []).data

    everything = page(TaskFilters())
    expected = [task for task in everything if task.derived_status == status]
    assert page(TaskFilters(status=status)) == expected and expected


def test_the_hive_reads_the_open_tasks_through_the_projection(storage: Storage, fleet: DataScope) -> None:
    parameters = fleet.parameters(agent_id=None, since_ns=_since_ns())
    plan = "\n".join(
        row[0]
        for row in storage.query(f"EXPLAIN projections = 1 {agents._task_states_sql(None)}", parameters).rows
    )
    assert "by_version" in plan


COLUMNS = ("TraceId", "TaskId", "AgentId", "Status", "StartTime", "EndTime", "DurationNs", "ErrorType")


@pytest.mark.parametrize("agent_id", [f"agent-{number}" for number in range(AGENT_COUNT)])
def test_one_agents_latest_tasks_by_grouping_equal_final(
    storage: Storage, fleet: DataScope, agent_id: str
) -> None:
    parameters = fleet.parameters(agent_id=agent_id)
    where = "AgentId = {agent_id:String}"

    def rows(by_agent: bool) -> list[tuple[Any, ...]]:
        sql = f"SELECT * FROM ({latest_tasks_sql(where, COLUMNS, by_agent=by_agent)}) ORDER BY TaskSpanId"
        return storage.query(sql, parameters).rows

    grouped = rows(by_agent=True)
    assert grouped == rows(by_agent=False)
    statuses = {row[4] for row in grouped}
    assert statuses & {"completed", "failed"}
    if agent_id == "agent-0":  # its "waiting" task is open
        assert "processing" in statuses


def test_one_agents_tasks_are_read_through_the_by_agent_projection(
    storage: Storage, fleet: DataScope
) -> None:
    sql = latest_tasks_sql("AgentId = {agent_id:String}", COLUMNS, by_agent=True)
    plan = storage.query(f"EXPLAIN projections = 1 {sql}", fleet.parameters(agent_id="agent-1")).rows
    assert "by_agent" in "\n".join(row[0] for row in plan)
