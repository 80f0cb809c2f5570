// Site overview: one tile per well (status, key values, alarm counts) and a map drawn
// from the wells' latitude/longitude.
import { api, subscribe, t } from "/static/js/ctx.js";
import { el, fmtValue, keepingFocus, notice, priorityBadge, statusBadge, PRIORITIES } from "/static/js/common.js";

const SVG = "http://www.w3.org/2000/svg";
const tiles = document.getElementById("well-tiles");
const valueCells = new Map();  // tag -> element showing its value

function tile(w) {
  const values = el("dl", { class: "kv" });
  for (const r of w.key_values) {
    const dd = el("dd", { "data-tag": r.tag, text: `${fmtValue(r.value)} ${r.units || ""}` });
    valueCells.set(r.tag, dd);
    values.append(el("dt", { text: t(`key.${r.tag.split(".").slice(1).join(".")}`) }), dd);
  }
  const counts = el("p", { class: "alarm-counts" });
  if (w.alarms) {
    if (w.alarms.active === 0) counts.append(t("overview.no_alarms"));
    for (const p of PRIORITIES) {
      if (w.alarms[p]) counts.append(priorityBadge(p), ` ${w.alarms[p]}  `);
    }
    if (w.alarms.unacknowledged) counts.append(el("span", { class: "unack",
      text: t("overview.unacked", { n: w.alarms.unacknowledged }) }));
  }
  return el("article", { class: `tile st-${w.status}`, "data-well": w.id },
    el("h3", {}, el("a", { href: `/wells/${encodeURIComponent(w.id)}`, text: `${w.id}${w.name ? " · " + w.name : ""}` })),
    el("p", { class: "muted", text: `${t("type." + w.type)} · ${w.field}` }),
    statusBadge(w.status), values, counts);
}

function drawMap(wells) {
  const box = document.getElementById("map");
  box.replaceChildren();
  const placed = wells.filter((w) => w.latitude !== null && w.longitude !== null);
  const missing = wells.filter((w) => w.latitude === null || w.longitude === null);
  document.getElementById("map-missing").textContent = missing.length
    ? t("overview.no_coords", { wells: missing.map((w) => w.id).join(", ") }) : "";
  if (!placed.length) return;
  const W = 400, H = 300, pad = 40;
  const lats = placed.map((w) => w.latitude), lons = placed.map((w) => w.longitude);
  const [la0, la1, lo0, lo1] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const span = Math.max(la1 - la0, lo1 - lo0, 0.005);
  const labelRoom = 120;  // the labels go right of their pins
  const x = (lo) => pad + ((lo - lo0) / span) * (W - 2 * pad - labelRoom);
  const y = (la) => H - pad - ((la - la0) / span) * (H - 2 * pad);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("overview.map"));
  for (const w of placed) {
    const a = document.createElementNS(SVG, "a");
    a.setAttribute("href", `/wells/${encodeURIComponent(w.id)}`);
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("class", `pin st-${w.status}`);
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", x(w.longitude)); c.setAttribute("cy", y(w.latitude)); c.setAttribute("r", 9);
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", x(w.longitude) + 13); label.setAttribute("y", y(w.latitude) + 5);
    label.textContent = `${w.id} · ${t("status." + w.status)}`;
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${w.id} ${t("status." + w.status)}`;
    g.append(title, c, label); a.append(g); svg.append(a);
  }
  box.append(svg);
}

async function load() {
  try {
    const data = await api("/api/overview");
    keepingFocus(() => {
      valueCells.clear();
      tiles.replaceChildren(...data.wells.map(tile));
      drawMap(data.wells);
    });
    if (!data.wells.length) tiles.append(el("p", { text: t("overview.none") }));
  } catch (e) { notice(e.message, "error"); }
}

await load();
subscribe("*", (rows) => {
  for (const r of rows) {
    const cell = valueCells.get(r.tag);
    if (cell) cell.textContent = `${fmtValue(r.value)} ${r.units || ""}`;
  }
});
setInterval(load, 10000);  // status and alarm counts; values come live
