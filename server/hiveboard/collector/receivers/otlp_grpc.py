"""OTLP/gRPC receiver: TraceService and LogsService on :4317, MetricsService answering UNIMPLEMENTED.

Requests arrive as raw bytes and are parsed here, not by gRPC, so a malformed message is
INVALID_ARGUMENT with a message naming the problem (gRPC's own deserializer would answer INTERNAL),
and the same depth and size guards as OTLP/HTTP apply. Refusals map as in the OTLP specification
(https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-response): UNAUTHENTICATED, PERMISSION_DENIED,
INVALID_ARGUMENT, and UNAVAILABLE with a `RetryInfo` delay, which the OTel exporters honour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from hiveboard.collector.ingest.ingestor import Ingestor, Principal
from hiveboard.collector.receivers.otlp_decoding import parse_export
from hiveboard.collector.receivers.otlp_http import DEFAULT_MAX_BODY_BYTES
from hiveboard.collector.refusals import Refusal, RefusalCode, refusal_for
from hiveboard.http_protocol import DEFAULT_CLIENT_TIMEOUT_S

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
RETRY_INFO_KEY = "google.rpc.retryinfo-bin"

_METRICS_NOT_SUPPORTED = Refusal(
    RefusalCode.UNIMPLEMENTED,
    "HiveBoard does not store OTLP metrics: send traces and logs, and point the metrics exporter "
    "elsewhere or disable it (OTEL_METRICS_EXPORTER=none)",
)

Export = Callable[[Any, Principal], Awaitable[Message]]
Handler = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[Message]]


# Connections are closed after this long even when busy (after `client_timeout_s` of grace for the
# requests in flight), so that clients behind a load balancer spread over new collectors, and no
# connection, however it behaves, lives for ever.
MAX_CONNECTION_AGE_S = 600


def otlp_grpc_server(
    ingestor: Ingestor,
    address: str,
    max_message_bytes: int = DEFAULT_MAX_BODY_BYTES,
    client_timeout_s: float = DEFAULT_CLIENT_TIMEOUT_S,
) -> tuple[grpc.aio.Server, int]:
    """An unstarted `grpc.aio` server with the OTLP services bound to `address` (`0.0.0.0:4317`),
    and the port it bound (useful with port 0). Messages over `max_message_bytes` are refused by
    gRPC with RESOURCE_EXHAUSTED.

    A connection is closed when its client has not completed the HTTP/2 connection preface within
    `client_timeout_s` (a slowloris, or a port scanner), has had no call for `client_timeout_s`
    (clients reconnect by themselves when they next export), does not answer the server's keepalive
    ping within `client_timeout_s` (a peer gone without closing, with a call in flight), or is
    `MAX_CONNECTION_AGE_S` old.

    >>> server, port = otlp_grpc_server(collector.ingestor, "0.0.0.0:4317")  # doctest: +SKIP
    >>> await server.start()  # doctest: +SKIP
    """
    timeout_ms = round(client_timeout_s * 1000)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
            ("grpc.server_handshake_timeout_ms", timeout_ms),
            ("grpc.max_connection_idle_ms", timeout_ms),
            ("grpc.keepalive_time_ms", timeout_ms),
            ("grpc.keepalive_timeout_ms", timeout_ms),
            # Keep pinging a connection whose call sends nothing (by default the server stops after 2).
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_S * 1000),
            ("grpc.max_connection_age_grace_ms", timeout_ms),
        ]
    )
    server.add_generic_rpc_handlers(
        (
            _service(
                TRACE_SERVICE, _export_handler(ingestor, ingestor.export_traces, ExportTraceServiceRequest)
            ),
            _service(LOGS_SERVICE, _export_handler(ingestor, ingestor.export_logs, ExportLogsServiceRequest)),
            _service(METRICS_SERVICE, _metrics_not_supported),
        )
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {address}: is another process using the port?")
    return server, port


def _service(name: str, handler: Handler) -> grpc.GenericRpcHandler:
    """Service `name` with its `Export` method: request as raw bytes, response serialized here."""
    method = grpc.unary_unary_rpc_method_handler(
        handler, request_deserializer=None, response_serializer=_serialize
    )
    return grpc.method_handlers_generic_handler(name, {"Export": method})


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _export_handler(ingestor: Ingestor, export: Export, request_type: type[Message]) -> Handler:
    async def handle(request: bytes, context: grpc.aio.ServicerContext) -> Message:
        try:
            # The metadata pairs, not a dict of them: a repeated key must be refused, not collapsed.
            principal = await ingestor.authenticate(context.invocation_metadata() or ())
            # Not bound to a name: the export lets the parsed request go once its rows are encoded.
            return await export(parse_export(request, request_type), principal)
        except Exception as error:
            refusal = refusal_for(error)
            if refusal is None:
                raise
            await _abort(context, refusal)
        raise AssertionError("unreachable: abort raises")

    return handle


async def _abort(context: grpc.aio.ServicerContext, refusal: Refusal) -> None:
    metadata: tuple[tuple[str, bytes], ...] = ()
    if refusal.retry_after_s is not None:
        delay = RetryInfo(retry_delay=Duration(seconds=refusal.retry_after_s))
        metadata = ((RETRY_INFO_KEY, delay.SerializeToString()),)
    await context.abort(refusal.grpc_status, refusal.message, trailing_metadata=metadata)


async def _metrics_not_supported(request: bytes, context: grpc.aio.ServicerContext) -> Message:
    await _abort(context, _METRICS_NOT_SUPPORTED)
    raise AssertionError("unreachable: abort raises")
