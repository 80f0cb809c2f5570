// Coiled tubing: depth and speed, measured weight against calcd's pick-up / slack-off
// model along the run, pressures, lock-up margin, von Mises utilisation and fatigue.
import { Tiles, XYChart, el, fmt, panel, startView } from "./common.js";

const TILES = ["ct_depth", "ct_speed", "ct_weight", "PICKUP_WEIGHT", "SLACKOFF_WEIGHT",
  "WEIGHT_DEVIATION", "LOCKUP_MARGIN", "ct_pump_pressure", "ct_wellhead_pressure",
  "ct_pump_rate", "ct_reel_pressure", "VME_UTILISATION", "FATIGUE_USED", "ct_cycles"];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES);
    const fatigue = el("meter", { min: 0, max: 100, low: 50, high: 80, optimum: 0, value: 0,
      "aria-label": ctx.t("wells.tag.FATIGUE_USED") });
    const vme = el("meter", { min: 0, max: 100, low: 60, high: 80, optimum: 0, value: 0,
      "aria-label": ctx.t("wells.tag.VME_UTILISATION") });
    const fatigueText = el("span"), vmeText = el("span");
    const stringText = el("p", { class: "wv-note" });
    const box = el("div");
    ui.root.append(tiles.node,
      panel(ctx, "wells.ct.string", stringText,
        el("div", { class: "wv-annulus" }, el("span", { class: "wv-label", text: ctx.t("wells.tag.FATIGUE_USED") }), fatigue, fatigueText),
        el("div", { class: "wv-annulus" }, el("span", { class: "wv-label", text: ctx.t("wells.tag.VME_UTILISATION") }), vme, vmeText)),
      panel(ctx, "wells.ct.weight_vs_depth", box),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    const chart = new XYChart(ctx, box, {
      title: ctx.t("wells.ct.weight_vs_depth"), xLabel: ctx.t("wells.axis.weight_lbf"),
      yLabel: ctx.t("wells.axis.depth_ft"), height: 360, yDown: true,
      series: [{ label: ctx.t("wells.tag.ct_weight"), line: false, points: true, size: 5 },
               { label: ctx.t("wells.tag.PICKUP_WEIGHT"), dash: [6, 4] },
               { label: ctx.t("wells.tag.SLACKOFF_WEIGHT"), dash: [2, 3] },
               { label: ctx.t("wells.ct.now"), line: false, points: true, size: 12 }] });
    ui.charts.push(chart);
    const s = view.string;
    stringText.textContent = ctx.t("wells.ct.string_text", { id: s.ct_string_id ?? "—",
      od: fmt(s.od_in, 3), wall: fmt(s.wall_in, 3), length: fmt(s.length_ft, 0), td: fmt(s.well_td_ft, 0) });
    const meter = (m, text, row) => {
      const v = row && typeof row.value === "number" ? row.value : null;
      m.setAttribute("value", v ?? 0);
      text.textContent = `${fmt(v, 1)} %`;
    };
    let current = view;
    const draw = (v) => {
      const w = v.weight_vs_depth;
      const d = v.values.ct_depth?.value ?? null, wt = v.values.ct_weight?.value ?? null;
      chart.setData([[w.ct_weight, w.ct_depth], [w.PICKUP_WEIGHT, w.ct_depth],
        [w.SLACKOFF_WEIGHT, w.ct_depth], [[wt], [d]]]);
    };
    draw(view);
    meter(fatigue, fatigueText, view.values.FATIGUE_USED);
    meter(vme, vmeText, view.values.VME_UTILISATION);
    return {
      onRow(key, row) {
        tiles.update(key, row);
        if (key === "FATIGUE_USED") meter(fatigue, fatigueText, row);
        if (key === "VME_UTILISATION") meter(vme, vmeText, row);
        if (key === "ct_depth" || key === "ct_weight") { current.values[key] = row; draw(current); }
      },
      update(v) { current = v; draw(v); },
    };
  });
}
