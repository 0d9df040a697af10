// Settings: the tenant's API keys (create: the key is shown once; revoke) and projects (create,
// edit, delete). Changes go through api.js, which sends the CSRF header cookie sessions need; a key
// that may not make a change is told why instead of being offered the form.
import { html, useState } from "../lib.js";
import { api, useApi } from "../api.js";
import { Loaded } from "../components/states.js";
import { RelativeTime } from "../components/time.js";
import { count } from "../format.js";

const KEY_TYPES = {
  live: "live: sends and reads production data, manages keys",
  test: "test: sends and reads test data",
  read: "read: only reads production data",
};

export function Settings({ session }) {
  return html`<h1>Settings</h1>
    <p class="muted">Signed in to tenant <strong>${session.tenant_id}</strong> with a ${session.key_type} key (${session.key_id}).</p>
    <${ApiKeys} session=${session} />
    <${Projects} session=${session} />`;
}

// `run(action)`: runs an API change, keeping its error to show; `{busy, error}` while it runs.
function useAction() {
  const [state, setState] = useState({ busy: false, error: null });
  const run = async (action) => {
    setState({ busy: true, error: null });
    try {
      const result = await action();
      setState({ busy: false, error: null });
      return result;
    } catch (error) {
      setState({ busy: false, error });
      return undefined;
    }
  };
  return { ...state, run };
}

function ActionError({ error }) {
  return error ? html`<p class="state state-error" role="alert">${error.message}</p>` : null;
}

