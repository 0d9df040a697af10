"""`hiveboard demo`: a fleet of simulated AI agents, instrumented with the real HiveLoop SDK.

Nothing here talks to an LLM or a CRM: the "work" is sleeps and seeded random numbers. Everything
HiveBoard receives, though, is sent exactly as a real agent would send it, through `hiveloop`:

* `LeadQualifier` (sales) runs a plan per lead, with nested tracked actions (`@agent.track`
  and `track_context`), retries, an issue reported then resolved, a failed plan step and a replan,
  and escalations for poor leads.
* `SupportTriage` (support) classifies tickets and asks a human to approve refunds (granted or
  rejected), escalates angry customers, keeps TODOs, and reports its queue by hand.
* `ResearchWriter` (research) runs an agentic loop of LLM turns and tools and emits the Layer 3/4
  custom events: prompt composition, context compaction, cycle detection (anomaly), learning. Some
  of its tasks fail.
* `DataPipeline` (etl) runs scheduled syncs with the manual task lifecycle, and the first one of
  the fleet hangs on its fourth run and stops heartbeating, so HiveBoard shows it stuck.

```python
from hiveboard.demo import run_demo

summary = run_demo("http://localhost:8000", "hb_live_...", duration_s=300)
```

Runs are reproducible: the same `seed` gives the same tasks, events and numbers in each agent's
timeline (only heartbeat timing follows the clock). `speed` divides every simulated wait, so
`speed=100` plays five minutes of fleet activity in three seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import hiveloop

logger = logging.getLogger("hiveboard.demo")

# At speed 1 an agent heartbeats every 5 s and counts as stuck after 30 s of silence; both scale
# with `speed` (the threshold stays at least 1 s, the SDK's unit, and heartbeats come at most 50 times
# a second, so that very high speeds do not flood the span queue with them).
HEARTBEAT_INTERVAL_S = 5.0
STUCK_THRESHOLD_S = 30.0
MIN_HEARTBEAT_INTERVAL_S = 0.02

# How long the fleet's threads may take to finish their current step once the demo stops.
STOP_TIMEOUT_S = 5.0

# The prices our agents know, in USD per million input / output tokens, kept as the integration
# guide suggests. Calls to other models are sent without a cost: HiveBoard then estimates it from
# genai-prices (gpt-4o, gemini-2.5-pro), or shows the call as unpriced when no price is known at all
# (our self-hosted fact checker).
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "claude-sonnet-4-20250514": (3.00, 15.00),
    "claude-haiku-4-5-20251001": (1.00, 5.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gemini-2.5-flash": (0.30, 2.50),
}
SELF_HOSTED_MODEL = "acme-factcheck-7b"

COMPANIES = (
    "BlueStar Logistics", "Acme Robotics", "Northwind Traders", "Globex", "Initech", "Umbrella Health",
    "Stark Freight", "Wayne Analytics", "Hooli Cloud", "Vandelay Imports",
)  # fmt: skip
PEOPLE = ("jsmith", "mlee", "akumar", "rgarcia", "tnguyen")


def estimate_cost(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """The cost of a call from our own price table, or None for a model we have no price for."""
    rates = PRICES_PER_MILLION.get(model)
    if rates is None:
        return None
    return round((tokens_in * rates[0] + tokens_out * rates[1]) / 1_000_000, 6)


# ---- the failures our agents run into --------------------------------------------------------------


class EnrichmentTimeout(TimeoutError):
    """The enrichment API did not answer in time."""


class UpstreamError(RuntimeError):
    """A transient error of an external API (HTTP 5xx, 429)."""


class SourcesUnavailable(RuntimeError):
    """Every source a report needs is behind a paywall."""


class SchemaValidationError(ValueError):
    """A batch does not match the warehouse schema."""


class WarehouseLockTimeout(TimeoutError):
    """The warehouse lock was never granted."""


# ---- what every simulated agent shares -------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run did."""

    seed: int
    """The seed of the run: pass it again to replay the same fleet activity."""
    agents: tuple[str, ...]
    tasks_completed: int
    tasks_failed: int
    llm_calls: int
    elapsed_s: float
    flushed: bool
    """Whether every span reached the endpoint before `hiveloop.shutdown()` timed out."""


class Pace:
    """Simulated time: waits shrink by `speed` and end at once when the demo stops."""

    def __init__(self, speed: float, stop: threading.Event) -> None:
        self.speed = speed
        self.stop = stop

    def sleep(self, seconds: float) -> None:
        self.stop.wait(seconds / self.speed)

    def real(self, seconds: float) -> float:
        """Real seconds for `seconds` of simulated time."""
        return seconds / self.speed


@dataclass
class WorkItem:
    """One unit of work waiting in an agent's queue: a lead, a ticket, a topic, a batch."""

    id: str
    summary: str
    priority: str
    source: str
    arrived_at: float = field(default_factory=time.monotonic)

    def as_queue_entry(self) -> dict[str, str]:
        return {"id": self.id, "summary": self.summary, "priority": self.priority, "source": self.source}


