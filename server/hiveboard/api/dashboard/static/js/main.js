// The dashboard's entry point: the view the URL names, for who the page says is signed in.
import { html, render } from "./lib.js";
import { interceptLinks, match, useLocation } from "./router.js";
import { Shell } from "./components/layout.js";
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

function start() {
  const root = document.getElementById("app");
  interceptLinks((path) => route(path) !== null);
  // The page says who is signed in (what `GET /v1/session` says), so no request comes first.
  const session = JSON.parse(root.dataset.session);
  root.textContent = "";
  render(html`<${App} session=${session} />`, root);
}

start();
