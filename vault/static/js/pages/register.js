import { api } from "../api.js";
import { boot } from "../app.js";
import * as vc from "../crypto.js";
import { $ } from "../dom.js";
import { UserError } from "../errors.js";
import { clearError, showError, status } from "../feedback.js";
import { t } from "../i18n.js";
import { deriveKeys } from "../keys.js";
import { pinFirstKeys } from "../pinning.js";

await boot();
const form = $("#register-form");
const fromFragment = new URLSearchParams(location.hash.slice(1)).get("invite");
if (fromFragment) {
  $("#invitation").value = fromFragment;
  history.replaceState(null, "", location.pathname); // keep the token out of history
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError();
  const invitation = $("#invitation").value.trim();
  const username = $("#username").value.trim();
  const password = $("#password").value;
  if (!invitation) return showError(new UserError(t("Paste the invitation your admin gave you.")));
  if (!/^[a-z0-9][a-z0-9._-]{2,31}$/.test(username)) {
    $("#username").focus();
    return showError(new UserError(t("Choose a user name of 3 to 32 small Latin letters, digits, dot, dash or underscore.")));
  }
  if (password.length < 10) {
    $("#password").focus();
    return showError(new UserError(t("The password must have at least 10 characters.")));
  }
  if (password !== $("#password2").value) {
    $("#password2").focus();
    return showError(new UserError(t("The two passwords differ. Type them again.")));
  }
  $("#register-button").disabled = true;
  $("#kdf-progress").hidden = false;
  status(t("Making your keys in this browser…"));
  try {
    const params = await api("GET", "/auth/params");
    const salt = vc.randomBytes(vc.SALT_BYTES);
    const { authKey, kek } = await deriveKeys(password, salt, params.kdf);
    const keys = vc.UserKeys.generate();
    const out = await api("POST", "/auth/register", {
      invitation, username, kdf_salt: vc.toBase64(salt), kdf_params: params.kdf, auth_key: vc.toBase64(authKey),
      box_public: vc.toBase64(keys.boxPublic), sign_public: vc.toBase64(keys.signPublic),
      enc_private_keys: vc.toBase64(vc.encryptUserKeys(kek, username, keys)),
    });
    pinFirstKeys(username, out.user, params.recovery_public);
    $("#my-fingerprint").textContent = vc.fingerprint(keys.boxPublic, keys.signPublic);
    $("#recovery-fingerprint").textContent = params.recovery_fingerprint;
    keys.wipe();
    vc.wipe(kek);
    vc.wipe(authKey);
    form.hidden = true;
    $("#register-done").hidden = false;
    $("#done-title").focus?.();
    status("");
  } catch (err) {
    status("");
    showError(err);
  } finally {
    $("#kdf-progress").hidden = true;
    $("#register-button").disabled = false;
  }
});
