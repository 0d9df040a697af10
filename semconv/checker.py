"""Load and check the HiveBoard semantic convention registry (a subset of OpenTelemetry Weaver v1 YAML)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REGISTRY_DIR = Path(__file__).resolve().with_name("registry")

GROUP_TYPES = ("attribute_group", "span", "event")
SCALAR_TYPES = ("string", "int", "double", "boolean")
ATTRIBUTE_TYPES = SCALAR_TYPES + tuple(f"{t}[]" for t in SCALAR_TYPES)
STABILITIES = ("stable", "development", "deprecated", "release_candidate", "alpha", "beta")
SPAN_KINDS = ("internal", "client", "server", "producer", "consumer")
REQUIREMENT_LEVELS = ("required", "recommended", "opt_in")
CONDITIONAL_LEVELS = ("conditionally_required", "recommended")
ATTRIBUTE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class RegistryError(ValueError):
    """The registry has problems; the message lists every one of them, one per line."""


@dataclass(frozen=True)
class EnumMember:
    id: str
    value: str | int
    brief: str


@dataclass(frozen=True)
class Attribute:
    id: str
    type: str  # one of ATTRIBUTE_TYPES, or "enum"
    brief: str
    examples: tuple[Any, ...]
    stability: str
    note: str = ""
    members: tuple[EnumMember, ...] = ()

    @property
    def value_type(self) -> str:
        """The type of a value: `type`, except `string` or `int` for an enum."""
        if self.type != "enum":
            return self.type
        return "int" if all(isinstance(m.value, int) for m in self.members) else "string"


@dataclass(frozen=True)
class AttributeGroup:
    id: str
    display_name: str
    brief: str
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class SpanGroup:
    id: str
    span_kind: str
    brief: str
    extends: str | None
    attributes: dict[str, str]  # attribute id -> requirement level, inherited ones included
    note: str = ""
    conditions: dict[str, str] = field(default_factory=dict)  # attribute id -> condition text


@dataclass(frozen=True)
class EventGroup:
    id: str
    name: str
    brief: str
    attributes: dict[str, str]
    conditions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    attributes: dict[str, Attribute]
    spans: dict[str, SpanGroup]
    events: dict[str, EventGroup]
    attribute_groups: dict[str, AttributeGroup] = field(default_factory=dict)

    def enum_values(self, attr_id: str) -> tuple[str | int, ...]:
        """The member values of an enum attribute (empty for other attributes)."""
        return tuple(m.value for m in self.attributes[attr_id].members)

    def validate_attributes(self, attributes: Mapping[str, object], group_id: str | None = None) -> list[str]:
        """Check live attribute values against the registry (and against a span or event group)."""
        errors = []
        for key, value in attributes.items():
            attr = self.attributes.get(key)
            if attr is None:
                errors.append(f"attribute '{key}' is not declared in the registry")
            elif not _matches(attr.value_type, value):
                errors.append(
                    f"attribute '{key}': {type(value).__name__} value {value!r} is not a {attr.type}"
                )
        if group_id is None:
            return errors
        group = self.spans.get(group_id) or self.events.get(group_id)
        if group is None:
            return [*errors, f"group '{group_id}' is not declared in the registry"]
        for key in attributes:
            if key in self.attributes and key not in group.attributes:
                errors.append(f"attribute '{key}' is not listed by group '{group_id}'")
        for key, level in group.attributes.items():
            if level == "required" and key not in attributes:
                errors.append(f"attribute '{key}' is required by group '{group_id}' but missing")
        return errors


def _matches(attr_type: str, value: object) -> bool:
    """Whether a Python value has the registry type (no int for double: the SDK must send floats)."""
    if attr_type.endswith("[]"):
        return isinstance(value, list | tuple) and all(_matches(attr_type[:-2], v) for v in value)
    if attr_type == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "double": float, "boolean": bool}[attr_type])


def _text(value: object) -> str:
    """A brief or note on one line (folded YAML scalars end with a newline)."""
    return " ".join(str(value or "").split())


def _examples(attr_type: str, raw: object) -> list[Any]:
    """The examples as a list (Weaver allows a single example without the list)."""
    if raw is None:
        return []
    if attr_type.endswith("[]"):
        return raw if isinstance(raw, list) and raw and all(isinstance(e, list) for e in raw) else [raw]
    return raw if isinstance(raw, list) else [raw]


def _requirement_level(raw: object) -> tuple[str, str] | None:
    """(level, condition text) of a requirement_level, or None if it is invalid."""
    if isinstance(raw, str) and raw in REQUIREMENT_LEVELS:
        return raw, ""
    if isinstance(raw, dict) and len(raw) == 1:
        ((level, text),) = raw.items()
        if level in CONDITIONAL_LEVELS and isinstance(text, str) and text.strip():
            return level, _text(text)
    return None


def _check_enum(spec: dict, examples: list[Any]) -> list[str]:
    members = spec.get("members")
    if not isinstance(members, list) or not members:
        return ["enum has no members"]
    problems, ids, values = [], set(), []
    for member in members:
        if not isinstance(member, dict):
            problems.append(f"enum member {member!r} is not a mapping")
            continue
        mid, value = member.get("id"), member.get("value")
        if not isinstance(mid, str) or not ATTRIBUTE_ID.fullmatch(mid):
            problems.append(f"enum member id {mid!r} is missing or does not match {ATTRIBUTE_ID.pattern}")
        elif mid in ids:
            problems.append(f"duplicate enum member id '{mid}'")
        else:
            ids.add(mid)
        if isinstance(value, bool) or not isinstance(value, str | int):
            problems.append(f"enum member {mid!r} has value {value!r}: must be a string or an int")
        elif value in values:
            problems.append(f"duplicate enum member value {value!r}")
        else:
            values.append(value)
        if not member.get("brief"):
            problems.append(f"enum member {mid!r} has no brief")
    if len({type(v) for v in values}) > 1:
        problems.append("enum mixes string and int member values")
    problems += [f"example {e!r} is not a member value" for e in examples if e not in values]
    return problems


def _check_attribute(attr: dict) -> list[str]:
    """Problems of one attribute declaration (without the file/group/attribute prefix)."""
    problems = []
    if not isinstance(attr.get("id"), str) or not ATTRIBUTE_ID.fullmatch(attr["id"]):
        problems.append(f"id does not match {ATTRIBUTE_ID.pattern}")
    if not attr.get("brief"):
        problems.append("has no brief")
    if attr.get("stability") not in STABILITIES:
        problems.append(f"stability {attr.get('stability')!r} is not one of {', '.join(STABILITIES)}")
    attr_type = attr.get("type")
    if isinstance(attr_type, dict):
        examples = _examples("string", attr.get("examples"))
        if not examples:
            problems.append("enum attribute has no examples")
        return problems + _check_enum(attr_type, examples)
    if attr_type not in ATTRIBUTE_TYPES:
        return [*problems, f"unknown type {attr_type!r}"]
    examples = _examples(attr_type, attr.get("examples"))
    if not examples and attr_type in ("string", "string[]"):
        problems.append(f"{attr_type} attribute has no examples")
    problems += [f"example {e!r} is not a {attr_type}" for e in examples if not _matches(attr_type, e)]
    return problems


def _check_refs(group: dict, declared: Mapping[str, str]) -> list[str]:
    """Problems of the attribute references of a span or event group."""
    entries = group.get("attributes", [])
    if not isinstance(entries, list):
        return ["'attributes' must be a list"]
    problems, seen = [], set()
    for entry in entries:
        ref = entry.get("ref") if isinstance(entry, dict) else None
        if not isinstance(ref, str):
            problems.append(f"attribute entry {entry!r} has no ref")
            continue
        if ref not in declared:
            problems.append(f"ref '{ref}' names no declared attribute")
        if ref in seen:
            problems.append(f"attribute '{ref}' is listed twice")
        seen.add(ref)
        level = entry.get("requirement_level", "recommended")
        if _requirement_level(level) is None:
            problems.append(f"attribute '{ref}': invalid requirement_level {level!r}")
    return problems


def _extends_cycle(group_id: str, groups: Mapping[str, dict]) -> list[str] | None:
    """The chain of `extends` from a group back to itself, or None if it does not loop back."""
    chain, current = [group_id], groups[group_id].get("extends")
    while isinstance(current, str) and current in groups and current not in chain:
        chain.append(current)
        current = groups[current].get("extends")
    return [*chain, current] if current == group_id else None


def check_registry(documents: Mapping[str, object]) -> list[str]:
    """Every problem of the parsed registry files (file name -> YAML document), each naming its place."""
    problems: list[str] = []
    groups: dict[str, dict] = {}  # group id -> group, for the checks that need every group
    places: dict[str, str] = {}  # group id -> "file: group 'id'"
    declared: dict[str, str] = {}  # attribute id -> place
    for file_name, doc in documents.items():
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            problems.append(f"{file_name}: top level must be a mapping with a 'groups' list")
            continue
        for index, group in enumerate(doc["groups"], 1):
            gid = group.get("id") if isinstance(group, dict) else None
            where = f"{file_name}: group '{gid}'" if isinstance(gid, str) else f"{file_name}: group #{index}"
            if not isinstance(group, dict):
                problems.append(f"{where}: is not a mapping")
                continue
            if not isinstance(gid, str) or not gid:
                problems.append(f"{where}: has no id")
            elif gid in groups:
                problems.append(f"{where}: duplicate group id (first in {places[gid]})")
            if group.get("type") not in GROUP_TYPES:
                problems.append(f"{where}: type {group.get('type')!r} is not one of {', '.join(GROUP_TYPES)}")
            if not group.get("brief"):
                problems.append(f"{where}: has no brief")
            if isinstance(gid, str) and gid not in groups:
                groups[gid], places[gid] = group, where
            if group.get("type") != "attribute_group":
                continue
            entries = group.get("attributes", [])
            for attr in entries if isinstance(entries, list) else [None]:
                if not isinstance(attr, dict) or not isinstance(attr.get("id"), str):
                    problems.append(f"{where}: attribute entry {attr!r} has no id")
                    continue
                aid = attr["id"]
                problems += [f"{where}: attribute '{aid}': {p}" for p in _check_attribute(attr)]
                if aid in declared:
                    problems.append(
                        f"{where}: attribute '{aid}': duplicate attribute id (first in {declared[aid]})"
                    )
                else:
                    declared[aid] = where

    for gid, group in groups.items():
        where, group_type = places[gid], group.get("type")
        if group_type == "span" and group.get("span_kind") not in SPAN_KINDS:
            problems.append(
                f"{where}: span_kind {group.get('span_kind')!r} is not one of {', '.join(SPAN_KINDS)}"
            )
        if group_type == "event" and not group.get("name"):
            problems.append(f"{where}: event group has no name")
        if group_type in ("span", "event"):
            problems += [f"{where}: {p}" for p in _check_refs(group, declared)]
        parent = group.get("extends")
        if parent is None:
            continue
        if not isinstance(parent, str) or parent not in groups:
            problems.append(f"{where}: extends unknown group {parent!r}")
        elif groups[parent].get("type") != group_type:
            problems.append(
                f"{where}: extends '{parent}' of type {groups[parent].get('type')!r}, not {group_type!r}"
            )
        elif cycle := _extends_cycle(gid, groups):
            problems.append(f"{where}: extends cycle {' -> '.join(cycle)}")
    return problems


def _requirements(group_id: str, groups: Mapping[str, dict]) -> dict[str, tuple[str, str]]:
    """Attribute id -> (level, condition) of a checked group, its parents' attributes first."""
    group = groups[group_id]
    result = _requirements(group["extends"], groups) if group.get("extends") else {}
    for entry in group.get("attributes", []):
        result[entry["ref"]] = _requirement_level(entry.get("requirement_level", "recommended"))
    return result


