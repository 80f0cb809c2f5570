// PCP: rotor speed, torque against the limit, and the rate against the pump's
// displacement line (theoretical rate at 100 % volumetric efficiency).
import { Tiles, XYChart, el, fmt, panel, startView } from "./common.js";

const TILES = ["rotor_speed", "speed_setpoint", "FLOW", "VOL_EFFICIENCY", "drive_torque",
  "TORQUE_LOAD", "HYDRAULIC_TORQUE", "motor_current", "intake_pressure", "thp", "run_status"];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES, { flags: ["run_status"] });
    const torque = el("meter", { min: 0, max: 1, value: 0, "aria-label": ctx.t("wells.tag.TORQUE_LOAD") });
    const torqueText = el("span");
    const box = el("div");
    ui.root.append(tiles.node,
      panel(ctx, "wells.pcp.torque", el("div", { class: "wv-annulus" },
        el("span", { class: "wv-label", text: ctx.t("wells.tag.drive_torque") }), torque, torqueText)),
      panel(ctx, "wells.pcp.rate", box), panel(ctx, "wells.trends", ui.trends(view.trends)));
    const chart = new XYChart(ctx, box, {
      title: ctx.t("wells.pcp.rate"), xLabel: ctx.t("wells.axis.rpm"),
      yLabel: ctx.t("wells.axis.rate_bpd"),
      series: [{ label: ctx.t("wells.pcp.displacement_line"), dash: [6, 4] },
               { label: ctx.t("wells.operating_point"), line: false, points: true, size: 12 }],
    });
    ui.charts.push(chart);
    const showTorque = (row) => {
      const max = view.pump ? view.pump.max_torque_ftlbf : null;
      const v = row && typeof row.value === "number" ? row.value : null;
      torque.setAttribute("max", max || 1);
      torque.setAttribute("high", (max || 1) * 0.85);
      torque.setAttribute("value", v ?? 0);
      torqueText.textContent = `${fmt(v)} / ${fmt(max)} ft·lbf`;
    };
    const draw = (v) => {
      const p = v.pump;
      if (!p) { box.replaceChildren(el("p", { class: "wv-note", text: ctx.t("wells.pcp.no_geometry") })); return; }
      chart.setData([[p.displacement_line.rpm, p.displacement_line.rate_bpd],
        [[p.operating_point.rpm], [p.operating_point.rate_bpd]]]);
    };
    let current = view;
    draw(view);
    showTorque(view.values.drive_torque);
    return {
      onRow(key, row) {
        tiles.update(key, row);
        if ((key === "rotor_speed" || key === "FLOW") && current.pump && typeof row.value === "number") {
          if (key === "rotor_speed") current.pump.operating_point.rpm = row.value;
          if (key === "FLOW") current.pump.operating_point.rate_bpd = row.value;
          draw(current);  // the operating point moves with the live rows
        }
        if (key === "drive_torque") showTorque(row);
      },
      update(v) { current = v; draw(v); },
    };
  });
}
