"""OTLP receivers: read a request (HTTP or gRPC), decode it, and answer what the ingest stage says."""
