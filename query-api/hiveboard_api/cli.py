"""`hiveboard`: the server's command line.

hiveboard serve                      # everything in one process on embedded chDB
hiveboard collector | api            # the cluster shape's stateless processes
hiveboard keys create|list|revoke    # API keys
hiveboard demo                       # a simulated fleet of agents, sent to a running server
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

import uvicorn
from hiveboard_collector.http_protocol import DeadlineH11Protocol

from hiveboard import collector_cli
from hiveboard.api.app import create_app
from hiveboard.collector.service import Collector, Listener, Listening, serve
from hiveboard.storage import Storage, StorageError
from hiveboard.storage.keys import DEV_KEY_ENV, AuthenticationError, KeyStore
from hiveloop import __version__ as VERSION

# Where `hiveboard serve` keeps the key it created on first start (keys are stored hashed, so the
# plaintext shown at every start must live somewhere: next to the data, readable by its owner only).
KEY_FILE_NAME = "api-key"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    collector_cli.configure_logging(args.verbose)
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
    collector_cli.add_storage_options(serve_command)
    _add_host(serve_command)
    serve_command.add_argument(
        "--port", type=int, default=8000, help="query API and OTLP/HTTP port (default 8000)"
    )
    serve_command.add_argument("--grpc-port", type=int, default=4317, help="OTLP/gRPC port (default 4317)")
    serve_command.add_argument(
        "--otlp-http-port", type=int, default=4318, help="OTLP/HTTP port (default 4318)"
    )
    collector_cli.add_limit_options(serve_command)
    serve_command.set_defaults(run=run_serve)

    api_command = commands.add_parser(
        "api",
        help="run the query API alone (cluster shape: against a ClickHouse server)",
        description="Serve the query API over ClickHouse; run `hiveboard collector` processes for ingestion.",
    )
    collector_cli.add_storage_options(api_command)
    _add_host(api_command)
    api_command.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    collector_cli.add_client_timeout_option(api_command)
    api_command.set_defaults(run=run_api)

    collector_cli.add_commands(commands)

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


def run_serve(args: argparse.Namespace) -> int:
    storage = collector_cli.open_storage(args)
    try:
        key_store = KeyStore(storage)
        key, key_origin = _serve_key(args, key_store)
        collector = Collector(storage, key_store, collector_cli.collector_config(args))
        api = create_app(storage, key_store, routers=[collector.http_router()])
        listeners = [
            Listener(api, args.host, args.port),
            Listener(collector.http_app(), args.host, args.otlp_http_port),
        ]

        def ready(listening: Listening) -> None:
            (api_host, api_port), (otlp_host, otlp_port) = listening.http
            print(
                f"HiveBoard is running ({collector_cli.describe_storage(args)})\n"
                f"  query API       http://{api_host}:{api_port}  (docs: http://{api_host}:{api_port}/docs)\n"
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
    storage: Storage = collector_cli.open_storage(args)
    try:
        app = create_app(storage, KeyStore(storage))
        print(
            f"HiveBoard API on http://{args.host}:{args.port} ({collector_cli.describe_storage(args)})",
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


if __name__ == "__main__":
    sys.exit(main())
