"""otel-config.yaml: real otelcol-contrib components, complete pipelines, our table names."""

from __future__ import annotations

from hiveboard.storage.schema import SchemaConfig
from hiveboard.storage.schema.otel_tables import LOGS_TABLE, TRACES_TABLE
from tests.grafana.grafana_files import REPO, load_yaml

OTEL_CONFIG = REPO / "otel-config.yaml"
# Component types of the otelcol-contrib distribution (its manifest, and the `type` in each
# component's metadata.yaml) that a HiveBoard front collector may use.
CONTRIB_COMPONENTS = {
    "receivers": {"otlp", "hostmetrics", "filelog", "prometheus", "zipkin", "jaeger"},
    "processors": {"memory_limiter", "batch", "resource", "attributes", "filter", "transform",
                   "tail_sampling", "probabilistic_sampler", "k8sattributes", "resourcedetection"},
    "exporters": {"otlp", "otlphttp", "clickhouse", "debug", "file"},
    "extensions": {"health_check", "pprof", "zpages", "basicauth", "bearertokenauth"},
    "connectors": {"forward", "routing", "spanmetrics"},
}  # fmt: skip


def config() -> dict:
    return load_yaml(OTEL_CONFIG)


def test_every_component_is_an_otelcol_contrib_component() -> None:
    for kind, known in CONTRIB_COMPONENTS.items():
        for component_id in config().get(kind) or {}:
            assert component_id.split("/")[0] in known, f"{kind}: {component_id}"


def test_every_pipeline_references_defined_components_with_the_memory_limiter_first() -> None:
    loaded = config()
    pipelines = loaded["service"]["pipelines"]
    assert {"traces", "logs", "traces/clickhouse", "logs/clickhouse"} <= set(pipelines)
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] and pipeline["exporters"], name
        for kind in ("receivers", "processors", "exporters"):
            for component_id in pipeline.get(kind, []):
                assert component_id in loaded[kind], f"{name}: {component_id} is not defined"
        assert pipeline["processors"][0] == "memory_limiter" and "batch" in pipeline["processors"], name
    for extension in loaded["service"].get("extensions", []):
        assert extension in loaded["extensions"]


def test_receivers_of_the_two_paths_do_not_share_ports() -> None:
    endpoints = [
        protocol["endpoint"]
        for receiver in config()["receivers"].values()
        for protocol in receiver["protocols"].values()
    ]
    assert len(set(endpoints)) == len(endpoints)
    assert {"0.0.0.0:4317", "0.0.0.0:4318"} <= set(endpoints)


def test_the_hiveboard_path_sends_the_api_key_as_a_bearer_token() -> None:
    loaded = config()
    exporter_ids = {
        *loaded["service"]["pipelines"]["traces"]["exporters"],
        *loaded["service"]["pipelines"]["logs"]["exporters"],
    }
    (exporter_id,) = exporter_ids
    assert exporter_id.split("/")[0] == "otlphttp"
    assert loaded["exporters"][exporter_id]["headers"]["Authorization"] == "Bearer ${env:HIVEBOARD_API_KEY}"


def test_the_clickhouse_path_writes_our_tables_without_creating_a_schema() -> None:
    loaded = config()
    for pipeline in ("traces/clickhouse", "logs/clickhouse"):
        assert loaded["service"]["pipelines"][pipeline]["exporters"] == ["clickhouse"]
    exporter = loaded["exporters"]["clickhouse"]
    assert exporter["database"] == SchemaConfig().database
    assert (exporter["traces_table_name"], exporter["logs_table_name"]) == (TRACES_TABLE, LOGS_TABLE)
    assert exporter["create_schema"] is False
