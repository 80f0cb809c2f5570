// Test harness: builds a ctx as the webui well page does (docs/webd.md, the well-view
// contract) and mounts /static/js/wells/<type>.js into #well-view.
const params = new URLSearchParams(location.search);
const well = params.get("well");
const type = params.get("type");
const lang = params.get("lang") || "en";
const section = document.getElementById("well-view");
section.dataset.well = well;
section.dataset.type = type;
document.documentElement.lang = lang;

const catalogue = await (await fetch(`/harness/catalogue.${lang}.json`)).json();
function t(key, vars) {
  let text = Object.prototype.hasOwnProperty.call(catalogue, key) ? catalogue[key] : key;
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
  return text;
}
async function api(path) {
  const r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`HTTP ${r.status} ${path}`);
  return r.json();
}
const listeners = new Set();
const source = new EventSource("/api/events");
source.addEventListener("values", (ev) => {
  const rows = JSON.parse(ev.data);
  for (const l of listeners) {
    const mine = rows.filter((r) => l.tags.has(r.tag));
    if (mine.length) l.onRows(mine);
  }
});
function subscribe(tags, onRows) {
  const entry = { tags: new Set(tags), onRows };
  listeners.add(entry);
  return () => listeners.delete(entry);
}
const theme = { fg: "#1b1f24", bg: "#ffffff", grid: "#d0d7de",
  series: ["#0060a8", "#c0392b", "#117a65", "#8e44ad", "#b9770e", "#1f618d", "#6e2c00",
           "#7f8c8d", "#2e4053", "#a04000"] };
const ctx = { well, type, lang, t, api, subscribe, uPlot: globalThis.uPlot, theme };
try {
  const mod = await import(`/static/js/wells/${type}.js`);
  window.mounted = await mod.mount(section, ctx);
  document.body.dataset.mounted = "true";
} catch (e) {
  document.body.dataset.error = String(e && e.stack || e);
}
