// Links to an agent's and a task's page, and to one span in its task's timeline, keeping the global
// filters.
import { html } from "../lib.js";
import { href } from "../router.js";

export function agentLink(agentId) {
  return agentId ? html`<a href=${href(`/agents/${encodeURIComponent(agentId)}`)}>${agentId}</a>` : html`an agent`;
}

export function taskLink(taskId) {
  return html`<a href=${href(`/tasks/${encodeURIComponent(taskId)}`)}>${taskId}</a>`;
}

// `content` linking to the span `spanId` selected in the timeline of task `taskId` (its inspector open).
export function spanLink(taskId, spanId, content) {
  return html`<a href=${href(`/tasks/${encodeURIComponent(taskId)}`, { sel: spanId })} title=${`Open in the timeline of ${taskId}`}>${content}</a>`;
}
