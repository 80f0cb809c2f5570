// Injector: injection rate against its target and injection pressure against the
// maximum allowed (meters with the figures in words), trends.
import { Tiles, el, fmt, panel, startView } from "./common.js";

const TILES = ["injection_rate", "injection_pressure", "injection_total", "thp", "chp",
  "run_status"];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES, { flags: ["run_status"] });
    const inj = view.injection;
    const row = (key, max, units) => {
      const meter = el("meter", { min: 0, max: max || 1, high: (max || 1) * 0.9, optimum: 0,
        value: 0, "aria-label": ctx.t(`wells.tag.${key}`) });
      const text = el("span");
      return { key, max, units, meter, text,
        node: el("div", { class: "wv-annulus" },
          el("span", { class: "wv-label", text: ctx.t(`wells.tag.${key}`) }), meter, text) };
    };
    const rows = [row("injection_pressure", inj.max_injection_pressure_psi, "psi"),
                  row("injection_rate", inj.target_rate, "")];
    ui.root.append(tiles.node,
      panel(ctx, "wells.injector.limits",
        el("p", { class: "wv-note", text: ctx.t("wells.injector.text", {
          fluid: inj.fluid ?? "—", max: fmt(inj.max_injection_pressure_psi, 0),
          target: fmt(inj.target_rate, 0) }) }),
        ...rows.map((r) => r.node)),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    const show = (r, v) => {
      const value = v && typeof v.value === "number" ? v.value : null;
      r.meter.setAttribute("value", value ?? 0);
      const of = r.key === "injection_pressure" ? "wells.injector.of_max" : "wells.injector.of_target";
      r.text.textContent = r.max ? `${fmt(value)} ${v?.units || r.units} (${fmt(value === null ? null : 100 * value / r.max, 0)} % ${ctx.t(of)})` : fmt(value);
    };
    for (const r of rows) show(r, view.values[r.key]);
    return {
      onRow(key, v) {
        tiles.update(key, v);
        for (const r of rows) if (r.key === key) show(r, v);
      },
      update() {},
    };
  });
}
