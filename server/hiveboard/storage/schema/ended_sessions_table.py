"""`hb_ended_sessions`: dashboard sessions signed out before they expire.

A session cookie is signed, not stored (`hiveboard.api.dashboard.sessions`), so deleting it from the
browser at sign-out would leave any copy of it valid until it expires. Signing out records the
session's id here with its expiry, and every `hiveboard api` process refuses the sessions listed
(`hiveboard.storage.ended_sessions.EndedSessions`, the only writer and reader). A row goes once its
session would have expired anyway (TTL).
"""

from __future__ import annotations

from hiveboard.storage.schema.ddl import engine, on_cluster, qualified

ENDED_SESSIONS_TABLE = "hb_ended_sessions"

ENDED_SESSIONS_COLUMNS = ("SessionId", "ExpiresAt", "EndedAt")
"""The columns of `hb_ended_sessions`, in table order (for inserts)."""


def statements(database: str, cluster_name: str | None) -> list[str]:
    """The `hb_ended_sessions` table: one row per session signed out, until it would have expired."""
    return [
        "\n".join(
            [
                f"CREATE TABLE IF NOT EXISTS {qualified(database, ENDED_SESSIONS_TABLE)}"
                f"{on_cluster(cluster_name)} (",
                "    SessionId String,",
                "    ExpiresAt DateTime('UTC'),",
                "    EndedAt DateTime64(3, 'UTC')",
                f") ENGINE = {engine('MergeTree', cluster_name)}",
                "ORDER BY SessionId",
                "TTL ExpiresAt",
                "COMMENT 'Dashboard sessions signed out before they expire, refused by every API process'",
            ]
        )
    ]
