"""LLM cost: reported cost wins, estimates from real genai-prices lookups (no mocks), never a silent $0."""

from __future__ import annotations

import math
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from hiveboard.storage.prices import (
    GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    MAX_MODEL_NAME_LENGTH,
    CostResult,
    ModelPrice,
    call_models,
    clear_price_cache,
    cost_for_span,
    estimate_cost,
    price_for,
)
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

UNKNOWN_MODEL = "totally-made-up-model-xyz-9000"


def _rel_close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def _span(**attributes: str) -> dict[str, str]:
    """Attributes keyed by their dotted names, e.g. _span(**{GEN_AI_REQUEST_MODEL: "gpt-4o"})."""
    return dict(attributes)


# --- price_for ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider", "matched_model", "gp_provider"),
    [
        ("claude-sonnet-4-20250514", "anthropic", "claude-sonnet-4-0", "anthropic"),
        ("gpt-4o-2024-08-06", "openai", "gpt-4o", "openai"),
        ("gemini-2.5-pro", "gcp.gemini", "gemini-2.5-pro", "google"),
        ("gemini-2.5-flash", "gcp.vertex_ai", "gemini-2.5-flash", "google"),
        ("gemini-2.5-flash", "gcp.gen_ai", "gemini-2.5-flash", "google"),
        (
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "aws.bedrock",
            "regional.anthropic.claude-sonnet-4-20250514-v1:0",
            "aws",
        ),
        ("gpt-4o", "azure.ai.openai", "gpt-4o", "azure"),
        ("mistral-large-latest", "mistral_ai", "mistral-large", "mistral"),
        ("grok-3", "x_ai", "grok-3", "x-ai"),
        ("deepseek-chat", "deepseek", "deepseek-chat", "deepseek"),
        ("llama-3.3-70b-versatile", "groq", "llama-3.3-70b-versatile", "groq"),
        ("command-r-plus", "cohere", "command-r-plus", "cohere"),
    ],
)
def test_known_models_resolve_with_positive_rates(
    model: str, provider: str, matched_model: str, gp_provider: str
) -> None:
    price = price_for(model, provider)
    assert price is not None
    assert price.matched_model == matched_model
    assert price.provider == gp_provider
    assert price.input is not None and price.input > 0
    assert price.output is not None and price.output > 0


@pytest.mark.parametrize(
    ("model", "gp_provider"),
    [
        ("claude-sonnet-4-20250514", "anthropic"),
        ("gpt-4o-mini", "openai"),
        ("gemini-2.5-pro", "google"),
        ("grok-3", "x-ai"),
        ("deepseek-chat", "deepseek"),
    ],
)
def test_provider_inferred_from_model_name_when_not_given(model: str, gp_provider: str) -> None:
    price = price_for(model)
    assert price is not None
    assert price.provider == gp_provider


def test_otel_provider_names_are_mapped_to_genai_prices_ids() -> None:
    # gcp.gemini is not a genai-prices id; the Gemini model is priced by Google's entry.
    gemini = price_for("gemini-2.5-pro", "gcp.gemini")
    assert gemini is not None and (gemini.provider, gemini.matched_model) == ("google", "gemini-2.5-pro")
    # genai-prices' own provider_match would take azure.ai.openai for `openai` ("contains openai").
    azure = price_for("gpt-4o", "azure.ai.openai")
    assert azure is not None and azure.provider == "azure"
    # x_ai vs genai-prices' x-ai.
    grok = price_for("grok-3", "x_ai")
    assert grok is not None and grok.provider == "x-ai"
    # Anthropic on Vertex: Google's entry, through its fallback to Anthropic's models.
    vertex_claude = price_for("claude-sonnet-4-20250514", "gcp.vertex_ai")
    assert vertex_claude is not None and vertex_claude.provider == "google"
    assert vertex_claude.input == 3.0


