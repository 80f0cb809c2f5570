import { api, t } from "/static/js/ctx.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
document.getElementById("user").focus();
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  try {
    const me = await api("/api/login", { method: "POST", body: {
      user: document.getElementById("user").value.trim(),
      password: document.getElementById("password").value } });
    window.location.assign(me.must_change_password ? "/password" : "/overview");
  } catch (e) {
    error.textContent = e.status === 401 ? t("login.failed") : e.message;
    error.hidden = false;
  }
});
