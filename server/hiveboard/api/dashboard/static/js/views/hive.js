// The Hive: every agent as a card, who needs attention first, over a fleet summary.
import { html, useMemo } from "../lib.js";
import { useApi } from "../api.js";
import { useStream } from "../live.js";
import { href, setQuery, useFilters } from "../router.js";
import { ATTENTION_ORDER, StatusBadge } from "../components/status.js";
import { ErrorBox, GettingStarted, Loading } from "../components/states.js";
import { RelativeTime, useNow } from "../components/time.js";
import { Sparkline, TrendChart } from "../components/charts.js";
import { cost, count, duration, money, percent } from "../format.js";

const REFRESH_MS = 5000;

export function Hive() {
  const filters = useFilters();
  const agents = useApi("/v1/agents", { sort: "attention" }, { refreshMs: REFRESH_MS });
  // The cards come first: the summary, the sparklines and the live stream (whose start reads every
  // agent's status too) are asked for once the cards are there, not in competition with them.
  const cardsShown = agents.data !== null;
  const metrics = useApi(
    "/v1/metrics",
    { range: filters.range, agent_id: filters.agent, environment: filters.env, project: filters.project },
    { enabled: cardsShown },
  );
  const activity = useApi("/v1/metrics/agents", { range: "1h" }, { refreshMs: 60000, enabled: cardsShown });
  useStream(cardsShown ? { channels: ["agents"] } : null, () => agents.reload());

  const all = agents.data?.data ?? [];
  const inEnvironment = all.filter((agent) => !filters.env || agent.environment === filters.env);
  // In the API's order (`sort=attention`): stuck, error, waiting, processing, idle, offline; then by name.
  const shown = useMemo(
    () => inEnvironment.filter((agent) => !filters.agent || agent.agent_id === filters.agent),
    [agents.data, filters.env, filters.agent],
  );

  if (agents.error && !agents.data) return html`<${ErrorBox} error=${agents.error} retry=${agents.reload} />`;
  if (!agents.data) return html`<${Loading} what="the fleet" />`;
  if (all.length === 0) return html`<${GettingStarted} />`;
  return html`
    <h1>The Hive</h1>
    <${FleetSummary} agents=${inEnvironment} metrics=${metrics} range=${filters.range} />
    ${filters.agent &&
    html`<p class="filter-note">Showing <strong>${filters.agent}</strong> only.
      <button type="button" class="link-button" onClick=${() => setQuery({ agent: null })}>Show every agent</button></p>`}
    ${shown.length === 0
      ? html`<p class="state state-empty">No agent matches the filters.</p>`
      : html`<ul class="cards" aria-label="Agents, who needs attention first">
          ${shown.map(
            (agent) => html`<${AgentCard} key=${agent.agent_id} agent=${agent} activity=${activity.data} selected=${filters.agent === agent.agent_id} />`,
          )}
        </ul>`}`;
}

function FleetSummary({ agents, metrics, range }) {
  const counts = Object.fromEntries(ATTENTION_ORDER.map((status) => [status, 0]));
  for (const agent of agents) counts[agent.derived_status] = (counts[agent.derived_status] ?? 0) + 1;
  const summary = metrics.data?.summary;
  const series = metrics.data?.timeseries ?? [];
  const times = series.map((point) => new Date(point.timestamp).getTime() / 1000);
  return html`<section class="summary" aria-label="Fleet summary">
    <ul class="status-counts">
      ${ATTENTION_ORDER.filter((status) => counts[status] > 0 || status !== "offline").map(
        (status) => html`<li><${StatusBadge} status=${status} /> <strong>${counts[status]}</strong></li>`,
      )}
    </ul>
    ${metrics.error && !summary && html`<${ErrorBox} error=${metrics.error} retry=${metrics.reload} />`}
    ${summary &&
    html`<dl class="stats">
        <div><dt>Success rate (${range})</dt><dd>${percent(summary.success_rate)}</dd></div>
        <div><dt>Tasks per hour</dt><dd>${count(Math.round(summary.throughput_per_hour * 10) / 10)}</dd></div>
        <div><dt>Cost (${range})</dt><dd>${cost(summary.total_cost, summary.unpriced_calls)}</dd></div>
        <div><dt>Average duration</dt><dd>${duration(summary.avg_duration_ms)}</dd></div>
        ${summary.escalated !== undefined && html`<div><dt>Escalated</dt><dd>${count(summary.escalated)}</dd></div>`}
      </dl>
      <div class="trends">
        <${TrendChart} title="Tasks ended" points=${[times, series.map((point) => point.throughput)]} />
        <${TrendChart} title="Success rate" points=${[times, series.map((point) => point.success_rate)]} format=${percent} />
        <${TrendChart} title="LLM cost" points=${[times, series.map((point) => point.cost)]} format=${money} />
      </div>`}
  </section>`;
}