class SimulatedAgent(ABC):
    """The loop every simulated agent runs: take the next work item, handle it as one task, repeat.

    Subclasses say what work arrives (`new_work_item`) and how a task unfolds (`handle`). The first
    tasks play each of `scenarios` once, in order, so a short demo already shows every feature; later
    tasks draw scenarios at random with `weights`.
    """

    agent_type: ClassVar[str]
    version: ClassVar[str]
    model: ClassVar[str]
    scenarios: ClassVar[tuple[str, ...]]
    weights: ClassVar[tuple[float, ...]]
    # Simulated seconds between two tasks (waiting for work, rate limits...).
    idle_s: ClassVar[tuple[float, float]] = (3.0, 10.0)
    # Whether HiveLoop asks `queue_state` for a queue snapshot at each heartbeat.
    queue_on_heartbeat: ClassVar[bool] = True

    def __init__(self, hb: hiveloop.HiveBoard, agent_id: str, rng: random.Random, pace: Pace) -> None:
        self.agent_id = agent_id
        self.rng = rng
        self.pace = pace
        self.started_at = time.monotonic()
        # The agent's own state, shared by its work loop and the heartbeat callbacks below.
        self.state_lock = threading.Lock()
        self.inbox: deque[WorkItem] = deque()
        self.tasks_completed = 0
        self.tasks_failed = 0
        self.llm_calls = 0
        self.tokens_used = 0
        self.cost_usd = 0.0
        # Registration starts HiveLoop's heartbeat thread, which calls the callbacks: the state they
        # read must exist before.
        self.hl = hb.agent(
            agent_id,
            type=self.agent_type,
            version=self.version,
            framework="hiveboard-demo",
            heartbeat_interval=max(pace.real(HEARTBEAT_INTERVAL_S), MIN_HEARTBEAT_INTERVAL_S),
            stuck_threshold=max(1, round(pace.real(STUCK_THRESHOLD_S))),
            heartbeat_payload=self.heartbeat_data,
            queue_provider=self.queue_state if self.queue_on_heartbeat else None,
        )

    # ---- what HiveLoop asks at each heartbeat

    def heartbeat_data(self) -> dict[str, Any]:
        """Operational counters for the agent card.

        It reads the agent's state under the same lock as the work loop: if the loop hangs while
        holding it, heartbeats stop too, which is what lets HiveBoard see the hang (a heartbeat
        thread that kept beating for a dead worker would hide it).
        """
        with self.state_lock:
            return {
                "uptime_seconds": round(time.monotonic() - self.started_at, 1),
                "tasks_completed": self.tasks_completed,
                "tasks_failed": self.tasks_failed,
                "llm_calls": self.llm_calls,
                "tokens_used": self.tokens_used,
                "cost_usd": round(self.cost_usd, 4),
            }

    def queue_state(self) -> dict[str, Any]:
        """The queue as `queue_provider` reports it: depth, age of the oldest item, the first items."""
        with self.state_lock:
            items = list(self.inbox)
        oldest = (time.monotonic() - items[0].arrived_at) * self.pace.speed if items else 0.0
        return {
            "depth": len(items),
            "oldest_age_seconds": round(oldest, 1),
            "items": [item.as_queue_entry() for item in items[:5]],
        }

    # ---- the work loop

    def run(self, max_tasks: int | None) -> None:
        self.announce()
        done = 0
        while not self.pace.stop.is_set() and (max_tasks is None or done < max_tasks):
            self.receive_work()
            with self.state_lock:
                item = self.inbox.popleft()
            scenario = self.scenario(done)
            try:
                self.handle(item, scenario, done)
            except Exception as error:
                # HiveLoop recorded the failure on the task and re-raised it: a real agent would log
                # it and move on to the next item, and so do we.
                logger.info("%s: %s failed (%s: %s)", self.agent_id, item.id, type(error).__name__, error)
                with self.state_lock:
                    self.tasks_failed += 1
            else:
                logger.info("%s: %s completed (%s)", self.agent_id, item.id, scenario)
                with self.state_lock:
                    self.tasks_completed += 1
            done += 1
            self.pace.sleep(self.rng.uniform(*self.idle_s))

    def announce(self) -> None:
        """Layer 3 lifecycle events at startup: what started, and with which configuration."""
        self.hl.event(
            "custom",
            payload={
                "kind": "runtime",
                "summary": f"{self.agent_id} started",
                "data": {"event": "agent_started", "model": self.model, "version": self.version},
            },
        )
        self.hl.event(
            "custom",
            payload={
                "kind": "config_snapshot",
                "data": {"model": self.model, "temperature": 0.2, "max_turns": 12, "version": self.version},
            },
        )

    def receive_work(self) -> None:
        """New items arrive in the queue (at least one when it is empty: the wait for it is idle time)."""
        arrivals = self.rng.choice((0, 1, 1, 2))
        with self.state_lock:
            arrivals = max(arrivals, 0 if self.inbox else 1)
        items = [self.new_work_item() for _ in range(arrivals)]
        with self.state_lock:
            self.inbox.extend(items)

    def scenario(self, task_number: int) -> str:
        if task_number < len(self.scenarios):
            return self.scenarios[task_number]
        return self.rng.choices(self.scenarios, self.weights)[0]

    @abstractmethod
    def new_work_item(self) -> WorkItem:
        """The next item of work that arrives in this agent's queue."""

    @abstractmethod
    def handle(self, item: WorkItem, scenario: str, task_number: int) -> None:
        """Work on `item` as one task, the way `scenario` goes."""

    # ---- helpers for the simulated work

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{self.rng.getrandbits(32):08x}"

    def tool(self, seconds: float) -> None:
        """A tool call's latency (jittered)."""
        self.pace.sleep(seconds * self.rng.uniform(0.7, 1.3))

    def call_llm(
        self,
        name: str,
        model: str,
        *,
        tokens_in: int,
        tokens_out: int,
        latency_s: float,
        prompt: str | None = None,
        response: str | None = None,
        turn: int | None = None,
        cache_read: int = 0,
        cache_write: int = 0,
        stop_reason: str = "end_turn",
    ) -> None:
        """Make a (pretend) LLM call and report it the way the integration guide does.

        Inside a task the call joins the task found with `hiveloop.get_current_task()`, however deep
        in the call stack we are; outside one it is an agent-level call.
        """
        started = time.perf_counter()
        self.pace.sleep(latency_s * self.rng.uniform(0.8, 1.2))  # waiting for the provider
        elapsed_ms = (time.perf_counter() - started) * 1000
        cost = estimate_cost(model, tokens_in, tokens_out)
        metadata: dict[str, Any] = {"stop_reason": stop_reason}
        if turn is not None:
            metadata["turn_number"] = turn
        if cache_read or cache_write:
            metadata["cache_read_input_tokens"] = cache_read
            metadata["cache_creation_input_tokens"] = cache_write
        task = hiveloop.get_current_task()
        (task or self.hl).llm_call(
            name,
            model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost=cost,
            duration_ms=round(elapsed_ms, 1),
            prompt_preview=None if prompt is None else prompt[:300],
            response_preview=None if response is None else response[:300],
            metadata=metadata,
        )
        with self.state_lock:
            self.llm_calls += 1
            self.tokens_used += tokens_in + tokens_out
            self.cost_usd += cost or 0.0


