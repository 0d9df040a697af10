"""Embedded storage: chDB, the ClickHouse engine in-process, with its data in a local directory.

chDB hosts one engine per process, and a data directory belongs to one process. An exclusive lock
on the directory makes a second HiveBoard process (or a second open in this one) fail at once with
a message that says what to do, before chDB is touched.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.binding import format_str
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from hiveboard.storage.base import (
    ClientStorage,
    EncodedRows,
    ProtobufSchema,
    StorageError,
    client_options,
)

LOCK_FILE_NAME = "hiveboard.lock"
# chDB's own files live in a subdirectory, so the data directory can hold HiveBoard's files too.
ENGINE_DIR_NAME = "clickhouse"
# Rows on their way into chDB (see `insert_encoded`).
SPOOL_DIR_NAME = "spool"
# The `.proto` files `Protobuf` rows are read with. (chDB would write a schema sent as text into the
# process's working directory.)
SCHEMA_DIR_NAME = "format_schemas"
# The engine's configuration, written at each open (so it is the running version's).
CONFIG_FILE_NAME = "chdb-config.xml"
# Merges re-write every row several times (about log_base(part size / insert size) times), and on a
# small machine they take as much CPU as the inserts. MergeTree's merge selector waits for about
# `merge_selector_base` parts of a size before merging them: 20 instead of 5 rewrites each row
# about half as often (bench/ingest.py at 32 senders on 2 cores: 37k -> 45-51k spans/s, and about
# 20% less RSS), for more parts per partition (tens, far from the hundreds that slow inserts down).
# Merges keep the priority of the inserts: at a lower one (nice 10) a load that kept the CPU busy
# left them nothing, and in bench/soak.py at 30,000 spans/s the parts of a table grew from 41 to 395
# in 5 minutes while every insert and read slowed down with them (spans/s 24k -> 16k, CPU per span
# 78 -> 120 us, RSS past 1 GiB).
# A part is written `Wide` (a file per column, each with its own write buffers) from 10 MiB of data
# on, else `Compact` (one file). A full batch of spans (16,384, about 12 MB in `otel_traces`) crossed
# that line, and its INSERT took 198 MiB instead of 91 (78 at 12,288 spans), for the same CPU. Parts
# are `Wide` only from `min_rows_for_wide_part` rows on too, where merges of the wide tables (11
# columns or more) go column by column (the vertical algorithm): neither an insert nor a merge of
# them then writes every column at once.
# A merge took about 7 MiB per part it read, measured on otel_traces and hb_events: when merges
# fell behind (bench/soak.py, parts 78-88 with views competing for the CPU), the selector combined
# up to 100 parts at once, several tables at the same time, and RSS rose by 400 MiB (40 parts of
# each table: 281 MiB to merge otel_traces' and 237 hb_events'). `max_parts_to_merge_at_once`
# holds a merge to the 20 parts the selector waits for (162 and 135 MiB).
ENGINE_CONFIG = """\
<clickhouse>
    <merge_tree>
        <merge_selector_base>20</merge_selector_base>
        <min_rows_for_wide_part>131072</min_rows_for_wide_part>
        <max_parts_to_merge_at_once>20</max_parts_to_merge_at_once>
    </merge_tree>
