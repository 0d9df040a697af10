"""Turning user values into span attribute values without ever failing the call.

Limits are part of the semantic convention: summaries 512 characters, previews 500, JSON payloads
32 KiB. A value that cannot be used is dropped (and logged at debug level), never raised.

`clean_attributes` and `clean_text` are the last step before a span starts or ends: the OTLP
encoder fails a whole export batch, every span in it, on one value it cannot encode, so such a
value is fixed or left out here, where only its own attribute pays.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("hiveloop")

SUMMARY_MAX_CHARS = 512
PREVIEW_MAX_CHARS = 500
ID_MAX_CHARS = 256
PAYLOAD_MAX_BYTES = 32 * 1024
# OTLP carries integers as int64.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Attribute keys whose bad value was already reported: the first one is a warning (the developer
# needs to see it), repeats are debug lines so that a loop cannot flood the logs.
_warned_keys: set[str] = set()


def truncate(value: Any, limit: int) -> str:
    """`value` as a string of at most `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit]


def to_json(value: Any) -> str:
    """Compact JSON for a nested payload, at most 32 KiB.

    Values JSON cannot encode are stringified. A payload over the limit is replaced by a small valid
    JSON object that says so and keeps the start of the encoded payload.
    NaN and infinities, which JSON cannot carry (and which readers of the payload reject), become null.
    """
    try:
        text = _dumps(value)
    except ValueError:  # a NaN or an infinity, or a circular reference
        try:
            text = _dumps(_finite(value))
        except (TypeError, ValueError, RecursionError):
            text = json.dumps(str(value), ensure_ascii=False)
    except TypeError:  # keys of odd types
        text = json.dumps(str(value), ensure_ascii=False)
    # A character is at most 4 bytes in UTF-8: only long strings need the exact byte count. Lone
    # surrogates are counted as OTLP will carry them once `clean_text` replaced them.
    if len(text) * 4 <= PAYLOAD_MAX_BYTES or len(text.encode(errors="surrogatepass")) <= PAYLOAD_MAX_BYTES:
        return text
    encoded = text.encode(errors="surrogatepass")
    size = len(encoded)
    preview = encoded[: PAYLOAD_MAX_BYTES - 256].decode(errors="ignore")
    return json.dumps({"_truncated": True, "_original_bytes": size, "_preview": preview}, ensure_ascii=False)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    """`value` with its non-finite floats, at any depth of dicts, lists and tuples, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def as_int(value: Any) -> int | None:
    """An int attribute value, or None when `value` is absent or not a number."""
    if type(value) is int:  # the common case, first: this runs on every LLM call
        return value
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        logger.debug("hiveloop: ignoring non-integer value %r", value)
        return None


def as_float(value: Any) -> float | None:
    """A double attribute value, or None when `value` is absent or not a number."""
    if type(value) is float:
        return value
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        logger.debug("hiveloop: ignoring non-numeric value %r", value)
        return None


def put(attributes: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` only when `value` is present: absent optional parameters emit no attribute."""
    if value is not None:
        attributes[key] = value


def _warn_once(key: str, problem: str) -> None:
    if key in _warned_keys:
        logger.debug("hiveloop: %s%s", key, problem)
        return
    _warned_keys.add(key)
    logger.warning("hiveloop: %s%s (reported once per attribute; the rest of the span is sent)", key, problem)


def _encodable_text(text: str) -> bool:
    if text.isascii():  # the common case, and a fast one
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str, key: str) -> str:
    """`text` as OTLP can carry it (valid UTF-8): lone surrogates, which Python strings may hold
    (from `surrogateescape` file names, broken JSON...), become U+FFFD."""
    if _encodable_text(text):
        return text
    _warn_once(key, " holds text that is not valid UTF-8; its lone surrogates are replaced by U+FFFD")
    # Through UTF-16 a surrogate pair becomes its character again and a lone one a single U+FFFD.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _encodable(value: Any) -> bool:
    """Whether the OTLP encoder takes `value` as it is (types checked exactly: the common case)."""
    kind = type(value)
    if kind is str:
        return _encodable_text(value)
    if kind is int:
        return INT64_MIN <= value <= INT64_MAX
    if kind is float:
        return math.isfinite(value)
    if kind is bool or kind is bytes:
        return True
    if kind is list or kind is tuple:
        return all(_encodable(item) for item in value)
    return False


def _cleaned(key: str, value: Any) -> Any:
    """`value` made encodable, or None to leave the attribute out."""
    if isinstance(value, bool | bytes):
        return value
    if isinstance(value, str):
        return clean_text(value, key)
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return int(value)
        _warn_once(key, f"={value!r} is outside the 64-bit integer range OTLP carries; it is left out")
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        _warn_once(key, f"={value!r} is not a finite number; it is left out")
        return None
    if isinstance(value, list | tuple):
        items = [_cleaned(key, item) for item in value]
        return None if any(item is None for item in items) else items
    # Other types are not attribute values: the OpenTelemetry SDK drops them itself, with a warning.
    return value


def clean_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """`attributes` with every value the OTLP encoder can take: text made valid UTF-8, integers
    outside int64 and non-finite floats left out, each with one warning per attribute key.

    Returns `attributes` itself when nothing needs fixing, which is nearly always.
    """
    for value in attributes.values():
        # The common cases inline: this runs for every span on the agent's call path.
        kind = type(value)
        if kind is str:
            if value.isascii():
                continue
        elif kind is int:
            if INT64_MIN <= value <= INT64_MAX:
                continue
        elif kind is float:
            if math.isfinite(value):
                continue
        if not _encodable(value):
            break
    else:
        return attributes
    cleaned = {}
    for key, value in attributes.items():
        value = _cleaned(key, value)
        if value is not None:
            cleaned[key] = value
    return cleaned


def tool_payload(
    args: Mapping[str, Any] | None = None,
    result: Any = None,
    success: bool = True,
    error: str | None = None,
    duration_ms: int | None = None,
    tool_category: str | None = None,
    http_status: int | None = None,
    result_size_bytes: int | None = None,
    args_max_len: int = 500,
    result_max_len: int = 1000,
) -> dict[str, Any]:
    """Build a standardized tool payload for `ctx.set_payload()`.

    Argument values are kept when they are numbers, booleans or None, and otherwise stringified and
    truncated to `args_max_len`; the result is stringified and truncated to `result_max_len`.
    Optional fields that are None are left out.

    ```python
    with agent.track_context("search_crm") as ctx:
        rows = crm.search(query)
        ctx.set_payload(hiveloop.tool_payload(args={"query": query}, result=rows, tool_category="crm"))
    ```
    """
    payload: dict[str, Any] = {"success": bool(success)}
    if args is not None:
        try:
            payload["args"] = {
                str(key): value
                if value is None or isinstance(value, bool | int | float)
                else truncate(value, args_max_len)
                for key, value in dict(args).items()
            }
        except (TypeError, ValueError):
            payload["args"] = truncate(args, args_max_len)
    if result is not None:
        payload["result"] = truncate(result, result_max_len)
    for key, value in (
        ("error", None if error is None else truncate(error, result_max_len)),
        ("duration_ms", as_int(duration_ms)),
        ("tool_category", tool_category),
        ("http_status", as_int(http_status)),
        ("result_size_bytes", as_int(result_size_bytes)),
    ):
        put(payload, key, value)
    return payload
