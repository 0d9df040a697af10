"""The HiveBoard collector, an OTLP pipeline in the OpenTelemetry Collector's shape:

* `receivers/`: OTLP/HTTP (protobuf and JSON, gzip) and OTLP/gRPC, with their decoding;
* `ingest/`: authentication, tenant stamping and the rows of spans and log records;
* `writer/`: the batch writer, which groups many requests into few ClickHouse inserts;
* `refusals`: why an export is refused, mapped once to HTTP and once to gRPC;
* `service`: the pipeline assembled on a `hiveboard.storage.Storage`.
"""