# ---- the agents ------------------------------------------------------------------------------------


class LeadQualifier(SimulatedAgent):
    """Qualifies inbound sales leads: the "putting it all together" example of the manual, part 7."""

    agent_type = "sales"
    version = "2.3.0"
    model = "claude-sonnet-4-20250514"
    scenarios = ("qualified", "enrichment_outage", "poor_fit", "enrichment_retry")
    weights = (0.55, 0.1, 0.15, 0.2)
    plan_steps = ("Search CRM for existing record", "Score lead", "Enrich with firmographics", "Route")

    def __init__(self, hb: hiveloop.HiveBoard, agent_id: str, rng: random.Random, pace: Pace) -> None:
        super().__init__(hb, agent_id, rng, pace)
        self.enrichment_issue_open = False
        # `@agent.track` needs the agent handle, which exists only now: decorate the methods here.
        # `process_lead` calls the other two, so they appear nested under it in the timeline.
        self.process_lead = self.hl.track("process_lead")(self.process_lead)
        self.fetch_crm_data = self.hl.track("fetch_crm_data")(self.fetch_crm_data)
        self.score_lead = self.hl.track("score_lead")(self.score_lead)

    def new_work_item(self) -> WorkItem:
        company = self.rng.choice(COMPANIES)
        return WorkItem(
            id=self.new_id("lead"),
            summary=f"Inbound demo request from {company}",
            priority=self.rng.choice(("high", "normal", "normal", "low")),
            source=self.rng.choice(("inbound", "referral", "webinar")),
        )

    def handle(self, item: WorkItem, scenario: str, task_number: int) -> None:
        with self.hl.task(item.id, project="sales-pipeline", type="lead_qualification") as task:
            task.plan("Qualify and route lead", self.plan_steps)
            decision = self.process_lead(task, item, scenario)
            task.set_payload({"lead": item.id, "decision": decision})

    def process_lead(self, task: hiveloop.Task, lead: WorkItem, scenario: str) -> str:
        task.plan_step(0, "started", "Searching CRM")
        record = self.fetch_crm_data(lead)
        task.plan_step(0, "completed", f"Found: {record['existing']}")

        task.plan_step(1, "started", "Scoring lead")
        score = self.score_lead(lead, scenario)
        task.plan_step(1, "completed", f"Score: {score:.2f}", turns=1)

        task.plan_step(2, "started", "Enriching lead data")
        if not self.enrich(task, lead, failures=self.enrichment_failures(scenario)):
            # Enrichment is out: replan around it (revision 1) instead of failing the lead.
            task.plan(
                "Route on CRM data only", ["Route without enrichment", "Queue lead for re-enrichment"], 1
            )
            task.plan_step(0, "started", "Routing without firmographics")
            decision = self.route(task, lead, score)
            task.plan_step(0, "completed", decision)
            task.plan_step(1, "completed", "Re-enrichment queued for tomorrow's batch")
            return decision

        task.plan_step(3, "started", "Routing lead")
        decision = self.route(task, lead, score)
        task.plan_step(3, "completed", decision)
        return decision

    def fetch_crm_data(self, lead: WorkItem) -> dict[str, Any]:
        self.tool(0.8)
        return {"id": lead.id, "existing": self.rng.random() < 0.3}

    def score_lead(self, lead: WorkItem, scenario: str) -> float:
        score = self.rng.uniform(0.02, 0.18) if scenario == "poor_fit" else self.rng.uniform(0.35, 0.95)
        # The scoring rubric is a long, stable system prompt: most of it is read from the cache.
        cached = self.rng.randint(1200, 1500)
        self.call_llm(
            "lead_scoring",
            self.model,
            tokens_in=cached + self.rng.randint(300, 600),
            tokens_out=self.rng.randint(150, 320),
            latency_s=1.5,
            prompt=f"Score this lead against our ICP: {lead.summary} (source: {lead.source})",
            response=f"Score: {score:.2f}. Company size and intent signals "
            + ("match the ICP." if score > 0.3 else "are far from the ICP."),
            turn=1,
            cache_read=cached,
            cache_write=self.rng.choice((0, 0, 250)),
        )
        return score

    def enrichment_failures(self, scenario: str) -> int:
        return {"enrichment_outage": 3, "enrichment_retry": 1}.get(scenario, 0)

    def enrich(self, task: hiveloop.Task, lead: WorkItem, failures: int, attempts: int = 3) -> bool:
        """Call the enrichment API, retrying timeouts; report an issue when it stays down."""
        for attempt in range(1, attempts + 1):
            try:
                with self.hl.track_context("enrich_lead") as action:
                    self.tool(1.1)
                    if attempt <= failures:
                        self.pace.sleep(4.0)  # until the client's timeout
                        raise EnrichmentTimeout("clearbit did not answer within 5000 ms")
                    action.set_payload({"lead": lead.id, "employees": self.rng.randint(20, 5000)})
            except EnrichmentTimeout:
                if attempt < attempts:
                    task.retry("Enrichment API timeout", attempt=attempt, backoff_seconds=2.0 * attempt)
                    self.pace.sleep(2.0 * attempt)
                continue
            task.plan_step(2, "completed", "Enrichment succeeded")
            if self.enrichment_issue_open:
                self.hl.resolve_issue("Enrichment API recovered", issue_id="enrichment-timeout")
                self.enrichment_issue_open = False
            return True
        task.plan_step(2, "failed", f"Enrichment failed after {attempts} attempts")
        # A persistent problem, not a one-off failure: it stays on the agent card until resolved.
        self.hl.report_issue(
            "Enrichment API consistently timing out",
            severity="high",
            issue_id="enrichment-timeout",
            category="connectivity",
            context={"api": "clearbit", "timeout_ms": 5000, "lead": lead.id},
            occurrence_count=attempts,
        )
        self.enrichment_issue_open = True
        return False

    def route(self, task: hiveloop.Task, lead: WorkItem, score: float) -> str:
        if score < 0.2:
            task.escalate(
                f"Lead score {score:.2f} — below threshold, needs manual review",
                assigned_to="senior-sales",
                reason="low_score",
            )
            return "Escalated to senior sales"
        with self.hl.track_context("assign_to_rep") as action:
            self.tool(0.3)
            rep = self.rng.choice(PEOPLE)
            action.set_payload({"lead": lead.id, "rep": rep})
        return f"Assigned to {rep}"