def test_unknown_or_wrong_provider_falls_back_to_inference_from_the_model_name() -> None:
    unknown_provider = price_for("gpt-4o", "ibm.watsonx.ai")
    assert unknown_provider is not None
    assert (unknown_provider.provider, unknown_provider.matched_model) == ("openai", "gpt-4o")
    wrong_provider = price_for("claude-sonnet-4-20250514", "openai")
    assert wrong_provider is not None
    assert (wrong_provider.provider, wrong_provider.matched_model) == ("anthropic", "claude-sonnet-4-0")


@pytest.mark.parametrize("model", ["models/gemini-2.5-pro", "openai/gpt-4o", "anthropic/claude-opus-4-1"])
def test_prefixed_model_names_match_on_their_last_segment(model: str) -> None:
    price = price_for(model)
    assert price is not None
    assert price.matched_model == model.rsplit("/", 1)[1]


@pytest.mark.parametrize("provider", [None, "openai", "anthropic", "no-such-provider"])
def test_unknown_model_has_no_price(provider: str | None) -> None:
    assert price_for(UNKNOWN_MODEL, provider) is None


@pytest.mark.parametrize("model", ["", "   ", "gpt-4o" + "x" * MAX_MODEL_NAME_LENGTH])
def test_empty_or_overlong_model_names_have_no_price(model: str) -> None:
    assert price_for(model) is None


def test_models_priced_in_other_units_have_no_token_price() -> None:
    # whisper-1 is priced per audio hour: no token rate, so no estimate (not $0).
    assert price_for("whisper-1", "openai") is None


def test_models_listed_without_any_price_are_free_and_attributed() -> None:
    price = price_for("gemma-3", "gcp.gemini")
    assert price is not None
    assert (price.input, price.output, price.matched_model) == (0.0, 0.0, "gemma-3")


def test_lookups_are_cached_and_case_insensitive() -> None:
    first = price_for("gpt-4o", "openai")
    assert first is not None
    assert price_for("gpt-4o", "openai") is first
    assert price_for("  GPT-4o ", "OpenAI") is first


def test_clear_price_cache_forces_a_new_lookup() -> None:
    first = price_for("gpt-4o-mini", "openai")
    clear_price_cache()
    second = price_for("gpt-4o-mini", "openai")
    assert second == first
    assert second is not first


def test_rates_equal_genai_prices_model_prices() -> None:
    price = price_for("claude-sonnet-4-20250514", "anthropic")
    assert price is not None
    calc = calc_price(
        Usage(input_tokens=1, output_tokens=1), "claude-sonnet-4-20250514", provider_id="anthropic"
    )
    assert calc.model.id == price.matched_model
    assert calc.provider.id == price.provider
    assert Decimal(str(price.input)) == calc.model_price.input_mtok
    assert Decimal(str(price.output)) == calc.model_price.output_mtok
    assert Decimal(str(price.cache_read)) == calc.model_price.cache_read_mtok
    assert Decimal(str(price.cache_write)) == calc.model_price.cache_write_mtok


# --- estimate_cost vs genai-prices' calc_price ----------------------------------------------------

