"""API keys: who may send data to HiveBoard and read it back, and for which tenant.

A key is `hb_<type>_<32 url-safe random characters>`, its type one of

* `live`: ingests and reads production data;
* `test`: ingests and reads test data, which the collector marks `hiveboard.key.type` = test so
  it never mixes with live data;
* `read`: only reads (the query API, Grafana); ingestion with it is denied.

Keys are stored hashed (`hash_key`) in `hb_api_keys`, each bound to a tenant: the collector writes
the trusted `hiveboard.tenant.id` and `hiveboard.key.type` of the key a request authenticated with,
whatever the client sent. The plaintext of a key is shown once, when it is created.

A request carries its key as `Authorization: Bearer <key>` or in the `x-api-key` header
(`headers_key`). `KeyStore.authenticate` turns it into a `Principal` or raises
`AuthenticationError` (no, malformed, unknown or revoked key); `authorize_ingest` raises
`PermissionDeniedError` for read keys. The receivers map them to 401/UNAUTHENTICATED and
403/PERMISSION_DENIED; a `StorageError` while looking a key up means the keys could not be read
(answer 503/UNAVAILABLE, retryable), never that the key is bad.

Caching: `authenticate` remembers each successful lookup for `cache_ttl` seconds (5 by default)
so the ingestion path does not query ClickHouse per request. A key revoked through the same
`KeyStore` stops working at once; one revoked elsewhere (another process, the CLI) keeps working
in this process for at most `cache_ttl` seconds.

Development: when `HIVEBOARD_DEV_KEY` is set (the seeds use
`hb_live_dev000000000000000000000000000000`), that exact key authenticates as a live key of the
`default` tenant without being in the table.

Example::

    store = KeyStore(storage)
    plaintext, key = store.create(KeyType.LIVE, tenant_id="acme", name="sales agents")
    principal = authorize_ingest(store.authenticate(headers_key(request.headers)))
    principal.tenant_id, principal.key_type  # ('acme', KeyType.LIVE)
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from hiveboard.storage import Storage
from hiveboard.storage.schema.ddl import qualified
from hiveboard.storage.schema.keys_table import KEYS_TABLE

DEV_KEY_ENV: Final = "HIVEBOARD_DEV_KEY"
DEFAULT_TENANT: Final = "default"
# The key id of the principal the dev key authenticates as (table key ids start with `key_`).
DEV_KEY_ID: Final = "dev"
# How many leading characters of a key `ApiKey.prefix` keeps for display: `hb_live_` + 4.
PREFIX_LENGTH: Final = 12
DEFAULT_CACHE_TTL: Final = 5.0
# At most this many successful lookups are cached (one entry per distinct key in use).
CACHE_MAX_ENTRIES: Final = 10_000
# How `hiveboard keys create` is spelled in messages that tell the user to make a key.
_CREATE_HINT = "create one with `hiveboard keys create`"
# 24 random bytes are 32 url-safe base64 characters.
_RANDOM_BYTES = 24
_KEY_FORMAT = re.compile(r"hb_(live|test|read)_[A-Za-z0-9_-]{1,128}")
_COLUMNS = ("KeyHash", "KeyId", "TenantId", "KeyType", "Prefix", "Name", "CreatedAt", "RevokedAt", "Version")


class KeyType(StrEnum):
    """The type of an API key, the `<type>` of `hb_<type>_...`.

    >>> KeyType("test") is KeyType.TEST and KeyType.TEST == "test"
    True
    """

    LIVE = "live"
    TEST = "test"
    READ = "read"


class AuthenticationError(Exception):
    """The request has no usable API key (401 / UNAUTHENTICATED); the message says what to do.

    `reason` is one of "missing", "malformed", "unknown", "revoked". Messages never contain more of
    the presented key than its display prefix.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PermissionDeniedError(Exception):
    """The key is valid but may not do this (403 / PERMISSION_DENIED): a read key sending data."""


class KeyLookupError(LookupError):
    """`KeyStore.revoke` could not tell which key was meant."""


class UnknownKeyError(KeyLookupError):
    """No key has the given id or prefix."""


