// Rod pump: the live surface card and calcd's downhole (pump) card overlaid, the last
// cards, fillage / production / run-time trends and the card diagnosis.
import { Tiles, XYChart, cardPair, codeText, el, panel, startView } from "./common.js";

const TILES = ["FILLAGE", "PRODUCTION", "spm", "PEAK_LOAD", "MIN_LOAD", "FLUID_LOAD",
  "PUMP_STROKE", "RUNTIME_PCT", "CARD_CONFIDENCE", "PUMPED_OFF", "run_status", "thp", "chp",
  "motor_current", "motor_power", "LOAD_CELL_FALLBACK"];
const FLAGS = ["PUMPED_OFF", "run_status", "LOAD_CELL_FALLBACK"];

export async function mount(section, ctx) {
  return startView(section, ctx, (view, ui) => {
    const tiles = new Tiles(ctx, view, TILES, { flags: FLAGS });
    const diagnosis = el("p", { class: "wv-diagnosis", "aria-live": "polite" });
    const cardBox = el("div", { class: "wv-card-box" });
    const lastBox = el("div", { class: "wv-card-box" });
    const lastList = el("ol", { class: "wv-card-list" });
    ui.root.append(tiles.node,
      panel(ctx, "wells.rod_pump.cards", diagnosis, cardBox),
      panel(ctx, "wells.rod_pump.last_cards", lastBox, lastList),
      panel(ctx, "wells.trends", ui.trends(view.trends)));
    const cards = new XYChart(ctx, cardBox, {
      title: ctx.t("wells.rod_pump.cards"), xLabel: ctx.t("wells.axis.position_in"),
      yLabel: ctx.t("wells.axis.load_lbf"), height: 340,
      series: [{ label: ctx.t("wells.rod_pump.surface_card"), points: true },
               { label: ctx.t("wells.rod_pump.downhole_card"), points: true }],
    });
    const last = new XYChart(ctx, lastBox, {
      title: ctx.t("wells.rod_pump.last_cards"), xLabel: ctx.t("wells.axis.position_in"),
      yLabel: ctx.t("wells.axis.load_lbf"), height: 260,
      series: Array.from({ length: 10 }, (_, i) => ({
        label: i === 0 ? ctx.t("wells.rod_pump.newest") : `−${i}`, width: i === 0 ? 2 : 1 })),
    });
    ui.charts.push(cards, last);
    const live = { surface: view.cards.surface, downhole: view.cards.downhole };

    const drawCards = () => cards.setData([cardPair(live.surface), cardPair(live.downhole)]);
    const drawLast = (v) => {
      last.setData(v.last_cards.map((c) => cardPair(c.surface)));
      lastList.replaceChildren(...v.last_cards.map((c) => el("li", {
        text: `${new Date(c.ts).toLocaleTimeString(ctx.lang)}${c.downhole ? "" : ` (${ctx.t("wells.rod_pump.no_downhole")})`}` })));
      if (!v.last_cards.length) lastList.append(el("li", { text: ctx.t("wells.rod_pump.no_cards") }));
    };
    const showDiagnosis = (row) => {
      diagnosis.textContent = `${ctx.t("wells.tag.CARD_DIAGNOSIS")}: ${codeText(ctx, "CARD_DIAGNOSIS", row ? row.value : null)}`;
    };
    drawCards();
    drawLast(view);
    showDiagnosis(view.values.CARD_DIAGNOSIS);
    diagnosis.hidden = !("CARD_DIAGNOSIS" in view.tags);  // calcd does not publish it for this well

    // A card arrives as two array rows (position, load), the load last: redraw when the
    // position and load of a card carry the same time.
    const pending = {};
    const takeCard = (which, part, row) => {
      pending[which] = { ...(pending[which] || {}), [part]: row };
      const p = pending[which];
      if (p.position && p.load && p.position.ts === p.load.ts) {
        live[which] = { position: p.position.value, load: p.load.value, ts: p.load.ts };
        pending[which] = {};
        drawCards();
      }
    };
    return {
      onRow(key, row) {
        tiles.update(key, row);
        if (key === "surface_position_card") takeCard("surface", "position", row);
        else if (key === "surface_load_card") takeCard("surface", "load", row);
        else if (key === "PUMP_CARD_POSITION") takeCard("downhole", "position", row);
        else if (key === "PUMP_CARD_LOAD") takeCard("downhole", "load", row);
        else if (key === "CARD_DIAGNOSIS") showDiagnosis(row);
      },
      update(v) { drawLast(v); },
    };
  });
}
