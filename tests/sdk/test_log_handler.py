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


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


def _record(**fields):
    record = logging.LogRecord("my_app", logging.WARNING, __file__, 1, "ok", None, None)
    record.__dict__.update(fields)
    return record


@pytest.mark.parametrize(
    "record",
    [
        _record(msg="bad format %d", args=("not a number",)),
        _record(msg="%(missing)s", args=({"other": 1},)),
        _record(msg=Unprintable()),
        _record(msg=None, args=None),
        _record(msg=12345),
        _record(name=None),
        _record(name=42),
        _record(levelno=None, levelname=None),
        _record(levelno="WARNING"),
        _record(lineno="?", filename=None, funcName=None),
        logging.makeLogRecord({}),
    ],
    ids=[
        "bad-format-args", "missing-mapping-key", "unprintable-msg", "none-msg", "int-msg", "no-name",
        "int-name", "no-level", "string-level", "odd-location", "bare-record",
    ],
)  # fmt: skip
def test_emit_never_raises_nor_prints_for_any_record(captured, capsys, record):
    hb = captured.init(api_key="hb_test_logs")
    handler = HiveBoardLogHandler(hb.agent("log-agent", heartbeat_interval=0))
    assert logging.raiseExceptions  # the default: a handler's own errors would print a traceback

    handler.emit(record)
    handler.emit(_record(msg="still working"))

    assert capsys.readouterr().err == ""
    assert issues(captured)[-1]["hiveboard.event.summary"] == "still working"


def test_a_record_whose_arguments_do_not_fit_is_still_reported(captured):
    hb = captured.init(api_key="hb_test_logs")
    handler = HiveBoardLogHandler(hb.agent("log-agent", heartbeat_interval=0))
    handler.emit(_record(msg="bad format %d", args=("not a number",)))
    handler.emit(_record(name=None, msg="anonymous"))
    assert [(i["hiveboard.event.summary"], i["hiveboard.issue.id"]) for i in issues(captured)] == [
        (
            "bad format %d (logging arguments that do not fit the message: ('not a number',))",
            "log-my_app-WARNING",
        ),
        ("anonymous", "log-None-WARNING"),
    ]
