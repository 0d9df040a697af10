"""The dashboard sessions signed out before they expire, shared by every process through storage.

`EndedSessions.end` records a session's id (`hb_ended_sessions`); `is_ended` tells whether a session
was signed out. A process refuses a session it ended itself at once, and one ended by another
process (another `hiveboard api` behind the same load balancer) once it next reads the table, at
most `cache_ttl` seconds later (5 by default, as for revoked API keys), so that checking a session
does not query ClickHouse per request.

Example::

    sessions = EndedSessions(storage)
    sessions.end(session.session_id, session.expires_at)
    sessions.is_ended(session.session_id)  # True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from hiveboard.storage import Storage
from hiveboard.storage.keys import DEFAULT_CACHE_TTL
from hiveboard.storage.schema.ended_sessions_table import ENDED_SESSIONS_COLUMNS, ENDED_SESSIONS_TABLE


class EndedSessions:
    """Sessions signed out, as this process knows them (see the module); `clock` returns seconds
    for the cache's age."""

    def __init__(
        self,
        storage: Storage,
        *,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._cache_ttl = cache_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._ended: frozenset[str] = frozenset()  # as last read from the table
        self._ended_here: set[str] = set()
        self._read_at: float | None = None

    def end(self, session_id: str, expires_at: int) -> None:
        """Record that the session `session_id` (valid until `expires_at`, unix seconds) is over."""
        row = [session_id, datetime.fromtimestamp(expires_at, UTC), datetime.now(UTC)]
        self._storage.insert(ENDED_SESSIONS_TABLE, ENDED_SESSIONS_COLUMNS, [row])
        with self._lock:
            self._ended_here.add(session_id)

    def is_ended(self, session_id: str) -> bool:
        """Whether the session `session_id` was signed out (by another process: up to `cache_ttl`
        seconds ago, not yet known here). Raises `StorageError` when the table cannot be read."""
        with self._lock:
            if session_id in self._ended_here:
                return True
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._cache_ttl:
                rows = self._storage.query(
                    f"SELECT SessionId FROM {ENDED_SESSIONS_TABLE} WHERE ExpiresAt > now()"
                ).rows
                self._ended = frozenset(row[0] for row in rows)
                self._read_at = now
            return session_id in self._ended
