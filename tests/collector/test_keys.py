"""API keys: hashed storage in real chDB (migrated by the project's migrations), authentication,
the ingestion permission matrix, the dev key, header extraction and the lookup cache."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Headers

from hiveboard.storage import ChDBStorage, Storage, keys
from hiveboard.storage.keys import (
    DEV_KEY_ENV,
    AmbiguousKeyError,
    ApiKey,
    AuthenticationError,
    KeyLookupError,
    KeyStore,
    KeyType,
    PermissionDeniedError,
    Principal,
    UnknownKeyError,
    authorize_ingest,
    generate_key,
    hash_key,
    headers_key,
)
from hiveboard.storage.schema import MIGRATIONS, Migration, SchemaConfig, migrate
from hiveboard.storage.schema.keys_table import KEYS_TABLE
from tests.storage_proxy import StorageProxy

DEV_KEY = "hb_live_dev000000000000000000000000000000"  # the seeds' key


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(tmp_path_factory.mktemp("keys") / "hiveboard-data") as opened:
        migrate(opened, SchemaConfig())
        yield opened


@pytest.fixture
def store(storage: ChDBStorage) -> KeyStore:
    return KeyStore(storage, dev_key=None)


@pytest.fixture
def tenant() -> str:
    """A tenant of its own per test: tests share the module's storage."""
    return f"tenant-{uuid.uuid4().hex[:8]}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored_rows(storage: Storage) -> list[tuple[Any, ...]]:
    """Every row version of the keys table, as stored (no FINAL)."""
    return storage.query(f"SELECT * FROM {KEYS_TABLE}").rows


def ingest(store: KeyStore, headers: Mapping[str, str]) -> Principal:
    """What an OTLP receiver does with a request's headers."""
    return authorize_ingest(store.authenticate(headers_key(headers)))


# ---- keys and hashes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["live", "test", "read"])
def test_generated_keys_are_typed_url_safe_and_random(key_type: str) -> None:
    generated = {generate_key(key_type) for _ in range(200)}
    assert len(generated) == 200
    for key in generated:
        assert re.fullmatch(rf"hb_{key_type}_[A-Za-z0-9_-]{{32}}", key), key


def test_an_unknown_key_type_is_refused() -> None:
    with pytest.raises(ValueError, match="key type must be live, test or read, not 'admin'"):
        generate_key("admin")


