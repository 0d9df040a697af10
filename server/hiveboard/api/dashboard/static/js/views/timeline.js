// Task timeline: header, plan bar, waterfall of actions and LLM calls with narrative markers, time
// breakdown, error chains and an inspector. The selected span is in the URL (`sel`), so the
// permalink restores the same view; an open task follows the live stream.
import { html, useMemo, useState } from "../lib.js";
import { useApi } from "../api.js";
import { useStream } from "../live.js";
import { href, rangeHolding, setQuery, useLocation } from "../router.js";
import { StatusBadge, taskStatus } from "../components/status.js";
import { ErrorBox, Loading } from "../components/states.js";
import { RelativeTime } from "../components/time.js";
import { TaskCost } from "../components/task-table.js";
import { count, dateTime, duration, errorText, money, prettyJson, tokens } from "../format.js";

// Events that are spans of the waterfall itself, not narrative markers on it.
const SPAN_EVENTS = new Set([
  "task_started", "task_completed", "task_failed", "action_started", "action_completed", "action_failed",
  "llm_call", "heartbeat", "agent_registered",
]);
const OPEN = new Set(["processing", "waiting"]);

export function Timeline({ params, session }) {
  const taskId = params.taskId;
  const { query } = useLocation();
  const span = query.get("span") || "";
  const selected = query.get("sel") || "";
  const result = useApi(`/v1/tasks/${encodeURIComponent(taskId)}/timeline`, { task_span_id: span });
  const open = result.data && OPEN.has(result.data.task.derived_status);
  const live = useStream(open ? { channels: ["events"], filters: { task_id: taskId } } : null, () => result.reload());

  if (result.error && !result.data) return html`<${ErrorBox} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what=${`task ${taskId}`} />`;
  const timeline = result.data;
  const select = (spanId) => setQuery({ sel: spanId === selected ? null : spanId });
  return html`
    <nav class="crumbs" aria-label="Breadcrumb"><a href=${href("/tasks")}>Tasks</a> › ${taskId}</nav>
    <${Header} timeline=${timeline} session=${session} live=${open ? live : null} />
    ${timeline.plan ? html`<${PlanBar} plan=${timeline.plan} />` : html`<p class="muted">No plan.</p>`}
    <${Breakdown} breakdown=${timeline.duration_breakdown} />
    <div class="timeline-body">
      <${Waterfall} timeline=${timeline} selected=${selected} select=${select} />
      <${Inspector} timeline=${timeline} selected=${selected} close=${() => setQuery({ sel: null })} />
    </div>
    ${timeline.error_chains.length > 0 && html`<${ErrorChains} chains=${timeline.error_chains} select=${select} />`}
    ${timeline.payload && html`<section aria-labelledby="payload"><h2 id="payload">Task payload</h2>
      <pre class="json">${prettyJson(timeline.payload)}</pre></section>`}`;
}

function Header({ timeline, session, live }) {
  const task = timeline.task;
  const permalink = href(`/tasks/${encodeURIComponent(task.task_id)}`, { span: task.task_span_id, sel: new URLSearchParams(location.search).get("sel") });
  return html`<header class="task-header">
    <h1>${task.task_id} <${StatusBadge} status=${task.derived_status} kind="task" /></h1>
    <dl class="stats">
      <div><dt>Agent</dt><dd><a href=${href(`/agents/${encodeURIComponent(task.agent_id)}`)}>${task.agent_id}</a></dd></div>
      <div><dt>Started</dt><dd><${RelativeTime} at=${task.started_at} /></dd></div>
      <div><dt>Duration</dt><dd>${task.duration_ms === null ? html`running` : duration(task.duration_ms)}</dd></div>
      <div><dt>Cost</dt><dd class="task-cost"><${TaskCost} task=${task} /></dd></div>
      <div><dt>Tokens</dt><dd>${tokens(task.tokens_in, task.tokens_out)}</dd></div>
      <div><dt>LLM calls</dt><dd>${count(task.llm_call_count)}</dd></div>
      ${task.task_type && html`<div><dt>Type</dt><dd>${task.task_type}</dd></div>`}
      ${task.project && html`<div><dt>Project</dt><dd>${task.project}</dd></div>`}
    </dl>
    ${task.error_message && html`<p class="error-text" role="note">${errorText(task.error_type, task.error_message)}</p>`}
    <p class="links">
      <a href=${permalink} class="permalink">Permalink</a>
      ${session.grafana_url && html` · <a href=${grafanaHref(session.grafana_url, task)} target="_blank" rel="noopener">Trace in Grafana</a>`}
      ${live && html` · <span class=${`live live-${live}`} role="status">${live === "live" ? "● live" : live === "offline" ? "○ reconnecting" : "○ connecting"}</span>`}
    </p>
  </header>`;
}

