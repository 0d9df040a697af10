"""`hiveboard`: the server's command line.

hiveboard serve                      # everything in one process on embedded chDB
hiveboard collector | api            # the cluster shape's stateless processes
hiveboard keys create|list|revoke    # API keys
hiveboard demo                       # a simulated fleet of agents, sent to a running server

Every server command takes the same storage options: `--data-dir` for embedded chDB (the default),
or `--clickhouse-url` for a ClickHouse server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import fastapi
import uvicorn

from hiveboard.api.app import create_app
from hiveboard.api.dashboard.mount import sign_in_link
from hiveboard.api.dashboard.sessions import session_secret
from hiveboard.api.dashboard.state import DashboardConfig
from hiveboard.collector.receivers.otlp_http import DEFAULT_MAX_BODY_BYTES
from hiveboard.collector.service import Collector, CollectorConfig
from hiveboard.http_protocol import DEFAULT_CLIENT_TIMEOUT_S, DeadlineH11Protocol
from hiveboard.serving import Listener, Listening, serve
from hiveboard.storage import ChDBStorage, ClickHouseServerStorage, Storage, StorageError
from hiveboard.storage.chdb_storage import limit_malloc_arenas, shorten_jemalloc_decay
from hiveboard.storage.keys import (
    DEFAULT_TENANT,
    DEV_KEY_ENV,
    AuthenticationError,
    KeyLookupError,
    KeyStore,
    KeyType,
)
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveloop import __version__ as VERSION

# Where `hiveboard serve` keeps the key it created on first start (keys are stored hashed, so the
# plaintext shown at every start must live somewhere: next to the data, readable by its owner only).
KEY_FILE_NAME = "api-key"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.run(args)
    except (StorageError, OSError, ValueError) as error:
        print(f"hiveboard {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hiveboard", description="HiveBoard: observability for AI agents.")
    parser.add_argument("--version", action="version", version=f"hiveboard {VERSION}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_command = commands.add_parser(
        "serve",
        help="run HiveBoard in one process: OTLP receivers and the query API on embedded chDB",
        description="Receive OTLP on gRPC (--grpc-port) and HTTP (--otlp-http-port, and /v1/traces, "
        "/v1/logs on the API's --port) and serve the query API, storing everything in --data-dir.",
    )
    add_storage_options(serve_command)
    _add_host(serve_command)
    serve_command.add_argument(
        "--port", type=int, default=8000, help="query API and OTLP/HTTP port (default 8000)"
    )
    serve_command.add_argument("--grpc-port", type=int, default=4317, help="OTLP/gRPC port (default 4317)")
    serve_command.add_argument(
        "--otlp-http-port", type=int, default=4318, help="OTLP/HTTP port (default 4318)"
    )
    add_limit_options(serve_command)
    _add_grafana_url(serve_command)
    serve_command.set_defaults(run=run_serve)

    api_command = commands.add_parser(
        "api",
        help="run the query API alone (cluster shape: against a ClickHouse server)",
        description="Serve the query API over ClickHouse; run `hiveboard collector` processes for ingestion.",
    )
    add_storage_options(api_command)
    _add_host(api_command)
    api_command.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_client_timeout_option(api_command)
    _add_grafana_url(api_command)
    api_command.set_defaults(run=run_api)

    add_commands(commands)

    demo_command = commands.add_parser(
        "demo",
        help="simulate a fleet of agents with HiveLoop, sending to a running HiveBoard",
        description="Run several simulated agents through every HiveLoop feature (plans, retries, "
        "escalations, approvals, issues, queues, todos, LLM calls...), one of which gets stuck.",
    )
    demo_command.add_argument("--endpoint", default="http://localhost:8000", help="HiveBoard's URL")
    demo_command.add_argument(
        "--key", default=os.environ.get(DEV_KEY_ENV), help=f"API key (default ${DEV_KEY_ENV})"
    )
    demo_command.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    demo_command.add_argument("--agents", type=int, default=4, help="number of agents (default 4)")
    demo_command.add_argument("--speed", type=float, default=1.0, help="time acceleration (default 1)")
    demo_command.add_argument("--seed", type=int, help="random seed, to replay a run")
    demo_command.set_defaults(run=run_demo)
    return parser


def _add_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)"
    )


def _add_grafana_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grafana-url",
        help="Grafana's base URL (with HiveBoard's dashboards provisioned): the dashboard links each "
        "task to its trace view there",
    )


def _dashboard_config(args: argparse.Namespace) -> DashboardConfig:
    """Sessions signed with $HIVEBOARD_SESSION_SECRET, else a secret kept beside the embedded data."""
    data_dir = None if args.clickhouse_url else Path(args.data_dir)
    return DashboardConfig(session_secret=session_secret(data_dir), grafana_url=args.grafana_url)


def run_serve(args: argparse.Namespace) -> int:
    storage = open_storage(args)
    try:
        key_store = KeyStore(storage)
        key, key_origin = _serve_key(args, key_store)
        collector = Collector(storage, key_store, collector_config(args))
        api = create_app(
            storage, key_store, routers=[collector.http_router()], dashboard=_dashboard_config(args)
        )
        listeners = [
            Listener(api, args.host, args.port),
            Listener(collector.http_app(), args.host, args.otlp_http_port),
        ]

        def ready(listening: Listening) -> None:
            (api_host, api_port), (otlp_host, otlp_port) = listening.http
            base_url = f"http://{api_host}:{api_port}"
            print(
                f"HiveBoard is running ({describe_storage(args)})\n"
                f"  Dashboard       {_dashboard_line(api, base_url, key_store, key)}\n"
                f"  query API       {base_url}  (docs: {base_url}/docs)\n"
                f"  OTLP/HTTP       http://{api_host}:{api_port}/v1/traces and http://{otlp_host}:{otlp_port}\n"
                f"  OTLP/gRPC       {args.host}:{listening.grpc_port}\n"
                f"  API key         {key}  ({key_origin})\n\n"
                f'  hiveloop.init(api_key="{key}", endpoint="http://{api_host}:{api_port}")',
                flush=True,
            )

        asyncio.run(serve(collector, listeners, f"{args.host}:{args.grpc_port}", on_ready=ready))
    finally:
        storage.close()
    return 0


def _dashboard_line(api: fastapi.FastAPI, base_url: str, key_store: KeyStore, key: str) -> str:
    """A one-time sign-in link for the key `serve` printed; the sign-in page when it printed none."""
    try:
        principal = key_store.authenticate(key)
    except AuthenticationError:
        return f"{base_url}/signin  (sign in with an API key)"
    return sign_in_link(api, base_url, principal.key_id)


def _serve_key(args: argparse.Namespace, key_store: KeyStore) -> tuple[str, str]:
    """The key `serve` tells the user to use: the dev key when set, else the one it created on an
    earlier start (kept in the data directory), else a new live key of the default tenant."""
    if key_store.dev_key_enabled:
        return os.environ[DEV_KEY_ENV], f"from ${DEV_KEY_ENV}"
    if args.clickhouse_url:
        return "(create one with `hiveboard keys create`)", "none is kept for a ClickHouse server"
    key_file = Path(args.data_dir) / KEY_FILE_NAME
    if key_file.exists():
        kept = key_file.read_text().strip()
        try:
            key_store.authenticate(kept)
        except AuthenticationError:
            pass  # revoked since: make a new one
        else:
            return kept, f"kept in {key_file}"
    plaintext, _ = key_store.create("live", name="created by hiveboard serve")
    key_file.touch(mode=0o600)
    key_file.write_text(plaintext + "\n")
    return plaintext, f"created now, kept in {key_file}"


def run_api(args: argparse.Namespace) -> int:
    storage: Storage = open_storage(args)
    try:
        app = create_app(storage, KeyStore(storage), dashboard=_dashboard_config(args))
        print(
            f"HiveBoard API on http://{args.host}:{args.port} ({describe_storage(args)}); "
            f"dashboard: http://{args.host}:{args.port}/signin",
            flush=True,
        )
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            http=DeadlineH11Protocol.with_timeout(args.client_timeout),
        )
    finally:
        storage.close()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from hiveboard.demo import run_demo as simulate  # the SDK and the simulator, only when asked

    if not args.key:
        print(
            f"hiveboard demo: no API key: pass --key (the key `hiveboard serve` printed) or {DEV_KEY_ENV}",
            file=sys.stderr,
        )
        return 2
    logging.getLogger("hiveboard.demo").setLevel(logging.INFO)
    print(f"HiveBoard demo: {args.agents} agents sending to {args.endpoint} (Ctrl-C to stop)", flush=True)
    summary = simulate(
        args.endpoint,
        args.key,
        duration_s=args.duration,
        agents=args.agents,
        speed=args.speed,
        seed=args.seed,
    )
    print(
        f"done in {summary.elapsed_s:.0f} s: {summary.tasks_completed} tasks completed, "
        f"{summary.tasks_failed} failed, {summary.llm_calls} LLM calls (replay with --seed {summary.seed})"
    )
    return 0 if summary.flushed else 1


DEFAULT_DATA_DIR = "hiveboard-data"
DEFAULT_DATABASE = "hiveboard"


def add_storage_options(parser: argparse.ArgumentParser) -> None:
    """`--data-dir` (embedded chDB, the default) or `--clickhouse-url`, and `--database`."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir",
        type=Path,
        default=Path(DEFAULT_DATA_DIR),
        help=f"embedded storage: chDB's files go in DATA_DIR/clickhouse (default ./{DEFAULT_DATA_DIR})",
    )
    where.add_argument(
        "--clickhouse-url",
        help="a ClickHouse server instead of embedded chDB, e.g. http://user:password@clickhouse:8123",
    )
    parser.add_argument(
        "--database", default=DEFAULT_DATABASE, help="the ClickHouse database (default hiveboard)"
    )


