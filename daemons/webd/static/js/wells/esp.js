// ESP: frequency, current, intake pressure and the operating point on the pump curve
// (the catalogue curve and the same curve at the running frequency, affinity laws).
import { Tiles, XYChart, codeText, el, panel, startView } from "./common.js";

const TILES = ["frequency", "frequency_setpoint", "motor_current", "MOTOR_LOAD",
  "INTAKE_PRESSURE", "FLUID_OVER_PUMP", "FLOW", "HEAD", "discharge_pressure",
  "motor_temperature", "CURRENT_UNBALANCE", "vibration", "thp", "chp", "run_status"];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES, { flags: ["run_status"] });
    const condition = el("p", { class: "wv-diagnosis", "aria-live": "polite" });
    const box = el("div");
    ui.root.append(tiles.node, panel(ctx, "wells.esp.pump_curve", condition, box),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    const chart = new XYChart(ctx, box, {
      title: ctx.t("wells.esp.pump_curve"), xLabel: ctx.t("wells.axis.rate_bpd"),
      yLabel: ctx.t("wells.axis.head_ft"),
      series: [{ label: ctx.t("wells.esp.base_curve"), dash: [6, 4] },
               { label: ctx.t("wells.esp.running_curve"), points: true },
               { label: ctx.t("wells.operating_point"), line: false, points: true, size: 12 },
               { label: ctx.t("wells.esp.bep"), line: false, points: true, size: 9 }],
    });
    ui.charts.push(chart);
    const showCondition = (row) => {
      condition.textContent = `${ctx.t("wells.tag.ESP_CONDITION")}: ${codeText(ctx, "ESP_CONDITION", row ? row.value : null)}`;
    };
    const draw = (v) => {
      const c = v.pump_curve;
      if (!c) { box.replaceChildren(el("p", { class: "wv-note", text: ctx.t("wells.esp.no_curve") })); return; }
      const op = c.operating_point;
      const bep = c.bep_rate_bpd;
      const bepHead = bep === null ? null : interp(bep, c.base.rate_bpd, c.base.head_ft);
      chart.setData([[c.base.rate_bpd, c.base.head_ft],
        c.running ? [c.running.rate_bpd, c.running.head_ft] : [[], []],
        [[op.rate_bpd], [op.head_ft]], bep === null ? [[], []] : [[bep], [bepHead]]]);
    };
    let current = view;
    draw(view);
    showCondition(view.values.ESP_CONDITION);
    condition.hidden = !("ESP_CONDITION" in view.tags);  // calcd does not publish it for this well
    return {
      onRow(key, row) {
        tiles.update(key, row);
        if ((key === "FLOW" || key === "HEAD") && current.pump_curve && typeof row.value === "number") {
          if (key === "FLOW") current.pump_curve.operating_point.rate_bpd = row.value;
          if (key === "HEAD") current.pump_curve.operating_point.head_ft = row.value;
          draw(current);  // the operating point moves with the live rows
        }
        if (key === "ESP_CONDITION") showCondition(row);
      },
      update(v) { current = v; draw(v); },
    };
  });
}

// Where a rate falls on the catalogue curve's points (only to place the BEP marker).
function interp(x, xs, ys) {
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]) return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
  }
  return ys[ys.length - 1];
}
