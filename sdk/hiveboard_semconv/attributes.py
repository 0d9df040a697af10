# Generated from semconv/registry by `python -m semconv.generate`. Do not edit by hand.
"""HiveBoard semantic convention: attribute names and enum values."""

from typing import Final

DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
"""The `environment` passed to `hiveloop.init`."""

ERROR_TYPE: Final = "error.type"
"""Class of the exception that failed a task or an action."""

EXCEPTION_ESCAPED: Final = "exception.escaped"
"""Set by the OpenTelemetry Python SDK's `record_exception`, which writes the boolean as the string "True" or
"False"; not read by HiveBoard.
"""

EXCEPTION_MESSAGE: Final = "exception.message"
"""The exception message."""

EXCEPTION_STACKTRACE: Final = "exception.stacktrace"
"""The formatted stack trace."""

EXCEPTION_TYPE: Final = "exception.type"
"""Class of the exception."""

GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
"""OTel GenAI agent name; HiveLoop sets the agent id on task (`invoke_agent`) spans."""

GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
"""GenAI operation; `chat` for LLM calls, `invoke_agent` for tasks."""

GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
"""GenAI provider, when known (from the model name or `metadata["provider"]`)."""

GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
"""Model requested."""

GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
"""Why the model stopped (`metadata["stop_reason"]`)."""

GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
"""Model that answered."""

GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
"""Input tokens written to the provider's cache (`metadata["cache_creation_input_tokens"]`). Readers also
accept the newer name `gen_ai.usage.cache_write.input_tokens`.
"""

GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
"""Input tokens read from the provider's cache (`metadata["cache_read_input_tokens"]`)."""

GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
"""Input tokens (`tokens_in`)."""

GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
"""Output tokens (`tokens_out`)."""

HIVEBOARD_ACTION_DEPTH: Final = "hiveboard.action.depth"
"""Nesting depth among HiveLoop actions; 0 for an action directly under its task."""

HIVEBOARD_ACTION_FUNCTION: Final = "hiveboard.action.function"
"""Qualified name of the decorated function (`@agent.track` only)."""

HIVEBOARD_ACTION_NAME: Final = "hiveboard.action.name"
"""Name of the action (tool name or function label)."""

HIVEBOARD_ACTION_STATUS: Final = "hiveboard.action.status"
"""How the action ended."""


class HiveboardActionStatusValues:
    """Values of `hiveboard.action.status` (an open enum: other values are allowed)."""

    COMPLETED: Final = "completed"
    """The action finished without an exception."""

    FAILED: Final = "failed"
    """The action raised."""


HIVEBOARD_AGENT_FRAMEWORK: Final = "hiveboard.agent.framework"
"""Framework the agent runs on."""

HIVEBOARD_AGENT_HEARTBEAT_INTERVAL: Final = "hiveboard.agent.heartbeat_interval"
"""Seconds between heartbeats; 0 when heartbeats are disabled."""

HIVEBOARD_AGENT_ID: Final = "hiveboard.agent.id"
"""Unique agent identifier passed to `hb.agent()` (at most 256 characters)."""

HIVEBOARD_AGENT_STUCK_THRESHOLD: Final = "hiveboard.agent.stuck_threshold"
"""Seconds without a heartbeat after which the agent is shown as stuck."""

HIVEBOARD_AGENT_TYPE: Final = "hiveboard.agent.type"
"""Agent classification."""

HIVEBOARD_AGENT_VERSION: Final = "hiveboard.agent.version"
"""Agent or model version string."""

HIVEBOARD_APPROVAL_APPROVED_BY: Final = "hiveboard.approval.approved_by"
"""Who decided."""

HIVEBOARD_APPROVAL_APPROVER: Final = "hiveboard.approval.approver"
"""Who is asked to approve."""

HIVEBOARD_APPROVAL_DECISION: Final = "hiveboard.approval.decision"
"""The decision, usually `approved` or `rejected`."""

HIVEBOARD_ESCALATION_ASSIGNED_TO: Final = "hiveboard.escalation.assigned_to"
"""Who or what receives the escalation."""

HIVEBOARD_ESCALATION_REASON: Final = "hiveboard.escalation.reason"
"""Additional reason detail."""

HIVEBOARD_EVENT_DATA: Final = "hiveboard.event.data"
"""JSON object with the `data` of a custom event (at most 32 KiB)."""

HIVEBOARD_EVENT_KIND: Final = "hiveboard.event.kind"
"""Kind of a `custom` event: learning, context_compaction, error_context, runtime, memory_op, config_snapshot,
anomaly, prompt_composition, state_mutation, or the user's own.
"""

