"""How fast the query API answers over a fleet of 1,000,000 spans.

Run `python bench/query.py` (generates 1,000,000 spans, then times every endpoint; several minutes),
`python bench/query.py --data-dir /tmp/hb-bench` to keep the data and reuse it on the next run
(generation is the slow part), or `python bench/query.py --quick` for a smoke run (100,000 spans,
fewer requests). It prints its numbers and exits 0; PASS/FAIL are in the table.

The fleet: spans decoded by the collector's own code, copied in SQL into `otel_traces`, whose
materialized views fill the `hb_*` tables as in production:

* A template is recorded with the real HiveLoop SDK (`hiveloop.testing.capture(deterministic=False)`:
  real clock, random ids). Part one is `hiveboard demo`'s fleet (15 agents of the four kinds: plans
  with failed steps and replans, retries, escalations, approvals, issues, queue snapshots, TODOs,
  scheduled work, custom events, LLM calls of several models with and without a reported cost),
  played at `SPEED` times real time. Part two is 10 LLM-heavy coding agents written here (plans
  whose steps are agentic loops of LLM turns and tool actions), paced the same way, because the
  demo's agents make about two LLM calls per task and the cost views must hold at hundreds of thousands.
* Each part's OTLP requests (512 spans each, as the batch processor sends them) are checked and
  wrapped by the collector's `trace_export` and decoded by ClickHouse with its `TracesInput`, into a
  scratch table of `otel_traces`' structure without its views (`TEMPLATE_TABLE`, dropped at the
  end): the rows the collector would store.
* Each part's timestamps and durations are scaled back by `SPEED` (to the simulated time the fleet
  would have taken at speed 1), together with the agents' heartbeat interval and stuck threshold.
  The coding agents record `CODING_TIME_FACTOR` times longer, so a replica is a session of about
  2 simulated hours in which the demo agents work the first 40 minutes (then sit idle) and the
  coding agents all of it.
* Replica `r` of the template is its rows with fresh trace and span ids (a replica prefix replaces
  the first hex digits: unique per replica, random below), task ids suffixed with the replica, agent
  ids of agent group `r % groups` (a group of 25 agents per 500,000 spans: 50 agents at 1M, 500 at
  10M, so that a larger fleet keeps the same shape and history length), and times shifted so
  that the replicas of each group follow one another up to now. Replicas are written by
  `INSERT INTO otel_traces SELECT` from the scratch tables (`replicas_sql`: the scaling and the
  replica rules above as SQL over the template's columns, several replicas per INSERT, up to about
  `WRITE_BATCH_ROWS` rows), not through the collector's `BatchWriter`; the `hb_*` tables are filled
  only by `otel_traces`' materialized views, never written directly. Then the new models are priced
  (`ModelPricer.refresh()`), as the collector's pricing job does after its writes. A data directory
  is reused only for the same seed and schema version (a later migration's table would not hold the
  data written before it).

The requests go through `fastapi.testclient.TestClient` to the real app (`create_app`), in this
process (no network): every endpoint gets `--repeats` requests, each with parameters drawn at random
(seeded) from its variants: agents, filters, sorts, second pages through cursors, ranges 1h-30d,
task ids of old and recent tasks. One request per endpoint warms up first and is not counted.
The table names the slowest request of each endpoint. Not timed: the live stream (`WS /v1/stream`)
and the writes (projects, API keys). The same seed gives the same fleet activity; ids and the
interleaving of the template's threads vary from run to run.
Targets, p95 on the machine it runs on: `/v1/agents` and `/v1/agents/{id}` <= 50 ms at any size (The
Hive reads what is current, not history), every other endpoint <= 100 ms at 1M spans and <= 150 ms
at 10M. `--sizes 1000000,3000000,10000000` runs each size in a process of its own (with `--data-dir`,
in a subdirectory per size) and prints one table of how each endpoint's p50 / p95 grows with the
data, with the disk bytes per span and the RSS of the process serving the requests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from clickhouse_connect.driver.binding import format_str
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

import hiveloop
from hiveboard.api import create_app
from hiveboard.collector.ingest.trace_rows import TRACE_COLUMNS, TracesInput, trace_export
from hiveboard.demo import run_demo
from hiveboard.storage import ChDBStorage, Storage
from hiveboard.storage.keys import KeyStore
from hiveboard.storage.pricing import ModelPricer
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveboard.storage.schema.migrations import MIGRATIONS
from hiveboard.storage.schema.otel_tables import TRACES_TABLE
from hiveloop.testing import capture

TENANT = "bench"
# p95 targets: The Hive's agents at any size; every other endpoint up to about 1M spans, then 10M.
AGENTS_TARGET_P95_MS = 50.0
AGENT_ENDPOINTS = ("GET /v1/agents", "GET /v1/agents/{id}")
TARGET_P95_MS = 100.0
TARGET_P95_UP_TO_SPANS = 1_500_000
LARGE_TARGET_P95_MS = 150.0
SPEED = 200  # the template plays this many times faster than real time
GROUP_SPANS = 500_000  # a group of the template's 25 agents per this many spans: 50 agents at 1M
DEMO_AGENTS = 15
CODING_AGENTS = 10
CODING_TIME_FACTOR = 3  # the coding agents record 3x longer: most LLM calls come from them
SPANS_PER_REQUEST = 512  # the OTel batch processor's default batch
WRITE_BATCH_ROWS = 50_000
END_MARGIN_S = 60  # the newest replica ends this long before generation starts
SCHEMA_VERSION = max(migration.version for migration in MIGRATIONS)
PROCESS_STARTED_NS = time.time_ns()  # a dataset generated since was generated by this process
DATASET_FILE = "bench-query.json"  # in --data-dir: what was generated, and the key to read it

MODELS = (  # (model, reported cost per million in/out tokens or None: estimated or unpriced)
    ("claude-sonnet-4-20250514", (3.0, 15.0)),
    ("gpt-4o", None),
    ("claude-haiku-4-5-20251001", (1.0, 5.0)),
    ("acme-coder-34b", None),  # unknown to genai-prices: unpriced
)
PROJECTS = ("checkout", "search", "billing", "mobile-app", "infra")


@dataclass(frozen=True)
class Settings:
    spans: int
    template_seconds: float  # real seconds each template part records
    repeats: int  # timed requests per endpoint


FULL = Settings(spans=1_000_000, template_seconds=12.0, repeats=40)
QUICK = Settings(spans=100_000, template_seconds=4.0, repeats=8)


# ---- the template: real HiveLoop spans -----------------------------------------------------------


def demo_fleet_spans(seed: int, seconds: float) -> list[ReadableSpan]:
    """`hiveboard demo`'s fleet, every feature of the seeds, at `SPEED`."""
    with capture(deterministic=False) as captured:
        # The demo initialises HiveLoop itself, as any application does: initialised here first, with
        # the demo's own options, its `hiveloop.init()` returns this capturing client.
        captured.init("hb_live_bench", environment="demo", group="hiveboard-demo")
        run_demo("http://localhost:1", "hb_live_bench", duration_s=seconds, agents=DEMO_AGENTS,
                 speed=SPEED, seed=seed)  # fmt: skip
        return list(captured.spans)


