"""Tests of the semantic convention registry: real registry, checker, live check, generator."""

import ast
from pathlib import Path

import pytest

import hiveboard_semconv
from semconv import generate
from semconv.checker import Registry, RegistryError, load_registry

ATTRIBUTES = """\
groups:
  - id: registry.test
    type: attribute_group
    brief: Test attributes.
    attributes:
      - id: test.name
        type: string
        stability: development
        brief: A name.
        examples: ["x"]
      - id: test.count
        type: int
        stability: development
        brief: A count.
        examples: [3]
      - id: test.ratio
        type: double
        stability: stable
        brief: A ratio.
        examples: [0.5]
      - id: test.flag
        type: boolean
        stability: development
        brief: A flag.
      - id: test.tags
        type: string[]
        stability: development
        brief: Some tags.
        examples: [["a", "b"]]
      - id: test.kind
        type:
          members:
            - {id: alpha, value: "alpha", brief: "First.", stability: development}
            - {id: beta_two, value: "beta_two", brief: "Second.", stability: development}
        stability: development
        brief: A kind.
        examples: ["alpha"]
"""

SPANS = """\
groups:
  - id: span.test.base
    type: span
    span_kind: internal
    brief: Base span.
    attributes:
      - {ref: test.name, requirement_level: required}
  - id: span.test.child
    type: span
    span_kind: client
    brief: Child span.
    extends: span.test.base
    attributes:
      - {ref: test.count, requirement_level: {conditionally_required: "if counted"}}
      - {ref: test.kind, requirement_level: recommended}
  - id: event.test
    type: event
    name: test
    brief: Test event.
    attributes:
      - {ref: test.ratio, requirement_level: opt_in}
"""


def _write(directory: Path, **files: str) -> Path:
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


def _error(directory: Path, **files: str) -> str:
    """The RegistryError message of a registry made of ATTRIBUTES and SPANS with `files` overriding them."""
    _write(directory, **{"attributes": ATTRIBUTES, "spans": SPANS, **files})
    with pytest.raises(RegistryError) as info:
        load_registry(directory)
    return str(info.value)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


# ---- The real registry ----


def test_real_registry(registry: Registry) -> None:
    assert registry.attributes["hiveboard.agent.id"].type == "string"
    assert registry.attributes["hiveboard.event.type"].type == "enum"
    assert "heartbeat" in registry.enum_values("hiveboard.event.type")
    plan_step = registry.spans["span.hiveboard.event.plan_step"]
    assert plan_step.extends == "span.hiveboard.event"
    assert plan_step.attributes["hiveboard.agent.id"] == "required"
    assert plan_step.attributes["hiveboard.plan.step.index"] == "required"


def test_tiny_registry_loads(tmp_path: Path) -> None:
    registry = load_registry(_write(tmp_path, attributes=ATTRIBUTES, spans=SPANS))
    child = registry.spans["span.test.child"]
    assert child.attributes == {
        "test.name": "required",
        "test.count": "conditionally_required",
        "test.kind": "recommended",
    }
    assert child.conditions == {"test.count": "if counted"}
    assert registry.events["event.test"].attributes == {"test.ratio": "opt_in"}
    assert registry.enum_values("test.kind") == ("alpha", "beta_two")
    assert registry.attributes["test.tags"].examples == (["a", "b"],)


# ---- The checker: each case breaks the tiny registry in one way ----

