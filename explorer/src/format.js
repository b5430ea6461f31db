// Formatting helpers: token amounts from wei (BigInt, 18 decimals), addresses, HTML escaping.

const UNIT = 10n ** 18n;

/** HTML-escapes any value. */
export function esc(value) {
  return String(value ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

/** "1,234.5678 PLN" from wei (a decimal string, number or BigInt). */
export function tokens(wei) {
  const v = BigInt(wei);
  const a = v < 0n ? -v : v;
  const frac = (a % UNIT).toString().padStart(18, "0").slice(0, 4).replace(/0+$/, "");
  return `${v < 0n ? "-" : ""}${(a / UNIT).toLocaleString("en-US")}${frac ? "." + frac : ""} PLN`;
}

/** An amount element carrying its exact wei (data-wei) for readers and tests. */
export function amount(wei, source = "api") {
  const mark = source === "chain" ? ' data-source="chain"' : "";
  return `<span class="amt" data-wei="${esc(BigInt(wei).toString())}"${mark}>${esc(tokens(wei))}</span>`;
}

export function short(address) {
  const a = String(address);
  return a.length > 14 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a;
}

export function nodeLink(address) {
  return `<a class="addr" href="#/node/${esc(address)}" title="${esc(address)}">${esc(short(address))}</a>`;
}

export function accountLink(address) {
  return `<a class="addr" href="#/account/${esc(address)}" title="${esc(address)}">${esc(short(address))}</a>`;
}

export function epochLink(epoch) {
  return `<a href="#/epoch/${esc(epoch)}">${esc(epoch)}</a>`;
}

export function bps(value) {
  return value == null ? "–" : `${(Number(value) / 100).toFixed(2)} %`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h} h ${m} min` : `${m}:${String(r).padStart(2, "0")}`;
}

export function when(unixSeconds) {
  return new Date(Number(unixSeconds) * 1000).toISOString().replace(".000Z", "Z").replace("T", " ");
}

/** A chain-read value, marked as such. */
export function chainValue(html) {
  return `<span data-source="chain">${html}</span>`;
}

/** A natural number from the API, or an error naming what came instead (never markup). */
export function nat(value) {
  if (Number.isSafeInteger(value) && value >= 0) return value;
  throw new Error(`the oracle's API sent ${JSON.stringify(value)?.slice(0, 40)} where a natural number belongs`);
}

export function optNat(value) {
  return value == null ? "–" : nat(value);
}

/** A JSON line's top-level integer field, exact (JSON.parse would round above 2^53). */
export function exactField(line, name) {
  const m = new RegExp(`[{,]"${name}":(-?\\d+)[,}]`).exec(line);
  return m ? BigInt(m[1]) : null;
}