def coding_fleet_spans(seed: int, seconds: float) -> list[ReadableSpan]:
    """LLM-heavy agents: each task is a plan whose steps are loops of LLM turns and tool actions."""
    with capture(deterministic=False) as captured:
        hb = captured.init(api_key="hb_live_bench", environment="bench", flush_interval=1.0)
        stop = threading.Event()
        threads = [
            threading.Thread(target=_coding_agent, args=(hb, n, random.Random(f"{seed}:{n}"), stop))
            for n in range(CODING_AGENTS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        hiveloop.shutdown()
        return list(captured.spans)


def _coding_agent(hb: Any, number: int, rng: random.Random, stop: threading.Event) -> None:
    def wait(simulated_s: float) -> None:
        time.sleep(simulated_s / SPEED)

    agent = hb.agent(
        f"coding-agent-{number}",
        type="coding",
        version="1.4.0",
        heartbeat_interval=5.0 / SPEED,
        stuck_threshold=1,
        heartbeat_payload=lambda: {"repo": "acme/monorepo"},
    )
    task_number = 0
    while not stop.is_set():
        task_number += 1
        steps = ["read issue", "locate code", "write patch", "run tests"][: rng.randint(2, 4)]
        try:
            with agent.task(f"pr-{number}-{task_number}-{rng.getrandbits(24):06x}",
                            project=rng.choice(PROJECTS), type="code_change") as task:  # fmt: skip
                task.plan(f"Fix issue #{rng.randint(100, 9999)}", steps)
                for index, step in enumerate(steps):
                    task.plan_step(index, "started", step)
                    for turn in range(rng.randint(2, 5)):
                        model, rates = rng.choice(MODELS)
                        tokens_in, tokens_out = rng.randint(2_000, 60_000), rng.randint(100, 3_000)
                        latency_s = rng.uniform(1.0, 12.0)
                        wait(latency_s)
                        task.llm_call(
                            f"{step.replace(' ', '_')}_turn",
                            model,
                            tokens_in=tokens_in,
                            tokens_out=tokens_out,
                            cost=None
                            if rates is None
                            else (tokens_in * rates[0] + tokens_out * rates[1]) / 1e6,
                            duration_ms=latency_s * 1000 / SPEED,
                            prompt_preview=f"Step {step}, turn {turn}: the file tree and the failing test",
                            response_preview="I will edit src/handlers.py to guard against None",
                            metadata={"turn_number": turn},
                        )
                        if rng.random() < 0.5:
                            with agent.track_context(rng.choice(("run_tests", "grep", "edit_file"))):
                                wait(rng.uniform(0.5, 20.0))
                                if rng.random() < 0.04:
                                    raise RuntimeError("tool crashed")
                    task.plan_step(index, "completed", f"{step}: done")
        except RuntimeError:
            pass  # HiveLoop recorded the failed task; a real agent moves on
        wait(rng.uniform(5.0, 30.0))


# ---- the replicas: fresh ids, agents and times, copied in SQL -----------------------------------

_AGENT_ATTRIBUTES = ("hiveboard.agent.id", "gen_ai.agent.name")  # values: agent ids
_TASK_ATTRIBUTE = "hiveboard.task.id"
_TIMING_ATTRIBUTES = ("hiveboard.agent.heartbeat_interval", "hiveboard.agent.stuck_threshold")
TEMPLATE_TABLE = "bench_query_template"  # scratch tables, `_0` and `_1`: dropped after generation


@dataclass
class Template:
    """One recorded fleet part, stored in its scratch `table` as the collector stores spans (times
    real): `origin_ns` is its first span's start, `duration_ns` its length scaled back by `SPEED`."""

    table: str
    spans: int
    origin_ns: int
    duration_ns: int
    agents: list[str]


def template_of(storage: Storage, spans: list[ReadableSpan], table: str) -> Template:
    """The spans written to `table` (created with `otel_traces`' structure but none of its views) by
    the collector's own decoding: `trace_export` envelopes of `SPANS_PER_REQUEST` spans each, decoded
    by ClickHouse (`TracesInput`)."""
    storage.command(f"DROP TABLE IF EXISTS {table}")
    storage.command(f"CREATE TABLE {table} AS {TRACES_TABLE}")
    exports = [
        trace_export(encode_spans(spans[start : start + SPANS_PER_REQUEST]), TENANT, "live")
        for start in range(0, len(spans), SPANS_PER_REQUEST)
    ]
    rejected = sum(export.rejected for export in exports)
    if rejected:
        raise RuntimeError(f"the collector rejects {rejected} template spans: {exports[0].errors}")
    table_input = TracesInput(table=table)
    batch: list[bytes] = []
    batch_spans = 0
    for export in exports:
        batch.append(export.envelope)
        batch_spans += export.spans
        if batch_spans >= WRITE_BATCH_ROWS or export is exports[-1]:
            table_input.insert(storage, batch)
            batch, batch_spans = [], 0
    agent = format_str(_AGENT_ATTRIBUTES[0])
    count, origin_ns, end_ns, agents = storage.query(
        f"SELECT count(), min(toUnixTimestamp64Nano(Timestamp)), "
        f"max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)), "
        f"arraySort(groupUniqArrayIf(SpanAttributes[{agent}], SpanAttributes[{agent}] != '')) FROM {table}"
    ).rows[0]
    return Template(table, count, origin_ns, (end_ns - origin_ns) * SPEED, list(agents))


def agent_groups(target_spans: int) -> int:
    return max(2, round(target_spans / GROUP_SPANS))


def replicas_sql(
    template: Template, replicas: range, groups: int, newest_end_ns: int, session_ns: int
) -> str:
    """`INSERT INTO otel_traces SELECT` of replicas `replicas` of `template` (one row per span and
    replica `hb_replica`): times as simulated offsets from the template's start (scaled by `SPEED`)
    plus the replica's offset, so that the replicas of each agent group follow one another, the
    newest ending at `newest_end_ns`; fresh trace and span ids (the replica in hex replaces their
    first 6 / 4 hex digits: unique per replica, random below); the agents of group
    `hb_replica % groups` (`<agent>-g<group>`); task ids suffixed `-r<replica>`; the agents'
    heartbeat interval and stuck threshold scaled by `SPEED`."""
    replica = "hb_replica"
    offset = f"(toInt64({newest_end_ns}) - toInt64(intDiv({replica}, {groups}) + 1) * {session_ns})"

    def shifted(value: str) -> str:
        simulated = f"(toUnixTimestamp64Nano({value}) - {template.origin_ns}) * {SPEED}"
        return f"fromUnixTimestamp64Nano({offset} + {simulated})"

    def fresh(value: str, prefix_digits: int) -> str:
        prefix = f"leftPad(lower(hex({replica})), {prefix_digits}, '0')"
        return f"if({value} = '', '', concat({prefix}, substring({value}, {prefix_digits + 1})))"

    agents = _sql_list(template.agents)
    scaled = f"toString(greatest(1, toInt64(round(toFloat64OrZero(hb_v) * {SPEED}))))"
    attributes = (
        "mapApply((hb_k, hb_v) -> (hb_k, multiIf("
        f"has({_sql_list(_AGENT_ATTRIBUTES)}, hb_k) AND has({agents}, hb_v), "
        f"concat(hb_v, '-g', toString({replica} % {groups})), "
        f"hb_k = {format_str(_TASK_ATTRIBUTE)}, concat(hb_v, '-r', toString({replica})), "
        f"has({_sql_list(_TIMING_ATTRIBUTES)}, hb_k), {scaled}, hb_v)), SpanAttributes)"
    )
    rewritten = {
        "Timestamp": shifted("Timestamp"),
        "TraceId": fresh("TraceId", 6),
        "SpanId": fresh("SpanId", 4),
        "ParentSpanId": fresh("ParentSpanId", 4),
        "SpanAttributes": attributes,
        "Duration": f"Duration * {SPEED}",
        "Events.Timestamp": f"arrayMap(hb_t -> {shifted('hb_t')}, `Events.Timestamp`)",
        "Links.TraceId": f"arrayMap(hb_id -> {fresh('hb_id', 6)}, `Links.TraceId`)",
        "Links.SpanId": f"arrayMap(hb_id -> {fresh('hb_id', 4)}, `Links.SpanId`)",
    }
    columns = ", ".join(f"`{name}`" for name in TRACE_COLUMNS)
    select = ", ".join(rewritten.get(name, f"`{name}`") for name in TRACE_COLUMNS)
    return (
        f"INSERT INTO {TRACES_TABLE} ({columns}) SELECT {select} FROM {template.table} "
        f"ARRAY JOIN range({replicas.start}, {replicas.stop}) AS {replica} "
        "SETTINGS throw_on_max_partitions_per_insert_block = 0"
    )


def _sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(format_str(value) for value in values) + "]"


@dataclass
class Dataset:
    """What `generate` wrote (saved as `DATASET_FILE` in the data directory)."""

    spans: int
    seed: int
    key: str
    generated_at_ns: int
    first_ns: int
    last_ns: int
    generation_s: float
    schema_version: int  # tables a later migration adds were not filled from this data
    agent_groups: int = 2


def generate(storage: Storage, key_store: KeyStore, target_spans: int, seed: int, seconds: float) -> Dataset:
    started = time.perf_counter()
    print(
        f"recording the template at {SPEED}x: demo fleet for {seconds:.0f} s, "
        f"coding agents for {CODING_TIME_FACTOR * seconds:.0f} s ..."
    )
    recorded = [demo_fleet_spans(seed, seconds), coding_fleet_spans(seed, CODING_TIME_FACTOR * seconds)]
    templates: list[Template] = []
    try:
        for part, spans in enumerate(recorded):
            templates.append(template_of(storage, spans, f"{TEMPLATE_TABLE}_{part}"))
        template_spans = sum(t.spans for t in templates)
        session_ns = max(t.duration_ns for t in templates)  # a replica: both parts side by side
        groups = agent_groups(target_spans)
        replicas = max(groups, -(-target_spans // template_spans))
        print(
            f"template: {template_spans:,} spans, {session_ns / 1e9 / 3600:.2f} h simulated, "
            f"{sum(len(t.agents) for t in templates)} agents; writing {replicas} replicas ..."
        )
        plaintext, _ = key_store.create("live", tenant_id=TENANT, name="bench/query.py")
        now_ns = time.time_ns()
        newest_end_ns = now_ns - END_MARGIN_S * 1_000_000_000
        # Replicas of a group follow one another, the newest ending at `newest_end_ns`.
        first_ns = newest_end_ns - ((replicas - 1) // groups + 1) * session_ns
        per_insert = max(1, WRITE_BATCH_ROWS // template_spans)
        written = 0
        for first in range(0, replicas, per_insert):
            batch = range(first, min(replicas, first + per_insert))
            for template in templates:
                storage.command(replicas_sql(template, batch, groups, newest_end_ns, session_ns))
            written += len(batch) * template_spans
            print(f"  replicas {batch.stop}/{replicas}: {written:,} spans written", flush=True)
    finally:
        for part in range(len(recorded)):
            storage.command(f"DROP TABLE IF EXISTS {TEMPLATE_TABLE}_{part}")
    # New models get their rates, as the collector's pricing job does after its writes.
    priced = ModelPricer(storage).refresh()
    print(f"priced {priced} models")
    return Dataset(
        written,
        seed,
        plaintext,
        now_ns,
        first_ns,
        newest_end_ns,
        time.perf_counter() - started,
        SCHEMA_VERSION,
        groups,
    )


def open_dataset(data_dir: Path, target_spans: int, seed: int, seconds: float) -> tuple[ChDBStorage, Dataset]:
    """The storage of `data_dir` with its dataset, generated unless the same one is already there."""
    record = data_dir / DATASET_FILE
    if record.exists():
        dataset = Dataset(**{"schema_version": 0, **json.loads(record.read_text())})
        same = (dataset.seed, dataset.schema_version, dataset.agent_groups) == (
            seed,
            SCHEMA_VERSION,
            agent_groups(target_spans),
        )
        if same and dataset.spans >= target_spans:
            print(f"reusing {dataset.spans:,} spans in {data_dir} (seed {seed})")
            return ChDBStorage(data_dir), dataset
        print(
            f"{data_dir} holds another dataset ({dataset.spans:,} spans, seed {dataset.seed}): replacing it"
        )
        shutil.rmtree(data_dir)
    storage = ChDBStorage(data_dir)
    migrate(storage, SchemaConfig())
    dataset = generate(storage, KeyStore(storage, dev_key=None), target_spans, seed, seconds)
    record.write_text(json.dumps(asdict(dataset)))
    return storage, dataset


# ---- the requests --------------------------------------------------------------------------------

RANGES = ("1h", "6h", "24h", "7d", "30d")


@dataclass(frozen=True)
class Samples:
    """Values requests draw their parameters from, read from the data."""

    agents: list[str]
    projects: list[str]
    models: list[str]
    task_ids: list[str]  # of every age
    counts: dict[str, int]


def samples(storage: Storage, rng: random.Random) -> Samples:
    def column(sql: str) -> list[Any]:
        return [row[0] for row in storage.query(sql).rows]

    scope = f"TenantId = '{TENANT}' AND KeyType = 'live'"
    task_ids = column(f"SELECT TaskId FROM hb_tasks WHERE {scope} AND Version = 1")
    counts = {
        "spans": column("SELECT count() FROM otel_traces")[0],
        "tasks": len(task_ids),
        "LLM calls": column(f"SELECT count() FROM hb_llm_calls WHERE {scope}")[0],
        "events": column(f"SELECT count() FROM hb_events WHERE {scope}")[0],
    }
    return Samples(
        agents=column(f"SELECT DISTINCT AgentId FROM hb_agents WHERE {scope} ORDER BY AgentId"),
        projects=column(f"SELECT DISTINCT Project FROM hb_tasks WHERE {scope} AND Project != '' ORDER BY 1"),
        models=column(f"SELECT DISTINCT ResponseModel FROM hb_llm_calls WHERE {scope} ORDER BY 1"),
        task_ids=rng.sample(task_ids, min(500, len(task_ids))),
        counts=counts,
    )


Request = tuple[str, dict[str, Any]]


def endpoints(s: Samples, rng: random.Random) -> dict[str, Callable[[], Request]]:
    """Each endpoint's request generator: a path and parameters drawn at random."""

    def pick(values: list[Any] | tuple[Any, ...]) -> Any:
        return rng.choice(values)

    def maybe(value: Any, probability: float = 0.5) -> Any:
        return value if rng.random() < probability else None

    def params(**values: Any) -> dict[str, Any]:
        return {key: value for key, value in values.items() if value is not None}

    return {
        "GET /v1/agents": lambda: ("/v1/agents", params(status=maybe(pick(("idle", "stuck", "error")), 0.3))),
        "GET /v1/agents/{id}": lambda: (f"/v1/agents/{pick(s.agents)}", {}),
        "GET /v1/agents/{id}/pipeline": lambda: (f"/v1/agents/{pick(s.agents)}/pipeline", {}),
        "GET /v1/pipeline": lambda: ("/v1/pipeline", {}),
        "GET /v1/tasks": lambda: (
            "/v1/tasks",
            params(
                range=pick(RANGES),
                agent_id=maybe(pick(s.agents), 0.3),
                project=maybe(pick(s.projects), 0.2),
                status=maybe(pick(("completed", "failed", "escalated")), 0.2),
                sort=pick(("started_at", "started_at", "duration_ms")),
                order=pick(("desc", "desc", "asc")),
            ),
        ),
        "GET /v1/tasks?sort=cost": lambda: (
            "/v1/tasks",
            params(range=pick(RANGES), sort="cost", agent_id=maybe(pick(s.agents), 0.3)),
        ),
        "GET /v1/tasks (page 2)": lambda: ("/v1/tasks", params(range=pick(RANGES), _page=2)),
        "GET /v1/tasks/{id}/timeline": lambda: (f"/v1/tasks/{pick(s.task_ids)}/timeline", {}),
        "GET /v1/events": lambda: (
            "/v1/events",
            params(
                range=pick(RANGES),
                agent_id=maybe(pick(s.agents), 0.3),
                group=maybe(pick(("task", "action", "error", "llm", "pipeline", "human", "plan")), 0.4),
                severity=maybe("error", 0.1),
                exclude_heartbeats=maybe("false", 0.1),
            ),
        ),
        "GET /v1/events (page 2)": lambda: ("/v1/events", params(range=pick(RANGES), _page=2)),
        "GET /v1/metrics": lambda: (
            "/v1/metrics",
            params(
                range=pick(RANGES), agent_id=maybe(pick(s.agents), 0.3), project=maybe(pick(s.projects), 0.2)
            ),
        ),
        "GET /v1/metrics/agents": lambda: ("/v1/metrics/agents", params(range=pick(("1h", "1h", "24h")))),
        "GET /v1/insights": lambda: (
            "/v1/insights",
            params(range=pick(RANGES), agent_id=maybe(pick(s.agents), 0.3)),
        ),
        "GET /v1/cost": lambda: (
            "/v1/cost",
            params(range=pick(RANGES), agent_id=maybe(pick(s.agents), 0.3), model=maybe(pick(s.models), 0.2)),
        ),
        # What the cost explorer asks for: the overview with its cost over time, in one scan.
        "GET /v1/cost?series=": lambda: (
            "/v1/cost",
            params(range=pick(RANGES), agent_id=maybe(pick(s.agents), 0.3), series=pick(("model", "agent"))),
        ),
        "GET /v1/cost/calls": lambda: (
            "/v1/cost/calls",
            params(range=pick(RANGES), agent_id=maybe(pick(s.agents), 0.3), _page=pick((1, 2))),
        ),
        "GET /v1/cost/timeseries": lambda: (
            "/v1/cost/timeseries",
            params(range=pick(RANGES), group_by=pick(("total", "model", "agent"))),
        ),
        "GET /v1/llm-calls": lambda: (
            "/v1/llm-calls",
            params(
                range=pick(RANGES),
                agent_id=maybe(pick(s.agents), 0.3),
                model=maybe(pick(s.models), 0.2),
                cost_source=maybe(pick(("reported", "estimated", "unpriced")), 0.2),
                _page=pick((1, 1, 2)),
            ),
        ),
        "GET /v1/filters": lambda: ("/v1/filters", {}),
        "GET /v1/projects": lambda: ("/v1/projects", {}),
        "GET /v1/projects/{slug}": lambda: (f"/v1/projects/{pick(s.projects)}", {}),
        "GET /v1/api-keys": lambda: ("/v1/api-keys", {}),
        "GET /health": lambda: ("/health", {}),
    }


@dataclass
class Timing:
    endpoint: str
    latencies_ms: list[float]
    errors: Counter[str]
    slowest: str = ""  # the request of the highest latency

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def timed_get(client: TestClient, path: str, parameters: dict[str, Any], key: str) -> tuple[float, Any]:
    """One request; a `_page` parameter of 2 first fetches page 1 (untimed) for its cursor."""
    headers = {"Authorization": f"Bearer {key}"}
    parameters = dict(parameters)
    if parameters.pop("_page", 1) == 2:
        first = client.get(path, params=parameters, headers=headers).json()
        cursor = first.get("pagination", {}).get("next_cursor")
        if cursor:
            parameters["cursor"] = cursor
    started = time.perf_counter()
    response = client.get(path, params=parameters, headers=headers)
    return (time.perf_counter() - started) * 1000, response


def time_endpoints(
    client: TestClient, key: str, s: Samples, repeats: int, seed: int, only: str | None
) -> list[Timing]:
    rng = random.Random(seed)
    generators = {name: make for name, make in endpoints(s, rng).items() if not only or only in name}
    timings = {name: Timing(name, [], Counter()) for name in generators}
    for generator in generators.values():  # warm-up: not counted
        timed_get(client, *generator(), key)
    for _ in range(repeats):  # round-robin: background noise spreads over every endpoint
        for name, generator in generators.items():
            path, parameters = generator()
            latency_ms, response = timed_get(client, path, parameters, key)
            if response.status_code >= 400 and response.status_code != 404:
                timings[name].errors[f"HTTP {response.status_code}"] += 1
            timing = timings[name]
            if not timing.latencies_ms or latency_ms > max(timing.latencies_ms):
                timing.slowest = f"{path}?{urlencode(parameters)}"
            timing.latencies_ms.append(latency_ms)
    return list(timings.values())


# ---- the report ----------------------------------------------------------------------------------


@contextmanager
def data_directory(path: str | None) -> Iterator[Path]:
    if path:
        yield Path(path)
        return
    directory = Path(tempfile.mkdtemp(prefix="hiveboard-bench-query-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or platform.machine(),
    )  # fmt: skip
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Python {platform.python_version()}, "
        f"load average {load}"
    )


def target_ms(endpoint: str, spans: int) -> float:
    """The p95 an endpoint must hold: The Hive's agents at any size, the rest by the data's size."""
    if endpoint in AGENT_ENDPOINTS:
        return AGENTS_TARGET_P95_MS
    return TARGET_P95_MS if spans <= TARGET_P95_UP_TO_SPANS else LARGE_TARGET_P95_MS


def disk_bytes(storage: Storage) -> int:
    """Bytes on disk of every active part (projections included) of HiveBoard's database."""
    sql = "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = currentDatabase() AND active"
    return int(storage.query(sql).rows[0][0] or 0)


def memory_bytes(name: str) -> int:
    """This process's `VmRSS` or `VmHWM` (peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate (or reuse) the data, time every endpoint, print the table; the figures as a dict."""
    settings = QUICK if args.quick else FULL
    target_spans = args.spans or settings.spans
    repeats = args.repeats or settings.repeats
    print(f"machine: {machine()}")
    with data_directory(args.data_dir) as directory:
        storage, dataset = open_dataset(directory, target_spans, args.seed, settings.template_seconds)
        with storage:
            generated = dataset.generated_at_ns >= PROCESS_STARTED_NS
            if dataset.generation_s:
                print(f"data: generated in {dataset.generation_s:.0f} s")
            s = samples(storage, random.Random(args.seed))
            age_h = (time.time_ns() - dataset.last_ns) / 3.6e12
            span_h = (dataset.last_ns - dataset.first_ns) / 3.6e12
            print(
                "data: " + ", ".join(f"{count:,} {name}" for name, count in s.counts.items())
                + f", {len(s.agents)} agents, {span_h:.1f} h of activity ending {age_h:.1f} h ago"
            )  # fmt: skip
            on_disk = disk_bytes(storage)
            app = create_app(storage, KeyStore(storage, dev_key=None))
            with TestClient(app) as client:
                timings = time_endpoints(client, dataset.key, s, repeats, args.seed, args.only)
            rss = memory_bytes("VmRSS")
    spans = s.counts["spans"]
    print()
    print(
        f"{'endpoint':<32} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>7}  result  slowest"
    )
    failing = []
    for timing in timings:
        p95, target = timing.percentile(0.95), target_ms(timing.endpoint, spans)
        errors = f"  ({sum(timing.errors.values())} errors: {dict(timing.errors)})" if timing.errors else ""
        verdict = "PASS" if p95 <= target and not timing.errors else "FAIL"
        if verdict == "FAIL":
            failing.append(timing.endpoint)
        p50 = statistics.median(timing.latencies_ms)
        print(
            f"{timing.endpoint:<32} {len(timing.latencies_ms):>4} {p50:>8.1f} {p95:>8.1f} "
            f"{max(timing.latencies_ms):>8.1f} {target:>7.0f}  {verdict}    {timing.slowest}{errors}"
        )
    print()
    print(f"disk: {on_disk / spans:.0f} bytes per span ({on_disk / 1024**2:,.0f} MiB for {spans:,} spans)")
    peak = memory_bytes("VmHWM")
    print(
        f"memory: RSS {rss / 1024**2:,.0f} MiB after the requests, peak {peak / 1024**2:,.0f} MiB"
        + (" (generation included)" if generated else " (the data was reused: serving only)")
    )
    print(
        f"{'PASS' if not failing else 'FAIL'}  every endpoint within its p95 target at {spans:,} spans"
        + (f" (over: {', '.join(failing)})" if failing else "")
    )
    return {
        "machine": machine(),
        "counts": s.counts,
        "agents": len(s.agents),
        "disk_bytes": on_disk,
        "rss_bytes": rss,
        "peak_rss_bytes": peak,
        "generated_here": generated,
        "endpoints": {
            timing.endpoint: {
                "p50_ms": statistics.median(timing.latencies_ms),
                "p95_ms": timing.percentile(0.95),
                "target_ms": target_ms(timing.endpoint, spans),
                "errors": sum(timing.errors.values()),
            }
            for timing in timings
        },
    }


def growth_report(sizes: list[int], args: argparse.Namespace) -> None:
    """Each size in a process of its own (a process hosts one chDB data directory), then one table
    of p50 / p95 per endpoint and size, with disk bytes per span and the serving process's RSS."""
    results: dict[int, dict[str, Any]] = {}
    for size in sizes:
        with tempfile.NamedTemporaryFile(suffix=".json") as output:
            command = [
                sys.executable,
                __file__,
                "--spans",
                str(size),
                "--seed",
                str(args.seed),
                "--json",
                output.name,
            ]
            if args.data_dir:
                command += ["--data-dir", str(Path(args.data_dir) / f"spans-{size}")]
            for option in ("repeats", "only"):
                if getattr(args, option):
                    command += [f"--{option}", str(getattr(args, option))]
            print(f"\n==== {size:,} spans: {' '.join(command[1:])}", flush=True)
            subprocess.run(command, check=True)
            results[size] = json.loads(Path(output.name).read_text())
    print("\n==== cost as the data grows: p50 / p95 ms (target)")
    header = "".join(f"{f'{size / 1e6:g}M spans':>22}" for size in sizes)
    print(f"{'endpoint':<32}{header}")
    for endpoint in results[sizes[0]]["endpoints"]:
        cells = []
        for size in sizes:
            figures = results[size]["endpoints"].get(endpoint)
            cells.append(
                f"{figures['p50_ms']:>7.1f} / {figures['p95_ms']:>6.1f} ({figures['target_ms']:.0f})"
                if figures
                else f"{'-':>22}"
            )
        print(f"{endpoint:<32}" + "".join(f"{cell:>22}" for cell in cells))
    rows = {
        "spans": lambda r: f"{r['counts']['spans']:,}",
        "agents / tasks": lambda r: f"{r['agents']} / {r['counts']['tasks']:,}",
        "LLM calls": lambda r: f"{r['counts']['LLM calls']:,}",
        "disk bytes per span": lambda r: f"{r['disk_bytes'] / r['counts']['spans']:.0f}",
        "RSS after requests (MiB)": lambda r: f"{r['rss_bytes'] / 1024**2:,.0f}",
        "peak RSS (MiB)": lambda r: (
            f"{r['peak_rss_bytes'] / 1024**2:,.0f}" + ("*" if r["generated_here"] else "")
        ),
    }
    for name, cell in rows.items():
        print(f"{name:<32}" + "".join(f"{cell(results[size]):>22}" for size in sizes))
    print("* generated in that process: the peak includes generation")
    for size in sizes:
        over = [
            name
            for name, f in results[size]["endpoints"].items()
            if f["p95_ms"] > f["target_ms"] or f["errors"]
        ]
        verdict = "PASS" if not over else "FAIL"
        print(
            f"{verdict}  {size:,} spans: every endpoint within its target"
            + (f" (over: {', '.join(over)})" if over else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, help="spans to generate (default 1,000,000; --quick 100,000)")
    parser.add_argument(
        "--sizes", help="comma-separated sizes (e.g. 1000000,3000000,10000000): one report of all of them"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the fleet and of the requests (default 1)"
    )
    parser.add_argument(
        "--data-dir",
        help="keep the data here and reuse it when it holds the same dataset (with --sizes: "
        "one subdirectory per size)",
    )
    parser.add_argument("--repeats", type=int, help="timed requests per endpoint (default 40; --quick 8)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 100,000 spans, 8 requests each")
    parser.add_argument("--only", help="time only the endpoints whose label contains this text")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.sizes:
        growth_report([int(size) for size in args.sizes.split(",")], args)
        return
    figures = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