def test_the_hash_is_sha256_hex() -> None:
    key = generate_key(KeyType.LIVE)
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert re.fullmatch("[0-9a-f]{64}", hash_key(key))
    assert hash_key(key) != hash_key(key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_key_types_and_ingestion_rights() -> None:
    assert [key_type.value for key_type in KeyType] == ["live", "test", "read"]
    assert KeyType.TEST == "test"  # written as hiveboard.key.type as it is
    rights = {key_type: Principal("t", key_type, "key_x").can_ingest for key_type in KeyType}
    assert rights == {KeyType.LIVE: True, KeyType.TEST: True, KeyType.READ: False}


# ---- create, list, revoke ------------------------------------------------------------------------------


def test_create_list_revoke_round_trip_never_stores_the_plaintext(
    storage: ChDBStorage, store: KeyStore, tenant: str
) -> None:
    live_plaintext, live = store.create(KeyType.LIVE, tenant_id=tenant, name="sales agents")
    read_plaintext, read = store.create("read", tenant_id=tenant)

    assert live == ApiKey(
        key_id=live.key_id,
        tenant_id=tenant,
        key_type=KeyType.LIVE,
        prefix=live_plaintext[:12],
        created_at=live.created_at,
        revoked_at=None,
        name="sales agents",
    )
    assert re.fullmatch("key_[0-9a-f]{16}", live.key_id) and live.key_id != read.key_id
    assert live.created_at.tzinfo is not None
    assert store.list(tenant) == [live, read]

    revoked = store.revoke(live.prefix)
    assert revoked.revoked_at is not None and revoked.revoked
    assert revoked == ApiKey(**{**live.__dict__, "revoked_at": revoked.revoked_at})
    assert store.list(tenant) == [revoked, read]

    # The table holds hashes: no column of any row version holds a key's secret part.
    # Every version (a background merge may already have dropped the replaced one).
    rows = [row for row in stored_rows(storage) if tenant in row]
    hashes = {hash_key(live_plaintext), hash_key(read_plaintext)}
    assert {row[0] for row in rows} == hashes
    for plaintext in (live_plaintext, read_plaintext):
        secret = plaintext[12:]  # what the display prefix does not show
        assert not any(secret in str(value) for row in rows for value in row)
    # Nor does any file of the data directory (random text stays literal under LZ4).
    data = b"".join(path.read_bytes() for path in Path(storage.data_dir).rglob("*") if path.is_file())
    assert live_plaintext[12:].encode() not in data and read_plaintext[12:].encode() not in data


def test_revoke_by_key_id_or_whole_key_and_twice_changes_nothing(
    storage: ChDBStorage, store: KeyStore, tenant: str
) -> None:
    first_plaintext, first = store.create(KeyType.TEST, tenant_id=tenant)
    second_plaintext, second = store.create(KeyType.TEST, tenant_id=tenant)

    revoked = store.revoke(first.key_id)
    assert revoked.key_id == first.key_id
    by_plaintext = store.revoke(second_plaintext)
    assert by_plaintext.key_id == second.key_id and by_plaintext.revoked

    version = "SELECT Version FROM hb_api_keys FINAL WHERE KeyId = {id:String}"
    before = storage.query(version, {"id": first.key_id}).rows
    again = store.revoke(first.key_id)
    assert again == revoked == store.list(tenant)[0]  # same revocation time
    assert storage.query(version, {"id": first.key_id}).rows == before  # no newer version written
    for plaintext in (first_plaintext, second_plaintext):
        with pytest.raises(AuthenticationError) as raised:
            store.authenticate(plaintext)
        assert raised.value.reason == "revoked"


def test_revoke_says_when_no_key_or_several_keys_match(
    monkeypatch: pytest.MonkeyPatch, store: KeyStore, tenant: str
) -> None:
    with pytest.raises(UnknownKeyError, match=r"no API key matches 'key_0000000000000000'"):
        store.revoke("key_0000000000000000")
    never_created = generate_key(KeyType.LIVE)
    with pytest.raises(UnknownKeyError) as raised:
        store.revoke(never_created)
    assert never_created not in str(raised.value) and never_created[:12] + "..." in str(raised.value)

    # Two keys whose display prefixes collide (1 in 16 million for random keys).
    monkeypatch.setattr(keys, "generate_key", lambda key_type: "hb_live_SAME" + generate_key(key_type)[8:])
    _, one = store.create(KeyType.LIVE, tenant_id=tenant)
    _, other = store.create(KeyType.LIVE, tenant_id=tenant)
    with pytest.raises(AmbiguousKeyError, match="2 keys have the prefix 'hb_live_SAME'") as ambiguous:
        store.revoke("hb_live_SAME", tenant_id=tenant)
    assert one.key_id in str(ambiguous.value) and other.key_id in str(ambiguous.value)
    assert store.revoke(other.key_id).revoked
    assert {key.key_id: key.revoked for key in store.list(tenant)} == {one.key_id: False, other.key_id: True}


def test_create_refuses_a_bad_type_or_tenant(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="key type must be live, test or read"):
        store.create("admin")
    for tenant in ("", " acme"):
        with pytest.raises(ValueError, match="tenant_id must be a non-empty name"):
            store.create(KeyType.LIVE, tenant_id=tenant)


# ---- authentication -----------------------------------------------------------------------------------


def test_each_key_authenticates_as_its_tenant_and_type(store: KeyStore, tenant: str) -> None:
    for key_type in KeyType:
        plaintext, key = store.create(key_type, tenant_id=tenant)
        assert store.authenticate(plaintext) == Principal(tenant, key_type, key.key_id)
        assert store.authenticate(f"  {plaintext}\n") == Principal(tenant, key_type, key.key_id)


def test_the_default_tenant_is_default(store: KeyStore) -> None:
    plaintext, key = store.create(KeyType.LIVE)
    assert key.tenant_id == "default"
    assert store.authenticate(plaintext).tenant_id == "default"


@pytest.mark.parametrize(
    ("presented", "reason", "hint"),
    [
        (None, "missing", "Authorization: Bearer hb_live_"),
        ("", "missing", "Authorization: Bearer hb_live_"),
        ("   ", "missing", "Authorization: Bearer hb_live_"),
        ("sk-proj-0123456789abcdefghijklmnopqrstuv", "malformed", "hb_live_, hb_test_ or hb_read_"),
        ("hb_admin_0123456789abcdefghijklmnopqrstuv", "malformed", "hb_live_, hb_test_ or hb_read_"),
        ("hb_live_", "malformed", "hb_live_, hb_test_ or hb_read_"),
        ("hb_live_0123456789 abcdefghijklmnopqrstu", "malformed", "hb_live_, hb_test_ or hb_read_"),
        ("Bearer hb_live_0123456789abcdefghijklmnopqrstuv", "malformed", "hb_live_, hb_test_ or hb_read_"),
        ("hb_live_0123456789abcdefghijklmnopqrstuv", "unknown", "unknown API key hb_live_0123..."),
        ("hb_test_local", "unknown", "unknown API key hb_test_...:"),  # short: shows only its type
    ],
)
def test_missing_malformed_and_unknown_keys_are_unauthenticated(
    store: KeyStore, presented: str | None, reason: str, hint: str
) -> None:
    with pytest.raises(AuthenticationError) as raised:
        store.authenticate(presented)
    assert raised.value.reason == reason
    message = str(raised.value)
    assert hint in message
    if presented and len(presented.strip()) > 12:
        assert presented.strip() not in message
    assert "hiveboard keys create" in message or reason == "malformed"


def test_a_revoked_key_is_unauthenticated_and_told_to_get_a_new_one(store: KeyStore, tenant: str) -> None:
    plaintext, key = store.create(KeyType.LIVE, tenant_id=tenant)
    assert store.authenticate(plaintext).key_id == key.key_id
    store.revoke(key.key_id)
    with pytest.raises(AuthenticationError) as raised:
        store.authenticate(plaintext)
    message = str(raised.value)
    assert raised.value.reason == "revoked"
    assert f"{key.prefix}... ({key.key_id}) was revoked at" in message
    assert "hiveboard keys create" in message and plaintext not in message


def test_two_tenants_keys_resolve_to_their_own_tenants(store: KeyStore) -> None:
    acme, globex = f"acme-{uuid.uuid4().hex[:6]}", f"globex-{uuid.uuid4().hex[:6]}"
    acme_plaintext, acme_key = store.create(KeyType.LIVE, tenant_id=acme)
    globex_plaintext, globex_key = store.create(KeyType.LIVE, tenant_id=globex)

    assert store.authenticate(acme_plaintext).tenant_id == acme
    assert store.authenticate(globex_plaintext).tenant_id == globex
    assert store.list(acme) == [acme_key] and store.list(globex) == [globex_key]
    assert {acme_key, globex_key} <= set(store.list())

    # A tenant cannot revoke another tenant's key, even by its id.
    with pytest.raises(UnknownKeyError, match=f"of tenant '{globex}'"):
        store.revoke(acme_key.key_id, tenant_id=globex)
    assert store.authenticate(acme_plaintext).tenant_id == acme


# ---- the ingestion matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "outcome"),
    [
        ("live", KeyType.LIVE),
        ("test", KeyType.TEST),
        ("read", PermissionDeniedError),
        ("none", AuthenticationError),
        ("unknown", AuthenticationError),
        ("revoked", AuthenticationError),
    ],
)
def test_who_may_ingest(
    store: KeyStore, tenant: str, credential: str, outcome: KeyType | type[Exception]
) -> None:
    headers: dict[str, str] = {}
    if credential in ("live", "test", "read"):
        plaintext, key = store.create(credential, tenant_id=tenant)
        headers = {"Authorization": f"Bearer {plaintext}"}
    elif credential == "unknown":
        headers = {"x-api-key": generate_key(KeyType.LIVE)}
    elif credential == "revoked":
        plaintext, key = store.create(KeyType.LIVE, tenant_id=tenant)
        store.revoke(key.key_id)
        headers = {"x-api-key": plaintext}

    if isinstance(outcome, KeyType):
        # The collector stamps these as hiveboard.tenant.id and hiveboard.key.type.
        assert ingest(store, headers) == Principal(tenant, outcome, key.key_id)
    else:
        with pytest.raises(outcome) as raised:
            ingest(store, headers)
        if outcome is PermissionDeniedError:
            assert "read keys (hb_read_...) can only query" in str(raised.value)
            assert key.key_id in str(raised.value)


