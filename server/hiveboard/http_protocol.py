"""uvicorn's HTTP/1.1 protocol with a deadline on reading requests, for every HTTP port HiveBoard
serves (the query API's and OTLP/HTTP's).

uvicorn closes a kept-alive connection that stays idle after a response (`timeout_keep_alive`), but
sets no deadline before the first byte of a connection, nor while a request's head or body is
arriving: a client that opens a connection and sends nothing, or part of a request line and then
nothing (a slowloris, or a peer gone without closing), holds its connection and its memory for ever,
and enough of them exhaust the server's file descriptors. uvicorn has no option for this (its h11
limits bound the size of a request head, not the time it takes), so the deadline is set here, in
the protocol, the one layer that sees bytes arrive before the application is called:

* a request's head (request line and headers) must arrive within `timeout_s` of the connection
  opening, or of its first byte on a kept-alive connection;
* once the head is in, the body may pause at most `timeout_s` between two reads.

When the deadline passes, the connection is closed without an answer: no well-behaved client is that
slow, and the request's handler, if it was reading the body, sees the client as disconnected.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_CLIENT_TIMEOUT_S = 20.0
"""How long a client may take to send a request's head, or pause within its body (`--client-timeout`)."""


class DeadlineH11Protocol(H11Protocol):
    """`H11Protocol` that closes connections whose request does not arrive within `timeout_s`.

    uvicorn creates the protocol with its configuration only: `with_timeout` makes a subclass bound
    to one timeout, to give `uvicorn.Config(http=...)`.
    """

    timeout_s: float = DEFAULT_CLIENT_TIMEOUT_S

    @classmethod
    def with_timeout(cls, timeout_s: float) -> type[DeadlineH11Protocol]:
        return type(cls.__name__, (cls,), {"timeout_s": timeout_s})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            self._disarm()  # closed, or upgraded to a WebSocket, which has its own pings
        elif self.conn.their_state is h11.SEND_BODY:
            self._arm()  # the body may pause `timeout_s` between reads
        elif self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            if self._read_deadline is None:
                self._arm()  # the first bytes of a head: it must be complete within `timeout_s`
        else:
            self._disarm()  # the request is in (or the client is done): the application answers

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # uvicorn's keep-alive timeout now covers the wait for the next request's first byte.
        self._disarm()
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(self.timeout_s, self._deadline_passed)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _deadline_passed(self) -> None:
        self._read_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
