// Trends: any tags over any range from /api/history (decimated to the chart's width),
// zoom by dragging across the chart (a new, finer query for the new range), pan and
// zoom out with the buttons, CSV export of each tag.  /trends?tags=A,B&range=3600
import { api, t, theme } from "/static/js/ctx.js";
import { el, fmtTime, notice } from "/static/js/common.js";
import { keyboardLegend } from "/static/js/dom.js";

const uPlot = globalThis.uPlot;
const chartBox = document.getElementById("chart");
const tagInput = document.getElementById("trend-tags");
const rangeSel = document.getElementById("trend-range");
const rangeText = document.getElementById("trend-range-text");
const params = new URLSearchParams(location.search);
let plot = null;
let tags = [];
let range = null;  // [start, end] in Unix seconds
let settingData = false;
let zoomTimer = null;
const unitsOf = new Map();  // tag -> units (from /api/tags): one y scale per unit

const toLocalInput = (s) => {
  const d = new Date(s * 1000);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
};

function width() { return Math.max(320, chartBox.clientWidth || 800); }

async function query() {
  const [start, end] = range;
  const points = Math.min(2000, Math.round(width()));
  const series = await Promise.all(tags.map((tag) =>
    api(`/api/history/${encodeURIComponent(tag)}?start=${start}&end=${end}&points=${points}`)
      .catch((e) => { notice(`${tag}: ${e.message}`, "error"); return null; })));
  const tables = series.map((s) => s
    ? [s.ts.map((x) => Date.parse(x) / 1000), s.value.map((v) => v)]
    : [[], []]);
  const data = tables.length ? uPlot.join(tables) : [[]];
  showRange();
  settingData = true;
  if (!plot) build(data); else {
    plot.setData(data, false);
    plot.setScale("x", { min: start, max: end });
  }
  settingData = false;
}

function showRange() {
  const [start, end] = range;
  rangeText.textContent = t("trends.showing", { start: fmtTime(start), end: fmtTime(end) });
  rangeText.dataset.start = String(start);
  rangeText.dataset.end = String(end);
  const links = document.getElementById("csv-links");
  links.replaceChildren(...tags.map((tag) => el("a", { class: "button",
    href: `/api/history/${encodeURIComponent(tag)}?format=csv&start=${start}&end=${end}&points=10000`,
    download: `${tag}.csv`, text: `CSV ${tag}` })));
}

function build(data) {
  chartBox.replaceChildren();
  // Tags of different units get their own y scale; the first two units have an axis
  // (left and right), each labelled with its unit.
  const units = [...new Set(tags.map((tag) => unitsOf.get(tag) || "—"))];
  const scales = { x: { time: true, min: range[0], max: range[1] } };
  for (const u of units) scales[u] = { auto: true };
  const axes = [{ stroke: theme.fg, grid: { stroke: theme.grid } },
    ...units.slice(0, 2).map((u, i) => ({ scale: u, label: u, stroke: theme.fg, side: i ? 1 : 3,
                                          grid: { show: i === 0, stroke: theme.grid } }))];
  const opts = {
    width: width(), height: 380, scales, axes,
    series: [{}, ...tags.map((tag, i) => ({ label: `${tag} (${unitsOf.get(tag) || "—"})`,
                                           scale: unitsOf.get(tag) || "—",
                                           stroke: theme.series[i % theme.series.length],
                                           width: 2, dash: i % 2 ? [6, 3] : undefined, spanGaps: false }))],
    cursor: { drag: { x: true, y: false } },
    hooks: { setScale: [(u, key) => {
      if (key !== "x" || settingData) return;
      const { min, max } = u.scales.x;
      if (min == null || max == null || (min === range[0] && max === range[1])) return;
      range = [min, max];
      clearTimeout(zoomTimer);
      zoomTimer = setTimeout(() => query().catch((e) => notice(e.message, "error")), 150);
    }] },
  };
  plot = new uPlot(opts, data, chartBox);
  keyboardLegend(plot);
}

function move(fraction, scale = 1) {
  if (!range) return;
  const [s, e] = range;
  const span = e - s, mid = (s + e) / 2 + span * fraction;
  const half = (span * scale) / 2;
  range = [mid - half, Math.min(mid + half, Date.now() / 1000 + span)];
  query().catch((err) => notice(err.message, "error"));
}

async function show() {
  tags = tagInput.value.split(/[\s,]+/).filter(Boolean);
  if (!tags.length) { notice(t("trends.pick"), "info"); return; }
  notice("");
  const now = Date.now() / 1000;
  if (rangeSel.value === "custom") {
    const s = Date.parse(document.getElementById("trend-start").value) / 1000;
    const e = Date.parse(document.getElementById("trend-end").value) / 1000;
    if (!(s < e)) { notice(t("trends.bad_range"), "error"); return; }
    range = [s, e];
  } else {
    range = [now - Number(rangeSel.value), now];
  }
  plot?.destroy();
  plot = null;
  history.replaceState(null, "", `/trends?tags=${encodeURIComponent(tags.join(","))}&range=${rangeSel.value}`);
  await query();
}

rangeSel.addEventListener("change", () => {
  const custom = rangeSel.value === "custom";
  document.getElementById("custom-range").hidden = !custom;
  if (custom) {
    const now = Date.now() / 1000;
    document.getElementById("trend-start").value = toLocalInput(range ? range[0] : now - 3600);
    document.getElementById("trend-end").value = toLocalInput(range ? range[1] : now);
  }
});
document.getElementById("trend-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  show().catch((e) => notice(e.message, "error"));
});
document.getElementById("pan-left").addEventListener("click", () => move(-0.5));
document.getElementById("pan-right").addEventListener("click", () => move(0.5));
document.getElementById("zoom-out").addEventListener("click", () => move(0, 2));
window.addEventListener("resize", () => plot?.setSize({ width: width(), height: 380 }));

try {
  const rows = (await api("/api/tags")).filter((r) => !Array.isArray(r.value));
  for (const r of rows) unitsOf.set(r.tag, r.units);
  document.getElementById("tag-names").replaceChildren(...rows.map((r) => el("option", { value: r.tag })));
} catch (e) { notice(e.message, "error"); }
if (params.get("tags")) {
  tagInput.value = params.get("tags");
  if (params.get("range")) rangeSel.value = params.get("range");
  show().catch((e) => notice(e.message, "error"));
}
