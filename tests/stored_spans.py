"""Put spans HiveLoop (or any OpenTelemetry SDK) produced into a migrated storage, as the collector does.

The spans go through the same OTLP encoding as the exporters' and the collector's `trace_rows`, so
the stored rows are those a real export would write.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from hiveboard_collector.schema.otel_tables import TRACES_TABLE
from hiveboard_collector.storage import Storage
from hiveboard_collector.trace_rows import trace_rows


def store_spans(
    storage: Storage, spans: Sequence[ReadableSpan], tenant_id: str = "default", key_type: str = "live"
) -> int:
    """Write `spans` to `otel_traces` (and so to the `hb_*` tables) for `tenant_id`; returns the row count."""
    rows = trace_rows(encode_spans(spans), tenant_id, key_type)
    assert rows.rejected == 0, rows.errors
    storage.insert(TRACES_TABLE, rows.columns, rows.rows)
    return len(rows.rows)
