// System: daemons' status, device communication health, disk use, version; for
// administrators, users and roles (list, create, enable/disable, set the role).
import { api, t } from "/static/js/ctx.js";
import { el, notice } from "/static/js/common.js";

const ROLES = ["field_operator", "production_engineer", "reservoir_engineer", "drilling_engineer",
               "supervisor", "manager", "administrator", "contractor"];
const gib = (b) => `${(b / 2 ** 30).toFixed(1)} GiB`;

async function load() {
  try {
    const s = await api("/api/system");
    document.getElementById("system-version").textContent = t("system.version_line", { version: s.version, site: s.site });
    document.querySelector("#daemon-table tbody").replaceChildren(...s.daemons.map((d) => {
      const ok = d.alive && !d.stale && d.state === "ready";
      return el("tr", {}, el("th", { scope: "row", text: d.name }),
        el("td", { class: ok ? "ok" : "bad", text: `${ok ? "●" : "✖"} ${t("daemon." + (d.alive ? (d.stale ? "stale" : d.state) : "dead"))}` }),
        el("td", { text: d.pid ?? "" }), el("td", { text: d.errors ?? 0 }), el("td", { text: d.version || "" }));
    }));
    document.querySelector("#device-table tbody").replaceChildren(...s.devices.map((d) => {
      const health = d.good === d.tags ? "ok" : d.good === 0 ? "down" : "partial";
      return el("tr", {}, el("th", { scope: "row", text: d.name }), el("td", { text: d.tags }),
        el("td", { text: d.good }), el("td", { text: d.uncertain }), el("td", { text: d.bad + d.absent }),
        el("td", { class: `health-${health}`, text: `${{ ok: "●", partial: "◆", down: "✖" }[health]} ${t("health." + health)}` }));
    }));
    const used = s.disk.used_bytes / s.disk.total_bytes;
    document.getElementById("disk").textContent = t("system.disk_line", {
      used: gib(s.disk.used_bytes), total: gib(s.disk.total_bytes), free: gib(s.disk.free_bytes),
      pct: Math.round(used * 100), path: s.disk.path });
    document.getElementById("disk-bar").style.width = `${Math.round(used * 100)}%`;
  } catch (e) { notice(e.message, "error"); }
}

async function users() {
  const table = document.querySelector("#user-table tbody");
  if (!table) return;
  try {
    const list = await api("/api/users");
    table.replaceChildren(...list.map((u) => {
      const role = el("select", { "aria-label": t("users.role_of", { name: u.name }) },
        ...ROLES.map((r) => el("option", { value: r, text: t("role." + r), selected: u.roles[0] === r })));
      role.addEventListener("change", () => act(`/api/users/${u.name}/roles`, { roles: [role.value] }));
      return el("tr", { "data-user": u.name }, el("th", { scope: "row", text: u.name }),
        el("td", {}, role), el("td", { text: u.scope.join(", ") || t("users.everything") }),
        el("td", { text: u.enabled ? t("users.yes") : t("users.no") }),
        el("td", {}, el("button", { type: "button", text: u.enabled ? t("users.disable") : t("users.enable"),
          onclick: () => act(`/api/users/${u.name}/enabled`, { enabled: !u.enabled }) })));
    }));
  } catch (e) { notice(e.message, "error"); }
}

async function act(path, body) {
  try {
    await api(path, { method: "POST", body });
    notice(t("users.saved"));
  } catch (e) { notice(e.message, "error"); }
  await users();
}

const roleSel = document.getElementById("new-role");
if (roleSel) {
  roleSel.replaceChildren(...ROLES.map((r) => el("option", { value: r, text: t("role." + r) })));
  document.getElementById("user-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("user-result");
    try {
      const r = await api("/api/users", { method: "POST", body: {
        name: document.getElementById("new-user").value.trim(), roles: [roleSel.value],
        scope: document.getElementById("new-scope").value.split(",").map((s) => s.trim()).filter(Boolean) } });
      out.textContent = t("users.created", { name: r.name, password: r.one_time_password });
      await users();
    } catch (e) { out.textContent = e.message; }
  });
}

await load();
await users();
setInterval(load, 5000);