USAGES = [
    pytest.param({"input_tokens": 12_000, "output_tokens": 800}, id="no-cache"),
    pytest.param({"input_tokens": 12_000, "output_tokens": 800, "cache_read_tokens": 9_000}, id="cache-read"),
    pytest.param(
        {"input_tokens": 12_000, "output_tokens": 800, "cache_write_tokens": 4_000}, id="cache-write"
    ),
    pytest.param(
        {
            "input_tokens": 50_000,
            "output_tokens": 1_234,
            "cache_read_tokens": 30_000,
            "cache_write_tokens": 15_000,
        },
        id="cache-read-and-write",
    ),
    pytest.param(
        {"input_tokens": 7_000, "output_tokens": 0, "cache_read_tokens": 7_000}, id="all-input-cached"
    ),
    pytest.param({"input_tokens": 0, "output_tokens": 333}, id="output-only"),
]


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("claude-sonnet-4-20250514", "anthropic"),  # cache read and cache write rates
        ("claude-sonnet-4-5-20250929", "anthropic"),  # tiered (base tier below 200k input tokens)
        ("gpt-4o-2024-08-06", "openai"),  # cache read rate, no cache write rate
        ("gemini-2.5-pro", "gcp.gemini"),  # tiered, cache read rate
        ("gemini-2.5-flash", "gcp.gemini"),
        ("mistral-large-latest", "mistral_ai"),  # no cache rates at all
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "aws.bedrock"),
    ],
)
@pytest.mark.parametrize("usage", USAGES)
def test_estimate_cost_equals_genai_prices_calc_price(
    model: str, provider: str, usage: dict[str, int]
) -> None:
    price = price_for(model, provider)
    assert price is not None
    expected = calc_price(Usage(**usage), model, provider_id=price.provider)
    assert expected.model.id == price.matched_model
    ours = estimate_cost(
        price,
        usage["input_tokens"],
        usage["output_tokens"],
        usage.get("cache_read_tokens", 0),
        usage.get("cache_write_tokens", 0),
    )
    assert _rel_close(ours, float(expected.total_price)), (ours, expected)


def test_time_of_day_prices_take_the_window_covering_most_of_the_day() -> None:
    # DeepSeek: standard rate 00:30-16:30 UTC, off-peak discount otherwise; we take the standard one.
    price = price_for("deepseek-chat", "deepseek")
    assert price is not None
    usage = {"input_tokens": 10_000, "output_tokens": 1_000, "cache_read_tokens": 4_000}
    ours = estimate_cost(price, 10_000, 1_000, 4_000)
    daytime = calc_price(
        Usage(**usage),
        "deepseek-chat",
        provider_id="deepseek",
        genai_request_timestamp=datetime(2026, 5, 4, 12, tzinfo=UTC),
    )
    night = calc_price(
        Usage(**usage),
        "deepseek-chat",
        provider_id="deepseek",
        genai_request_timestamp=datetime(2026, 5, 4, 20, tzinfo=UTC),
    )
    assert _rel_close(ours, float(daytime.total_price))
    assert float(night.total_price) < ours


def test_tiered_models_use_the_base_tier() -> None:
    price = price_for("claude-sonnet-4-5-20250929", "anthropic")
    assert price is not None and price.tiered
    flat = price_for("claude-sonnet-4-20250514", "anthropic")
    assert flat is not None and not flat.tiered
    # Above the 200k tier genai-prices charges more; the stored rates underestimate (documented).
    big = calc_price(
        Usage(input_tokens=300_000, output_tokens=1_000), "claude-sonnet-4-5", provider_id="anthropic"
    )
    assert float(big.total_price) > estimate_cost(price, 300_000, 1_000)


def test_input_tokens_include_cached_tokens() -> None:
    price = ModelPrice(
        input=3.0, output=15.0, cache_read=0.3, cache_write=3.75, matched_model="m", provider="p"
    )
    # 10k input of which 6k read from cache and 1k written to it: 3k uncached.
    expected = (3_000 * 3.0 + 6_000 * 0.3 + 1_000 * 3.75 + 500 * 15.0) / 1_000_000
    assert _rel_close(estimate_cost(price, 10_000, 500, 6_000, 1_000), expected)


def test_missing_cache_rates_fall_back_to_the_input_rate() -> None:
    price = ModelPrice(
        input=2.0, output=6.0, cache_read=None, cache_write=None, matched_model="m", provider="p"
    )
    assert _rel_close(estimate_cost(price, 10_000, 0, 4_000, 3_000), 10_000 * 2.0 / 1_000_000)


