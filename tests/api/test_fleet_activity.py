"""The Hive's sparklines: `GET /v1/metrics/agents`, tasks ended and failed per agent and minute."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Telemetry, Tenant


def test_tasks_per_agent_and_bucket_in_one_answer(
    client: TestClient, telemetry: Telemetry, tenant: Tenant, other_tenant: Tenant
) -> None:
    with telemetry.hiveloop(tenant) as run:
        busy = run.hb.agent("busy-agent", heartbeat_interval=0)
        for index in range(3):
            with busy.task(f"ok-{index}"):
                pass
        try:
            with busy.task("broken"):
                raise RuntimeError("no luck")
        except RuntimeError:
            pass
        quiet = run.hb.agent("quiet-agent", heartbeat_interval=0)
        quiet.start_task("still-open")  # an open task has not ended: it is not counted
    with telemetry.hiveloop(other_tenant) as run:
        with run.hb.agent("someone-else", heartbeat_interval=0).task("theirs"):
            pass

    response = client.get("/v1/metrics/agents", params={"range": "1h"}, headers=tenant.headers())
    assert response.status_code == 200, response.text
    activity = response.json()
    assert activity["range"] == "1h" and activity["bucket_seconds"] == 60
    assert len(activity["timestamps"]) in (60, 61)
    assert [agent["agent_id"] for agent in activity["agents"]] == ["busy-agent"]
    busy_row = activity["agents"][0]
    assert len(busy_row["throughput"]) == len(activity["timestamps"])
    assert sum(busy_row["throughput"]) == 4 and sum(busy_row["failed"]) == 1
    # The latest bucket holds them: they just ended.
    assert busy_row["throughput"][-1] + busy_row["throughput"][-2] == 4


def test_a_range_the_picker_does_not_offer_is_refused(client: TestClient, tenant: Tenant) -> None:
    response = client.get("/v1/metrics/agents", params={"range": "2h"}, headers=tenant.headers())
    assert response.status_code == 400
