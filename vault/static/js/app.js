// What every page shares: translations, the API with CSRF, the session keys,
// key pinning, the inactivity lock, and small DOM helpers. No framework.
import * as vc from "./crypto.js";

export { vc };
const body = document.body;
export const lang = body.dataset.lang || "en";
export const me = { username: body.dataset.username, id: body.dataset.userId, role: body.dataset.role };
const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;
const allowTestKdf = body.dataset.testKdf === "1"; // TEST-ONLY: rendered only when the server runs with the test flag
const KEYS_ITEM = "vault.wrapped-keys";
const RECOVERY = "@recovery"; // the organisation recovery key's place among the pinned keys
let catalog = {};

// ------------------------------------------------------------------ i18n

export async function loadCatalog() {
  try {
    const resp = await fetch(`/i18n/${encodeURIComponent(lang)}.json`, { credentials: "same-origin" });
    if (resp.ok) catalog = await resp.json();
  } catch {
    catalog = {};
  }
}

/** Translate an English message; {name} placeholders are filled from params. */
export function t(msgid, params = {}) {
  const text = catalog[msgid] || msgid;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** A plugin-supplied text (an exporter's label, target body…) in the page's language, else English. */
export function localized(obj, key) {
  const own = obj && obj.translations && obj.translations[lang];
  return (own && own[key]) || (obj && obj[key]) || "";
}

// Chromium ships no Kyrgyz date/number data: fall back to Russian forms (Cyrillic, familiar in Kyrgyzstan).
const LOCALES = lang === "ky" ? ["ky", "ru"] : [lang];

/** The label of a vocabulary code in the page's language (from the hidden selects the page renders). */
export function vocabLabel(name, code) {
  const opt = document.querySelector(`#vocab-${name} option[value="${CSS.escape(String(code))}"]`);
  return opt ? opt.textContent : code;
}

export function roleName(role) {
  return { lawyer: t("lawyer"), medic: t("medic"), admin: t("admin") }[role] || role;
}

export function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat(LOCALES, { dateStyle: "medium", timeStyle: "short" }).format(d);
  } catch {
    return d.toISOString();
  }
}

