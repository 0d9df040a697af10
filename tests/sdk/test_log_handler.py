"""HiveBoardLogHandler: WARNING+ records become agent issues; it never loops or raises."""

from __future__ import annotations

import inspect
import json
import logging

import pytest

from hiveloop.contrib.log_handler import HiveBoardLogHandler


@pytest.fixture
def app_logger(captured):
    hb = captured.init(api_key="hb_test_logs")
    agent = hb.agent("log-agent", heartbeat_interval=0)
    logger = logging.getLogger("my_app.crm")
    handler = HiveBoardLogHandler(agent)
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)


def issues(captured):
    return [span["attributes"] for span in captured.as_dicts() if span["name"] == "issue"]


def test_levels_map_to_issue_severities_with_a_stable_id(captured, app_logger):
    first_line = inspect.currentframe().f_lineno + 1  # the line of the info() call
    app_logger.info("routine")  # below WARNING: ignored
    app_logger.warning("CRM slow: %d ms", 900)
    app_logger.error("CRM down")
    app_logger.critical("no API key")

    assert issues(captured) == [
        {
            "hiveboard.agent.id": "log-agent",
            "hiveboard.span.type": "event",
            "hiveboard.event.type": "issue",
            "hiveboard.severity": severity,
            "hiveboard.event.summary": summary,
            "hiveboard.issue.id": f"log-my_app.crm-{level}",
            "hiveboard.issue.action": "reported",
            "hiveboard.issue.severity": issue_severity,
            "hiveboard.issue.category": "log",
            "hiveboard.issue.context": json.dumps(
                {
                    "logger": "my_app.crm",
                    "filename": "test_log_handler.py",
                    "lineno": lineno,
                    "funcName": "test_levels_map_to_issue_severities_with_a_stable_id",
                },
                separators=(",", ":"),
            ),
        }
        for summary, level, issue_severity, severity, lineno in [
            ("CRM slow: 900 ms", "WARNING", "medium", "warn", first_line + 1),
            ("CRM down", "ERROR", "high", "error", first_line + 2),
            ("no API key", "CRITICAL", "critical", "error", first_line + 3),
        ]
    ]


def test_level_and_category_are_configurable(captured):
    hb = captured.init(api_key="hb_test_logs")
    agent = hb.agent("log-agent", heartbeat_interval=0)
    logger = logging.getLogger("my_app.errors_only")
    logger.addHandler(HiveBoardLogHandler(agent, level=logging.ERROR, category="app-log"))
    logger.warning("ignored")
    logger.error("kept")
    assert [(i["hiveboard.event.summary"], i["hiveboard.issue.category"]) for i in issues(captured)] == [
        ("kept", "app-log")
    ]


def test_records_of_hiveloop_and_the_exporter_are_not_forwarded(captured):
    hb = captured.init(api_key="hb_test_logs")
    agent = hb.agent("log-agent", heartbeat_interval=0)
    root = logging.getLogger()
    handler = HiveBoardLogHandler(agent)
    root.addHandler(handler)
    try:
        logging.getLogger("hiveloop").warning("export failing")
        logging.getLogger("opentelemetry.sdk._shared_internal").warning("Queue full, dropping span.")
        logging.getLogger("hiveloop_app").warning("an application logger that merely starts alike")
    finally:
        root.removeHandler(handler)
    assert [i["hiveboard.event.summary"] for i in issues(captured)] == [
        "an application logger that merely starts alike"
    ]


def test_emit_never_raises(captured, monkeypatch):
    hb = captured.init(api_key="hb_test_logs")
    handler = HiveBoardLogHandler(hb.agent("log-agent", heartbeat_interval=0))
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production: handleError stays quiet

    def record(message, *args):
        return logging.LogRecord("my_app", logging.WARNING, __file__, 1, message, args, None)

    handler.emit(record("bad format %d", "not a number"))  # getMessage() raises inside emit
    handler.emit(record("still working"))
    assert [i["hiveboard.event.summary"] for i in issues(captured)] == ["still working"]
