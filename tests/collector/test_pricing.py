"""Model prices in real chDB: `ModelPricer` fills hb_model_prices from the stored calls, the
hb_llm_costs view gives each call the cost `cost.cost_for_span` gives its span, and `PricingJob`
keeps pricing through storage failures."""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from hiveboard.storage import ChDBStorage, QueryResult, Storage
from hiveboard.storage.prices import call_models, cost_for_span
from hiveboard.storage.pricing import ModelPricer, PricingJob
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveboard.storage.schema.prices_table import PRICES_COLUMNS
from tests.collector.test_schema import (
    NOW_NS,
    SECOND,
    exported,
    hiveloop_resource,
    insert_spans,
    new_id,
    span,
)
from tests.storage_proxy import StorageProxy

UNKNOWN_MODEL = "totally-made-up-model-xyz-9000"

COST_QUERY = (
    "SELECT SpanId, Cost, CostSource, MatchedModel FROM hb_llm_costs WHERE TenantId = {tenant:String}"
)


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(tmp_path_factory.mktemp("pricing") / "hiveboard-data") as opened:
        migrate(opened, SchemaConfig())
        yield opened


@pytest.fixture
def tenant() -> str:
    """A tenant of this test alone, so tests share one database without seeing each other's rows."""
    return f"tenant-{new_id()}"


def genai_call(tenant: str, attributes: Mapping[str, Any], span_id: str | None = None) -> list[Any]:
    """An otel_traces row of an LLM call as an OTel GenAI instrumentation (not HiveLoop) exports it."""
    return span(
        "chat",
        {"gen_ai.operation.name": "chat", **attributes},
        start_ns=NOW_NS,
        duration_ns=SECOND,
        trace_id=new_id(16),
        span_id=span_id,
        kind="Client",
        resource=hiveloop_resource(tenant),
    )


def costs(storage: Storage, tenant: str) -> dict[str, tuple[Any, ...]]:
    """`SpanId -> (Cost, CostSource, MatchedModel)` of the tenant's calls in hb_llm_costs."""
    return {row[0]: row[1:] for row in storage.query(COST_QUERY, {"tenant": tenant}).rows}


# ---- the view's cost -------------------------------------------------------------------------------


def test_a_plain_otel_genai_span_gets_an_estimated_cost_after_refresh(
    storage: ChDBStorage, tenant: str
) -> None:
    span_id = new_id()
    usage = {
        "gen_ai.usage.input_tokens": 1800,
        "gen_ai.usage.output_tokens": 250,
        "gen_ai.usage.cache_read.input_tokens": 1200,
        "gen_ai.usage.cache_creation.input_tokens": 300,
    }
    model = {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-20250514"}
    insert_spans(storage, genai_call(tenant, {**model, **usage}, span_id))
    # Not priced yet: no cost, and never a silent 0.
    assert costs(storage, tenant) == {span_id: (None, "unpriced", "")}

    assert ModelPricer(storage).refresh() >= 1

    expected = calc_price(
        Usage(input_tokens=1800, output_tokens=250, cache_read_tokens=1200, cache_write_tokens=300),
        "claude-sonnet-4-20250514",
        provider_id="anthropic",
    )
    ((cost, source, matched),) = costs(storage, tenant).values()
    assert (source, matched) == ("estimated", "claude-sonnet-4-0")
    assert cost == pytest.approx(float(expected.total_price), rel=1e-12)


def test_an_unknown_model_is_unpriced_never_zero(storage: ChDBStorage, tenant: str) -> None:
    span_id = new_id()
    insert_spans(
        storage,
        genai_call(
            tenant,
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": UNKNOWN_MODEL,
                "gen_ai.usage.input_tokens": 9,
            },
            span_id,
        ),
    )
    ModelPricer(storage).refresh()

    assert costs(storage, tenant) == {span_id: (None, "unpriced", "")}
    stored = storage.query(
        "SELECT Priced, MatchedModel, Input FROM hb_model_prices FINAL"
        " WHERE Provider = 'openai' AND Model = {model:String}",
        {"model": UNKNOWN_MODEL},
    )
    assert stored.rows == [(False, "", None)]


