// One's own password: the current one, the new one twice (the access module's policy
// decides; its message is shown).  A one-time password must be changed before any page.
import { api, t } from "/static/js/ctx.js";
import "/static/js/common.js";

const error = document.getElementById("password-error");
document.getElementById("old-password").focus();
document.getElementById("password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const fresh = document.getElementById("new-password").value;
  if (fresh !== document.getElementById("new-password2").value) {
    error.textContent = t("password.mismatch");
    error.hidden = false;
    return;
  }
  try {
    await api("/api/me/password", { method: "POST", body: {
      old: document.getElementById("old-password").value, new: fresh } });
    window.location.assign("/overview");
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});