def test_input_below_the_cache_counts_excludes_the_cache() -> None:
    # Anthropic's API reports input_tokens without the cache tokens: all 100 are uncached input.
    price = ModelPrice(
        input=3.0, output=15.0, cache_read=0.3, cache_write=3.75, matched_model="m", provider="p"
    )
    cost = estimate_cost(price, 100, 0, 1_000, 200)
    assert _rel_close(cost, (100 * 3.0 + 1_000 * 0.3 + 200 * 3.75) / 1_000_000)


def test_input_equal_to_the_cache_counts_includes_them() -> None:
    price = ModelPrice(
        input=3.0, output=15.0, cache_read=0.3, cache_write=3.75, matched_model="m", provider="p"
    )
    assert _rel_close(estimate_cost(price, 1_200, 0, 1_000, 200), (1_000 * 0.3 + 200 * 3.75) / 1_000_000)


def test_anthropic_usage_excluding_the_cache_is_priced_as_genai_prices_prices_the_including_one() -> None:
    # Anthropic's response: input_tokens=50 uncached, cache_read=9000, cache_creation=1000. OTel's
    # convention would say input_tokens=10050; both must cost the same.
    excluding = cost_for_span(
        {
            GEN_AI_PROVIDER_NAME: "anthropic",
            GEN_AI_REQUEST_MODEL: "claude-sonnet-4-20250514",
            GEN_AI_USAGE_INPUT_TOKENS: "50",
            GEN_AI_USAGE_OUTPUT_TOKENS: "400",
            GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: "9000",
            GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "1000",
        }
    )
    including = calc_price(
        Usage(input_tokens=10_050, output_tokens=400, cache_read_tokens=9_000, cache_write_tokens=1_000),
        "claude-sonnet-4-20250514",
        provider_id="anthropic",
    )
    assert excluding.source == "estimated"
    assert _rel_close(excluding.cost, float(including.total_price))


# --- cost_for_span ------------------------------------------------------------------------------


def test_reported_cost_wins_over_estimation() -> None:
    attributes = _span(
        **{
            HIVEBOARD_LLM_COST: "0.5",
            HIVEBOARD_LLM_COST_SOURCE: "reported",
            GEN_AI_REQUEST_MODEL: "gpt-4o",
            GEN_AI_USAGE_INPUT_TOKENS: "1000",
            GEN_AI_USAGE_OUTPUT_TOKENS: "100",
        }
    )
    assert cost_for_span(attributes) == CostResult(0.5, "reported", None, False)


def test_reported_zero_cost_is_reported_not_estimated() -> None:
    attributes = _span(
        **{HIVEBOARD_LLM_COST: "0", GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_USAGE_INPUT_TOKENS: "1000"}
    )
    assert cost_for_span(attributes) == CostResult(0.0, "reported", None, False)


def test_reported_cost_of_an_unknown_model_is_kept() -> None:
    attributes = _span(
        **{HIVEBOARD_LLM_COST: "0.004", GEN_AI_REQUEST_MODEL: UNKNOWN_MODEL, GEN_AI_USAGE_INPUT_TOKENS: "9"}
    )
    assert cost_for_span(attributes) == CostResult(0.004, "reported", None, False)


@pytest.mark.parametrize("bad_cost", ["abc", "", "-1", "nan", "inf", " 0.5", "1_000", "1e400"])
def test_invalid_reported_cost_falls_back_to_estimation(bad_cost: str) -> None:
    attributes = _span(
        **{
            HIVEBOARD_LLM_COST: bad_cost,
            GEN_AI_REQUEST_MODEL: "gpt-4o",
            GEN_AI_USAGE_INPUT_TOKENS: "1000",
            GEN_AI_USAGE_OUTPUT_TOKENS: "100",
        }
    )
    result = cost_for_span(attributes)
    assert result.source == "estimated"
    assert result.matched_model == "gpt-4o"
    assert _rel_close(result.cost, (1000 * 2.5 + 100 * 10.0) / 1_000_000)


