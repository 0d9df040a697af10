"""Pieces of DDL shared by every table: identifiers, `ON CLUSTER`, engines and TTL clauses.

Cluster mode follows the OpenTelemetry exporter's `cluster_name` + `table_engine` options: every
statement carries `ON CLUSTER`, and each MergeTree-family engine becomes its `Replicated` variant
with default arguments, i.e. the server's `default_replica_path` / `default_replica_name`.
"""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """`name` in backticks, as the exporter quotes database and table names."""
    escaped = name.replace("\\", "\\\\").replace("`", "\\`")
    return f"`{escaped}`"


def qualified(database: str, table: str) -> str:
    """`` `database`.`table` ``."""
    return f"{quote_identifier(database)}.{quote_identifier(table)}"


def on_cluster(cluster_name: str | None) -> str:
    """` ON CLUSTER `name`` (with its leading space), or nothing outside cluster mode."""
    return f" ON CLUSTER {quote_identifier(cluster_name)}" if cluster_name else ""


def engine(family: str, cluster_name: str | None, *arguments: str) -> str:
    """A MergeTree-family engine: `MergeTree()`, `ReplacingMergeTree(Version)`, or in cluster mode
    `ReplicatedMergeTree()`, `ReplicatedReplacingMergeTree(Version)`.

    Replicated engines take no ZooKeeper path or replica name: ClickHouse fills in its defaults
    when the first argument is not a string literal, so `Version` can follow directly.
    """
    prefix = "Replicated" if cluster_name else ""
    return f"{prefix}{family}({', '.join(arguments)})"


def ttl(time_expression: str, days: int) -> str:
    """`TTL <time> + toIntervalDay(days)`, as the exporter writes it, or nothing when `days` is 0."""
    if days < 0:
        raise ValueError(f"TTL days must be 0 (keep forever) or more, not {days}")
    return f"TTL {time_expression} + toIntervalDay({days})" if days else ""


def projection(database: str, table: str, cluster_name: str | None, name: str, select: str) -> list[str]:
    """A projection `name` of `table` (`select`: its columns and `ORDER BY`), built for the rows
    already there too: merges build it for new parts, the mutation for the parts there before."""
    target = f"{qualified(database, table)}{on_cluster(cluster_name)}"
    return [
        f"ALTER TABLE {target} ADD PROJECTION IF NOT EXISTS {name} ({select})",
        f"ALTER TABLE {target} MATERIALIZE PROJECTION {name} SETTINGS mutations_sync = 2",
    ]