def test_a_read_key_still_authenticates_for_queries(store: KeyStore, tenant: str) -> None:
    plaintext, key = store.create(KeyType.READ, tenant_id=tenant)
    principal = store.authenticate(plaintext)
    assert principal == Principal(tenant, KeyType.READ, key.key_id) and not principal.can_ingest
    with pytest.raises(PermissionDeniedError):
        authorize_ingest(principal)


# ---- the dev key ---------------------------------------------------------------------------------------


def test_the_dev_key_from_the_environment_is_a_live_key_of_the_default_tenant(
    monkeypatch: pytest.MonkeyPatch, storage: ChDBStorage
) -> None:
    monkeypatch.setenv(DEV_KEY_ENV, DEV_KEY)
    store = KeyStore(storage)
    assert store.dev_key_enabled
    assert ingest(store, {"Authorization": f"Bearer {DEV_KEY}"}) == Principal("default", KeyType.LIVE, "dev")
    assert all(key.prefix != DEV_KEY[:12] for key in store.list())  # not in the table
    with pytest.raises(KeyLookupError, match=f"comes from {DEV_KEY_ENV}"):
        store.revoke("dev")
    # Only that exact key: a near miss is an ordinary unknown key.
    with pytest.raises(AuthenticationError, match="unknown API key"):
        store.authenticate(DEV_KEY[:-1] + "1")