CHECKER_CASES = {
    "bad id syntax": (
        "attributes", "id: test.flag", "id: test.Flag",
        "attributes.yaml: group 'registry.test': attribute 'test.Flag': id does not match",
    ),
    "unknown type": (
        "attributes", "type: boolean", "type: bool",
        "attributes.yaml: group 'registry.test': attribute 'test.flag': unknown type 'bool'",
    ),
    "missing brief": (
        "attributes", "brief: A name.", "note: no brief",
        "attributes.yaml: group 'registry.test': attribute 'test.name': has no brief",
    ),
    "bad stability": (
        "attributes", "stability: stable", "stability: solid",
        "attribute 'test.ratio': stability 'solid' is not one of",
    ),
    "string without examples": (
        "attributes", 'examples: ["x"]', "",
        "attributes.yaml: group 'registry.test': attribute 'test.name': string attribute has no examples",
    ),
    "double example not a float": (
        "attributes", "examples: [0.5]", "examples: [1]",
        "attribute 'test.ratio': example 1 is not a double",
    ),
    "string[] example not a list of strings": (
        "attributes", 'examples: [["a", "b"]]', 'examples: [["a", 2]]',
        "attribute 'test.tags': example ['a', 2] is not a string[]",
    ),
    "enum example not a member": (
        "attributes", 'examples: ["alpha"]', 'examples: ["gamma"]',
        "attribute 'test.kind': example 'gamma' is not a member value",
    ),
    "duplicate enum value": (
        "attributes", 'value: "beta_two"', 'value: "alpha"',
        "attribute 'test.kind': duplicate enum member value 'alpha'",
    ),
    "unknown group type": (
        "attributes", "type: attribute_group", "type: metric",
        "attributes.yaml: group 'registry.test': type 'metric' is not one of",
    ),
    "unknown ref": (
        "spans", "ref: test.count", "ref: test.missing",
        "spans.yaml: group 'span.test.child': ref 'test.missing' names no declared attribute",
    ),
    "bad span_kind": (
        "spans", "span_kind: client", "span_kind: sideways",
        "spans.yaml: group 'span.test.child': span_kind 'sideways' is not one of",
    ),
    "extends cycle": (
        "spans", "span_kind: internal\n", "span_kind: internal\n    extends: span.test.child\n",
        "group 'span.test.base': extends cycle span.test.base -> span.test.child -> span.test.base",
    ),
    "extends unknown group": (
        "spans", "extends: span.test.base", "extends: span.test.nope",
        "spans.yaml: group 'span.test.child': extends unknown group 'span.test.nope'",
    ),
    "extends a group of another type": (
        "spans", "extends: span.test.base", "extends: event.test",
        "spans.yaml: group 'span.test.child': extends 'event.test' of type 'event', not 'span'",
    ),
    "bad requirement_level": (
        "spans", "requirement_level: recommended", "requirement_level: mandatory",
        "spans.yaml: group 'span.test.child': attribute 'test.kind': invalid requirement_level 'mandatory'",
    ),
    "bad conditional requirement_level": (
        "spans", "{conditionally_required:", "{sometimes:",
        "attribute 'test.count': invalid requirement_level {'sometimes': 'if counted'}",
    ),
    "event without name": (
        "spans", "    name: test\n", "",
        "spans.yaml: group 'event.test': event group has no name",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "expected"), CHECKER_CASES.values(), ids=CHECKER_CASES.keys())
def test_checker_rule(tmp_path: Path, file: str, old: str, new: str, expected: str) -> None:
    original = {"attributes": ATTRIBUTES, "spans": SPANS}[file]
    assert old in original
    message = _error(tmp_path, **{file: original.replace(old, new, 1)})
    assert expected in message


def test_duplicate_attribute_id_across_files(tmp_path: Path) -> None:
    other = """\
groups:
  - id: registry.other
    type: attribute_group
    brief: Other attributes.
    attributes:
      - {id: test.name, type: int, stability: development, brief: Again.}
"""
    message = _error(tmp_path, other=other)
    assert "other.yaml: group 'registry.other': attribute 'test.name': duplicate attribute id" in message
    assert "first in attributes.yaml: group 'registry.test'" in message


def test_duplicate_group_id_across_files(tmp_path: Path) -> None:
    other = "groups:\n  - {id: span.test.base, type: span, span_kind: server, brief: Again.}\n"
    message = _error(tmp_path, zz_other=other)  # read after spans.yaml
    assert "zz_other.yaml: group 'span.test.base': duplicate group id (first in spans.yaml" in message


def test_top_level_without_groups(tmp_path: Path) -> None:
    message = _error(tmp_path, other="- id: x\n")
    assert "other.yaml: top level must be a mapping with a 'groups' list" in message


def test_every_problem_is_reported(tmp_path: Path) -> None:
    attributes = ATTRIBUTES.replace("brief: A name.", "").replace("type: boolean", "type: bool")
    spans = SPANS.replace("span_kind: client", "span_kind: sideways").replace(
        "ref: test.count", "ref: test.nope"
    )
    message = _error(tmp_path, attributes=attributes, spans=spans)
    assert message.startswith("4 problem(s)")
    assert "attribute 'test.name': has no brief" in message
    assert "attribute 'test.flag': unknown type 'bool'" in message
    assert "span_kind 'sideways'" in message
    assert "ref 'test.nope' names no declared attribute" in message


# ---- The live check ----


