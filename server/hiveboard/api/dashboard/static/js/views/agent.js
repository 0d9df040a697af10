// Agent: who it is, its status and why, its recent tasks, pipeline, heartbeat payload and costs.
import { html } from "../lib.js";
import { useApi } from "../api.js";
import { useStream } from "../live.js";
import { href, useFilters } from "../router.js";
import { StatusBadge } from "../components/status.js";
import { ErrorBox, Loading } from "../components/states.js";
import { RelativeTime, useNow } from "../components/time.js";
import { TaskTable, taskHref } from "../components/task-table.js";
import { cost, count, dateTime, duration, prettyJson } from "../format.js";

export function Agent({ params }) {
  const agentId = params.agentId;
  const filters = useFilters();
  const path = `/v1/agents/${encodeURIComponent(agentId)}`;
  const agent = useApi(path, {}, { refreshMs: 5000 });
  // Its card first; its pipeline, costs and live status once the card is there.
  const shown = agent.data !== null;
  const pipeline = useApi(`${path}/pipeline`, {}, { refreshMs: 10000, enabled: shown });
  const costs = useApi("/v1/cost", { agent_id: agentId, range: filters.range }, { enabled: shown });
  useStream(shown ? { channels: ["agents"], filters: { agent_id: [agentId] } } : null, () => agent.reload());

  if (agent.error && !agent.data) return html`<${ErrorBox} error=${agent.error} retry=${agent.reload} />`;
  if (!agent.data) return html`<${Loading} what=${`agent ${agentId}`} />`;
  const data = agent.data;
  return html`
    <nav class="crumbs" aria-label="Breadcrumb"><a href=${href("/")}>The Hive</a> › ${agentId}</nav>
    <h1>${agentId} <${StatusBadge} status=${data.derived_status} /></h1>
    <p class="why">${html`<${Why} agent=${data} pipeline=${pipeline.data} />`}</p>
    <section aria-labelledby="identity"><h2 id="identity">Identity</h2><${Identity} agent=${data} /></section>
    <section aria-labelledby="recent"><h2 id="recent">Recent tasks</h2>
      ${data.recent_tasks.length
        ? html`<${TaskTable} tasks=${data.recent_tasks} showAgent=${false} />
          <p><a href=${href("/tasks", { agent: agentId })}>All tasks of ${agentId}</a></p>`
        : html`<p class="state state-empty">No task yet.</p>`}
    </section>
    <section aria-labelledby="pipeline"><h2 id="pipeline">Pipeline</h2><${Pipeline} result=${pipeline} /></section>
    <section aria-labelledby="heartbeat"><h2 id="heartbeat">Heartbeat payload</h2>
      ${data.heartbeat_payload
        ? html`<pre class="json">${prettyJson(data.heartbeat_payload)}</pre>`
        : html`<p class="state state-empty">Its heartbeats carry no payload.</p>`}
    </section>
    <section aria-labelledby="cost"><h2 id="cost">Cost by model (${filters.range})</h2><${CostByModel} result=${costs} /></section>`;
}

// Why the agent has its status, in words.
function Why({ agent, pipeline }) {
  const now = useNow();
  const age = Math.round((now - new Date(agent.last_heartbeat).getTime()) / 1000);
  const task = agent.current_task_id;
  const taskLink = task && html`<a href=${href(`/tasks/${encodeURIComponent(task)}`)}>${task}</a>`;
  switch (agent.derived_status) {
    case "stuck":
      return html`No heartbeat for ${duration(age * 1000)}: its stuck threshold is ${agent.stuck_threshold_seconds} s.`;
    case "offline":
      return html`Offline: last seen <${RelativeTime} at=${agent.last_seen ?? agent.last_heartbeat} />.`;
    case "waiting_approval": {
      const approval = pipeline?.pending_approvals?.[0];
      return approval
        ? html`Waiting for approval${approval.approver ? ` from ${approval.approver}` : ""}: “${approval.summary}”
            (task <a href=${href(`/tasks/${encodeURIComponent(approval.task_id)}`)}>${approval.task_id}</a>, asked <${RelativeTime} at=${approval.requested_at} />).`
        : html`Waiting for an approval${taskLink ? html` on task ${taskLink}` : ""}.`;
    }
    case "processing":
      return html`Working on task ${taskLink}${agent.open_tasks > 1 ? ` and ${agent.open_tasks - 1} more` : ""}.`;
    case "error": {
      const failed = agent.recent_tasks?.find((recent) => recent.derived_status === "failed");
      return failed
        ? html`Its last task failed: <a href=${taskHref(failed)}>${failed.task_id}</a>${failed.error_type ? ` (${failed.error_type})` : ""}.`
        : html`Its last task failed.`;
    }
    default:
      return html`Idle: no open task${agent.last_task_status ? `; its last task ${agent.last_task_status}` : ""}.`;
  }
}