def open_storage(args: argparse.Namespace) -> Storage:
    """The storage the options name, migrated to the current schema."""
    if args.clickhouse_url:
        storage: Storage = ClickHouseServerStorage(args.clickhouse_url, database=args.database)
    else:
        limit_malloc_arenas()  # this process hosts chDB
        shorten_jemalloc_decay()
        storage = ChDBStorage(args.data_dir, database=args.database)
    try:
        migrate(storage, SchemaConfig(database=args.database))
    except BaseException:
        storage.close()
        raise
    return storage


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register `collector` and `keys` on the `hiveboard` parser's subcommands."""
    collector = commands.add_parser(
        "collector",
        help="run the OTLP collector alone (gRPC and HTTP), writing to ClickHouse",
        description="Receive OTLP traces and logs (gRPC on --grpc-port, HTTP on --http-port) and write them "
        "to ClickHouse. For a single machine, `hiveboard serve` runs this and the query API together.",
    )
    add_storage_options(collector)
    collector.add_argument("--host", default="0.0.0.0", help="interface to listen on (default all)")
    collector.add_argument("--grpc-port", type=int, default=4317, help="OTLP/gRPC port (default 4317)")
    collector.add_argument("--http-port", type=int, default=4318, help="OTLP/HTTP port (default 4318)")
    add_limit_options(collector)
    collector.set_defaults(run=run_collector)

    keys = commands.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="Manage API keys. Embedded storage belongs to one process: stop `hiveboard serve` "
        "first, or use the API's /v1/api-keys while it runs.",
    )
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="{create,list,revoke}")
    create = key_commands.add_parser("create", help="create a key and print it (it is shown only once)")
    create.add_argument("--type", dest="key_type", choices=[kind.value for kind in KeyType], default="live")
    create.add_argument(
        "--tenant", default=DEFAULT_TENANT, help=f"the key's tenant (default {DEFAULT_TENANT})"
    )
    create.add_argument("--name", default="", help="a label to recognise the key by")
    create.set_defaults(run=run_keys_create)
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.set_defaults(run=run_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("key", help="the key id (key_...) or the key's prefix as `keys list` shows it")
    revoke.add_argument("--tenant", help="only match keys of this tenant")
    revoke.set_defaults(run=run_keys_revoke)
    for command in (create, listing, revoke):
        add_storage_options(command)


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest OTLP request accepted (default {DEFAULT_MAX_BODY_BYTES})",
    )
    add_client_timeout_option(parser)