def test_validate_undeclared_key(registry: Registry) -> None:
    assert registry.validate_attributes({"hiveboard.nope": "x"}) == [
        "attribute 'hiveboard.nope' is not declared in the registry"
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("hiveboard.llm.cost", 1),  # int for double: the SDK must send floats
        ("hiveboard.action.depth", True),  # bool for int
        ("hiveboard.action.depth", "1"),
        ("hiveboard.plan.steps", [1, 2]),
        ("hiveboard.plan.steps", "a"),
        ("exception.escaped", 0),
        ("hiveboard.event.type", 3),
    ],
)
def test_validate_wrong_type(registry: Registry, key: str, value: object) -> None:
    errors = registry.validate_attributes({key: value})
    assert len(errors) == 1
    assert f"attribute '{key}'" in errors[0]


def test_validate_right_types_and_open_enum(registry: Registry) -> None:
    attributes = {
        "hiveboard.llm.cost": 0.5,
        "hiveboard.action.depth": 0,
        "hiveboard.plan.steps": ("a", "b"),
        "gen_ai.response.finish_reasons": [],
        "exception.escaped": "False",
        "hiveboard.event.type": "my_type",  # not a member: enums are open
    }
    assert registry.validate_attributes(attributes) == []


PLAN_STEP = {
    "hiveboard.span.type": "event",
    "hiveboard.event.type": "plan_step",
    "hiveboard.severity": "info",
    "hiveboard.agent.id": "a",
    "hiveboard.event.summary": "Step 1 started",
    "hiveboard.plan.step.index": 1,
    "hiveboard.plan.step.action": "started",
}


def test_validate_group(registry: Registry) -> None:
    group = "span.hiveboard.event.plan_step"
    assert registry.validate_attributes({**PLAN_STEP, "hiveboard.task.id": "t"}, group) == []
    extra = registry.validate_attributes({**PLAN_STEP, "hiveboard.llm.cost": 0.1}, group)
    assert extra == [f"attribute 'hiveboard.llm.cost' is not listed by group '{group}'"]
    missing = {k: v for k, v in PLAN_STEP.items() if k != "hiveboard.plan.step.index"}
    assert registry.validate_attributes(missing, group) == [
        f"attribute 'hiveboard.plan.step.index' is required by group '{group}' but missing"
    ]


# ---- The generator ----


def test_generated_files_are_up_to_date(registry: Registry) -> None:
    assert generate.stale_files(registry) == [], f"run PYTHONPATH=semconv {generate.COMMAND}"


def test_names() -> None:
    assert generate.constant_name("hiveboard.agent.id") == "HIVEBOARD_AGENT_ID"
    assert (
        generate.constant_name("gen_ai.usage.cache_read.input_tokens")
        == "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS"
    )
    assert generate.class_name("hiveboard.event.type") == "HiveboardEventTypeValues"
    assert generate.class_name("hiveboard.plan.step.action") == "HiveboardPlanStepActionValues"


def test_render_constants(tmp_path: Path) -> None:
    source = generate.render_constants(load_registry(_write(tmp_path, attributes=ATTRIBUTES, spans=SPANS)))
    assert 'TEST_NAME: Final = "test.name"\n"""A name."""\n' in source
    assert "\n\nclass TestKindValues:\n" in source
    assert '    BETA_TWO: Final = "beta_two"\n    """Second."""\n' in source
    namespace: dict[str, object] = {}
    exec(compile(source, "attributes.py", "exec"), namespace)
    assert namespace["TEST_TAGS"] == "test.tags"
    assert namespace["TestKindValues"].ALPHA == "alpha"


def test_render_constants_wraps_long_lines(registry: Registry) -> None:
    lines = generate.render_constants(registry).splitlines()
    assert max(len(line) for line in lines) <= generate.LINE_LENGTH


def test_render_reference(tmp_path: Path) -> None:
    text = generate.render_reference(load_registry(_write(tmp_path, attributes=ATTRIBUTES, spans=SPANS)))
    assert '| `test.tags` | string[] | Some tags. | `["a", "b"]` | development |' in text
    assert "- `beta_two`: Second." in text
    child = text.split("### `span.test.child`")[1]
    assert "| `test.name` | string | required | A name. |" in child  # inherited from span.test.base
    assert "| `test.count` | int | conditionally_required: if counted | A count. |" in child


def test_runtime_modules_import_only_typing() -> None:
    """The SDK imports the constants at runtime, where PyYAML is not installed."""
    package = Path(hiveboard_semconv.__file__).parent
    for name in ("__init__.py", "attributes.py"):
        tree = ast.parse((package / name).read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert imported <= {"typing"}, name