HIVEBOARD_EVENT_SUMMARY: Final = "hiveboard.event.summary"
"""Human-readable summary of the event (at most 512 characters)."""

HIVEBOARD_EVENT_TYPE: Final = "hiveboard.event.type"
"""Type of the narrative event. The list is open: an event type HiveLoop does not know (from
`agent.event("my_type", ...)`) is kept as given.
"""


class HiveboardEventTypeValues:
    """Values of `hiveboard.event.type` (an open enum: other values are allowed)."""

    AGENT_REGISTERED: Final = "agent_registered"
    """An agent handle was created."""

    HEARTBEAT: Final = "heartbeat"
    """Periodic liveness signal of an agent."""

    AGENT_SHUTDOWN: Final = "agent_shutdown"
    """The agent's process shut HiveLoop down cleanly: the agent is offline, not stuck."""

    TASK_STARTED: Final = "task_started"
    """Marker at the start of a task."""

    ACTION_STARTED: Final = "action_started"
    """Marker at the start of an action."""

    PLAN_CREATED: Final = "plan_created"
    """A plan (or a revision) was declared."""

    PLAN_STEP: Final = "plan_step"
    """A plan step changed state."""

    ESCALATED: Final = "escalated"
    """The agent handed work to a human or another agent."""

    APPROVAL_REQUESTED: Final = "approval_requested"
    """The agent waits for a human decision."""

    APPROVAL_RECEIVED: Final = "approval_received"
    """A human decision arrived."""

    RETRY_STARTED: Final = "retry_started"
    """An operation is being retried."""

    ISSUE: Final = "issue"
    """An agent-level issue was reported or resolved."""

    QUEUE_SNAPSHOT: Final = "queue_snapshot"
    """State of the agent's work queue."""

    TODO: Final = "todo"
    """A TODO item changed state."""

    SCHEDULED: Final = "scheduled"
    """The agent's scheduled work."""

    CUSTOM: Final = "custom"
    """A custom event; `hiveboard.event.kind` says which."""


HIVEBOARD_GROUP: Final = "hiveboard.group"
"""Organizational group passed to `hiveloop.init`."""

HIVEBOARD_HEARTBEAT_PAYLOAD: Final = "hiveboard.heartbeat.payload"
"""JSON object returned by the agent's `heartbeat_payload` callback."""

HIVEBOARD_ISSUE_ACTION: Final = "hiveboard.issue.action"
"""Lifecycle step of the issue."""


class HiveboardIssueActionValues:
    """Values of `hiveboard.issue.action` (an open enum: other values are allowed)."""

    REPORTED: Final = "reported"
    """The issue was reported (again)."""

    RESOLVED: Final = "resolved"
    """The issue was resolved."""


HIVEBOARD_ISSUE_CATEGORY: Final = "hiveboard.issue.category"
"""Issue classification."""

HIVEBOARD_ISSUE_CONTEXT: Final = "hiveboard.issue.context"
"""JSON object with debugging data of the issue."""

HIVEBOARD_ISSUE_ID: Final = "hiveboard.issue.id"
"""Stable issue identifier; when the caller gives none, `auto-` followed by a hash of the summary, so repeated
reports of the same summary are one issue.
"""

HIVEBOARD_ISSUE_OCCURRENCE_COUNT: Final = "hiveboard.issue.occurrence_count"
"""How many times the agent has seen the issue."""

HIVEBOARD_ISSUE_SEVERITY: Final = "hiveboard.issue.severity"
"""Severity given to `report_issue`."""


class HiveboardIssueSeverityValues:
    """Values of `hiveboard.issue.severity` (an open enum: other values are allowed)."""

    CRITICAL: Final = "critical"
    """The agent cannot function."""

    HIGH: Final = "high"
    """A major capability is degraded."""

    MEDIUM: Final = "medium"
    """Output quality is reduced."""

    LOW: Final = "low"
    """Informational."""


HIVEBOARD_KEY_TYPE: Final = "hiveboard.key.type"
"""Type of the API key that ingested the data. Set only by the HiveBoard collector; any value a client sends
is overwritten.
"""


class HiveboardKeyTypeValues:
    """Values of `hiveboard.key.type` (an open enum: other values are allowed)."""

    LIVE: Final = "live"
    """Ingested with a live key."""

    TEST: Final = "test"
    """Ingested with a test key; never mixed with live data."""


HIVEBOARD_LLM_COST: Final = "hiveboard.llm.cost"
"""Cost of the call in USD."""

HIVEBOARD_LLM_COST_SOURCE: Final = "hiveboard.llm.cost_source"
"""Where the cost came from."""


