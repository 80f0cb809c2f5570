// Drilling: depth against time, drilling parameters against depth, pit volumes and the
// kick indicators, and the live kill sheet (wait and weight) with the MAASP.
import { Tiles, XYChart, codeText, el, fmt, label, panel, startView } from "./common.js";

const TILES = ["hole_depth", "bit_depth", "ROP", "wob", "rotary_rpm", "rotary_torque",
  "hookload", "standpipe_pressure", "flow_in", "flow_out", "MSE", "ECD", "HYDROSTATIC",
  "mud_weight_in"];
const KICK_FLAGS = ["KICK", "KICK_SUPPRESSED"];
const TRACKS = ["wob", "ROP", "rotary_rpm", "rotary_torque", "MSE", "ECD"];
const SHEET = [["omw_ppg", 2, "ppg"], ["sidpp_psi", 0, "psi"], ["sicp_psi", 0, "psi"],
  ["tvd_ft", 0, "ft"], ["kmw_ppg", 2, "ppg"], ["icp_psi", 0, "psi"], ["fcp_psi", 0, "psi"],
  ["strokes_to_bit", 0, "stk"], ["pressure_drop_per_100_strokes", 1, "psi"],
  ["maasp_psi", 0, "psi"]];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES);
    const rigState = el("p", { class: "wv-diagnosis", "aria-live": "polite" });
    const pitKeys = view.pits.tanks.map((p) => p.key);
    const pits = new Tiles(ctx, view, [...pitKeys, ...view.pits.kick_indicators], { flags: KICK_FLAGS });
    const kick = el("p", { class: "wv-kick", "aria-live": "assertive" });
    const depthBox = el("div");
    const tracks = el("div", { class: "wv-tracks" });
    const sheetTable = el("table", { class: "wv-table wv-sheet" });
    const sheetBox = el("div");
    const sheetNote = el("p", { class: "wv-note" });
    ui.root.append(rigState, tiles.node,
      panel(ctx, "wells.drilling.pits", kick, pits.node),
      panel(ctx, "wells.drilling.depth_time", depthBox),
      panel(ctx, "wells.drilling.parameters_vs_depth", tracks),
      panel(ctx, "wells.drilling.kill_sheet", sheetNote, sheetTable, sheetBox),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    // depth against time: the two depth series from history, depth down
    const depthCharts = view.depth_time.map((ref) => {
      const c = ui.trends([ref], { yDown: true, height: 220 });  // depth grows downwards
      depthBox.append(c);
      return c;
    });
    // a track per parameter that has history over the window (no empty tracks)
    const hasData = (k) => (view.parameters_vs_depth[k] || []).some((v) => v !== null);
    const trackCharts = TRACKS.filter(hasData).map((k) => {
      const box = el("div", { class: "wv-track" });
      tracks.append(box);
      const c = new XYChart(ctx, box, { title: label(ctx, k), xLabel: view.values[k]?.units || "",
        yLabel: ctx.t("wells.axis.depth_ft"), height: 320, yDown: true,
        series: [{ label: label(ctx, k), points: true }] });
      ui.charts.push(c);
      return [k, c];
    });
    const sheetChart = new XYChart(ctx, sheetBox, {
      title: ctx.t("wells.drilling.schedule"), xLabel: ctx.t("wells.axis.strokes"),
      yLabel: ctx.t("wells.axis.dp_pressure_psi"),
      series: [{ label: ctx.t("wells.drilling.schedule"), points: true }] });
    ui.charts.push(sheetChart);

    const showKick = () => {
      const k = view.values.KICK;
      const on = k && k.value;
      kick.textContent = on ? `⚠ ${ctx.t("wells.drilling.kick")}` : ctx.t("wells.drilling.no_kick");
      kick.className = on ? "wv-kick wv-state-over" : "wv-kick wv-state-ok";
    };
    const showRig = (row) => {
      rigState.textContent = `${ctx.t("wells.tag.RIG_STATE")}: ${codeText(ctx, "RIG_STATE", row ? row.value : null)}`;
    };
    const draw = (v) => {
      const pvd = v.parameters_vs_depth;
      for (const [k, c] of trackCharts) c.setData([[pvd[k], pvd.hole_depth]]);
      const ks = v.kill_sheet;
      if (!ks) {
        sheetNote.textContent = ctx.t("wells.drilling.no_sheet");
        sheetTable.replaceChildren();
        sheetChart.setData([]);
        return;
      }
      sheetNote.textContent = ctx.t(ks.shut_in ? "wells.drilling.shut_in" : "wells.drilling.not_shut_in");
      sheetTable.replaceChildren(el("tbody", {}, ...SHEET.map(([k, d, u]) => el("tr", {},
        el("th", { scope: "row", text: ctx.t(`wells.drilling.sheet.${k}`) }),
        el("td", { class: "num", text: fmt(ks[k], d) }), el("td", { text: u })))));
      sheetChart.setData([[ks.schedule.strokes, ks.schedule.pressure_psi]]);
    };
    draw(view);
    showKick();
    showRig(view.values.RIG_STATE);
    rigState.hidden = !("RIG_STATE" in view.tags);  // calcd does not publish it for this well
    return {
      onRow(key, row) {
        tiles.update(key, row);
        pits.update(key, row);
        if (key === "KICK") showKick();
        if (key === "RIG_STATE") showRig(row);
      },
      update: draw,
      depthCharts,
    };
  });
}
