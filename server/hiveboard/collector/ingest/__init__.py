"""The processing stage: authenticate the sender, stamp its tenant, turn spans and log records into
rows for ClickHouse (`ingestor.Ingestor`, `trace_rows`, `log_rows`)."""
