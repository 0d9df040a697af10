"""Why the collector refuses an export: one vocabulary, mapped once to HTTP and once to gRPC.

The receivers differ only in how they phrase a refusal: a `Refusal` says what happened in
protocol-neutral terms, `HTTP_STATUS` and `GRPC_STATUS` are the OTLP specification's answers for
each code (https://opentelemetry.io/docs/specs/otlp/#failures), and only `UNAVAILABLE` is
retryable, so it alone carries `retry_after_s`.

>>> refusal = Refusal(RefusalCode.UNAVAILABLE, "storage unavailable", retry_after_s=5)
>>> refusal.http_status, refusal.grpc_status.name
(503, 'UNAVAILABLE')
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import grpc

from hiveboard.collector.writer.batch_writer import WriteFailedError, WriterBusyError
from hiveboard.storage import StorageError
from hiveboard.storage.keys import AuthenticationError, ConflictingKeysError, PermissionDeniedError

logger = logging.getLogger(__name__)


class RefusalCode(StrEnum):
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    UNAVAILABLE = "unavailable"
    INVALID = "invalid"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    UNIMPLEMENTED = "unimplemented"
    TIMEOUT = "timeout"


HTTP_STATUS: dict[RefusalCode, int] = {
    RefusalCode.UNAUTHENTICATED: 401,
    RefusalCode.PERMISSION_DENIED: 403,
    RefusalCode.UNAVAILABLE: 503,
    RefusalCode.INVALID: 400,
    RefusalCode.TOO_LARGE: 413,
    RefusalCode.UNSUPPORTED_MEDIA_TYPE: 415,
    RefusalCode.UNIMPLEMENTED: 501,
    RefusalCode.TIMEOUT: 408,
}

GRPC_STATUS: dict[RefusalCode, grpc.StatusCode] = {
    RefusalCode.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    RefusalCode.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    RefusalCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    RefusalCode.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    RefusalCode.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
    RefusalCode.UNSUPPORTED_MEDIA_TYPE: grpc.StatusCode.INVALID_ARGUMENT,
    RefusalCode.UNIMPLEMENTED: grpc.StatusCode.UNIMPLEMENTED,
    RefusalCode.TIMEOUT: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# How long a sender is told to wait when the keys or the storage cannot be read.
STORAGE_RETRY_AFTER_S = 5
STORAGE_UNAVAILABLE = "storage unavailable: retry later"


@dataclass(frozen=True)
class Refusal:
    """An export refused with `code` and a `message` for the sender; `retry_after_s` is set exactly
    for the retryable refusals."""

    code: RefusalCode
    message: str
    retry_after_s: int | None = None

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    @property
    def grpc_status(self) -> grpc.StatusCode:
        return GRPC_STATUS[self.code]


class RefusedError(Exception):
    """Raised by a pipeline stage that refuses a request outright (e.g. a body that cannot be
    decoded), carrying its `RefusalCode`."""

    def __init__(self, message: str, code: RefusalCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def refusal_for(error: Exception) -> Refusal | None:
    """The refusal an exception of decoding, authentication or writing stands for; None for any other
    error (a bug: the receiver lets it propagate)."""
    if isinstance(error, RefusedError):
        return Refusal(error.code, error.message)
    if isinstance(error, ConflictingKeysError):
        return Refusal(RefusalCode.INVALID, str(error))
    if isinstance(error, AuthenticationError):
        return Refusal(RefusalCode.UNAUTHENTICATED, str(error))
    if isinstance(error, PermissionDeniedError):
        return Refusal(RefusalCode.PERMISSION_DENIED, str(error))
    if isinstance(error, WriterBusyError):
        return Refusal(RefusalCode.UNAVAILABLE, str(error), error.retry_after_s)
    if isinstance(error, WriteFailedError):  # the writer has logged the storage's error
        if error.retryable:
            return Refusal(RefusalCode.UNAVAILABLE, error.public_message, error.retry_after_s)
        return Refusal(RefusalCode.INVALID, error.public_message)
    if isinstance(error, StorageError):
        # The storage's message names its statement and location: the log has it, the sender
        # only needs to know to retry.
        logger.warning("storage unavailable (the sender will retry): %s", error)
        return Refusal(RefusalCode.UNAVAILABLE, STORAGE_UNAVAILABLE, STORAGE_RETRY_AFTER_S)
    return None
