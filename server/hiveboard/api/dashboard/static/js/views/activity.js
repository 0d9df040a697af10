// Activity stream: every event newest first, as sentences. The first page follows WS /v1/stream
// (and polls /v1/events while the socket cannot connect); filters and the page are in the URL.
import { html, useEffect, useRef, useState } from "../lib.js";
import { useApi } from "../api.js";
import { useStream } from "../live.js";
import { setQuery, useFilters, useLocation } from "../router.js";
import { Loaded } from "../components/states.js";
import { RelativeTime } from "../components/time.js";
import { Pager } from "../components/pager.js";
import { EventSentence } from "../components/event-sentence.js";
import { spanLink } from "../components/links.js";

// The API's filter groups (`group`), as the buttons name them.
const KINDS = [
  ["task", "Tasks"],
  ["action", "Actions"],
  ["llm", "LLM calls"],
  ["error", "Errors"],
  ["human", "Human"],
  ["pipeline", "Pipeline"],
  ["plan", "Plans"],
];
const SEVERITIES = ["debug", "info", "warn", "error"];
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const POLL_MS = 5000;
// Live events kept above the first page; older ones are on the pages after it.
const MAX_LIVE = 200;
// Live events come without their attributes: the first page is read again (once per burst) for them.
const DETAIL_DELAY_MS = 400;

export function Activity() {
  const filters = useFilters();
  const { query } = useLocation();
  const kinds = (query.get("kinds") || "").split(",").filter((kind) => KINDS.some(([name]) => name === kind));
  const severity = SEVERITIES.includes(query.get("severity")) ? query.get("severity") : "";
  const taskId = query.get("task") || "";
  const cursor = query.get("cursor") || "";
  const limit = Math.min(MAX_LIMIT, Math.max(1, Number(query.get("limit")) || DEFAULT_LIMIT));
  const [paused, setPaused] = useState(false);
  const [live, setLive] = useState([]);
  const [held, setHeld] = useState([]);

  const subscription = cursor
    ? null
    : {
        channels: ["events"],
        filters: {
          ...(filters.agent && { agent_id: [filters.agent] }),
          ...(kinds.length && { group: kinds }),
          ...(severity && { severity: [severity] }),
          ...(filters.env && { environment: filters.env }),
          ...(filters.project && { project: filters.project }),
          ...(taskId && { task_id: taskId }),
        },
      };
  const connection = useStream(subscription, (message) => {
    if (message.type !== "event.new") return;
    if (pausedRef.current) setHeld((events) => [message.data, ...events]);
    else {
      setLive((events) => [message.data, ...events].slice(0, MAX_LIVE));
      readDetails();
    }
  });
  const polling = !cursor && !paused && connection === "offline";
  const page = useApi(
    "/v1/events",
    {
      range: filters.range,
      agent_id: filters.agent,
      environment: filters.env,
      project: filters.project,
      task_id: taskId,
      group: kinds.join(","),
      severity,
      cursor,
      limit,
    },
    { refreshMs: polling ? POLL_MS : 0 },
  );

  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const detailTimer = useRef(null);
  const readDetails = () => {
    if (detailTimer.current) return;
    detailTimer.current = setTimeout(() => {
      detailTimer.current = null;
      if (!pausedRef.current) page.reload();
    }, DETAIL_DELAY_MS);
  };
  useEffect(() => () => clearTimeout(detailTimer.current), []);
  // Another filter or page starts a new stream.
  const subscriptionKey = JSON.stringify(subscription);
  useEffect(() => {
    setLive([]);
    setHeld([]);
  }, [subscriptionKey]);

  const resume = () => {
    setLive((events) => [...held, ...events].slice(0, MAX_LIVE));
    setHeld([]);
    setPaused(false);
    page.reload();
  };
  const toggleKind = (kind) => {
    const next = kinds.includes(kind) ? kinds.filter((name) => name !== kind) : [...kinds, kind];
    setQuery({ kinds: next.join(","), cursor: null });
  };

  return html`
    <h1>Activity
      ${!cursor && html`<${Connection} state=${connection} paused=${paused} held=${held.length} />`}
      ${!cursor &&
      html`<button type="button" class="pause" aria-pressed=${paused} onClick=${() => (paused ? resume() : setPaused(true))}>
        ${paused ? "Resume" : "Pause"}</button>`}
    </h1>
    <form class="filters local" aria-label="Activity filters" onSubmit=${(event) => event.preventDefault()}>
      <fieldset class="kinds"><legend>Kinds</legend>
        ${KINDS.map(
          ([kind, label]) => html`<label><input type="checkbox" name="kinds" value=${kind} checked=${kinds.includes(kind)}
            onChange=${() => toggleKind(kind)} /> ${label}</label>`,
        )}
      </fieldset>
      <label>Severity <select name="severity" value=${severity} onChange=${(event) => setQuery({ severity: event.target.value, cursor: null })}>
        <option value="">any</option>
        ${SEVERITIES.map((value) => html`<option value=${value}>${value}</option>`)}
      </select></label>
      <label>Task <input name="task" value=${taskId} placeholder="any" onChange=${(event) => setQuery({ task: event.target.value.trim(), cursor: null })} /></label>
    </form>
    ${cursor && html`<p class="filter-note">Older events: live updates show on the first page.</p>`}
    <${Loaded}
      result=${page}
      what="events"
      isEmpty=${(data) => data.data.length === 0 && live.length === 0}
      agentData
      empty=${html`<p class="state state-empty">No event matches these filters in the last ${filters.range}${cursor ? "" : "; new ones appear here as they happen"}.</p>`}
      render=${(data) => html`
        <${EventList} events=${merge(cursor ? [] : live, data.data)} />
        <${Pager} cursor=${cursor} pagination=${data.pagination} label="Older events" />`}
    />`;
}

function Connection({ state, paused, held }) {
  const text = paused
    ? `‖ paused${held ? `, ${held} new` : ""}`
    : state === "live"
      ? "● live"
      : state === "offline"
        ? `○ stream unreachable: checking every ${POLL_MS / 1000} s`
        : "○ connecting";
  return html`<span class=${`live live-${paused ? "paused" : state}`} role="status">${text}</span>`;
}

// Live events and the page, newest first, each once (the page's copy has the attributes).
function merge(live, pageEvents) {
  const seen = new Set(pageEvents.map((event) => event.event_id));
  const newer = live.filter((event) => !seen.has(event.event_id) && (seen.add(event.event_id), true));
  return [...newer, ...pageEvents].sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0));
}

function EventList({ events }) {
  return html`<ol class="events" aria-label="Events, newest first">
    ${events.map(
      (event) => html`<li key=${event.event_id} data-event-type=${event.event_type} data-event=${event.event_id}>
        <span class="event-time">${event.task_id
          ? spanLink(event.task_id, event.event_id, html`<${RelativeTime} at=${event.timestamp} />`)
          : html`<${RelativeTime} at=${event.timestamp} />`}</span>
        <span class=${`severity severity-${event.severity}`}>${event.severity}</span>
        <span class="event-type">${event.kind || event.event_type.replaceAll("_", " ")}</span>
        <span class="sentence"><${EventSentence} event=${event} /></span>
      </li>`,
    )}
  </ol>`;
}
