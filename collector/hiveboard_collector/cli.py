"""The collector's commands of the `hiveboard` CLI: `collector` and `keys`, and the storage options
every server command shares (`--data-dir` for embedded chDB, or `--clickhouse-url`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from hiveboard.collector.receivers.otlp_http import DEFAULT_MAX_BODY_BYTES
from hiveboard.collector.service import Collector, CollectorConfig, Listener, Listening, serve
from hiveboard.storage import ChDBStorage, ClickHouseServerStorage, Storage
from hiveboard.storage.chdb_storage import limit_malloc_arenas, shorten_jemalloc_decay
from hiveboard.storage.keys import DEFAULT_TENANT, KeyLookupError, KeyStore, KeyType
from hiveboard.storage.schema import SchemaConfig, migrate
from hiveboard_collector.http_protocol import DEFAULT_CLIENT_TIMEOUT_S

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
