import { api } from "../api.js";
import { boot } from "../app.js";
import { me } from "../context.js";
import * as vc from "../crypto.js";
import { $ } from "../dom.js";
import { UserError } from "../errors.js";
import { guard, status } from "../feedback.js";
import { t } from "../i18n.js";
import { passwordProof, refusalText, setPassword, userKeys } from "../keys.js";
import { fingerprintOf, orgFromParams, pinnedOrg, pinOrgTyped, trustOf } from "../pinning.js";
import { confirmWipe, wipeAndSignOut } from "../wipe.js";

await boot();
const show = guard(async () => {
  const mine = await api("GET", "/me");
  $("#my-fingerprint").textContent = fingerprintOf(mine.box_public, mine.sign_public);
  $("#totp-state").textContent = mine.totp_enabled ? t("on") : t("off");
  $("#totp-start-form").hidden = mine.totp_enabled;
  $("#totp-disable-form").hidden = !mine.totp_enabled;
});

const showOrg = guard(async () => {
  const org = pinnedOrg();
  $("#org-pin-form").hidden = Boolean(org);
  $("#org-fingerprint").textContent = org ? org.fingerprint : t("none pinned yet");
  if (!org) return;
  let server = null;
  try {
    server = orgFromParams(await api("GET", "/auth/params"));
  } catch {
    server = null;
  }
  $("#org-change").hidden = Boolean(server && server.fingerprint === org.fingerprint);
  $("#org-server-fingerprint").textContent = server ? server.fingerprint : "—";
  const mine = await api("GET", "/me");
  const tr = trustOf(mine, org);
  $("#my-certified").textContent = tr.certified
    ? t("certified by your organisation ({path})", { path: tr.certified.path.join(" ← ") })
    : t("not certified yet: an admin certifies them");
});
$("#org-pin-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  await pinOrgTyped($("#org-digits").value);
  status(t("Your organisation is pinned in this browser."));
  await showOrg();
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
  const proof = await passwordProof(cur.value);
  try {
    const params = (await api("GET", "/auth/params")).kdf;
    const out = await refusing(setPassword(me.username, await userKeys(), proof, next.value, params, true));
    for (const input of [cur, next, again]) input.value = "";
    status(t("Your password is changed. {n} other session(s) ended: sign in there with the new password.", { n: out.sessions_ended }));
  } finally {
    vc.wipe(proof);
  }
}));

/** The refusals of a password proof, in words the person can act on (the wait, a mistyped password). */
async function refusing(promise) {
  try {
    return await promise;
  } catch (err) {
    const text = refusalText(err);
    if (!text) throw err;
    status("");
    throw new UserError(text);
  }
}

/** The proof of the password typed in `input`; the field is emptied whatever happens next. */
async function proofFrom(input) {
  if (!input.value) {
    input.focus();
    throw new UserError(t("Enter your current password."));
  }
  status(t("Deriving your key from the password…"));
  try {
    return await passwordProof(input.value);
  } finally {
    input.value = "";
    status("");
  }
}

/** POST a second-factor change with the password proof (the caller wipes the proof). */
function withProof(proof, path, body) {
  return refusing(api("POST", path, { ...body, current_auth_key: vc.toBase64(proof) }));
}

function code(input) {
  const value = input.value.replace(/\s+/g, "");
  if (!/^[0-9]{6}$/.test(value)) {
    input.focus();
    throw new UserError(t("Enter the 6 digits your authenticator app shows now."));
  }
  return value;
}

// The proof given to turn the second factor on, kept in this page's memory until the app's code
// confirms it, so the password is asked once.
let startProof = null;

function forgetStartProof() {
  if (startProof) vc.wipe(startProof);
  startProof = null;
}

$("#totp-start-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  forgetStartProof();
  const proof = await proofFrom($("#totp-start-password"));
  try {
    const out = await withProof(proof, "/me/totp", {});
    startProof = proof;
    $("#totp-secret").textContent = out.secret;
    $("#totp-setup").hidden = false;
    $("#totp-code").focus();
  } finally {
    if (startProof !== proof) vc.wipe(proof);
  }
}));
$("#totp-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  if (!startProof) throw new UserError(t("Start again with “Turn on the second factor”."));
  const typed = code($("#totp-code"));
  try {
    await withProof(startProof, "/me/totp/confirm", { code: typed });
  } catch (err) {
    if (err.code !== "bad_code") forgetStartProof(); // a mistyped code may be followed by the next one
    throw err;
  }
  forgetStartProof();
  $("#totp-setup").hidden = true;
  $("#totp-code").value = "";
  status(t("The second factor is on. You will need the code at each sign-in."));
  await show();
}));
$("#totp-disable-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const typed = code($("#totp-disable-code"));
  const proof = await proofFrom($("#totp-disable-password"));
  try {
    await withProof(proof, "/me/totp/disable", { code: typed });
  } finally {
    vc.wipe(proof);
  }
  $("#totp-disable-code").value = "";
  status(t("The second factor is off. Your password alone now opens this account."));
  await show();
}));
show();
showOrg();

$("#signout-wipe").addEventListener("click", guard(async () => {
  if (await confirmWipe(t("Sign out and remove everything of the vault from this browser?"))) await wipeAndSignOut($("#logout-form"));
}));