def add_client_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--client-timeout",
        type=_positive_seconds,
        default=DEFAULT_CLIENT_TIMEOUT_S,
        metavar="SECONDS",
        help="close a connection whose client takes longer than this to send a request's headers, "
        "pauses this long within a body, or (gRPC) stays idle this long "
        f"(default {DEFAULT_CLIENT_TIMEOUT_S:g})",
    )


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return seconds


def collector_config(args: argparse.Namespace) -> CollectorConfig:
    """The collector's limits as the options of `add_limit_options` set them."""
    return CollectorConfig(max_body_bytes=args.max_body_bytes, client_timeout_s=args.client_timeout)


def run_collector(args: argparse.Namespace) -> int:
    storage = open_storage(args)
    collector = Collector(storage, KeyStore(storage), collector_config(args))

    def ready(listening: Listening) -> None:
        http_host, http_port = listening.http[0]
        print(
            f"HiveBoard collector: OTLP/gRPC on {args.host}:{listening.grpc_port}, OTLP/HTTP on http://{http_host}:{http_port}"
        )
        print(f"storage: {describe_storage(args)}", flush=True)

    try:
        listener = Listener(collector.http_app(), args.host, args.http_port)
        asyncio.run(serve(collector, [listener], f"{args.host}:{args.grpc_port}", on_ready=ready))
    finally:
        storage.close()
    return 0


