"""Cluster storage: a ClickHouse server (or a cluster behind one address), reached over HTTP(S)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from hiveboard.storage.base import ClientStorage, StorageError, client_options


class ClickHouseServerStorage(ClientStorage):
    """Storage in a ClickHouse server, given a `url` (`https://host:8443`) or `host`/`port`/`secure`.

    `client_factory` builds the clickhouse-connect client (tests pass one that records calls).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        host: str = "localhost",
        port: int | None = None,
        username: str | None = None,
        password: str = "",
        database: str = "hiveboard",
        secure: bool = False,
        client_factory: Callable[..., Client] = clickhouse_connect.get_client,
    ) -> None:
        options: dict[str, Any] = {
            "username": username,
            "password": password,
            # Threads share the client, and a ClickHouse session admits one query at a time.
            "autogenerate_session_id": False,
            **client_options(),
        }
        if url is not None:
            options["dsn"] = url
            target = f"ClickHouse at {_without_credentials(url)}"
        else:
            options.update(host=host, secure=secure)
            if port is not None:
                options["port"] = port
            scheme = "https" if secure else "http"
            target = f"ClickHouse at {scheme}://{host}" + (f":{port}" if port is not None else "")
        try:
            client = client_factory(**options)
        except ClickHouseError as error:
            raise StorageError(
                f"cannot connect to {target}: {error}; check the address, the credentials "
                "and that the server is running"
            ) from error
        super().__init__(client, database, target=target)


def _without_credentials(url: str) -> str:
    """`url` without its `user:password@` part, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
