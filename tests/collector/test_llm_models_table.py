"""Migration 20 (`llm_models`): `hb_llm_models`, the provider and model pairs of the LLM calls kept,
which the pricing job reads instead of every call: copied for the calls stored before the migration,
fed by its view for those after, and giving the pairs of the plain query over `hb_llm_calls`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hiveboard.storage import ChDBStorage
from hiveboard.storage.pricing import ModelPricer
from tests.stored_spans import stored_across_migration

TENANT = "llm-models"
T0 = time.time_ns() - 3600 * 10**9  # within every table's retention


def _calls(prefix: str, offset_s: int) -> list[ReadableSpan]:
    """GenAI calls as an OTel instrumentation exports them: with and without a provider, a response
    model like or unlike the request's, and none; one model in every batch, one only in this one."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "genai-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    calls: list[dict[str, Any]] = [
        {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o"},
        {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"},
        {"gen_ai.request.model": "gpt-4o-mini"},
        {"gen_ai.system": "anthropic", "gen_ai.request.model": f"{prefix}-model"},
        {"gen_ai.provider.name": "azure.ai.openai", "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": f"{prefix}-deployment"},
    ]  # fmt: skip
    for index, attributes in enumerate(calls * 2):
        start = T0 + (offset_s + index) * 10**9
        span = tracer.start_span(
            "chat", attributes={"gen_ai.operation.name": "chat", **attributes}, start_time=start
        )
        span.end(end_time=start + 10**6)
    provider.shutdown()
    return list(exporter.get_finished_spans())


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    """Calls stored before migration 20, then the migration, then two more batches."""
    directory = tmp_path_factory.mktemp("chdb")
    before, after = _calls("before", 0), [_calls("after", 100), _calls("later", 200)]
    with stored_across_migration(directory, 20, before, after, TENANT) as (storage, applied):
        assert applied == ["llm_models"]
        yield storage


def _pairs_of_the_calls(storage: ChDBStorage) -> list[tuple[Any, ...]]:
    return storage.query(
        "SELECT Provider, Model, max(Timestamp) FROM hb_llm_calls "
        "ARRAY JOIN [ResponseModel, RequestModel] AS Model WHERE Model != '' "
        "GROUP BY Provider, Model ORDER BY Provider, Model"
    ).rows


def _pairs_of_the_table(storage: ChDBStorage) -> list[tuple[Any, ...]]:
    return storage.query(
        "SELECT Provider, Model, max(LastCall) FROM hb_llm_models GROUP BY Provider, Model ORDER BY Provider, Model"
    ).rows


def test_the_table_holds_the_pairs_of_the_calls_and_their_last_call(storage: ChDBStorage) -> None:
    pairs = _pairs_of_the_table(storage)
    assert pairs == _pairs_of_the_calls(storage)
    assert [(provider, model) for provider, model, _ in pairs] == [
        ("", "gpt-4o-mini"),
        ("anthropic", "after-model"),
        ("anthropic", "before-model"),
        ("anthropic", "later-model"),
        ("azure.ai.openai", "after-deployment"),
        ("azure.ai.openai", "before-deployment"),
        ("azure.ai.openai", "gpt-4o"),
        ("azure.ai.openai", "later-deployment"),
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-2024-08-06"),
    ]


def test_a_merged_table_holds_a_row_per_pair(storage: ChDBStorage) -> None:
    storage.command("OPTIMIZE TABLE hb_llm_models FINAL")
    rows = storage.query("SELECT Provider, Model, LastCall FROM hb_llm_models ORDER BY Provider, Model").rows
    assert rows == _pairs_of_the_calls(storage)


def test_the_pricing_job_prices_every_pair_of_the_table(storage: ChDBStorage) -> None:
    ModelPricer(storage).price_new_models()
    priced = storage.query(
        "SELECT DISTINCT Provider, Model FROM hb_model_prices ORDER BY Provider, Model"
    ).rows
    assert priced == [(provider, model) for provider, model, _ in _pairs_of_the_calls(storage)]
    assert ModelPricer(storage).price_new_models() == 0
