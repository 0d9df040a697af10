// Links to an agent's and a task's page, keeping the global filters.
import { html } from "../lib.js";
import { href } from "../router.js";

export function agentLink(agentId) {
  return agentId ? html`<a href=${href(`/agents/${encodeURIComponent(agentId)}`)}>${agentId}</a>` : html`an agent`;
}

export function taskLink(taskId) {
  return html`<a href=${href(`/tasks/${encodeURIComponent(taskId)}`)}>${taskId}</a>`;
}