function Identity({ agent }) {
  const rows = [
    ["Type", agent.agent_type],
    ["Version", agent.version],
    ["Framework", agent.framework],
    ["Environment", agent.environment],
    ["SDK", agent.sdk_version],
    ["Runtime", agent.runtime],
    ["First seen", agent.first_seen && dateTime(agent.first_seen)],
    ["Last heartbeat", html`<${RelativeTime} at=${agent.last_heartbeat} />`],
    ["Heartbeat every", agent.heartbeat_interval_seconds ? `${agent.heartbeat_interval_seconds} s` : "off"],
    ["Stuck after", `${agent.stuck_threshold_seconds} s`],
    ["Open tasks", count(agent.open_tasks)],
    ["Pending approvals", count(agent.pending_approvals)],
  ].filter(([, value]) => value !== undefined && value !== null && value !== "");
  return html`<dl class="facts">${rows.map(([name, value]) => html`<div><dt>${name}</dt><dd>${value}</dd></div>`)}</dl>`;
}

function Pipeline({ result }) {
  if (result.error && !result.data) return html`<${ErrorBox} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="the pipeline" />`;
  const { queue, issues, todos, scheduled, pending_approvals: approvals } = result.data;
  return html`<div class="pipeline">
    <div><h3>Queue ${queue ? `(${queue.depth})` : ""}</h3>
      ${queue
        ? html`<p class="muted">Reported <${RelativeTime} at=${queue.reported_at} />${queue.depth > 0 && queue.oldest_age_seconds !== null ? `; oldest item waits ${duration(queue.oldest_age_seconds * 1000)}` : ""}</p>
          <ul>${queue.items.map((item) => html`<li>${itemText(item)}${item.age_seconds !== undefined ? html` <span class="muted">(${duration(item.age_seconds * 1000)})</span>` : ""}</li>`)}</ul>`
        : html`<p class="muted">No queue reported.</p>`}</div>
    <div><h3>Active issues (${issues.length})</h3>
      ${issues.length
        ? html`<ul>${issues.map((issue) => html`<li><span class=${`severity severity-${issue.severity}`}>${issue.severity}</span> ${issue.summary}
            <span class="muted">× ${count(issue.occurrence_count)}, since <${RelativeTime} at=${issue.first_seen} /></span></li>`)}</ul>`
        : html`<p class="muted">None.</p>`}</div>
    <div><h3>Open todos (${todos.length})</h3>
      ${todos.length
        ? html`<ul>${todos.map((todo) => html`<li>${todo.summary} <span class="muted">(${todo.status}${todo.priority ? `, ${todo.priority}` : ""}${todo.due_by ? `, due ${todo.due_by}` : ""})</span></li>`)}</ul>`
        : html`<p class="muted">None.</p>`}</div>
    <div><h3>Scheduled</h3>
      ${scheduled?.items?.length
        ? html`<ul>${scheduled.items.map((item) => html`<li>${itemText(item)}</li>`)}</ul>`
        : html`<p class="muted">Nothing scheduled.</p>`}</div>
    <div><h3>Approvals waiting (${approvals.length})</h3>
      ${approvals.length
        ? html`<ul>${approvals.map((approval) => html`<li><a href=${href(`/tasks/${encodeURIComponent(approval.task_id)}`)}>${approval.task_id}</a>: ${approval.summary}
            <span class="muted">asked <${RelativeTime} at=${approval.requested_at} /></span></li>`)}</ul>`
        : html`<p class="muted">None.</p>`}</div>
  </div>`;
}

// A queue or schedule item as the agent reported it: its name or summary, else its JSON.
function itemText(item) {
  return item.summary ?? item.name ?? item.id ?? item.task_id ?? JSON.stringify(item);
}

function CostByModel({ result }) {
  if (result.error && !result.data) return html`<${ErrorBox} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="costs" />`;
  const models = result.data.by_model;
  if (!models.length) return html`<p class="state state-empty">No LLM call in this range.</p>`;
  return html`<div class="table-wrap"><table>
    <thead><tr><th scope="col">Model</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Tokens in</th>
      <th scope="col" class="num">Tokens out</th><th scope="col" class="num">Cost</th></tr></thead>
    <tbody>${models.map(
      (model) => html`<tr><th scope="row">${model.model}</th><td class="num">${count(model.call_count)}</td>
        <td class="num">${count(model.tokens_in)}</td><td class="num">${count(model.tokens_out)}</td>
        <td class="num">${model.unpriced_calls === model.call_count
          ? html`<span class="unpriced">unpriced</span>`
          : cost(model.cost, model.unpriced_calls)}${model.estimated_calls > 0 ? html` <abbr class="estimated" title="Estimated from tokens and the model's prices">est.</abbr>` : ""}</td></tr>`,
    )}</tbody></table></div>`;
}
