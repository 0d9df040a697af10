// Statuses in words, with an icon and a colour: the words carry the meaning, colour only helps.
import { html } from "../lib.js";

const AGENT = {
  stuck: { label: "stuck", icon: "⚠", tone: "danger" },
  error: { label: "error", icon: "✕", tone: "danger" },
  waiting_approval: { label: "waiting", icon: "‖", tone: "warning" },
  processing: { label: "processing", icon: "▶", tone: "info" },
  idle: { label: "idle", icon: "●", tone: "ok" },
  offline: { label: "offline", icon: "○", tone: "muted" },
};

const TASK = {
  failed: { label: "failed", icon: "✕", tone: "danger" },
  escalated: { label: "escalated", icon: "⇪", tone: "warning" },
  waiting: { label: "waiting", icon: "‖", tone: "warning" },
  processing: { label: "processing", icon: "▶", tone: "info" },
  completed: { label: "completed", icon: "✓", tone: "ok" },
  in_progress: { label: "in progress", icon: "▶", tone: "info" },
  not_started: { label: "not started", icon: "○", tone: "muted" },
  skipped: { label: "skipped", icon: "↷", tone: "muted" },
};

// Who needs attention first on The Hive.
export const ATTENTION_ORDER = ["stuck", "error", "waiting_approval", "processing", "idle", "offline"];

export function agentStatus(status) {
  return AGENT[status] ?? { label: status, icon: "?", tone: "muted" };
}

export function taskStatus(status) {
  return TASK[status] ?? { label: status, icon: "?", tone: "muted" };
}

export function StatusBadge({ status, kind = "agent" }) {
  const info = kind === "agent" ? agentStatus(status) : taskStatus(status);
  return html`<span class=${`badge tone-${info.tone}`} data-status=${status}>
    <span aria-hidden="true">${info.icon}</span> ${info.label}</span>`;
}