export function fmtBytes(n) {
  const units = [t("bytes"), t("KB"), t("MB"), t("GB")];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${new Intl.NumberFormat(LOCALES, { maximumFractionDigits: i ? 1 : 0 }).format(n)} ${units[i]}`;
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(LOCALES).format(n);
}

// ------------------------------------------------------------------ DOM

/** Make an element; children are nodes or strings (always text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export const $ = (sel) => document.querySelector(sel);

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

// Errors people see say what to do next, in their language.
const N_ = (msgid) => msgid; // marks a message for extraction; translated where shown
const ERRORS = {
  bad_credentials: N_("The name or password is wrong (or the code). Check them and try again."),
  totp_required: N_("Enter the 6-digit code from your authenticator app."),
  too_many_attempts: N_("Too many failed sign-ins for this name. Wait a few minutes and try again."),
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
};

export function errorText(err) {
  if (!err) return "";
  if (err.name === "UserError") return err.message; // already says what to do, translated
  if (err.name === "TrustError" && err.changed === RECOVERY) {
    return t("The organisation's recovery key changed. On your Account page, compare its new fingerprint with the paper recovery kit, and accept it there only if they match.");
  }
  if (err.name === "TrustError" && err.changed) {
    return t("{name}'s keys changed since you first saw them. Open the case page, compare the new fingerprint with them in person, and accept it there.", { name: err.changed });
  }
  const key = err.code || err.name;
  if (key && ERRORS[key]) return t(ERRORS[key]);
  if (err instanceof ApiFailure) return t("The server refused the request: {message}", { message: err.message });
  return t("Something went wrong: {message}. Reload the page and try again.", { message: err.message || String(err) });
}

// ------------------------------------------------------------------ API

export class ApiFailure extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** A message for the person at the keyboard, translated, saying what to do: shown as it is. */
export class UserError extends Error {
  constructor(message) {
    super(message);
    this.name = "UserError";
  }
}

export class TrustError extends Error {
  constructor(message) {
    super(message);
    this.name = "TrustError";
    this.code = "TrustError";
  }
}

/** Call /api/v1 with the session cookie and the CSRF token. */
export async function api(method, path, data, { headers = {}, raw = false } = {}) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken(), ...headers } };
  if (data !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(data);
  }
  let resp;
  try {
    resp = await fetch(path.startsWith("/web/") ? path : `/api/v1${path}`, init);
  } catch (exc) {
    throw new ApiFailure(0, "network", exc.message);
  }
  if (raw && resp.ok) return resp;
  let out = null;
  try {
    out = await resp.json();
  } catch {
    out = null;
  }
  if (!resp.ok) {
    const e = (out && out.error) || {};
    if (resp.status === 401 && me.username && (e.code === "session_expired" || e.code === "unauthenticated")) {
      endSession("expired");
    }
    throw new ApiFailure(resp.status, e.code || `http_${resp.status}`, e.message || resp.statusText, e);
  }
  return out;
}

// ------------------------------------------------------------------ keys

async function wrapKey() {
  const out = await api("GET", "/web/session/key");
  return vc.fromBase64(out.key);
}

function keysAd(username) {
  return vc.encodeUtf8(`vault-web-session-keys-v1|${username}`);
}

/** After sign-in: keep the private keys in sessionStorage, encrypted under the session's wrapping key. */
export async function storeSessionKeys(keys, username) {
  const k = await wrapKey();
  const raw = new Uint8Array(64);
  raw.set(keys.boxSecret, 0);
  raw.set(keys.signSeed, 32);
  try {
    sessionStorage.setItem(KEYS_ITEM, vc.toBase64(vc.aeadEncrypt(k, raw, keysAd(username))));
  } finally {
    vc.wipe(raw);
    vc.wipe(k);
  }
}

export function forgetSessionKeys() {
  sessionStorage.removeItem(KEYS_ITEM);
}

let keysPromise = null;

/** The user's private keys (UserKeys), unwrapped into this page's memory; asks for the password if needed. */
export function userKeys() {
  if (!keysPromise) keysPromise = loadKeys();
  return keysPromise;
}

async function loadKeys() {
  await vc.ready();
  const stored = sessionStorage.getItem(KEYS_ITEM);
  if (stored) {
    try {
      const k = await wrapKey();
      const raw = vc.aeadDecrypt(k, vc.fromBase64(stored), keysAd(me.username));
      vc.wipe(k);
      const keys = new vc.UserKeys(raw.slice(0, 32), raw.slice(32));
      vc.wipe(raw);
      return keys;
    } catch {
      forgetSessionKeys(); // another session's keys, or tampered: ask for the password
    }
  }
  return unlockWithPassword();
}

/** Argon2id in a Worker, so the page stays responsive. Returns {authKey, kek} (Uint8Array). */
export function deriveKeys(password, salt, params) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./kdf-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (ev) => {
      worker.terminate();
      if (ev.data.error) {
        const e = new Error(ev.data.error.message);
        e.name = ev.data.error.name;
        e.code = ev.data.error.name;
        reject(e);
      } else resolve(ev.data);
    };
    worker.onerror = (ev) => {
      worker.terminate();
      reject(new Error(ev.message || "worker failed"));
    };
    // NFC: the same password typed on another keyboard or OS (composed "ö" or "o" + combining
    // diaeresis) must give the same key; the Python client normalises the same way.
    worker.postMessage({ password: password.normalize("NFC"), salt, params, allowTestKdf });
  });
}

/** Whether a password's Argon2id parameters fall short of the vault's current ones (as the CLI decides). */
export function weakerKdf(params, current) {
  return (params.ops || 0) < current.ops || (params.mem || 0) < current.mem;
}

/**
 * Store the same private keys under a new password (or under stronger
 * parameters): a new salt, a new auth key, the keys re-encrypted, checked
 * here before anything is sent. currentAuthKey proves the old password.
 */
export async function setPassword(username, keys, currentAuthKey, newPassword, params, endOtherSessions) {
  const salt = vc.randomBytes(vc.SALT_BYTES);
  const next = await deriveKeys(newPassword, salt, params);
  try {
    const enc = vc.encryptUserKeys(next.kek, username, keys);
    const again = vc.decryptUserKeys(next.kek, username, enc); // never send a blob that would lock the account out
    const same = vc.toBase64(again.boxPublic) === vc.toBase64(keys.boxPublic) && vc.toBase64(again.signPublic) === vc.toBase64(keys.signPublic);
    again.wipe();
    if (!same) throw new TrustError("re-encrypting the private keys failed; the password was not changed");
    return await api("POST", "/me/password", {
      current_auth_key: vc.toBase64(currentAuthKey), kdf_salt: vc.toBase64(salt), kdf_params: params,
      auth_key: vc.toBase64(next.authKey), enc_private_keys: vc.toBase64(enc), end_other_sessions: endOtherSessions,
    });
  } finally {
    vc.wipe(next.kek);
    vc.wipe(next.authKey);
  }
}

function unlockWithPassword() {
  const panel = $("#unlock");
  const form = $("#unlock-form");
  panel.hidden = false;
  $("#unlock-password").focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async function onSubmit(ev) {
      ev.preventDefault();
      clearError();
      const progress = $("#unlock-progress");
      progress.hidden = false;
      status(t("Deriving your key from the password…"));
      try {
        const pre = await api("POST", "/auth/prelogin", { username: me.username });
        const mine = await api("GET", "/me");
        const { kek } = await deriveKeys($("#unlock-password").value, vc.fromBase64(pre.salt), pre.kdf);
        const keys = vc.decryptUserKeys(kek, mine.username, vc.fromBase64(mine.enc_private_keys));
        vc.wipe(kek);
        if (vc.toBase64(keys.boxPublic) !== mine.box_public || vc.toBase64(keys.signPublic) !== mine.sign_public) {
          throw new TrustError("the server returned public keys that do not match your private keys");
        }
        await storeSessionKeys(keys, mine.username);
        $("#unlock-password").value = "";
        panel.hidden = true;
        status("");
        form.removeEventListener("submit", onSubmit);
        resolve(keys);
      } catch (err) {
        status("");
        showError(err.code === "DecryptionError" ? { code: "bad_credentials" } : err);
      } finally {
        progress.hidden = true;
      }
    });
  });
}

// ------------------------------------------------------------------ pinning (trust on first use)

function pinsKey() {
  return `vault.pins.${me.username}`;
}

function loadPins() {
  try {
    return JSON.parse(localStorage.getItem(pinsKey()) || "{}");
  } catch {
    return {};
  }
}

/** Pin a user's public keys on first sight; refuse a silently changed key (like the CLI). */
export function pin(user, { acceptChange = false } = {}) {
  const pins = loadPins();
  const old = pins[user.username];
  const now = { box: user.box_public, sign: user.sign_public };
  if (keyChange(user)) {
    if (!acceptChange) {
      const err = new TrustError(`${user.username}'s keys changed since they were pinned`);
      err.changed = user.username;
      throw err;
    }
    // Evidence signed before the change still verifies under the key that was accepted then.
    now.previous = [...new Set([...(old.previous || []), old.sign])].filter((k) => k && k !== now.sign);
  } else if (old && old.previous) {
    now.previous = old.previous;
  }
  pins[user.username] = now;
  localStorage.setItem(pinsKey(), JSON.stringify(pins));
  return user;
}

