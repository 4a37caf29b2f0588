// The device's own copy of a user's keys, for the field app (issue #15): what lets a lawyer
// open her keys with no connection. Opt-in, at the field app's sign-in ("keep this device ready").
//
// A copy holds exactly what the server holds for her, and no more: the Argon2id salt and
// parameters of her password and her private keys encrypted under the key derived from it
// (crypto.js encryptUserKeys). It is never stored unwrapped. Her profile (user name and id, role,
// language, public keys, the cases she may capture into) is one crypto_box_seal to her own key,
// so the record names nobody in the clear: its key is a random slot id. Unlocking tries the
// password on each copy of this browser; the user name is bound into the encryption, so a copy
// opens only with her name and her password.
import * as vc from "./crypto.js";
import { objectStore } from "./idb.js";
import { deriveKeys } from "./keys.js";

const DB_NAME = "vault-field";
const STORE = "copies";
const FORMAT = 1;

const store = objectStore(DB_NAME, STORE, (db) => db.createObjectStore(STORE, { keyPath: "slot" }));
const { run } = store;

/** Let go of the database (the quick wipe is about to delete it). */
export const closeDeviceCopies = () => store.close();

export async function deviceCopies() {
  return (await run("readonly", (s) => s.getAll())) || [];
}

function openProfile(keys, record) {
  try {
    const plain = keys.openSealed(record.profile);
    const profile = JSON.parse(vc.decodeUtf8(plain));
    vc.wipe(plain);
    return profile.format === FORMAT ? profile : null;
  } catch {
    return null;
  }
}

/**
 * Keep (or refresh) the copy of an unlocked user's keys. `server` is what the server answered
 * ({salt, kdf} of prelogin, enc_private_keys), `keys` the UserKeys the caller opened from that very
 * blob with the password: a copy that would not open again is never stored. Resolves to its slot id.
 */
export async function keepDeviceCopy(keys, server, profile) {
  const existing = (await deviceCopies()).find((r) => {
    const p = openProfile(keys, r);
    return p && p.user_id === profile.user_id;
  });
  const sealed = vc.seal(keys.boxPublic, vc.encodeUtf8(JSON.stringify({ format: FORMAT, ...profile })));
  const record = { slot: existing ? existing.slot : vc.toHex(vc.randomBytes(16)), format: FORMAT,
    salt: server.salt, kdf: server.kdf, enc_private_keys: server.enc_private_keys, profile: sealed, saved_at: Date.now() };
  await run("readwrite", (s) => s.put(record));
  return record.slot;
}

/** Refresh only the sealed profile (the case list) of a copy that opened. */
export async function refreshProfile(keys, slot, profile) {
  const records = await deviceCopies();
  const record = records.find((r) => r.slot === slot);
  if (!record) return;
  record.profile = vc.seal(keys.boxPublic, vc.encodeUtf8(JSON.stringify({ format: FORMAT, ...profile })));
  await run("readwrite", (s) => s.put(record));
}

/**
 * Open this browser's copy of `username`'s keys with `password`: {keys, authKey, kek, profile, slot, salt, kdf},
 * or null when no copy opens with them. Each copy with its own salt costs one Argon2id run.
 */
export async function openDeviceCopy(username, password) {
  for (const record of await deviceCopies()) {
    let derived;
    try {
      derived = await deriveKeys(password, vc.fromBase64(record.salt), record.kdf);
    } catch (err) {
      if (err.name === "WeakKdfParameters") continue; // a copy made under parameters this page refuses
      throw err;
    }
    let keys;
    try {
      keys = vc.decryptUserKeys(derived.kek, username, vc.fromBase64(record.enc_private_keys));
    } catch {
      vc.wipe(derived.kek);
      vc.wipe(derived.authKey);
      continue;
    }
    const profile = openProfile(keys, record);
    if (profile && profile.username === username && profile.box_public === vc.toBase64(keys.boxPublic)
        && profile.sign_public === vc.toBase64(keys.signPublic)) {
      return { keys, authKey: derived.authKey, kek: derived.kek, profile, slot: record.slot, salt: record.salt, kdf: record.kdf };
    }
    keys.wipe();
    vc.wipe(derived.kek);
    vc.wipe(derived.authKey);
  }
  return null;
}

/** Remove the copy (the user unticked "keep this device ready"). */
export async function dropDeviceCopy(slot) {
  await run("readwrite", (s) => s.delete(slot));
}
