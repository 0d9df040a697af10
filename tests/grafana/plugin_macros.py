"""What Grafana and the ClickHouse plugin do to a panel's SQL before ClickHouse sees it, in their order.

1. the plugin's frontend `applyConditionalAll` (src/data/CHDatasource.ts): from the last
   `$__conditionalAll(condition, $var)` backwards, the call becomes `1=1` when the variable's current
   value is All (`$__all`) or empty, else the condition;
2. Grafana's template service replaces `$var`, `${var}` and `[[var]]` of dashboard variables with
   the plugin's format function: a multi-value (array) becomes `'a','b'`, a single value stays as is;
   All means every option value. Names that are not variables (`$__timeFilter`...) are left alone;
3. the plugin's backend macros (pkg/macros/macros.go, through sqlds): `$__timeFilter(col)` ->
   `col >= toDateTime(from) AND col <= toDateTime(to)`, `$__fromTime`/`$__toTime` -> `toDateTime(s)`,
   `$__timeInterval(col)` -> `toStartOfInterval(toDateTime(col), INTERVAL n second)`, `$__interval_s`
   -> `n` (at least 1), and their `_ms` variants with `fromUnixTimestamp64Milli`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

ALL = "$__all"
_CONDITIONAL_ALL = "$__conditionalAll("
# Grafana's variable syntax (public/app/features/variables/utils.ts `variableRegex`).
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?}")
_MACRO = re.compile(r"\$__(\w+)")


@dataclass(frozen=True)
class Selection:
    """A variable's current value (a list for a multi-value variable) and all its option values."""

    value: str | list[str]
    options: tuple[str, ...] = ()

    def is_all_or_empty(self) -> bool:
        # The frontend compares `current.value.toString()`: ['$__all'] -> '$__all', [] -> ''.
        joined = ",".join(self.value) if isinstance(self.value, list) else self.value
        return joined in ("", ALL)

    def formatted(self) -> str:
        values = list(self.options) if self.value in (ALL, [ALL]) else self.value
        if isinstance(values, list):
            return "'" + "','".join(values) + "'"
        return values


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    interval_seconds: float


def _macro_arguments(sql: str, open_index: int) -> tuple[list[str], int]:
    """The comma-separated arguments of the call whose '(' is at `open_index`, and the index after ')'."""
    depth, start, arguments = 0, open_index + 1, []
    for index in range(open_index, len(sql)):
        character = sql[index]
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth == 0:
                arguments.append(sql[start:index])
                return arguments, index + 1
        elif character == "," and depth == 1:
            arguments.append(sql[start:index])
            start = index + 1
    raise ValueError(f"unbalanced parentheses after index {open_index} in {sql!r}")


def apply_conditional_all(sql: str, selections: Mapping[str, Selection]) -> str:
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        arguments, end = _macro_arguments(sql, index + len(_CONDITIONAL_ALL) - 1)
        if len(arguments) != 2:
            return sql
        condition, variable = arguments
        selection = selections.get(variable.strip()[1:])
        phrase = "1=1" if selection is None or selection.is_all_or_empty() else condition
        sql = sql[:index] + phrase + sql[end:]
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


def interpolate_variables(sql: str, selections: Mapping[str, Selection]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        selection = selections.get(name)
        return match.group(0) if selection is None else selection.formatted()

    return _VARIABLE.sub(replace, sql)


def expand_backend_macros(sql: str, time_range: TimeRange) -> str:
    start, end = int(time_range.start.timestamp()), int(time_range.end.timestamp())
    start_ms, end_ms = start * 1000, end * 1000
    seconds = max(int(time_range.interval_seconds), 1)
    milliseconds = max(int(time_range.interval_seconds * 1000), 1)
    with_argument = {
        "timeFilter": lambda column: f"{column} >= toDateTime({start}) AND {column} <= toDateTime({end})",
        "timeFilter_ms": lambda column: (
            f"{column} >= fromUnixTimestamp64Milli({start_ms}) AND {column} <= fromUnixTimestamp64Milli({end_ms})"
        ),
        "timeInterval": lambda column: f"toStartOfInterval(toDateTime({column}), INTERVAL {seconds} second)",
        "timeInterval_ms": lambda column: (
            f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {milliseconds} millisecond)"
        ),
    }
    without_argument = {
        "fromTime": f"toDateTime({start})",
        "toTime": f"toDateTime({end})",
        "fromTime_ms": f"fromUnixTimestamp64Milli({start_ms})",
        "toTime_ms": f"fromUnixTimestamp64Milli({end_ms})",
        "interval_s": str(seconds),
    }
    expanded, position = [], 0
    for match in _MACRO.finditer(sql):
        if match.start() < position:
            continue
        name = match.group(1)
        expanded.append(sql[position : match.start()])
        if name in with_argument:
            arguments, position = _macro_arguments(sql, match.end())
            if len(arguments) != 1:
                raise ValueError(f"$__{name} takes 1 argument, got {arguments}")
            expanded.append(with_argument[name](arguments[0].strip()))
        elif name in without_argument:
            expanded.append(without_argument[name])
            position = match.end()
        else:
            raise ValueError(f"the ClickHouse plugin has no macro $__{name}")
    expanded.append(sql[position:])
    return "".join(expanded)


def expand(sql: str, selections: Mapping[str, Selection], time_range: TimeRange) -> str:
    """`sql` as ClickHouse receives it from the plugin."""
    return expand_backend_macros(
        interpolate_variables(apply_conditional_all(sql, selections), selections), time_range
    )