class AmbiguousKeyError(KeyLookupError):
    """More than one key has the given prefix; the message lists their ids."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its plaintext: what `KeyStore.create` and `KeyStore.list` return.

    `prefix` is the key's first 12 characters (`hb_live_AbCd`), enough to recognise it in a list.
    """

    key_id: str
    tenant_id: str
    key_type: KeyType
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    name: str = ""

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked (it no longer authenticates)."""
        return self.revoked_at is not None


@dataclass(frozen=True)
class Principal:
    """Who a request is from: the tenant and type of the key it authenticated with.

    >>> Principal("acme", KeyType.READ, "key_0123456789abcdef").can_ingest
    False
    """

    tenant_id: str
    key_type: KeyType
    key_id: str

    @property
    def can_ingest(self) -> bool:
        """Live and test keys may send data; read keys only query."""
        return self.key_type is not KeyType.READ


def generate_key(key_type: KeyType | str) -> str:
    """A new random key of `key_type`: `hb_<type>_` and 32 url-safe characters from `secrets`.

    >>> key = generate_key(KeyType.TEST)
    >>> key.startswith("hb_test_") and len(key) == 40
    True
    """
    return f"hb_{_key_type(key_type).value}_{secrets.token_urlsafe(_RANDOM_BYTES)}"


def hash_key(key: str) -> str:
    """The SHA-256 of `key` in lowercase hex, the only form of a key that is stored.

    Keys are 192-bit random strings, not passwords: nobody can guess one from its hash, so a slow
    password hash (bcrypt, argon2) would add nothing but per-request cost on the ingestion path.

    >>> hash_key("hb_live_example")[:16]
    '00b732ed221e2ceb'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def headers_key(headers: Mapping[str, str]) -> str | None:
    """The API key of a request: `Authorization: Bearer <key>`, else the `x-api-key` header.

    Header names and the `Bearer` scheme are case-insensitive; surrounding whitespace is ignored.
    Returns None when neither header carries a key (another scheme, such as Basic, carries none).
    Works with plain dicts, Starlette's `Headers` and `dict(grpc_context.invocation_metadata())`.

    >>> headers_key({"authorization": "bearer hb_live_example"})
    'hb_live_example'
    >>> headers_key({"X-API-Key": "hb_read_example"})
    'hb_read_example'
    """
    authorization: str | None = None
    api_key: str | None = None
    for name, value in headers.items():
        if not isinstance(value, str):  # binary gRPC metadata
            continue
        lowered = name.lower()
        if lowered == "authorization":
            authorization = value
        elif lowered == "x-api-key":
            api_key = value
    if authorization is not None:
        parts = authorization.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].strip():
            return parts[1].strip()
    if api_key is not None and api_key.strip():
        return api_key.strip()
    return None


def authorize_ingest(principal: Principal) -> Principal:
    """`principal` when its key may send data; a read key raises `PermissionDeniedError`.

    >>> authorize_ingest(Principal("acme", KeyType.LIVE, "key_0123456789abcdef")).tenant_id
    'acme'
    """
    if not principal.can_ingest:
        raise PermissionDeniedError(
            f"read keys (hb_read_...) can only query; key {principal.key_id} cannot send data: "
            "use a live or test key of this tenant"
        )
    return principal


_FROM_ENVIRONMENT: Any = object()


