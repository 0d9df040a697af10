// Long tables show their first rows and a button for the rest. At hundreds of agents a table of
// every one delays the view's first render and buries what a person reads first (the tables come
// most first). Which tables show every row is in the URL (`all`, their ids), so a link keeps it.
import { html } from "../lib.js";
import { setQuery, useLocation } from "../router.js";
import { count } from "../format.js";

export const FIRST_ROWS = 20;

// Whether table `id` shows every row, and the function that switches it.
export function useShowAll(id) {
  const { query } = useLocation();
  const shown = (query.get("all") || "").split(",").filter(Boolean);
  const all = shown.includes(id);
  const toggle = () => setQuery({ all: (all ? shown.filter((one) => one !== id) : [...shown, id]).join(",") });
  return [all, toggle];
}

// The first `FIRST_ROWS` of `groups` (a row, or an agent's rows together), or all of them, flattened.
export function firstGroups(groups, all) {
  return (all ? groups : groups.slice(0, FIRST_ROWS)).flat();
}

// The button under a table cut to its first rows: nothing when it has no more than those.
export function ShowAll({ all, toggle, total, noun }) {
  if (total <= FIRST_ROWS) return null;
  return html`<p class="show-all"><button type="button" aria-expanded=${all} onClick=${toggle}>${
    all ? `Show the first ${FIRST_ROWS} ${noun} only` : `Show all ${count(total)} ${noun}`
  }</button>${!all && html` <span class="muted">${count(total - FIRST_ROWS)} more not shown</span>`}</p>`;
}
