// The well page: header (status, alarms), the generic live-tag table, and the per-type
// view mounted from /static/js/wells/<type>.js (docs/webd.md, "the well-view contract").
import { api, createCtx, subscribe, t } from "/static/js/ctx.js";
import { el, fmtTime, fmtValue, notice, priorityBadge, qualityBadge, statusBadge, PRIORITIES } from "/static/js/common.js";

const section = document.getElementById("well-view");
const well = section.dataset.well;
const type = section.dataset.type;
const body = document.querySelector("#well-tags tbody");
const rows = new Map();  // tag -> <tr>

function render(r) {
  let tr = rows.get(r.tag);
  const name = Array.isArray(r.value) ? el("span", { text: r.tag })
    : el("a", { href: `/trends?tags=${encodeURIComponent(r.tag)}&range=3600`, text: r.tag });
  const cells = [el("th", { scope: "row" }, name),
    el("td", { class: "num", text: fmtValue(r.value) }), el("td", { text: r.units || "" }),
    el("td", {}, qualityBadge(r.quality)), el("td", { text: fmtTime(r.ts) })];
  if (!tr) {
    tr = el("tr", { "data-tag": r.tag }, ...cells);
    rows.set(r.tag, tr);
    const after = [...rows.keys()].sort().indexOf(r.tag);
    const next = body.children[after];
    body.insertBefore(tr, next || null);
    return;
  }
  // Only the changing cells: a focused link in the first cell keeps the focus.
  for (const i of [1, 2, 3, 4]) tr.children[i].replaceWith(cells[i]);
}

async function header() {
  try {
    const data = await api(`/api/overview?well=${encodeURIComponent(well)}`);
    const w = data.wells[0];
    document.getElementById("well-status").replaceChildren(statusBadge(w.status));
    const box = document.getElementById("well-alarms");
    box.replaceChildren();
    if (w.alarms) {
      for (const p of PRIORITIES) if (w.alarms[p]) box.append(priorityBadge(p), ` ${w.alarms[p]} `);
      if (!w.alarms.active) box.append(t("overview.no_alarms"));
      box.append(" ", el("a", { href: "/alarms", text: t("nav.alarms") }));
    }
  } catch (e) { notice(e.message, "error"); }
}

async function mountView() {
  let mod;
  try {
    mod = await import(`/static/js/wells/${type}.js`);
  } catch {
    return;  // no view for this type (yet): the generic table stays
  }
  try {
    await mod.mount(section, createCtx(well, type));
  } catch (e) {
    console.error("well view failed", e);
  }
}

await header();
try {
  const w = await api(`/api/wells/${encodeURIComponent(well)}`);
  for (const r of w.tags) render(r);
} catch (e) { notice(e.message, "error"); }
subscribe(`${well}.*`, (changed) => changed.forEach(render));
mountView();
setInterval(header, 10000);
