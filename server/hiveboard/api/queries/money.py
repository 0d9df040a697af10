"""Money as the API shows it: each LLM call's cost rounded once, to the micro-dollar, and every
aggregate the exact sum of those rounded costs.

`hb_llm_costs.Cost` is a Float64 (reported by the agent or estimated from tokens). Summed as floats,
costs carry noise (0.001 + 0.003441 = 0.0044410000000000005), and a total rounded after summing can
differ from the sum of the rounded costs listed beside it. So every query reads a call's cost
through `CALL_COST_SQL`, a Decimal with 6 decimals (1e-6 USD, finer than any price per call a
person reads), and sums those Decimals, which is exact: the total of a view is, to the micro-dollar,
the sum of the costs of its calls, whichever view shows them. The rounding goes through integer
micro-dollars because ClickHouse truncates a Float64 converted to a Decimal (0.004441 could become
0.004440). A reported cost above `MAX_CALL_COST_USD` (no call costs that much, but a client can
send it) counts as that much, so that it cannot overflow the Decimal and fail every sum.

A cost over calls that all have no price is NULL, never 0 (`usd` turns it into None); a cost over
no calls is 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

MICRO_USD_PER_USD: Final = 1_000_000
MAX_CALL_COST_USD: Final = 1e12

# NULL (unpriced) stays NULL: every function here keeps it.
CALL_COST_SQL: Final = (
    f"toDecimal128(toInt64(round(if(Cost > {MAX_CALL_COST_USD}, {MAX_CALL_COST_USD}, Cost)"
    f" * {MICRO_USD_PER_USD})), 6) / {MICRO_USD_PER_USD}"
)
"""A call's cost in USD, rounded to the micro-dollar (Decimal; NULL when the call has no price)."""

COST_SUM_SQL: Final = f"sum({CALL_COST_SQL})"
"""The exact sum of the rounded costs of the calls of a group; NULL when none of them has a price."""


def call_usd(cost: Decimal | None) -> float | None:
    """A rounded cost (`CALL_COST_SQL`) or sum of them (`COST_SUM_SQL`) as the API's JSON number;
    None stays None. A Decimal with 6 decimals converts to the float that prints as it."""
    return None if cost is None else float(cost)


def usd(total: Decimal | None, calls: int) -> float | None:
    """The cost of `calls` LLM calls whose priced costs sum to `total` (`COST_SUM_SQL`): 0.0 without
    calls, None when every call is unpriced (their cost is unknown, not zero)."""
    return 0.0 if calls == 0 else call_usd(total)
