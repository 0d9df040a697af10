// Insights (the integration guide's Layers 3 and 4): cost per turn, stop reasons, cache efficiency,
// context compaction, anomalies, learning, retry rates and error types, all from GET /v1/insights.
// Each section says which instrumentation fills it when it is empty.
import { html } from "../lib.js";
import { useApi } from "../api.js";
import { useFilters } from "../router.js";
import { Loaded } from "../components/states.js";
import { RelativeTime } from "../components/time.js";
import { agentLink, taskLink } from "../components/links.js";
import { CostCell } from "../components/cost-cell.js";
import { ShowAll, firstGroups, useShowAll } from "../components/first-rows.js";
import { count, errorText, percent } from "../format.js";

// Stop reasons that mean the answer was cut short.
const TRUNCATED = new Set(["max_tokens", "length"]);

export function Insights() {
  const filters = useFilters();
  const result = useApi("/v1/insights", { range: filters.range, agent_id: filters.agent, environment: filters.env, project: filters.project }, { refreshMs: 60000 });
  return html`<h1>Insights <span class="muted plan-meta">last ${filters.range}</span></h1>
    <${Loaded}
      result=${result}
      what="insights"
      render=${(data) => html`<div class="insights">
        <${Section} id="turns" title="Cost per turn" empty=${!data.turns.length}
          hint=${html`Pass <code>metadata={"turn_number": n}</code> to <code>task.llm_call()</code>.`}>
          <${Turns} turns=${data.turns} /></${Section}>
        <${Section} id="stop-reasons" title="Stop reasons" empty=${!data.stop_reasons.length} hint="No LLM call in this range.">
          <${StopReasons} reasons=${data.stop_reasons} /></${Section}>
        <${Section} id="cache" title="Cache efficiency" empty=${data.cache.totals.call_count === 0} hint="No LLM call in this range.">
          <${Cache} cache=${data.cache} /></${Section}>
        <${Section} id="compaction" title="Context compaction" empty=${!data.compaction.length}
          hint=${html`Emit <code>task.event("custom", payload={"kind": "context_compaction", "data": {...}})</code> when the context is compressed.`}>
          <${Compaction} rows=${data.compaction} /></${Section}>
        <${Section} id="anomalies" title="Anomalies" empty=${!data.anomalies.length}
          hint=${html`None reported. Detectors (cycle detection, prompt bloat) report with <code>"kind": "anomaly"</code>.`}>
          <${Anomalies} rows=${data.anomalies} /></${Section}>
        <${Section} id="learning" title="Learning" empty=${!data.learning.length}
          hint=${html`Emit <code>"kind": "learning"</code> events when the agent corrects itself.`}>
          <${Learning} rows=${data.learning} /></${Section}>
        <${Section} id="retries" title="Retry rates" empty=${!data.retries.length} hint="No failed action or retry in this range.">
          <${Retries} rows=${data.retries} /></${Section}>
        <${Section} id="errors" title="Error types" empty=${!data.error_types.length} hint="No failure in this range.">
          <${ErrorTypes} rows=${data.error_types} /></${Section}>
      </div>`}
    />`;
}

function Section({ id, title, empty, hint, children }) {
  return html`<section class="insight" id=${id} aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>${title}</h2>
    ${empty ? html`<p class="state state-empty">${hint}</p>` : children}
  </section>`;
}

function Table({ className, head, children }) {
  return html`<div class="table-wrap"><table class=${className}>
    <thead><tr>${head.map(([label, numeric]) => html`<th scope="col" class=${numeric ? "num" : ""}>${label}</th>`)}</tr></thead>
    <tbody>${children}</tbody></table></div>`;
}

// A table of `groups` (rows, or an agent's rows together) cut to its first ones, with the button for
// the rest; `render` draws the table of the rows shown.
function FirstRows({ id, groups, noun, render }) {
  const [all, toggle] = useShowAll(id);
  return html`${render(firstGroups(groups, all))}<${ShowAll} all=${all} toggle=${toggle} total=${groups.length} noun=${noun} />`;
}

