// Shared pieces of the per-well-type views (docs/webd.md, "Well views").
// A view module calls `startView(section, ctx, build)`: it fetches
// /api/wells/{well}/view, lets `build(view, ui)` lay out the type's panels, keeps every
// tile live from ctx.subscribe (rows within a second of the rings) and re-reads the view
// every REFRESH_MS for what the server derives (curves at the running point, last cards,
// kill sheet).  No inline styles or scripts: classes from /static/css/wells.css only.

const REFRESH_MS = 5000;
const TREND_SPAN_S = 3600;
const QUALITY_SHAPE = { good: "●", uncertain: "▲", bad: "✖" };

import { el, keyboardLegend } from "/static/js/dom.js";

export { el };  // the views and pages import it from here

let locale;  // the page's language (ctx.lang), set by startView: 7,5 in Spanish

export function fmt(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value !== "number") return String(value);
  const d = digits ?? (Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 100 ? 1 : 2);
  return value.toLocaleString(locale, { minimumFractionDigits: 0, maximumFractionDigits: d });
}

export function label(ctx, key) {
  return ctx.t(`wells.tag.${key}`);
}

// A coded result (state, diagnosis) as its words, e.g. wells.code.CARD_DIAGNOSIS.2
export function codeText(ctx, key, value) {
  if (value === null || value === undefined) return "—";
  return ctx.t(`wells.code.${key}.${Math.round(value)}`);
}

function qualityMark(ctx, quality) {
  const q = quality || "bad";
  return el("span", { class: `wv-q wv-q-${q}`, title: ctx.t(`wells.quality.${q}`) },
            `${QUALITY_SHAPE[q] || "?"} ${ctx.t(`wells.quality.${q}`)}`);
}

// Live value tiles: one per view key the server returned (a key the well does not have
// is left out); `codes` shows a coded result as text, `flags` a 0/1 as yes/no.
export class Tiles {
  constructor(ctx, view, keys, { codes = [], flags = [] } = {}) {
    this.ctx = ctx;
    this.codes = new Set(codes);
    this.flags = new Set(flags);
    this.items = new Map();
    this.node = el("div", { class: "wv-tiles" });
    for (const key of keys) {
      if (!(key in view.tags)) continue;
      const value = el("span", { class: "wv-value", "data-key": key });
      const units = el("span", { class: "wv-units" });
      const q = el("span", { class: "wv-quality" });
      this.node.append(el("div", { class: "wv-tile" },
        el("span", { class: "wv-label", text: label(ctx, key) }),
        el("span", { class: "wv-reading" }, value, " ", units), q));
      this.items.set(key, { value, units, q });
      this.update(key, view.values[key]);
    }
  }

  update(key, row) {
    const item = this.items.get(key);
    if (!item) return;
    const v = row ? row.value : null;
    let text;
    if (this.codes.has(key)) text = codeText(this.ctx, key, v);
    else if (this.flags.has(key)) text = v === null ? "—" : this.ctx.t(v ? "wells.yes" : "wells.no");
    else text = fmt(v);
    item.value.textContent = text;
    item.units.textContent = row && !this.codes.has(key) && !this.flags.has(key) ? row.units || "" : "";
    item.q.replaceChildren(qualityMark(this.ctx, row ? row.quality : "bad"));
    item.value.closest(".wv-tile").dataset.quality = row ? row.quality : "bad";
  }
}

export function panel(ctx, titleKey, ...children) {
  return el("section", { class: "wv-panel" }, el("h3", { text: ctx.t(titleKey) }), ...children);
}

function extent(values, pad = 0.05) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (v !== null && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) { lo -= 1; hi += 1; }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

// The chart's own box once laid out (a grid cell, a panel), else its parent's.
function chartWidth(box, parent) {
  const w = box.clientWidth || (parent && parent.clientWidth) || 600;
  return Math.max(260, Math.min(900, w - 8));
}

