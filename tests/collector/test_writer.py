"""The write path on real chDB: batching, back-pressure, storage failures and recovery (directly on
`BatchWriter`, then through both receivers with the real OpenTelemetry exporters), draining on
close, the spans' protobuf envelopes (`TRACES_INPUT`) and the logs' JSONCompactColumns rows
(`LOGS_INPUT`) as ClickHouse decodes them, and `log_rows`.

Failures are injected by wrapping the real storage (`InstrumentedStorage`): it counts inserts,
can hold them at a gate, and can play an outage in which every call raises `StorageError`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hiveboard.collector.ingest.ingestor import Ingestor
from hiveboard.collector.ingest.log_rows import LOG_COLUMNS, log_rows
from hiveboard.collector.ingest.trace_rows import TRACE_COLUMNS, TRACES_INPUT, trace_export
from hiveboard.collector.service import CollectorConfig
from hiveboard.collector.writer.batch_writer import (
    BatchWriter,
    TableInput,
    WriteFailedError,
    WriterBusyError,
    WriterConfig,
)
from hiveboard.collector.writer.row_encoding import LOGS_INPUT
from hiveboard.storage import EncodedRows, QueryResult, Storage, StorageError
from hiveboard.storage.keys import KeyStore, KeyType, Principal
from hiveboard_semconv.attributes import HIVEBOARD_KEY_TYPE, HIVEBOARD_TENANT_ID
from tests.collector.otlp_harness import (
    RETRY_INFO_KEY,
    TRACE_SERVICE,
    TRACES_PATH,
    Tenant,
    grpc_export,
    key_value,
    log_request,
    make_span,
    migrated_chdb,
    new_span_id,
    new_tenant,
    new_trace_id,
    post_otlp,
    span_ids_hex,
    stored_span_ids,
    trace_request,
)
from tests.running_collector import RunningCollector, running_collector

# Any wait in these tests ends well within this, or the writer is stuck.
WAIT_S = 20.0


@pytest.fixture(scope="module")
def chdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    with migrated_chdb(tmp_path_factory.mktemp("writer")) as storage:
        yield storage


class InstrumentedStorage(Storage):
    """The module's real chDB, counting `insert_encoded` calls, able to hold inserts at a gate and
    to play an outage (`down`): then every call raises `StorageError`, as an unreachable server does."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.database = inner.database
        self.inserts = 0  # insert_encoded calls, failed ones included
        self.down = False
        self.refused_insert = threading.Event()  # an insert failed because storage was down
        self.insert_started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def _outage(self) -> None:
        if self.down:
            raise StorageError("cannot reach chDB (injected outage); check that it is running and reachable")

    def command(self, sql: str) -> None:
        self._outage()
        self.inner.command(sql)

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> QueryResult:
        self._outage()
        return self.inner.query(sql, parameters)

    def insert(self, table: str, column_names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._outage()
        self.inner.insert(table, column_names, rows)

    def insert_encoded(self, table: str, column_names: Sequence[str], encoded: EncodedRows) -> None:
        self.insert_started.set()
        assert self.gate.wait(WAIT_S), "the test never opened the gate"
        with self._lock:
            self.inserts += 1
        if self.down:
            self.refused_insert.set()
        self._outage()
        self.inner.insert_encoded(table, column_names, encoded)

    def close(self) -> None:  # the module's storage outlives the test
        pass


@pytest.fixture
def storage(chdb: Storage) -> InstrumentedStorage:
    return InstrumentedStorage(chdb)


@pytest.fixture
def tenant_id() -> str:
    return f"tenant-{new_span_id().hex()}"


@dataclass(frozen=True)
class Spans:
    """A request of fresh spans as the receivers hand it to the trace writer (`trace_export`): its
    `envelope`, the number of `spans` in it, and their ids (hex, as stored)."""

    envelope: bytes
    spans: int
    ids: list[str]


def spans_of(tenant_id: str, count: int = 1) -> Spans:
    """A request of `count` fresh spans of `tenant_id`."""
    request = trace_request([make_span(f"span {index}") for index in range(count)])
    export = trace_export(request, tenant_id, "live")
    assert (export.spans, export.rejected) == (count, 0), export.errors
    return Spans(export.envelope, export.spans, sorted(span_ids_hex(request)))


def span_ids_of(requests: Iterable[Spans]) -> list[str]:
    """The span ids of `requests`, sorted (as `stored_ids` lists them)."""
    return sorted(span_id for request in requests for span_id in request.ids)


def stored_ids(storage: Storage, tenant_id: str) -> list[str]:
    """The tenant's stored span ids, with repetitions (a span stored twice shows twice)."""
    rows = storage.query(
        "SELECT SpanId FROM otel_traces WHERE ResourceAttributes[{attribute:String}] = {tenant:String} "
        "ORDER BY SpanId",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": tenant_id},
    ).rows
    return [span_id for (span_id,) in rows]


@pytest.fixture
def writers() -> Iterator[list[BatchWriter]]:
    """Writers a test creates, closed at its end."""
    created: list[BatchWriter] = []
    yield created
    for writer in created:
        writer.close(timeout=WAIT_S)


def new_writer(
    writers: list[BatchWriter],
    storage: Storage,
    config: WriterConfig | None = None,
    table_input: TableInput = TRACES_INPUT,
) -> BatchWriter:
    writer = BatchWriter(storage, table_input, config or WriterConfig())
    writers.append(writer)
    return writer


# ---- batching -------------------------------------------------------------------------------------------


def test_many_concurrent_requests_become_few_inserts(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    writer = new_writer(writers, storage)
    requests = [spans_of(tenant_id, 4) for _ in range(200)]

    def send(batch: list[Spans]) -> None:
        for future in [writer.submit(request.envelope, request.spans) for request in batch]:
            future.result(WAIT_S)

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(send, [requests[i::20] for i in range(20)]))

    assert storage.inserts <= 10, f"{len(requests)} requests took {storage.inserts} inserts"
    assert stored_ids(storage, tenant_id) == span_ids_of(requests)


def test_senders_waiting_for_their_acknowledgements_share_inserts(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    writer = new_writer(writers, storage)
    senders, per_sender = 8, 15

    def send(_: int) -> list[Spans]:
        sent = []
        for _ in range(per_sender):
            request = spans_of(tenant_id, 2)
            writer.write(request.envelope, request.spans, timeout=WAIT_S)  # acknowledged once written
            sent.append(request)
        return sent

    with ThreadPoolExecutor(senders) as pool:
        acknowledged = [request for sent in pool.map(send, range(senders)) for request in sent]

    requests = senders * per_sender
    assert storage.inserts <= requests / 2, f"{requests} requests took {storage.inserts} inserts"
    assert stored_ids(storage, tenant_id) == span_ids_of(acknowledged)


def test_a_batch_never_exceeds_max_batch_rows_unless_one_request_does(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    storage.gate.clear()
    writer = new_writer(writers, storage, WriterConfig(max_batch_rows=10))
    requests = [spans_of(tenant_id, 1), *(spans_of(tenant_id, 4) for _ in range(5)), spans_of(tenant_id, 25)]
    first = writer.submit(requests[0].envelope, requests[0].spans)
    assert storage.insert_started.wait(WAIT_S)  # the writer holds the first request at the gate
    futures = [writer.submit(request.envelope, request.spans) for request in requests[1:]]

    storage.gate.set()
    for future in [first, *futures]:
        future.result(WAIT_S)

    # [1], [4, 4], [4, 4], [4], [25]: five inserts, each within the limit or a single request.
    assert storage.inserts == 5
    assert stored_ids(storage, tenant_id) == span_ids_of(requests)


def test_requests_queued_during_an_insert_are_written_next_without_waiting_for_more(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    # A busy writer must not idle between inserts: only a request that finds it idle waits for company.
    storage.gate.clear()
    writer = new_writer(writers, storage, WriterConfig(max_batch_rows=2, max_delay_s=WAIT_S))
    first, second = spans_of(tenant_id, 2), spans_of(tenant_id, 1)
    held = writer.submit(first.envelope, first.spans)
    assert storage.insert_started.wait(WAIT_S)  # a full batch: it goes without waiting
    queued = writer.submit(second.envelope, second.spans)

    storage.gate.set()
    held.result(WAIT_S)
    queued.result(WAIT_S / 2)  # well before another max_delay_s could have passed

    assert storage.inserts == 2
    assert stored_ids(storage, tenant_id) == span_ids_of([first, second])


@pytest.mark.parametrize("signal", ["traces", "logs"])
def test_a_request_waiting_for_the_writer_holds_its_rows_not_its_parsed_form(
    storage: InstrumentedStorage, tenant_id: str, signal: str
) -> None:
    # Parsed, a request is about three times its wire size, while the writer's limits count rows.
    traces, logs = BatchWriter(storage, TRACES_INPUT), BatchWriter(storage, LOGS_INPUT)
    ingestor = Ingestor(KeyStore(storage, dev_key=None), traces, logs)
    principal = Principal(tenant_id, KeyType.LIVE, "key_test")
    if signal == "traces":
        request: Any = trace_request([make_span()])
        export = ingestor.export_traces
    else:
        request = log_request([LogRecord(time_unix_nano=1, body=AnyValue(string_value="waiting"))])
        export = ingestor.export_logs
    references_of_the_test = sys.getrefcount(request)

    async def references_while_the_insert_waits() -> int:
        storage.insert_started.clear()
        storage.gate.clear()
        exporting = asyncio.ensure_future(export(request, principal))
        while not storage.insert_started.is_set():
            await asyncio.sleep(0.01)
        references = sys.getrefcount(request)
        storage.gate.set()
        await exporting
        return references

    try:
        assert asyncio.run(references_while_the_insert_waits()) == references_of_the_test
    finally:
        storage.gate.set()
        traces.close()
        logs.close()


def test_a_request_without_rows_is_acknowledged_without_an_insert(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    writer = new_writer(writers, storage)
    request = trace_request([make_span(span_id=bytes(8))])  # its only span is rejected
    export = trace_export(request, tenant_id, "live")
    assert (export.spans, export.rejected) == (0, 1)

    writer.submit(export.envelope, export.spans).result(WAIT_S)

    assert storage.inserts == 0
    assert writer.pending_rows == 0


def test_on_written_follows_each_successful_insert_and_its_failures_never_fail_a_write(
    storage: InstrumentedStorage, tenant_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    inserts_seen: list[int] = []

    def on_written() -> None:
        inserts_seen.append(storage.inserts)
        raise RuntimeError("the follow-up failed (injected)")

    writer = BatchWriter(storage, TRACES_INPUT, on_written=on_written)
    before, during, after = spans_of(tenant_id), spans_of(tenant_id), spans_of(tenant_id)
    with caplog.at_level(logging.ERROR, logger="hiveboard.collector.writer.batch_writer"):
        writer.write(before.envelope, before.spans, timeout=WAIT_S)
        storage.down = True
        failed = writer.submit(during.envelope, during.spans).exception(WAIT_S)
        storage.down = False
        writer.write(after.envelope, after.spans, timeout=WAIT_S)
        writer.close(timeout=WAIT_S)  # on_written runs after the futures resolve: let it finish

    assert isinstance(failed, WriteFailedError) and failed.retryable
    assert inserts_seen == [1, 3]  # after the first and third inserts, not after the failed second
    assert stored_ids(storage, tenant_id) == span_ids_of([before, after])
    follow_ups = [
        record for record in caplog.records if "after writing to otel_traces" in record.getMessage()
    ]
    assert len(follow_ups) == 2


# ---- back-pressure --------------------------------------------------------------------------------------


def test_rows_beyond_max_pending_rows_are_turned_away_with_retry_after(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    storage.gate.clear()
    writer = new_writer(writers, storage, WriterConfig(max_pending_rows=10, retry_after_s=3))
    six, four, one, ten = (spans_of(tenant_id, count) for count in (6, 4, 1, 10))
    in_flight = writer.submit(six.envelope, six.spans)
    assert storage.insert_started.wait(WAIT_S)
    queued = writer.submit(four.envelope, four.spans)  # 10 pending: at the limit, still accepted
    assert writer.pending_rows == 10

    with pytest.raises(WriterBusyError) as refused:
        writer.submit(one.envelope, one.spans)

    assert refused.value.retry_after_s == 3
    assert "10 rows are waiting to be written to otel_traces" in str(refused.value)
    storage.gate.set()
    in_flight.result(WAIT_S)
    queued.result(WAIT_S)
    assert writer.pending_rows == 0
    writer.write(ten.envelope, ten.spans, timeout=WAIT_S)  # room again
    assert stored_ids(storage, tenant_id) == span_ids_of([six, four, ten])  # not the one turned away


def test_one_request_larger_than_max_pending_rows_is_admitted_when_nothing_waits(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    writer = new_writer(writers, storage, WriterConfig(max_pending_rows=10))
    request = spans_of(tenant_id, 25)

    writer.write(request.envelope, request.spans, timeout=WAIT_S)

    assert stored_ids(storage, tenant_id) == span_ids_of([request])


# ---- failures -------------------------------------------------------------------------------------------


def test_storage_down_fails_writes_retryably_and_a_retry_after_recovery_loses_nothing(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    writer = new_writer(writers, storage, WriterConfig(retry_after_s=2))
    before = spans_of(tenant_id, 3)
    writer.write(before.envelope, before.spans, timeout=WAIT_S)
    storage.down = True
    during = [spans_of(tenant_id, 2) for _ in range(3)]

    futures = [writer.submit(request.envelope, request.spans) for request in during]

    for future in futures:
        error = future.exception(WAIT_S)
        assert isinstance(error, WriteFailedError)
        assert error.retryable and error.retry_after_s == 2
        assert "could not write to otel_traces" in str(error) and "injected outage" in str(error)
    assert writer.pending_rows == 0
    storage.down = False
    for request in during:  # what a sender does with a retryable failure
        writer.write(request.envelope, request.spans, timeout=WAIT_S)
    assert stored_ids(storage, tenant_id) == span_ids_of([before, *during])  # each exactly once


def log_batch(tenant_id: str, count: int) -> list[tuple[Any, ...]]:
    """The otel_logs rows of a request of `count` records of `tenant_id`, with distinct bodies."""
    records = [LogRecord(body=AnyValue(string_value=f"record {new_span_id().hex()}")) for _ in range(count)]
    rows = log_rows(log_request(records), tenant_id, "live")
    assert len(rows.rows) == count, rows.errors
    return rows.rows


def stored_log_bodies(storage: Storage, tenant_id: str) -> list[str]:
    rows = storage.query(
        "SELECT Body FROM otel_logs WHERE ResourceAttributes[{attribute:String}] = {tenant:String} ORDER BY Body",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": tenant_id},
    ).rows
    return [body for (body,) in rows]


def test_a_batch_clickhouse_refuses_fails_only_the_request_at_fault(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    storage.gate.clear()
    writer = new_writer(writers, storage, table_input=LOGS_INPUT)
    first_rows = log_batch(tenant_id, 1)
    first = writer.submit(first_rows, len(first_rows))
    assert storage.insert_started.wait(WAIT_S)  # the next three requests gather into one batch
    good, bad, also_good = log_batch(tenant_id, 2), log_batch(tenant_id, 2), log_batch(tenant_id, 2)
    severity = LOG_COLUMNS.index("SeverityNumber")
    bad[1] = (*bad[1][:severity], "not a number", *bad[1][severity + 1 :])
    futures = [writer.submit(rows, len(rows)) for rows in (good, bad, also_good)]

    storage.gate.set()

    first.result(WAIT_S)
    futures[0].result(WAIT_S)
    futures[2].result(WAIT_S)
    error = futures[1].exception(WAIT_S)
    assert isinstance(error, WriteFailedError) and not error.retryable
    assert "could not write to otel_logs" in str(error)
    assert storage.inserts == 1 + 1 + 3  # the first, the refused batch, then each request alone
    body = LOG_COLUMNS.index("Body")
    assert stored_log_bodies(storage, tenant_id) == sorted(row[body] for row in first_rows + good + also_good)


def _length_delimited(number: int, data: bytes) -> bytes:
    """A protobuf field of wire type 2 (`data` shorter than 128 bytes: a one-byte length)."""
    assert number < 16 and len(data) < 128
    return bytes([number << 3 | 2, len(data)]) + data


def mistyped_request() -> ExportTraceServiceRequest:
    """A request Python's protobuf parses, whose one span also carries its `name` (field 5, a
    string) as a varint: protobuf keeps such a field as an unknown field, and serializes it again."""
    span = make_span("mistyped").SerializeToString() + bytes([5 << 3 | 0, 1])
    request = ExportTraceServiceRequest.FromString(
        _length_delimited(1, _length_delimited(2, _length_delimited(2, span)))
    )
    assert len(request.resource_spans[0].scope_spans[0].spans) == 1
    return request


def test_a_span_request_clickhouse_cannot_decode_fails_only_itself_and_not_retryably(
    storage: InstrumentedStorage, writers: list[BatchWriter], tenant_id: str
) -> None:
    storage.gate.clear()
    writer = new_writer(writers, storage)
    first = spans_of(tenant_id)
    held = writer.submit(first.envelope, first.spans)
    assert storage.insert_started.wait(WAIT_S)  # the next three requests gather into one batch
    good, also_good = spans_of(tenant_id, 2), spans_of(tenant_id, 2)
    mistyped = trace_export(mistyped_request(), tenant_id, "live")
    assert (mistyped.spans, mistyped.rejected) == (1, 0)
    futures = [
        writer.submit(good.envelope, good.spans),
        writer.submit(mistyped.envelope, mistyped.spans),
        writer.submit(also_good.envelope, also_good.spans),
    ]

    storage.gate.set()

    held.result(WAIT_S)
    futures[0].result(WAIT_S)  # the other requests of the batch are written
    futures[2].result(WAIT_S)
    error = futures[1].exception(WAIT_S)
    # Stored (the stray field ignored) or refused for good: a retry would fail again, forever.
    assert error is None or (isinstance(error, WriteFailedError) and not error.retryable)
    assert set(span_ids_of([first, good, also_good])) <= set(stored_ids(storage, tenant_id))


def test_close_writes_everything_pending_then_refuses_more(
    storage: InstrumentedStorage, tenant_id: str
) -> None:
    storage.gate.clear()
    writer = BatchWriter(storage, TRACES_INPUT)
    requests = [spans_of(tenant_id, 3) for _ in range(4)]
    futures = [writer.submit(requests[0].envelope, requests[0].spans)]
    assert storage.insert_started.wait(WAIT_S)
    futures += [writer.submit(request.envelope, request.spans) for request in requests[1:]]
    closing = threading.Thread(target=writer.close)
    closing.start()

    storage.gate.set()
    closing.join(WAIT_S)

    assert not closing.is_alive()
    assert all(future.done() and future.exception() is None for future in futures)
    assert stored_ids(storage, tenant_id) == span_ids_of(requests)
    late = spans_of(tenant_id)
    with pytest.raises(RuntimeError, match="the otel_traces writer is closed"):
        writer.submit(late.envelope, late.spans)


def test_an_insert_failing_with_an_os_error_fails_the_batch_and_the_writer_keeps_writing(
    chdb: Storage, writers: list[BatchWriter], tenant_id: str
) -> None:
    writer = new_writer(writers, chdb)
    lost, written = spans_of(tenant_id), spans_of(tenant_id)
    spool = chdb.data_dir / "spool"  # type: ignore[attr-defined]
    shutil.rmtree(spool)  # as a full disk would, file creation in the spool now fails
    try:
        failed: Future[None] = writer.submit(lost.envelope, lost.spans)
        error = failed.exception(timeout=2)
    finally:
        spool.mkdir(exist_ok=True)

    assert isinstance(error, WriteFailedError) and error.retryable
    writer.write(written.envelope, written.spans, timeout=2)  # the writer still writes
    assert stored_ids(chdb, tenant_id) == span_ids_of([written])


# ---- failures through the receivers ---------------------------------------------------------------------


@contextmanager
def collector_on(
    storage: InstrumentedStorage, config: CollectorConfig | None = None
) -> Iterator[tuple[RunningCollector, Tenant]]:
    """A collector on the instrumented storage and a tenant whose live key was used once: the key
    cache outlives the test, so only writes depend on storage from then on."""
    key_store = KeyStore(storage, dev_key=None, cache_ttl=600)
    tenant = new_tenant(key_store)
    with running_collector(storage, key_store, config) as running:
        warm_up = post_otlp(running.http_url, TRACES_PATH, trace_request([make_span()]), tenant.bearer())
        assert warm_up.status == 200
        yield running, tenant


@pytest.fixture
def outage_collector(storage: InstrumentedStorage) -> Iterator[tuple[RunningCollector, Tenant]]:
    with collector_on(storage) as running_and_tenant:
        yield running_and_tenant


def test_storage_down_is_503_with_retry_after_over_http(
    storage: InstrumentedStorage, outage_collector: tuple[RunningCollector, Tenant]
) -> None:
    running, tenant = outage_collector
    request = trace_request([make_span()])
    storage.down = True

    answer = post_otlp(running.http_url, TRACES_PATH, request, tenant.bearer())

    assert answer.status == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.message.code == 14  # UNAVAILABLE
    assert "could not write to otel_traces" in answer.error
    storage.down = False
    assert post_otlp(running.http_url, TRACES_PATH, request, tenant.bearer()).status == 200
    assert span_ids_hex(request) <= stored_span_ids(storage, tenant.id)


def test_storage_down_is_unavailable_with_retry_info_over_grpc(
    storage: InstrumentedStorage, outage_collector: tuple[RunningCollector, Tenant]
) -> None:
    running, tenant = outage_collector
    storage.down = True

    answer = grpc_export(running.grpc_target, TRACE_SERVICE, trace_request([make_span()]), tenant.bearer())

    assert answer.code is grpc.StatusCode.UNAVAILABLE
    assert "could not write to otel_traces" in answer.details
    assert RetryInfo.FromString(answer.trailers[RETRY_INFO_KEY]).retry_delay.seconds == 1
    storage.down = False
    assert grpc_export(
        running.grpc_target, TRACE_SERVICE, trace_request([make_span()]), tenant.bearer()
    ).code is (grpc.StatusCode.OK)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_keys_unreadable_while_storage_is_down_is_retryable_not_unauthenticated(
    storage: InstrumentedStorage, outage_collector: tuple[RunningCollector, Tenant], protocol: str
) -> None:
    running, tenant = outage_collector
    storage.down = True  # the test key was never looked up: it is not cached
    request = trace_request([make_span()])

    if protocol == "http":
        answer = post_otlp(running.http_url, TRACES_PATH, request, tenant.bearer("test"))
        assert answer.status == 503
        assert int(answer.headers["retry-after"]) > 0
        assert "storage unavailable" in answer.error
    else:
        grpc_answer = grpc_export(running.grpc_target, TRACE_SERVICE, request, tenant.bearer("test"))
        assert grpc_answer.code is grpc.StatusCode.UNAVAILABLE
        assert RetryInfo.FromString(grpc_answer.trailers[RETRY_INFO_KEY]).retry_delay.seconds > 0


def test_back_pressure_is_503_with_retry_after_and_unavailable_with_retry_info(
    storage: InstrumentedStorage,
) -> None:
    config = CollectorConfig(writer=WriterConfig(max_pending_rows=5, retry_after_s=2))
    with collector_on(storage, config) as (running, tenant), ThreadPoolExecutor(1) as pool:
        storage.gate.clear()
        storage.insert_started.clear()
        held = trace_request([make_span() for _ in range(5)])
        answered = pool.submit(post_otlp, running.http_url, TRACES_PATH, held, tenant.bearer())
        assert storage.insert_started.wait(WAIT_S)  # 5 rows pending: the writer is full

        http = post_otlp(running.http_url, TRACES_PATH, trace_request([make_span()]), tenant.bearer())
        grpc_answer = grpc_export(
            running.grpc_target, TRACE_SERVICE, trace_request([make_span()]), tenant.bearer()
        )

        assert (http.status, http.headers["retry-after"]) == (503, "2")
        assert "rows are waiting to be written to otel_traces" in http.error
        assert grpc_answer.code is grpc.StatusCode.UNAVAILABLE
        assert RetryInfo.FromString(grpc_answer.trailers[RETRY_INFO_KEY]).retry_delay.seconds == 2
        storage.gate.set()
        assert answered.result(WAIT_S).status == 200
        assert span_ids_hex(held) <= stored_span_ids(storage, tenant.id)


def test_stopping_the_collector_answers_and_writes_the_requests_in_flight(
    storage: InstrumentedStorage,
) -> None:
    request = trace_request([make_span() for _ in range(3)])
    with ThreadPoolExecutor(1) as pool:
        with collector_on(storage) as (running, tenant):
            storage.gate.clear()
            storage.insert_started.clear()
            answered = pool.submit(post_otlp, running.http_url, TRACES_PATH, request, tenant.bearer())
            assert storage.insert_started.wait(WAIT_S)
            threading.Timer(0.2, storage.gate.set).start()  # let the stop begin while the insert is held
        # the collector has stopped
        assert answered.result(WAIT_S).status == 200
    assert span_ids_hex(request) <= stored_span_ids(storage, tenant.id)


def test_a_transient_insert_failure_while_storage_answers_queries_is_retryable(
    storage: InstrumentedStorage,
) -> None:
    class TooManyParts(InstrumentedStorage):
        failures = 0  # armed by the test, after the warm-up

        def insert_encoded(self, table: str, column_names: Sequence[str], encoded: EncodedRows) -> None:
            if self.failures and table == "otel_traces":
                self.failures -= 1
                raise StorageError(
                    "ClickHouse server rejected the statement: Code: 252. DB::Exception: Too many parts (3000). "
                    "Merges are processing significantly slower than inserts. (TOO_MANY_PARTS)"
                )
            super().insert_encoded(table, column_names, encoded)

    flaky = TooManyParts(storage.inner)
    with collector_on(flaky) as (running, tenant):
        flaky.failures = 1

        answer = post_otlp(running.http_url, TRACES_PATH, trace_request([make_span()]), tenant.bearer())

        assert answer.status == 503, answer.message


def sdk_spans(count: int) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "outage"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests.writer")
    for index in range(count):
        tracer.start_span(f"span {index}").end()
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_the_real_exporters_retry_through_an_outage_and_every_span_is_stored(
    storage: InstrumentedStorage, outage_collector: tuple[RunningCollector, Tenant], protocol: str
) -> None:
    running, tenant = outage_collector
    spans = sdk_spans(50)
    if protocol == "grpc":
        exporter: Any = GrpcSpanExporter(endpoint=running.grpc_target, insecure=True, headers=tenant.bearer())
    else:
        exporter = HttpSpanExporter(endpoint=running.http_url + TRACES_PATH, headers=tenant.bearer())
    storage.down = True
    with ThreadPoolExecutor(1) as pool:
        exported = pool.submit(exporter.export, spans)
        assert storage.refused_insert.wait(WAIT_S)  # the collector answered UNAVAILABLE / 503

        storage.down = False  # storage is back before the exporter's retry (Retry-After: 1 s)

        assert exported.result(WAIT_S) is SpanExportResult.SUCCESS
    exporter.shutdown()
    sent = {format(span.context.span_id, "016x") for span in spans}
    assert sent <= stored_span_ids(storage, tenant.id)
    assert len(stored_ids(storage, tenant.id)) == len(set(stored_ids(storage, tenant.id)))  # none twice


# ---- the encodings --------------------------------------------------------------------------------------

MAX_UINT64 = 2**64 - 1
TRICKY_TEXT = 'unicode ✓ 日本語 🐝, "quotes", \\backslash, \ttab,\nnewline, nul \x00 and \x7f'


def trace_row(span: Span, tenant_id: str, key_type: str = "live", **values: Any) -> tuple[Any, ...]:
    """The otel_traces row (TRACE_COLUMNS order) of a `make_span` span sent by `tenant_id` in a
    `trace_request(..., service="encoding")`, with `values` by column name."""
    defaults: dict[str, Any] = {
        "Timestamp": span.start_time_unix_nano,
        "TraceId": span.trace_id.hex(),
        "SpanId": span.span_id.hex(),
        "ParentSpanId": "",
        "TraceState": "",
        "SpanName": span.name,
        "SpanKind": "Internal",
        "ServiceName": "encoding",
        "ResourceAttributes": {
            "service.name": "encoding",
            HIVEBOARD_TENANT_ID: tenant_id,
            HIVEBOARD_KEY_TYPE: key_type,
        },
        "ScopeName": "tests.collector",
        "ScopeVersion": "",
        "SpanAttributes": {},
        "Duration": span.end_time_unix_nano - span.start_time_unix_nano,
        "StatusCode": "Unset",
        "StatusMessage": "",
        "Events.Timestamp": [],
        "Events.Name": [],
        "Events.Attributes": [],
        "Links.TraceId": [],
        "Links.SpanId": [],
        "Links.TraceState": [],
        "Links.Attributes": [],
    }
    assert set(values) <= set(defaults)
    return tuple({**defaults, **values}[column] for column in TRACE_COLUMNS)


_NANOSECONDS = {
    "Timestamp": "toUnixTimestamp64Nano(Timestamp)",
    "Events.Timestamp": "arrayMap(time -> toUnixTimestamp64Nano(time), Events.Timestamp)",
}


def read_back(storage: Storage, columns: Sequence[str], table: str, tenant_id: str) -> list[tuple[Any, ...]]:
    """`columns` of the tenant's rows of `table`, in time order, times in integer nanoseconds."""
    selected = ", ".join(_NANOSECONDS.get(column, f"`{column}`") for column in columns)
    return storage.query(
        f"SELECT {selected} FROM {table} WHERE ResourceAttributes[{{attribute:String}}] = {{tenant:String}} "
        "ORDER BY Timestamp",
        {"attribute": HIVEBOARD_TENANT_ID, "tenant": tenant_id},
    ).rows


def test_traces_input_round_trips_every_value_exactly(chdb: Storage, tenant_id: str) -> None:
    now = time.time_ns() // 1_000_000_000 * 1_000_000_000 + 123_456_789
    link_trace_id, link_span_id = new_trace_id(), new_span_id()
    tricky = make_span(
        TRICKY_TEXT,
        start_ns=now,
        duration_ns=MAX_UINT64 - now,  # ends at the last nanosecond a fixed64 holds
        attributes={TRICKY_TEXT: TRICKY_TEXT, "empty": "", "": "empty key"},
    )
    tricky.status.message = TRICKY_TEXT
    tricky.events.add(
        time_unix_nano=now + 1, name="first ✓", attributes=[key_value("k", "v"), key_value("ü", "ß")]
    )
    tricky.events.add(time_unix_nano=now + 999_999_999)
    tricky.links.add(
        trace_id=link_trace_id,
        span_id=link_span_id,
        trace_state="a=1,b=2",
        attributes=[key_value("link", "✓")],
    )
    plain = make_span("plain", start_ns=now + 1, duration_ns=0)
    # Far future, but before 2106: the TTL's toDateTime wraps around after that and drops the row.
    far = make_span("2100-01-01, last nanosecond", start_ns=4_102_444_800_999_999_999)
    other_tenant = f"{tenant_id}-other"
    expected = [
        trace_row(
            tricky,
            tenant_id,
            SpanAttributes={TRICKY_TEXT: TRICKY_TEXT, "empty": "", "": "empty key"},
            StatusMessage=TRICKY_TEXT,
            **{
                "Events.Timestamp": [now + 1, now + 999_999_999],
                "Events.Name": ["first ✓", ""],
                "Events.Attributes": [{"k": "v", "ü": "ß"}, {}],
                "Links.TraceId": [link_trace_id.hex()],
                "Links.SpanId": [link_span_id.hex()],
                "Links.TraceState": ["a=1,b=2"],
                "Links.Attributes": [{"link": "✓"}],
            },
        ),
        trace_row(plain, tenant_id),
        trace_row(far, tenant_id),
    ]
    assert expected[0][TRACE_COLUMNS.index("Duration")] > 2**63  # past Int64: UInt64 all the way
    envelopes = [
        trace_export(trace_request([tricky, plain], service="encoding"), tenant_id, "live").envelope,
        trace_export(trace_request([make_span()], service="encoding"), other_tenant, "test").envelope,
        trace_export(trace_request([far], service="encoding"), tenant_id, "live").envelope,
    ]

    TRACES_INPUT.insert(chdb, envelopes)

    assert read_back(chdb, TRACE_COLUMNS, "otel_traces", tenant_id) == expected
    (other,) = read_back(chdb, ["ResourceAttributes"], "otel_traces", other_tenant)  # each envelope its own
    assert other == (
        {"service.name": "encoding", HIVEBOARD_TENANT_ID: other_tenant, HIVEBOARD_KEY_TYPE: "test"},
    )


def test_an_empty_batch_is_a_valid_insert_of_nothing(chdb: Storage) -> None:
    def counts() -> list[tuple[Any, ...]]:
        return chdb.query("SELECT (SELECT count() FROM otel_traces), (SELECT count() FROM otel_logs)").rows

    before = counts()
    encoded = TRACES_INPUT.encode([])
    assert (encoded.body, encoded.format) == (b"", "Protobuf")
    no_spans = trace_export(trace_request([]), "nobody", "live")
    assert no_spans.spans == 0 and no_spans.envelope

    TRACES_INPUT.insert(chdb, [])
    TRACES_INPUT.insert(chdb, [no_spans.envelope])  # an envelope of a request without spans
    LOGS_INPUT.insert(chdb, [])
    LOGS_INPUT.insert(chdb, [[], []])  # requests without records

    assert counts() == before


def test_logs_input_round_trips_every_value_exactly(chdb: Storage, tenant_id: str) -> None:
    now = time.time_ns() // 1_000_000_000 * 1_000_000_000 + 987_654_321
    attributes = {TRICKY_TEXT: TRICKY_TEXT}
    resource = {HIVEBOARD_TENANT_ID: tenant_id, HIVEBOARD_KEY_TYPE: "test", "service.name": "svc"}
    values = [now, new_trace_id().hex(), new_span_id().hex(), 255, "FATAL", 24, "svc", TRICKY_TEXT, "https://schema/1",
              resource, "https://schema/2", "scope ✓", "1.0", attributes, attributes, "event.name"]  # fmt: skip
    rows = [
        tuple(values),
        (now + 1, "", "", 0, "", 0, "", "", "", resource, "", "", "", {}, {}, ""),
        (now + 2, "", "", 1, "INFO", 9, "svc", "third", "", resource, "", "", "", {}, {"k": "v"}, ""),
    ]

    LOGS_INPUT.insert(chdb, [rows[:2], [], rows[2:]])  # the rows of three requests, one without any

    assert read_back(chdb, LOG_COLUMNS, "otel_logs", tenant_id) == rows


# ---- log_rows -------------------------------------------------------------------------------------------


def log_row(
    request: ExportLogsServiceRequest, tenant_id: str = "acme", key_type: str = "live"
) -> dict[str, Any]:
    rows = log_rows(request, tenant_id, key_type)
    assert rows.rejected == 0, rows.errors
    (row,) = rows.rows
    return dict(zip(LOG_COLUMNS, row, strict=True))


def test_a_log_record_becomes_an_otel_logs_row() -> None:
    trace_id, span_id = new_trace_id(), new_span_id()
    record = LogRecord(
        time_unix_nano=1_700_000_000_000_000_001,
        observed_time_unix_nano=1_700_000_000_000_000_002,
        trace_id=trace_id,
        span_id=span_id,
        flags=0x101,  # only the W3C trace flags (the low byte) are kept
        severity_text="ERROR",
        severity_number=17,
        body=AnyValue(string_value="payment declined"),
        attributes=[key_value("order.id", 42), key_value("retry", True), key_value("ratio", 0.5)],
        event_name="payment.declined",
    )
    request = log_request([record], service="payments")
    request.resource_logs[0].schema_url = "https://opentelemetry.io/schemas/1.26.0"
    scope_logs = request.resource_logs[0].scope_logs[0]
    scope_logs.schema_url = "https://opentelemetry.io/schemas/1.25.0"
    scope_logs.scope.name, scope_logs.scope.version = "payments.logger", "3.1"
    scope_logs.scope.attributes.append(key_value("scope.kind", "logger"))

    assert log_row(request, "acme", "test") == {
        "Timestamp": 1_700_000_000_000_000_001,
        "TraceId": trace_id.hex(),
        "SpanId": span_id.hex(),
        "TraceFlags": 1,
        "SeverityText": "ERROR",
        "SeverityNumber": 17,
        "ServiceName": "payments",
        "Body": "payment declined",
        "ResourceSchemaUrl": "https://opentelemetry.io/schemas/1.26.0",
        "ResourceAttributes": {
            "service.name": "payments",
            HIVEBOARD_TENANT_ID: "acme",
            HIVEBOARD_KEY_TYPE: "test",
        },
        "ScopeSchemaUrl": "https://opentelemetry.io/schemas/1.25.0",
        "ScopeName": "payments.logger",
        "ScopeVersion": "3.1",
        "ScopeAttributes": {"scope.kind": "logger"},
        "LogAttributes": {"order.id": "42", "retry": "true", "ratio": "0.5"},
        "EventName": "payment.declined",
    }


def test_a_log_record_without_a_time_takes_its_observed_time() -> None:
    record = LogRecord(observed_time_unix_nano=1_700_000_000_000_000_777)

    assert log_row(log_request([record]))["Timestamp"] == 1_700_000_000_000_000_777


def test_a_log_record_without_any_time_takes_the_time_it_was_received() -> None:
    before = time.time_ns()
    stamped = log_row(log_request([LogRecord(body=AnyValue(string_value="no clock"))]))["Timestamp"]

    assert before <= stamped <= time.time_ns()  # not 1970, which the table's TTL would drop at once


def test_absent_or_all_zero_log_ids_are_empty_strings() -> None:
    rows = log_rows(
        log_request([LogRecord(), LogRecord(trace_id=bytes(16), span_id=bytes(8))]), "acme", "live"
    )

    assert [(row[1], row[2]) for row in rows.rows] == [("", ""), ("", "")]


def test_a_structured_log_body_is_rendered_as_json() -> None:
    body = AnyValue(
        kvlist_value=KeyValueList(
            values=[key_value("b", 2), key_value("a", "x"), key_value("c", AnyValue(bytes_value=b"\x01\x02"))]
        )
    )

    assert log_row(log_request([LogRecord(body=body)]))["Body"] == '{"a":"x","b":2,"c":"AQI="}'


def test_the_tenant_a_client_claims_for_its_logs_is_overwritten() -> None:
    request = log_request([LogRecord()])
    request.resource_logs[0].resource.attributes.extend(
        [key_value(HIVEBOARD_TENANT_ID, "victim"), key_value(HIVEBOARD_KEY_TYPE, "live")]
    )

    resource = log_row(request, "sender", "test")["ResourceAttributes"]

    assert (resource[HIVEBOARD_TENANT_ID], resource[HIVEBOARD_KEY_TYPE]) == ("sender", "test")


def test_invalid_log_records_are_rejected_with_their_position_and_the_rest_kept() -> None:
    request = log_request([LogRecord(), LogRecord(trace_id=b"\x01" * 15), LogRecord(severity_number=25)])
    for _ in range(12):
        request.resource_logs[0].scope_logs[0].log_records.add(span_id=b"\x01" * 3)

    rows = log_rows(request, "acme", "live")

    assert len(rows.rows) == 1
    assert rows.rejected == 2 + 12
    assert rows.errors[0] == (
        "resourceLogs[0].scopeLogs[0].logRecords[1] rejected: trace id must be 16 bytes or empty, got 15"
    )
    assert (
        rows.errors[1]
        == "resourceLogs[0].scopeLogs[0].logRecords[2] rejected: severity number must be 0..24, got 25"
    )
    assert len(rows.errors) == 10  # at most MAX_ERROR_MESSAGES reasons; the count covers all


def test_a_nan_attribute_of_a_log_record_is_rendered_like_pdata() -> None:
    record = LogRecord(attributes=[key_value("nan", math.nan)])

    assert log_row(log_request([record]))["LogAttributes"] == {"nan": "json: unsupported value: NaN"}
