// The frame around every view: navigation, the data badge (tenant, live or test), the global
// filters kept in the URL, and signing out.
import { html, useEffect, useState } from "../lib.js";
import { signOut, useApi } from "../api.js";
import { RANGES, href, setQuery, useFilters } from "../router.js";

export function Shell({ session, views, active, children, title }) {
  useEffect(() => {
    document.title = title ? `${title} · HiveBoard` : "HiveBoard";
  }, [title]);
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <a class="brand" href=${href("/")}><img src=${new URL("../../favicon.svg", import.meta.url)} alt="" width="22" height="22" /> HiveBoard</a>
      <nav aria-label="Views">
        ${views
          .filter((view) => view.nav)
          .map(
            (view) => html`<a href=${href(view.path)} aria-current=${view === active ? "page" : undefined}>${view.nav}</a>`,
          )}
      </nav>
      <${DataBadge} session=${session} />
      <button type="button" class="link-button" onClick=${signOut}>Sign out</button>
    </header>
    <${GlobalFilters} />
    <main id="main" tabindex="-1">${children}</main>`;
}

function DataBadge({ session }) {
  const label = `tenant ${session.tenant_id} · ${session.data} data`;
  return html`<span class="data-badge" data-data=${session.data} title=${`Signed in with key ${session.key_id} (${session.key_type})`}>
    ${session.tenant_id} <strong>${session.data}</strong><span class="visually-hidden"> (${label})</span></span>`;
}

// The filters' choices are asked for when the filters are first used (or a little after the page
// has loaded), not with the page, where they would compete with the view's own requests.
const CHOICES_AFTER_MS = 2500;
const NO_CHOICES = { environments: [], projects: [], agents: [] };

function GlobalFilters() {
  const filters = useFilters();
  const [wanted, setWanted] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setWanted(true), CHOICES_AFTER_MS);
    return () => clearTimeout(timer);
  }, []);
  const choices = useApi("/v1/filters", {}, { refreshMs: 30000, enabled: wanted }).data ?? NO_CHOICES;
  const want = () => setWanted(true);
  return html`<form class="filters" aria-label="Filters" onSubmit=${(event) => event.preventDefault()}
    onFocusCapture=${want} onPointerEnter=${want}>
    <${Choice} label="Environment" name="env" value=${filters.env} options=${choices.environments} />
    <${Choice} label="Project" name="project" value=${filters.project} options=${choices.projects} />
    <${Choice} label="Agent" name="agent" value=${filters.agent} options=${choices.agents} />
    <label>Range <select name="range" value=${filters.range} onChange=${(event) => setQuery({ range: event.target.value })}>
      ${RANGES.map((range) => html`<option value=${range}>${range}</option>`)}
    </select></label>
  </form>`;
}

function Choice({ label, name, value, options }) {
  const all = value && !options.includes(value) ? [value, ...options] : options;
  return html`<label>${label} <select name=${name} value=${value} onChange=${(event) => setQuery({ [name]: event.target.value })}>
    <option value="">all</option>
    ${all.map((option) => html`<option value=${option}>${option}</option>`)}
  </select></label>`;
}
