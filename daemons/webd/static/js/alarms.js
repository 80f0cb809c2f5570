// Alarms: the active list by priority with acknowledge / shelve (with a comment), and a
// search of alarmd's journal.
import { api, lang, t } from "/static/js/ctx.js";
import { el, fmtTime, fmtValue, keepingFocus, notice, priorityBadge, PRIORITIES } from "/static/js/common.js";

const body = document.querySelector("#alarm-table tbody");
const dialog = document.getElementById("alarm-dialog");
let pending = null;  // {op, alarm}
// Offered only to roles that may (the API refuses the rest anyway).
const table = document.getElementById("alarm-table");
const mayAck = table.dataset.mayAck === "1";
const mayShelve = table.dataset.mayShelve === "1";

const rank = (p) => { const i = PRIORITIES.indexOf(p); return i < 0 ? 99 : i; };

function row(a) {
  const message = (lang === "es" ? a.message_es : a.message_en) || a.message || "";
  const actions = el("td", { class: "actions" });
  if (mayAck && (a.state === "unacknowledged" || a.state === "rtn_unacknowledged")) {
    actions.append(el("button", { type: "button", class: "ack", "data-id": a.id,
      onclick: () => ask("ack", a), text: t("alarms.ack") }));
  }
  if (mayShelve && !["shelved", "normal", "out_of_service"].includes(a.state)) {
    actions.append(el("button", { type: "button", class: "shelve", "data-id": a.id,
      onclick: () => ask("shelve", a), text: t("alarms.shelve") }));
  }
  return el("tr", { "data-id": a.id, class: `prio-row-${a.priority}` },
    el("td", {}, priorityBadge(a.priority)),
    el("th", { scope: "row" }, el("span", { text: a.id }), el("br"), el("span", { class: "muted", text: message })),
    el("td", { class: `state-${a.state}`, text: t(`state.${a.state}`) }),
    el("td", { class: "num", text: fmtValue(a.value) }),
    el("td", { text: fmtTime(a.since) }), actions);
}

async function load() {
  try {
    const list = (await api("/api/alarms")).filter((a) => a.state !== "normal");
    list.sort((a, b) => rank(a.priority) - rank(b.priority) || (b.since || 0) - (a.since || 0));
    keepingFocus(() => body.replaceChildren(...list.map(row)));
    document.getElementById("alarms-empty").hidden = list.length > 0;
  } catch (e) { notice(e.message, "error"); }
}

function ask(op, alarm) {
  pending = { op, alarm };
  document.getElementById("alarm-dialog-h").textContent =
    t(op === "ack" ? "alarms.ack_title" : "alarms.shelve_title", { id: alarm.id });
  document.getElementById("shelve-box").hidden = op !== "shelve";
  document.getElementById("alarm-comment").value = "";
  document.getElementById("alarm-dialog-error").hidden = true;
  dialog.showModal();
  document.getElementById("alarm-comment").focus();
}

document.getElementById("alarm-cancel").addEventListener("click", () => dialog.close());
document.getElementById("alarm-dialog-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const { op, alarm } = pending;
  const comment = document.getElementById("alarm-comment").value;
  const body = op === "ack" ? { comment }
    : { comment, seconds: 60 * Number(document.getElementById("alarm-minutes").value || 60) };
  try {
    const r = await api(`/api/alarms/${encodeURIComponent(alarm.id)}/${op}`, { method: "POST", body });
    dialog.close();
    notice(t(op === "ack" ? "alarms.acked" : "alarms.shelved", { n: r.changed.length, id: alarm.id }));
    await load();
  } catch (e) {
    const err = document.getElementById("alarm-dialog-error");
    err.textContent = e.message;
    err.hidden = false;
  }
});

async function journal(ev) {
  ev?.preventDefault();
  const since = Date.now() / 1000 - Number(document.getElementById("journal-since").value);
  const text = document.getElementById("journal-text").value;
  try {
    const rows = await api(`/api/alarms/journal?since=${since}&text=${encodeURIComponent(text)}&limit=200`);
    document.querySelector("#journal-table tbody").replaceChildren(...rows.map((r) => el("tr", {},
      el("td", { text: fmtTime(r.at) }), el("th", { scope: "row", text: r.alarm_id }),
      el("td", { text: `${t("state." + r.old)} → ${t("state." + r.new)}` }),
      el("td", { text: r.action }), el("td", { text: r.user }), el("td", { text: r.comment }))));
  } catch (e) { notice(e.message, "error"); }
}

document.getElementById("journal-form").addEventListener("submit", journal);
await load();
journal();
setInterval(load, 5000);
