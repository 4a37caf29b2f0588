// The field app (issue #15): open the keys (from this device's copy with no connection, or by
// signing in), capture photos, audio and notes into the encrypted outbox, send it when the vault
// answers, lock, wipe. The shell is the same for everyone (vault/web/field.py): who is using it
// is known only in this page's memory, after the password has opened the keys.
import { api, cookieSession, startWebSession, vaultAnswers } from "../api.js";
import { boot } from "../app.js";
import { AudioCapture, captureStatement, currentLocation, deviceNow } from "../capture.js";
import { me } from "../context.js";
import * as vc from "../crypto.js";
import { deviceCopies, dropDeviceCopy, keepDeviceCopy, openDeviceCopy, refreshProfile } from "../devicecopy.js";
import { $, el } from "../dom.js";
import { UserError } from "../errors.js";
import { guard, showError, status } from "../feedback.js";
import { sendOutbox } from "../fieldsend.js";
import { drawOutbox } from "../fieldview.js";
import { fmtBytes, t } from "../i18n.js";
import { checkOwnPublicKeys, deriveKeys, refusalText, storeSessionKeys } from "../keys.js";
import { dropCapture, keepCapture, MAX_CAPTURE_BYTES, outboxRecords, setState } from "../outbox.js";
import { pinnedOrg } from "../pinning.js";
import { confirmWipe, wipeAndSignOut } from "../wipe.js";

await boot();

let open = null; // {keys, authKey, profile, slot}: page memory only, gone with a reload or the lock
let pending = null; // the derived keys kept between the password step and the TOTP step
let online = false;
let session = false;
let busy = false;
let recorder = null;
const live = new Map(); // item id → the sender's latest {state, progress, error}

const setCsrf = (token) => {
  document.querySelector('meta[name="csrf-token"]').content = token;
  $("#logout-form").querySelector('input[name="csrf_token"]').value = token;
};

function showLink() {
  const p = $("#link-state");
  p.dataset.state = online ? "online" : "offline";
  p.textContent = !online ? t("No connection: what you capture waits on this device, encrypted.")
    : session ? t("Connected to the vault.") : t("Connected to the vault. Open your keys to send.");
}

async function redraw() {
  const records = await outboxRecords().catch(() => []);
  drawOutbox($("#outbox-list"), records, open && open.keys, live, { online, onRetry: retry, onDiscard: discard });
  $("#outbox-empty").hidden = records.length > 0;
  $("#send-now").hidden = !(open && records.length);
  return records;
}

// ------------------------------------------------------------------ opening the keys

/** Sign in with the auth key; the server's public keys must be the ones the password opened. */
async function signIn(username, authKey, keys, code = $("#field-totp").value.trim()) {
  const body = { username, auth_key: vc.toBase64(authKey) };
  if (code) body.totp = code;
  const out = await api("POST", "/auth/login", body, { anonymous: true });
  const user = out.user;
  if (keys) checkOwnPublicKeys(keys, user);
  const resp = await startWebSession(out.token);
  if (!resp.ok) throw new UserError(t("Could not start the session. Reload the page and try again."));
  setCsrf((await resp.json()).csrf_token);
  $("#field-totp").value = "";
  $("#field-totp-row").hidden = true;
  return user;
}

async function startSession(keys, user) {
  Object.assign(me, { username: user.username, id: user.id, role: user.role });
  await storeSessionKeys(keys, user.username); // upload-core.js opens the keys the usual way
  session = true;
}

async function caseList() {
  const { cases } = await api("GET", "/cases");
  return cases.map((c) => ({ id: c.id, label: `${c.reference} — ${c.title}` }));
}

