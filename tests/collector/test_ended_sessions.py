"""`EndedSessions`: a dashboard session signed out is refused at once by the process that ended it,
and by every other process within the cache's 5 s, which read the table once per 5 s at most."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest

from hiveboard.storage import ChDBStorage
from hiveboard.storage.ended_sessions import EndedSessions
from hiveboard.storage.schema import SchemaConfig, migrate
from tests.collector.test_keys import FakeClock
from tests.storage_proxy import StorageProxy


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChDBStorage]:
    with ChDBStorage(tmp_path_factory.mktemp("ended-sessions")) as opened:
        migrate(opened, SchemaConfig())
        yield opened


def new_session_id() -> str:
    return secrets.token_urlsafe(16)


def test_a_session_ended_here_is_refused_at_once(storage: ChDBStorage) -> None:
    sessions = EndedSessions(storage)
    ended, other = new_session_id(), new_session_id()
    assert not sessions.is_ended(ended)
    sessions.end(ended, int(time.time()) + 3600)
    assert sessions.is_ended(ended) and not sessions.is_ended(other)


def test_a_session_ended_elsewhere_is_refused_within_the_cache_ttl(storage: ChDBStorage) -> None:
    counting, clock = StorageProxy(storage), FakeClock()
    api = EndedSessions(counting, cache_ttl=5.0, clock=clock)
    elsewhere = EndedSessions(storage)  # another process
    session = new_session_id()
    for _ in range(20):
        assert not api.is_ended(session)
    assert counting.queries == 1  # one read of the table serves the cache's 5 s

    elsewhere.end(session, int(time.time()) + 3600)
    clock.now += 4.9
    assert not api.is_ended(session)
    clock.now += 0.1
    assert api.is_ended(session) and counting.queries == 2


def test_a_session_that_would_have_expired_is_no_longer_listed(storage: ChDBStorage) -> None:
    expired, valid = new_session_id(), new_session_id()
    writer = EndedSessions(storage)
    writer.end(expired, int(time.time()) - 1)
    writer.end(valid, int(time.time()) + 60)
    reader = EndedSessions(storage)
    assert reader.is_ended(valid) and not reader.is_ended(expired)