class HiveboardLlmCostSourceValues:
    """Values of `hiveboard.llm.cost_source` (an open enum: other values are allowed)."""

    REPORTED: Final = "reported"
    """The SDK caller passed the cost."""

    ESTIMATED: Final = "estimated"
    """HiveBoard estimated it from tokens and the model."""


HIVEBOARD_LLM_METADATA: Final = "hiveboard.llm.metadata"
"""JSON object with the keys of the call's `metadata` that have no typed attribute of their own (turn_number,
cache_read_input_tokens, cache_creation_input_tokens, stop_reason and provider have one); at most 32 KiB.
"""

HIVEBOARD_LLM_NAME: Final = "hiveboard.llm.name"
"""Descriptive label of the call site (its purpose, not the model)."""

HIVEBOARD_LLM_PROMPT_PREVIEW: Final = "hiveboard.llm.prompt_preview"
"""Start of the prompt (at most 500 characters)."""

HIVEBOARD_LLM_RESPONSE_PREVIEW: Final = "hiveboard.llm.response_preview"
"""Start of the response (at most 500 characters)."""

HIVEBOARD_LLM_TURN_NUMBER: Final = "hiveboard.llm.turn_number"
"""Turn of the agentic loop (`metadata["turn_number"]`)."""

HIVEBOARD_PAYLOAD: Final = "hiveboard.payload"
"""JSON object attached to a task or action on completion (`set_payload`, `complete(payload=...)`), or the
payload of an event of a type HiveLoop has no typed attributes for. At most 32 KiB.
"""

HIVEBOARD_PLAN_GOAL: Final = "hiveboard.plan.goal"
"""What the plan achieves."""

HIVEBOARD_PLAN_REVISION: Final = "hiveboard.plan.revision"
"""Plan revision; 0 for the first plan, incremented on each replan."""

HIVEBOARD_PLAN_STEP_ACTION: Final = "hiveboard.plan.step.action"
"""What happened to the step."""


class HiveboardPlanStepActionValues:
    """Values of `hiveboard.plan.step.action` (an open enum: other values are allowed)."""

    STARTED: Final = "started"
    """The step began."""

    COMPLETED: Final = "completed"
    """The step finished."""

    FAILED: Final = "failed"
    """The step failed."""

    SKIPPED: Final = "skipped"
    """The step was skipped."""


HIVEBOARD_PLAN_STEP_INDEX: Final = "hiveboard.plan.step.index"
"""Zero-based index of the step."""

HIVEBOARD_PLAN_STEP_TOKENS: Final = "hiveboard.plan.step.tokens"
"""Tokens spent on the step."""

HIVEBOARD_PLAN_STEP_TURNS: Final = "hiveboard.plan.step.turns"
"""LLM turns spent on the step."""

HIVEBOARD_PLAN_STEPS: Final = "hiveboard.plan.steps"
"""Ordered step descriptions; their positions are the step indices."""

HIVEBOARD_PLAN_TOTAL_STEPS: Final = "hiveboard.plan.total_steps"
"""Number of steps of the plan (inferred for `plan_step` from the last `plan`)."""

HIVEBOARD_PROJECT: Final = "hiveboard.project"
"""Project slug the task belongs to."""

HIVEBOARD_QUEUE_DEPTH: Final = "hiveboard.queue.depth"
"""Number of items in the agent's queue."""

HIVEBOARD_QUEUE_ITEMS: Final = "hiveboard.queue.items"
"""JSON array of the queued items."""

HIVEBOARD_QUEUE_OLDEST_AGE_SECONDS: Final = "hiveboard.queue.oldest_age_seconds"
"""Age of the oldest queued item."""

HIVEBOARD_QUEUE_PROCESSING: Final = "hiveboard.queue.processing"
"""JSON object describing the item being processed."""

HIVEBOARD_QUEUE_SOURCE: Final = "hiveboard.queue.source"
"""Where the snapshot came from."""


class HiveboardQueueSourceValues:
    """Values of `hiveboard.queue.source` (an open enum: other values are allowed)."""

    MANUAL: Final = "manual"
    """From `agent.queue_snapshot()`."""

    PROVIDER: Final = "provider"
    """From the agent's `queue_provider` at a heartbeat."""


HIVEBOARD_RETRY_ATTEMPT: Final = "hiveboard.retry.attempt"
"""1-based attempt number."""

HIVEBOARD_RETRY_BACKOFF_SECONDS: Final = "hiveboard.retry.backoff_seconds"
"""Wait before the next attempt."""

HIVEBOARD_SCHEDULED_COUNT: Final = "hiveboard.scheduled.count"
"""Number of scheduled work items."""