def test_a_stored_estimate_is_not_taken_for_a_reported_cost() -> None:
    attributes = _span(
        **{
            HIVEBOARD_LLM_COST: "99",
            HIVEBOARD_LLM_COST_SOURCE: "estimated",
            GEN_AI_REQUEST_MODEL: "gpt-4o",
            GEN_AI_USAGE_INPUT_TOKENS: "1000",
        }
    )
    result = cost_for_span(attributes)
    assert result.source == "estimated"
    assert _rel_close(result.cost, 1000 * 2.5 / 1_000_000)


def test_estimated_cost_from_otel_genai_attributes() -> None:
    attributes = _span(
        **{
            GEN_AI_PROVIDER_NAME: "anthropic",
            GEN_AI_REQUEST_MODEL: "claude-sonnet-4-20250514",
            GEN_AI_RESPONSE_MODEL: "claude-sonnet-4-20250514",
            GEN_AI_USAGE_INPUT_TOKENS: "1800",
            GEN_AI_USAGE_OUTPUT_TOKENS: "250",
            GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: "1200",
            GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "300",
        }
    )
    result = cost_for_span(attributes)
    expected = calc_price(
        Usage(input_tokens=1800, output_tokens=250, cache_read_tokens=1200, cache_write_tokens=300),
        "claude-sonnet-4-20250514",
        provider_id="anthropic",
    )
    assert result.source == "estimated"
    assert result.matched_model == "claude-sonnet-4-0"
    assert result.unpriced is False
    assert _rel_close(result.cost, float(expected.total_price))


def test_provider_attribute_is_mapped() -> None:
    attributes = _span(
        **{
            GEN_AI_PROVIDER_NAME: "gcp.gemini",
            GEN_AI_REQUEST_MODEL: "gemini-2.5-pro",
            GEN_AI_USAGE_INPUT_TOKENS: "1000",
            GEN_AI_USAGE_OUTPUT_TOKENS: "1000",
        }
    )
    result = cost_for_span(attributes)
    assert result.matched_model == "gemini-2.5-pro"
    assert _rel_close(result.cost, (1000 * 1.25 + 1000 * 10.0) / 1_000_000)


def test_unknown_model_is_unpriced_never_zero() -> None:
    attributes = _span(
        **{
            GEN_AI_PROVIDER_NAME: "openai",
            GEN_AI_REQUEST_MODEL: UNKNOWN_MODEL,
            GEN_AI_RESPONSE_MODEL: UNKNOWN_MODEL,
            GEN_AI_USAGE_INPUT_TOKENS: "1000",
            GEN_AI_USAGE_OUTPUT_TOKENS: "100",
        }
    )
    result = cost_for_span(attributes)
    assert result == CostResult(None, None, None, True)
    assert result.cost != 0.0


def test_tokens_without_any_model_are_unpriced() -> None:
    assert cost_for_span(_span(**{GEN_AI_USAGE_INPUT_TOKENS: "10"})) == CostResult(None, None, None, True)


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {GEN_AI_REQUEST_MODEL: "gpt-4o"},
        {GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_USAGE_INPUT_TOKENS: "abc", GEN_AI_USAGE_OUTPUT_TOKENS: ""},
        {GEN_AI_REQUEST_MODEL: UNKNOWN_MODEL},
    ],
)
def test_no_tokens_means_no_cost_and_not_unpriced(attributes: dict[str, str]) -> None:
    assert cost_for_span(attributes) == CostResult(None, None, None, False)


def test_response_model_is_preferred_over_request_model() -> None:
    attributes = _span(
        **{
            GEN_AI_REQUEST_MODEL: "gpt-4o",
            GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
            GEN_AI_USAGE_INPUT_TOKENS: "1000000",
            GEN_AI_USAGE_OUTPUT_TOKENS: "0",
        }
    )
    result = cost_for_span(attributes)
    mini = price_for("gpt-4o-mini")
    assert mini is not None
    assert result.matched_model == "gpt-4o-mini"
    assert _rel_close(result.cost, mini.input)


