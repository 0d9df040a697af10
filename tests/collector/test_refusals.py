"""One refusal vocabulary, mapped once to HTTP and once to gRPC."""

from __future__ import annotations

import grpc

from hiveboard.collector.refusals import GRPC_STATUS, HTTP_STATUS, Refusal, RefusalCode, refusal_for
from hiveboard.collector.writer.batch_writer import WriterBusyError
from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError, PermissionDeniedError


def test_every_code_has_an_http_status_and_a_grpc_status() -> None:
    assert set(HTTP_STATUS) == set(RefusalCode) == set(GRPC_STATUS)


def test_the_mappings_are_the_otlp_specifications() -> None:
    answers = {code: (HTTP_STATUS[code], GRPC_STATUS[code]) for code in RefusalCode}
    assert answers == {
        RefusalCode.UNAUTHENTICATED: (401, grpc.StatusCode.UNAUTHENTICATED),
        RefusalCode.PERMISSION_DENIED: (403, grpc.StatusCode.PERMISSION_DENIED),
        RefusalCode.UNAVAILABLE: (503, grpc.StatusCode.UNAVAILABLE),
        RefusalCode.INVALID: (400, grpc.StatusCode.INVALID_ARGUMENT),
        RefusalCode.TOO_LARGE: (413, grpc.StatusCode.RESOURCE_EXHAUSTED),
        RefusalCode.UNSUPPORTED_MEDIA_TYPE: (415, grpc.StatusCode.INVALID_ARGUMENT),
        RefusalCode.UNIMPLEMENTED: (501, grpc.StatusCode.UNIMPLEMENTED),
        RefusalCode.TIMEOUT: (408, grpc.StatusCode.DEADLINE_EXCEEDED),
    }


def test_a_refusal_has_only_its_own_fields() -> None:
    refusal = Refusal(RefusalCode.UNAVAILABLE, "storage unavailable", retry_after_s=5)
    assert (refusal.code, refusal.message, refusal.retry_after_s) == (
        RefusalCode.UNAVAILABLE,
        "storage unavailable",
        5,
    )
    assert (refusal.http_status, refusal.grpc_status) == (503, grpc.StatusCode.UNAVAILABLE)
    assert Refusal.__dataclass_fields__.keys() == {"code", "message", "retry_after_s"}


def test_errors_map_to_refusals_and_only_unavailable_ones_say_when_to_retry() -> None:
    assert refusal_for(AuthenticationError("missing", "no key")) == Refusal(
        RefusalCode.UNAUTHENTICATED, "no key"
    )
    assert refusal_for(PermissionDeniedError("read key")) == Refusal(
        RefusalCode.PERMISSION_DENIED, "read key"
    )
    busy = refusal_for(WriterBusyError("busy", 3))
    assert busy is not None and busy.code == RefusalCode.UNAVAILABLE and busy.retry_after_s == 3
    # The storage's own message (its SQL, its paths) stays in the server's log.
    assert refusal_for(StorageError("down at /data/clickhouse")) == Refusal(
        RefusalCode.UNAVAILABLE, "storage unavailable: retry later", 5
    )
    assert refusal_for(RuntimeError("a bug")) is None
