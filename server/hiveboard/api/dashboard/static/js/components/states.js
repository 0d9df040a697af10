// Loading, empty and error states, the same in every view.
import { html } from "../lib.js";
import { useApi } from "../api.js";

export function Loading({ what = "data" }) {
  return html`<p class="state state-loading" role="status" aria-live="polite">Loading ${what}…</p>`;
}

export function Empty({ children }) {
  return html`<div class="state state-empty">${children}</div>`;
}

export function ErrorBox({ error, retry }) {
  return html`<div class="state state-error" role="alert">
    <strong>Could not load this view.</strong> ${error?.message ?? String(error)}
    ${retry && html` <button type="button" onClick=${retry}>Try again</button>`}
  </div>`;
}

// One of the three states, or `render(data)` when there is data. A view of what agents send says
// how to send it (`GettingStarted`) when empty on a fresh install, where no agent has reported yet.
export function Loaded({ result, what, render, isEmpty = () => false, empty, agentData = false }) {
  if (result.error && !result.data) return html`<${ErrorBox} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what=${what} />`;
  const emptyState = empty ?? html`<${Empty}>Nothing here yet.</${Empty}>`;
  if (isEmpty(result.data)) return agentData ? html`<${EmptyOfAgentData} empty=${emptyState} />` : emptyState;
  return render(result.data);
}

function EmptyOfAgentData({ empty }) {
  const choices = useApi("/v1/filters");
  return choices.data?.agents.length === 0 ? html`<${GettingStarted} />` : empty;
}

// What a fresh install shows: how to send data here. The key itself is never printed in a page.
export function GettingStarted() {
  const endpoint = location.origin;
  return html`<div class="state state-empty getting-started">
    <h2>No agents have reported yet</h2>
    <p>Instrument an agent with HiveLoop in three lines:</p>
    <pre><code>import hiveloop
hb = hiveloop.init(api_key="hb_live_...", endpoint="${endpoint}")
agent = hb.agent("my-agent", type="sales", version="1.0.0")</code></pre>
    <p>Or watch a simulated fleet first:</p>
    <pre><code>hiveboard demo --endpoint ${endpoint} --key hb_live_...</code></pre>
    <p class="hint">Use the API key <code>hiveboard serve</code> printed when it started; it is kept in the
    file <code>api-key</code> of its data directory (<code>hiveboard keys create</code> makes another).</p>
  </div>`;
}
