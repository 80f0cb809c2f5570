// Tags: browse and search with live values and quality; secured writes for the tags this
// user may write (the API refuses the others anyway), confirmed in a dialog that shows the
// old and the new value, then the read-back.
import { api, subscribe, t } from "/static/js/ctx.js";
import { el, fmtTime, fmtValue, notice, qualityBadge } from "/static/js/common.js";

const body = document.querySelector("#tag-table tbody");
const dialog = document.getElementById("write-dialog");
const input = document.getElementById("tag-pattern");
const rows = new Map();
const MAX_ROWS = 500;
let writable = new Map();
let unsubscribe = null;
let target = null;

function cells(r) {
  const write = el("td");
  if (writable.has(r.tag)) {
    write.append(el("button", { type: "button", class: "write", "data-tag": r.tag,
      onclick: () => openWrite(r.tag), text: t("tags.write_btn") }));
  }
  return [el("th", { scope: "row", text: r.tag }), el("td", { class: "num value", text: fmtValue(r.value) }),
    el("td", { text: r.units || "" }), el("td", {}, qualityBadge(r.quality)),
    el("td", { text: fmtTime(r.ts) }), write];
}

// Only the changing cells are replaced: a focused Write button stays where it is.
function update(r) {
  const known = rows.get(r.tag);
  if (!known) return;
  known.row = r;
  const fresh = cells(r);
  for (const i of [1, 2, 3, 4]) known.tr.children[i].replaceWith(fresh[i]);
}

async function search(ev) {
  ev?.preventDefault();
  const pattern = input.value.trim() || "*";
  history.replaceState(null, "", `/tags?pattern=${encodeURIComponent(pattern)}`);
  try {
    const [list, w] = await Promise.all([
      api(`/api/tags?pattern=${encodeURIComponent(pattern)}`),
      api(`/api/tags/writable?pattern=${encodeURIComponent(pattern)}`)]);
    writable = new Map(w.map((x) => [x.tag, x]));
    rows.clear();
    // A whole site is thousands of tags: the first MAX_ROWS, and a word to narrow it.
    const shown = list.slice(0, MAX_ROWS);
    notice(list.length > MAX_ROWS ? t("tags.more", { shown: MAX_ROWS, total: list.length }) : "");
    body.replaceChildren(...shown.map((r) => {
      const tr = el("tr", { "data-tag": r.tag }, ...cells(r));
      rows.set(r.tag, { tr, row: r });
      return tr;
    }));
    if (!list.length) body.append(el("tr", {}, el("td", { colspan: "6", text: t("tags.none") })));
    unsubscribe?.();
    unsubscribe = subscribe([...rows.keys()], (changed) => changed.forEach(update));
  } catch (e) { notice(e.message, "error"); }
}

function openWrite(tag) {
  target = writable.get(tag);
  const current = rows.get(tag)?.row;
  document.getElementById("write-tag").textContent = tag;
  document.getElementById("write-old").textContent = `${fmtValue(current?.value)} ${current?.units || ""}`;
  const value = document.getElementById("write-value");
  value.value = "";
  if (target.min !== null) value.min = target.min;
  if (target.max !== null) value.max = target.max;
  document.getElementById("write-reason").value = "";
  document.getElementById("write-result").textContent = "";
  document.getElementById("write-confirm-text").hidden = true;
  document.getElementById("write-confirm").hidden = true;
  document.getElementById("write-review").hidden = false;
  dialog.showModal();
  value.focus();
}

document.getElementById("write-review").addEventListener("click", () => {
  const v = document.getElementById("write-value");
  if (v.value === "" || !v.checkValidity()) {
    document.getElementById("write-result").textContent = t("write.invalid", {
      min: target.min ?? "—", max: target.max ?? "—" });
    return;
  }
  const current = rows.get(target.tag)?.row;
  const text = document.getElementById("write-confirm-text");
  text.textContent = t("write.confirm_text", { tag: target.tag,
    old: fmtValue(current?.value), new: fmtValue(Number(v.value)), units: target.units || "" });
  text.hidden = false;
  document.getElementById("write-review").hidden = true;
  const confirm = document.getElementById("write-confirm");
  confirm.hidden = false;
  confirm.focus();
});
document.getElementById("write-cancel").addEventListener("click", () => dialog.close());
document.getElementById("write-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const result = document.getElementById("write-result");
  const confirm = document.getElementById("write-confirm");
  confirm.disabled = true;
  result.textContent = t("write.sending");
  try {
    const r = await api("/api/write", { method: "POST", body: { tag: target.tag,
      value: Number(document.getElementById("write-value").value),
      reason: document.getElementById("write-reason").value } });
    result.textContent = t("write.done", { state: t(`write.state.${r.state}`), readback: fmtValue(r.readback) });
    result.className = "ok";
    confirm.hidden = true;
  } catch (e) {
    result.textContent = t("write.failed", { error: e.message });
    result.className = "error";
  } finally {
    confirm.disabled = false;
  }
});

document.getElementById("tag-search").addEventListener("submit", search);
input.value = new URLSearchParams(location.search).get("pattern") || "";
search();
