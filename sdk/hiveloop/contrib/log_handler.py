"""Forward an application's WARNING+ log records to HiveBoard as agent issues."""

from __future__ import annotations

import logging
import threading

from hiveloop._internal.agent import Agent
from hiveloop._internal.safety import never_raise

# Records of these loggers are never forwarded: HiveLoop's and the exporter's own warnings about a
# failing export would otherwise become spans that fail to export in turn.
_IGNORED_LOGGERS = ("hiveloop", "opentelemetry", "urllib3", "requests")


def _is_ignored(logger_name: str) -> bool:
    root = logger_name.split(".", 1)[0]
    return root in _IGNORED_LOGGERS


_SEVERITY_BY_LEVEL = ((logging.CRITICAL, "critical"), (logging.ERROR, "high"), (logging.WARNING, "medium"))


class HiveBoardLogHandler(logging.Handler):
    """A `logging.Handler` that reports each record at `level` or above with `agent.report_issue()`.

    WARNING becomes a medium issue, ERROR high, CRITICAL critical. Records of one logger and level
    share the issue id `log-{logger}-{LEVEL}`, so repeats count as one issue. `emit()` never raises.

    ```python
    from hiveloop.contrib.log_handler import HiveBoardLogHandler

    logging.getLogger("my_app").addHandler(HiveBoardLogHandler(agent))
    ```
    """

    def __init__(self, agent: Agent, level: int = logging.WARNING, category: str = "log") -> None:
        super().__init__(level)
        self.agent = agent
        self.category = category
        self._emitting = threading.local()

    @never_raise
    def emit(self, record: logging.LogRecord) -> None:
        """Report `record` as an issue. Any record, however malformed, gives at most a warning of the
        `hiveloop` logger (which this handler never forwards), never an exception."""
        logger_name = str(record.name)
        if _is_ignored(logger_name) or getattr(self._emitting, "active", False):
            return
        self._emitting.active = True
        try:
            level = record.levelno if isinstance(record.levelno, int) else logging.WARNING
            severity = next((name for limit, name in _SEVERITY_BY_LEVEL if level >= limit), "low")
            self.agent.report_issue(
                summary=_message(record),
                severity=severity,
                issue_id=f"log-{logger_name}-{record.levelname}",
                category=self.category,
                context={
                    "logger": logger_name,
                    "filename": record.filename,
                    "lineno": record.lineno,
                    "funcName": record.funcName,
                },
            )
        finally:
            self._emitting.active = False


def _message(record: logging.LogRecord) -> str:
    """The record's message; when its arguments do not fit its format, the format itself and the
    arguments, so the issue still says what was logged."""
    try:
        return record.getMessage()
    except Exception:
        return f"{record.msg} (logging arguments that do not fit the message: {record.args!r})"
