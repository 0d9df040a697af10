"""The SDK's first promise: observability never breaks the agent."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

logger = logging.getLogger("hiveloop")

P = ParamSpec("P")
R = TypeVar("R")


# Methods that already failed once: their first failure is a warning, later ones debug lines.
_warned: set[str] = set()


def never_raise(method: Callable[P, R]) -> Callable[P, R | None]:
    """Run `method`, turning any exception into a log line and a None result.

    The first failure of each method is logged as a warning (it is usually a call with wrong
    arguments, which the developer needs to see); repeats go to debug so a loop cannot flood logs.
    """
    name = method.__qualname__

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            if name in _warned:
                logger.debug("hiveloop: %s failed", name, exc_info=True)
            else:
                _warned.add(name)
                logger.warning("hiveloop: %s failed and emitted nothing: %r", name, error)
            return None

    return guarded
