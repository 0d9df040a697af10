// The task table, shared by the Tasks view and an agent's recent tasks.
import { html } from "../lib.js";
import { href } from "../router.js";
import { StatusBadge } from "./status.js";
import { RelativeTime } from "./time.js";
import { count, duration, money } from "../format.js";

// A task's cost as its own cell: "–" without LLM calls, "unpriced" when no call had a price (never
// $0), "est." when HiveBoard estimated it from tokens, "+ n unpriced" when some calls have no price.
export function TaskCost({ task }) {
  if (!task.llm_call_count) return html`<span class="muted" title="No LLM calls">–</span>`;
  if (task.cost === null || task.cost === undefined) {
    return task.unpriced_calls
      ? html`<span class="unpriced" title="No price is known for this task's models">unpriced</span>`
      : html`<span class="muted">–</span>`;
  }
  const estimated = task.estimated_calls > 0;
  return html`<span>${money(task.cost)}</span>${estimated &&
    html` <abbr class="estimated" title="Estimated from tokens and the model's prices">est.</abbr>`}${task.unpriced_calls > 0 &&
    html` <span class="unpriced" title="Calls whose model has no known price">+ ${task.unpriced_calls} unpriced</span>`}`;
}

export function taskHref(task) {
  return href(`/tasks/${encodeURIComponent(task.task_id)}`, { span: task.task_span_id });
}

function human(task) {
  if (task.derived_status === "waiting") return "waiting";
  if (task.has_human_intervention) return "yes";
  return task.escalation_count > 0 ? "escalated" : "–";
}

export function TaskTable({ tasks, showAgent = true }) {
  return html`<div class="table-wrap"><table class="tasks">
    <thead><tr>
      <th scope="col">Task</th><th scope="col">Status</th>${showAgent && html`<th scope="col">Agent</th>`}
      <th scope="col">Type</th><th scope="col">Project</th><th scope="col">Started</th>
      <th scope="col" class="num">Duration</th><th scope="col" class="num">LLM calls</th>
      <th scope="col" class="num">Actions</th><th scope="col" class="num">Errors</th>
      <th scope="col" class="num">Escalations</th><th scope="col">Human</th>
      <th scope="col" class="num">Tokens</th><th scope="col" class="num">Cost</th>
    </tr></thead>
    <tbody>
      ${tasks.map(
        (task) => html`<tr key=${task.task_span_id} data-task=${task.task_id}>
          <th scope="row"><a href=${taskHref(task)}>${task.task_id}</a></th>
          <td><${StatusBadge} status=${task.derived_status} kind="task" /></td>
          ${showAgent && html`<td><a href=${href(`/agents/${encodeURIComponent(task.agent_id)}`)}>${task.agent_id}</a></td>`}
          <td>${task.task_type || "–"}</td>
          <td>${task.project || "–"}</td>
          <td><${RelativeTime} at=${task.started_at} /></td>
          <td class="num">${duration(task.duration_ms)}</td>
          <td class="num">${count(task.llm_call_count)}</td>
          <td class="num">${count(task.action_count)}</td>
          <td class="num">${count(task.error_count)}</td>
          <td class="num">${count(task.escalation_count)}</td>
          <td>${human(task)}</td>
          <td class="num">${count(task.total_tokens)}</td>
          <td class="num"><${TaskCost} task=${task} /></td>
        </tr>`,
      )}
    </tbody>
  </table></div>`;
}
