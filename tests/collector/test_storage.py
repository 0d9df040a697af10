"""Storage: embedded chDB for real (values, parameters, the directory lock across processes) and the
ClickHouse server backend against a recording client."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from hiveboard.storage import ChDBStorage, ClickHouseServerStorage, QueryResult, StorageError
from hiveboard.storage.chdb_storage import ENGINE_CONFIG, DirectoryLock
from hiveboard.storage.schema.otel_tables import render_traces_table
from tests.collector.fake_client import FakeClient, FakeResult

COLLECTOR_DIR = Path(__file__).resolve().parents[2] / "collector"
MAX_UINT64 = 2**64 - 1


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(
        tmp_path_factory.mktemp("storage") / "hiveboard-data", database="storage_tests"
    ) as opened:
        opened.command("CREATE DATABASE IF NOT EXISTS storage_tests")
        opened.command(render_traces_table("storage_tests", ttl_days=0, cluster_name=None))
        yield opened


def run_python(code: str, *args: str, environment: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `code` in a fresh interpreter (a second process) that can import the collector."""
    paths = [str(COLLECTOR_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, **(environment or {}), "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ---- chDB: queries and parameters -------------------------------------------------------------------


def test_query_binds_typed_parameters_in_the_engine(storage: ChDBStorage) -> None:
    tricky = 'it\'s a \\ "quote"\nand {braces}'
    result = storage.query(
        "SELECT {n:UInt64} AS n, {s:String} AS s, {xs:Array(String)} AS xs, currentDatabase() AS db",
        {"n": MAX_UINT64, "s": tricky, "xs": ["a", "b'c"]},
    )
    assert result == QueryResult(
        ("n", "s", "xs", "db"), [(MAX_UINT64, tricky, ["a", "b'c"], "storage_tests")]
    )
    assert result.dicts() == [{"n": MAX_UINT64, "s": tricky, "xs": ["a", "b'c"], "db": "storage_tests"}]


def test_a_parameter_value_is_never_read_as_sql(storage: ChDBStorage) -> None:
    storage.command("CREATE TABLE names (name String) ENGINE = MergeTree ORDER BY name")
    storage.insert("names", ["name"], [["alice"], ["bob"]])
    injection = "nobody' OR '1' = '1"
    result = storage.query("SELECT count() FROM names WHERE name = {name:String}", {"name": injection})
    assert result.rows == [(0,)]


# ---- chDB: inserts ------------------------------------------------------------------------------------

SPAN_COLUMNS = [
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
    "Links.TraceId",
    "Links.SpanId",
    "Links.TraceState",
    "Links.Attributes",
]


def test_insert_round_trips_otel_traces_values_exactly(storage: ChDBStorage) -> None:
    start = 1_767_225_600_123_456_789  # nanoseconds: more precision than a datetime holds
    rows = [
        [
            start,
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            "",
            "invoke_agent lead-qualifier",
            "Internal",
            "sales",
            {"service.name": "sales", "hiveboard.tenant.id": "tenant-é"},
            {"note": 'it\'s "quoted"\n\\ and ünïcode', "gen_ai.usage.input_tokens": "1800"},
            MAX_UINT64,
            "Error",
            [start + 1, start + 999_999_999],
            ["exception", "retry"],
            [{"exception.type": "ValueError", "exception.message": "bad"}, {}],
            ["4bf92f3577b34da6a3ce929d0e0e4736"],
            ["00f067aa0ba902b7"],
            ["vendor=1"],
            [{"link.kind": "follows"}],
        ],
        [start + 5, "", "c1", "b7ad6b7169203331", "plan_created", "Internal", "", {}, {}, 0, "Unset"]
        + [[], [], [], [], [], [], []],
    ]
    storage.insert("otel_traces", SPAN_COLUMNS, rows)

    result = storage.query(
        "SELECT toUnixTimestamp64Nano(Timestamp), TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,"
        " ResourceAttributes, SpanAttributes, Duration, StatusCode,"
        " arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp), Events.Name, Events.Attributes,"
        " Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes"
        " FROM otel_traces WHERE ServiceName IN ('sales', '') ORDER BY Timestamp"
    )
    assert [list(row) for row in result.rows] == rows


def test_insert_sends_all_rows_in_one_insert(storage: ChDBStorage) -> None:
    storage.command("CREATE TABLE numbers_once (n UInt64) ENGINE = MergeTree ORDER BY tuple()")
    storage.command("SYSTEM STOP MERGES numbers_once")  # every INSERT then stays one part

    storage.insert("numbers_once", ["n"], [[n] for n in range(5000)])
    storage.insert("numbers_once", ["n"], [])

    parts = storage.query(
        "SELECT count(), sum(rows) FROM system.parts"
        " WHERE database = currentDatabase() AND table = 'numbers_once' AND active"
    )
    assert parts.rows == [(1, 5000)]


# ---- chDB: errors --------------------------------------------------------------------------------------


def test_a_rejected_statement_says_which_store_and_statement(storage: ChDBStorage) -> None:
    with pytest.raises(StorageError) as raised:
        storage.query("SELECT no_such_column FROM otel_traces")
    message = str(raised.value)
    assert f"chDB in {storage.data_dir / 'clickhouse'} rejected the statement" in message
    assert "no_such_column" in message and "SQL: SELECT no_such_column FROM otel_traces" in message


def test_a_query_before_the_migrations_says_to_run_them(tmp_path: Path) -> None:
    # A fresh process: this one hosts the module's chDB already (one per process).
    process = run_python(
        """
        import sys
        from hiveboard.storage import ChDBStorage, StorageError
        with ChDBStorage(sys.argv[1]) as storage:
            try:
                storage.query("SELECT count() FROM hb_events")
            except StorageError as error:
                print(error)
        """,
        str(tmp_path / "fresh"),
    )
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "database 'hiveboard' does not exist" in stdout and "run the migrations first" in stdout


def test_the_embedded_engine_merges_parts_in_larger_steps_at_the_inserts_priority(
    storage: ChDBStorage,
) -> None:
    # Its configuration is written in the data directory and read when the engine starts.
    assert (storage.data_dir / "chdb-config.xml").read_text() == ENGINE_CONFIG
    setting = storage.query("SELECT value FROM system.merge_tree_settings WHERE name = 'merge_selector_base'")
    assert setting.rows == [("20",)]
    nice = storage.query(
        "SELECT value FROM system.server_settings WHERE name = 'os_threads_nice_value_merge_mutate'"
    )
    assert nice.rows == [("0",)]


def test_parts_under_the_vertical_merge_threshold_are_written_compact(storage: ChDBStorage) -> None:
    # At ClickHouse's defaults a part of more than 10 MiB is written Wide (a file and write buffers per
    # column), as a full batch of the collector's spans would be; here only from the rows at which
    # merges go column by column.
    storage.command(
        "CREATE TABLE storage_tests.part_types (n UInt64, text String) ENGINE = MergeTree ORDER BY n"
    )
    storage.command(
        "INSERT INTO storage_tests.part_types SELECT number, repeat('x', 1000) FROM numbers(16384)"
    )
    storage.command(
        "INSERT INTO storage_tests.part_types SELECT number, repeat('x', 100) FROM numbers(1000000, 131072)"
    )
    parts = storage.query(
        "SELECT rows, part_type, data_uncompressed_bytes > 10 * 1048576 FROM system.parts "
        "WHERE database = 'storage_tests' AND table = 'part_types' AND active ORDER BY rows"
    )
    assert parts.rows == [(16384, "Compact", 1), (131072, "Wide", 1)]


def test_a_merge_combines_at_most_as_many_parts_as_the_selector_waits_for(storage: ChDBStorage) -> None:
    # Parts pile up when merges fall behind; merged all at once, each part would take its buffers.
    storage.command("CREATE TABLE storage_tests.merged (n UInt64) ENGINE = MergeTree ORDER BY n")
    storage.command("SYSTEM STOP MERGES storage_tests.merged")
    for number in range(30):
        storage.command(f"INSERT INTO storage_tests.merged VALUES ({number})")
    storage.command("SYSTEM START MERGES storage_tests.merged")
    parts_sql = (
        "SELECT level, max_block_number - min_block_number + 1 FROM system.parts "
        "WHERE database = 'storage_tests' AND table = 'merged' AND active ORDER BY min_block_number"
    )
    deadline = time.monotonic() + 60
    parts = storage.query(parts_sql).rows
    while all(level == 0 for level, _ in parts):
        assert time.monotonic() < deadline, f"the 30 parts were not merged: {parts}"
        time.sleep(0.05)
        parts = storage.query(parts_sql).rows
    # The first merge took 20 parts at most (by default it takes all 30 at once).
    assert max(blocks for _, blocks in parts) <= 20


def test_malloc_arenas_are_capped_unless_the_environment_says_how_many() -> None:
    # In fresh processes: the cap is process-wide, and glibc reads MALLOC_ARENA_MAX at startup.
    code = "from hiveboard.storage.chdb_storage import limit_malloc_arenas; print(limit_malloc_arenas())"
    outputs = []
    for environment in ({}, {"MALLOC_ARENA_MAX": "4"}):
        process = run_python(code, environment=environment)
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        outputs.append(stdout.strip())
    assert outputs == ["True", "False"]


def test_jemalloc_returns_freed_memory_sooner_unless_the_environment_says_how(tmp_path: Path) -> None:
    # In fresh processes, through the CLI's `open_storage`: jemalloc reads it when chDB is loaded.
    code = """
        import argparse, os, sys
        if sys.argv[2] == "unset":
            os.environ.pop("JE_MALLOC_CONF", None)
        from hiveboard.cli import open_storage
        args = argparse.Namespace(clickhouse_url=None, data_dir=sys.argv[1], database="hiveboard")
        storage = open_storage(args)
        (stats,) = storage.query("SELECT * FROM system.jemalloc_stats").rows[0]
        storage.close()
        print(next(line.strip() for line in stats.splitlines() if line.strip().startswith("opt.dirty_decay_ms:")))
    """
    outputs = []
    for name, environment in (("unset", {}), ("set", {"JE_MALLOC_CONF": "dirty_decay_ms:4000"})):
        process = run_python(code, str(tmp_path / name), name, environment=environment)
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outputs.append(stdout.strip())
    assert outputs == [
        "opt.dirty_decay_ms: 2500 (arenas.dirty_decay_ms: 2500)",
        "opt.dirty_decay_ms: 4000 (arenas.dirty_decay_ms: 4000)",
    ]


def test_calls_from_several_threads_run_at_once(storage: ChDBStorage) -> None:
    # An insert must not wait for the query API's reads or the pricing job, nor they for it.
    slow_sql = "SELECT sleepEachRow(0.5) FROM numbers(6) SETTINGS max_block_size = 1"
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(storage.query, slow_sql)
        while not storage.query(
            "SELECT count() FROM system.processes WHERE query LIKE '%sleepEachRow(0.5)%' "
            "AND query NOT LIKE '%system.processes%'"
        ).rows[0][0]:
            assert not slow.done(), "a query waited for another thread's query to finish"
            time.sleep(0.01)
        assert not slow.done()  # seen running from this thread
        assert len(slow.result(timeout=60).rows) == 6


def test_every_client_types_sql_as_clickhouse_before_26_1_does(storage: ChDBStorage) -> None:
    # chDB's engine (26.9) would return a Variant; a server before 26.1 refuses the query, and so does
    # every client here, so that the tests catch SQL that older servers cannot run.
    with pytest.raises(StorageError, match="no supertype for types"):
        storage.query("SELECT if(number = 1, toInt64(-1), toUInt64(1)) FROM numbers(2)")
    # Concurrent calls each take a client of their own: every one of them has the setting.
    setting = "SELECT value, sleep(0.2) FROM system.settings WHERE name = 'use_variant_as_common_type'"
    with ThreadPoolExecutor(3) as pool:
        values = list(pool.map(lambda _: storage.query(setting).rows, range(3)))
    assert values == [[("0", 0)]] * 3


# ---- chDB: one process per data directory -------------------------------------------------------------


def test_a_second_process_on_the_directory_is_refused_with_its_pid(tmp_path: Path) -> None:
    data_dir = tmp_path / "hiveboard-data"
    holder = run_python(
        """
        import sys
        from hiveboard.storage import ChDBStorage
        with ChDBStorage(sys.argv[1]):
            print("open", flush=True)
            sys.stdin.readline()
        """,
        str(data_dir),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(StorageError) as raised:
            ChDBStorage(data_dir)
        assert str(raised.value) == (
            f"{data_dir}/ is already used by another HiveBoard process (pid {holder.pid}); "
            "stop it or pass another --data-dir"
        )
    finally:
        holder.communicate("close\n", timeout=60)
    assert holder.returncode == 0

    DirectoryLock(data_dir).release()  # the holder's close released the directory


def test_a_second_open_in_the_same_process_is_refused(storage: ChDBStorage) -> None:
    with pytest.raises(StorageError) as raised:
        ChDBStorage(storage.data_dir)
    assert str(raised.value) == (
        f"{storage.data_dir}/ is already open in this process (pid {os.getpid()}); close the other storage first"
    )


def test_a_second_directory_in_the_same_process_is_refused_and_left_unlocked(
    storage: ChDBStorage, tmp_path: Path
) -> None:
    other = tmp_path / "other-data"
    with pytest.raises(StorageError) as raised:
        ChDBStorage(other)
    assert f"cannot open chDB in {other / 'clickhouse'}" in str(raised.value)
    assert "one chDB data directory" in str(raised.value)
    DirectoryLock(other).release()  # the failed open gave its lock back


# ---- ClickHouse server: the calls reaching clickhouse-connect ----------------------------------------


def test_server_storage_connects_with_its_options_and_database() -> None:
    client = FakeClient()
    ClickHouseServerStorage(
        host="ch.internal",
        port=8443,
        username="hiveboard",
        password="secret",
        database="hb",
        secure=True,
        client_factory=client.factory,
    )
    assert client.factory_options == {
        "host": "ch.internal",
        "port": 8443,
        "secure": True,
        "username": "hiveboard",
        "password": "secret",
        "autogenerate_session_id": False,
        "tz_mode": "aware",
        "settings": {"use_variant_as_common_type": 0},
    }
    assert client.database == "hb"


def test_server_storage_sends_statements_queries_and_one_column_oriented_insert() -> None:
    client = FakeClient(results=[FakeResult(("model", "calls"), [("gpt-4o", 3)])])
    storage = ClickHouseServerStorage("https://ch.example.com:8443", client_factory=client.factory)

    storage.command("CREATE DATABASE IF NOT EXISTS `hiveboard` ON CLUSTER `main`")
    storage.command("OPTIMIZE TABLE hb_tasks FINAL")
    result = storage.query(
        "SELECT model, count() AS calls FROM hb_llm_calls WHERE TenantId = {tenant:String} GROUP BY model",
        {"tenant": "acme"},
    )
    storage.insert("otel_logs", ["Timestamp", "Body"], [[1, "first"], [2, "second"]])
    storage.close()

    assert client.factory_options["dsn"] == "https://ch.example.com:8443"
    assert result.dicts() == [{"model": "gpt-4o", "calls": 3}]
    assert client.calls == [
        # The database cannot be the context of the statement that creates it.
        (
            "command",
            ("CREATE DATABASE IF NOT EXISTS `hiveboard` ON CLUSTER `main`",),
            {"use_database": False},
        ),
        ("command", ("OPTIMIZE TABLE hb_tasks FINAL",), {"use_database": True}),
        (
            "query",
            (
                "SELECT model, count() AS calls FROM hb_llm_calls WHERE TenantId = {tenant:String} GROUP BY model",
            ),
            {"parameters": {"tenant": "acme"}},
        ),
        (
            "insert",
            ("otel_logs", [[1, 2], ["first", "second"]]),
            {"column_names": ["Timestamp", "Body"], "column_oriented": True},
        ),
        ("close", (), {}),
    ]


def test_server_storage_errors_say_what_to_do() -> None:
    client = FakeClient()
    storage = ClickHouseServerStorage(
        "https://user:secret@ch.example.com:8443", client_factory=client.factory
    )

    client.error = OperationalError("HTTPSConnectionPool: connection refused")
    with pytest.raises(StorageError) as unreachable:
        storage.query("SELECT 1")
    assert str(unreachable.value) == (
        "cannot reach ClickHouse at https://ch.example.com:8443: HTTPSConnectionPool: connection refused; "
        "check that it is running and reachable"
    )
    assert "secret" not in str(unreachable.value)

    client.error = DatabaseError("Code: 81. DB::Exception: Database hiveboard does not exist.", code=81)
    with pytest.raises(StorageError, match="run the migrations first"):
        storage.query("SELECT count() FROM hb_events")


def test_server_storage_that_cannot_connect_says_so() -> None:
    def refuse(**options: object) -> FakeClient:
        raise OperationalError("connection refused")

    with pytest.raises(StorageError) as raised:
        ClickHouseServerStorage(host="db", port=8123, client_factory=refuse)
    assert str(raised.value) == (
        "cannot connect to ClickHouse at http://db:8123: connection refused; "
        "check the address, the credentials and that the server is running"
    )


def test_a_storage_error_knows_clickhouse_s_code_and_whether_the_rows_were_refused() -> None:
    refused = StorageError(
        "rejected: Code: 27. DB::Exception: Cannot parse input (CANNOT_PARSE_INPUT_ASSERTION_FAILED)"
    )
    overloaded = StorageError("rejected: Code: 252. DB::Exception: Too many parts (TOO_MANY_PARTS)")
    unreachable = StorageError("cannot reach chDB: connection refused")

    assert (refused.code, refused.refuses_data) == (27, True)
    assert (overloaded.code, overloaded.refuses_data) == (252, False)  # storage unwell: retry
    assert (unreachable.code, unreachable.refuses_data) == (None, False)
    assert StorageError("no code in the text", code=53).refuses_data  # TYPE_MISMATCH, given