def test_request_model_is_used_when_the_response_model_is_unknown() -> None:
    attributes = _span(
        **{
            GEN_AI_REQUEST_MODEL: "gpt-4o",
            GEN_AI_RESPONSE_MODEL: "my-azure-deployment-7",
            GEN_AI_USAGE_INPUT_TOKENS: "1000000",
        }
    )
    result = cost_for_span(attributes)
    assert result.matched_model == "gpt-4o"
    assert _rel_close(result.cost, 2.5)


def test_request_model_alone_is_used() -> None:
    result = cost_for_span(_span(**{GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_USAGE_OUTPUT_TOKENS: "1000000"}))
    assert (result.matched_model, result.source) == ("gpt-4o", "estimated")
    assert _rel_close(result.cost, 10.0)


@pytest.mark.parametrize(
    ("raw_input", "expected_input"),
    [
        ("abc", 0),
        ("", 0),
        ("-5", 0),
        ("nan", 0),
        ("1e400", 0),
        ("1000", 1000),
        ("+1000", 1000),
        # As ClickHouse's toUInt64OrZero in hb_llm_calls: no spaces, no decimals, within UInt64.
        (" 1000 ", 0),
        ("1000.0", 0),
        ("18446744073709551616", 0),
    ],
)
def test_token_strings_are_parsed_and_bad_numbers_are_absent(raw_input: str, expected_input: int) -> None:
    attributes = _span(
        **{
            GEN_AI_REQUEST_MODEL: "gpt-4o",
            GEN_AI_USAGE_INPUT_TOKENS: raw_input,
            GEN_AI_USAGE_OUTPUT_TOKENS: "100",
        }
    )
    result = cost_for_span(attributes)
    assert result.source == "estimated"
    assert _rel_close(result.cost, (expected_input * 2.5 + 100 * 10.0) / 1_000_000)


def test_bad_cache_numbers_are_absent() -> None:
    attributes = _span(
        **{
            GEN_AI_REQUEST_MODEL: "claude-sonnet-4-20250514",
            GEN_AI_USAGE_INPUT_TOKENS: "1000",
            GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: "lots",
            GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "-3",
        }
    )
    assert _rel_close(cost_for_span(attributes).cost, 1000 * 3.0 / 1_000_000)


def test_cache_write_alias_is_accepted() -> None:
    base = {GEN_AI_REQUEST_MODEL: "claude-sonnet-4-20250514", GEN_AI_USAGE_INPUT_TOKENS: "1000"}
    via_alias = cost_for_span({**base, GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: "1000"})
    via_declared = cost_for_span({**base, GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "1000"})
    without = cost_for_span(base)
    assert _rel_close(via_alias.cost, 1000 * 3.75 / 1_000_000)
    assert via_alias == via_declared
    assert via_alias.cost > without.cost


def test_declared_cache_creation_name_wins_over_the_alias() -> None:
    attributes = {
        GEN_AI_REQUEST_MODEL: "claude-sonnet-4-20250514",
        GEN_AI_USAGE_INPUT_TOKENS: "1000",
        GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "200",
        GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: "1000",
    }
    assert _rel_close(cost_for_span(attributes).cost, (800 * 3.0 + 200 * 3.75) / 1_000_000)


def test_an_empty_cache_creation_count_falls_back_to_the_alias() -> None:
    # hb_llm_calls takes the first of the two attributes that is not empty.
    attributes = {
        GEN_AI_REQUEST_MODEL: "claude-sonnet-4-20250514",
        GEN_AI_USAGE_INPUT_TOKENS: "1000",
        GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: "",
        GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: "200",
    }
    assert _rel_close(cost_for_span(attributes).cost, (800 * 3.0 + 200 * 3.75) / 1_000_000)