function grafanaHref(base, task) {
  const from = new Date(task.started_at).getTime() - 60000;
  const to = (task.ended_at ? new Date(task.ended_at).getTime() : Date.now()) + 60000;
  const run = `var-task=${encodeURIComponent(task.task_id)}&var-trace=${encodeURIComponent(task.trace_id)}`;
  return `${base}/d/hiveboard-tasks/tasks-and-timeline?${run}&from=${from}&to=${to}`;
}

function PlanBar({ plan }) {
  const { progress } = plan;
  return html`<section class="plan" aria-labelledby="plan-title">
    <h2 id="plan-title">Plan${plan.goal ? `: ${plan.goal}` : ""}
      <span class="muted plan-meta"><span class="plan-revision">revision ${plan.revision}${plan.revision > 0 ? " (replanned)" : ""}</span> ·
      <span class="plan-progress">${progress.completed}/${progress.total}</span> steps done</span></h2>
    <ol class="plan-steps">
      ${plan.steps.map((step) => {
        const info = taskStatus(step.status);
        return html`<li class=${`plan-step tone-${info.tone}`} data-status=${step.status} title=${step.summary || step.description}>
          <span class="step-index">${step.index + 1}</span> ${step.description}
          <span class="step-status"><span aria-hidden="true">${info.icon}</span> ${info.label}</span>
        </li>`;
      })}
    </ol>
  </section>`;
}

function Breakdown({ breakdown }) {
  const total = breakdown.total_ms || 1;
  const parts = [
    ["LLM", breakdown.llm_ms, "llm"],
    ["Tools", breakdown.tools_ms, "tools"],
    ["Other", breakdown.other_ms, "other"],
  ];
  return html`<section class="breakdown" aria-label="Where the time went">
    <div class="breakdown-bar">${parts.map(
      ([, ms, kind]) => html`<span class=${`part part-${kind}`} style=${`width:${(100 * ms) / total}%`}></span>`,
    )}</div>
    <ul class="legend">${parts.map(
      ([label, ms, kind]) => html`<li><span class=${`swatch part-${kind}`}></span> ${label} ${duration(ms)} (${Math.round((100 * ms) / total)}%)</li>`,
    )}</ul>
  </section>`;
}

// The action tree flattened into rows with their depth, leaving out children of collapsed actions.
function rows(nodes, collapsed, depth = 0, out = []) {
  for (const node of nodes) {
    out.push({ node, depth });
    if (node.type === "action" && node.children.length && !collapsed.has(node.span_id)) rows(node.children, collapsed, depth + 1, out);
  }
  return out;
}