/** The fingerprint of public keys given in base64, computed here (never the server's word for it). */
export function fingerprintOf(boxPublic, signPublic) {
  return vc.fingerprint(vc.fromBase64(boxPublic), vc.fromBase64(signPublic));
}

/** If user's keys differ from the ones pinned: {old, now} fingerprints to compare; else null. */
export function keyChange(user) {
  const old = loadPins()[user.username];
  if (!old || (old.box === user.box_public && old.sign === user.sign_public)) return null;
  const fp = (k) => (k.sign ? fingerprintOf(k.box, k.sign) : k.box ? vc.recoveryFingerprint(vc.fromBase64(k.box)) : "");
  return { old: fp(old), now: fp({ box: user.box_public, sign: user.sign_public }) };
}

/** Ed25519 key (base64) → user name, for every key accepted: current ones and those replaced since. */
export function pinnedSignKeys() {
  const out = {};
  for (const [name, p] of Object.entries(loadPins())) for (const k of p.previous || []) out[k] = name;
  for (const [name, p] of Object.entries(loadPins())) out[p.sign] = name;
  return out;
}

let recoveryCache = null;

/** The organisation recovery key as the server gives it now, in the shape pin() takes. */
export async function recoveryKey() {
  const p = await api("GET", "/auth/params");
  return { username: RECOVERY, box_public: p.recovery_public, sign_public: "" };
}

