// Cursor paging kept in the URL (`cursor`): back to the first page, or on to the next one.
import { html } from "../lib.js";
import { setQuery } from "../router.js";

export function Pager({ cursor, pagination, label = "Pages" }) {
  if (!cursor && !pagination?.has_more) return null;
  return html`<nav class="pager" aria-label=${label}>
    ${cursor && html`<button type="button" onClick=${() => setQuery({ cursor: null }, { replace: false })}>First page</button>`}
    ${pagination?.has_more &&
    html`<button type="button" onClick=${() => setQuery({ cursor: pagination.next_cursor }, { replace: false })}>Next page</button>`}
  </nav>`;
}
