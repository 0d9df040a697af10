// Pipeline: the fleet's queued, open, scheduled and waiting work, each agent with what needs
// attention, and the approvals waiting for a human, oldest first.
import { html } from "../lib.js";
import { useApi } from "../api.js";
import { useFilters } from "../router.js";
import { Loaded } from "../components/states.js";
import { RelativeTime, useNow } from "../components/time.js";
import { agentLink, taskLink } from "../components/links.js";
import { count, duration } from "../format.js";

const REFRESH_MS = 10000;
const SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
// A queue whose oldest item waits longer than this needs attention.
const QUEUE_AGE_ATTENTION_S = 600;

export function Pipeline() {
  const filters = useFilters();
  const result = useApi("/v1/pipeline", { agent_id: filters.agent, environment: filters.env }, { refreshMs: REFRESH_MS });
  return html`<h1>Pipeline</h1>
    <${Loaded}
      result=${result}
      what="the pipeline"
      isEmpty=${(data) => data.agents.length === 0 && !filters.agent && !filters.env}
      agentData
      empty=${html`<p class="state state-empty">No agent has reported a queue, issue, todo, schedule or approval yet.</p>`}
      render=${(data) => html`<${FleetTotals} totals=${data.totals} />
        <section aria-labelledby="per-agent"><h2 id="per-agent">Agents</h2>
          ${data.agents.length ? html`<${AgentTable} agents=${data.agents} />` : html`<p class="state state-empty">No agent matches the filters.</p>`}</section>
        <section aria-labelledby="approvals"><h2 id="approvals">Approvals waiting</h2><${Approvals} agents=${data.agents} /></section>`}
    />`;
}

function FleetTotals({ totals }) {
  return html`<section class="summary" aria-label="Fleet totals"><dl class="stats pipeline-totals">
    <div><dt>Queue depth</dt><dd data-total="queue_depth">${count(totals.queue_depth)}</dd></div>
    <div><dt>Active issues</dt><dd data-total="active_issues">${count(totals.active_issues)}</dd></div>
    <div><dt>Open todos</dt><dd data-total="open_todos">${count(totals.open_todos)}</dd></div>
    <div><dt>Pending approvals</dt><dd data-total="pending_approvals">${count(totals.pending_approvals)}</dd></div>
    <div><dt>Scheduled items</dt><dd data-total="scheduled_items">${count(totals.scheduled_items)}</dd></div>
  </dl></section>`;
}

// What needs a person's attention on one agent, most urgent first, in words.
function attention(agent, now) {
  const reasons = [];
  const approvals = agent.pending_approvals;
  if (approvals.length) {
    const oldest = Math.min(...approvals.map((approval) => new Date(approval.requested_at).getTime()));
    reasons.push({ rank: 0, text: `${approvals.length} approval${approvals.length === 1 ? "" : "s"} waiting (longest ${duration(now - oldest)})` });
  }
  for (const issue of agent.issues) {
    reasons.push({ rank: 1 + (SEVERITY_RANK[issue.severity] ?? 4) / 10, text: `${issue.severity || "an"} issue: ${issue.summary}` });
  }
  const oldestAge = agent.queue?.oldest_age_seconds;
  if (oldestAge !== null && oldestAge !== undefined && oldestAge > QUEUE_AGE_ATTENTION_S) {
    reasons.push({ rank: 2, text: `oldest queued item waits ${duration(oldestAge * 1000)}` });
  }
  const failedTodos = agent.todos.filter((todo) => todo.status === "failed").length;
  if (failedTodos) reasons.push({ rank: 3, text: `${failedTodos} failed todo${failedTodos === 1 ? "" : "s"}` });
  return reasons.sort((a, b) => a.rank - b.rank);
}

function AgentTable({ agents }) {
  const now = useNow();
  const rows = agents
    .map((agent) => ({ agent, reasons: attention(agent, now) }))
    .sort((a, b) => (a.reasons[0]?.rank ?? 9) - (b.reasons[0]?.rank ?? 9) || a.agent.agent_id.localeCompare(b.agent.agent_id));
  return html`<div class="table-wrap"><table class="pipeline-agents">
    <thead><tr><th scope="col">Agent</th><th scope="col">Needs attention</th><th scope="col" class="num">Queue</th>
      <th scope="col" class="num">Issues</th><th scope="col" class="num">Todos</th><th scope="col" class="num">Scheduled</th>
      <th scope="col" class="num">Approvals</th></tr></thead>
    <tbody>${rows.map(
      ({ agent, reasons }) => html`<tr key=${agent.agent_id} data-agent=${agent.agent_id}>
        <th scope="row">${agentLink(agent.agent_id)}</th>
        <td class="attention">${reasons.length
          ? html`<ul class="reasons">${reasons.map((reason) => html`<li>${reason.text}</li>`)}</ul>`
          : html`<span class="muted">nothing</span>`}</td>
        <td class="num">${agent.queue ? html`${count(agent.queue.depth)}${agent.queue.oldest_age_seconds !== null ? html` <span class="muted">(oldest ${duration(agent.queue.oldest_age_seconds * 1000)})</span>` : ""}` : "–"}</td>
        <td class="num">${count(agent.issues.length)}</td>
        <td class="num">${count(agent.todos.length)}</td>
        <td class="num">${agent.scheduled ? count(agent.scheduled.items.length) : "–"}</td>
        <td class="num">${count(agent.pending_approvals.length)}</td>
      </tr>`,
    )}</tbody></table></div>`;
}

function Approvals({ agents }) {
  const now = useNow();
  const approvals = agents
    .flatMap((agent) => agent.pending_approvals.map((approval) => ({ ...approval, agent_id: agent.agent_id })))
    .sort((a, b) => a.requested_at.localeCompare(b.requested_at));
  if (!approvals.length) return html`<p class="state state-empty">No approval is waiting.</p>`;
  return html`<div class="table-wrap"><table class="approvals">
    <thead><tr><th scope="col">Task</th><th scope="col">Agent</th><th scope="col">Asks</th><th scope="col">Approver</th>
      <th scope="col">Asked</th><th scope="col" class="num">Waiting for</th></tr></thead>
    <tbody>${approvals.map(
      (approval) => html`<tr key=${`${approval.agent_id}:${approval.task_id}:${approval.requested_at}`} data-task=${approval.task_id}>
        <th scope="row">${taskLink(approval.task_id)}</th>
        <td>${agentLink(approval.agent_id)}</td>
        <td>${approval.summary}</td>
        <td>${approval.approver || "–"}</td>
        <td><${RelativeTime} at=${approval.requested_at} /></td>
        <td class="num waiting-for">${duration(now - new Date(approval.requested_at).getTime())}</td>
      </tr>`,
    )}</tbody></table></div>`;
}