function AgentCard({ agent, activity, selected }) {
  const now = useNow();
  const stats = agent.stats_1h ?? {};
  const ageSeconds = Math.max(0, (now - new Date(agent.last_heartbeat).getTime()) / 1000);
  const threshold = agent.stuck_threshold_seconds;
  const heartbeats = agent.heartbeat_interval_seconds !== 0;
  const offline = agent.derived_status === "offline";
  // An agent that shut down stopped its heartbeats on purpose: their age is no warning.
  const fresh = !heartbeats || offline ? "off"
    : ageSeconds > threshold ? "late" : ageSeconds > threshold / 2 ? "aging" : "fresh";
  const toggle = () => setQuery({ agent: selected ? null : agent.agent_id });
  const onKey = (event) => {
    if (event.target === event.currentTarget && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggle();
    }
  };
  const onClick = (event) => {
    if (!event.target.closest("a, button")) toggle();
  };
  const identity = [agent.agent_type, agent.version && `v${agent.version}`, agent.framework].filter(Boolean).join(" · ");
  return html`<li class=${`card status-${agent.derived_status}${selected ? " selected" : ""}`} data-agent=${agent.agent_id}
      tabindex="0" aria-current=${selected ? "true" : undefined} aria-label=${`${agent.agent_id}: ${agent.derived_status}. Enter filters the page to it`}
      onClick=${onClick} onKeyDown=${onKey}>
    <div class="card-head">
      <a class="agent-link" href=${href(`/agents/${encodeURIComponent(agent.agent_id)}`)}>${agent.agent_id}</a>
      <${StatusBadge} status=${agent.derived_status} />
    </div>
    <p class="identity">${identity || "–"}</p>
    <p class=${`heartbeat heartbeat-${fresh}`}>
      ${offline
        ? html`Shut down <span class="muted">(last heartbeat <${RelativeTime} at=${agent.last_heartbeat} />)</span>`
        : heartbeats
        ? html`Heartbeat <${RelativeTime} at=${agent.last_heartbeat} /> <span class="muted">(stuck after ${threshold} s)</span>`
        : html`Heartbeats off <span class="muted">(last seen <${RelativeTime} at=${agent.last_heartbeat} />)</span>`}
    </p>
    <p>${agent.current_task_id
      ? html`Task <a href=${href(`/tasks/${encodeURIComponent(agent.current_task_id)}`)}>${agent.current_task_id}</a>`
      : html`<span class="muted">No open task</span>`}</p>
    <dl class="card-stats">
      <div><dt>Queue</dt><dd>${stats.queue_depth ?? "–"}</dd></div>
      <div><dt>Issues</dt><dd>${count(stats.active_issues)}</dd></div>
      <div><dt>Tasks 1h</dt><dd>${count(stats.throughput)}</dd></div>
      <div><dt>Success</dt><dd>${percent(stats.success_rate)}</dd></div>
      <div><dt>Cost 1h</dt><dd>${cost(stats.total_cost, stats.unpriced_calls)}</dd></div>
    </dl>
    <${AgentSparkline} agentId=${agent.agent_id} activity=${activity} />
  </li>`;
}

function AgentSparkline({ agentId, activity }) {
  const points = useMemo(() => {
    if (!activity) return null;
    const times = activity.timestamps.map((at) => new Date(at).getTime() / 1000);
    const mine = activity.agents.find((entry) => entry.agent_id === agentId);
    return [times, mine ? mine.throughput : times.map(() => 0)];
  }, [activity, agentId]);
  if (!points) return html`<div class="sparkline placeholder"></div>`;
  const values = points[1];
  return html`<${Sparkline} points=${points} label=${`Tasks ended per minute over the last hour: ${values.reduce((a, b) => a + b, 0)} in total`} />`;
}
