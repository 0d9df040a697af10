"""LLM cost: the cost an SDK reports, or an estimate from tokens and the model's prices.

A cost the SDK reports (`hiveboard.llm.cost`) wins: `cost_source` = `reported`. Otherwise the cost
is estimated from the span's token counts with the prices of the maintained `genai-prices` package
(no price table lives in HiveBoard): `cost_source` = `estimated`, and the genai-prices model that
matched is recorded. A model genai-prices does not know has tokens and no cost (`unpriced`), never a
silent $0. `cost_for_span` reads attributes as stored in ClickHouse (all values strings), so it
covers spans written by our collector and by the upstream OpenTelemetry Collector alike.

Token semantics (OTel GenAI): `gen_ai.usage.input_tokens` INCLUDES cached tokens, both those read
from the provider's cache and those written to it. genai-prices uses the same convention: its
`Usage.input_tokens` is the parent of `cache_read_tokens` and `cache_write_tokens` (its unit
registry gives them the dimensions `direction=input` plus a `token_type`), and `calc_price` prices
`input_tokens - cache_read_tokens - cache_write_tokens` at the input rate, each cache count at its
own rate, and a cache count whose rate the model lacks at the input rate. So the two map one to one:

    gen_ai.usage.input_tokens                  -> Usage.input_tokens
    gen_ai.usage.cache_read.input_tokens       -> Usage.cache_read_tokens
    gen_ai.usage.cache_creation.input_tokens   -> Usage.cache_write_tokens
    gen_ai.usage.output_tokens                 -> Usage.output_tokens

and `estimate_cost` agrees with genai-prices' `calc_price` for the same usage (the tests check it).

Anthropic's own API, and instrumentations that copy its usage, report `input_tokens` EXCLUDING the
cache tokens. A count below cache read + cache write evidently excludes them, so then the whole
`input_tokens` is the uncached input. (An excluding count that happens to be at least the cache
counts cannot be told apart and is taken as including them: underestimated.)

Estimates are made at query time: the `hb_llm_costs` view (`schema.prices_table`) applies these same
rules in SQL to `hb_llm_calls`, with the rates `pricing.ModelPricer` stores from `price_for`, so
calls written by the upstream OpenTelemetry Collector are priced too. `cost_for_span` is the
reference for that view: it reads numbers as `hb_llm_calls` does (ClickHouse's `toUInt64OrZero`
and `toFloat64OrNull`), and the tests check that both give the same cost.

Rates, not prices: `ModelPrice` holds per-million-token USD rates so that they can be stored in a
ClickHouse table and cost computed in SQL over millions of rows. genai-prices' prices can depend on
the request and on time; `price_for` takes the rate that applies to a typical request now:

* tiers (`TieredPrices`, e.g. Anthropic and Gemini long context above 200k input tokens, where the
  tier rate applies to the whole request): the base rate, i.e. a request below the first tier.
  `ModelPrice.tiered` says the model has such tiers; larger requests are underestimated.
* dated prices (`StartDateConstraint`): the price in force today (UTC), at the time of the lookup.
* time-of-day prices (`TimeOfDateConstraint`, DeepSeek's off-peak discount): a window applies when
  it covers at least half of the day. For DeepSeek that is the standard daytime rate, so calls
  made off-peak are overestimated.
* request variants (`price_variants`: batch processing, priority/flex service tiers): ignored, the
  standard price is used.
* prices other than the four token rates (web searches, per-request fees, audio/image modality
  rates, 1-hour cache writes): ignored. `cache_write` is genai-prices' `cache_write_mtok`, which
  for Anthropic is the 5-minute cache write rate.
* a model priced only in other units (whisper per audio hour, tts per character) has no token
  rate: `price_for` returns None, as for an unknown model. A model genai-prices lists with no price
  at all is free (`gemma-3` on the Gemini API): its rates are 0.0, a deliberate, attributed $0.

Lookups go through genai-prices' provider and model matching (`find_provider_by_id`,
`Provider.find_model`, `Provider.model_match`) rather than `DataSnapshot.find_provider_model`,
because the latter memoizes every model name it is asked about, hits and misses, in unbounded
dicts: on an ingest path fed by arbitrary clients that is a memory leak. Here only the bounded
`functools.lru_cache` of `price_for` remembers names.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple

from genai_prices import data_snapshot
from genai_prices import types as gp_types

from hiveboard.storage.schema.hiveboard_tables import GEN_AI_SYSTEM, GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS
from hiveboard_semconv.attributes import (
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    HIVEBOARD_LLM_COST,
    HIVEBOARD_LLM_COST_SOURCE,
)

__all__ = (
    "GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS",
    "MAX_MODEL_NAME_LENGTH",
    "CostResult",
    "CostSource",
    "ModelPrice",
    "call_models",
    "clear_price_cache",
    "cost_for_span",
    "estimate_cost",
    "price_for",
)

CostSource = Literal["reported", "estimated"]

MAX_MODEL_NAME_LENGTH = 256
"""Longer model names are never looked up (no real model id is this long): they stay unpriced and
do not fill the cache with attribute values of up to 64 KiB. A longer provider name is ignored."""

_PRICE_CACHE_SIZE = 4096
_PER_MILLION = 1_000_000

# OTel `gen_ai.provider.name` values whose genai-prices provider id differs and that genai-prices'
# own `provider_match` does not map (or maps wrongly: `azure.ai.openai` contains "openai"). Other
# values (`anthropic`, `openai`, `deepseek`, `groq`, `cohere`, `perplexity`, and `gcp.gemini`,
# `gcp.vertex_ai`, `aws.bedrock`, `mistral_ai` through provider_match) are passed through.
_OTEL_TO_GENAI_PRICES_PROVIDER: dict[str, str] = {
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "aws.bedrock": "aws",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "mistral_ai": "mistral",
    "x_ai": "x-ai",
}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens for one model, as matched in genai-prices.

    A rate is None when the model has no such price: `estimate_cost` then prices cache tokens at
    the input rate (as genai-prices does) and tokens of a missing input/output rate at 0.

    >>> price = price_for("claude-sonnet-4-20250514", "anthropic")
    >>> price.matched_model, price.provider, price.input, price.output, price.cache_read, price.cache_write
    ('claude-sonnet-4-0', 'anthropic', 3.0, 15.0, 0.3, 3.75)
    """

    input: float | None
    output: float | None
    cache_read: float | None
    cache_write: float | None
    matched_model: str
    """genai-prices model id that matched, e.g. `claude-sonnet-4-0` for `claude-sonnet-4-20250514`."""
    provider: str
    """genai-prices provider id, e.g. `anthropic`, `google`, `aws`, `x-ai`."""
    tiered: bool = False
    """The model has token tiers (e.g. above 200k input tokens); the rates are the base tier's."""


