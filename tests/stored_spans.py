"""Put spans HiveLoop (or any OpenTelemetry SDK) produced into a migrated storage through the real
pipeline: the OTel SDK's OTLP/HTTP exporter sends them to a real collector on that storage.

For tests of what reads the tables (the query API, the Grafana panels), so their data arrives
exactly as in production: encoded by the exporter, authenticated with a key of the tenant, stamped,
batched and written by the collector, which answers only once the rows are stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from hiveboard.storage import ChDBStorage, Storage
from hiveboard.storage.keys import KeyStore
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveboard.storage.schema.migrations import MIGRATIONS
from tests.running_collector import running_collector


def store_spans(
    storage: Storage, spans: Sequence[ReadableSpan], tenant_id: str = "default", key_type: str = "live"
) -> int:
    """Export `spans` with a new `key_type` key of `tenant_id` to a collector on `storage`; returns
    how many were sent. The rows are in storage when this returns."""
    plaintext, _ = KeyStore(storage, dev_key=None).create(key_type, tenant_id=tenant_id)
    with running_collector(storage) as running:
        exporter = OTLPSpanExporter(
            endpoint=f"{running.http_url}/v1/traces", headers={"Authorization": f"Bearer {plaintext}"}
        )
        try:
            result = exporter.export(list(spans))
        finally:
            exporter.shutdown()
    assert result is SpanExportResult.SUCCESS, f"the collector did not acknowledge {len(spans)} spans"
    return len(spans)


@contextmanager
def stored_across_migration(
    directory: Path,
    version: int,
    before: Sequence[ReadableSpan],
    after: Sequence[Sequence[ReadableSpan]],
    tenant_id: str,
) -> Iterator[tuple[ChDBStorage, list[str]]]:
    """A chDB storage in `directory` migrated to just before migration `version`, with `before`
    stored; then migrated to the end (the names of the migrations this applied) and each batch of
    `after` stored, in an insert of its own: rows written before a migration and rows written after."""
    with ChDBStorage(directory) as storage:
        config = SchemaConfig()
        migrate(storage, config, [migration for migration in MIGRATIONS if migration.version < version])
        store_spans(storage, before, tenant_id, "live")
        applied = migrate(storage, config)
        for batch in after:
            store_spans(storage, batch, tenant_id, "live")
        yield storage, applied
