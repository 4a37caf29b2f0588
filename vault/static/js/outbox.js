// The field app's outbox (issue #15): evidence captured on this device, waiting to be sent.
// One IndexedDB record per item. Nothing of the evidence is ever stored in the clear.
//
// In the clear: the item's random id, the user id (the server knows it), the state (waiting,
// sending, failed), the ciphertext's size and when it was stored. Nothing else.
//
// Sealed (crypto_box_seal to the user's own X25519 key): the item's content key, the case it
// goes to and the case's name, the kind, the file name and media type, the title, the device
// time, and the signed capture statement with its location. It opens only with the private key,
// which exists only while the user has unlocked the page.
//
// The content: XChaCha20-Poly1305 under that content key, with the item id as associated data
// (one record's bytes cannot be passed off as another's). Captures are photos, audio clips and
// notes: a few MB each, encrypted in one piece. The upload re-encrypts them under a fresh item key
// for the case, as any upload (fieldsend.js).
import * as vc from "./crypto.js";
import { objectStore } from "./idb.js";

const DB_NAME = "vault-outbox";
const STORE = "items";
export const OUTBOX_FORMAT = 1;
export const MAX_CAPTURE_BYTES = 64 * 1024 * 1024; // in memory whole, on a phone: an hour of audio is ~15 MB

const store = objectStore(DB_NAME, STORE, (db) => db.createObjectStore(STORE, { keyPath: "id" }));
const { run } = store;

/** Let go of the database (the quick wipe is about to delete it). */
export const closeOutbox = () => store.close();

const contentAd = (id) => vc.encodeUtf8(`vault-outbox-v1|${id}`);

/**
 * Keep a captured item: `header` (a plain object) sealed to the user, `bytes` (Uint8Array)
 * encrypted. Durable once the promise resolves. The caller wipes `bytes`.
 */
export async function keepCapture(keys, userId, id, header, bytes) {
  if (bytes.length > MAX_CAPTURE_BYTES) throw new RangeError("capture too large");
  const key = vc.randomKey();
  const plainHeader = vc.encodeUtf8(JSON.stringify({ format: OUTBOX_FORMAT, id, key: vc.toBase64(key), ...header }));
  try {
    const data = vc.aeadEncrypt(key, bytes, contentAd(id));
    const record = { id, user_id: userId, state: "waiting", size: data.length, saved_at: Date.now(),
      sealed: vc.seal(keys.boxPublic, plainHeader), data: new Blob([data]) };
    await run("readwrite", (s) => s.add(record));
  } finally {
    vc.wipe(key);
    vc.wipe(plainHeader);
  }
}

/** Every record, still sealed, oldest first: what the list shows before the keys are open. */
export async function outboxRecords() {
  const all = (await run("readonly", (s) => s.getAll())) || [];
  return all.sort((a, b) => a.saved_at - b.saved_at);
}

/** A record's sealed header, or null when it is not this user's (another key), damaged or of another format. */
export function openHeader(keys, record) {
  try {
    const plain = keys.openSealed(record.sealed);
    const header = JSON.parse(vc.decodeUtf8(plain));
    vc.wipe(plain);
    return header.format === OUTBOX_FORMAT && header.id === record.id ? header : null;
  } catch {
    return null;
  }
}

/** The captured bytes of a record whose header opened (Uint8Array: wipe it after use). */
export async function openContent(header, record) {
  const key = vc.fromBase64(header.key);
  try {
    return vc.aeadDecrypt(key, new Uint8Array(await record.data.arrayBuffer()), contentAd(record.id));
  } finally {
    vc.wipe(key);
  }
}

/** Seal a changed header into its record (the sender notes the server's item id in it before sending). */
export async function resealHeader(keys, id, header) {
  const plain = vc.encodeUtf8(JSON.stringify(header));
  try {
    const sealed = vc.seal(keys.boxPublic, plain);
    await store.update(id, (r) => ({ ...r, sealed }));
  } finally {
    vc.wipe(plain);
  }
}

/** Change a record's clear state ("waiting", "sending", "failed") and, for a failure, its error code. */
export async function setState(id, state, error = null) {
  await store.update(id, (r) => ({ ...r, state, error }));
}

/** Remove a record: the item is on the server (or the user discarded it). */
export async function dropCapture(id) {
  await run("readwrite", (s) => s.delete(id));
}
