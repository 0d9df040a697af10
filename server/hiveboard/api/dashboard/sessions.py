"""Dashboard sessions: signed cookies, the server secret that signs them, and one-time sign-in links.

A session cookie is `<key id>.<session id>.<expiry, unix seconds>.<HMAC-SHA256 of the three>`: it
names the API key the browser signed in with but does not hold it, and any `hiveboard api` process
that knows the secret can check it. Every request still looks the key up
(`KeyStore.authenticate_id`, cached 5 s), so revoking the key ends its sessions, and the session up
(`hiveboard.storage.ended_sessions`, cached as long), so signing out ends the session everywhere,
copies of the cookie included.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SESSION_COOKIE: Final = "hiveboard_session"
# A header a cross-site HTML form cannot set: cookie-authenticated changes must carry it.
CSRF_HEADER: Final = "X-HiveBoard-CSRF"
SESSION_SECRET_ENV: Final = "HIVEBOARD_SESSION_SECRET"
SECRET_FILE_NAME: Final = "session-secret"
# A working day: long enough not to interrupt, short enough that a forgotten browser signs out.
SESSION_LIFETIME_S: Final = 12 * 3600
_SECRET_BYTES = 32
_SESSION_ID_BYTES = 16


@dataclass(frozen=True)
class Session:
    """A verified session: the id of the key it was signed in with, its own random id, and when it
    expires (unix seconds)."""

    key_id: str
    session_id: str
    expires_at: int


class SessionSigner:
    """Makes and checks session cookies with `secret`; `clock` returns unix seconds."""

    def __init__(
        self, secret: bytes, *, lifetime_s: int = SESSION_LIFETIME_S, clock: Callable[[], float] = time.time
    ) -> None:
        if len(secret) < 16:
            raise ValueError(f"the session secret must be at least 16 bytes; set {SESSION_SECRET_ENV}")
        self._secret = secret
        self._lifetime_s = lifetime_s
        self._clock = clock

    @property
    def lifetime_s(self) -> int:
        return self._lifetime_s

    def sign(self, key_id: str) -> str:
        """A cookie value for a new session of `key_id` that expires `lifetime_s` from now."""
        session_id = secrets.token_urlsafe(_SESSION_ID_BYTES)
        payload = f"{key_id}.{session_id}.{int(self._clock()) + self._lifetime_s}"
        return f"{payload}.{self._signature(payload)}"

    def verify(self, cookie: str | None) -> Session | None:
        """The session `cookie` holds; None when it is absent, forged, malformed or expired."""
        if not cookie:
            return None
        payload, _, signature = cookie.rpartition(".")
        # As bytes: compare_digest refuses str with non-ASCII characters, which a crafted cookie may hold.
        if not hmac.compare_digest(signature.encode(), self._signature(payload).encode()):
            return None
        rest, _, expires = payload.rpartition(".")
        key_id, _, session_id = rest.rpartition(".")
        if not key_id or not session_id or not expires.isdigit() or int(expires) <= self._clock():
            return None
        return Session(key_id, session_id, int(expires))

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_secret(data_dir: Path | None) -> bytes:
    """The secret that signs sessions: `HIVEBOARD_SESSION_SECRET`, else the one kept in `data_dir`
    (created on first use, readable by its owner only), else a new one for this process.

    Several `hiveboard api` processes behind one load balancer must share it: set the variable.
    """
    from_environment = os.environ.get(SESSION_SECRET_ENV)
    if from_environment:
        return from_environment.encode()
    if data_dir is None:
        return secrets.token_bytes(_SECRET_BYTES)
    secret_file = data_dir / SECRET_FILE_NAME
    if secret_file.exists():
        kept = secret_file.read_text().strip()
        if kept:
            return kept.encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    secret_file.touch(mode=0o600)
    secret_file.write_text(secret + "\n")
    return secret.encode()


class SignInTokens:
    """One-time tokens of sign-in links, as Jupyter prints: each signs one browser in, once.

    Tokens live in the process that printed them (`hiveboard serve` is one process), hashed.
    """

    def __init__(self) -> None:
        self._key_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def issue(self, key_id: str) -> str:
        """A new token that signs in as the key `key_id`."""
        token = secrets.token_urlsafe(_SECRET_BYTES)
        with self._lock:
            self._key_ids[_token_hash(token)] = key_id
        return token

    def redeem(self, token: str) -> str | None:
        """The key id of `token`, which is then dead; None for a used or unknown token."""
        with self._lock:
            return self._key_ids.pop(_token_hash(token), None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