class SupportTriage(SimulatedAgent):
    """Answers support tickets; refunds wait for a human approval, angry customers go to a human."""

    agent_type = "support"
    version = "1.8.2"
    model = "gpt-4o-mini"
    scenarios = ("how_to", "small_refund", "angry_customer", "large_refund", "bug_report")
    weights = (0.4, 0.2, 0.1, 0.1, 0.2)
    categories = {
        "how_to": "how_to", "small_refund": "billing", "angry_customer": "complaint",
        "large_refund": "billing", "bug_report": "bug",
    }  # fmt: skip
    # This agent reports its queue by hand (`agent.queue_snapshot`) when it picks up a ticket.
    queue_on_heartbeat = False
    # The finance team grants refunds up to this amount and rejects larger ones.
    refund_limit_usd = 300

    def __init__(self, hb: hiveloop.HiveBoard, agent_id: str, rng: random.Random, pace: Pace) -> None:
        super().__init__(hb, agent_id, rng, pace)
        # Follow-ups promised to escalated customers: (todo id, tickets left before it is done).
        self.follow_ups: list[tuple[str, int]] = []

    def new_work_item(self) -> WorkItem:
        return WorkItem(
            id=self.new_id("ticket"),
            summary=f"Ticket from {self.rng.choice(COMPANIES)}",
            priority=self.rng.choice(("urgent", "normal", "normal", "low")),
            source=self.rng.choice(("email", "chat", "web_form")),
        )

    def handle(self, item: WorkItem, scenario: str, task_number: int) -> None:
        self.report_queue(processing=item)
        with self.hl.task(item.id, project="customer-support", type="ticket_triage") as task:
            category = self.classify(item, scenario)
            if scenario in ("small_refund", "large_refund"):
                self.refund(task, item, scenario)
            elif scenario == "angry_customer":
                self.escalate_to_human(task, item)
            elif scenario == "bug_report":
                self.file_bug(task, item)
            else:
                self.answer(item, turn=2)
            task.set_payload({"ticket": item.id, "category": category})
        self.finish_follow_ups()

    def report_queue(self, processing: WorkItem) -> None:
        with self.state_lock:
            waiting = list(self.inbox)
        oldest = (time.monotonic() - waiting[0].arrived_at) * self.pace.speed if waiting else 0.0
        self.hl.queue_snapshot(
            depth=len(waiting),
            oldest_age_seconds=round(oldest, 1),
            items=[item.as_queue_entry() for item in waiting[:5]],
            processing={"id": processing.id, "summary": processing.summary},
        )

    def classify(self, item: WorkItem, scenario: str) -> str:
        category = self.categories[scenario]
        with self.hl.track_context("lookup_customer") as action:
            self.tool(0.4)
            action.set_payload({"ticket": item.id, "plan": self.rng.choice(("starter", "pro", "enterprise"))})
        self.call_llm(
            "classify_ticket",
            self.model,
            tokens_in=self.rng.randint(600, 1400),
            tokens_out=self.rng.randint(20, 60),
            latency_s=0.6,
            prompt=f"Classify this support ticket: {item.summary} via {item.source}",
            response=f'{{"category": "{category}", "priority": "{item.priority}"}}',
            turn=1,
        )
        return category

    def answer(self, item: WorkItem, turn: int) -> None:
        with self.hl.track_context("search_knowledge_base") as action:
            self.tool(0.5)
            action.set_payload({"query": item.summary, "hits": self.rng.randint(1, 6)})
        # Replies are drafted by a larger model we have no price for: HiveBoard estimates the cost.
        self.call_llm(
            "draft_reply",
            "gpt-4o",
            tokens_in=self.rng.randint(1500, 3500),
            tokens_out=self.rng.randint(200, 450),
            latency_s=2.5,
            prompt=f"Draft a friendly reply to: {item.summary}",
            response="Hi there, thanks for reaching out! Here is how to ...",
            turn=turn,
        )
        with self.hl.track_context("send_reply"):
            self.tool(0.2)

    def refund(self, task: hiveloop.Task, item: WorkItem, scenario: str) -> None:
        low, high = (40, 250) if scenario == "small_refund" else (400, 1500)
        amount = self.rng.randint(low, high)
        company = item.summary.removeprefix("Ticket from ")
        task.request_approval(f"Refund ${amount} for customer {company}?", approver="finance-team")
        self.pace.sleep(self.rng.uniform(8.0, 30.0))  # the agent shows WAITING until a human decides
        approver = self.rng.choice(PEOPLE)
        if amount <= self.refund_limit_usd:
            task.approval_received(f"Approved by @{approver}", approved_by=approver, decision="approved")
            with self.hl.track_context("issue_refund") as action:
                self.tool(0.6)
                action.set_payload({"amount_usd": amount, "ticket": item.id})
        else:
            task.approval_received(
                f"Rejected by @{approver}: over ${self.refund_limit_usd} without proof of purchase",
                approved_by=approver,
                decision="rejected",
            )
            self.answer(item, turn=2)

    def escalate_to_human(self, task: hiveloop.Task, item: WorkItem) -> None:
        task.escalate(
            "Customer threatening to churn — needs a human reply",
            assigned_to="support-tier-2",
            reason="negative_sentiment",
        )
        todo_id = f"follow-up-{item.id}"
        due = datetime.now(UTC) + timedelta(hours=24)
        self.hl.todo(
            todo_id,
            action="created",
            summary=f"Check in with {item.summary.removeprefix('Ticket from ')} after the tier-2 reply",
            priority="high",
            source="escalation",
            due_by=due.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self.follow_ups.append((todo_id, 2))

    def file_bug(self, task: hiveloop.Task, item: WorkItem) -> None:
        for attempt in (1, 2):
            try:
                with self.hl.track_context("create_jira_issue") as action:
                    self.tool(0.7)
                    if attempt == 1:
                        raise UpstreamError("Jira returned 502 Bad Gateway")
                    action.set_payload({"issue": f"SUP-{self.rng.randint(1000, 9999)}", "ticket": item.id})
                break
            except UpstreamError:
                task.retry("Jira 502, retrying", attempt=attempt, backoff_seconds=1.0)
                self.pace.sleep(1.0)
        self.answer(item, turn=2)

    def finish_follow_ups(self) -> None:
        """A promised follow-up is done a couple of tickets after the escalation."""
        remaining = []
        for todo_id, tickets_left in self.follow_ups:
            if tickets_left <= 1:
                self.hl.todo(todo_id, action="completed", summary="Customer confirmed the issue is resolved")
            else:
                remaining.append((todo_id, tickets_left - 1))
        self.follow_ups = remaining


class ResearchWriter(SimulatedAgent):
    """Writes market research reports in an agentic loop, with the Layer 3/4 custom events."""

    agent_type = "research"
    version = "0.9.1"
    model = "gemini-2.5-pro"
    scenarios = ("report", "search_loop", "paywalled_sources")
    weights = (0.7, 0.15, 0.15)
    idle_s = (5.0, 15.0)
    context_window = 200_000
    pages_per_report = 5
    plan_steps = ("Search sources", "Read and extract", "Draft sections", "Fact-check")

    def new_work_item(self) -> WorkItem:
        topic = self.rng.choice(
            ("EU cold-chain logistics", "warehouse robotics", "AI support tooling", "B2B payments")
        )
        return WorkItem(
            id=self.new_id("report"),
            summary=f"Market brief: {topic}",
            priority=self.rng.choice(("normal", "low")),
            source="analyst-request",
        )

    def handle(self, item: WorkItem, scenario: str, task_number: int) -> None:
        with self.hl.task(item.id, project="market-research", type="research_report") as task:
            task.plan(item.summary, self.plan_steps)
            context_tokens = 6_000  # system prompt and brief
            turn = 0

            task.plan_step(0, "started", "Searching the web")
            queries = [f"{item.summary} market size", f"{item.summary} competitors"]
            if scenario == "search_loop":
                # The model keeps issuing the same search: our detector reports the cycle.
                queries = [queries[0]] * 3 + queries[1:]
            recent: list[str] = []
            for query in queries:
                turn += 1
                context_tokens = self.turn(task, item, turn, context_tokens, "plan_next_search")
                with self.hl.track_context("web_search") as action:
                    self.tool(1.2)
                    action.set_payload({"query": query, "results": self.rng.randint(5, 12)})
                recent.append(query)
                if recent[-3:] == [query] * 3:
                    self.report_cycle(task, query, turn)
            task.plan_step(0, "completed", f"{len(queries)} searches", turns=turn)

            # Each page read grows the context by a fifth to a quarter of the window: it first comes
            # under pressure (prompt composition events), then overflows and is compacted.
            task.plan_step(1, "started", "Reading sources")
            with self.hl.track_context("read_sources"):
                for page in range(self.pages_per_report):
                    self.fetch_page(task, item, page, paywalled=scenario == "paywalled_sources", turn=turn)
                    context_tokens += self.rng.randint(40_000, 55_000)
                    turn += 1
                    context_tokens = self.turn(task, item, turn, context_tokens, "extract_figures")
            task.plan_step(1, "completed", "Extracted key figures", turns=self.pages_per_report)

            task.plan_step(2, "started", "Drafting sections")
            for _section in range(3):
                turn += 1
                context_tokens = self.turn(task, item, turn, context_tokens, "draft_section")
            self.remember(task, item)
            task.plan_step(2, "completed", "3 sections drafted", turns=3)

            task.plan_step(3, "started", "Fact-checking")
            self.fact_check(item, turn + 1)
            task.plan_step(3, "completed", "All figures sourced")
            task.set_payload({"report": item.id, "turns": turn, "words": self.rng.randint(900, 2500)})

    def turn(self, task: hiveloop.Task, item: WorkItem, turn: int, context_tokens: int, name: str) -> int:
        """One LLM turn of the loop; returns the context size after it."""
        utilization = context_tokens / self.context_window
        if utilization > 0.8:
            # Layer 3: the framework compresses history to fit, and says so.
            after = int(context_tokens * self.rng.uniform(0.25, 0.4))
            task.event(
                "custom",
                payload={
                    "kind": "context_compaction",
                    "summary": f"Compacted context {context_tokens} -> {after} tokens",
                    "data": {
                        "tokens_before": context_tokens,
                        "tokens_after": after,
                        "tokens_removed": context_tokens - after,
                        "compression_ratio": round(after / context_tokens, 2),
                        "method": "summary",
                        "turn_number": turn,
                    },
                },
            )
            context_tokens = after
        elif utilization > 0.5:
            # Layer 4: report prompt composition only once the context is under pressure.
            history = context_tokens - 6_000
            task.event(
                "custom",
                payload={
                    "kind": "prompt_composition",
                    "data": {
                        "system_prompt_tokens": 6_000,
                        "history_tokens": history,
                        "total_input_tokens": context_tokens,
                        "context_utilization_pct": round(utilization * 100, 1),
                        "largest_component": "history",
                        "turn_number": turn,
                    },
                },
            )
        tokens_out = self.rng.randint(300, 1200)
        # No cost reported: gemini-2.5-pro is not in our price table, so HiveBoard estimates it.
        self.call_llm(
            name,
            self.model,
            tokens_in=context_tokens,
            tokens_out=tokens_out,
            latency_s=3.0,
            prompt=f"[turn {turn}] Research brief: {item.summary}. Continue.",
            response=f"Next: {name.replace('_', ' ')} for {item.summary}",
            turn=turn,
            stop_reason=self.rng.choice(("tool_use", "end_turn", "end_turn")),
        )
        return context_tokens + tokens_out

    def report_cycle(self, task: hiveloop.Task, query: str, turn: int) -> None:
        """Layer 4: a client-side detector found a loop; the reflection step then changes strategy."""
        task.event(
            "custom",
            payload={
                "kind": "anomaly",
                "summary": "Agent called web_search 3x with the same query",
                "data": {
                    "detector": "cycle",
                    "tool_name": "web_search",
                    "cycle_length": 3,
                    "turn_number": turn,
                },
            },
        )
        task.event(
            "custom",
            payload={
                "kind": "learning",
                "data": {
                    "trigger": "reflection",
                    "category": "tool_selection",
                    "description": f"Stopped repeating '{query}'; searching competitors instead",
                    "correction_applied": True,
                    "turn_number": turn,
                },
            },
        )

    def fetch_page(self, task: hiveloop.Task, item: WorkItem, page: int, paywalled: bool, turn: int) -> None:
        url = f"https://news.example.com/{item.id}/{page}"
        for attempt in (1, 2):
            try:
                with self.hl.track_context("fetch_page") as action:  # nested under read_sources
                    self.tool(0.9)
                    if attempt == 1 and page == 0:
                        raise UpstreamError("429 Too Many Requests")
                    if paywalled:
                        # The diagnostic detail that explains the failure, before the task fails.
                        task.event(
                            "custom",
                            payload={
                                "kind": "error_context",
                                "data": {
                                    "error_type": "SourcesUnavailable",
                                    "api_name": "news",
                                    "status_code": 402,
                                    "url": url,
                                    "turn_number": turn,
                                },
                            },
                        )
                        task.plan_step(1, "failed", "Every source is paywalled")
                        raise SourcesUnavailable(f"{url} requires a subscription")
                    action.set_payload({"url": url, "bytes": self.rng.randint(8_000, 90_000)})
                return
            except UpstreamError:
                task.retry("News site rate-limited us", attempt=attempt, backoff_seconds=3.0)
                self.pace.sleep(3.0)

    def remember(self, task: hiveloop.Task, item: WorkItem) -> None:
        task.event(
            "custom",
            payload={
                "kind": "memory_op",
                "data": {"operation": "write", "store": "vector_db", "key_or_query": item.summary[:100]},
            },
        )

    def fact_check(self, item: WorkItem, turn: int) -> None:
        # Claims are checked by our self-hosted model, then summarised by a cheap priced one.
        self.call_llm(
            "fact_check",
            SELF_HOSTED_MODEL,
            tokens_in=self.rng.randint(3000, 8000),
            tokens_out=self.rng.randint(100, 400),
            latency_s=2.0,
            prompt=f"Check every figure in the draft of {item.summary} against its source",
            response="12 claims checked, 12 supported",
            turn=turn,
        )
        self.call_llm(
            "executive_summary",
            "gemini-2.5-flash",
            tokens_in=self.rng.randint(4000, 9000),
            tokens_out=self.rng.randint(150, 300),
            latency_s=1.0,
            prompt=f"Summarise the report on {item.summary} in 5 bullets",
            response="• The market grows 14% a year ...",
            turn=turn + 1,
        )


class DataPipeline(SimulatedAgent):
    """Runs scheduled warehouse syncs with the manual task lifecycle.

    The first pipeline of the fleet (`goes_silent`) hangs on its fourth run: its work loop blocks on
    a warehouse lock while holding the agent's state lock, so the heartbeat callback blocks too, the
    heartbeats stop, and HiveBoard shows the agent stuck once `stuck_threshold` has passed. The hang
    ends when the demo stops.
    """

    agent_type = "etl"
    version = "3.0.4"
    model = "claude-haiku-4-5-20251001"
    scenarios = ("incremental", "schema_drift", "backfill")
    weights = (0.7, 0.1, 0.2)
    idle_s = (5.0, 12.0)
    hang_on_run = 3
    schedule = (("hourly-sync", "CRM → warehouse sync", "1h"), ("nightly-rollup", "Revenue rollup", "24h"))

    def __init__(
        self, hb: hiveloop.HiveBoard, agent_id: str, rng: random.Random, pace: Pace, goes_silent: bool
    ) -> None:
        super().__init__(hb, agent_id, rng, pace)
        self.goes_silent = goes_silent
        self.rerun_todo: str | None = None
        self.extract = self.hl.track("extract")(self.extract)
        self.transform = self.hl.track("transform")(self.transform)
        self.load = self.hl.track("load")(self.load)

    def announce(self) -> None:
        super().announce()
        self.report_schedule(last_status=None)

    def report_schedule(self, last_status: str | None) -> None:
        now = datetime.now(UTC)
        items: list[dict[str, Any]] = []
        for job_id, name, interval in self.schedule:
            hours = 1 if interval == "1h" else 24
            item: dict[str, Any] = {
                "id": job_id,
                "name": name,
                "next_run": (now + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "interval": interval,
                "enabled": True,
            }
            if last_status is not None and job_id == "hourly-sync":
                item["last_run"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
                item["last_status"] = last_status
            items.append(item)
        self.hl.scheduled(items)

    def new_work_item(self) -> WorkItem:
        table = self.rng.choice(("accounts", "opportunities", "invoices", "events"))
        return WorkItem(
            id=self.new_id("sync"),
            summary=f"Sync {table}",
            priority="normal",
            source="scheduler",
        )

    def handle(self, item: WorkItem, scenario: str, task_number: int) -> None:
        # The manual lifecycle: the task is ended explicitly, as a long-running job would.
        task = self.hl.start_task(item.id, project="data-platform", type="warehouse_sync")
        try:
            rows = self.extract(task, item, backfill=scenario == "backfill")
            if self.goes_silent and task_number == self.hang_on_run:
                self.hang(item)
            self.transform(item, rows, schema_drift=scenario == "schema_drift")
            self.load(item, rows)
        except Exception as error:
            task.fail(exception=error, payload={"batch": item.id})
            self.after_run(item, failed=True)
            raise
        task.complete(payload={"batch": item.id, "rows": rows})
        self.after_run(item, failed=False)

    def extract(self, task: hiveloop.Task, item: WorkItem, backfill: bool) -> int:
        self.tool(6.0 if backfill else 2.0)
        # Large exports overload the CRM's export API; small ones only occasionally.
        if backfill or self.rng.random() < 0.1:
            task.retry("CRM export API returned 503", attempt=1, backoff_seconds=4.0)
            self.pace.sleep(4.0)
            self.tool(2.0)
        return self.rng.randint(2_000, 60_000) * (10 if backfill else 1)

    def transform(self, item: WorkItem, rows: int, schema_drift: bool) -> None:
        self.tool(1.5)
        if schema_drift:
            raise SchemaValidationError(f"{item.summary}: column 'amount' changed from DECIMAL to STRING")

    def load(self, item: WorkItem, rows: int) -> None:
        self.tool(2.5)

    def hang(self, item: WorkItem) -> None:
        """Block on a warehouse lock that is never granted, holding the agent's state lock."""
        with self.state_lock, self.hl.track_context("acquire_warehouse_lock") as action:
            action.set_payload({"batch": item.id, "lock": "warehouse.sync"})
            logger.info("%s: hanging on the warehouse lock until the demo stops", self.agent_id)
            self.pace.stop.wait()
            raise WarehouseLockTimeout("warehouse.sync lock not granted")

    def after_run(self, item: WorkItem, failed: bool) -> None:
        """Between runs: update the schedule, keep a re-run TODO, and summarise the run."""
        self.report_schedule(last_status="failed" if failed else "success")
        if failed and self.rerun_todo is None:
            self.rerun_todo = f"rerun-{item.id}"
            self.hl.todo(
                self.rerun_todo,
                action="created",
                summary=f"Re-run {item.summary} after the schema fix",
                priority="normal",
                source="failed_action",
            )
        elif not failed and self.rerun_todo is not None:
            self.hl.todo(self.rerun_todo, action="completed", summary="Re-run succeeded")
            self.rerun_todo = None
        # Outside any task: an agent-level LLM call, with no previews (nothing worth the storage).
        self.call_llm(
            "run_digest",
            self.model,
            tokens_in=self.rng.randint(400, 900),
            tokens_out=self.rng.randint(60, 120),
            latency_s=0.8,
        )


# ---- the fleet -------------------------------------------------------------------------------------

# The `demo-` prefix keeps the simulated agents apart from real ones sent with the same key: an
# agent is its id, so a demo `lead-qualifier` would merge with the README's example agent.
FLEET_ORDER: tuple[tuple[str, type[SimulatedAgent]], ...] = (
    ("demo-lead-qualifier", LeadQualifier),
    ("demo-support-triage", SupportTriage),
    ("demo-research-writer", ResearchWriter),
    ("demo-data-pipeline", DataPipeline),
)


def build_fleet(hb: hiveloop.HiveBoard, count: int, seed: int, pace: Pace) -> list[SimulatedAgent]:
    """`count` agents, cycling through the four kinds: demo-lead-qualifier, demo-support-triage, ...
    then demo-lead-qualifier-2 and so on. Each has its own random stream, so its timeline does not depend on
    how the threads interleave."""
    fleet: list[SimulatedAgent] = []
    for index in range(count):
        name, kind = FLEET_ORDER[index % len(FLEET_ORDER)]
        round_number = index // len(FLEET_ORDER) + 1
        agent_id = name if round_number == 1 else f"{name}-{round_number}"
        rng = random.Random(f"{seed}:{agent_id}")
        if kind is DataPipeline:
            fleet.append(DataPipeline(hb, agent_id, rng, pace, goes_silent=round_number == 1))
        else:
            fleet.append(kind(hb, agent_id, rng, pace))
    return fleet


def run_demo(
    endpoint: str,
    api_key: str,
    *,
    duration_s: float | None = None,
    agents: int = 4,
    speed: float = 1.0,
    seed: int | None = None,
    tasks_per_agent: int | None = None,
    environment: str = "demo",
    flush_interval: float = 1.0,
    stop: threading.Event | None = None,
) -> DemoSummary:
    """Run a simulated fleet of `agents` agents that send their telemetry to HiveBoard at `endpoint`.

    The fleet runs until `duration_s` seconds have passed, `stop` is set, Ctrl-C is pressed, or
    every agent has run `tasks_per_agent` tasks (None: no limit), whichever comes first; then the
    agents finish their current step at once and `hiveloop.shutdown()` flushes what is left.

    `agents` below 4 leaves out kinds of agents (and their features), in the order demo-lead-qualifier,
    demo-support-triage, demo-research-writer, demo-data-pipeline. `speed` divides every simulated
    wait, heartbeat interval and stuck threshold. `seed` makes the run reproducible; without one a
    seed is drawn and returned in the summary.

    ```python
    summary = run_demo("http://localhost:8000", "hb_live_...", duration_s=600, speed=2)
    print(f"{summary.tasks_completed} tasks, replay with seed={summary.seed}")
    ```
    """
    if agents < 1:
        raise ValueError("agents must be at least 1")
    if speed <= 0:
        raise ValueError("speed must be positive")
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    started = time.monotonic()
    halt = threading.Event()
    pace = Pace(speed, halt)
    hb = hiveloop.init(
        api_key=api_key,
        endpoint=endpoint,
        environment=environment,
        group="hiveboard-demo",
        flush_interval=flush_interval,
    )
    fleet = build_fleet(hb, agents, seed, pace)
    threads = [
        threading.Thread(
            target=agent.run, args=(tasks_per_agent,), name=f"demo-{agent.agent_id}", daemon=True
        )
        for agent in fleet
    ]
    for thread in threads:
        thread.start()
    logger.info("demo: %d agents sending to %s (seed %d, speed %g)", len(fleet), endpoint, seed, speed)

    deadline = None if duration_s is None else started + duration_s
    try:
        _wait_until_done(threads, deadline, stop)
    except KeyboardInterrupt:
        logger.info("demo: interrupted")
    finally:
        halt.set()
        for thread in threads:
            thread.join(STOP_TIMEOUT_S)
        flushed = hiveloop.shutdown()

    return DemoSummary(
        seed=seed,
        agents=tuple(agent.agent_id for agent in fleet),
        tasks_completed=sum(agent.tasks_completed for agent in fleet),
        tasks_failed=sum(agent.tasks_failed for agent in fleet),
        llm_calls=sum(agent.llm_calls for agent in fleet),
        elapsed_s=round(time.monotonic() - started, 3),
        flushed=flushed,
    )


def _wait_until_done(
    threads: Sequence[threading.Thread], deadline: float | None, stop: threading.Event | None
) -> None:
    """Return when every thread has ended, `deadline` (a `time.monotonic()`) passed or `stop` is set."""
    while any(thread.is_alive() for thread in threads):
        if stop is not None and stop.is_set():
            return
        remaining = 0.05 if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(0.05, remaining))
