"""The emulation of the plugin's macros against the expansions its own code and tests document."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.grafana.plugin_macros import (
    ALL,
    Selection,
    TimeRange,
    apply_conditional_all,
    expand,
    expand_backend_macros,
    interpolate_variables,
)

RANGE = TimeRange(datetime(2026, 2, 13, 10, 0, tzinfo=UTC), datetime(2026, 2, 13, 11, 0, tzinfo=UTC), 30)
FROM_S, TO_S = 1770976800, 1770980400
CONDITIONAL = "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);"


def test_conditional_all_is_1_eq_1_for_all_or_empty_and_the_condition_otherwise() -> None:
    assert (
        apply_conditional_all(CONDITIONAL, {"fieldVal": Selection([ALL])})
        == "select stuff from table where 1=1;"
    )
    assert (
        apply_conditional_all(CONDITIONAL, {"fieldVal": Selection([])})
        == "select stuff from table where 1=1;"
    )
    assert (
        apply_conditional_all(CONDITIONAL, {"fieldVal": Selection(["a", "b"])})
        == "select stuff from table where fieldVal in ($fieldVal);"
    )


def test_every_conditional_all_is_applied_with_nested_parentheses() -> None:
    sql = "WHERE $__conditionalAll(a IN (f($x)), $x) AND $__conditionalAll(b IN ($y), $y)"
    assert (
        apply_conditional_all(sql, {"x": Selection(["1"]), "y": Selection([ALL])})
        == "WHERE a IN (f($x)) AND 1=1"
    )


def test_variables_use_the_plugin_format_and_all_means_every_option() -> None:
    selections = {
        "agent": Selection(["a", "b"]),
        "env": Selection([ALL], ("prod", "dev")),
        "task": Selection("t-1"),
    }
    sql = "IN (${agent}) IN ($env) = '[[task]]' $__timeFilter(x) $unknown"
    assert (
        interpolate_variables(sql, selections)
        == "IN ('a','b') IN ('prod','dev') = 't-1' $__timeFilter(x) $unknown"
    )


def test_backend_macros_expand_as_pkg_macros_does() -> None:
    sql = "$__timeFilter(Timestamp) $__fromTime $__toTime $__timeInterval(EndTime) $__interval_s $__timeFilter_ms(t)"
    assert expand_backend_macros(sql, RANGE) == (
        f"Timestamp >= toDateTime({FROM_S}) AND Timestamp <= toDateTime({TO_S}) toDateTime({FROM_S}) "
        f"toDateTime({TO_S}) toStartOfInterval(toDateTime(EndTime), INTERVAL 30 second) 30 "
        f"t >= fromUnixTimestamp64Milli({FROM_S}000) AND t <= fromUnixTimestamp64Milli({TO_S}000)"
    )


def test_an_interval_under_a_second_is_one_second() -> None:
    assert expand_backend_macros("$__interval_s", TimeRange(RANGE.start, RANGE.end, 0.2)) == "1"


def test_the_whole_expansion_leaves_no_macro_or_variable() -> None:
    sql = "SELECT 1 FROM t WHERE $__conditionalAll(A IN (${agent}), $agent) AND $__timeFilter(T)"
    expanded = expand(sql, {"agent": Selection(["x"])}, RANGE)
    assert (
        expanded
        == f"SELECT 1 FROM t WHERE A IN ('x') AND T >= toDateTime({FROM_S}) AND T <= toDateTime({TO_S})"
    )
