"""Keeps `hb_model_prices` up to date with the models of `hb_llm_calls`, for the `hb_llm_costs` view.

Calls reach `hb_llm_calls` from HiveBoard's collector and from the upstream OpenTelemetry Collector
alike, so the rates are found in the stored calls: `ModelPricer.refresh()` prices the
`(Provider, Model)` pairs (`Model`: a call's `ResponseModel` or `RequestModel`) that
`hb_model_prices` lacks, with `cost.price_for`. A model genai-prices does not know gets a row with
`Priced` false, so its calls show as `unpriced`. Rows older than `max_age` are priced again, so
dated prices take effect and a model genai-prices learns later gets its rates. `PricingJob` runs
`refresh()` periodically.

HiveBoard's collector wakes the job after each write (`PricingJob.wake`): the job then prices the
pairs no row of `hb_model_prices` holds yet (`price_new_models`), so new models get their rates
within a second rather than at the next refresh. Both read the pairs from `hb_llm_models`, a row
per pair that a view keeps from the calls `hb_llm_calls` receives, and the small prices table, not
every call kept; `price_new_models` runs at most every `min_wake_interval_s`, however often the
writer wakes it:

    pricer = ModelPricer(storage)
    job = PricingJob(pricer, interval_s=300)
    job.start()
    ...  # in the writer, after each insert into otel_traces
    job.wake()
    ...
    job.stop()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from hiveboard.storage import Storage, StorageError
from hiveboard.storage.prices import clear_price_cache, price_for
from hiveboard.storage.schema.current_state import LLM_MODELS_TABLE
from hiveboard.storage.schema.prices_table import PRICES_COLUMNS, PRICES_TABLE

__all__ = ("DEFAULT_INTERVAL_S", "DEFAULT_MAX_AGE", "ModelPricer", "PricingJob")

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE: Final = timedelta(days=1)
DEFAULT_INTERVAL_S: Final = 300.0

DEFAULT_MIN_WAKE_INTERVAL_S: Final = 0.5
# Before any price: `UpdatedAt >= this` holds for every row of hb_model_prices.
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# `hb_llm_models` holds the pairs of `hb_llm_calls` (a row per pair once merged).
_PAIRS_TO_PRICE = f"""\
SELECT DISTINCT Provider, Model
FROM {LLM_MODELS_TABLE}
WHERE (Provider, Model) NOT IN (
    SELECT Provider, Model FROM {PRICES_TABLE} FINAL
    WHERE UpdatedAt >= {{fresh_since:DateTime64(3, 'UTC')}}
)"""


class ModelPricer:
    """Writes the `cost.price_for` rates of the models of `hb_llm_calls` to `hb_model_prices`.

    Safe to share between threads. Both methods raise `StorageError` when storage fails; nothing is
    lost then, the next call catches up.
    """

    def __init__(self, storage: Storage, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._storage = storage
        self._max_age = max_age

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

    def price_new_models(self) -> int:
        """Price the pairs of `hb_llm_calls` that `hb_model_prices` has no row for; returns the number
        of rows written."""
        pairs = self._storage.query(_PAIRS_TO_PRICE, {"fresh_since": _EPOCH}).rows
        return self._write(pairs, datetime.now(tz=UTC))

    def _write(self, pairs: Sequence[tuple[str, str]], now: datetime) -> int:
        if not pairs:
            return 0
        rows = [_price_row(provider, model, now) for provider, model in pairs]
        self._storage.insert(PRICES_TABLE, PRICES_COLUMNS, rows)
        return len(rows)


def _price_row(provider: str, model: str, now: datetime) -> list[Any]:
    """A row of `hb_model_prices` (in `PRICES_COLUMNS` order); `Priced` false for an unknown model."""
    price = price_for(model, provider or None)
    if price is None:
        return [provider, model, None, None, None, None, "", False, False, now]
    rates = [price.input, price.output, price.cache_read, price.cache_write]
    return [provider, model, *rates, price.matched_model, True, price.tiered, now]


class PricingJob:
    """Runs `pricer.refresh()` at `start()` and then every `interval_s` seconds, and
    `pricer.price_new_models()` soon after each `wake()` (at most every `min_wake_interval_s`), in a
    daemon thread.

    A failed run (storage down) is logged and retried at the next tick or wake; `stop()` ends the
    thread at once unless a run is in progress (it then waits up to `timeout_s` for it).
    """

    def __init__(
        self,
        pricer: ModelPricer,
        interval_s: float = DEFAULT_INTERVAL_S,
        min_wake_interval_s: float = DEFAULT_MIN_WAKE_INTERVAL_S,
    ) -> None:
        self._pricer = pricer
        self._interval_s = interval_s
        self._min_wake_interval_s = min_wake_interval_s
        self._woken = False
        self._stopping = False
        self._signal = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="hiveboard-pricing", daemon=True)

    @property
    def running(self) -> bool:
        """Whether the thread is alive (started and not stopped)."""
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Price the models no price row exists for yet, soon; cheap, never blocks."""
        with self._signal:
            self._woken = True
            self._signal.notify()

    def stop(self, timeout_s: float = 10.0) -> None:
        with self._signal:
            self._stopping = True
            self._signal.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        next_refresh = time.monotonic()
        while True:
            with self._signal:
                while not (self._stopping or self._woken) and time.monotonic() < next_refresh:
                    self._signal.wait(next_refresh - time.monotonic())
                if self._stopping:
                    return
                woken, self._woken = self._woken, False
            if time.monotonic() >= next_refresh:
                self._attempt(self._pricer.refresh)
                next_refresh = time.monotonic() + self._interval_s
            elif woken:
                self._attempt(self._pricer.price_new_models)
                with self._signal:  # however often the writer wakes us
                    if not self._stopping:
                        self._signal.wait_for(lambda: self._stopping, self._min_wake_interval_s)

    def _attempt(self, pricing: Callable[[], int]) -> None:
        try:
            written = pricing()
        except StorageError as error:
            logger.warning("pricing models failed, retrying in %s s: %s", self._interval_s, error)
        except Exception:  # a bug must not end the pricing of every later model
            logger.exception("pricing models failed, retrying in %s s", self._interval_s)
        else:
            if written:
                logger.info("priced %d models", written)
