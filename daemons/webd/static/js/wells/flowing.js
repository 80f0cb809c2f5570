// Flowing well: wellhead values, the well test on the test separator (in progress and
// recorded results) and the IPR curve with the test point and the AOF.
import { Tiles, XYChart, codeText, el, fmt, panel, startView } from "./common.js";

const TILES = ["thp", "chp", "choke_position", "flowline_pressure", "flowline_temperature",
  "bottomhole_pressure", "oil_rate", "gas_rate", "water_rate"];
const TEST_TILES = ["header_valve_test", "test_oil_rate", "test_water_rate", "test_gas_rate",
  "test_pressure", "TEST_OIL_RATE", "TEST_WATER_RATE", "TEST_GAS_RATE", "TEST_GOR",
  "TEST_WATER_CUT", "TEST_DURATION", "PI", "VOGEL_QMAX", "AOF"];
const COLUMNS = [["start", null], ["duration_h", 2], ["oil_bpd", 1], ["water_bpd", 1],
  ["gas_mscfd", 1], ["gor_scf_stb", 0], ["water_cut_pct", 1], ["pwf_psi", 0],
  ["pi_bpd_psi", 3], ["status", null]];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES);
    const testTiles = new Tiles(ctx, view, TEST_TILES, { flags: ["header_valve_test"] });
    const state = el("p", { class: "wv-diagnosis", "aria-live": "polite" });
    const table = el("table", { class: "wv-table" });
    const iprBox = el("div");
    const iprText = el("p", { class: "wv-note" });
    ui.root.append(tiles.node,
      panel(ctx, "wells.flowing.test", state, testTiles.node),
      panel(ctx, "wells.flowing.results", table),
      panel(ctx, "wells.flowing.ipr", iprText, iprBox),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    const chart = new XYChart(ctx, iprBox, {
      title: ctx.t("wells.flowing.ipr"), xLabel: ctx.t("wells.axis.rate_bpd"),
      yLabel: ctx.t("wells.axis.pwf_psi"),
      series: [{ label: ctx.t("wells.flowing.ipr") },
               { label: ctx.t("wells.flowing.test_point"), line: false, points: true, size: 12 },
               { label: "AOF", line: false, points: true, size: 10 }],
    });
    ui.charts.push(chart);
    const showState = (row) => {
      const code = row ? row.value : null;
      const busy = code !== null && code >= 1 && code <= 3;
      state.textContent = `${ctx.t("wells.tag.TEST_STATE")}: ${codeText(ctx, "TEST_STATE", code)}${busy ? ` — ${ctx.t("wells.flowing.in_progress")}` : ""}`;
    };
    const draw = (v) => {
      const head = el("tr", {}, ...COLUMNS.map(([k]) => el("th", { scope: "col", text: ctx.t(`wells.flowing.col.${k}`) })));
      const rows = v.well_test.results.map((r) => el("tr", {}, ...COLUMNS.map(([k, d]) => el("td", {
        class: d === null ? "" : "num",
        text: k === "start" ? new Date(r.start).toLocaleString(ctx.lang) : d === null ? r[k] : fmt(r[k], d) }))));
      table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
      if (!rows.length) table.append(el("caption", { text: ctx.t("wells.flowing.no_tests") }));
      const ipr = v.ipr;
      if (!ipr) { iprText.textContent = ctx.t("wells.flowing.no_ipr"); chart.setData([]); return; }
      iprText.textContent = ctx.t("wells.flowing.ipr_text", {
        pr: fmt(ipr.reservoir_pressure_psi, 0), pb: fmt(ipr.bubble_point_psi, 0),
        pi: fmt(ipr.pi_bpd_psi, 3), aof: fmt(ipr.aof_bpd, 0),
        source: ctx.t(`wells.flowing.source.${ipr.source}`) });
      const tp = ipr.test_point;
      chart.setData([[ipr.rate_bpd, ipr.pwf_psi],
        tp ? [[tp.rate_bpd], [tp.pwf_psi]] : [[], []], [[ipr.aof_bpd], [0]]]);
    };
    draw(view);
    showState(view.values.TEST_STATE);
    state.hidden = !("TEST_STATE" in view.tags);  // calcd does not publish it for this well
    return {
      onRow(key, row) {
        tiles.update(key, row);
        testTiles.update(key, row);
        if (key === "TEST_STATE") showState(row);
      },
      update: draw,
    };
  });
}