export async function recoveryPublic() {
  if (!recoveryCache) {
    const key = pin(await recoveryKey()); // refuses a changed key until the user accepts it (account page)
    recoveryCache = vc.fromBase64(key.box_public);
  }
  return recoveryCache;
}

// ------------------------------------------------------------------ cases (as vault/client/session.py)

/** Open my sealed copies of a case's keys and check each signed commitment. Returns Map version → key. */
export async function caseKeys(kase) {
  const keys = await userKeys();
  for (const m of kase.members) pin(m);
  const pinned = pinnedSignKeys();
  const versions = new Map(kase.key_versions.map((kv) => [kv.version, kv]));
  const out = new Map();
  for (const [v, sealed] of Object.entries(kase.my_keys)) {
    const kv = versions.get(Number(v));
    if (!kv) throw new TrustError(`key version ${v} has no commitment`);
    const key = keys.openSealed(vc.fromBase64(sealed));
    if (vc.caseKeyCheck(key) !== kv.check) throw new TrustError(`case key version ${v} does not match its commitment`);
    if (!(kv.signer_public in pinned)) throw new TrustError(`case key version ${v} was made by a key you have not pinned`);
    vc.verify(vc.fromBase64(kv.signer_public), vc.caseKeyMessage(kase.id, Number(v), kv.check), vc.fromBase64(kv.signature));
    out.set(Number(v), key);
  }
  return out;
}

/** A fresh case key version sealed to the members and the recovery key, with its signed commitment. */
export async function newKeyVersion(caseId, version, members) {
  const keys = await userKeys();
  const caseKey = vc.randomKey();
  const check = vc.caseKeyCheck(caseKey);
  const sealed = { recovery: vc.toBase64(vc.seal(await recoveryPublic(), caseKey)) };
  for (const m of members) {
    pin(m);
    sealed[`user:${m.id}`] = vc.toBase64(vc.seal(vc.fromBase64(m.box_public), caseKey));
  }
  const signature = vc.toBase64(keys.sign(vc.caseKeyMessage(caseId, version, check)));
  return { caseKey, body: { version, check, signature, sealed } };
}

// ------------------------------------------------------------------ session end, lock

export function endSession(reason = "") {
  forgetSessionKeys();
  const form = $("#logout-form");
  if (form) {
    form.querySelector('input[name="reason"]').value = reason;
    form.submit(); // a navigation: the whole page memory (keys, heap) is discarded
  } else {
    location.assign("/login");
  }
}

function lockNow() {
  forgetSessionKeys();
  location.reload(); // memory wiped; the reloaded page asks for the password
}

function startInactivityLock() {
  const minutes = Number(body.dataset.lockMinutes || "10");
  let timer = null;
  const reset = () => {
    clearTimeout(timer);
    timer = setTimeout(() => endSession("locked"), minutes * 60 * 1000);
  };
  for (const ev of ["pointerdown", "keydown", "scroll", "touchstart"]) addEventListener(ev, reset, { passive: true });
  reset();
}

export function busy(flag) {
  document.querySelectorAll("[data-busy-disable]").forEach((b) => (b.disabled = flag));
}

/** Start a page: translations, crypto, session controls. */
export async function boot() {
  // Before the first await: a choice made while the catalog loads must not be lost.
  const sel = $("#language-select");
  if (sel) sel.addEventListener("change", () => sel.form.requestSubmit());
  await loadCatalog();
  const lockButton = $("#lock-button");
  if (lockButton) lockButton.addEventListener("click", lockNow);
  const logout = $("#logout-form");
  if (logout) logout.addEventListener("submit", () => forgetSessionKeys());
  if (me.username) startInactivityLock();
  try {
    await vc.ready();
  } catch (err) {
    showError(err);
    throw err;
  }
  // Forms are handled by the page scripts, never submitted natively (a password must never end up
  // in a URL): their buttons start disabled and are enabled once the page script, which continues
  // right after boot() resolves, has attached its handlers.
  setTimeout(() => document.querySelectorAll("[data-js-enable]").forEach((b) => (b.disabled = false)), 0);
}

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