</clickhouse>
"""


class ChDBStorage(ClientStorage):
    """Storage in embedded chDB; `data_dir` is created when missing and locked while open.

    clickhouse-connect runs the calls of one chDB client one at a time, while chDB runs those of
    separate connections in parallel: so that an insert, the pricing job and the query API's reads
    do not wait for each other, each concurrent call gets a client of its own, kept for later calls.
    """

    def __init__(self, data_dir: Path | str, database: str = "hiveboard") -> None:
        self.data_dir = Path(data_dir)
        self._lock = DirectoryLock(self.data_dir)
        self._engine_dir = self.data_dir / ENGINE_DIR_NAME
        self._config_file = self.data_dir / CONFIG_FILE_NAME
        try:
            self._config_file.write_text(ENGINE_CONFIG)
        except OSError as error:
            self._lock.release()
            raise StorageError(
                f"cannot write {self._config_file}: {error}; pass a writable --data-dir"
            ) from error
        try:
            client = self._connect()
        except BaseException:
            self._lock.release()
            raise
        super().__init__(client, database, target=f"chDB in {self._engine_dir}")
        self._clients = [client]  # every client opened, to close them all
        self._idle_clients = [client]
        self._clients_lock = threading.Lock()
        self._spool_dir = self.data_dir / SPOOL_DIR_NAME
        self._spool_dir.mkdir(exist_ok=True)
        self._schema_dir = self.data_dir / SCHEMA_DIR_NAME
        self._schema_files: dict[ProtobufSchema, Path] = {}

    def insert_encoded(self, table: str, column_names: Sequence[str], encoded: EncodedRows) -> None:
        # chDB has no request body: it reads the rows from a file (in the data directory, on the same
        # disk as the data, removed once inserted).
        try:
            fd, path = tempfile.mkstemp(dir=self._spool_dir, suffix=f".{encoded.format}")
            with os.fdopen(fd, "wb") as file:
                file.write(encoded.body)
        except OSError as error:
            raise StorageError(
                f"cannot spool rows for chDB in {self._spool_dir}/: {error}; free disk space or check "
                "that the data directory is writable"
            ) from error
        try:
            arguments = (path, encoded.format, encoded.structure)
            source = f"file({', '.join(format_str(argument) for argument in arguments)})"
            schema = encoded.schema
            schema_settings = (
                {} if schema is None else {"format_schema": f"{self._schema_file(schema)}:{schema.message}"}
            )
            self.command(encoded.insert_select(table, column_names, source, schema_settings))
        finally:
            os.unlink(path)

    def _schema_file(self, schema: ProtobufSchema) -> Path:
        """The file in the data directory that holds `schema`, written on first use."""
        path = self._schema_files.get(schema)
        if path is None:
            digest = hashlib.sha256(schema.text.encode()).hexdigest()[:16]
            path = self._schema_dir / f"{digest}.proto"
            try:
                self._schema_dir.mkdir(exist_ok=True)
                path.write_text(schema.text)
            except OSError as error:
                raise StorageError(
                    f"cannot write a format schema in {self._schema_dir}/: {error}; check that the data "
                    "directory is writable"
                ) from error
            self._schema_files[schema] = path
        return path

    def _connect(self) -> Client:
        """A client of the engine (the first one starts it, with `ENGINE_CONFIG`)."""
        try:
            return clickhouse_connect.get_client(
                interface="chdb",
                path=str(self._engine_dir),
                chdb_options={"config-file": str(self._config_file)},
                **client_options(),
            )
        except ClickHouseError as error:
            raise StorageError(
                f"cannot open chDB in {self._engine_dir}: {error}; a process can host one chDB data "
                "directory, so close the storage that uses another directory first"
            ) from error

    @contextmanager
    def _client_for_call(self) -> Iterator[Client]:
        with self._clients_lock:
            client = self._idle_clients.pop() if self._idle_clients else None
        if client is None:
            client = self._connect()
            client.database = self.database
            with self._clients_lock:
                self._clients.append(client)
        try:
            yield client
        finally:
            with self._clients_lock:
                self._idle_clients.append(client)

    def close(self) -> None:
        try:
            for client in self._clients:
                client.close()
        finally:
            self._lock.release()


# jemalloc, ClickHouse's allocator inside chDB, gives freed pages back to the OS after
# `dirty_decay_ms` (5 s in chDB's build). An insert allocates and frees about 200 MB, so 5 s hold
# several inserts' worth: the collector's peak RSS in bench/ingest.py (1M spans, 7 paired runs) was
# 825-1,004 MiB with 5 s and 808-920 MiB with 2.5 s, at the same spans/s within noise.
# `muzzy_decay_ms:0` is chDB's own.
JEMALLOC_CONF = "dirty_decay_ms:2500,muzzy_decay_ms:0"
JEMALLOC_CONF_VARIABLE = "JE_MALLOC_CONF"  # chDB's jemalloc has the `je_` prefix


def shorten_jemalloc_decay(conf: str = JEMALLOC_CONF) -> bool:
    """Have chDB's jemalloc return freed memory sooner (`JEMALLOC_CONF`), unless `JE_MALLOC_CONF`
    already says how; returns whether it was set. jemalloc reads the variable once, when chDB is
    loaded: call it before the first chDB storage opens."""
    if JEMALLOC_CONF_VARIABLE in os.environ:
        return False
    os.environ[JEMALLOC_CONF_VARIABLE] = conf
    return True


# glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process, unless `MALLOC_ARENA_MAX` already says how many;
    returns whether the cap was set. Call it before chDB starts its threads.

    Besides ClickHouse's jemalloc, chDB's libraries and Python allocate with glibc's malloc, which
    gives each busy thread an arena of its own (up to 8 per core) and keeps what they free: with
    chDB's dozens of threads, the collector's peak RSS in bench/ingest.py was 35-110 MiB higher than
    with 2 arenas, for no more throughput.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's C library; glibc has mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(_M_ARENA_MAX, arenas) == 1


class DirectoryLock:
    """An exclusive `flock` on `data_dir/hiveboard.lock`, which holds the owner's pid for messages.

    `flock` locks belong to an open file, so a second lock in the same process conflicts too; the
    kernel drops the lock when its process dies, so a crash never leaves the directory locked.
    """

    def __init__(self, data_dir: Path) -> None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(data_dir / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StorageError(f"cannot use {data_dir}/: {error}; pass a writable --data-dir") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if owner == str(os.getpid()):
                raise StorageError(
                    f"{data_dir}/ is already open in this process (pid {owner}); "
                    "close the other storage first"
                ) from None
            raise StorageError(
                f"{data_dir}/ is already used by another HiveBoard process (pid {owner}); "
                "stop it or pass another --data-dir"
            ) from None
        except OSError as error:
            os.close(fd)
            raise StorageError(
                f"cannot lock {data_dir}/: {error}; pass a --data-dir on a local disk"
            ) from error
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        """Unlock (closing the file releases the `flock`); releasing twice is harmless."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