class CostResult(NamedTuple):
    """Cost of one LLM span.

    `cost` is None when there is nothing to price (no tokens, or all 0) or the model is unknown; `unpriced`
    is True exactly when the span has tokens but no cost could be given.
    """

    cost: float | None
    source: CostSource | None
    matched_model: str | None
    unpriced: bool


def price_for(model: str, provider: str | None = None) -> ModelPrice | None:
    """The token rates genai-prices has for `model`; None for an unknown or not token-priced model.

    `provider` is an OTel `gen_ai.provider.name` (`anthropic`, `gcp.gemini`, `aws.bedrock`, ...) or
    a genai-prices provider id. The model is looked up with that provider first, then with the
    provider genai-prices infers from the model name (so an unknown or wrong provider does not hide
    a known model), then, for a name with a `/` (`models/gemini-2.5-pro`, `openai/gpt-4o`), the
    same again with the part after the last `/`. Never a zero price for an unknown model. Results
    are cached (`functools.lru_cache`, case-insensitive keys); `clear_price_cache` drops them.

    >>> price_for("gemini-2.5-pro", "gcp.gemini").matched_model
    'gemini-2.5-pro'
    >>> price_for("no-such-model") is None
    True
    """
    model = model.strip().lower()
    if not model or len(model) > MAX_MODEL_NAME_LENGTH:
        return None
    provider = provider.strip().lower() if provider else None
    if provider is not None and len(provider) > MAX_MODEL_NAME_LENGTH:
        provider = None
    return _cached_price_for(model, provider or None)


def clear_price_cache() -> None:
    """Forget cached lookups, e.g. after `genai_prices.UpdatePrices` installed newer prices."""
    _cached_price_for.cache_clear()


