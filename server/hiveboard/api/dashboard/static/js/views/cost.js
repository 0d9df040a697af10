// Cost explorer: totals of the range (reported, estimated and unpriced apart), cost over time by
// model or agent, tables by model and agent, and the calls behind them with a call inspector. The
// grouping, drill-down, page and inspected call are in the URL.
import { html } from "../lib.js";
import { useApi } from "../api.js";
import { href, setQuery, useFilters, useLocation } from "../router.js";
import { Loaded } from "../components/states.js";
import { RelativeTime } from "../components/time.js";
import { Pager } from "../components/pager.js";
import { SeriesChart } from "../components/series-chart.js";
import { agentLink, taskLink } from "../components/links.js";
import { CostCell } from "../components/cost-cell.js";
import { FIRST_ROWS, ShowAll, firstGroups, useShowAll } from "../components/first-rows.js";
import { cost, count, dateTime, duration, money } from "../format.js";

const GROUPS = { model: "model", agent: "agent" };
const SORTS = { time: { path: "/v1/llm-calls", label: "newest" }, cost: { path: "/v1/cost/calls", label: "most expensive" } };
const SOURCES = ["reported", "estimated", "unpriced"];
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 500;
// Series drawn in the chart; the rest are in the tables.
const MAX_SERIES = 8;