function Turns({ turns }) {
  return html`<${FirstRows} id="turns" groups=${turns} noun="turns" render=${(shown) => html`<${Table} className="turns" head=${[["Turn"], ["Calls", 1], ["Tokens in", 1], ["Tokens out", 1], ["Cost", 1]]}>
    ${shown.map(
      (turn) => html`<tr data-turn=${turn.turn_number}><th scope="row">${turn.turn_number}</th>
        <td class="num">${count(turn.call_count)}</td><td class="num">${count(turn.tokens_in)}</td><td class="num">${count(turn.tokens_out)}</td>
        <td class="num"><${CostCell} value=${turn.cost} unpriced=${turn.unpriced_calls} calls=${turn.call_count} /></td></tr>`,
    )}</${Table}>`} />`;
}

function StopReasons({ reasons }) {
  const total = reasons.reduce((sum, reason) => sum + reason.call_count, 0);
  return html`<${Table} className="stop-reasons" head=${[["Reason"], ["Calls", 1], ["Share", 1]]}>
    ${reasons.map(
      (reason) => html`<tr data-reason=${reason.reason}><th scope="row">${reason.reason || html`<span class="muted">not reported</span>`}
          ${TRUNCATED.has(reason.reason) && html` <span class="badge tone-warning">truncated answers</span>`}</th>
        <td class="num">${count(reason.call_count)}</td><td class="num">${percent(reason.call_count / total)}</td></tr>`,
    )}</${Table}>`;
}

function Cache({ cache }) {
  const { totals } = cache;
  return html`<dl class="stats cache-totals">
      <div><dt>Input read from cache</dt><dd>${percent(totals.read_ratio)}</dd></div>
      <div><dt>Cache read tokens</dt><dd>${count(totals.cache_read_tokens)}</dd></div>
      <div><dt>Cache write tokens</dt><dd>${count(totals.cache_write_tokens)}</dd></div>
      <div><dt>Input tokens</dt><dd>${count(totals.tokens_in)}</dd></div>
      <div><dt>Calls using the cache</dt><dd>${count(totals.calls_with_cache)} of ${count(totals.call_count)}</dd></div>
    </dl>
    <${Table} className="cache-by-model" head=${[["Model"], ["Calls", 1], ["Using cache", 1], ["Input", 1], ["Cache read", 1], ["Cache write", 1], ["Read share", 1]]}>
      ${cache.by_model.map(
        (row) => html`<tr data-model=${row.model}><th scope="row">${row.model}</th><td class="num">${count(row.call_count)}</td>
          <td class="num">${count(row.calls_with_cache)}</td><td class="num">${count(row.tokens_in)}</td>
          <td class="num">${count(row.cache_read_tokens)}</td><td class="num">${count(row.cache_write_tokens)}</td>
          <td class="num">${percent(row.read_ratio)}</td></tr>`,
      )}</${Table}>`;
}

function Compaction({ rows }) {
  return html`<${FirstRows} id="compaction" groups=${rows} noun="agents" render=${(shown) => html`<${Table} className="compaction" head=${[["Agent"], ["Compactions", 1], ["Tasks", 1], ["Tokens before", 1], ["Tokens after", 1], ["Kept", 1], ["Last"]]}>
    ${shown.map(
      (row) => html`<tr data-agent=${row.agent_id}><th scope="row">${agentLink(row.agent_id)}</th>
        <td class="num">${count(row.event_count)}</td><td class="num">${count(row.task_count)}</td>
        <td class="num">${count(row.tokens_before)}</td><td class="num">${count(row.tokens_after)}</td>
        <td class="num">${row.tokens_before ? percent(row.tokens_after / row.tokens_before) : "–"}</td>
        <td><${RelativeTime} at=${row.last_at} /></td></tr>`,
    )}</${Table}>`} />`;
}