// An x–y chart (uPlot mode 2): cards (load vs position), pump and performance curves with
// their operating points, parameters vs depth.  series: [{label, points, line, size,
// dash}]: `line: false` draws markers only (an operating point), `points` adds a dot on
// every sample of a line.  Markers are drawn in a draw hook, which works the same for
// every series in mode 2.  setData takes one [xs, ys] pair per series.
export class XYChart {
  constructor(ctx, parent, { title, xLabel, yLabel, series, height = 300, yDown = false }) {
    this.ctx = ctx;
    // a figure, not an image: its legend holds buttons (keyboardLegend)
    this.box = el("div", { class: "wv-chart", role: "figure", "aria-label": title });
    parent.append(this.box);
    this.height = height;
    this.ranges = { x: [0, 1], y: [0, 1] };
    const colors = ctx.theme.series;
    this.series = series.map((s, i) => ({ ...s, color: s.color || colors[i % colors.length] }));
    const opts = {
      mode: 2, title, width: chartWidth(this.box, parent), height,
      legend: { live: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: () => this.ranges.x },
        y: { dir: yDown ? -1 : 1, range: () => this.ranges.y },
      },
      axes: [
        { label: xLabel, stroke: ctx.theme.fg, grid: { stroke: ctx.theme.grid } },
        { label: yLabel, stroke: ctx.theme.fg, grid: { stroke: ctx.theme.grid } },
      ],
      series: [{}, ...this.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.line === false ? 0 : (s.width || 2),
        dash: s.dash,
        paths: s.line === false ? () => null : undefined,
        points: { show: false },
        facets: [{ scale: "x", auto: false }, { scale: "y", auto: false }],
      }))],
      hooks: { draw: [(u) => this.markers(u)] },
    };
    this.plot = new ctx.uPlot(opts, [null, ...series.map(() => [[], []])], this.box);
    keyboardLegend(this.plot);
    this.resize = new ResizeObserver(() => this.plot.setSize({ width: chartWidth(this.box, parent), height }));
    this.resize.observe(this.box);
  }

  markers(u) {
    const c = u.ctx;
    c.save();
    c.beginPath();
    c.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    c.clip();
    this.series.forEach((s, i) => {
      if (s.line !== false && !s.points) return;
      if (!u.series[i + 1].show) return;
      const [xs, ys] = u.data[i + 1];
      const r = (s.line === false ? (s.size || 10) : (s.size || 5)) / 2 * devicePixelRatio;
      c.fillStyle = s.color;
      c.strokeStyle = this.ctx.theme.fg;
      c.lineWidth = devicePixelRatio;
      for (let j = 0; j < xs.length; j++) {
        const x = u.valToPos(xs[j], "x", true), y = u.valToPos(ys[j], "y", true);
        c.beginPath();
        if (s.line === false) c.rect(x - r, y - r, 2 * r, 2 * r);  // a square: not colour alone
        else c.arc(x, y, r, 0, 2 * Math.PI);
        c.fill();
        if (s.line === false) c.stroke();
      }
    });
    c.restore();
  }

  setData(pairs) {
    const data = this.series.map((_, i) => {
      const [xs, ys] = pairs[i] || [[], []];
      const keep = xs.map((x, j) => x !== null && ys[j] !== null && x !== undefined && ys[j] !== undefined);
      return [xs.filter((_, j) => keep[j]), ys.filter((_, j) => keep[j])];
    });
    this.ranges.x = extent(data.flatMap((d) => d[0]));
    this.ranges.y = extent(data.flatMap((d) => d[1]));
    this.plot.setData([null, ...data]);
  }

  destroy() { this.resize.disconnect(); this.plot.destroy(); }
}

