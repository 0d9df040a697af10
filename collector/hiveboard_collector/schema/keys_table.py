"""`hb_api_keys`: HiveBoard's API keys, stored hashed, each bound to a tenant.

One row per key and version, keyed by `KeyHash` (the SHA-256 of the key: the plaintext is never
stored). A ReplacingMergeTree keeps the row with the highest `Version`, so a change of a key
(its revocation) is a newer row with the same `KeyHash`; read the table with `FINAL` or
`argMax(..., Version)`. Keys are kept until deleted (no TTL): a revoked key stays listed.
`hiveboard.storage.keys.KeyStore` is the only writer and reader.
"""

from __future__ import annotations

from hiveboard.storage.schema.ddl import engine, on_cluster, qualified

KEYS_TABLE = "hb_api_keys"

_KEYS_COLUMNS = """\
    KeyHash String,
    KeyId String,
    TenantId LowCardinality(String),
    KeyType LowCardinality(String),
    Prefix String,
    Name String,
    CreatedAt DateTime64(6, 'UTC'),
    RevokedAt Nullable(DateTime64(6, 'UTC')),
    Version UInt64"""


def statements(database: str, cluster_name: str | None) -> list[str]:
    """The `hb_api_keys` table: one row per key (`KeyHash`), the latest `Version` wins."""
    return [
        "\n".join(
            [
                f"CREATE TABLE IF NOT EXISTS {qualified(database, KEYS_TABLE)}{on_cluster(cluster_name)} (",
                _KEYS_COLUMNS,
                f") ENGINE = {engine('ReplacingMergeTree', cluster_name, 'Version')}",
                "ORDER BY KeyHash",
                "COMMENT 'API keys: SHA-256 of each key, its tenant and type; the latest Version wins'",
            ]
        )
    ]