function Waterfall({ timeline, selected, select }) {
  const [collapsed, setCollapsed] = useState(() => new Set());
  const start = new Date(timeline.task.started_at).getTime();
  const end = timeline.task.ended_at ? new Date(timeline.task.ended_at).getTime() : Date.now();
  const total = Math.max(1, end - start);
  const position = (at) => Math.min(100, Math.max(0, (100 * (new Date(at).getTime() - start)) / total));
  const markers = useMemo(() => timeline.events.filter((event) => !SPAN_EVENTS.has(event.event_type)), [timeline]);
  const toggle = (spanId) => {
    const next = new Set(collapsed);
    next.has(spanId) ? next.delete(spanId) : next.add(spanId);
    setCollapsed(next);
  };
  const shown = rows(timeline.action_tree, collapsed);
  return html`<section class="waterfall" aria-labelledby="waterfall-title">
    <h2 id="waterfall-title">Actions and LLM calls</h2>
    <div class="wf-row wf-markers" aria-label="Narrative events">
      <span class="wf-name muted">events</span>
      <span class="wf-track">${markers.map(
        (event) => html`<button type="button" class=${`marker marker-${event.event_type}${event.span_id === selected ? " selected" : ""}`}
          style=${`left:${position(event.timestamp)}%`} data-event=${event.event_type}
          title=${`${event.event_type}${event.summary ? `: ${event.summary}` : ""}`}
          aria-label=${`${event.event_type.replaceAll("_", " ")}${event.kind ? ` (${event.kind})` : ""}: ${event.summary || ""}`}
          onClick=${() => select(event.span_id)}>${markerIcon(event)}</button>`,
      )}</span>
    </div>
    ${shown.length === 0 && html`<p class="muted">No action or LLM call recorded.</p>`}
    <ul class="wf-rows">${shown.map(({ node, depth }) => {
      const left = position(node.started_at);
      const width = Math.max(0.5, ((node.duration_ms ?? (end - new Date(node.started_at).getTime())) * 100) / total);
      const failed = node.status === "failed" || node.status === "error" || node.status === "Error";
      const hasChildren = node.type === "action" && node.children.length > 0;
      return html`<li class=${`wf-row${node.span_id === selected ? " selected" : ""}${failed ? " failed" : ""}`} data-span=${node.span_id} data-kind=${node.type}>
        <span class="wf-name" style=${`padding-left:${depth * 1.1}rem`}>
          ${hasChildren
            ? html`<button type="button" class="twisty" aria-expanded=${!collapsed.has(node.span_id)}
                aria-label=${`${collapsed.has(node.span_id) ? "Expand" : "Collapse"} ${node.name}`} onClick=${() => toggle(node.span_id)}>${collapsed.has(node.span_id) ? "▸" : "▾"}</button>`
            : html`<span class="twisty-space"></span>`}
          <button type="button" class="wf-open" aria-pressed=${node.span_id === selected} onClick=${() => select(node.span_id)}>
            <span class="kind">${node.type === "llm_call" ? "LLM" : "action"}</span> ${node.name}${node.type === "llm_call" && node.model ? html` <span class="muted">${node.model}</span>` : ""}
            ${failed && html` <span class="badge tone-danger"><span aria-hidden="true">✕</span> failed</span>`}
          </button>
        </span>
        <span class="wf-track"><span class=${`wf-bar bar-${node.type}${failed ? " bar-failed" : ""}`} style=${`left:${left}%;width:${Math.min(width, 100 - left)}%`}></span></span>
        <span class="wf-duration">${duration(node.duration_ms)}</span>
      </li>`;
    })}</ul>
  </section>`;
}

function markerIcon(event) {
  return { plan_created: "☰", plan_step: "◆", retry_started: "↻", escalated: "⇪", approval_requested: "✋", approval_received: "✓", issue: "!" }[event.event_type] ?? "•";
}

function findNode(nodes, spanId) {
  for (const node of nodes) {
    if (node.span_id === spanId) return node;
    const found = node.type === "action" ? findNode(node.children, spanId) : null;
    if (found) return found;
  }
  return null;
}

