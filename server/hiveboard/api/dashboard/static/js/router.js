// Routing in the browser with the History API: every state of a view lives in the URL (path and
// query), so any screen is a link. The server answers every view's path with the dashboard's page.
import { useEffect, useState } from "./lib.js";

// The filters every view shares; links between views carry them along.
export const GLOBAL_FILTERS = ["env", "project", "agent", "range"];
export const RANGES = ["1h", "6h", "24h", "7d", "30d"];
const RANGE_HOURS = { "1h": 1, "6h": 6, "24h": 24, "7d": 168, "30d": 720 };

// The shortest range that holds `time` (an ISO timestamp), or the longest.
export function rangeHolding(time) {
  const hours = (Date.now() - new Date(time).getTime()) / 3600000;
  return RANGES.find((range) => RANGE_HOURS[range] > hours) ?? RANGES[RANGES.length - 1];
}

const CHANGE = "hiveboard:navigate";

export function currentLocation() {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function useLocation() {
  const [where, setWhere] = useState(currentLocation);
  useEffect(() => {
    const update = () => setWhere(currentLocation());
    addEventListener("popstate", update);
    addEventListener(CHANGE, update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener(CHANGE, update);
    };
  }, []);
  return where;
}

export function navigate(url, { replace = false } = {}) {
  if (url === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", url);
  dispatchEvent(new Event(CHANGE));
  if (!replace) scrollTo(0, 0);
}

// The current URL with `changes` applied to its query (a null or empty value removes a parameter).
export function withQuery(changes, base = currentLocation()) {
  const query = new URLSearchParams(base.query);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") query.delete(name);
    else query.set(name, String(value));
  }
  const text = query.toString();
  return base.path + (text ? `?${text}` : "");
}

export function setQuery(changes, options = { replace: true }) {
  navigate(withQuery(changes), options);
}

// A link to `path` keeping the global filters of the current URL, plus `params`.
export function href(path, params = {}) {
  const current = new URLSearchParams(location.search);
  const query = new URLSearchParams();
  for (const name of GLOBAL_FILTERS) if (current.get(name)) query.set(name, current.get(name));
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") query.delete(name);
    else query.set(name, String(value));
  }
  const text = query.toString();
  return path + (text ? `?${text}` : "");
}

// `{name: value}` of `pattern` ("/tasks/:taskId") matched against `path`, or null.
export function match(pattern, path) {
  const wanted = pattern.split("/").filter(Boolean);
  const given = path.split("/").filter(Boolean);
  if (wanted.length !== given.length) return null;
  const params = {};
  for (let index = 0; index < wanted.length; index += 1) {
    if (wanted[index].startsWith(":")) params[wanted[index].slice(1)] = decodeURIComponent(given[index]);
    else if (wanted[index] !== given[index]) return null;
  }
  return params;
}

// Same-origin links to the dashboard's own pages navigate without reloading.
export function interceptLinks(isDashboardPath) {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.target.closest?.("a[href]");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || !isDashboardPath(url.pathname)) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}

// The global filters of the current URL, with the time range defaulting to `defaultRange`.
export function useFilters(defaultRange = "24h") {
  const { query } = useLocation();
  return {
    env: query.get("env") || "",
    project: query.get("project") || "",
    agent: query.get("agent") || "",
    range: RANGES.includes(query.get("range")) ? query.get("range") : defaultRange,
  };
}