/** Open the keys with a connection: the server's blob, checked against this device's copy if any. */
async function unlockOnline(username, password, local) {
  if ($("#keep-copy").checked && !pinnedOrg(username)) {
    // Sending checks each case's signed chain against the organisation this browser pinned.
    throw new UserError(t("Confirm your organisation first: sign in once on the sign-in page of this device, then come back."));
  }
  const pre = await api("POST", "/auth/prelogin", { username }, { anonymous: true });
  let derived = pending && pending.username === username ? pending
    : local && local.salt === pre.salt ? { username, authKey: local.authKey, kek: local.kek } : null;
  if (!derived) {
    if (local) [local.authKey, local.kek].forEach(vc.wipe); // the password changed since the copy was kept
    derived = { username, ...(await deriveKeys(password, vc.fromBase64(pre.salt), pre.kdf)) };
  }
  pending = derived;
  let user;
  try {
    user = await signIn(username, derived.authKey, local && local.keys);
  } catch (err) {
    if (err.code !== "totp_required") pending = null;
    throw err;
  }
  pending = null;
  const keys = vc.decryptUserKeys(derived.kek, username, vc.fromBase64(user.enc_private_keys));
  checkOwnPublicKeys(keys, user);
  if (local) local.keys.wipe();
  await startSession(keys, user);
  if (!["lawyer", "medic"].includes(user.role)) throw new UserError(t("Only lawyers and medics capture evidence."));
  const profile = { username, user_id: user.id, role: user.role, language: user.language, box_public: user.box_public,
    sign_public: user.sign_public, cases: await caseList() };
  let slot = local ? local.slot : null;
  if ($("#keep-copy").checked) {
    slot = await keepDeviceCopy(keys, { salt: pre.salt, kdf: pre.kdf, enc_private_keys: user.enc_private_keys }, profile);
  } else if (slot) {
    await dropDeviceCopy(slot);
    slot = null;
  }
  vc.wipe(derived.kek);
  return { keys, authKey: derived.authKey, profile, slot };
}

async function unlock(username, password) {
  online = await vaultAnswers();
  const local = await openDeviceCopy(username, password);
  if (!online) {
    if (local) {
      vc.wipe(local.kek);
      return local;
    }
    throw new UserError((await deviceCopies()).length
      ? t("This user name and password do not open the copy of the keys kept on this device.")
      : t("This device has no copy of your keys yet. Open this page once with a connection and sign in."));
  }
  return unlockOnline(username, password, local);
}

$("#field-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const username = $("#field-username").value.trim().toLowerCase();
  const password = $("#field-password").value;
  if (!username || !password) throw new UserError(t("Enter your user name and password."));
  $("#field-unlock").disabled = true;
  $("#field-progress").hidden = false;
  status(t("Deriving your key from the password…"));
  try {
    open = await unlock(username, password);
  } catch (err) {
    if (err.code === "totp_required") {
      $("#field-totp-row").hidden = false;
      $("#field-totp").focus();
      status(t("Enter the 6-digit code from your authenticator app."));
      return;
    }
    const refused = refusalText(err);
    throw refused ? new UserError(refused) : err.code === "DecryptionError" ? Object.assign(err, { code: "bad_credentials" }) : err;
  } finally {
    $("#field-unlock").disabled = false;
    $("#field-progress").hidden = true;
  }
  $("#field-password").value = "";
  status("");
  opened();
}));

function opened() {
  $("#unlock-field").hidden = true;
  $("#capture").hidden = false;
  $("#field-lock").hidden = false;
  $("#field-signout").hidden = !session;
  fillCases();
  if (!open.profile.cases.length) showError(new UserError(t("You are not a member of any case yet: ask a colleague to add you.")));
  startIdleLock();
  showLink();
  tick();
}

/** The cases she may capture into, keeping the one chosen. */
function fillCases() {
  const select = $("#capture-case");
  const chosen = select.value;
  select.replaceChildren(...open.profile.cases.map((c) => el("option", { value: c.id, text: c.label })));
  if (open.profile.cases.some((c) => c.id === chosen)) select.value = chosen;
}

// ------------------------------------------------------------------ capturing

