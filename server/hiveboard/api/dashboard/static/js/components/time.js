// Relative times that tick: one shared clock re-renders every "12 s ago" once a second.
import { html, useEffect, useState } from "../lib.js";
import { ago, dateTime } from "../format.js";

const listeners = new Set();
setInterval(() => {
  const now = Date.now();
  for (const listener of listeners) listener(now);
}, 1000);

export function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    listeners.add(setNow);
    return () => listeners.delete(setNow);
  }, []);
  return now;
}

export function RelativeTime({ at }) {
  const now = useNow();
  if (!at) return html`<span>never</span>`;
  return html`<time datetime=${at} title=${dateTime(at)}>${ago(at, now)}</time>`;
}
