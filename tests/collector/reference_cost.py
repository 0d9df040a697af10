"""The reference implementation of HiveBoard's LLM cost rules, in Python, for the tests.

Production computes costs in SQL: the `hb_llm_costs` view (`hiveboard.storage.schema.prices_table`)
applies these rules to `hb_llm_calls` with the rates `hiveboard.storage.pricing.ModelPricer`
stores from `price_for`. The tests price the same spans here and through the view, and compare;
`estimate_cost` is also checked against genai-prices' own `calc_price`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Literal, NamedTuple

from hiveboard.storage.prices import ModelPrice, price_for
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

CostSource = Literal["reported", "estimated"]
_PER_MILLION = 1_000_000


class CostResult(NamedTuple):
    """Cost of one LLM span.

    `cost` is None when there is nothing to price (no tokens, or all 0) or the model is unknown; `unpriced`
    is True exactly when the span has tokens but no cost could be given.
    """

    cost: float | None
    source: CostSource | None
    matched_model: str | None
    unpriced: bool


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