def test_a_reported_cost_wins_over_the_estimate(storage: ChDBStorage, tenant: str) -> None:
    call = {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 100,
    }
    reported, zero, stored_estimate = new_id(), new_id(), new_id()
    insert_spans(
        storage,
        genai_call(
            tenant, {**call, "hiveboard.llm.cost": 0.5, "hiveboard.llm.cost_source": "reported"}, reported
        ),
        genai_call(tenant, {**call, "hiveboard.llm.cost": 0}, zero),
        # A cost marked as an estimate is estimated afresh.
        genai_call(
            tenant,
            {**call, "hiveboard.llm.cost": 99, "hiveboard.llm.cost_source": "estimated"},
            stored_estimate,
        ),
    )
    ModelPricer(storage).refresh()

    assert costs(storage, tenant) == {
        reported: (0.5, "reported", ""),
        zero: (0.0, "reported", ""),
        stored_estimate: ((1000 * 2.5 + 100 * 10.0) / 1_000_000, "estimated", "gpt-4o"),
    }


MODELS = [
    {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-20250514"}
    | {"gen_ai.response.model": "claude-sonnet-4-20250514"},
    {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
    },
    # A deployment name as the response model: the request model is priced.
    {"gen_ai.provider.name": "azure.ai.openai", "gen_ai.request.model": "gpt-4o"}
    | {"gen_ai.response.model": "my-azure-deployment-7"},
    {"gen_ai.request.model": "gpt-4o-mini"},  # no provider
    {"gen_ai.system": "aws.bedrock", "gen_ai.request.model": "us.anthropic.claude-sonnet-4-20250514-v1:0"},
    {"gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemini-2.5-pro"},  # tiered
    {"gen_ai.provider.name": "mistral_ai", "gen_ai.request.model": "mistral-large-latest"},  # no cache rates
    {"gen_ai.provider.name": "gcp.gemini", "gen_ai.request.model": "gemma-3"},  # free
    {"gen_ai.provider.name": "openai", "gen_ai.request.model": "whisper-1"},  # not priced per token
    {"gen_ai.provider.name": "openai", "gen_ai.request.model": UNKNOWN_MODEL},
    {"hiveboard.span.type": "llm"},  # a HiveLoop LLM call that names no model
]
USAGES = [
    {},
    {"gen_ai.usage.input_tokens": 0, "gen_ai.usage.output_tokens": 0},
    {"gen_ai.usage.input_tokens": 12_000, "gen_ai.usage.output_tokens": 800},
    # Input tokens including the cache (OTel), then excluding it (Anthropic's API).
    {"gen_ai.usage.input_tokens": 1800, "gen_ai.usage.output_tokens": 250}
    | {"gen_ai.usage.cache_read.input_tokens": 1200, "gen_ai.usage.cache_creation.input_tokens": 300},
    {"gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 400}
    | {"gen_ai.usage.cache_read.input_tokens": 9000, "gen_ai.usage.cache_creation.input_tokens": 1000},
    {"gen_ai.usage.input_tokens": 7_000, "gen_ai.usage.cache_write.input_tokens": 7_000},
    {"gen_ai.usage.input_tokens": "abc", "gen_ai.usage.output_tokens": 333},
]
REPORTED = [
    {},
    {"hiveboard.llm.cost": 0.004, "hiveboard.llm.cost_source": "reported"},
    {"hiveboard.llm.cost": 0.5, "hiveboard.llm.cost_source": "estimated"},
    {"hiveboard.llm.cost": -1},
    {"hiveboard.llm.cost": "nan"},
]


def test_the_view_gives_each_call_the_cost_of_cost_for_span(storage: ChDBStorage, tenant: str) -> None:
    grid = {
        new_id(): {**model, **usage, **reported}
        for model, usage, reported in itertools.product(MODELS, USAGES, REPORTED)
    }
    insert_spans(storage, *(genai_call(tenant, attributes, span_id) for span_id, attributes in grid.items()))
    ModelPricer(storage).refresh()

    expected = {}
    for span_id, attributes in grid.items():
        result = cost_for_span(exported(attributes))
        source = result.source or ("unpriced" if result.unpriced else "")
        expected[span_id] = (result.cost, source, result.matched_model or "")
    assert costs(storage, tenant) == expected  # exactly: the same Float64 operations in the same order
    sources = {source for _, source, _ in expected.values()}
    assert sources == {"reported", "estimated", "unpriced", ""}


# ---- ModelPricer -----------------------------------------------------------------------------------


def insert_unknown_models(storage: Storage, tenant: str, count: int) -> list[str]:
    models = [f"model-{new_id()}" for _ in range(count)]
    insert_spans(
        storage,
        *(
            genai_call(tenant, {"gen_ai.request.model": model, "gen_ai.usage.input_tokens": 5})
            for model in models
        ),
    )
    return models


def stored_at(storage: Storage, models: list[str]) -> dict[str, Any]:
    result = storage.query(
        "SELECT Model, UpdatedAt FROM hb_model_prices FINAL WHERE Model IN {models:Array(String)}",
        {"models": models},
    )
    return dict(result.rows)


def test_refresh_prices_the_missing_models_and_all_of_them_on_request(
    storage: ChDBStorage, tenant: str
) -> None:
    pricer = ModelPricer(storage)
    pricer.refresh()  # the calls of earlier tests
    models = insert_unknown_models(storage, tenant, 2)

    assert pricer.refresh() == 2
    assert pricer.refresh() == 0
    first = stored_at(storage, models)
    assert sorted(first) == sorted(models)

    assert pricer.refresh(all_models=True) >= 2
    again = stored_at(storage, models)
    assert all(again[model] > first[model] for model in models)


def test_refresh_reprices_the_rows_older_than_the_max_age(storage: ChDBStorage, tenant: str) -> None:
    ModelPricer(storage).refresh()
    models = insert_unknown_models(storage, tenant, 1)
    pricer = ModelPricer(storage, max_age=timedelta(seconds=1))
    assert pricer.refresh() == 1
    first = stored_at(storage, models)
    assert pricer.refresh() == 0

    time.sleep(1.1)
    assert pricer.refresh() >= 1  # every row is older than the max age now
    assert stored_at(storage, models)[models[0]] > first[models[0]]


def insert_price(storage: Storage, provider: str, model: str, updated_at: datetime) -> None:
    """A row of hb_model_prices for a model genai-prices does not know, as the pricer writes it."""
    storage.insert(
        "hb_model_prices",
        PRICES_COLUMNS,
        [[provider, model, None, None, None, None, "", False, False, updated_at]],
    )


def test_price_new_models_prices_only_the_pairs_without_any_row(storage: ChDBStorage, tenant: str) -> None:
    pricer = ModelPricer(storage)
    pricer.price_new_models()  # the calls of earlier tests
    stale, new = insert_unknown_models(storage, tenant, 2)
    long_ago = datetime.now(tz=UTC) - timedelta(days=30)  # far older than the max age
    insert_price(storage, "", stale, long_ago)

    assert pricer.price_new_models() == 1
    assert pricer.price_new_models() == 0
    assert ModelPricer(storage).price_new_models() == 0  # nothing in memory: another process agrees
    priced = stored_at(storage, [stale, new])
    assert priced[stale] < long_ago + timedelta(seconds=1)  # untouched, however old
    assert priced[new] > long_ago + timedelta(days=29)

    assert pricer.refresh() >= 1  # a refresh, unlike price_new_models, prices the stale row again
    assert stored_at(storage, [stale])[stale] > long_ago


def test_price_new_models_stores_a_model_unknown_to_genai_prices_unpriced(
    storage: ChDBStorage, tenant: str
) -> None:
    ModelPricer(storage).price_new_models()
    span_id, model = new_id(), f"gpt-4o-{new_id()}"  # unknown to genai-prices
    call = {"gen_ai.provider.name": "openai", "gen_ai.request.model": model, "gen_ai.usage.input_tokens": 9}
    insert_spans(storage, genai_call(tenant, call, span_id))

    assert ModelPricer(storage).price_new_models() == 1

    stored = storage.query(
        "SELECT Priced, MatchedModel, Input FROM hb_model_prices FINAL"
        " WHERE Provider = 'openai' AND Model = {model:String}",
        {"model": model},
    )
    assert stored.rows == [(False, "", None)]
    assert costs(storage, tenant) == {span_id: (None, "unpriced", "")}


def test_price_new_models_prices_the_pairs_of_call_models(storage: ChDBStorage, tenant: str) -> None:
    span_id = new_id()
    attributes = {
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": f"deployment-{new_id()}",
        "gen_ai.usage.input_tokens": 1_000_000,
    }
    insert_spans(storage, genai_call(tenant, attributes, span_id))
    pairs = call_models(exported(attributes))

    # As the collector's pricing job does when the writer wakes it, without waiting for a refresh.
    assert ModelPricer(storage).price_new_models() >= 1

    stored = storage.query(
        "SELECT Provider, Model, Priced FROM hb_model_prices FINAL"
        " WHERE (Provider, Model) IN {pairs:Array(Tuple(String, String))}",
        {"pairs": pairs},
    ).rows
    assert sorted(stored) == sorted([(*pairs[0], False), (*pairs[1], True)])  # the deployment, gpt-4o
    assert costs(storage, tenant) == {span_id: (2.5, "estimated", "gpt-4o")}


# ---- PricingJob --------------------------------------------------------------------------------------


def test_the_job_survives_storage_failures_and_prices_once_storage_is_back(
    storage: ChDBStorage, tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    models = insert_unknown_models(storage, tenant, 1)
    failing = StorageProxy(storage)
    failing.failures = 3
    job = PricingJob(ModelPricer(failing), interval_s=0.05)
    with caplog.at_level(logging.WARNING, logger="hiveboard.storage.pricing"):
        job.start()
        deadline = time.monotonic() + 10
        while not stored_at(storage, models) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert job.running
        job.stop()
    assert list(stored_at(storage, models)) == models
    failed = [record for record in caplog.records if "storage is down (injected)" in record.getMessage()]
    assert len(failed) == 3


def test_the_job_stops_promptly_between_refreshes(storage: ChDBStorage) -> None:
    refreshed = threading.Event()

    class SignallingPricer(ModelPricer):
        def refresh(self, all_models: bool = False) -> int:
            written = super().refresh(all_models)
            refreshed.set()
            return written

    job = PricingJob(SignallingPricer(storage), interval_s=3600)
    job.start()
    assert refreshed.wait(10)  # the first refresh runs at start
    started = time.monotonic()
    job.stop()
    assert time.monotonic() - started < 1
    assert not job.running


class CountingPricer(ModelPricer):
    """A `ModelPricer` that counts the runs of `price_new_models` (failed ones too) and signals the
    end of each, and of the first refresh."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.refreshed = threading.Event()
        self.new_model_runs = 0
        self.priced_new = threading.Event()

    def refresh(self, all_models: bool = False) -> int:
        try:
            return super().refresh(all_models)
        finally:
            self.refreshed.set()

    def price_new_models(self) -> int:
        self.new_model_runs += 1  # only the job's thread calls it
        try:
            return super().price_new_models()
        finally:
            self.priced_new.set()


# Any wait for the job ends well within this, or it is stuck.
WAIT_S = 20.0


def wait_until_priced(storage: Storage, models: list[str], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sorted(stored_at(storage, models)) == sorted(models):
            return True
        time.sleep(0.02)
    return False


@contextmanager
def running_job(job: PricingJob) -> Iterator[PricingJob]:
    job.start()
    try:
        yield job
    finally:
        job.stop()


def test_a_wake_prices_a_new_model_at_once_between_refreshes(storage: ChDBStorage, tenant: str) -> None:
    pricer = CountingPricer(storage)
    with running_job(PricingJob(pricer, interval_s=3600)) as job:
        assert pricer.refreshed.wait(WAIT_S)  # the refresh at start; the next one is an hour away
        models = insert_unknown_models(storage, tenant, 1)
        assert not stored_at(storage, models)

        job.wake()

        assert wait_until_priced(storage, models, timeout_s=10)
        assert pricer.priced_new.wait(WAIT_S)
        assert pricer.new_model_runs == 1


def test_a_burst_of_wakes_runs_few_pricings_and_the_last_wake_is_still_served(
    storage: ChDBStorage, tenant: str
) -> None:
    pricer = CountingPricer(storage)
    with running_job(PricingJob(pricer, interval_s=3600, min_wake_interval_s=2.0)) as job:
        assert pricer.refreshed.wait(WAIT_S)
        burst_end = time.monotonic() + 1.0
        wakes = 0
        while time.monotonic() < burst_end:  # a writer finishing an insert every 5 ms, for a second
            job.wake()
            wakes += 1
            time.sleep(0.005)
        assert pricer.priced_new.wait(WAIT_S)  # the first wake was served at once
        models = insert_unknown_models(storage, tenant, 1)

        job.wake()  # held back (the job is within min_wake_interval_s of its last run), not lost

        assert wait_until_priced(storage, models)
    # The first wake, then one run for the wakes held back (and the last one, unless it came after).
    assert 2 <= pricer.new_model_runs <= 3, f"{wakes} wakes ran {pricer.new_model_runs} pricings"


def test_the_job_stops_promptly_while_it_holds_back_a_wake(storage: ChDBStorage) -> None:
    pricer = CountingPricer(storage)
    job = PricingJob(pricer, interval_s=3600, min_wake_interval_s=60)
    with running_job(job):
        assert pricer.refreshed.wait(WAIT_S)
        job.wake()
        assert pricer.priced_new.wait(WAIT_S)
        job.wake()  # due in a minute
        started = time.monotonic()
        job.stop()
        assert time.monotonic() - started < 5  # not the minute the wake waits for
        assert not job.running


def test_a_wake_whose_pricing_fails_is_retried_at_the_next_wake(
    storage: ChDBStorage, tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    failing = StorageProxy(storage)
    pricer = CountingPricer(failing)
    with (
        caplog.at_level(logging.WARNING, logger="hiveboard.storage.pricing"),
        running_job(PricingJob(pricer, interval_s=3600, min_wake_interval_s=0.1)) as job,
    ):
        assert pricer.refreshed.wait(WAIT_S)
        models = insert_unknown_models(storage, tenant, 1)
        failing.down = True
        job.wake()
        assert pricer.priced_new.wait(WAIT_S)  # the pricing ran, and failed
        failing.down = False
        assert not stored_at(storage, models)
        assert job.running

        job.wake()

        assert wait_until_priced(storage, models)
    failed = [record for record in caplog.records if "storage is down (injected)" in record.getMessage()]
    assert len(failed) == 1


# ---- speed ---------------------------------------------------------------------------------------------

CALLS = 300_000


def test_the_costs_view_on_many_calls_prunes_by_tenant_and_stays_fast(
    storage: ChDBStorage, tenant: str
) -> None:
    models = ["claude-sonnet-4-20250514", "gpt-4o-2024-08-06", "gemini-2.5-pro", "gpt-4o-mini", UNKNOWN_MODEL]
    providers = ["anthropic", "openai", "gcp.gemini", "openai", "openai"]
    # CALLS calls over the last 5 days, for this tenant and for 4 others.
    model = "intDiv(number, 5) % 5 + 1"
    storage.command(
        "INSERT INTO hb_llm_calls (Timestamp, TenantId, KeyType, TraceId, SpanId, Provider, RequestModel,"
        " ResponseModel, InputTokens, OutputTokens, CacheReadTokens, ReportedCost)"
        f" SELECT now64(9) - toIntervalMillisecond(number * 1440),"
        f" if(number % 5 = 0, '{tenant}', concat('other-', toString(number % 5))), 'live', hex(number),"
        f" hex(number * 7), {providers}[{model}], {models}[{model}], {models}[{model}], 1000 + number % 5000,"
        f" 100 + number % 700, (number % 3) * 300, if(number % 10 = 0, 0.01, NULL) FROM numbers({CALLS})"
    )
    ModelPricer(storage).refresh()
    where = "WHERE TenantId = {tenant:String} AND KeyType = 'live' AND Timestamp >= now64(9) - INTERVAL 7 DAY"

    def timed(sql: str) -> tuple[float, QueryResult]:
        storage.query(sql, {"tenant": tenant})
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = storage.query(sql, {"tenant": tenant})
            times.append(time.perf_counter() - start)
        return statistics.median(times), result

    calls_s, calls = timed(
        f"SELECT ResponseModel, count(), sum(ReportedCost) FROM hb_llm_calls {where} GROUP BY 1"
    )
    costs_s, costed = timed(
        f"SELECT ResponseModel, count(), sum(Cost), countIf(CostSource = 'unpriced') FROM hb_llm_costs {where}"
        " GROUP BY 1 ORDER BY 1"
    )
    all_s, _ = timed("SELECT ResponseModel, sum(Cost) FROM hb_llm_costs GROUP BY 1")
    print(
        f"\n{CALLS // 5} calls of a tenant in {CALLS}: hb_llm_calls {calls_s * 1000:.1f} ms,"
        f" hb_llm_costs {costs_s * 1000:.1f} ms; all {CALLS} calls through hb_llm_costs {all_s * 1000:.1f} ms"
    )
    assert [row[1] for row in costed.rows] == [CALLS // 25] * 5
    assert sorted(row[:2] for row in calls.rows) == [row[:2] for row in costed.rows]
    unpriced = {row[0]: row[3] for row in costed.rows}
    assert unpriced[UNKNOWN_MODEL] > 0 and unpriced["gpt-4o-mini"] == 0
    assert costs_s < 2.0  # generous for a loaded 2-core machine; about 40 ms when idle

    # The tenant's filter reaches hb_llm_calls' primary key through the view and its joins.
    plan = "\n".join(
        row[0]
        for row in storage.query(
            f"EXPLAIN indexes = 1 SELECT sum(Cost) FROM hb_llm_costs {where}", {"tenant": tenant}
        ).rows
    )
    primary_key = plan.split("PrimaryKey", 1)[1]
    read, total = map(int, primary_key.split("Granules: ", 1)[1].split()[0].split("/"))
    assert read < total
