"""HiveLoop's pytest plugin (registered through the `pytest11` entry point): the `hiveloop_capture`
fixture.

```python
def test_lead_is_scored(hiveloop_capture):
    agent = hiveloop_capture.init(api_key="hb_test_local").agent("lead-qualifier", heartbeat_interval=0)
    with agent.task("task-1"):
        pass
    assert "invoke_agent lead-qualifier" in [span["name"] for span in hiveloop_capture.as_dicts()]
```
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hiveloop.testing import CapturedSpans, capture


@pytest.fixture
def hiveloop_capture() -> Iterator[CapturedSpans]:
    """HiveLoop reset around the test; `hiveloop_capture.init(...)` sends its spans to memory, with
    deterministic ids and clock."""
    with capture() as spans:
        yield spans
