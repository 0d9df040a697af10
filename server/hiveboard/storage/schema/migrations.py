"""Versioned, idempotent migrations of HiveBoard's schema.

`migrate()` creates the database and the `hb_schema_migrations` table when needed, then applies in
version order each migration that table does not list, and records it once its statements have
run. Every statement is idempotent (`IF NOT EXISTS`), so a migration interrupted halfway, or run by
two processes at once, is safely applied again. A later schema change is a new `Migration` appended
to `MIGRATIONS`, never an edit of an applied one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hiveboard.storage import Storage
from hiveboard.storage.schema import (
    agent_reports_table,
    current_state,
    ended_sessions_table,
    hiveboard_tables,
    keys_table,
    otel_tables,
    prices_table,
    projects_table,
)
from hiveboard.storage.schema.ddl import engine, on_cluster, qualified, quote_identifier

MIGRATIONS_TABLE = "hb_schema_migrations"


@dataclass(frozen=True)
class SchemaConfig:
    """Where the schema goes and how many days each table keeps its rows (0 keeps them forever).

    `cluster_name` switches every statement to `ON CLUSTER` with Replicated engines.
    """

    database: str = "hiveboard"
    cluster_name: str | None = None
    raw_ttl_days: int = 30  # otel_traces, its trace-id lookup, otel_logs
    llm_calls_ttl_days: int = 30
    tasks_ttl_days: int = 30
    events_ttl_days: int = 30
    heartbeat_ttl_days: int = 7  # hb_agents, fed by heartbeats, and hb_agent_activity


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its `statements` for a given configuration."""

    version: int
    name: str
    statements: Callable[[SchemaConfig], list[str]]


def _otel_exporter_tables(config: SchemaConfig) -> list[str]:
    return otel_tables.statements(config.database, config.raw_ttl_days, config.cluster_name)


def _hiveboard_tables(config: SchemaConfig) -> list[str]:
    return hiveboard_tables.statements(
        config.database,
        config.cluster_name,
        llm_calls_ttl_days=config.llm_calls_ttl_days,
        tasks_ttl_days=config.tasks_ttl_days,
        events_ttl_days=config.events_ttl_days,
        agents_ttl_days=config.heartbeat_ttl_days,
    )


def _api_keys_table(config: SchemaConfig) -> list[str]:
    return keys_table.statements(config.database, config.cluster_name)


def _model_prices(config: SchemaConfig) -> list[str]:
    return prices_table.statements(config.database, config.cluster_name)


def _projects_table(config: SchemaConfig) -> list[str]:
    return projects_table.statements(config.database, config.cluster_name)


def _agent_reports_table(config: SchemaConfig) -> list[str]:
    return agent_reports_table.statements(config.database, config.cluster_name, config.events_ttl_days)


def _one_tasks_view(config: SchemaConfig) -> list[str]:
    return hiveboard_tables.one_tasks_view_statements(config.database, config.cluster_name)


def _events_attributes_lz4(config: SchemaConfig) -> list[str]:
    return hiveboard_tables.events_attributes_lz4_statements(config.database, config.cluster_name)


def _agent_activity_table(config: SchemaConfig) -> list[str]:
    return hiveboard_tables.agent_activity_statements(
        config.database, config.cluster_name, config.heartbeat_ttl_days
    )


def _current_state(config: SchemaConfig) -> list[str]:
    return [
        *current_state.tasks_projection_statements(config.database, config.cluster_name),
        *current_state.agent_tasks_statements(config.database, config.cluster_name, config.tasks_ttl_days),
        *current_state.pipeline_events_statements(
            config.database, config.cluster_name, config.events_ttl_days
        ),
    ]


def _small_tables_merge(config: SchemaConfig) -> list[str]:
    return current_state.small_tables_merge_statements(config.database, config.cluster_name)


def _tasks_by_agent(config: SchemaConfig) -> list[str]:
    return current_state.tasks_by_agent_projection_statements(config.database, config.cluster_name)


def _replace_costs_view(config: SchemaConfig) -> list[str]:
    return prices_table.replace_costs_view_statements(config.database, config.cluster_name)


def _insight_events(config: SchemaConfig) -> list[str]:
    return current_state.insight_events_statements(
        config.database, config.cluster_name, config.events_ttl_days
    )


