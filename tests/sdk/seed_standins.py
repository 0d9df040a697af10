"""Stand-ins for the helpers the product documents' code blocks take from their users' own code.

The documents call a CRM client, an enrichment API, an LLM client, a tool registry and the like
without defining them; `test_seed_examples.py` runs the blocks unchanged against these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class APITimeoutError(Exception):
    """The enrichment API timed out (manual part 7, §9)."""


class ToolError(Exception):
    """A tool failed (manual part 7, §8.7)."""


@dataclass
class Lead:
    id: str
    email: str = "ceo@bluestar.example"
    company: str = "BlueStar"


class CrmClient:
    """`crm_client`: returns leads, or refuses connections when `down`."""

    def __init__(self, down: bool = False) -> None:
        self.down = down

    def get_lead(self, lead_id: str) -> Lead:
        return Lead(lead_id)

    def search(self, query: str) -> dict[str, Any]:
        if self.down:
            raise ConnectionError("Connection refused")
        return {"email": query, "owner": "rep-7"}


class EnrichmentApi:
    """`enrichment_api`: an async company lookup."""

    async def lookup(self, company_name: str) -> dict[str, Any]:
        return {"name": company_name, "employees": 120}


@dataclass
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass
class LlmResponse:
    """An Anthropic-style response: `.model`, `.usage.input_tokens`, `.tool_calls`..."""

    model: str
    usage: Usage
    tool_calls: list[ToolCall] = field(default_factory=list)
    content: str = "Done."
    stop_reason: str = "end_turn"


class LlmClient:
    """`llm_client`, `phase1_client`...: every method returns the next canned response."""

    def __init__(self, model: str, *responses: LlmResponse) -> None:
        self.model = model
        self._responses = list(responses)
        self.calls: list[dict[str, Any]] = []

    def _next(self, *args: Any, **kwargs: Any) -> LlmResponse:
        self.calls.append(kwargs)
        return self._responses.pop(0)

    chat = complete = complete_json = complete_with_tools = _next


@dataclass
class ToolResult:
    """What a tool registry returns, with the fields the documents read from it."""

    success: bool = True
    output: str | None = None
    error: str | None = None
    data: Any = None
    status_code: int | None = None
    raw: bytes = b""

    @property
    def ok(self) -> bool:
        return self.success

    def __str__(self) -> str:
        return self.output if self.success and self.output is not None else f"error: {self.error}"


class ToolRegistry:
    """`tool_registry` / `tool_runner`: runs tools by name and records every execution."""

    def __init__(self, tools: dict[str, Callable[..., ToolResult]]) -> None:
        self._tools = tools
        self.executed: list[tuple[str, dict[str, Any]]] = []

    def execute(self, tool_name: str, arguments: dict[str, Any]) -> ToolResult:
        self.executed.append((tool_name, arguments))
        return self._tools[tool_name](**arguments)


class AgingQueue(list):
    """`my_queue`, an agent's inbox: a work queue that knows the age of its oldest item."""

    def oldest_age(self) -> float:
        return 120.0 if self else 0.0

    oldest_age_seconds = oldest_age


def count_tokens(content: Any) -> int:
    """The users' token counter: about four characters per token."""
    return len(str(content)) // 4


def fails_first(failures: int, error: Exception, result: Any = None) -> Callable[..., Any]:
    """A call that raises `error` the first `failures` times, then returns `result`."""
    calls = 0

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= failures:
            raise error
        return result

    return call


class BaseCallbackHandler:
    """`langchain_core.callbacks.BaseCallbackHandler`: the hooks a framework calls."""
