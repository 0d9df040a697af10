"""The exporter stage: `batch_writer.BatchWriter` groups the rows of many requests into few
ClickHouse inserts, with back-pressure; `row_encoding` serializes rows built in Python."""