export function Cost() {
  const filters = useFilters();
  const { query } = useLocation();
  const by = GROUPS[query.get("by")] ?? "model";
  const model = query.get("model") || "";
  const source = SOURCES.includes(query.get("source")) ? query.get("source") : "";
  const sort = SORTS[query.get("sort")] ? query.get("sort") : "time";
  const taskId = query.get("task") || "";
  const scope = { range: filters.range, agent_id: filters.agent, environment: filters.env, project: filters.project, task_id: taskId };
  // The totals, breakdowns and cost over time come from one scan (each prices every call of the range).
  const overview = useApi("/v1/cost", { ...scope, series: by }, { refreshMs: 30000 });
  // Asked for with the totals, not once they have answered, so both load at the same time.
  const cursor = query.get("cursor") || "";
  const limit = Math.min(MAX_LIMIT, Math.max(1, Number(query.get("limit")) || DEFAULT_LIMIT));
  // The table shows the calls only (the totals above come from /v1/cost): without the totals of the
  // range, which price every call of it, a page is read alone.
  const calls = useApi(SORTS[sort].path, { ...scope, model, cost_source: source, cursor, limit, totals: false });
  return html`
    <h1>Cost explorer <span class="muted plan-meta">last ${filters.range}${filters.agent ? ` · ${filters.agent}` : ""}${filters.project ? ` · ${filters.project}` : ""}</span></h1>
    ${taskId && html`<p class="filter-note">The calls of task ${taskLink(taskId)} only.
      <button type="button" class="link-button" onClick=${() => setQuery({ task: null, call: null, cursor: null })}>Show every task's</button></p>`}
    <${Loaded}
      result=${overview}
      what="costs"
      isEmpty=${(data) => data.totals.call_count === 0}
      agentData
      empty=${html`<p class="state state-empty">No LLM call in the last ${filters.range}. Calls recorded with
        <code>task.llm_call(...)</code> (or any OpenTelemetry GenAI instrumentation) show here.</p>`}
      render=${(data) => html`
        <${Totals} totals=${data.totals} />
        <section aria-labelledby="over-time"><h2 id="over-time">Cost over time
          <label class="plan-meta">by <select name="by" aria-label="Cost over time by" value=${by} onChange=${(event) => setQuery({ by: event.target.value })}>
            <option value="model">model</option><option value="agent">agent</option></select></label></h2>
          <${OverTime} timeseries=${data.timeseries} by=${by} /></section>
        <div class="cost-tables">
          <section aria-labelledby="by-model"><h2 id="by-model">By model</h2>
            <${Breakdown} rows=${data.by_model} name="model" selected=${model}
              pick=${(value) => setQuery({ model: value === model ? null : value, cursor: null, call: null })} /></section>
          <section aria-labelledby="by-agent"><h2 id="by-agent">By agent</h2>
            <${Breakdown} rows=${data.by_agent} name="agent_id" selected=${filters.agent}
              pick=${(value) => setQuery({ agent: value === filters.agent ? null : value, cursor: null, call: null })} /></section>
        </div>
        <${Calls} page=${calls} cursor=${cursor} model=${model} source=${source} sort=${sort} selected=${query.get("call") || ""} />`}
    />`;
}

function Totals({ totals }) {
  const calls = (n) => `${count(n)} call${n === 1 ? "" : "s"}`;
  return html`<section class="summary" aria-label="Totals">
    <dl class="stats cost-totals">
      <div><dt>Total cost</dt><dd class="total-cost">${cost(totals.cost, totals.unpriced_calls)}</dd></div>
      <div><dt>Reported by agents</dt><dd class="reported">${totals.reported_calls ? html`${money(totals.reported_cost)} <span class="muted">(${calls(totals.reported_calls)})</span>` : "none"}</dd></div>
      <div><dt>Estimated from tokens</dt><dd class="estimated-total">${totals.estimated_calls ? html`${money(totals.estimated_cost)} <span class="muted">(${calls(totals.estimated_calls)})</span>` : "none"}</dd></div>
      <div><dt>Unpriced (no known price)</dt><dd class="unpriced-total">${totals.unpriced_calls ? html`<span class="unpriced">${calls(totals.unpriced_calls)}</span>` : "none"}</dd></div>
      <div><dt>LLM calls</dt><dd>${count(totals.call_count)}</dd></div>
      <div><dt>Tokens</dt><dd>${count(totals.tokens_in)} in · ${count(totals.tokens_out)} out</dd></div>
    </dl>
  </section>`;
}

// "1 min", "30 min", "3 h": the width of one point of the chart.
function bucketLabel(seconds) {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : `${seconds / 60} min`;
}

function OverTime({ timeseries, by }) {
  const shown = timeseries.series.slice(0, MAX_SERIES);
  if (!shown.length) return html`<p class="state state-empty">No call in this range.</p>`;
  const times = shown[0].points.map((point) => new Date(point.timestamp).getTime() / 1000);
  const lines = shown.map((one) => ({
    label: one.points.every((point) => point.cost === null) ? `${one.key} (unpriced)` : one.key,
    values: one.points.map((point) => point.cost),
  }));
  const others = timeseries.series.length - shown.length;
  return html`<${SeriesChart} key=${`${by}:${lines.map((line) => line.label).join("|")}`} title=${`USD per ${bucketLabel(timeseries.bucket_seconds)}, by ${by}`}
      times=${times} series=${lines} format=${money} />
    ${others > 0 && html`<p class="muted">${others} more ${by}s with smaller costs are in the table below.</p>`}`;
}

// Most expensive first, cut to the first rows; the row picked is shown even when it is further down.
function Breakdown({ rows, name, selected, pick }) {
  const id = name === "model" ? "cost-by-model" : "cost-by-agent";
  const [all, toggle] = useShowAll(id);
  if (!rows.length) return html`<p class="state state-empty">None.</p>`;
  const further = all ? [] : rows.slice(FIRST_ROWS).filter((row) => selected && row[name] === selected);
  const shown = [...firstGroups(rows, all), ...further];
  return html`<div class="table-wrap"><table class=${id}>
    <thead><tr><th scope="col">${name === "model" ? "Model" : "Agent"}</th><th scope="col" class="num">Calls</th>
      <th scope="col" class="num">Tokens in</th><th scope="col" class="num">Tokens out</th>
      <th scope="col" class="num">Cost</th><th scope="col" class="num">Reported</th><th scope="col" class="num">Estimated</th>
      <th scope="col" class="num">Unpriced calls</th></tr></thead>
    <tbody>${shown.map(
      (row) => html`<tr key=${row[name]} data-key=${row[name]} class=${row[name] === selected ? "selected" : ""}>
        <th scope="row"><button type="button" class="link-button" aria-pressed=${row[name] === selected}
          title=${row[name] === selected ? "Show every call again" : "Show the calls of this one only"} onClick=${() => pick(row[name])}>${row[name] || "(none)"}</button></th>
        <td class="num">${count(row.call_count)}</td><td class="num">${count(row.tokens_in)}</td><td class="num">${count(row.tokens_out)}</td>
        <td class="num cost"><${CostCell} value=${row.cost} unpriced=${row.unpriced_calls} calls=${row.call_count} estimated=${row.estimated_calls > 0} /></td>
        <td class="num">${row.reported_calls ? money(row.reported_cost) : "–"}</td>
        <td class="num">${row.estimated_calls ? money(row.estimated_cost) : "–"}</td>
        <td class="num">${row.unpriced_calls ? html`<span class="unpriced">${count(row.unpriced_calls)}</span>` : "–"}</td>
      </tr>`,
    )}</tbody></table></div>
    <${ShowAll} all=${all} toggle=${toggle} total=${rows.length} noun=${name === "model" ? "models" : "agents"} />`;
}

function Calls({ page, cursor, model, source, sort, selected }) {
  const change = (changes) => setQuery({ ...changes, cursor: null, call: null });
  return html`<section aria-labelledby="calls"><h2 id="calls">Calls${model ? html` of <code>${model}</code>` : ""}</h2>
    <form class="filters local" aria-label="Call filters" onSubmit=${(event) => event.preventDefault()}>
      <label>Cost <select name="source" value=${source} onChange=${(event) => change({ source: event.target.value })}>
        <option value="">any</option>${SOURCES.map((value) => html`<option value=${value}>${value}</option>`)}</select></label>
      <label>Sort <select name="sort" value=${sort} onChange=${(event) => change({ sort: event.target.value })}>
        ${Object.entries(SORTS).map(([value, option]) => html`<option value=${value}>${option.label}</option>`)}</select></label>
      ${model && html`<button type="button" onClick=${() => change({ model: null })}>Every model</button>`}
    </form>
    <${Loaded}
      result=${page}
      what="calls"
      isEmpty=${(data) => data.data.length === 0}
      empty=${html`<p class="state state-empty">No call matches.</p>`}
      render=${(data) => html`<div class="timeline-body">
          <div>
            <${CallTable} calls=${data.data} selected=${selected} />
            <${Pager} cursor=${cursor} pagination=${data.pagination} label="More calls" />
          </div>
          <${CallInspector} call=${data.data.find((call) => call.call_id === selected)} />
        </div>`}
    /></section>`;
}

function CallTable({ calls, selected }) {
  return html`<div class="table-wrap"><table class="calls">
    <thead><tr><th scope="col">Call</th><th scope="col">When</th><th scope="col">Agent</th><th scope="col">Task</th>
      <th scope="col">Model</th><th scope="col" class="num">Tokens</th><th scope="col" class="num">Cost</th>
      <th scope="col" class="num">Duration</th></tr></thead>
    <tbody>${calls.map(
      (call) => html`<tr key=${call.call_id} data-call=${call.call_id} class=${call.call_id === selected ? "selected" : ""}>
        <th scope="row"><button type="button" class="link-button" aria-pressed=${call.call_id === selected}
          onClick=${() => setQuery({ call: call.call_id === selected ? null : call.call_id })}>${call.name || "call"}</button></th>
        <td><${RelativeTime} at=${call.timestamp} /></td>
        <td>${agentLink(call.agent_id)}</td>
        <td>${call.task_id ? taskLink(call.task_id) : "–"}</td>
        <td>${call.model}</td>
        <td class="num">${count(call.tokens_in)} → ${count(call.tokens_out)}</td>
        <td class="num cost"><${CostCell} value=${call.cost} unpriced=${call.cost === null ? 1 : 0} estimated=${call.cost_source === "estimated"} /></td>
        <td class="num">${duration(call.duration_ms)}</td>
      </tr>`,
    )}</tbody></table></div>`;
}

const SOURCE_WORDS = {
  reported: "reported by the agent",
  estimated: "estimated from tokens and the model's prices",
  unpriced: "unpriced: no price is known for this model",
};

function CallInspector({ call }) {
  if (!call) return html`<aside class="inspector" aria-label="Call"><p class="muted">Choose a call to see its prompt, response, tokens and cost.</p></aside>`;
  const rows = [
    ["Model", call.model + (call.request_model && call.request_model !== call.model ? ` (asked for ${call.request_model})` : "")],
    ["Provider", call.provider],
    ["Agent", agentLink(call.agent_id)],
    ["Task", call.task_id ? html`<a href=${href(`/tasks/${encodeURIComponent(call.task_id)}`, { sel: call.call_id })}>${call.task_id}</a>` : "–"],
    ["When", dateTime(call.timestamp)],
    ["Duration", duration(call.duration_ms)],
    ["Tokens", `${count(call.tokens_in)} in → ${count(call.tokens_out)} out`],
    ["Cache", call.cache_read_tokens || call.cache_write_tokens ? `${count(call.cache_read_tokens)} read, ${count(call.cache_write_tokens)} written` : "none"],
    ["Cost", html`<${CostCell} value=${call.cost} unpriced=${call.cost === null ? 1 : 0} />`],
    ["Cost source", SOURCE_WORDS[call.cost_source] ?? call.cost_source],
    ["Priced as", call.matched_model || "–"],
    ["Turn", call.turn_number ?? "–"],
    ["Stop reasons", call.finish_reasons.join(", ") || "–"],
    ["Status", call.status || "–"],
  ];
  return html`<aside class="inspector call-inspector" aria-label="Call">
    <header><h2>${call.name || "LLM call"}</h2>
      <button type="button" onClick=${() => setQuery({ call: null })}>Close</button></header>
    <dl class="attributes">${rows.map(([name, value]) => html`<div><dt>${name}</dt><dd>${value}</dd></div>`)}</dl>
    <h3>Prompt preview</h3>${call.prompt_preview ? html`<pre class="prompt">${call.prompt_preview}</pre>` : html`<p class="muted">Not recorded.</p>`}
    <h3>Response preview</h3>${call.response_preview ? html`<pre class="response">${call.response_preview}</pre>` : html`<p class="muted">Not recorded.</p>`}
  </aside>`;
}
