"""The HiveBoard collector: OTLP receivers, then processing, then the ClickHouse writer.

It lands its storage (`hiveboard.storage`: one interface over embedded chDB or a
ClickHouse server) and its schema (`hiveboard.storage.schema`: the OpenTelemetry exporter's tables,
HiveBoard's `hb_*` tables and the versioned migrations that create them) first.
"""