def _attribute(attr: dict) -> Attribute:
    attr_type = attr["type"]
    if isinstance(attr_type, dict):
        members = tuple(EnumMember(m["id"], m["value"], _text(m["brief"])) for m in attr_type["members"])
        attr_type, examples = "enum", _examples("string", attr.get("examples"))
    else:
        members, examples = (), _examples(attr_type, attr.get("examples"))
    return Attribute(
        attr["id"],
        attr_type,
        _text(attr["brief"]),
        tuple(examples),
        attr["stability"],
        _text(attr.get("note")),
        members,
    )


def _build(documents: Mapping[str, Any]) -> Registry:
    """The Registry of documents that passed check_registry."""
    groups = {group["id"]: group for doc in documents.values() for group in doc["groups"]}
    registry = Registry({}, {}, {})
    for gid, group in groups.items():
        if group["type"] == "attribute_group":
            attrs = [_attribute(a) for a in group.get("attributes", [])]
            registry.attributes.update((a.id, a) for a in attrs)
            registry.attribute_groups[gid] = AttributeGroup(
                gid,
                _text(group.get("display_name") or gid),
                _text(group["brief"]),
                tuple(a.id for a in attrs),
            )
            continue
        requirements = _requirements(gid, groups)
        levels = {ref: level for ref, (level, _) in requirements.items()}
        conditions = {ref: text for ref, (_, text) in requirements.items() if text}
        if group["type"] == "span":
            registry.spans[gid] = SpanGroup(
                gid,
                group["span_kind"],
                _text(group["brief"]),
                group.get("extends"),
                levels,
                _text(group.get("note")),
                conditions,
            )
        else:
            registry.events[gid] = EventGroup(gid, group["name"], _text(group["brief"]), levels, conditions)
    return registry


def load_registry(directory: Path = REGISTRY_DIR) -> Registry:
    """Read every *.yaml of the directory (sorted), check it, and return the Registry.

    Raises RegistryError listing every problem found.
    """
    documents: dict[str, object] = {}
    problems: list[str] = []
    paths = sorted(Path(directory).glob("*.yaml"))
    if not paths:
        problems.append(f"{directory}: no *.yaml files")
    for path in paths:
        try:
            documents[path.name] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: invalid YAML: {exc}")
    problems += check_registry(documents)
    if problems:
        raise RegistryError(
            f"{len(problems)} problem(s) in the registry {directory}:\n" + "\n".join(problems)
        )
    return _build(documents)
