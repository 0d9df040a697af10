"""The tree's layers, read from the imports of every module: the SDK knows nothing of the server;
storage knows neither the collector nor the API; the collector and the API are siblings that only
the command line (`hiveboard.cli`, `hiveboard.serving`) composes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = {"hiveloop": ROOT / "sdk", "hiveboard_semconv": ROOT / "sdk", "hiveboard": ROOT / "server"}


def module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the three packages and the absolute modules it imports."""
    graph: dict[str, set[str]] = {}
    for package, base in PACKAGE_DIRS.items():
        for path in (base / package).rglob("*.py"):
            imported: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module)
            graph[module_name(path, base)] = imported
    return graph


def arrows(graph: dict[str, set[str]], source: str, target: str) -> list[tuple[str, str]]:
    """The imports of modules under `source` that reach into `target`."""
    return sorted(
        (module, name)
        for module, imported in graph.items()
        if module == source or module.startswith(source + ".")
        for name in imported
        if name == target or name.startswith(target + ".")
    )


def test_the_graph_covers_every_layer() -> None:
    graph = import_graph()
    for module in (
        "hiveloop",
        "hiveboard.api.app",
        "hiveboard.collector.service",
        "hiveboard.storage",
        "hiveboard.cli",
    ):
        assert module in graph


def test_the_sdk_imports_nothing_of_the_server_or_the_registry_tools() -> None:
    graph = import_graph()
    for sdk in ("hiveloop", "hiveboard_semconv"):
        for server in ("hiveboard", "semconv", "yaml"):
            assert arrows(graph, sdk, server) == []


def test_the_api_and_the_collector_do_not_import_each_other() -> None:
    graph = import_graph()
    assert arrows(graph, "hiveboard.api", "hiveboard.collector") == []
    assert arrows(graph, "hiveboard.collector", "hiveboard.api") == []


def test_storage_is_below_the_collector_and_the_api() -> None:
    graph = import_graph()
    for above in (
        "hiveboard.collector",
        "hiveboard.api",
        "hiveboard.cli",
        "hiveboard.serving",
        "hiveboard.demo",
    ):
        assert arrows(graph, "hiveboard.storage", above) == []


def test_the_demo_is_a_client_of_the_sdk_only() -> None:
    graph = import_graph()
    server_imports = [
        arrow for arrow in arrows(graph, "hiveboard.demo", "hiveboard") if arrow[1] != "hiveboard.demo"
    ]
    assert server_imports == []
