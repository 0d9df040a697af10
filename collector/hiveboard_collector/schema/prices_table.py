"""`hb_model_prices`, the token rates of the models of `hb_llm_calls`, and `hb_llm_costs`, the calls
with their cost.

Spans reach `otel_traces` through HiveBoard's collector or straight from the upstream OpenTelemetry
Collector, so no Python code sees every call as it is written: a call's estimated cost is joined at
query time. `hb_model_prices` holds one row per `(Provider, Model)` as `hb_llm_calls` stores them
(`Model` is a call's `ResponseModel` or its `RequestModel`), with the per-million-token USD rates
of `hiveboard.storage.prices.price_for`. `hiveboard.storage.pricing.ModelPricer` is its only
writer: a model genai-prices does not know gets a row with `Priced` false, and a refresh is a newer
row with the same key (a ReplacingMergeTree on `UpdatedAt`; read it with `FINAL`).

`hb_llm_costs` is a plain view: every column of `hb_llm_calls`, plus

* `Cost Nullable(Float64)`: the reported cost when valid (finite, >= 0) and not marked `estimated`;
  else, for a call with tokens, the estimate with the rates of its response model, or of its
  request model when genai-prices knows only that one; NULL when neither is priced (never 0);
* `CostSource`: `reported`, `estimated`, `unpriced`, or '' for a call with no tokens and no
  reported cost;
* `MatchedModel`: the genai-prices model of an estimate, else ''.

These are the rules of `cost.cost_for_span` and `cost.estimate_cost` (the tests check that both
give the same cost), in SQL. Estimates use the rates stored now, so a price change also reprices
past calls; a model the pricer has not seen yet is `unpriced` until it has.

The view reads `hb_llm_calls` filtered as the query says (its key prefix `TenantId, KeyType,
Timestamp` still prunes) and joins the few rows of `hb_model_prices` as hash tables. The view's
columns are fixed when it is created: a migration that adds columns to `hb_llm_calls` recreates it.
Query it as the table, e.g. `SELECT ResponseModel, sum(Cost), countIf(CostSource = 'unpriced')
FROM hb_llm_costs WHERE TenantId = {tenant:String} AND Timestamp >= {since:DateTime64(9)} GROUP BY
ResponseModel`.
"""

from __future__ import annotations

from typing import Final

from hiveboard.storage.schema.ddl import engine, on_cluster, qualified
from hiveboard.storage.schema.hiveboard_tables import LLM_CALLS_TABLE, literal
from hiveboard_semconv.attributes import HiveboardLlmCostSourceValues

PRICES_TABLE: Final = "hb_model_prices"
LLM_COSTS_VIEW: Final = "hb_llm_costs"

PRICES_COLUMNS: Final = (
    "Provider",
    "Model",
    "Input",
    "Output",
    "CacheRead",
    "CacheWrite",
    "MatchedModel",
    "Priced",
    "Tiered",
    "UpdatedAt",
)
"""The columns of `hb_model_prices`, in table order (for inserts)."""

UNPRICED: Final = "unpriced"
"""`CostSource` of a call with tokens whose model genai-prices does not know."""

_PRICES_COLUMNS_DDL = """\
    Provider LowCardinality(String),
    Model String,
    Input Nullable(Float64),
    Output Nullable(Float64),
    CacheRead Nullable(Float64),
    CacheWrite Nullable(Float64),
    MatchedModel String,
    Priced Bool,
    Tiered Bool,
    UpdatedAt DateTime64(3, 'UTC')"""

_PRICES_COMMENT = "Token rates (USD per million) of the models of hb_llm_calls; the latest UpdatedAt wins"
_PER_MILLION = 1_000_000


def _price_key(provider: str, model: str) -> str:
    return f"cityHash64({provider}, {model})"


# The priced models with the rates `estimate_cost` uses: a missing input or output rate is 0, a
# missing cache rate is the input rate. One copy is joined on the response model, one on the
# request model; a call that matches neither gets the default row (Priced false). The join key is
# one UInt64, `_price_key` of the pair: a hash join on it is about twice as fast as on the two
# strings. Two priced pairs would have to share a 64-bit hash to be confused (odds ~1e-10 for
# 100k priced models), and only priced rows are joined, so a client cannot unprice another's calls.
_PRICED_RATES = """(
        SELECT
            {price_key} AS PriceKey,
            Priced,
            MatchedModel,
            ifNull(Input, 0) AS InputRate,
            ifNull(Output, 0) AS OutputRate,
            ifNull(CacheRead, ifNull(Input, 0)) AS CacheReadRate,
            ifNull(CacheWrite, ifNull(Input, 0)) AS CacheWriteRate
        FROM {prices} FINAL
        WHERE Priced
    )"""