function Anomalies({ rows }) {
  return html`<${FirstRows} id="anomalies" groups=${rows} noun="rows" render=${(shown) => html`<${Table} className="anomalies" head=${[["Detector"], ["Agent"], ["Findings", 1], ["Tasks", 1], ["Latest"], ["In task"], ["When"]]}>
    ${shown.map(
      (row) => html`<tr data-detector=${row.detector}><th scope="row"><span class="badge tone-danger"><span aria-hidden="true">⚠</span> ${row.detector || "anomaly"}</span></th>
        <td>${agentLink(row.agent_id)}</td><td class="num">${count(row.event_count)}</td><td class="num">${count(row.task_count)}</td>
        <td class="wrap">${row.last_summary || "–"}</td><td>${row.last_task_id ? taskLink(row.last_task_id) : "–"}</td>
        <td><${RelativeTime} at=${row.last_at} /></td></tr>`,
    )}</${Table}>`} />`;
}

function Learning({ rows }) {
  return html`<${FirstRows} id="learning" groups=${rows} noun="rows" render=${(shown) => html`<${Table} className="learning" head=${[["Category"], ["Agent"], ["Events", 1], ["Corrections applied", 1], ["Latest"], ["When"]]}>
    ${shown.map(
      (row) => html`<tr data-category=${row.category}><th scope="row">${row.category || html`<span class="muted">none given</span>`}</th>
        <td>${agentLink(row.agent_id)}</td><td class="num">${count(row.event_count)}</td><td class="num">${count(row.corrections_applied)}</td>
        <td class="wrap">${row.last_description || "–"}</td><td><${RelativeTime} at=${row.last_at} /></td></tr>`,
    )}</${Table}>`} />`;
}

// Per agent (its row over every failure type first), then each failure type it retried or failed;
// the agents that retried most first.
function Retries({ rows }) {
  const agents = [];
  for (const row of rows) {
    if (row.failure_type === null) agents.push([row]);
    else agents[agents.length - 1]?.push(row);
  }
  agents.sort(([a], [b]) => b.retries - a.retries || b.failures - a.failures || a.agent_id.localeCompare(b.agent_id));
  return html`<${FirstRows} id="retries" groups=${agents} noun="agents" render=${(shown) => html`<${Table} className="retries" head=${[["Agent / failure type"], ["Retries", 1], ["Failed actions", 1], ["Retries per failure", 1], ["Tasks retried", 1]]}>
    ${shown.map((row) => {
      const all = row.failure_type === null;
      return html`<tr class=${all ? "retry-agent" : "retry-type"} data-agent=${row.agent_id} data-failure=${all ? "" : row.failure_type}>
        <th scope="row">${all ? agentLink(row.agent_id) : html`<span class="indent">${row.failure_type || html`<span class="muted">no failed action before</span>`}</span>`}</th>
        <td class="num">${count(row.retries)}</td><td class="num">${count(row.failures)}</td>
        <td class="num">${row.failures ? percent(row.retries / row.failures) : "–"}</td>
        <td class="num">${all ? `${count(row.retried_tasks)} of ${count(row.tasks)}` : count(row.retried_tasks)}</td></tr>`;
    })}</${Table}>`} />`;
}

function ErrorTypes({ rows }) {
  return html`<${FirstRows} id="error-types" groups=${rows} noun="error types" render=${(shown) => html`<${Table} className="error-types" head=${[["Error type"], ["Where"], ["Count", 1], ["Agents", 1], ["Latest"], ["In task"], ["When"]]}>
    ${shown.map(
      (row) => html`<tr data-error=${row.error_type}><th scope="row">${row.error_type || html`<span class="muted">no type</span>`}</th>
        <td>${row.event_type.replace("_failed", "").replace("llm_call", "LLM call")}</td>
        <td class="num">${count(row.count)}</td><td class="num">${count(row.agent_count)}</td>
        <td class="wrap error-text">${errorText(row.error_type, row.last_message) || "–"}</td>
        <td>${row.last_task_id ? taskLink(row.last_task_id) : "–"}</td><td><${RelativeTime} at=${row.last_at} /></td></tr>`,
    )}</${Table}>`} />`;
}
