import { api } from "../api.js";
import { boot } from "../app.js";
import { me } from "../context.js";
import * as vc from "../crypto.js";
import { $ } from "../dom.js";
import { UserError } from "../errors.js";
import { guard, status } from "../feedback.js";
import { t } from "../i18n.js";
import { deriveKeys, setPassword, userKeys } from "../keys.js";
import { fingerprintOf, keyChange, pin, recoveryKey } from "../pinning.js";

await boot();
const show = guard(async () => {
  const mine = await api("GET", "/me");
  $("#my-fingerprint").textContent = fingerprintOf(mine.box_public, mine.sign_public);
  $("#totp-state").textContent = mine.totp_enabled ? t("on") : t("off");
  $("#totp-start").hidden = mine.totp_enabled;
  $("#totp-disable-form").hidden = !mine.totp_enabled;
});

const showRecovery = guard(async () => {
  const key = await recoveryKey();
  const change = keyChange(key);
  if (!change) pin(key); // first sight: trusted from now on, as creating a case would do
  $("#recovery-fingerprint").textContent = change ? change.old : vc.recoveryFingerprint(vc.fromBase64(key.box_public));
  $("#recovery-new-fingerprint").textContent = change ? change.now : "";
  $("#recovery-change").hidden = !change;
});
$("#recovery-accept").addEventListener("click", guard(async () => {
  pin(await recoveryKey(), { acceptChange: true });
  status(t("The new recovery key is accepted in this browser."));
  await showRecovery();
}));

$("#password-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const [cur, next, again] = ["#pw-current", "#pw-new", "#pw-repeat"].map((id) => $(id));
  if (!cur.value) {
    cur.focus();
    throw new UserError(t("Enter your current password."));
  }
  if (next.value.length < 10) {
    next.focus();
    throw new UserError(t("The password must have at least 10 characters."));
  }
  if (next.value !== again.value) {
    again.focus();
    throw new UserError(t("The two new passwords differ. Type the new password twice, the same way."));
  }
  if (next.value === cur.value) {
    next.focus();
    throw new UserError(t("The new password is the same as the current one. Choose another."));
  }
  status(t("Deriving your keys from the passwords…"));
  const pre = await api("POST", "/auth/prelogin", { username: me.username });
  const proof = await deriveKeys(cur.value, vc.fromBase64(pre.salt), pre.kdf);
  vc.wipe(proof.kek);
  try {
    const params = (await api("GET", "/auth/params")).kdf;
    const out = await setPassword(me.username, await userKeys(), proof.authKey, next.value, params, true);
    for (const input of [cur, next, again]) input.value = "";
    status(t("Your password is changed. {n} other session(s) ended: sign in there with the new password.", { n: out.sessions_ended }));
  } finally {
    vc.wipe(proof.authKey);
  }
}));

function code(input) {
  const value = input.value.replace(/\s+/g, "");
  if (!/^[0-9]{6}$/.test(value)) {
    input.focus();
    throw new UserError(t("Enter the 6 digits your authenticator app shows now."));
  }
  return value;
}

$("#totp-start").addEventListener("click", guard(async () => {
  const out = await api("POST", "/me/totp");
  $("#totp-secret").textContent = out.secret;
  $("#totp-setup").hidden = false;
  $("#totp-code").focus();
}));
$("#totp-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await api("POST", "/me/totp/confirm", { code: code($("#totp-code")) });
  $("#totp-setup").hidden = true;
  $("#totp-code").value = "";
  status(t("The second factor is on. You will need the code at each sign-in."));
  await show();
}));
$("#totp-disable-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await api("POST", "/me/totp/disable", { code: code($("#totp-disable-code")) });
  $("#totp-disable-code").value = "";
  status(t("The second factor is off. Your password alone now opens this account."));
  await show();
}));
show();
showRecovery();
