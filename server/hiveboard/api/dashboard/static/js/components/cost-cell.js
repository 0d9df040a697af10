// A cost over some LLM calls: "unpriced" when none of them had a known price (never $0), "+ n
// unpriced" when some had none, "est." when estimated from tokens.
import { html } from "../lib.js";
import { cost } from "../format.js";

export function CostCell({ value, unpriced = 0, calls = 1, estimated = false }) {
  if (unpriced > 0 && unpriced >= calls) {
    return html`<span class="unpriced" title="No price is known for this model">unpriced</span>`;
  }
  return html`${cost(value, unpriced)}${estimated
    ? html` <abbr class="estimated" title="Estimated from tokens and the model's prices">est.</abbr>`
    : ""}`;
}
