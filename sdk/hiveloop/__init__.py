"""HiveLoop: observability for AI agents, on OpenTelemetry.

```python
import hiveloop

hb = hiveloop.init(api_key="hb_live_...")
agent = hb.agent("lead-qualifier", type="sales")
with agent.task("task-001", project="sales-pipeline") as task:
    task.llm_call("lead_scoring", "claude-sonnet-4-20250514", tokens_in=1800, tokens_out=250)
```

Every call becomes OpenTelemetry spans under the HiveBoard semantic convention (`semconv/`), exported
over OTLP/HTTP to `{endpoint}/v1/traces` from a background thread.
"""

from hiveloop._internal.action import Action
from hiveloop._internal.agent import Agent
from hiveloop._internal.client import HiveBoard, flush, get_client, init, reset, shutdown
from hiveloop._internal.context import get_current_agent, get_current_task
from hiveloop._internal.payloads import tool_payload
from hiveloop._internal.task import Task
from hiveloop._internal.version import VERSION as __version__

__all__ = [
    "Action",
    "Agent",
    "HiveBoard",
    "Task",
    "__version__",
    "flush",
    "get_client",
    "get_current_agent",
    "get_current_task",
    "init",
    "reset",
    "shutdown",
    "tool_payload",
]
