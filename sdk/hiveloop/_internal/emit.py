"""Emitting HiveLoop spans: zero-duration event spans and LLM call spans.

Callers pass the parent context (see `context.parent_context`) and the identity attributes of the
agent or task; everything here is on the agent's call path, so it builds one dict and one span.
Every HiveLoop span starts in `start_span`, which makes its name and attributes encodable.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from hiveboard_semconv.attributes import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    HIVEBOARD_APPROVAL_APPROVED_BY,
    HIVEBOARD_APPROVAL_APPROVER,
    HIVEBOARD_APPROVAL_DECISION,
    HIVEBOARD_ESCALATION_ASSIGNED_TO,
    HIVEBOARD_ESCALATION_REASON,
    HIVEBOARD_EVENT_DATA,
    HIVEBOARD_EVENT_KIND,
    HIVEBOARD_EVENT_SUMMARY,
    HIVEBOARD_EVENT_TYPE,
    HIVEBOARD_LLM_COST,
    HIVEBOARD_LLM_COST_SOURCE,
    HIVEBOARD_LLM_METADATA,
    HIVEBOARD_LLM_NAME,
    HIVEBOARD_LLM_PROMPT_PREVIEW,
    HIVEBOARD_LLM_RESPONSE_PREVIEW,
    HIVEBOARD_LLM_TURN_NUMBER,
    HIVEBOARD_PAYLOAD,
    HIVEBOARD_RETRY_ATTEMPT,
    HIVEBOARD_RETRY_BACKOFF_SECONDS,
    HIVEBOARD_SEVERITY,
    HIVEBOARD_SPAN_TYPE,
    HiveboardEventTypeValues,
    HiveboardLlmCostSourceValues,
    HiveboardSeverityValues,
    HiveboardSpanTypeValues,
)
from hiveloop._internal.payloads import (
    PREVIEW_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    as_float,
    as_int,
    clean_attributes,
    clean_text,
    put,
    to_json,
    truncate,
)

if TYPE_CHECKING:
    from hiveloop._internal.client import HiveBoard

logger = logging.getLogger("hiveloop")

EVENT = HiveboardSpanTypeValues.EVENT
INFO = HiveboardSeverityValues.INFO
WARN = HiveboardSeverityValues.WARN
CHAT = "chat"

# Model-name prefixes of the providers whose GenAI `gen_ai.provider.name` is well known.
_PROVIDER_BY_PREFIX = (
    ("claude", "anthropic"),
    ("gpt", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding", "openai"),
    ("gemini", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("codestral", "mistral_ai"),
    ("command", "cohere"),
    ("grok", "x_ai"),
    ("deepseek", "deepseek"),
)

# Payload keys of `event()` that become typed attributes for the narrative types users emit by hand
# (the integration guide's approval flow outside a task uses `agent.event("approval_requested", ...)`).
_TYPED_PAYLOAD_FIELDS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    HiveboardEventTypeValues.APPROVAL_REQUESTED: (("approver", HIVEBOARD_APPROVAL_APPROVER, str),),
    HiveboardEventTypeValues.APPROVAL_RECEIVED: (
        ("approved_by", HIVEBOARD_APPROVAL_APPROVED_BY, str),
        ("decision", HIVEBOARD_APPROVAL_DECISION, str),
    ),
    HiveboardEventTypeValues.ESCALATED: (
        ("assigned_to", HIVEBOARD_ESCALATION_ASSIGNED_TO, str),
        ("reason", HIVEBOARD_ESCALATION_REASON, str),
    ),
    HiveboardEventTypeValues.RETRY_STARTED: (
        ("attempt", HIVEBOARD_RETRY_ATTEMPT, as_int),
        ("backoff_seconds", HIVEBOARD_RETRY_BACKOFF_SECONDS, as_float),
    ),
}
_WARN_KINDS = frozenset({"anomaly", "error_context"})

# `llm_call(metadata=...)` keys that become typed attributes; the other keys stay in the metadata JSON.
_TYPED_METADATA = {
    "turn_number": HIVEBOARD_LLM_TURN_NUMBER,
    "cache_read_input_tokens": GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    "cache_creation_input_tokens": GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    "stop_reason": GEN_AI_RESPONSE_FINISH_REASONS,
    "provider": GEN_AI_PROVIDER_NAME,
}


@functools.lru_cache(maxsize=1024)
def provider_for_model(model: str) -> str | None:
    """The GenAI provider name implied by a model id (`anthropic/claude-...` or `claude-...`)."""
    if "/" in model:
        return model.split("/", 1)[0] or None
    lowered = model.lower()
    for prefix, provider in _PROVIDER_BY_PREFIX:
        if lowered.startswith(prefix):
            return provider
    return None


def start_span(
    client: HiveBoard,
    name: str,
    parent: Context | None,
    kind: SpanKind,
    attributes: dict[str, Any],
    start_time: int,
) -> trace.Span:
    """Start one of HiveLoop's spans, with a name and attributes the OTLP encoder takes: a value it
    rejects would fail the export of every span batched with it."""
    return client.tracer.start_span(
        clean_text(name, "span name"),
        context=parent,
        kind=kind,
        attributes=clean_attributes(attributes),
        start_time=start_time,
    )


def emit_event(
    client: HiveBoard,
    parent: Context | None,
    identity: Mapping[str, Any],
    event_type: str,
    severity: str,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Emit one narrative event: a span named after its type, with start == end."""
    all_attributes = {
        **identity,
        HIVEBOARD_SPAN_TYPE: EVENT,
        HIVEBOARD_EVENT_TYPE: event_type,
        HIVEBOARD_SEVERITY: severity,
    }
    if attributes:
        all_attributes.update(attributes)
    now = client.now()
    start_span(client, event_type, parent, SpanKind.INTERNAL, all_attributes, now).end(end_time=now)