def estimate_cost(
    price: ModelPrice,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float:
    """Estimated USD cost of one call; `input_tokens` includes the cached tokens (OTel GenAI).

    Uncached input = input - cache_read - cache_write at the input rate, or the whole input when it
    is below cache_read + cache_write (Anthropic's count, which excludes the cache); cache reads at
    the cache_read rate and cache writes at the cache_write rate, each falling back to the input
    rate when the model has no such rate; output at the output rate. Negative counts count as 0.
    Equal to genai-prices' `calc_price` for the same usage below the model's first tier when the
    input includes the cache. The `hb_llm_costs` view computes the same sum in the same order.

    >>> price = price_for("claude-sonnet-4-20250514", "anthropic")
    >>> round(estimate_cost(price, 10_000, 500, cache_read_tokens=8_000), 6)
    0.0159
    >>> round(estimate_cost(price, 2_000, 500, cache_read_tokens=8_000), 6)  # excludes the cache
    0.0159
    """
    input_tokens = max(input_tokens, 0)
    output_tokens = max(output_tokens, 0)
    cache_read_tokens = max(cache_read_tokens, 0)
    cache_write_tokens = max(cache_write_tokens, 0)
    input_rate = price.input or 0.0
    cache_read_rate = price.cache_read if price.cache_read is not None else input_rate
    cache_write_rate = price.cache_write if price.cache_write is not None else input_rate
    cached = cache_read_tokens + cache_write_tokens
    uncached_input = input_tokens - cached if input_tokens >= cached else input_tokens
    total = (
        uncached_input * input_rate
        + cache_read_tokens * cache_read_rate
        + cache_write_tokens * cache_write_rate
        + output_tokens * (price.output or 0.0)
    )
    return total / _PER_MILLION


def call_models(attributes: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (provider, model) pairs `cost_for_span` prices a span with, in the order it tries them.

    The response model, falling back to the request model, then the request model; the provider is
    `gen_ai.provider.name`, or the older `gen_ai.system`. These are the `(Provider, ResponseModel)`
    and `(Provider, RequestModel)` of the span's `hb_llm_calls` row, the keys of `hb_model_prices`.

    >>> call_models({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"})
    [('openai', 'gpt-4o')]
    >>> call_models({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"})
    [('', 'gpt-4o-2024-08-06'), ('', 'gpt-4o')]
    """
    provider = attributes.get(GEN_AI_PROVIDER_NAME) or attributes.get(GEN_AI_SYSTEM) or ""
    request_model = attributes.get(GEN_AI_REQUEST_MODEL) or ""
    response_model = attributes.get(GEN_AI_RESPONSE_MODEL) or request_model
    models = dict.fromkeys(model for model in (response_model, request_model) if model)
    return [(provider, model) for model in models]


def cost_for_span(attributes: Mapping[str, str]) -> CostResult:
    """Cost of an LLM span from its attributes as stored in ClickHouse (string values).

    A valid `hiveboard.llm.cost` (finite, >= 0) is the reported cost, unless the span's
    `hiveboard.llm.cost_source` says `estimated` (then it is estimated afresh). Otherwise the cost
    is estimated from the `gen_ai.usage.*` token counts with `price_for` on the pairs of
    `call_models`: the first model genai-prices knows wins. A span whose counts are all absent or 0
    has nothing to price. Cache writes are read from `gen_ai.usage.cache_creation.input_tokens`, or
    when that is absent or empty from the newer `gen_ai.usage.cache_write.input_tokens`.

    Numbers are read as `hb_llm_calls` reads them, so that the `hb_llm_costs` view agrees: a token
    count is a decimal integer that fits in UInt64 (else 0), a cost a decimal number (no spaces).

    >>> cost_for_span({"hiveboard.llm.cost": "0.004"})
    CostResult(cost=0.004, source='reported', matched_model=None, unpriced=False)
    >>> cost_for_span({"gen_ai.request.model": "made-up-model", "gen_ai.usage.input_tokens": "10"})
    CostResult(cost=None, source=None, matched_model=None, unpriced=True)
    """
    reported = _parse_cost(attributes.get(HIVEBOARD_LLM_COST))
    if reported is not None and attributes.get(HIVEBOARD_LLM_COST_SOURCE) != "estimated":
        return CostResult(reported, "reported", None, False)

    input_tokens = _parse_tokens(attributes.get(GEN_AI_USAGE_INPUT_TOKENS))
    output_tokens = _parse_tokens(attributes.get(GEN_AI_USAGE_OUTPUT_TOKENS))
    cache_read = _parse_tokens(attributes.get(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS))
    cache_write = _parse_tokens(
        attributes.get(GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS)
        or attributes.get(GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS)
    )
    if not (input_tokens or output_tokens or cache_read or cache_write):
        return CostResult(None, None, None, False)

    for provider, model in call_models(attributes):
        price = price_for(model, provider or None)
        if price is not None:
            cost = estimate_cost(price, input_tokens, output_tokens, cache_read, cache_write)
            return CostResult(cost, "estimated", price.matched_model, False)
    return CostResult(None, None, None, True)


# --- lookup -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=_PRICE_CACHE_SIZE)
def _cached_price_for(model: str, provider: str | None) -> ModelPrice | None:
    found = _find_model(model, provider)
    if found is None and "/" in model:
        found = _find_model(model.rsplit("/", 1)[1], provider)
    if found is None:
        return None
    gp_provider, gp_model = found
    return _model_price(gp_provider, gp_model)


def _find_model(model: str, provider: str | None) -> tuple[gp_types.Provider, gp_types.ModelInfo] | None:
    """genai-prices' matching: the named provider (with its fallback providers), then inference."""
    providers = data_snapshot.get_snapshot().providers
    if provider:
        gp_provider = data_snapshot.find_provider_by_id(
            providers, _OTEL_TO_GENAI_PRICES_PROVIDER.get(provider, provider)
        )
        if gp_provider is not None:
            gp_model = gp_provider.find_model(model, all_providers=providers)
            if gp_model is not None:
                return gp_provider, gp_model
    # As DataSnapshot.find_provider: the first provider whose model_match accepts the name.
    for gp_provider in providers:
        if gp_provider.model_match is not None and gp_provider.model_match.is_match(model):
            gp_model = gp_provider.find_model(model, all_providers=providers)
            return (gp_provider, gp_model) if gp_model is not None else None
    return None


def _model_price(gp_provider: gp_types.Provider, gp_model: gp_types.ModelInfo) -> ModelPrice | None:
    prices = _typical_prices(gp_model, datetime.now(tz=UTC))
    rates = {
        key: getattr(prices, f"{key}_mtok", None) for key in ("input", "output", "cache_read", "cache_write")
    }
    if rates["input"] is None and rates["output"] is None:
        if any(value is not None for value in prices.__dict__.values()):
            return None  # priced per audio hour, per character...: no token rate to estimate with
        rates["input"] = rates["output"] = Decimal(0)  # listed without any price: free (e.g. gemma-3)
    return ModelPrice(
        input=_base_rate(rates["input"]),
        output=_base_rate(rates["output"]),
        cache_read=_base_rate(rates["cache_read"]),
        cache_write=_base_rate(rates["cache_write"]),
        matched_model=gp_model.id,
        provider=gp_provider.id,
        tiered=any(isinstance(rate, gp_types.TieredPrices) for rate in rates.values()),
    )


def _typical_prices(gp_model: gp_types.ModelInfo, now: datetime) -> gp_types.ModelPrice:
    """As `ModelInfo.get_prices(now)` without a price context, except for time-of-day windows."""
    if isinstance(gp_model.prices, gp_types.ModelPrice):
        return gp_model.prices
    for conditional in reversed(gp_model.prices):  # the last applicable price wins
        constraint = conditional.constraint
        if constraint is None:
            return conditional.prices
        if isinstance(constraint, gp_types.TimeOfDateConstraint):
            if _covers_most_of_day(constraint):
                return conditional.prices
        elif constraint.active(now):
            return conditional.prices
    return gp_model.prices[0].prices


def _covers_most_of_day(constraint: gp_types.TimeOfDateConstraint) -> bool:
    day = date(2000, 1, 1)
    start, end = (
        datetime.combine(day, moment).replace(tzinfo=moment.tzinfo or UTC)  # naive times are UTC
        for moment in (constraint.start_time, constraint.end_time)
    )
    length = (end - start) % timedelta(days=1)
    return length >= timedelta(hours=12)


def _base_rate(rate: Decimal | gp_types.TieredPrices | None) -> float | None:
    if rate is None:
        return None
    if isinstance(rate, gp_types.TieredPrices):
        rate = rate.base
    return float(rate)


# --- attribute parsing ----------------------------------------------------------------------------

_UINT64_MAX = 2**64 - 1
# What ClickHouse's toUInt64OrZero and toFloat64OrNull accept (no spaces, ASCII digits only).
_UINT64_SYNTAX = re.compile(r"\+?[0-9]+")
_FLOAT_SYNTAX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _parse_cost(value: str | None) -> float | None:
    """A finite cost >= 0, else None."""
    if value is None or not _FLOAT_SYNTAX.fullmatch(value):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _parse_tokens(value: str | None) -> int:
    """A token count as `toUInt64OrZero` reads it: 0 when absent, invalid or too large."""
    if value is None or not _UINT64_SYNTAX.fullmatch(value):
        return 0
    count = int(value)
    return count if count <= _UINT64_MAX else 0