async function keep(kind, bytes, mediaType, filename, deviceTime) {
  if (!open) return;
  if (bytes.length > MAX_CAPTURE_BYTES) throw new UserError(t("This is too large to keep on the device ({size}). Upload it from the case page instead.", { size: fmtBytes(bytes.length) }));
  const caseId = $("#capture-case").value;
  const kase = open.profile.cases.find((c) => c.id === caseId);
  if (!kase) throw new UserError(t("Choose the case this evidence belongs to."));
  const id = vc.toHex(vc.randomBytes(16));
  if ($("#capture-location").checked) status(t("Finding the location (up to 15 seconds)…"));
  const location = $("#capture-location").checked ? await currentLocation() : null;
  const capture = captureStatement(open.keys, { captureId: id, caseId, userId: open.profile.user_id, mediaType, bytes, deviceTime, location });
  // The title is searchable, so the server reads it: a default one says the kind, never the device's time.
  const title = $("#capture-title-input").value.trim() || KIND_TITLE[kind]();
  const header = { case_id: caseId, case_label: kase.label, media_type: mediaType, filename, device_time: deviceTime,
    metadata: { title, evidence_type: kind }, sealed: { capture } };
  try {
    await keepCapture(open.keys, open.profile.user_id, id, header, bytes);
  } catch (err) {
    if (err.name !== "QuotaExceededError") throw err;
    throw new UserError(t("This device has no room left to keep it ({size}). Send or discard waiting items, or free some space, then capture again.", { size: fmtBytes(bytes.length) }));
  } finally {
    vc.wipe(bytes);
  }
  $("#capture-title-input").value = "";
  status(t("Kept on this device, encrypted and signed."));
  await redraw();
  tick();
}

const KIND_TITLE = { photo: () => t("Photo"), audio: () => t("Audio statement"), statement: () => t("Note") };
const stamp = (time) => time.replace(/[-:]/g, "").replace("T", "-").slice(0, 15);

$("#photo-input").addEventListener("change", guard(async (ev) => {
  const file = ev.target.files[0];
  ev.target.value = ""; // nothing of the photo stays in the form
  if (!file) return;
  const deviceTime = deviceNow();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const ext = (file.type.split("/")[1] || "jpg").replace("jpeg", "jpg");
  await keep("photo", bytes, file.type || "image/jpeg", `photo-${stamp(deviceTime)}.${ext}`, deviceTime);
}));

$("#audio-start").addEventListener("click", guard(async () => {
  recorder = await AudioCapture.start();
  $("#audio-start").hidden = true;
  $("#audio-stop").hidden = false;
  const tickTime = setInterval(() => {
    if (!recorder) return clearInterval(tickTime);
    if (recorder.bytes > MAX_CAPTURE_BYTES * 0.9) return $("#audio-stop").click(); // kept, before it is too large
    const s = Math.floor((Date.now() - recorder.began) / 1000);
    $("#audio-time").textContent = t("Recording {m}:{s}", { m: Math.floor(s / 60), s: String(s % 60).padStart(2, "0") });
  }, 500);
}));

$("#audio-stop").addEventListener("click", guard(async () => {
  const rec = recorder;
  recorder = null;
  $("#audio-stop").hidden = true;
  $("#audio-start").hidden = false;
  $("#audio-time").textContent = "";
  const { bytes, mediaType, deviceTime } = await rec.stop();
  const ext = mediaType.split("/")[1] || "webm";
  await keep("audio", bytes, mediaType, `audio-${stamp(deviceTime)}.${ext}`, deviceTime);
}));

$("#note-save").addEventListener("click", guard(async () => {
  const text = $("#note-text").value;
  if (!text.trim()) throw new UserError(t("Write the note first."));
  const deviceTime = deviceNow();
  await keep("statement", vc.encodeUtf8(text), "text/plain", `note-${stamp(deviceTime)}.txt`, deviceTime);
  $("#note-text").value = "";
}));

// ------------------------------------------------------------------ sending

/**
 * A web session for the opened user: the live one of this browser, or a sign-in with the kept auth
 * key. Asked before every round of sending: a session that idled out while the phone was offline is
 * replaced here, not met as a 401 in the middle of an upload (which ends the page's session).
 */