def describe_storage(args: argparse.Namespace) -> str:
    if args.clickhouse_url:
        return f"ClickHouse server, database {args.database}"
    return f"embedded chDB in {args.data_dir.resolve()}/, database {args.database}"


def run_keys_create(args: argparse.Namespace) -> int:
    with open_storage(args) as storage:
        plaintext, key = KeyStore(storage).create(args.key_type, tenant_id=args.tenant, name=args.name)
    print(plaintext)
    print(
        f"{key.key_type.value} key {key.key_id} of tenant {key.tenant_id}: keep it, it is not shown again",
        file=sys.stderr,
    )
    return 0


def run_keys_list(args: argparse.Namespace) -> int:
    with open_storage(args) as storage:
        keys = KeyStore(storage).list(args.tenant)
    print(f"{'KEY ID':<22} {'TYPE':<5} {'TENANT':<20} {'PREFIX':<14} {'CREATED':<20} {'REVOKED':<20} NAME")
    for key in keys:
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if key.revoked_at else ""
        print(
            f"{key.key_id:<22} {key.key_type.value:<5} {key.tenant_id:<20} {key.prefix + '...':<14} "
            f"{key.created_at:%Y-%m-%d %H:%M:%S}  {revoked:<20} {key.name}"
        )
    return 0


def run_keys_revoke(args: argparse.Namespace) -> int:
    with open_storage(args) as storage:
        try:
            key = KeyStore(storage).revoke(args.key, tenant_id=args.tenant)
        except KeyLookupError as error:
            print(f"hiveboard keys revoke: {error}", file=sys.stderr)
            return 1
    print(f"revoked {key.key_id} ({key.prefix}...) of tenant {key.tenant_id}")
    return 0


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


if __name__ == "__main__":
    sys.exit(main())
