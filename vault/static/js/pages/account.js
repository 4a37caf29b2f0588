import { $, api, boot, guard, status, t } from "../app.js";

await boot();
const show = guard(async () => {
  const mine = await api("GET", "/me");
  $("#my-fingerprint").textContent = mine.fingerprint;
  $("#totp-state").textContent = mine.totp_enabled ? t("on") : t("off");
  $("#totp-start").hidden = mine.totp_enabled;
});
$("#totp-start").addEventListener("click", guard(async () => {
  const out = await api("POST", "/me/totp");
  $("#totp-secret").textContent = out.secret;
  $("#totp-setup").hidden = false;
  $("#totp-code").focus();
}));
$("#totp-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await api("POST", "/me/totp/confirm", { code: $("#totp-code").value.trim() });
  $("#totp-setup").hidden = true;
  status(t("The second factor is on. You will need the code at each sign-in."));
  await show();
}));
show();
