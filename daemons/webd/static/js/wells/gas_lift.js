// Gas lift: injection against the well's performance curve, the economic optimum
// (daemons/petroleum/gaslift on the configured curve) and calcd's live optimum.
import { Tiles, XYChart, codeText, el, panel, startView } from "./common.js";

const TILES = ["INJECTION_RATE", "OPTIMUM_INJECTION", "INJECTION_DEVIATION", "oil_rate",
  "liquid_rate", "gas_rate", "injection_pressure", "injection_setpoint",
  "injection_valve_position", "FORMATION_GLR", "TOTAL_GLR", "thp", "chp"];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES);
    const source = el("p", { class: "wv-diagnosis" });
    const box = el("div");
    ui.root.append(tiles.node, panel(ctx, "wells.gas_lift.curve", source, box),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    const chart = new XYChart(ctx, box, {
      title: ctx.t("wells.gas_lift.curve"), xLabel: ctx.t("wells.axis.injection_mscfd"),
      yLabel: ctx.t("wells.axis.oil_bpd"),
      series: [{ label: ctx.t("wells.gas_lift.curve") },
               { label: ctx.t("wells.gas_lift.curve_points"), line: false, points: true, size: 7 },
               { label: ctx.t("wells.gas_lift.optimum"), line: false, points: true, size: 12 },
               { label: ctx.t("wells.operating_point"), line: false, points: true, size: 12 }],
    });
    ui.charts.push(chart);
    const showSource = (row) => {
      source.textContent = `${ctx.t("wells.tag.OPTIMUM_SOURCE")}: ${codeText(ctx, "OPTIMUM_SOURCE", row ? row.value : null)}`;
    };
    const draw = (v) => {
      const c = v.performance_curve;
      if (!c) { box.replaceChildren(el("p", { class: "wv-note", text: ctx.t("wells.gas_lift.no_curve") })); return; }
      chart.setData([[c.curve.injection_mscfd, c.curve.oil_bpd],
        [c.points.injection_mscfd, c.points.oil_bpd],
        [[c.optimum.injection_mscfd], [c.optimum.oil_bpd]],
        [[c.operating_point.injection_mscfd], [c.operating_point.oil_bpd]]]);
    };
    let current = view;
    draw(view);
    showSource(view.values.OPTIMUM_SOURCE);
    source.hidden = !("OPTIMUM_SOURCE" in view.tags);  // calcd does not publish it for this well
    return {
      onRow(key, row) {
        tiles.update(key, row);
        if ((key === "INJECTION_RATE" || key === "oil_rate") && current.performance_curve && typeof row.value === "number") {
          if (key === "INJECTION_RATE") current.performance_curve.operating_point.injection_mscfd = row.value;
          if (key === "oil_rate") current.performance_curve.operating_point.oil_bpd = row.value;
          draw(current);  // the operating point moves with the live rows
        }
        if (key === "OPTIMUM_SOURCE") showSource(row);
      },
      update(v) { current = v; draw(v); },
    };
  });
}