# Aliases of the view's expressions (not columns of it). `ifNull` around the joined `Priced` keeps
# the rules right when a server sets join_use_nulls (unmatched rows are then NULL, not defaults).
_COST_EXPRESSIONS = f"""\
    ifNull(calls.ReportedCost, -1) AS reported_cost,
    reported_cost >= 0 AND isFinite(reported_cost)
        AND calls.ReportedCostSource != {literal(HiveboardLlmCostSourceValues.ESTIMATED)} AS is_reported,
    calls.InputTokens = 0 AND calls.OutputTokens = 0
        AND calls.CacheReadTokens = 0 AND calls.CacheWriteTokens = 0 AS no_tokens,
    ifNull(response_price.Priced, false) AS response_priced,
    response_priced OR ifNull(request_price.Priced, false) AS priced,
    if(response_priced, response_price.InputRate, request_price.InputRate) AS input_rate,
    if(response_priced, response_price.OutputRate, request_price.OutputRate) AS output_rate,
    if(response_priced, response_price.CacheReadRate, request_price.CacheReadRate) AS cache_read_rate,
    if(response_priced, response_price.CacheWriteRate, request_price.CacheWriteRate) AS cache_write_rate,
    calls.CacheReadTokens + calls.CacheWriteTokens AS cached_tokens,
    -- An input count below the cache counts excludes them (Anthropic's usage): all of it is uncached.
    if(calls.InputTokens >= cached_tokens, calls.InputTokens - cached_tokens, calls.InputTokens)
        AS uncached_input,
    -- Summed in the order of estimate_cost, so that the Float64 results are equal.
    (uncached_input * input_rate + calls.CacheReadTokens * cache_read_rate
        + calls.CacheWriteTokens * cache_write_rate + calls.OutputTokens * output_rate)
        / {_PER_MILLION} AS estimate"""

_COST_COLUMNS = f"""\
    calls.*,
    CAST(multiIf(is_reported, calls.ReportedCost, no_tokens OR NOT priced, NULL, estimate)
        AS Nullable(Float64)) AS Cost,
    toLowCardinality(multiIf(
        is_reported, {literal(HiveboardLlmCostSourceValues.REPORTED)},
        no_tokens, '',
        priced, {literal(HiveboardLlmCostSourceValues.ESTIMATED)},
        {literal(UNPRICED)})) AS CostSource,
    if(is_reported OR no_tokens OR NOT priced, '',
        if(response_priced, response_price.MatchedModel, request_price.MatchedModel)) AS MatchedModel"""


def statements(database: str, cluster_name: str | None) -> list[str]:
    """The `hb_model_prices` table, then the `hb_llm_costs` view over it and `hb_llm_calls`."""
    prices = qualified(database, PRICES_TABLE)
    view = qualified(database, LLM_COSTS_VIEW)
    rates = _PRICED_RATES.format(prices=prices, price_key=_price_key("Provider", "Model"))
    return [
        "\n".join(
            [
                f"CREATE TABLE IF NOT EXISTS {prices}{on_cluster(cluster_name)} (",
                _PRICES_COLUMNS_DDL,
                f") ENGINE = {engine('ReplacingMergeTree', cluster_name, 'UpdatedAt')}",
                "ORDER BY (Provider, Model)",
                f"COMMENT {literal(_PRICES_COMMENT)}",
            ]
        ),
        "\n".join(
            [
                f"CREATE VIEW IF NOT EXISTS {view}{on_cluster(cluster_name)} AS",
                "WITH",
                _COST_EXPRESSIONS,
                "SELECT",
                _COST_COLUMNS,
                f"FROM {qualified(database, LLM_CALLS_TABLE)} AS calls",
                f"LEFT ANY JOIN {rates} AS response_price",
                f"    ON {_price_key('calls.Provider', 'calls.ResponseModel')} = response_price.PriceKey",
                f"LEFT ANY JOIN {rates} AS request_price",
                f"    ON {_price_key('calls.Provider', 'calls.RequestModel')} = request_price.PriceKey",
            ]
        ),
    ]
