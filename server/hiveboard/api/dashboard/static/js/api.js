// The one client of the query API the views use. It sends the session cookie (same origin only),
// marks changes with the CSRF header the server requires of cookie sessions, turns error bodies
// into ApiError, and sends the browser to the sign-in page when the session has ended.
import { useEffect, useRef, useState } from "./lib.js";

export const CSRF_HEADER = "X-HiveBoard-CSRF";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// `path?params`, leaving out parameters without a value.
export function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) query.append(name, String(item));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

// Several requests and the live stream can learn at once that the session ended: the page leaves
// once, since a second navigation would abort the first.
let leaving = false;

export function signInAgain(reason = "session_ended") {
  if (leaving) return;
  leaving = true;
  const here = location.pathname + location.search;
  location.assign(`/signin?reason=${reason}&next=${encodeURIComponent(here)}`);
}

async function request(method, path, { params, body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[CSRF_HEADER] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "unreachable", "HiveBoard did not answer: is the server still running?");
  }
  if (response.status === 401) {
    signInAgain();
    throw new ApiError(401, "unauthorized", "Your session ended: signing in again…");
  }
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const message = payload?.message ?? payload?.detail?.[0]?.msg ?? `HTTP ${response.status}`;
    throw new ApiError(response.status, payload?.error ?? "error", message);
  }
  return payload;
}

// The dashboard's sign-out. The server ends the session before its answer arrives, so the requests
// and the live stream that meanwhile find it ended must not take the page elsewhere first.
export async function signOut() {
  leaving = true;
  try {
    await request("DELETE", "/v1/session");
  } finally {
    location.assign("/signin?reason=signed_out");
  }
}

export const api = {
  get: (path, params) => request("GET", path, { params }),
  post: (path, body) => request("POST", path, { body }),
  patch: (path, body) => request("PATCH", path, { body }),
  delete: (path) => request("DELETE", path),
};

// `{data, error, loading, reload}` of `GET path?params`, fetched again when they change, every
// `refreshMs` when given, and on `reload()`. The previous data stays shown while a reload runs.
export function useApi(path, params = {}, { refreshMs = 0, enabled = true } = {}) {
  const key = enabled && path ? apiUrl(path, params) : null;
  const [state, setState] = useState({ data: null, error: null, loading: Boolean(key), key: null });
  const [tick, setTick] = useState(0);
  const sequence = useRef(0);

  useEffect(() => {
    if (!key) return undefined;
    const mine = ++sequence.current;
    setState((previous) => ({ ...previous, loading: true, key }));
    api.get(key).then(
      (data) => mine === sequence.current && setState({ data, error: null, loading: false, key }),
      (error) => mine === sequence.current && setState((previous) => ({ ...previous, error, loading: false })),
    );
    if (!refreshMs) return undefined;
    const timer = setTimeout(() => setTick((value) => value + 1), refreshMs);
    return () => clearTimeout(timer);
  }, [key, tick, refreshMs]);

  const stale = state.key !== key;
  return {
    data: stale ? null : state.data,
    error: stale ? null : state.error,
    loading: state.loading || stale,
    reload: () => setTick((value) => value + 1),
  };
}
