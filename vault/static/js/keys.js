// The user's private keys in the browser: derived from the password (Argon2id in kdf-worker.js),
// kept for the tab in sessionStorage encrypted under the session's wrapping key (which only the
// server holds, so a copied sessionStorage is useless), unlocked again with the password when
// needed, and re-encrypted when the password changes.
import { api } from "./api.js";
import { allowTestKdf, me, workerUrl } from "./context.js";
import * as vc from "./crypto.js";
import { $ } from "./dom.js";
import { TrustError } from "./errors.js";
import { clearError, showError, status } from "./feedback.js";
import { t } from "./i18n.js";
import { forgetSessionKeys, KEYS_ITEM } from "./session.js";

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

/**
 * Refuse private keys whose public halves are not the ones the server lists for the user (`user`:
 * box_public, sign_public in base64): a server must not have a page sign or seal with keys it chose.
 */
export function checkOwnPublicKeys(keys, user) {
  if (vc.toBase64(keys.boxPublic) !== user.box_public || vc.toBase64(keys.signPublic) !== user.sign_public) {
    throw new TrustError(t("The vault answered with public keys that are not the ones your password opens. Nothing was kept; tell your admin."), { translated: true });
  }
}

/** Argon2id in a Worker, so the page stays responsive. Returns {authKey, kek} (Uint8Array). */
export function deriveKeys(password, salt, params) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl("kdf-worker.js"), { type: "module" });
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

/**
 * The proof of the current password (its auth key, Uint8Array) that changes a session alone may not
 * make need: a new password, the second factor on or off. Wipe it after use.
 */
export async function passwordProof(password) {
  const pre = await api("POST", "/auth/prelogin", { username: me.username });
  const { authKey, kek } = await deriveKeys(password, vc.fromBase64(pre.salt), pre.kdf);
  vc.wipe(kek);
  return authKey;
}

/** A sign-in or password-proof refusal the person can act on, worded with the wait the server asks for. */
export function refusalText(err) {
  const wait = (err.extra && err.extra.retry_after) || 30;
  if (err.code === "too_many_attempts") return t("Too many failed attempts from this address or for this name. Wait {n} seconds and try again.", { n: wait });
  if (err.code === "busy") return t("The server is busy with other sign-ins. Wait {n} seconds and try again.", { n: wait });
  if (err.code === "wrong_password") return t("The current password is wrong. Type it again; after several failures you have to wait before the next try.");
  return null;
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
        checkOwnPublicKeys(keys, mine);
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
