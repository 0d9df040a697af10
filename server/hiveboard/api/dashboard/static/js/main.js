// The dashboard's entry point: who is signed in, then the view the URL names.
import { html, render } from "./lib.js";
import { api } from "./api.js";
import { interceptLinks, match, useLocation } from "./router.js";
import { Shell } from "./components/layout.js";
import { ErrorBox } from "./components/states.js";
import { VIEWS } from "./views/index.js";

function route(path) {
  for (const view of VIEWS) {
    const params = match(view.path, path);
    if (params) return { view, params };
  }
  return null;
}

function App({ session }) {
  const { path } = useLocation();
  const found = route(path);
  const View = found?.view.component;
  return html`<${Shell} session=${session} views=${VIEWS} active=${found?.view} title=${found?.view.title}>
    ${View
      ? html`<${View} key=${path} params=${found.params} session=${session} />`
      : html`<div class="state state-empty"><h1>No such page</h1><p><a href="/">Back to The Hive</a></p></div>`}
  </${Shell}>`;
}

async function start() {
  const root = document.getElementById("app");
  interceptLinks((path) => route(path) !== null);
  try {
    const session = await api.get("/v1/session");
    root.textContent = "";
    render(html`<${App} session=${session} />`, root);
  } catch (error) {
    root.textContent = "";
    if (error.status !== 401) render(html`<${ErrorBox} error=${error} retry=${() => location.reload()} />`, root);
  }
}

start();