HIVEBOARD_SCHEDULED_ITEMS: Final = "hiveboard.scheduled.items"
"""JSON array of the scheduled work items."""

HIVEBOARD_SEVERITY: Final = "hiveboard.severity"
"""Severity of a narrative event, used by the activity stream's filters. Task, action and LLM spans do not
carry it: theirs follows from their status (error when failed, else info).
"""


class HiveboardSeverityValues:
    """Values of `hiveboard.severity` (an open enum: other values are allowed)."""

    DEBUG: Final = "debug"
    """Routine telemetry (heartbeats)."""

    INFO: Final = "info"
    """Normal progress."""

    WARN: Final = "warn"
    """Something needs attention (retries, escalations, medium issues)."""

    ERROR: Final = "error"
    """A failure (failed tasks and actions, high and critical issues)."""


HIVEBOARD_SPAN_TYPE: Final = "hiveboard.span.type"
"""The HiveLoop span type."""


class HiveboardSpanTypeValues:
    """Values of `hiveboard.span.type` (an open enum: other values are allowed)."""

    TASK: Final = "task"
    """A task (one unit of work of an agent)."""

    ACTION: Final = "action"
    """A tracked function or block inside a task."""

    LLM: Final = "llm"
    """One LLM call."""

    EVENT: Final = "event"
    """A zero-duration narrative event (plan, escalation, heartbeat...)."""


HIVEBOARD_TASK_ID: Final = "hiveboard.task.id"
"""Task identifier, unique per execution."""

HIVEBOARD_TASK_OUTCOME: Final = "hiveboard.task.outcome"
"""The `status` passed to `task.complete()`."""

HIVEBOARD_TASK_STATUS: Final = "hiveboard.task.status"
"""How the task ended."""


class HiveboardTaskStatusValues:
    """Values of `hiveboard.task.status` (an open enum: other values are allowed)."""

    COMPLETED: Final = "completed"
    """The task finished without an exception."""

    FAILED: Final = "failed"
    """The task raised or was failed explicitly."""


HIVEBOARD_TASK_TYPE: Final = "hiveboard.task.type"
"""Task classification."""

HIVEBOARD_TENANT_ID: Final = "hiveboard.tenant.id"
"""Tenant that owns the data. Set only by the HiveBoard collector from the API key; any value a client sends
is overwritten.
"""

HIVEBOARD_TODO_ACTION: Final = "hiveboard.todo.action"
"""Lifecycle step; created, completed, failed, dismissed or deferred."""

HIVEBOARD_TODO_CONTEXT: Final = "hiveboard.todo.context"
"""Extra detail (a JSON object when a dict was given)."""

HIVEBOARD_TODO_DUE_BY: Final = "hiveboard.todo.due_by"
"""ISO 8601 due date."""

HIVEBOARD_TODO_ID: Final = "hiveboard.todo.id"
"""TODO identifier."""

HIVEBOARD_TODO_PRIORITY: Final = "hiveboard.todo.priority"
"""Priority of the TODO."""

HIVEBOARD_TODO_SOURCE: Final = "hiveboard.todo.source"
"""Who or what created the TODO."""

PROCESS_RUNTIME_DESCRIPTION: Final = "process.runtime.description"
"""The runtime's own description of its build (Python's `sys.version`)."""

PROCESS_RUNTIME_NAME: Final = "process.runtime.name"
"""The language runtime of the agent's process (Python's `sys.implementation.name`), as the OpenTelemetry
SDK's process resource detector reports it.
"""

PROCESS_RUNTIME_VERSION: Final = "process.runtime.version"
"""Version of the language runtime of the agent's process."""

SERVICE_INSTANCE_ID: Final = "service.instance.id"
"""Unique id of the process instance; set by the OpenTelemetry SDK."""

SERVICE_NAME: Final = "service.name"
"""Logical name of the service; OTEL_SERVICE_NAME, else the HiveLoop `group`."""

TELEMETRY_DISTRO_NAME: Final = "telemetry.distro.name"
"""Always `hiveloop` for telemetry produced by the HiveLoop SDK."""

TELEMETRY_DISTRO_VERSION: Final = "telemetry.distro.version"
"""Version of the HiveLoop SDK."""

TELEMETRY_SDK_LANGUAGE: Final = "telemetry.sdk.language"
"""Set by the OpenTelemetry SDK."""

TELEMETRY_SDK_NAME: Final = "telemetry.sdk.name"
"""Set by the OpenTelemetry SDK."""

TELEMETRY_SDK_VERSION: Final = "telemetry.sdk.version"
"""Set by the OpenTelemetry SDK."""
