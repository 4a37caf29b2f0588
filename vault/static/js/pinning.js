// Colleagues' public keys pinned on first sight (trust on first use, like the CLI), in
// localStorage per signed-in user: a key that changes later is refused until the person
// compares fingerprints and accepts it. The organisation recovery key is pinned the same way.
import { api } from "./api.js";
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { TrustError } from "./errors.js";

/** The organisation recovery key's place among the pinned keys (no user name starts with "@"). */
export const RECOVERY = "@recovery";

function pinsKey(username = me.username) {
  return `vault.pins.${username}`;
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

/** At registration (no session yet): the new user's own keys and the recovery key are the first pins. */
export function pinFirstKeys(username, user, recoveryPublic) {
  const pins = { [username]: { box: user.box_public, sign: user.sign_public },
    [RECOVERY]: { box: recoveryPublic, sign: "" } };
  localStorage.setItem(pinsKey(username), JSON.stringify(pins));
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