async function ensureSession() {
  const current = await cookieSession();
  if (session && current && current.user_id === open.profile.user_id) return true;
  session = false;
  if (current && current.user_id === open.profile.user_id) {
    setCsrf(current.csrf_token);
    await startSession(open.keys, { username: current.username, id: current.user_id, role: current.role });
  } else {
    const code = $("#send-totp").value.trim();
    $("#send-totp").value = "";
    try {
      await startSession(open.keys, await signIn(open.profile.username, open.authKey, open.keys, code));
      $("#send-totp-form").hidden = true;
    } catch (err) {
      if (err.code === "totp_required" || (code && err.code === "bad_credentials")) {
        $("#send-totp-form").hidden = false; // sending waits for the code; capturing goes on
        return false;
      }
      if (err.code === "bad_credentials") throw new UserError(t("The vault did not accept the password kept open here (was it changed?). Lock, then open with your current password."));
      throw err;
    }
  }
  $("#field-signout").hidden = false;
  try {
    open.profile.cases = await caseList(); // a case added since the copy was kept
    fillCases();
    if (open.slot) await refreshProfile(open.keys, open.slot, open.profile);
  } catch {
    // the cases of the kept copy still do
  }
  return true;
}

function onEvent(ev) {
  const now = live.get(ev.id) || {};
  if (ev.total) now.progress = Math.floor((100 * ev.sent) / ev.total);
  if (ev.state) Object.assign(now, { state: ev.state, error: ev.error });
  if (ev.state === "sending") status(""); // "kept on this device" no longer applies
  live.set(ev.id, now);
  if (ev.state === "sent") {
    const sent = [...live.values()].filter((x) => x.state === "sent").length;
    $("#outbox-sent").hidden = false;
    $("#outbox-sent").textContent = t("Sent to the vault: {n}", { n: sent });
  }
  redraw();
}

async function tick() {
  if (busy) return;
  busy = true;
  try {
    online = await vaultAnswers();
    if (open && online && (await ensureSession())) {
      showLink();
      await sendOutbox(open.keys, onEvent);
    }
  } catch (err) {
    showError(err);
  } finally {
    busy = false;
    showLink();
    await redraw();
  }
}

async function retry(id) {
  live.delete(id);
  await setState(id, "waiting");
  tick();
}

async function discard(id) {
  if (!confirm(t("Discard this item? It has not reached the vault and cannot be recovered."))) return;
  await dropCapture(id);
  live.delete(id);
  redraw();
}

$("#send-now").addEventListener("click", () => tick());
$("#send-totp-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  tick();
});
addEventListener("online", () => tick());
addEventListener("offline", () => {
  online = false;
  showLink();
  redraw();
});
setInterval(tick, 30000);

// ------------------------------------------------------------------ locking, signing out, wiping

function startIdleLock() {
  const lockMs = Number(document.body.dataset.lockMinutes || "10") * 60 * 1000;
  let last = Date.now();
  const lockIfIdle = () => Date.now() - last > lockMs && lock();
  for (const name of ["pointerdown", "keydown", "touchstart"]) addEventListener(name, () => (last = Date.now()), { passive: true });
  setInterval(lockIfIdle, 15000);
  document.addEventListener("visibilitychange", lockIfIdle); // a phone asleep runs no timers
}

function lock() {
  if (recorder) recorder.cancel();
  sessionStorage.clear();
  location.reload(); // the page's memory (keys, auth key) goes; the outbox stays
}

$("#field-lock").addEventListener("click", lock);

$("#field-signout").addEventListener("click", () => {
  sessionStorage.clear();
  $("#logout-form").submit();
});

$("#quick-wipe").addEventListener("click", guard(async () => {
  if (!(await confirmWipe(t("Remove the kept keys and everything of the vault from this browser?")))) return;
  if (recorder) recorder.cancel();
  open = null;
  // Signed in: the sign-out's Clear-Site-Data removes the session cookie and the HTTP cache too.
  if (await wipeAndSignOut(session ? $("#logout-form") : null)) return;
  document.querySelector("main").replaceChildren(el("h1", { text: t("This browser is wiped") }),
    el("p", { text: t("Nothing of the vault is left in this browser's storage. Close this tab.") }));
}));

// ------------------------------------------------------------------ start

const copies = await deviceCopies().catch(() => []);
$("#unlock-hint-copy").hidden = !copies.length;
$("#unlock-hint-none").hidden = copies.length > 0;
online = await vaultAnswers();
showLink();
await redraw();
// Only if nothing has the focus yet: a person typing before the page finished loading keeps her field.
if (document.activeElement === document.body && !$("#unlock-field").hidden) $("#field-username").focus();
