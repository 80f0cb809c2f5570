// What every page has: the language switch, logout, notices and small DOM helpers.
import { api, t, lang } from "/static/js/ctx.js";

import { el } from "/static/js/dom.js";

export { el };  // the views and pages import it from here

// Re-render without losing the keyboard focus: when the focused control was replaced,
// focus its twin in the new content (same element, class, text and owner).
export function keepingFocus(render) {
  const a = document.activeElement;
  const owner = (e) => e.dataset.id || e.dataset.tag || e.closest("[data-well]")?.dataset.well || "";
  const key = a && a !== document.body
    ? { tag: a.tagName, cls: a.className, text: a.textContent, owner: owner(a) } : null;
  render();
  if (!key || document.contains(a)) return;
  const twin = [...document.querySelectorAll(key.tag)].find((c) => c.className === key.cls
    && c.textContent === key.text && owner(c) === key.owner);
  twin?.focus();
}

export function notice(text, kind = "info") {
  const box = document.getElementById("notice");
  if (!box) return;
  box.textContent = text;
  box.className = `notice ${kind}`;
  box.hidden = !text;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return t("tags.array", { n: v.length });
  if (typeof v === "number") {
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e6 || a < 1e-3) ? v.toExponential(3)
      : v.toLocaleString(lang, { maximumFractionDigits: a >= 100 ? 2 : 3 });
  }
  return String(v);
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return d.toLocaleString(lang, { hour12: false });
}

// Quality as a word and a shape, never only a colour.
export function qualityBadge(q) {
  const shapes = { good: "●", uncertain: "◆", bad: "✖" };
  return el("span", { class: `q q-${q}` }, el("span", { "aria-hidden": "true", text: shapes[q] || "?" }),
            " ", t(`quality.${q}`));
}

export const PRIORITIES = ["critical", "high", "medium", "low"];
export function priorityBadge(p) {
  const shapes = { critical: "⬣", high: "▲", medium: "◆", low: "▼" };
  return el("span", { class: `prio prio-${p}` },
            el("span", { class: "shape", "aria-hidden": "true", text: shapes[p] || "●" }),
            " ", t(`priority.${p}`));
}

export function statusBadge(s) {
  const shapes = { running: "▶", stopped: "■", pumped_off: "◐", on_test: "◎", drilling: "⇣",
                   alarm: "⚠", unknown: "?" };
  return el("span", { class: `status st-${s}` },
            el("span", { "aria-hidden": "true", text: shapes[s] || "?" }), " ", t(`status.${s}`));
}

function wire() {
  const sw = document.getElementById("lang-switch");
  if (sw) sw.addEventListener("click", async () => {
    try {
      await api("/api/me/language", { method: "POST", body: { language: sw.dataset.to } });
      window.location.reload();
    } catch (e) { notice(e.message, "error"); }
  });
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    try { await api("/api/logout", { method: "POST" }); } catch { /* gone anyway */ }
    window.location.assign("/login");
  });
}

// The page polls and streams, which keeps the session fresh on the server: without this
// an unattended screen would never log out.  After the session's idle time without a
// key, click or touch, the page logs out itself.
function idleLogout() {
  const idle = Number(document.body.dataset.idleS || 0) * 1000;
  if (!idle) return;
  let last = Date.now();
  for (const ev of ["keydown", "pointerdown", "wheel", "touchstart"]) {
    window.addEventListener(ev, () => { last = Date.now(); }, { passive: true, capture: true });
  }
  setInterval(async () => {
    if (Date.now() - last < idle) return;
    try { await api("/api/logout", { method: "POST" }); } catch { /* gone anyway */ }
    window.location.assign("/login");
  }, 15000);
}

wire();
idleLogout();
