// One event of the activity stream as a sentence for people, with links to its agent and task:
// "lead-qualifier called claude-sonnet-4 for lead_scoring, 1,800 → 250 tokens, $0.004".
import { html } from "../lib.js";
import { agentLink, taskLink } from "./links.js";
import { count, duration, errorText, money, tokens } from "../format.js";

// Attributes the sentences read (the live stream sends events without them; the page read after
// brings them).
const MODEL = ["gen_ai.response.model", "gen_ai.request.model"];
const LLM_NAME = "hiveboard.llm.name";
const INPUT_TOKENS = "gen_ai.usage.input_tokens";
const OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
const REPORTED_COST = "hiveboard.llm.cost";
const PLAN_GOAL = "hiveboard.plan.goal";

function inTask(event) {
  return event.task_id ? html` in ${taskLink(event.task_id)}` : "";
}

function said(text) {
  return text ? html`: “${text}”` : "";
}

function number(value) {
  const parsed = Number(value);
  return value === undefined || value === "" || Number.isNaN(parsed) ? null : parsed;
}

function llmSentence(event, who) {
  const attributes = event.attributes;
  if (!attributes) return html`${who} called a model${inTask(event)}`;
  const model = MODEL.map((name) => attributes[name]).find(Boolean) ?? "a model";
  const parts = [];
  const tokensIn = number(attributes[INPUT_TOKENS]);
  const tokensOut = number(attributes[OUTPUT_TOKENS]);
  if (tokensIn !== null || tokensOut !== null) parts.push(tokens(tokensIn ?? 0, tokensOut ?? 0));
  const reported = number(attributes[REPORTED_COST]);
  if (reported !== null) parts.push(money(reported));
  const name = attributes[LLM_NAME];
  return html`${who} called ${model}${name ? ` for ${name}` : ""}${parts.length ? `, ${parts.join(", ")}` : ""}${inTask(event)}`;
}

export function EventSentence({ event }) {
  const who = agentLink(event.agent_id);
  const task = event.task_id && taskLink(event.task_id);
  const took = event.duration_ms !== null && event.duration_ms !== undefined ? ` in ${duration(event.duration_ms)}` : "";
  const failure = errorText(event.error_type, event.error_message);
  switch (event.event_type) {
    case "llm_call":
      return llmSentence(event, who);
    case "task_started":
      return html`${who} started task ${task}`;
    case "task_completed":
      return html`${who} completed task ${task}${took}`;
    case "task_failed":
      return html`${who}'s task ${task} failed${took}${failure ? `: ${failure}` : ""}`;
    case "action_started":
      return html`${who} started ${event.action_name || "an action"}${inTask(event)}`;
    case "action_completed":
      return html`${who} ran ${event.action_name || "an action"}${took}${inTask(event)}`;
    case "action_failed":
      return html`${who}'s ${event.action_name || "action"} failed${inTask(event)}${failure ? `: ${failure}` : ""}`;
    case "plan_created": {
      const goal = event.attributes?.[PLAN_GOAL];
      const verb = event.plan_revision ? `replanned (revision ${event.plan_revision})` : "planned";
      return html`${who} ${verb} ${task}${event.plan_total_steps ? ` in ${event.plan_total_steps} steps` : ""}${said(goal)}`;
    }
    case "plan_step": {
      const step = event.plan_step_index !== null ? `step ${event.plan_step_index + 1}${event.plan_total_steps ? `/${event.plan_total_steps}` : ""}` : "a step";
      return html`${who} ${event.plan_step_action || "updated"} ${step}${inTask(event)}${said(event.summary)}`;
    }
    case "escalated":
      return html`${who} escalated ${task || "its work"}${said(event.summary)}`;
    case "approval_requested":
      return html`${who} asked for approval${inTask(event)}${said(event.summary)}`;
    case "approval_received":
      return html`${who} received ${event.approval_decision ? `the decision “${event.approval_decision}”` : "a decision"}${inTask(event)}${said(event.summary)}`;
    case "retry_started":
      return html`${who} retried${event.retry_attempt ? ` (attempt ${event.retry_attempt})` : ""}${inTask(event)}${said(event.summary)}`;
    case "issue":
      return event.issue_action === "resolved"
        ? html`${who} resolved an issue${said(event.summary)}`
        : html`${who} reported a ${event.issue_severity || ""} issue${said(event.summary)}${event.occurrence_count ? ` (× ${count(event.occurrence_count)})` : ""}`;
    case "queue_snapshot":
      return html`${who}'s queue holds ${count(event.queue_depth)} item${event.queue_depth === 1 ? "" : "s"}`;
    case "todo":
      return html`${who} ${event.todo_action || "updated"} a todo${said(event.summary)}`;
    case "scheduled":
      return html`${who} reported its scheduled work`;
    case "custom":
      return html`${who} reported ${event.kind ? `a ${event.kind.replaceAll("_", " ")} event` : "an event"}${inTask(event)}${said(event.summary)}`;
    default:
      return html`${who}: ${event.event_type.replaceAll("_", " ")}${inTask(event)}${said(event.summary)}`;
  }
}
