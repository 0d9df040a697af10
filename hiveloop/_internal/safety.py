"""The SDK's first promise: observability never breaks the agent."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

logger = logging.getLogger("hiveloop")

P = ParamSpec("P")
R = TypeVar("R")


def never_raise(method: Callable[P, R]) -> Callable[P, R | None]:
    """Run `method`, turning any exception into a debug log line and a None result."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return method(*args, **kwargs)
        except Exception:
            logger.debug("hiveloop: %s failed", method.__qualname__, exc_info=True)
            return None

    return guarded