class KeyStore:
    """Creates, lists, revokes and authenticates the API keys in `hb_api_keys` of `storage`.

    `dev_key` (by default the `HIVEBOARD_DEV_KEY` environment variable, read now) is a live key
    of the default tenant accepted without being stored; None disables it. Successful lookups are
    cached for `cache_ttl` seconds (0 disables the cache) as measured by `clock`. Thread-safe.

    Example::

        store = KeyStore(storage, dev_key=None)
        plaintext, key = store.create("test", tenant_id="acme")
        store.authenticate(plaintext)  # Principal('acme', KeyType.TEST, key.key_id)
    """

    def __init__(
        self,
        storage: Storage,
        *,
        dev_key: str | None = _FROM_ENVIRONMENT,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if dev_key is _FROM_ENVIRONMENT:
            dev_key = os.environ.get(DEV_KEY_ENV) or None
        if dev_key is not None and not (_KEY_FORMAT.fullmatch(dev_key) and dev_key.startswith("hb_live_")):
            raise ValueError(
                f"{DEV_KEY_ENV} must be a live key such as hb_live_dev000000000000000000000000000000 "
                "(hb_live_ and letters, digits, '-' or '_'); fix or unset it"
            )
        if cache_ttl < 0:
            raise ValueError(f"cache_ttl must be 0 (no cache) or more seconds, not {cache_ttl}")
        self._storage = storage
        self._table = qualified(storage.database, KEYS_TABLE)
        self._dev_key = dev_key
        self._cache_ttl = cache_ttl
        self._clock = clock
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    @property
    def dev_key_enabled(self) -> bool:
        """Whether a dev key (`HIVEBOARD_DEV_KEY`) is accepted."""
        return self._dev_key is not None

    def create(
        self, key_type: KeyType | str, tenant_id: str = DEFAULT_TENANT, name: str = ""
    ) -> tuple[str, ApiKey]:
        """A new key of `tenant_id`: its plaintext (shown to the user once, never stored) and record.

        Example::

            plaintext, key = store.create(KeyType.LIVE, tenant_id="acme", name="sales agents")
            key.prefix == plaintext[:12]  # True; the table holds only hash_key(plaintext)
        """
        key_type = _key_type(key_type)
        if not tenant_id or tenant_id != tenant_id.strip():
            raise ValueError(f"tenant_id must be a non-empty name without surrounding spaces: {tenant_id!r}")
        plaintext = generate_key(key_type)
        key = ApiKey(
            key_id=f"key_{secrets.token_hex(8)}",
            tenant_id=tenant_id,
            key_type=key_type,
            prefix=plaintext[:PREFIX_LENGTH],
            created_at=datetime.now(UTC),  # microseconds, as the column keeps them
            name=name,
        )
        self._write(hash_key(plaintext), key, time.time_ns())
        return plaintext, key

    def list(self, tenant_id: str | None = None) -> builtins.list[ApiKey]:
        """The keys of `tenant_id` (of every tenant when None), oldest first, revoked ones included.

        Example::

            [(key.prefix, key.revoked) for key in store.list("acme")]  # [('hb_live_AbCd', False)]
        """
        where = "" if tenant_id is None else " WHERE TenantId = {tenant:String}"
        rows = self._select(f"{where} ORDER BY CreatedAt, KeyId", {"tenant": tenant_id or ""})
        return [_api_key(row) for row in rows]

    def revoke(self, key_id_or_prefix: str, *, tenant_id: str | None = None) -> ApiKey:
        """Revoke the key with this id (`key_...`), display prefix (`hb_live_AbCd`) or plaintext.

        Only keys of `tenant_id` are considered when it is given. Revoking a revoked key changes
        nothing. Raises `UnknownKeyError` or `AmbiguousKeyError` (several keys share the prefix:
        use the key id). Other processes see the revocation within their `cache_ttl`.

        Example::

            store.revoke("hb_live_AbCd").revoked_at  # datetime(..., tzinfo=UTC)
        """
        wanted = key_id_or_prefix.strip()
        shown = _shown(wanted) if wanted.startswith("hb_") and len(wanted) > PREFIX_LENGTH else wanted
        if self._dev_key is not None and wanted in (DEV_KEY_ID, self._dev_key, self._dev_key[:PREFIX_LENGTH]):
            raise KeyLookupError(f"the dev key comes from {DEV_KEY_ENV} and cannot be revoked: unset it")
        if _KEY_FORMAT.fullmatch(wanted) and len(wanted) > PREFIX_LENGTH:
            # A whole key: only its hash is sent to storage (and may reach its query log).
            where = " WHERE KeyHash = {hash:String}"
            parameters = {"hash": hash_key(wanted), "tenant": tenant_id or ""}
        else:
            where = " WHERE (KeyId = {wanted:String} OR Prefix = {wanted:String})"
            parameters = {"wanted": wanted, "tenant": tenant_id or ""}
        if tenant_id is not None:
            where += " AND TenantId = {tenant:String}"
        rows = self._select(f"{where} ORDER BY CreatedAt, KeyId", parameters)
        if not rows:
            scope = "" if tenant_id is None else f" of tenant {tenant_id!r}"
            raise UnknownKeyError(
                f"no API key{scope} matches {shown!r} (a key id, display prefix or whole key); "
                "list the keys to find its id"
            )
        if len(rows) > 1:
            ids = ", ".join(row["KeyId"] for row in rows)
            raise AmbiguousKeyError(f"{len(rows)} keys have the prefix {shown!r} ({ids}); revoke one by id")
        row = rows[0]
        key = _api_key(row)
        if key.revoked:
            return key
        revoked = ApiKey(
            key_id=key.key_id,
            tenant_id=key.tenant_id,
            key_type=key.key_type,
            prefix=key.prefix,
            created_at=key.created_at,
            revoked_at=datetime.now(UTC),
            name=key.name,
        )
        # A higher Version replaces the row, even if this clock is behind the one that wrote it.
        self._write(row["KeyHash"], revoked, max(time.time_ns(), row["Version"] + 1))
        with self._lock:
            self._cache.pop(row["KeyHash"], None)
        return revoked

    def authenticate(self, key: str | None) -> Principal:
        """The principal of `key` (from `headers_key`); raises `AuthenticationError` when there is
        no key, or it is malformed, unknown or revoked. A `StorageError` means the keys could not be
        read (retryable), not that the key is bad.

        Example::

            store.authenticate(headers_key({"Authorization": "Bearer hb_test_..."}))
            # Principal(tenant_id='acme', key_type=<KeyType.TEST: 'test'>, key_id='key_...')
        """
        if key is None or not key.strip():
            raise AuthenticationError(
                "missing",
                "missing API key: send `Authorization: Bearer hb_live_...` or the x-api-key header; "
                + _CREATE_HINT,
            )
        key = key.strip()
        if not _KEY_FORMAT.fullmatch(key):
            raise AuthenticationError(
                "malformed",
                "malformed API key: HiveBoard keys are hb_live_, hb_test_ or hb_read_ followed by "
                "letters, digits, '-' or '_'; check the key the client is configured with",
            )
        if self._dev_key is not None and hmac.compare_digest(key, self._dev_key):
            return Principal(DEFAULT_TENANT, KeyType.LIVE, DEV_KEY_ID)
        key_hash = hash_key(key)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        rows = self._select(" WHERE KeyHash = {hash:String}", {"hash": key_hash})
        if not rows:
            raise AuthenticationError(
                "unknown",
                f"unknown API key {_shown(key)}: it is not a key of this HiveBoard; "
                f"check it for typos or {_CREATE_HINT}",
            )
        stored = _api_key(rows[0])
        if stored.revoked_at is not None:
            raise AuthenticationError(
                "revoked",
                f"API key {stored.prefix}... ({stored.key_id}) was revoked at "
                f"{stored.revoked_at.isoformat(timespec='seconds')}; {_CREATE_HINT}",
            )
        principal = Principal(stored.tenant_id, stored.key_type, stored.key_id)
        if self._cache_ttl > 0:
            self._remember(key_hash, principal, now + self._cache_ttl)
        return principal

    def _remember(self, key_hash: str, principal: Principal, expires: float) -> None:
        with self._lock:
            if len(self._cache) >= CACHE_MAX_ENTRIES:
                now = self._clock()
                for stale in [h for h, (_, until) in self._cache.items() if until <= now]:
                    del self._cache[stale]
                while len(self._cache) >= CACHE_MAX_ENTRIES:  # all live: drop the oldest
                    del self._cache[next(iter(self._cache))]
            self._cache[key_hash] = (principal, expires)

    def _select(self, clauses: str, parameters: Mapping[str, Any]) -> builtins.list[dict[str, Any]]:
        """Current rows (the latest Version of each key) of the table, `clauses` after FROM.

        Callers filter only on columns every version of a key shares (KeyHash, KeyId, Prefix,
        TenantId), so a filter applied before or after FINAL's merge selects the same keys.
        """
        sql = f"SELECT {', '.join(_COLUMNS)} FROM {self._table} FINAL{clauses}"
        return self._storage.query(sql, parameters).dicts()

    def _write(self, key_hash: str, key: ApiKey, version: int) -> None:
        row = [
            key_hash,
            key.key_id,
            key.tenant_id,
            key.key_type.value,
            key.prefix,
            key.name,
            key.created_at,
            key.revoked_at,
            version,
        ]
        self._storage.insert(self._table, _COLUMNS, [row])


def _key_type(value: KeyType | str) -> KeyType:
    try:
        return KeyType(value)
    except ValueError:
        raise ValueError(f"key type must be live, test or read, not {value!r}") from None


def _api_key(row: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=row["KeyId"],
        tenant_id=row["TenantId"],
        key_type=KeyType(row["KeyType"]),
        prefix=row["Prefix"],
        created_at=row["CreatedAt"],
        revoked_at=row["RevokedAt"],
        name=row["Name"],
    )


def _shown(key: str) -> str:
    """What a message may show of a presented key: its display prefix when that is at most half of
    the key (a generated key shows 4 of its 32 random characters), else only `hb_<type>_`."""
    if len(key) >= 2 * PREFIX_LENGTH:
        return key[:PREFIX_LENGTH] + "..."
    match = _KEY_FORMAT.match(key)
    return f"hb_{match.group(1)}_..." if match else "hb_..."