def test_the_dev_key_is_refused_when_the_variable_is_unset(
    monkeypatch: pytest.MonkeyPatch, storage: ChDBStorage
) -> None:
    monkeypatch.delenv(DEV_KEY_ENV, raising=False)
    store = KeyStore(storage)
    assert not store.dev_key_enabled
    monkeypatch.setenv(DEV_KEY_ENV, DEV_KEY)  # read when the store is created, not per request
    with pytest.raises(AuthenticationError) as raised:
        store.authenticate(DEV_KEY)
    assert raised.value.reason == "unknown"
    monkeypatch.setenv(DEV_KEY_ENV, "")
    assert not KeyStore(storage).dev_key_enabled


def test_the_dev_key_can_be_passed_explicitly_and_must_be_a_live_key(
    monkeypatch: pytest.MonkeyPatch, storage: ChDBStorage
) -> None:
    monkeypatch.delenv(DEV_KEY_ENV, raising=False)
    assert KeyStore(storage, dev_key=DEV_KEY).authenticate(DEV_KEY).key_id == "dev"
    for wrong in ("hb_test_dev000000000000000000000000000000", "dev-key"):
        with pytest.raises(ValueError, match=f"{DEV_KEY_ENV} must be a live key"):
            KeyStore(storage, dev_key=wrong)
    monkeypatch.setenv(DEV_KEY_ENV, "hb_read_dev000000000000000000000000000000")
    with pytest.raises(ValueError, match="fix or unset it"):
        KeyStore(storage)


# ---- headers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer hb_live_abc"}, "hb_live_abc"),
        ({"authorization": "bearer hb_live_abc"}, "hb_live_abc"),
        ({"AUTHORIZATION": "  BEARER   hb_live_abc  "}, "hb_live_abc"),
        ({"Authorization": "Bearer\thb_live_abc"}, "hb_live_abc"),
        ({"x-api-key": "hb_test_abc"}, "hb_test_abc"),
        ({"X-API-Key": " hb_test_abc "}, "hb_test_abc"),
        ({"Authorization": "Bearer hb_live_abc", "x-api-key": "hb_test_abc"}, "hb_live_abc"),
        ({"Authorization": "Basic dXNlcjpwYXNz", "x-api-key": "hb_test_abc"}, "hb_test_abc"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, None),
        ({"Authorization": "Bearer"}, None),
        ({"Authorization": "Bearer   "}, None),
        ({"Authorization": "hb_live_abc"}, None),  # a key needs its scheme
        ({"x-api-key": ""}, None),
        ({"content-type": "application/x-protobuf"}, None),
        ({}, None),
        ({"x-api-key-bin": b"\x00", "x-api-key": "hb_live_abc"}, "hb_live_abc"),  # gRPC metadata
    ],
)
def test_the_key_comes_from_the_bearer_token_or_x_api_key(
    headers: Mapping[str, str], expected: str | None
) -> None:
    assert headers_key(headers) == expected


def test_the_key_comes_from_starlette_headers() -> None:
    raw = [(b"content-type", b"application/json"), (b"authorization", b"Bearer hb_read_abc")]
    assert headers_key(Headers(raw=raw)) == "hb_read_abc"
    assert headers_key(Headers(raw=[(b"x-api-key", b"hb_test_abc")])) == "hb_test_abc"


# ---- the lookup cache ----------------------------------------------------------------------------------