def test_all_zero_token_counts_are_nothing_to_price() -> None:
    zeros = {GEN_AI_USAGE_INPUT_TOKENS: "0", GEN_AI_USAGE_OUTPUT_TOKENS: "0"}
    assert cost_for_span({GEN_AI_REQUEST_MODEL: "gpt-4o", **zeros}) == CostResult(None, None, None, False)
    assert cost_for_span({GEN_AI_REQUEST_MODEL: UNKNOWN_MODEL, **zeros}) == CostResult(
        None, None, None, False
    )


def test_the_older_gen_ai_system_names_the_provider() -> None:
    # Bedrock's model id is only known under the aws provider, so the provider decides the price.
    bedrock = {
        GEN_AI_REQUEST_MODEL: "us.anthropic.claude-sonnet-4-20250514-v1:0",
        GEN_AI_USAGE_INPUT_TOKENS: "1000",
    }
    via_system = cost_for_span({**bedrock, "gen_ai.system": "aws.bedrock"})
    via_provider = cost_for_span({**bedrock, GEN_AI_PROVIDER_NAME: "aws.bedrock"})
    assert via_system == via_provider
    assert via_system.matched_model == "regional.anthropic.claude-sonnet-4-20250514-v1:0"
    both = {**bedrock, GEN_AI_PROVIDER_NAME: "aws.bedrock", "gen_ai.system": "no-such-provider"}
    assert cost_for_span(both) == via_provider


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({}, []),
        ({GEN_AI_PROVIDER_NAME: "openai"}, []),
        ({GEN_AI_REQUEST_MODEL: "gpt-4o"}, [("", "gpt-4o")]),
        ({GEN_AI_RESPONSE_MODEL: "gpt-4o"}, [("", "gpt-4o")]),
        (
            {GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_RESPONSE_MODEL: "gpt-4o", "gen_ai.system": "openai"},
            [("openai", "gpt-4o")],
        ),
        (
            {GEN_AI_REQUEST_MODEL: "gpt-4o", GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06"}
            | {GEN_AI_PROVIDER_NAME: "azure.ai.openai", "gen_ai.system": "openai"},
            [("azure.ai.openai", "gpt-4o-2024-08-06"), ("azure.ai.openai", "gpt-4o")],
        ),
    ],
)
def test_call_models_are_the_response_then_the_request_model(
    attributes: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert call_models(attributes) == expected


def test_cache_write_alias_key_is_the_upstream_name() -> None:
    assert GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS == "gen_ai.usage.cache_write.input_tokens"


# --- timing -------------------------------------------------------------------------------------

TIMED_LOOKUPS = [
    ("claude-sonnet-4-20250514", "anthropic"),
    ("gpt-4o-2024-08-06", "openai"),
    ("gemini-2.5-pro", "gcp.gemini"),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "aws.bedrock"),
    ("grok-3", None),
    ("mistral-large-latest", None),
    (UNKNOWN_MODEL, None),
    ("gpt-4o", "azure.ai.openai"),
]


def test_price_for_timing_uncached_and_cached() -> None:
    price_for("gpt-4o")  # load genai-prices' data once, outside the measurement
    uncached: list[float] = []
    for _ in range(5):
        clear_price_cache()
        for model, provider in TIMED_LOOKUPS:
            start = time.perf_counter()
            price_for(model, provider)
            uncached.append(time.perf_counter() - start)
    cached: list[float] = []
    for _ in range(200):
        for model, provider in TIMED_LOOKUPS:
            start = time.perf_counter()
            price_for(model, provider)
            cached.append(time.perf_counter() - start)
    uncached_us = statistics.median(uncached) * 1e6
    cached_us = statistics.median(cached) * 1e6
    print(
        f"\nprice_for: uncached median {uncached_us:.1f} µs (max {max(uncached) * 1e6:.1f}), "
        f"cached median {cached_us:.2f} µs"
    )
    assert cached_us < uncached_us
    assert cached_us < 50  # a dict lookup plus strip/lower; generous for a loaded CI machine
    assert uncached_us < 20_000
