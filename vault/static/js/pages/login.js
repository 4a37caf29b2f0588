import { api, startWebSession } from "../api.js";
import { boot } from "../app.js";
import { me } from "../context.js";
import * as vc from "../crypto.js";
import { $ } from "../dom.js";
import { UserError } from "../errors.js";
import { clearError, showError, status } from "../feedback.js";
import { t } from "../i18n.js";
import { checkOwnPublicKeys, deriveKeys, refusalText, setPassword, storeSessionKeys, weakerKdf } from "../keys.js";
import { checkOwnCertificate, pinnedOrg, pinOrgTyped } from "../pinning.js";

await boot();
const form = $("#login-form");
const progress = $("#kdf-progress");
let derived = null; // {username, authKey, kek} kept between the password step and the TOTP step

/**
 * Where to go after signing in: ?next= only if it is a page of this vault. A path alone is not
 * enough: browsers read "/\evil.example" as "//evil.example", another site, and drop tabs and
 * newlines before they look.
 */
function localNext(raw) {
  if (!raw || /[\u0000-\u001f\u007f\\]/.test(raw)) return "/";
  let url;
  try {
    url = new URL(raw, location.origin);
  } catch {
    return "/";
  }
  if (url.origin !== location.origin || !["http:", "https:"].includes(url.protocol)) return "/";
  return url.href; // absolute and checked: "//x" in its path cannot be read as another host
}

/**
 * A browser that has not pinned this user's organisation (a new device) asks for its
 * fingerprint, from the paper kit or an invitation code, and pins the organisation the
 * server names only if the fingerprint computed here is the one typed.
 */
function askOrganisation(username) {
  form.hidden = true;
  $("#org-prompt").hidden = false;
  $("#org-digits").focus();
  return new Promise((resolve) => {
    $("#org-form").addEventListener("submit", async function onSubmit(ev) {
      ev.preventDefault();
      clearError();
      try {
        await pinOrgTyped($("#org-digits").value, username);
        $("#org-form").removeEventListener("submit", onSubmit);
        resolve();
      } catch (err) {
        showError(err);
      }
    });
  });
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError();
  const username = $("#username").value.trim().toLowerCase();
  const password = $("#password").value;
  if (!username || !password) {
    showError(new UserError(t("Enter your user name and password.")));
    return;
  }
  $("#login-button").disabled = true;
  try {
    if (!derived || derived.username !== username) {
      progress.hidden = false;
      status(t("Deriving your key from the password…"));
      const pre = await api("POST", "/auth/prelogin", { username });
      const keys = await deriveKeys(password, vc.fromBase64(pre.salt), pre.kdf);
      derived = { username, kdf: pre.kdf, ...keys };
    }
    const bodyIn = { username, auth_key: vc.toBase64(derived.authKey) };
    // A language picked on this page (not the browser's default) becomes the account's; without
    // one, the account's own language applies on every page after sign-in.
    if (form.dataset.chosenLanguage) bodyIn.language = form.dataset.chosenLanguage;
    const code = $("#totp").value.trim();
    if (!$("#totp-row").hidden && code) bodyIn.totp = code;
    let out;
    try {
      out = await api("POST", "/auth/login", bodyIn);
    } catch (err) {
      if (err.code === "totp_required") {
        $("#totp-row").hidden = false;
        $("#totp").focus();
        status(t("Enter the 6-digit code from your authenticator app."));
        return;
      }
      derived = null;
      throw err;
    }
    status(t("Opening your keys…"));
    const user = out.user;
    const keys = vc.decryptUserKeys(derived.kek, user.username, vc.fromBase64(user.enc_private_keys));
    checkOwnPublicKeys(keys, user);
    // The bearer token becomes the HttpOnly session cookie; the page never stores it.
    const resp = await startWebSession(out.token);
    if (!resp.ok) throw new UserError(t("Could not start the session. Reload the page and try again."));
    const session = await resp.json();
    const meta = document.querySelector('meta[name="csrf-token"]');
    meta.content = session.csrf_token;
    document.body.dataset.username = user.username;
    me.username = user.username;
    await storeSessionKeys(keys, user.username);
    const current = (await api("GET", "/auth/params")).kdf;
    if (weakerKdf(derived.kdf, current)) {
      // The vault asks for stronger Argon2id parameters than this password was set with:
      // move to them now, while the password is at hand (the other devices stay signed in).
      status(t("Strengthening the protection of your password…"));
      try {
        await setPassword(user.username, keys, derived.authKey, password, current, false);
      } catch {
        // Signed in all the same; the next sign-in tries again.
      }
    }
    keys.wipe();
    vc.wipe(derived.kek);
    vc.wipe(derived.authKey);
    derived = null;
    $("#password").value = "";
    status("");
    if (!pinnedOrg(user.username)) await askOrganisation(user.username);
    checkOwnCertificate(await api("GET", "/me"));
    location.assign(localNext(new URLSearchParams(location.search).get("next")));
  } catch (err) {
    status("");
    const refused = refusalText(err);
    showError(refused ? new UserError(refused) : err.code === "DecryptionError" ? { code: "bad_credentials" } : err);
  } finally {
    progress.hidden = true;
    $("#login-button").disabled = false;
  }
});

