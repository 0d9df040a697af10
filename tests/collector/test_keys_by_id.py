"""`KeyStore.authenticate_id`: a credential that names a key by id (the dashboard's session) is
checked against the key store like the key itself, cached the same 5 s, and ends with the key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from hiveboard.storage import ChDBStorage
from hiveboard.storage.keys import DEV_KEY_ID, AuthenticationError, KeyStore, KeyType, Principal
from hiveboard.storage.schema import SchemaConfig, migrate
from tests.collector.test_keys import DEV_KEY, FakeClock
from tests.storage_proxy import StorageProxy


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(tmp_path_factory.mktemp("keys-by-id")) as opened:
        migrate(opened, SchemaConfig())
        yield opened


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


def test_a_key_id_authenticates_as_its_key(storage: ChDBStorage, tenant: str) -> None:
    store = KeyStore(storage, dev_key=None)
    _, key = store.create(KeyType.TEST, tenant_id=tenant)
    assert store.authenticate_id(key.key_id) == Principal(tenant, KeyType.TEST, key.key_id)
    with pytest.raises(AuthenticationError) as raised:
        store.authenticate_id("key_0000000000000000")
    assert raised.value.reason == "unknown"


def test_a_revoked_key_id_stops_within_the_cache_ttl(storage: ChDBStorage, tenant: str) -> None:
    counting, clock = StorageProxy(storage), FakeClock()
    api = KeyStore(counting, dev_key=None, cache_ttl=5.0, clock=clock)
    admin = KeyStore(storage, dev_key=None)  # another process
    _, key = admin.create(KeyType.LIVE, tenant_id=tenant)
    principal = api.authenticate_id(key.key_id)
    for _ in range(20):
        assert api.authenticate_id(key.key_id) == principal
    assert counting.queries == 1

    admin.revoke(key.key_id)
    clock.now += 4.9
    assert api.authenticate_id(key.key_id) == principal
    clock.now += 0.2
    with pytest.raises(AuthenticationError) as raised:
        api.authenticate_id(key.key_id)
    assert raised.value.reason == "revoked"


def test_a_revocation_through_the_same_store_ends_the_id_at_once(storage: ChDBStorage, tenant: str) -> None:
    store = KeyStore(storage, dev_key=None, cache_ttl=3600.0, clock=FakeClock())
    _, key = store.create(KeyType.LIVE, tenant_id=tenant)
    store.authenticate_id(key.key_id)
    store.revoke(key.key_id)
    with pytest.raises(AuthenticationError, match="was revoked"):
        store.authenticate_id(key.key_id)


def test_the_dev_key_id_works_only_while_the_dev_key_does(storage: ChDBStorage) -> None:
    assert KeyStore(storage, dev_key=DEV_KEY).authenticate_id(DEV_KEY_ID).key_type is KeyType.LIVE
    with pytest.raises(AuthenticationError, match="HIVEBOARD_DEV_KEY"):
        KeyStore(storage, dev_key=None).authenticate_id(DEV_KEY_ID)
