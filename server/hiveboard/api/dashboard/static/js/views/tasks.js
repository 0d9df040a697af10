// Tasks: the task table with its filters, sort and cursor paging, all kept in the URL.
import { html } from "../lib.js";
import { useApi } from "../api.js";
import { setQuery, useFilters, useLocation } from "../router.js";
import { Loaded } from "../components/states.js";
import { TaskTable } from "../components/task-table.js";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const STATUSES = ["completed", "failed", "escalated", "waiting", "processing"];
const SORTS = {
  newest: { sort: "started_at", order: "desc", label: "newest" },
  duration: { sort: "duration_ms", order: "desc", label: "longest" },
  cost: { sort: "cost", order: "desc", label: "most expensive" },
};

export function Tasks() {
  const filters = useFilters();
  const { query } = useLocation();
  const status = STATUSES.includes(query.get("status")) ? query.get("status") : "";
  const sortName = SORTS[query.get("sort")] ? query.get("sort") : "newest";
  const taskType = query.get("type") || "";
  const cursor = query.get("cursor") || "";
  const limit = Math.min(MAX_LIMIT, Math.max(1, Number(query.get("limit")) || DEFAULT_LIMIT));
  const result = useApi(
    "/v1/tasks",
    {
      range: filters.range,
      agent_id: filters.agent,
      environment: filters.env,
      project: filters.project,
      task_type: taskType,
      status,
      sort: SORTS[sortName].sort,
      order: SORTS[sortName].order,
      cursor,
      limit,
    },
    { refreshMs: cursor ? 0 : 10000 },
  );
  // Changing a filter starts again from the first page.
  const change = (changes) => setQuery({ ...changes, cursor: null });
  return html`
    <h1>Tasks</h1>
    <form class="filters local" aria-label="Task filters" onSubmit=${(event) => event.preventDefault()}>
      <label>Status <select name="status" value=${status} onChange=${(event) => change({ status: event.target.value })}>
        <option value="">all</option>
        ${STATUSES.map((value) => html`<option value=${value}>${value}</option>`)}
      </select></label>
      <label>Type <input name="type" value=${taskType} placeholder="any"
        onChange=${(event) => change({ type: event.target.value.trim() })} /></label>
      <label>Sort <select name="sort" value=${sortName} onChange=${(event) => change({ sort: event.target.value })}>
        ${Object.entries(SORTS).map(([value, sort]) => html`<option value=${value}>${sort.label}</option>`)}
      </select></label>
    </form>
    <${Loaded}
      result=${result}
      what="tasks"
      isEmpty=${(page) => page.data.length === 0}
      agentData
      empty=${html`<p class="state state-empty">No task matches these filters in the last ${filters.range}.</p>`}
      render=${(page) => html`
        <${TaskTable} tasks=${page.data} />
        <nav class="pager" aria-label="Pages">
          ${cursor && html`<button type="button" onClick=${() => setQuery({ cursor: null }, { replace: false })}>First page</button>`}
          ${page.pagination.has_more &&
          html`<button type="button" onClick=${() => setQuery({ cursor: page.pagination.next_cursor }, { replace: false })}>Next page</button>`}
        </nav>`}
    />`;
}
