"""What the query API does as it starts, besides starting the live stream's poller: it exempts the
objects that exist by then from Python's full garbage collections (`app.freeze_startup_objects`)."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient

from hiveboard.api.app import create_app
from hiveboard.storage import Storage
from hiveboard.storage.keys import KeyStore


class _Node:
    """An object in a reference cycle: only a garbage collection frees it."""

    def __init__(self) -> None:
        self.itself = self


def test_startup_freezes_the_objects_of_startup_and_no_garbage(storage: Storage, key_store: KeyStore) -> None:
    gc.unfreeze()
    app = create_app(storage, key_store)
    gc.disable()  # no collection but startup's own until the server has started
    try:
        garbage = weakref.ref(_Node())
        assert garbage() is not None
        with TestClient(app):
            frozen = gc.get_freeze_count()
            assert garbage() is None  # collected before the freeze, not kept for ever
    finally:
        gc.enable()
    assert frozen > 10_000  # the modules, the routes and their validators
