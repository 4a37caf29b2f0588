import { api } from "../api.js";
import { boot } from "../app.js";
import * as vc from "../crypto.js";
import { lang } from "../context.js";
import { $ } from "../dom.js";
import { UserError } from "../errors.js";
import { clearError, showError, status } from "../feedback.js";
import { t } from "../i18n.js";
import { codeFromFragment, digits, parseCode } from "../invitecode.js";
import { deriveKeys } from "../keys.js";
import { orgFromParams, pinOrg, rememberInviter } from "../pinning.js";

// Changing the language reloads the page: with a code already here, go by a plain navigation that
// keeps it in the fragment (never sent to the server) instead of the switcher's form post.
// Before boot(): the switcher works from the start.
$("#language-select")?.form.addEventListener("submit", (ev) => {
  const code = $("#invitation").value.trim() || (location.hash.length > 1 ? codeFromFragment(location.hash) : "");
  if (!code) return;
  ev.preventDefault();
  location.assign(`${location.pathname}?lang=${encodeURIComponent($("#language-select").value)}#${encodeURIComponent(code)}`);
});

await boot();
const form = $("#register-form");
if (location.hash.length > 1) {
  $("#invitation").value = codeFromFragment(location.hash);
  history.replaceState(null, "", location.pathname); // keep the code out of history
}

/** The code, and the organisation the server names, refused unless its fingerprint (computed here) is the code's. */
async function checkedInvitation(text) {
  const code = parseCode(text);
  if (!code) {
    throw new UserError(t("This is not a complete invitation code. It starts with “vault-invite-v1:” and has five parts separated by colons. Ask your admin for the whole code or link."));
  }
  const params = await api("GET", "/auth/params");
  const org = orgFromParams(params);
  if (digits(org.fingerprint) !== code.org) {
    throw new UserError(t("Refused: the organisation fingerprint this server gives ({fp}) is not the one in your invitation. This server may not be your organisation's. Do not register; tell your admin in person.", { fp: org.fingerprint }));
  }
  return { code, params, org };
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
    const { code, params, org } = await checkedInvitation(invitation);
    const salt = vc.randomBytes(vc.SALT_BYTES);
    const { authKey, kek } = await deriveKeys(password, salt, params.kdf);
    const keys = vc.UserKeys.generate();
    // Binds these public keys to the invitation's secret: the inviting admin's page checks it
    // before certifying them, so a server that swapped them cannot get them certified.
    const binding = vc.invitationBinding(code.secret, username, keys.boxPublic, keys.signPublic);
    await api("POST", "/auth/register", {
      invitation: code.token, username, kdf_salt: vc.toBase64(salt), kdf_params: params.kdf, auth_key: vc.toBase64(authKey),
      box_public: vc.toBase64(keys.boxPublic), sign_public: vc.toBase64(keys.signPublic),
      enc_private_keys: vc.toBase64(vc.encryptUserKeys(kek, username, keys)), binding: vc.toBase64(binding),
      language: lang, // the language this page is in becomes the account's
    });
    pinOrg(org, username);
    rememberInviter(username, code.inviter);
    $("#my-fingerprint").textContent = vc.fingerprint(keys.boxPublic, keys.signPublic);
    $("#org-fingerprint").textContent = org.fingerprint;
    keys.wipe();
    vc.wipe(kek);
    vc.wipe(authKey);
    vc.wipe(code.secret);
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
