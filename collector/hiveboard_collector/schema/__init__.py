"""HiveBoard's ClickHouse schema, generated in code and applied by versioned migrations.

`otel_tables`: the OpenTelemetry exporter's raw tables; `hiveboard_tables`: the `hb_*` tables and
the materialized views that feed them; `keys_table`: the hashed API keys; `prices_table`: the
models' token rates and the `hb_llm_costs` view of each LLM call's cost; `migrations`:
`migrate(storage, SchemaConfig(...))`.
"""

from hiveboard.storage.schema.migrations import MIGRATIONS, Migration, SchemaConfig, migrate

__all__ = ["MIGRATIONS", "Migration", "SchemaConfig", "migrate"]
