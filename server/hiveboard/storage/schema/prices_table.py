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

These are the rules of the reference `cost_for_span` and `estimate_cost` of the tests
(`tests/collector/reference_cost.py`, checked to give the same cost), in SQL. Estimates use the
rates stored now, so a price change also reprices past calls; a model the pricer has not seen yet
is `unpriced` until it has.

The view reads `hb_llm_calls` filtered as the query says (its key prefix `TenantId, KeyType,
Timestamp` still prunes) and looks each call's models up in the few rows of `hb_model_prices`,
read once per query. The view's
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


# The priced models with the rates `estimate_cost` uses (a missing input or output rate is 0, a
# missing cache rate is the input rate), read once per query as one row of parallel arrays: key,
# matched model, input, output, cache read and cache write rates. A call looks its response model
# up, then its request model, with `transform` (a hash lookup); index 0 is no price, and an array's
# element 0 is its type's default. Two joins on the prices instead cost about twice as much, most
# of it in planning them. The key is one UInt64, `_price_key` of the pair. Two priced pairs would
# have to share a 64-bit hash to be confused (odds ~1e-10 for 100k priced models), and only priced
# rows are looked up, so a client cannot unprice another's calls.
_PRICES = """(
        SELECT (
            groupArray({price_key}),
            groupArray(MatchedModel),
            groupArray(ifNull(Input, 0)),
            groupArray(ifNull(Output, 0)),
            groupArray(ifNull(CacheRead, ifNull(Input, 0))),
            groupArray(ifNull(CacheWrite, ifNull(Input, 0))))
        FROM {prices} FINAL
        WHERE Priced
    ) AS prices"""

# Aliases of the view's expressions (not columns of it).
_COST_EXPRESSIONS = f"""\
    tupleElement(prices, 1) AS price_keys,
    arrayEnumerate(price_keys) AS price_indexes,
    transform({_price_key("calls.Provider", "calls.ResponseModel")}, price_keys, price_indexes, 0)
        AS response_index,
    transform({_price_key("calls.Provider", "calls.RequestModel")}, price_keys, price_indexes, 0)
        AS request_index,
    ifNull(calls.ReportedCost, -1) AS reported_cost,
    reported_cost >= 0 AND isFinite(reported_cost)
        AND calls.ReportedCostSource != {literal(HiveboardLlmCostSourceValues.ESTIMATED)} AS is_reported,
    calls.InputTokens = 0 AND calls.OutputTokens = 0
        AND calls.CacheReadTokens = 0 AND calls.CacheWriteTokens = 0 AS no_tokens,
    response_index > 0 AS response_priced,
    response_priced OR request_index > 0 AS priced,
    if(response_priced, response_index, request_index) AS price_index,
    NOT is_reported AND (no_tokens OR NOT priced) AS unpriced,
    -- The matched model of an estimated call only: index 0 is ''.
    tupleElement(prices, 2)[if(is_reported OR unpriced, 0, price_index)] AS matched_model,
    tupleElement(prices, 3)[price_index] AS input_rate,
    tupleElement(prices, 4)[price_index] AS output_rate,
    tupleElement(prices, 5)[price_index] AS cache_read_rate,
    tupleElement(prices, 6)[price_index] AS cache_write_rate,
    calls.CacheReadTokens + calls.CacheWriteTokens AS cached_tokens,
    -- An input count below the cache counts excludes them (Anthropic's usage): all of it is uncached.
    -- One type in both cases (Int64): see storage.base.CLIENT_SETTINGS.
    calls.InputTokens - if(calls.InputTokens >= cached_tokens, cached_tokens, 0) AS uncached_input,
    -- Summed in the order of estimate_cost, so that the Float64 results are equal.
    (uncached_input * input_rate + calls.CacheReadTokens * cache_read_rate
        + calls.CacheWriteTokens * cache_write_rate + calls.OutputTokens * output_rate)
        / {_PER_MILLION} AS estimate"""

# The cost is chosen by arithmetic, not by if() or multiIf(): ClickHouse evaluates their branches
# lazily, on the rows each applies to, which for this expression costs more than computing the
# estimate of every call (pricing 1.2M calls: 176 -> 105 ms of CPU). The estimate is finite, so
# `estimate * 0` is 0 and the sum is exactly the reported cost or the estimate; an unpriced call's
# estimate is 0 (no tokens, or the rates of index 0), so it comes out as -1, which no priced call
# can (a reported cost is >= 0), and becomes NULL.
_COST_COLUMNS = f"""\
    calls.*,
    nullIf(if(is_reported, reported_cost, 0) + estimate * (NOT is_reported) - unpriced, -1) AS Cost,
    toLowCardinality(multiIf(
        is_reported, {literal(HiveboardLlmCostSourceValues.REPORTED)},
        no_tokens, '',
        priced, {literal(HiveboardLlmCostSourceValues.ESTIMATED)},
        {literal(UNPRICED)})) AS CostSource,
    matched_model AS MatchedModel"""


def statements(database: str, cluster_name: str | None) -> list[str]:
    """The `hb_model_prices` table, then the `hb_llm_costs` view over it and `hb_llm_calls`."""
    prices = qualified(database, PRICES_TABLE)
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
        _costs_view(database, cluster_name, "CREATE VIEW IF NOT EXISTS"),
    ]


def replace_costs_view_statements(database: str, cluster_name: str | None) -> list[str]:
    """`hb_llm_costs` as `statements` makes it now, in place of the view an earlier version made
    (with two joins on the prices, with an uncached input count of two types, or with the cost
    chosen by a multiIf)."""
    return [_costs_view(database, cluster_name, "CREATE OR REPLACE VIEW")]


def _costs_view(database: str, cluster_name: str | None, create: str) -> str:
    prices = _PRICES.format(
        prices=qualified(database, PRICES_TABLE), price_key=_price_key("Provider", "Model")
    )
    return "\n".join(
        [
            f"{create} {qualified(database, LLM_COSTS_VIEW)}{on_cluster(cluster_name)} AS",
            "WITH",
            f"    {prices},",
            _COST_EXPRESSIONS,
            "SELECT",
            _COST_COLUMNS,
            f"FROM {qualified(database, LLM_CALLS_TABLE)} AS calls",
        ]
    )
