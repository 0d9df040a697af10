// Numbers for people: money, tokens, durations and times, one way everywhere.

const integer = new Intl.NumberFormat("en-US");
// Making a formatter costs far more than using one, and a table formats hundreds of values: each
// is made once.
const moneyFormats = new Map();
// The fields `Date.prototype.toLocaleString()` shows by default, in the browser's locale.
const localDateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "numeric",
  day: "numeric",
  hour: "numeric",
  minute: "numeric",
  second: "numeric",
});

function moneyFormat(digits) {
  if (!moneyFormats.has(digits)) {
    moneyFormats.set(digits, new Intl.NumberFormat("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 }));
  }
  return moneyFormats.get(digits);
}

export function count(value) {
  return value === null || value === undefined ? "–" : integer.format(value);
}

// "$0.004", "$1.23", "$1,234": enough digits to tell small LLM costs apart, never a float's tail.
export function money(value) {
  if (value === null || value === undefined) return "–";
  if (value === 0) return "$0";
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : Math.min(6, Math.max(3, 1 - Math.floor(Math.log10(abs)) + 1));
  const text = moneyFormat(digits).format(abs);
  return `${value < 0 ? "-" : ""}$${text}`;
}

// A cost as the API gives it: null with unpriced calls is "unpriced", never $0; a partial sum says
// how many calls it leaves out.
export function cost(value, unpricedCalls = 0) {
  if (value === null || value === undefined) return unpricedCalls ? "unpriced" : "–";
  return unpricedCalls ? `${money(value)} + ${count(unpricedCalls)} unpriced` : money(value);
}

export function tokens(tokensIn, tokensOut) {
  return `${count(tokensIn)} → ${count(tokensOut)} tokens`;
}

// "850 ms", "1.2 s", "3 min 5 s", "2 h 10 min".
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 1000) / 10}%`;
}

// "12 s ago", "5 min ago", "3 h ago", "2 d ago" from a timestamp and now (ms).
export function ago(timestamp, now = Date.now()) {
  if (!timestamp) return "never";
  const seconds = Math.max(0, (now - new Date(timestamp).getTime()) / 1000);
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function dateTime(timestamp) {
  return timestamp ? localDateTime.format(new Date(timestamp)) : "–";
}

// JSON for people: indented, keys in their order.
export function prettyJson(value) {
  return JSON.stringify(value, null, 2);
}

// "ValueError: card declined", without repeating the type when the message already starts with it.
export function errorText(type, message) {
  if (!type) return message || "";
  if (!message) return type;
  return message.startsWith(`${type}:`) ? message : `${type}: ${message}`;
}
