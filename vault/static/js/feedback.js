// What the person sees while the page works: the status line (#status), the alert box (#alert),
// and every error worded to say what to do next, in their language. guard() wraps a handler so
// that whatever it throws ends up in the alert box.
import { ApiFailure } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

export function status(msg) {
  const box = $("#status");
  box.textContent = msg || "";
  box.hidden = !msg;
}

export function showError(err) {
  const box = $("#alert");
  box.textContent = errorText(err);
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

export function clearError() {
  const box = $("#alert");
  box.hidden = true;
  box.textContent = "";
}

// Keyed by ApiFailure code, or by error name (crypto.js's errors are named as vault/crypto.py's).
const N_ = (msgid) => msgid; // marks a message for extraction; translated where shown
const ERRORS = {
  bad_credentials: N_("The name or password is wrong (or the code). Check them and try again."),
  totp_required: N_("Enter the 6-digit code from your authenticator app."),
  too_many_attempts: N_("Too many failed attempts from this address or for this name. Wait a minute and try again."),
  wrong_password: N_("The current password is wrong. Type it again; after several failures you have to wait before the next try."),
  busy: N_("The server is busy with other sign-ins. Wait a few seconds and try again."),
  database_unavailable: N_("The server cannot use its database right now. Try again in a few seconds."),
  document_too_complex: N_("The documents would be too long to lay out. Shorten the longest texts of the case record, such as the statement of facts, and export again."),
  account_disabled: N_("This account is disabled. Ask your organisation's admin."),
  session_expired: N_("Your session has ended. Sign in again."),
  unauthenticated: N_("Your session has ended. Sign in again."),
  invalid_invitation: N_("This invitation is not valid. Ask your admin for a new one."),
  invitation_used: N_("This invitation was already used. Ask your admin for a new one."),
  invitation_expired: N_("This invitation has expired. Ask your admin for a new one."),
  username_taken: N_("This user name is taken. Choose another."),
  reference_taken: N_("A case with this reference exists. Choose another reference."),
  not_found: N_("Not found, or you are not a member of its case."),
  disk_full: N_("The server's disk is full. Tell your admin; what you sent so far is kept."),
  too_large: N_("This file is larger than the server accepts."),
  csrf_failed: N_("This page is out of date. Reload it and try again."),
  invalid_fields: N_("Some fields are not valid. Check the highlighted form and try again."),
  already_member: N_("This person is already a member of the case."),
  not_a_reader: N_("Admins cannot be case members: being admin grants no access to evidence."),
  forbidden: N_("You are not allowed to do this."),
  bad_code: N_("That code is wrong or was used already. Check that your phone's clock is right and enter the next code."),
  totp_not_started: N_("Start again with “Turn on the second factor”."),
  totp_already_enabled: N_("The second factor is already on. Turn it off first to change it."),
  network: N_("No connection to the server. Check your connection and try again."),
  WeakKdfParameters: N_("The server asked for weak password protection; refusing. Tell your admin."),
  DecryptionError: N_("Decryption failed: the password is wrong, or the data was altered."),
  IntegrityError: N_("This evidence failed its integrity check: it was altered or damaged. Do not rely on it; tell your admin."),
  BadSignature: N_("A signature does not verify: the data was altered or signed by someone else. Do not rely on it."),
  TrustError: N_("A colleague's key could not be trusted. Compare fingerprints in person before continuing."),
  stale_key_version: N_("The case key changed while this upload was under way. It starts again under the new key."),
  bad_certificate: N_("The server refused the certificate: it does not match this person's current keys, name or role."),
  bad_entry: N_("The server refused the change to the case's membership: it does not follow the case's history. Reload the page."),
};

export function errorText(err) {
  if (!err) return "";
  if (err.name === "UserError") return err.message; // already says what to do, translated
  if (err.name === "TrustError" && err.translated) return err.message;
  if (err.name === "TrustFailure") {
    // trust.js: what failed, in English as vault/domain/trust.py words it, translated here.
    return t("Refused: {reason}. Nothing was sealed or accepted; tell your admin.", { reason: t(err.msgid, err.params) });
  }
  const key = err.code || err.name;
  if (key && ERRORS[key]) return t(ERRORS[key]);
  if (err instanceof ApiFailure) return t("The server refused the request: {message}", { message: err.message });
  return t("Something went wrong: {message}. Reload the page and try again.", { message: err.message || String(err) });
}

/** Wrap an event handler: clear the alert first, show whatever it throws. */
export function guard(fn) {
  return async (...args) => {
    clearError();
    try {
      return await fn(...args);
    } catch (err) {
      status("");
      showError(err);
      return undefined;
    }
  };
}