function ApiKeys({ session }) {
  const keys = useApi("/v1/api-keys");
  const action = useAction();
  const [created, setCreated] = useState(null);
  const [confirming, setConfirming] = useState(null);
  const canManage = session.key_type === "live";
  const create = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const key = await action.run(() => api.post("/v1/api-keys", { key_type: form.get("key_type"), name: form.get("name").trim() }));
    if (key) {
      setCreated(key);
      event.target.reset();
      keys.reload();
    }
  };
  const revoke = async (keyId) => {
    setConfirming(null);
    if (await action.run(() => api.delete(`/v1/api-keys/${encodeURIComponent(keyId)}`))) keys.reload();
  };
  return html`<section aria-labelledby="keys-title"><h2 id="keys-title">API keys</h2>
    ${canManage
      ? html`<form class="filters local settings-form" aria-label="Create an API key" onSubmit=${create}>
          <label>Name <input name="name" maxlength="256" placeholder="what it is for" /></label>
          <label>Type <select name="key_type">${Object.entries(KEY_TYPES).map(([type, label]) => html`<option value=${type}>${label}</option>`)}</select></label>
          <button type="submit" disabled=${action.busy}>Create key</button>
        </form>`
      : html`<p class="notice" role="note">This session's key is a ${session.key_type} key: only a live key creates and revokes keys. Sign in with a live key to manage them.</p>`}
    ${created && html`<div class="new-key" role="status">
      <p><strong>Your new ${created.key_type} key${created.name ? ` “${created.name}”` : ""}.</strong> Copy it now: it is shown this once.</p>
      <input class="key-value" readonly value=${created.key} aria-label="The new key" onFocus=${(event) => event.target.select()} />
      <button type="button" onClick=${() => setCreated(null)}>Done</button></div>`}
    <${ActionError} error=${action.error} />
    <${Loaded}
      result=${keys}
      what="keys"
      render=${(data) => html`<div class="table-wrap"><table class="keys">
        <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Type</th><th scope="col">Created</th>
          <th scope="col">Status</th>${canManage && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}</tr></thead>
        <tbody>${data.data.map(
          (key) => html`<tr key=${key.key_id} data-key=${key.key_id} data-prefix=${key.prefix}>
            <th scope="row">${key.name || html`<span class="muted">unnamed</span>`}</th>
            <td><code>${key.prefix}…</code>${key.key_id === session.key_id ? html` <span class="muted">(this session)</span>` : ""}</td>
            <td>${key.key_type}</td>
            <td><${RelativeTime} at=${key.created_at} /></td>
            <td>${key.revoked
              ? html`<span class="badge tone-muted">✕ revoked <${RelativeTime} at=${key.revoked_at} /></span>`
              : html`<span class="badge tone-ok">✓ active</span>`}</td>
            ${canManage && html`<td>${!key.revoked &&
              (confirming === key.key_id
                ? html`<span class="confirm">Revoke ${key.prefix}…? It stops working at once.
                    <button type="button" class="danger" onClick=${() => revoke(key.key_id)}>Revoke</button>
                    <button type="button" onClick=${() => setConfirming(null)}>Cancel</button></span>`
                : html`<button type="button" onClick=${() => setConfirming(key.key_id)}>Revoke…</button>`)}</td>`}
          </tr>`,
        )}</tbody></table></div>`}
    /></section>`;
}

function Projects({ session }) {
  const projects = useApi("/v1/projects");
  const action = useAction();
  const [editing, setEditing] = useState(null);
  const [confirming, setConfirming] = useState(null);
  const canEdit = session.key_type !== "read";
  const change = async (request) => {
    if ((await action.run(request)) !== undefined) {
      setEditing(null);
      setConfirming(null);
      projects.reload();
      return true;
    }
    return false;
  };
  const create = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { slug: form.get("slug").trim(), name: form.get("name").trim(), description: form.get("description").trim() };
    if (await change(() => api.post("/v1/projects", body))) event.target.reset();
  };
  const save = (slug) => async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    await change(() => api.patch(`/v1/projects/${encodeURIComponent(slug)}`, { name: form.get("name").trim(), description: form.get("description").trim() }));
  };
  return html`<section aria-labelledby="projects-title"><h2 id="projects-title">Projects</h2>
    ${canEdit
      ? html`<form class="filters local settings-form" aria-label="Create a project" onSubmit=${create}>
          <label>Slug <input name="slug" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}" placeholder="sales-pipeline" /></label>
          <label>Name <input name="name" maxlength="256" /></label>
          <label>Description <input name="description" maxlength="4096" /></label>
          <button type="submit" disabled=${action.busy}>Create project</button>
        </form>`
      : html`<p class="notice" role="note">This session's key is a read key: it cannot change projects.</p>`}
    <${ActionError} error=${action.error} />
    <${Loaded}
      result=${projects}
      what="projects"
      isEmpty=${(data) => data.data.length === 0}
      empty=${html`<p class="state state-empty">No project yet: tasks started with <code>project="..."</code> list theirs here.</p>`}
      render=${(data) => html`<div class="table-wrap"><table class="projects">
        <thead><tr><th scope="col">Slug</th><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Source</th>
          <th scope="col" class="num">Tasks</th><th scope="col">Last task</th>${canEdit && html`<th scope="col"><span class="visually-hidden">Actions</span></th>`}</tr></thead>
        <tbody>${data.data.map((project) =>
          editing === project.slug
            ? html`<tr key=${project.slug} data-project=${project.slug}><th scope="row">${project.slug}</th>
                <td colspan="5"><form class="inline-form" aria-label=${`Edit ${project.slug}`} onSubmit=${save(project.slug)}>
                  <label>Name <input name="name" value=${project.name} maxlength="256" /></label>
                  <label>Description <input name="description" value=${project.description} maxlength="4096" /></label>
                  <button type="submit">Save</button> <button type="button" onClick=${() => setEditing(null)}>Cancel</button></form></td><td></td></tr>`
            : html`<tr key=${project.slug} data-project=${project.slug}><th scope="row">${project.slug}</th>
                <td>${project.name}</td><td class="wrap">${project.description || html`<span class="muted">–</span>`}</td>
                <td>${project.source === "auto" ? "named by a task" : "created"}</td>
                <td class="num">${count(project.task_count)}</td>
                <td>${project.last_activity ? html`<${RelativeTime} at=${project.last_activity} />` : "–"}</td>
                ${canEdit && html`<td>${confirming === project.slug
                  ? html`<span class="confirm">Delete ${project.slug}? Its tasks stay.
                      <button type="button" class="danger" onClick=${() => change(() => api.delete(`/v1/projects/${encodeURIComponent(project.slug)}`))}>Delete</button>
                      <button type="button" onClick=${() => setConfirming(null)}>Cancel</button></span>`
                  : html`<button type="button" onClick=${() => setEditing(project.slug)}>Edit</button>
                      <button type="button" onClick=${() => setConfirming(project.slug)}>Delete…</button>`}</td>`}
              </tr>`,
        )}</tbody></table></div>`}
    /></section>`;
}
