"""Turning user values into span attribute values without ever failing the call.

Limits are part of the semantic convention: summaries 512 characters, previews 500, JSON payloads
32 KiB. A value that cannot be used is dropped (and logged at debug level), never raised.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("hiveloop")

SUMMARY_MAX_CHARS = 512
PREVIEW_MAX_CHARS = 500
ID_MAX_CHARS = 256
PAYLOAD_MAX_BYTES = 32 * 1024


def truncate(value: Any, limit: int) -> str:
    """`value` as a string of at most `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit]


def to_json(value: Any) -> str:
    """Compact JSON for a nested payload, at most 32 KiB.

    Values JSON cannot encode are stringified. A payload over the limit is replaced by a small valid
    JSON object that says so and keeps the start of the encoded payload.
    """
    try:
        text = json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):  # circular references, keys of odd types
        text = json.dumps(str(value), ensure_ascii=False)
    # A character is at most 4 bytes in UTF-8: only long strings need the exact byte count.
    if len(text) * 4 <= PAYLOAD_MAX_BYTES or len(text.encode()) <= PAYLOAD_MAX_BYTES:
        return text
    size = len(text.encode())
    preview = text.encode()[: PAYLOAD_MAX_BYTES - 256].decode(errors="ignore")
    return json.dumps({"_truncated": True, "_original_bytes": size, "_preview": preview}, ensure_ascii=False)


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