def emit_user_event(
    client: HiveBoard,
    parent: Context | None,
    identity: Mapping[str, Any],
    event_type: str,
    payload: Mapping[str, Any] | None,
    severity: str | None,
) -> None:
    """`agent.event()` / `task.event()`: a custom event, or a narrative type emitted by hand."""
    event_type = truncate(event_type, 128) if event_type else HiveboardEventTypeValues.CUSTOM
    payload = (
        dict(payload) if isinstance(payload, Mapping) else ({} if payload is None else {"value": payload})
    )
    attributes: dict[str, Any] = {}
    put(attributes, HIVEBOARD_EVENT_SUMMARY, summary_text(payload.get("summary")))
    if event_type == HiveboardEventTypeValues.CUSTOM:
        kind = payload.get("kind")
        put(attributes, HIVEBOARD_EVENT_KIND, None if kind is None else truncate(kind, 128))
        if payload.get("data") is not None:
            attributes[HIVEBOARD_EVENT_DATA] = to_json(payload["data"])
        extra = {k: v for k, v in payload.items() if k not in ("kind", "data", "summary")}
        default_severity = WARN if kind in _WARN_KINDS else INFO
    else:
        fields = _TYPED_PAYLOAD_FIELDS.get(event_type, ())
        for key, attribute, convert in fields:
            value = payload.get(key)
            put(attributes, attribute, None if value is None else convert(value))
        typed = {key for key, _, _ in fields} | {"summary"}
        extra = {k: v for k, v in payload.items() if k not in typed}
        default_severity = (
            WARN
            if event_type
            in (
                HiveboardEventTypeValues.ESCALATED,
                HiveboardEventTypeValues.RETRY_STARTED,
            )
            else INFO
        )
    if extra:
        attributes[HIVEBOARD_PAYLOAD] = to_json(extra)
    emit_event(client, parent, identity, event_type, severity or default_severity, attributes)


def emit_llm_call(
    client: HiveBoard,
    parent: Context | None,
    identity: Mapping[str, Any],
    name: str,
    model: str,
    tokens_in: int | None,
    tokens_out: int | None,
    cost: float | None,
    duration_ms: float | None,
    prompt_preview: str | None,
    response_preview: str | None,
    metadata: Mapping[str, Any] | None,
) -> None:
    """One LLM call: a CLIENT span `chat {model}` that ends now and started `duration_ms` earlier."""
    model = truncate(model, 256) if model else "unknown"
    attributes: dict[str, Any] = {
        **identity,
        HIVEBOARD_SPAN_TYPE: HiveboardSpanTypeValues.LLM,
        GEN_AI_OPERATION_NAME: CHAT,
        GEN_AI_REQUEST_MODEL: model,
        GEN_AI_RESPONSE_MODEL: model,
        HIVEBOARD_LLM_NAME: truncate(name, 256) if name else "llm_call",
    }
    put(attributes, GEN_AI_USAGE_INPUT_TOKENS, as_int(tokens_in))
    put(attributes, GEN_AI_USAGE_OUTPUT_TOKENS, as_int(tokens_out))
    cost_usd = as_float(cost)
    if cost_usd is not None:
        attributes[HIVEBOARD_LLM_COST] = cost_usd  # left out by `start_span`, with a warning, if not finite
        if math.isfinite(cost_usd):
            attributes[HIVEBOARD_LLM_COST_SOURCE] = HiveboardLlmCostSourceValues.REPORTED
    if prompt_preview is not None:
        attributes[HIVEBOARD_LLM_PROMPT_PREVIEW] = truncate(prompt_preview, PREVIEW_MAX_CHARS)
    if response_preview is not None:
        attributes[HIVEBOARD_LLM_RESPONSE_PREVIEW] = truncate(response_preview, PREVIEW_MAX_CHARS)
    provider = None
    if isinstance(metadata, Mapping) and metadata:
        rest = {}
        for key, value in metadata.items():
            typed = _TYPED_METADATA.get(key)
            if typed is None:
                rest[key] = value
            elif key == "stop_reason":
                attributes[GEN_AI_RESPONSE_FINISH_REASONS] = [truncate(value, 128)]
            elif key == "provider":
                provider = truncate(value, 128)
            else:
                put(attributes, typed, as_int(value))
        if rest:
            attributes[HIVEBOARD_LLM_METADATA] = to_json(rest)
    put(attributes, GEN_AI_PROVIDER_NAME, provider or provider_for_model(model))
    end = client.now()
    duration = as_float(duration_ms)
    # OTLP times are unsigned: a duration reaching back before the epoch (or infinite) starts at 0.
    start = end - int(min(duration * 1_000_000, end)) if duration is not None and duration > 0 else end
    start_span(client, f"{CHAT} {model}", parent, SpanKind.CLIENT, attributes, start).end(end_time=end)


def summary_text(value: Any) -> str | None:
    """A summary attribute value: at most 512 characters, None when absent."""
    return None if value is None else truncate(value, SUMMARY_MAX_CHARS)