def test_lookups_are_cached_and_a_revocation_elsewhere_shows_within_the_ttl(
    storage: ChDBStorage, tenant: str
) -> None:
    counting, clock = StorageProxy(storage), FakeClock()
    collector = KeyStore(counting, dev_key=None, cache_ttl=5.0, clock=clock)
    admin = KeyStore(storage, dev_key=None)  # e.g. the CLI, another process
    plaintext, key = admin.create(KeyType.LIVE, tenant_id=tenant)

    principal = collector.authenticate(plaintext)
    for _ in range(50):
        assert collector.authenticate(plaintext) == principal
    assert counting.queries == 1  # the hot path does not query ClickHouse per request

    admin.revoke(key.key_id)
    clock.now += 4.9
    assert collector.authenticate(plaintext) == principal  # still cached: at most the TTL late
    clock.now += 0.2
    with pytest.raises(AuthenticationError) as raised:
        collector.authenticate(plaintext)
    assert raised.value.reason == "revoked" and counting.queries == 2


def test_a_revocation_through_the_same_store_takes_effect_at_once(storage: ChDBStorage, tenant: str) -> None:
    store = KeyStore(storage, dev_key=None, cache_ttl=3600.0, clock=FakeClock())
    plaintext, key = store.create(KeyType.TEST, tenant_id=tenant)
    assert store.authenticate(plaintext).key_type is KeyType.TEST
    store.revoke(key.prefix)
    with pytest.raises(AuthenticationError, match="was revoked"):
        store.authenticate(plaintext)


def test_failures_are_not_cached_and_a_zero_ttl_disables_the_cache(storage: ChDBStorage, tenant: str) -> None:
    counting = StorageProxy(storage)
    store = KeyStore(counting, dev_key=None, cache_ttl=0, clock=FakeClock())
    plaintext, _ = store.create(KeyType.LIVE, tenant_id=tenant)
    for _ in range(3):
        store.authenticate(plaintext)
    assert counting.queries == 3

    cached = KeyStore(counting, dev_key=None, clock=FakeClock())
    unknown = generate_key(KeyType.LIVE)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            cached.authenticate(unknown)
    assert counting.queries == 5
    with pytest.raises(ValueError, match="cache_ttl must be 0"):
        KeyStore(storage, cache_ttl=-1)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, storage: ChDBStorage, tenant: str) -> None:
    monkeypatch.setattr(keys, "CACHE_MAX_ENTRIES", 2)
    counting = StorageProxy(storage)
    store = KeyStore(counting, dev_key=None, clock=FakeClock())
    plaintexts = [store.create(KeyType.LIVE, tenant_id=tenant)[0] for _ in range(3)]
    for plaintext in plaintexts:
        store.authenticate(plaintext)
    assert counting.queries == 3
    store.authenticate(plaintexts[2])  # the newest two stayed
    store.authenticate(plaintexts[1])
    assert counting.queries == 3
    store.authenticate(plaintexts[0])  # the oldest was dropped
    assert counting.queries == 4


# ---- the migration -------------------------------------------------------------------------------------


def _keys_migration() -> Migration:
    (migration,) = [migration for migration in MIGRATIONS if migration.name == "api_keys_table"]
    return migration


def test_the_keys_migration_is_version_3_and_migrations_stay_idempotent(storage: ChDBStorage) -> None:
    assert _keys_migration().version == 3
    config = SchemaConfig(database="keys_migrations")
    assert migrate(storage, config)[:3] == ["otel_exporter_tables", "hiveboard_tables", "api_keys_table"]
    assert migrate(storage, config) == []
    assert migrate(storage, SchemaConfig()) == []  # the module's database, migrated by the fixture

    table = storage.query(
        "SELECT engine, sorting_key, comment != '' FROM system.tables"
        " WHERE database = 'keys_migrations' AND name = {name:String}",
        {"name": KEYS_TABLE},
    )
    assert table.rows == [("ReplacingMergeTree", "KeyHash", True)]
    recorded = storage.query(
        "SELECT version, name FROM keys_migrations.hb_schema_migrations ORDER BY version"
    )
    assert recorded.rows[:3] == [(1, "otel_exporter_tables"), (2, "hiveboard_tables"), (3, "api_keys_table")]


def test_the_keys_table_in_cluster_mode_is_replicated_on_the_cluster() -> None:
    config = SchemaConfig(database="hive", cluster_name="hive-cluster")
    (statement,) = _keys_migration().statements(config)
    first_line = statement.splitlines()[0]
    assert first_line == "CREATE TABLE IF NOT EXISTS `hive`.`hb_api_keys` ON CLUSTER `hive-cluster` ("
    assert ") ENGINE = ReplicatedReplacingMergeTree(Version)" in statement
    (single_node,) = _keys_migration().statements(SchemaConfig())
    assert "ON CLUSTER" not in single_node and ") ENGINE = ReplacingMergeTree(Version)" in single_node
