"""Write attributes.py and REFERENCE.md from the registry.

Usage: `python -m semconv.generate [--check]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from semconv.checker import Attribute, Registry, RegistryError, load_registry

CONSTANTS_PATH = Path(__file__).resolve().with_name("attributes.py")
REFERENCE_PATH = Path(__file__).resolve().parents[1] / "REFERENCE.md"
COMMAND = "python -m semconv.generate"
LINE_LENGTH = 110


def constant_name(attr_id: str) -> str:
    """`hiveboard.agent.id` -> `HIVEBOARD_AGENT_ID`."""
    return attr_id.upper().replace(".", "_")


def class_name(attr_id: str) -> str:
    """`hiveboard.event.type` -> `HiveboardEventTypeValues`."""
    return "".join(part.capitalize() for part in re.split(r"[._]", attr_id)) + "Values"


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _docstring(text: str, indent: str = "") -> list[str]:
    """A docstring, on one line if it fits, else wrapped to LINE_LENGTH."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text = text[:-1] + '\\"'
    if len(indent) + len(text) + 6 <= LINE_LENGTH:
        return [f'{indent}"""{text}"""']
    lines = textwrap.wrap(text, LINE_LENGTH - len(indent) - 3, break_long_words=False, break_on_hyphens=False)
    return [f'{indent}"""{lines[0]}', *(indent + line for line in lines[1:]), f'{indent}"""']


def render_constants(registry: Registry) -> str:
    """The source of attributes.py: a constant per attribute and a class of values per enum."""
    lines = [
        f"# Generated from semconv/registry by `{COMMAND}`. Do not edit by hand.",
        '"""HiveBoard semantic convention: attribute names and enum values."""',
        "",
        "from typing import Final",
    ]
    for attr in sorted(registry.attributes.values(), key=lambda a: a.id):
        lines += ["", f"{constant_name(attr.id)}: Final = {_literal(attr.id)}", *_docstring(attr.brief)]
        if not attr.members:
            continue
        lines += ["", "", f"class {class_name(attr.id)}:"]
        lines += _docstring(f"Values of `{attr.id}` (an open enum: other values are allowed).", "    ")
        for member in attr.members:
            lines += ["", f"    {constant_name(member.id)}: Final = {_literal(member.value)}"]
            lines += _docstring(member.brief, "    ")
        lines.append("")
    return "\n".join(lines) + "\n"


def _code(value: object) -> str:
    """A value as inline Markdown code."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _type(attr: Attribute) -> str:
    return f"{attr.value_type} enum" if attr.members else attr.type


def _requirements_table(registry: Registry, levels: dict[str, str], conditions: dict[str, str]) -> list[str]:
    rows = []
    for attr_id, level in levels.items():
        attr = registry.attributes[attr_id]
        requirement = f"{level}: {conditions[attr_id]}" if attr_id in conditions else level
        rows.append([_code(attr_id), _type(attr), requirement, attr.brief])
    return _table(["Attribute", "Type", "Requirement level", "Description"], rows)


def render_reference(registry: Registry) -> str:
    """The text of REFERENCE.md."""
    lines = [
        "# HiveBoard semantic convention",
        "",
        "The HiveBoard semantic convention declares every attribute the HiveLoop SDK sets on its",
        "OpenTelemetry resource and spans, and the spans and span events that carry them. Its source is the",
        "registry in `semconv/registry/` (OpenTelemetry Weaver v1 YAML syntax). This file and",
        "`semconv/hiveboard_semconv/attributes.py` are generated from it and must not be edited by hand:",
        f"after changing the registry, run `PYTHONPATH=semconv {COMMAND}`.",
        "Enums are open: values not listed here are allowed.",
        "",
        "## Attributes",
        "",
    ]
    for group in registry.attribute_groups.values():
        attrs = [registry.attributes[attr_id] for attr_id in group.attributes]
        lines += [f"### {group.display_name}", "", f"{_code(group.id)}: {group.brief}", ""]
        rows = [
            [
                _code(a.id),
                _type(a),
                f"{a.brief} {a.note}".strip(),
                ", ".join(_code(e) for e in a.examples),
                a.stability,
            ]
            for a in attrs
        ]
        lines += _table(["Attribute", "Type", "Description", "Examples", "Stability"], rows)
        for attr in (a for a in attrs if a.members):
            lines += [f"Values of {_code(attr.id)}:", ""]
            lines += [f"- {_code(m.value)}: {m.brief}" for m in attr.members]
            lines.append("")
    lines += ["## Spans", ""]
    for span in registry.spans.values():
        lines += [f"### {_code(span.id)}", "", f"Span kind: `{span.span_kind}`.", "", span.brief, ""]
        if span.note:
            lines += [span.note, ""]
        if span.extends:
            lines += [f"Extends {_code(span.extends)}: its attributes are included below.", ""]
        lines += _requirements_table(registry, span.attributes, span.conditions)
    lines += ["## Events", ""]
    for event in registry.events.values():
        lines += [f"### {_code(event.id)}", "", f"Event name: `{event.name}`.", "", event.brief, ""]
        lines += _requirements_table(registry, event.attributes, event.conditions)
    return "\n".join(lines).rstrip("\n") + "\n"


def outputs(registry: Registry) -> dict[Path, str]:
    """Each generated file and the text it should have."""
    return {CONSTANTS_PATH: render_constants(registry), REFERENCE_PATH: render_reference(registry)}


def stale_files(registry: Registry | None = None) -> list[Path]:
    """The generated files whose content differs from what the registry generates."""
    if registry is None:
        registry = load_registry()
    return [
        path
        for path, text in outputs(registry).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a generated file is stale"
    )
    args = parser.parse_args(argv)
    try:
        registry = load_registry()
    except RegistryError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        stale = stale_files(registry)
        for path in stale:
            print(f"{path} is stale: run {COMMAND}")
        return 1 if stale else 0
    for path, text in outputs(registry).items():
        path.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