// Attribute values that hold JSON are shown formatted.
function attributeValue(value) {
  if (typeof value === "string" && /^[[{]/.test(value.trim())) {
    try {
      return html`<pre class="json">${prettyJson(JSON.parse(value))}</pre>`;
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return html`<span class="value">${String(value)}</span>`;
}

function Inspector({ timeline, selected, close }) {
  if (!selected) return html`<aside class="inspector empty" aria-label="Inspector"><p class="muted">Select an action, LLM call or event to inspect it.</p></aside>`;
  const node = findNode(timeline.action_tree, selected);
  const event = timeline.events.find((candidate) => candidate.span_id === selected);
  if (!node && !event) return html`<aside class="inspector" aria-label="Inspector"><p class="muted">Nothing with id ${selected} in this task.</p></aside>`;
  const attributes = event?.attributes ?? {};
  const previews = ["prompt_preview", "response_preview", "hiveboard.llm.prompt_preview", "hiveboard.llm.response_preview"];
  return html`<aside class="inspector" aria-label="Inspector">
    <header><h2>${node?.name ?? event.event_type.replaceAll("_", " ")}</h2>
      <button type="button" class="link-button" onClick=${close} aria-label="Close the inspector">Close</button></header>
    <dl class="facts">
      <div><dt>Kind</dt><dd>${node ? (node.type === "llm_call" ? "LLM call" : "action") : event.event_type}${event?.kind ? ` (${event.kind})` : ""}</dd></div>
      <div><dt>Span</dt><dd><code>${selected}</code></dd></div>
      <div><dt>At</dt><dd>${dateTime(node?.started_at ?? event.timestamp)}</dd></div>
      ${(node?.duration_ms ?? event?.duration_ms) != null && html`<div><dt>Duration</dt><dd>${duration(node?.duration_ms ?? event.duration_ms)}</dd></div>`}
      ${node?.type === "llm_call" && html`
        <div><dt>Model</dt><dd>${node.model}</dd></div>
        <div><dt>Tokens</dt><dd>${tokens(node.tokens_in, node.tokens_out)}</dd></div>
        <div><dt>Cost</dt><dd class="call-cost">${node.cost === null ? html`<span class="unpriced">unpriced</span>` : money(node.cost)}
          ${node.cost !== null && html` <span class="muted">(${node.cost_source})</span>`}</dd></div>`}
      ${event?.summary && html`<div><dt>Summary</dt><dd>${event.summary}</dd></div>`}
    </dl>
    ${node?.type === "llm_call" && html`<p><a class="in-cost-explorer"
      href=${href("/cost", { task: timeline.task.task_id, call: selected, range: rangeHolding(node.started_at) })}>This task's calls in the cost explorer</a></p>`}
    ${(node?.error_type || node?.error_message || event?.error_message) && html`<div class="exception" role="note">
      <h3>Exception</h3>
      <p class="error-text">${errorText(node?.error_type || event?.error_type, node?.error_message || event?.error_message)}</p>
      ${node?.exception_stacktrace && html`<pre class="stacktrace">${node.exception_stacktrace}</pre>`}
    </div>`}
    ${previews.filter((name) => attributes[name]).map((name) => html`<h3>${name.includes("prompt") ? "Prompt" : "Response"}</h3><pre class="preview">${attributes[name]}</pre>`)}
    ${Object.keys(attributes).length > 0 && html`<h3>Attributes</h3>
      <dl class="attributes">${Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)).map(
        ([name, value]) => html`<div><dt>${name}</dt><dd>${attributeValue(value)}</dd></div>`,
      )}</dl>`}
  </aside>`;
}

function ErrorChains({ chains, select }) {
  return html`<section aria-labelledby="chains"><h2 id="chains">Error chains</h2>
    <ol class="chains">${chains.map(
      (chain) => html`<li class=${`chain chain-${chain.outcome}`}>
        <strong>${chain.outcome}</strong> after ${count(chain.retry_count)} ${chain.retry_count === 1 ? "retry" : "retries"}
        <ol>${chain.links.map(
          (link) => html`<li><button type="button" class="link-button" onClick=${() => select(link.span_id)}>${link.event_type.replaceAll("_", " ")}</button>
            ${link.action_name && ` ${link.action_name}`}${(link.error_type || link.error_message) && `: ${errorText(link.error_type, link.error_message)}`}
            ${link.backoff_seconds ? ` · backoff ${link.backoff_seconds} s` : ""}</li>`,
        )}</ol>
      </li>`,
    )}</ol>
  </section>`;
}
