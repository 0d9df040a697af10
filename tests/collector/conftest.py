"""Fixtures of the collector's end-to-end tests: a module's migrated chDB, its key store and a
collector running on it, and a tenant of each test's own. A module that defines a fixture of the
same name (e.g. its own `storage`) uses its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore
from tests.collector.otlp_harness import Tenant, migrated_chdb, new_tenant
from tests.running_collector import RunningCollector, running_collector


@pytest.fixture(scope="module")
def storage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    with migrated_chdb(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])) as storage:
        yield storage


@pytest.fixture(scope="module")
def key_store(storage: Storage) -> KeyStore:
    return KeyStore(storage, dev_key=None)


@pytest.fixture(scope="module")
def running(storage: Storage, key_store: KeyStore) -> Iterator[RunningCollector]:
    with running_collector(storage, key_store) as running:
        yield running


@pytest.fixture
def tenant(key_store: KeyStore) -> Tenant:
    return new_tenant(key_store)