def _issue_states(config: SchemaConfig) -> list[str]:
    return current_state.issue_states_statements(config.database, config.cluster_name, config.events_ttl_days)


def _events_by_severity(config: SchemaConfig) -> list[str]:
    return hiveboard_tables.events_by_severity_statements(config.database, config.cluster_name)


def _llm_models(config: SchemaConfig) -> list[str]:
    ttl_days = config.llm_calls_ttl_days
    return current_state.llm_models_statements(config.database, config.cluster_name, ttl_days)


def _ended_sessions_table(config: SchemaConfig) -> list[str]:
    return ended_sessions_table.statements(config.database, config.cluster_name)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "otel_exporter_tables", _otel_exporter_tables),
    # After the raw tables: the materialized views read otel_traces.
    Migration(2, "hiveboard_tables", _hiveboard_tables),
    Migration(3, "api_keys_table", _api_keys_table),
    # After hb_llm_calls: the hb_llm_costs view reads it.
    Migration(4, "model_prices", _model_prices),
    # Was created by the query API at startup, outside migrations (and without ON CLUSTER);
    # IF NOT EXISTS adopts a table created that way.
    Migration(5, "projects_table", _projects_table),
    # After hb_events: its materialized view reads hb_events.
    Migration(6, "agent_reports_table", _agent_reports_table),
    Migration(7, "one_tasks_view", _one_tasks_view),
    Migration(8, "events_attributes_lz4", _events_attributes_lz4),
    Migration(9, "agent_activity_table", _agent_activity_table),
    # After hb_tasks and hb_events: its views read them.
    Migration(10, "current_state", _current_state),
    Migration(11, "small_tables_merge", _small_tables_merge),
    Migration(12, "tasks_by_agent", _tasks_by_agent),
    # Migration 4 creates the view as it is now; 13, 16 and 18 replace the one made before them.
    Migration(13, "lookup_costs_view", _replace_costs_view),
    Migration(14, "insight_events", _insight_events),
    Migration(15, "ended_sessions_table", _ended_sessions_table),
    Migration(16, "typed_costs_view", _replace_costs_view),
    # After hb_pipeline_events (10), which feeds it.
    Migration(17, "issue_states", _issue_states),
    Migration(18, "eager_costs_view", _replace_costs_view),
    Migration(19, "events_by_severity", _events_by_severity),
    # After hb_llm_calls (2), which feeds it.
    Migration(20, "llm_models", _llm_models),
)


def bootstrap_statements(config: SchemaConfig) -> list[str]:
    """The database and the table that records applied migrations."""
    return [
        f"CREATE DATABASE IF NOT EXISTS {quote_identifier(config.database)}{on_cluster(config.cluster_name)}",
        "\n".join(
            [
                f"CREATE TABLE IF NOT EXISTS {qualified(config.database, MIGRATIONS_TABLE)}"
                f"{on_cluster(config.cluster_name)} (",
                "    version UInt32,",
                "    name String,",
                "    applied_at DateTime DEFAULT now()",
                f") ENGINE = {engine('MergeTree', config.cluster_name)}",
                "ORDER BY version",
                "COMMENT 'Schema migrations applied by hiveboard.storage.schema.migrate'",
            ]
        ),
    ]


def applied_versions(storage: Storage, config: SchemaConfig) -> set[int]:
    """Versions recorded in `hb_schema_migrations` (which must exist)."""
    result = storage.query(f"SELECT DISTINCT version FROM {qualified(config.database, MIGRATIONS_TABLE)}")
    return {row[0] for row in result.rows}


def migrate(
    storage: Storage, config: SchemaConfig, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the pending `migrations` in version order; returns the names of those applied.

    `config.database` is normally `storage.database`: every statement but the first runs in the
    storage's database, so another database can be migrated only once the storage's one exists.
    """
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"migration versions must be unique, got {sorted(versions)}")
    for statement in bootstrap_statements(config):
        storage.command(statement)
    applied = applied_versions(storage, config)
    newly_applied: list[str] = []
    for migration in sorted(migrations, key=lambda migration: migration.version):
        if migration.version in applied:
            continue
        for statement in migration.statements(config):
            storage.command(statement)
        record = [migration.version, migration.name]
        storage.insert(qualified(config.database, MIGRATIONS_TABLE), ["version", "name"], [record])
        newly_applied.append(migration.name)
    return newly_applied
