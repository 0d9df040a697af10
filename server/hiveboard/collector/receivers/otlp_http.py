"""OTLP/HTTP receiver: `POST /v1/traces` and `/v1/logs` as FastAPI routes.

The routes are an `APIRouter`, so the standalone collector serves them on :4318 and the query API
mounts the same routes on its own port. Answers follow the OTLP/HTTP specification
(https://opentelemetry.io/docs/specs/otlp/#otlphttp-response): 200 with an `Export*ServiceResponse`
(its `partial_success` counting rejected items), in the encoding of the request; failures carry a
`google.rpc.Status` with a message that says what to do; 503 (with `Retry-After`) is the one status
standard exporters retry: storage slow or down, or too much already waiting to be written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.requests import ClientDisconnect

from hiveboard.collector.ingest.ingestor import Ingestor, Principal
from hiveboard.collector.ingest.trace_rows import WireTraceRequest
from hiveboard.collector.receivers.otlp_decoding import (
    JSON_CONTENT_TYPE,
    PROTOBUF_CONTENT_TYPE,
    OTLPDecodeError,
    decode_body,
    parse_export,
)
from hiveboard.collector.refusals import HTTP_STATUS, Refusal, RefusalCode, refusal_for

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body accepted, compressed or not (the OTel exporters send about 1 MiB at most)."""

_METRICS_NOT_SUPPORTED = Refusal(
    RefusalCode.UNIMPLEMENTED,
    "HiveBoard does not store OTLP metrics: send traces (/v1/traces) and logs (/v1/logs), and point the "
    "metrics exporter elsewhere or disable it (OTEL_METRICS_EXPORTER=none)",
)
_OTLP_BODY = {
    "content": {PROTOBUF_CONTENT_TYPE: {}, JSON_CONTENT_TYPE: {}},
    "description": "An OTLP export request, binary protobuf or OTLP JSON, optionally gzip-compressed",
}

M = TypeVar("M", bound=Message)


def otlp_http_router(ingestor: Ingestor, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> APIRouter:
    """The OTLP/HTTP routes, writing through `ingestor`.

    >>> app.include_router(otlp_http_router(collector.ingestor))  # doctest: +SKIP
    """
    router = APIRouter(tags=["OTLP ingestion"])

    @router.post("/v1/traces", summary="Export spans (OTLP/HTTP)", openapi_extra={"requestBody": _OTLP_BODY})
    async def export_traces(request: Request) -> Response:
        decoded = _decoded(request, ingestor, ExportTraceServiceRequest, max_body_bytes)
        return await _export(request, decoded, ingestor.export_traces)

    @router.post(
        "/v1/logs", summary="Export log records (OTLP/HTTP)", openapi_extra={"requestBody": _OTLP_BODY}
    )
    async def export_logs(request: Request) -> Response:
        decoded = _decoded(request, ingestor, ExportLogsServiceRequest, max_body_bytes)
        return await _export(request, decoded, ingestor.export_logs)

    @router.post(
        "/v1/metrics", summary="Metrics are not supported", status_code=HTTP_STATUS[RefusalCode.UNIMPLEMENTED]
    )
    async def export_metrics(request: Request) -> Response:
        return _refusal_response(request, _METRICS_NOT_SUPPORTED)

    return router


async def _decoded(
    request: Request, ingestor: Ingestor, request_type: type[M], max_body_bytes: int
) -> tuple[M | WireTraceRequest, Principal] | Response:
    """The request's message and sender, or the error response that refuses it."""
    try:
        principal = await ingestor.authenticate(request.headers)
        body = await _read_body(request, max_body_bytes)
        headers = request.headers
        decoded = decode_body(
            body, headers.get("content-type"), headers.get("content-encoding"), request_type, max_body_bytes,
            parse_export,
        )  # fmt: skip
        return decoded, principal
    except ClientDisconnect:
        # Gone, or closed by the server for pausing within its body past the client timeout: an
        # answer for the record, which reaches no one (and no error is logged for it).
        return _refusal_response(
            request, Refusal(RefusalCode.TIMEOUT, "the request body did not arrive in time")
        )
    except Exception as error:
        return _refused(request, error)


async def _export(
    request: Request,
    decoded: Awaitable[tuple[M | WireTraceRequest, Principal] | Response],
    export: Callable[[Any, Principal], Awaitable[Message]],
) -> Response:
    """200 with the export's response (its partial success) once written; else the refusal.

    The parsed request is held only until the export has encoded its rows: parsed, it is about
    three times its wire size, and the writer bounds memory by the rows waiting to be written."""
    message = await decoded
    if isinstance(message, Response):
        return message
    writing = export(*message)
    del message
    try:
        response = await writing
    except Exception as error:
        return _refused(request, error)
    return _message_response(request, 200, response)


def _refused(request: Request, error: Exception) -> Response:
    refusal = refusal_for(error)
    if refusal is None:
        raise error
    return _refusal_response(request, refusal)


async def _read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused as soon as it grows past `max_bytes` (never buffered beyond that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(int(declared), max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, max_bytes: int) -> OTLPDecodeError:
    return OTLPDecodeError(
        f"request body is over {max_bytes} bytes (at least {size}): send smaller batches "
        "(e.g. lower the exporter's max batch size)",
        RefusalCode.TOO_LARGE,
    )


def _wants_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";", 1)[0].strip().lower() == JSON_CONTENT_TYPE


def _message_response(
    request: Request, status: int, message: Message, headers: dict[str, str] | None = None
) -> Response:
    """`message` in the encoding of the request: OTLP JSON for JSON requests, else protobuf."""
    if _wants_json(request):
        return Response(json_format.MessageToJson(message, indent=None), status, headers, JSON_CONTENT_TYPE)
    return Response(message.SerializeToString(), status, headers, PROTOBUF_CONTENT_TYPE)


def _refusal_response(request: Request, refusal: Refusal) -> Response:
    """The refusal's HTTP status, with a `google.rpc.Status` body as OTLP/HTTP specifies."""
    headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s is not None else None
    code, _ = refusal.grpc_status.value
    return _message_response(
        request, refusal.http_status, Status(code=code, message=refusal.message), headers
    )