// Trends over the last hour from /api/history, extended live by the view's rows.
export class TrendChart {
  constructor(ctx, parent, ref, { height = 160, yDown = false } = {}) {
    this.ctx = ctx;
    this.ref = ref;
    this.ts = [];
    this.values = [];
    this.box = el("div", { class: "wv-chart wv-trend", role: "img", "aria-label": label(ctx, ref.key) });
    parent.append(this.box);
    this.plot = new ctx.uPlot({
      title: `${label(ctx, ref.key)}${ref.units ? ` (${ref.units})` : ""}`,
      width: chartWidth(this.box, parent), height, legend: { show: false },
      // always the last hour up to now, also while only a live point or two have come
      scales: { x: { time: true, range: () => [Date.now() / 1000 - TREND_SPAN_S, Date.now() / 1000] },
                y: { dir: yDown ? -1 : 1 } },
      axes: [{ stroke: ctx.theme.fg, grid: { stroke: ctx.theme.grid } },
             { stroke: ctx.theme.fg, grid: { stroke: ctx.theme.grid } }],
      series: [{}, { label: label(ctx, ref.key), stroke: ctx.theme.series[0], width: 2 }],
    }, [[], []], this.box);
    this.resize = new ResizeObserver(() => this.plot.setSize({ width: chartWidth(this.box, parent), height }));
    this.resize.observe(this.box);
    this.load();
  }

  async load() {
    const end = Date.now() / 1000;
    try {
      const h = await this.ctx.api(`/api/history/${encodeURIComponent(this.ref.tag)}?start=${end - TREND_SPAN_S}&end=${end}&points=300`);
      this.ts = h.ts.map((s) => Date.parse(s) / 1000);
      this.values = h.value;
      this.plot.setData([this.ts, this.values]);
    } catch (e) {
      // no history yet (404) or not readable: say so; live points still come
      this.box.append(el("p", { class: "wv-note", text: this.ctx.t("wells.no_history") }));
    }
  }

  add(row) {
    if (!row || row.ts === null || typeof row.value !== "number") return;
    const t = Date.parse(row.ts) / 1000;
    if (this.ts.length && t <= this.ts[this.ts.length - 1]) return;
    this.ts.push(t);
    this.values.push(row.value);
    while (this.ts.length && this.ts[0] < t - TREND_SPAN_S) { this.ts.shift(); this.values.shift(); }
    this.plot.setData([this.ts, this.values]);
  }

  destroy() { this.resize.disconnect(); this.plot.destroy(); }
}

// Annulus pressures against their MAWOP (production) or MAASP (drilling): a <meter> per
// annulus, and the state in words and shape as well as colour.
export class AnnulusPanel {
  constructor(ctx, view) {
    this.ctx = ctx;
    this.rows = new Map();
    this.view = view;
    this.node = panel(ctx, "wells.annulus.title");
    if (!view.annulus.length) {
      this.node.append(el("p", { class: "wv-note", text: ctx.t("wells.annulus.none") }));
      return;
    }
    for (const a of view.annulus) {
      const meter = el("meter", { min: 0, max: 1, value: 0, "aria-label": ctx.t("wells.annulus.name", { annulus: a.annulus }) });
      const text = el("span", { class: "wv-annulus-text" });
      const state = el("span", { class: "wv-annulus-state" });
      this.node.append(el("div", { class: "wv-annulus", "data-annulus": a.annulus },
        el("span", { class: "wv-label", text: ctx.t("wells.annulus.name", { annulus: a.annulus }) }),
        meter, text, state));
      this.rows.set(a.key, { a, meter, text, state });
      if (a.limit_key) this.rows.set(a.limit_key, { limitOf: a.key });
    }
    for (const a of view.annulus) this.update(a.key, view.values[a.key]);
  }

