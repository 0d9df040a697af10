"""A chDB per test module holding the fleet of `fleet.py`, and the dashboard time range over it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hiveboard.storage import ChDBStorage, Storage
from hiveboard.storage.schema import SchemaConfig, migrate
from tests.grafana.fleet import store_fleet
from tests.grafana.plugin_macros import TimeRange


@pytest.fixture(scope="module")
def fleet_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    """A migrated chDB with the fleet stored; one process hosts one chDB directory at a time."""
    storage = ChDBStorage(Path(tmp_path_factory.mktemp("chdb")))
    try:
        migrate(storage, SchemaConfig())
        store_fleet(storage)
        yield storage
    finally:
        storage.close()


@pytest.fixture
def last_hour() -> TimeRange:
    """The dashboards' default time range, now-1h to now, at a 15 s interval."""
    now = datetime.now(UTC)
    return TimeRange(now - timedelta(hours=1), now, interval_seconds=15)
