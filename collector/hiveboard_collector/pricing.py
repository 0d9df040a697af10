"""Keeps `hb_model_prices` up to date with the models of `hb_llm_calls`, for the `hb_llm_costs` view.

Calls reach `hb_llm_calls` from HiveBoard's collector and from the upstream OpenTelemetry Collector
alike, so the rates are found in the stored calls: `ModelPricer.refresh()` prices the
`(Provider, Model)` pairs (`Model`: a call's `ResponseModel` or `RequestModel`) that
`hb_model_prices` lacks, with `cost.price_for`. A model genai-prices does not know gets a row with
`Priced` false, so its calls show as `unpriced`. Rows older than `max_age` are priced again, so
dated prices take effect and a model genai-prices learns later gets its rates. `PricingJob` runs
`refresh()` periodically.

HiveBoard's collector knows the models of each batch it writes: after the insert it calls
`price_models` with the batch's pairs (`cost.call_models` of each span's attributes), so its
calls are priced at once rather than at the next refresh. That is an in-memory set lookup when
every pair is known, and otherwise one small query and one insert of the new pairs:

    pricer = ModelPricer(storage)
    job = PricingJob(pricer, interval_s=300)
    job.start()
    ...  # in the writer, after each insert into otel_traces
    pricer.price_models(pair for attributes in span_attributes for pair in call_models(attributes))
    ...
    job.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from hiveboard_collector.cost import clear_price_cache, price_for
from hiveboard_collector.schema.hiveboard_tables import LLM_CALLS_TABLE
from hiveboard_collector.schema.prices_table import PRICES_COLUMNS, PRICES_TABLE
from hiveboard_collector.storage import Storage, StorageError

__all__ = ("DEFAULT_INTERVAL_S", "DEFAULT_MAX_AGE", "ModelPricer", "PricingJob")

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE: Final = timedelta(days=1)
DEFAULT_INTERVAL_S: Final = 300.0

# Bounds the memory of `price_models`, which sees model names chosen by any client: past this many
# pairs the set starts over (the pairs are then looked up in storage again, once each).
_MAX_KNOWN_PAIRS = 10_000

# Distinct over the three LowCardinality columns first (cheap), then over the two models of each.
_PAIRS_TO_PRICE = f"""\
SELECT DISTINCT Provider, Model
FROM (SELECT DISTINCT Provider, ResponseModel, RequestModel FROM {LLM_CALLS_TABLE})
ARRAY JOIN [ResponseModel, RequestModel] AS Model
WHERE Model != ''
    AND (Provider, Model) NOT IN (
        SELECT Provider, Model FROM {PRICES_TABLE} FINAL
        WHERE UpdatedAt >= {{fresh_since:DateTime64(3, 'UTC')}}
    )"""
_STORED_PAIRS_OF_MODELS = (
    f"SELECT DISTINCT Provider, Model FROM {PRICES_TABLE} WHERE Model IN {{models:Array(String)}}"
)


class ModelPricer:
    """Writes the `cost.price_for` rates of the models of `hb_llm_calls` to `hb_model_prices`.

    Safe to share between threads (the writer's `price_models`, the job's `refresh`). Both raise
    `StorageError` when storage fails; nothing is lost then, the next `refresh` catches up.
    """

    def __init__(self, storage: Storage, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._storage = storage
        self._max_age = max_age
        self._known: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def refresh(self, all_models: bool = False) -> int:
        """Price each pair of `hb_llm_calls` that `hb_model_prices` lacks or has for longer than
        `max_age` (with `all_models`: every pair); returns the number of rows written."""
        now = datetime.now(tz=UTC)
        fresh_since = now if all_models else now - self._max_age
        pairs = self._storage.query(_PAIRS_TO_PRICE, {"fresh_since": fresh_since}).rows
        if pairs:
            # A lookup cached before a dated price took effect, or before genai-prices' data was
            # updated, would write the old rates again.
            clear_price_cache()
        return self._write(pairs, now)

    def price_models(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Price the `(provider, model)` pairs (as `cost.call_models` gives them) that neither this
        pricer nor `hb_model_prices` knows; returns the number of rows written.

        No storage access when every pair is known; pairs with an empty model are ignored.
        """
        with self._lock:
            candidates = {pair for pair in pairs if pair[1] and pair not in self._known}
        if not candidates:
            return 0
        models = sorted({model for _, model in candidates})
        stored = set(self._storage.query(_STORED_PAIRS_OF_MODELS, {"models": models}).rows)
        self._remember(candidates & stored)
        return self._write(sorted(candidates - stored), datetime.now(tz=UTC))

    def _write(self, pairs: Sequence[tuple[str, str]], now: datetime) -> int:
        if not pairs:
            return 0
        rows = [_price_row(provider, model, now) for provider, model in pairs]
        self._storage.insert(PRICES_TABLE, PRICES_COLUMNS, rows)
        self._remember(pairs)
        return len(rows)

    def _remember(self, pairs: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            if len(self._known) > _MAX_KNOWN_PAIRS:
                self._known.clear()
            self._known.update(pairs)


def _price_row(provider: str, model: str, now: datetime) -> list[Any]:
    """A row of `hb_model_prices` (in `PRICES_COLUMNS` order); `Priced` false for an unknown model."""
    price = price_for(model, provider or None)
    if price is None:
        return [provider, model, None, None, None, None, "", False, False, now]
    rates = [price.input, price.output, price.cache_read, price.cache_write]
    return [provider, model, *rates, price.matched_model, True, price.tiered, now]


class PricingJob:
    """Runs `pricer.refresh()` at `start()` and then every `interval_s` seconds, in a daemon thread.

    A failed refresh (storage down) is logged and retried at the next tick; `stop()` ends the
    thread at once unless a refresh is running (it then waits up to `timeout_s` for it).
    """

    def __init__(self, pricer: ModelPricer, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._pricer = pricer
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hiveboard-pricing", daemon=True)

    @property
    def running(self) -> bool:
        """Whether the thread is alive (started and not stopped)."""
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                written = self._pricer.refresh()
            except StorageError as error:
                logger.warning("pricing models failed, retrying in %s s: %s", self._interval_s, error)
            except Exception:  # a bug must not end the pricing of every later model
                logger.exception("pricing models failed, retrying in %s s", self._interval_s)
            else:
                if written:
                    logger.info("priced %d models", written)
            self._stopping.wait(self._interval_s)