  update(key, row) {
    const r = this.rows.get(key);
    if (!r) return;
    if (r.limitOf) {  // a live limit (calcd's MAASP)
      const target = this.rows.get(r.limitOf);
      if (row && typeof row.value === "number") target.a.limit_psi = row.value;
      this.update(r.limitOf, target.last);
      return;
    }
    r.last = row;
    const p = row && typeof row.value === "number" ? row.value : null;
    const limit = r.a.limit_psi;
    r.meter.setAttribute("max", limit || 1);
    r.meter.setAttribute("high", (limit || 1) * 0.8);
    r.meter.setAttribute("optimum", 0);
    r.meter.setAttribute("value", p ?? 0);
    r.text.textContent = `${fmt(p)} psi / ${r.a.limit} ${fmt(limit)} psi`;
    let state = "unknown";
    if (p !== null && limit) state = p > limit ? "over" : p > 0.8 * limit ? "near" : "ok";
    r.state.textContent = this.ctx.t(`wells.annulus.${state}`);
    r.state.className = `wv-annulus-state wv-state-${state}`;
  }
}

// The view's frame: fetch, build, subscribe, refresh; `build(view, ui)` returns
// { update(view), onRow(key, row) } for the type's own panels.
export async function startView(section, ctx, build) {
  locale = ctx.lang;
  // The views' stylesheet, unless the page links it already (a <link>, allowed by the CSP).
  if (!document.querySelector('link[href="/static/css/wells.css"]')) {
    document.head.append(el("link", { rel: "stylesheet", href: "/static/css/wells.css" }));
  }
  const root = el("div", { class: "wv", "data-type": ctx.type });
  section.append(root);
  const path = `/api/wells/${encodeURIComponent(ctx.well)}/view`;
  let view;
  try {
    view = await ctx.api(path);
  } catch (e) {  // refused (403) or webd unreachable: say so in the view's place
    root.append(el("p", { class: "wv-note", role: "alert", text: `${ctx.t("wells.unavailable")} ${e.message || e}` }));
    root.dataset.error = "true";
    return { unmount() { root.remove(); } };
  }
  const charts = [];
  const ui = {
    root, charts,
    trends(refs, options = {}) {
      const box = el("div", { class: "wv-trends" });
      for (const ref of refs) {
        const chart = new TrendChart(ctx, box, ref, options);
        charts.push(chart);
        ui.trendByKey.set(ref.key, chart);
      }
      return box;
    },
    trendByKey: new Map(),
  };
  const own = build(view, ui);
  const annulus = new AnnulusPanel(ctx, view);
  root.append(annulus.node);
  let byTag = new Map(Object.entries(view.tags).map(([k, tag]) => [tag, k]));

  const onRows = (rows) => {
    for (const row of rows) {
      const key = byTag.get(row.tag);
      if (key === undefined) continue;
      view.values[key] = row;
      own.onRow(key, row);
      annulus.update(key, row);
      const trend = ui.trendByKey.get(key);
      if (trend) trend.add(row);
    }
  };
  let unsubscribe = ctx.subscribe(Object.values(view.tags), onRows);
  let stopped = false;
  const timer = setInterval(async () => {
    try {
      const fresh = await ctx.api(path);
      if (stopped) return;
      const tags = Object.values(fresh.tags).sort().join();
      if (tags !== Object.values(view.tags).sort().join()) {  // a new tag map: resubscribe
        unsubscribe();
        byTag = new Map(Object.entries(fresh.tags).map(([k, tag]) => [tag, k]));
        unsubscribe = ctx.subscribe(Object.values(fresh.tags), onRows);
      }
      view = fresh;
      own.update(view);
    } catch (e) {
      root.dataset.stale = "true";  // keep the last picture; the live rows still come
    }
  }, REFRESH_MS);
  root.dataset.ready = "true";
  return {
    unmount() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      for (const c of charts) c.destroy();
      if (own.destroy) own.destroy();
      root.remove();
    },
  };
}

// [xs, ys] of a card, closed (the last point joins the first).
export function cardPair(card) {
  if (!card) return [[], []];
  const xs = [...card.position], ys = [...card.load];
  if (xs.length) { xs.push(xs[0]); ys.push(ys[0]); }
  return [xs, ys];
}
