"""deploy/: the compose file mounts files that exist, and its settings match what they expect."""

from __future__ import annotations

import re
from pathlib import Path

from hiveboard.cli import build_parser
from tests.grafana.grafana_files import DASHBOARD_PROVIDERS_FILE, DATASOURCES_FILE, PLUGIN_ID, REPO, load_yaml

DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yaml"
GRAFANA_ENV = re.compile(r"\$\{([A-Z_]+)\}")
OTEL_ENV = re.compile(r"\$\{env:([A-Z_]+)(?::-[^}]*)?\}")


def services() -> dict:
    return load_yaml(COMPOSE_FILE)["services"]


def mounts(service: str) -> dict[str, Path]:
    """Container path -> repository path of the service's bind mounts."""
    result = {}
    for volume in services()[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            result[target] = (DEPLOY / source).resolve()
    return result


def test_every_mounted_and_built_file_exists() -> None:
    for name, service in services().items():
        for source in mounts(name).values():
            assert source.exists(), f"{name}: {source}"
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
    assert {"clickhouse", "hiveboard-collector", "hiveboard-api", "otel-collector", "grafana"} <= set(
        services()
    )


def test_grafana_gets_the_plugin_the_provisioning_and_the_dashboards_where_the_provider_looks() -> None:
    grafana = services()["grafana"]
    assert PLUGIN_ID in grafana["environment"]["GF_INSTALL_PLUGINS"].split(",")
    mounted = mounts("grafana")
    assert mounted["/etc/grafana/provisioning/datasources"] == DATASOURCES_FILE.parent
    assert mounted["/etc/grafana/provisioning/dashboards"] == DASHBOARD_PROVIDERS_FILE.parent
    (provider,) = load_yaml(DASHBOARD_PROVIDERS_FILE)["providers"]
    assert mounted[provider["options"]["path"]] == REPO / "grafana" / "dashboards"
    used = set(GRAFANA_ENV.findall(DATASOURCES_FILE.read_text()))
    assert used and used <= set(grafana["environment"]), used - set(grafana["environment"])


def test_the_upstream_collector_runs_otel_config_with_its_variables_and_reaches_our_collector() -> None:
    collector = services()["otel-collector"]
    (config_path,) = [
        target for target, source in mounts("otel-collector").items() if source == REPO / "otel-config.yaml"
    ]
    assert collector["command"] == ["--config", config_path]
    config_text = (REPO / "otel-config.yaml").read_text()
    required = {name for name in OTEL_ENV.findall(config_text)}
    assert required <= set(collector["environment"]), required - set(collector["environment"])
    endpoint = collector["environment"]["HIVEBOARD_COLLECTOR_ENDPOINT"]
    host, port = re.match(r"http://([\w-]+):(\d+)$", endpoint).groups()
    assert host in services() and port == "4318"  # the HiveBoard collector's OTLP/HTTP port
    published = {mapping.split(":")[0] for mapping in collector["ports"]}
    listening = {protocol["endpoint"].split(":")[1] for receiver in load_yaml(REPO / "otel-config.yaml")["receivers"].values()
                 for protocol in receiver["protocols"].values()}  # fmt: skip
    assert published == listening


def test_the_readme_names_every_service_and_mounted_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    for name in services():
        assert f"`{name}`" in readme, name
    for service in services():
        for source in mounts(service).values():
            assert source.relative_to(REPO).as_posix() in readme, source


def test_the_hiveboard_services_run_real_commands_listening_beyond_the_container() -> None:
    parser = build_parser()
    for name in ("hiveboard-collector", "hiveboard-api"):
        args = parser.parse_args(services()[name]["command"])  # exits (fails the test) on an unknown flag
        assert args.clickhouse_url.startswith("http://"), name
        assert args.host == "0.0.0.0", f"{name} must listen on every interface of its container"
