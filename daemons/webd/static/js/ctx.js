// The page context shared by webd's pages and the per-well-type views (wells/<type>.js).
// Contract (docs/webd.md): ctx = { well, type, lang, t(key, vars?), api(path),
// subscribe(globOrTags, onRows) -> unsubscribe, uPlot, theme }.

const catalogue = (() => {
  const el = document.getElementById("catalogue");
  try { return el ? JSON.parse(el.textContent) : {}; } catch { return {}; }
})();

export const lang = document.body?.dataset.lang || document.documentElement.lang || "es";

// The merged catalogue of the page's language; falls back to the key.  {name} is replaced
// by vars.name.
export function t(key, vars) {
  let text = Object.prototype.hasOwnProperty.call(catalogue, key) ? catalogue[key] : key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)wg_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super((err && (err[lang] || err.en)) || (body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// Same-origin fetch with the session cookie and the CSRF header; JSON in and out.
export async function api(path, options = {}) {
  const init = { credentials: "same-origin", method: options.method || "GET",
                 headers: { "Accept": "application/json", ...(options.headers || {}) } };
  if (init.method !== "GET") init.headers["X-CSRF-Token"] = csrfToken();
  if (options.body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const r = await fetch(path, init);
  if (r.status === 401 && !path.startsWith("/api/login")) {
    window.location.assign("/login");
  }
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { detail: text }; }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

// One EventSource per page, shared by every subscriber; the last row of each tag is kept
// so a late subscriber gets the current values at once.
let source = null;
const latest = new Map();
const listeners = new Set();

function globToRegExp(glob) {
  const g = /[*?[]/.test(glob) ? glob : `*${glob}*`;
  const re = g.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i");
}

function ensureSource() {
  if (source) return;
  source = new EventSource("/api/events", { withCredentials: true });
  source.addEventListener("values", (ev) => {
    let rows;
    try { rows = JSON.parse(ev.data); } catch { return; }
    for (const row of rows) latest.set(row.tag, row);
    for (const l of listeners) {
      const mine = rows.filter(l.match);
      if (mine.length) l.onRows(mine);
    }
  });
}

export function subscribe(globOrTags, onRows) {
  let match;
  if (Array.isArray(globOrTags)) {
    const set = new Set(globOrTags);
    match = (row) => set.has(row.tag);
  } else {
    const re = globToRegExp(globOrTags || "*");
    match = (row) => re.test(row.tag);
  }
  const entry = { match, onRows };
  listeners.add(entry);
  ensureSource();
  const now = [...latest.values()].filter(match);
  if (now.length) queueMicrotask(() => onRows(now));
  return () => listeners.delete(entry);
}

// Colours that read on the light theme (contrast AA against bg) and stay apart for the
// common colour-vision deficiencies (Okabe–Ito).
export const theme = {
  fg: "#1b1f24", bg: "#ffffff", grid: "#d0d7de",
  series: ["#0060a8", "#c0392b", "#117a65", "#8e44ad", "#b9770e", "#1f618d", "#6e2c00"],
};

export function createCtx(well, type) {
  return { well, type, lang, t, api, subscribe, uPlot: globalThis.uPlot, theme };
}
