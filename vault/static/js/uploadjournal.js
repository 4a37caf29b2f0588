// Uploads that outlive the page: one IndexedDB record per unfinished upload,
// the browser twin of vault/client/resume.py. A reload, a closed tab or a
// phone that kills the page loses nothing the server acknowledged: the case
// page lists the unfinished uploads, the user picks the same file again, and
// the upload goes on from the server's offset (upload-core.js).
//
// What a record holds in the clear: the upload id, the case id and the user id
// (all three the server knows anyway) and when it was written. Everything
// else — the item key, the stream's state at the last acknowledged request,
// the file's name, size and modification time, the searchable metadata and
// the sealed fields (victim, statement, description) — is one crypto_box_seal
// to the user's own X25519 public key: it opens only with the private key,
// which exists only while the user is signed in and unlocked. Nothing sealed
// is ever stored in the clear.
import * as vc from "./crypto.js";
import { objectStore } from "./idb.js";

const DB_NAME = "vault-uploads";
const STORE = "journal";
export const JOURNAL_FORMAT = 1;

const { run } = objectStore(DB_NAME, STORE, (db) => {
  const store = db.createObjectStore(STORE, { keyPath: "upload_id" });
  store.createIndex("by_case", ["user_id", "case_id"]);
});

/** Bytes ↔ base64 inside the sealed JSON. */
export const b64 = { enc: (u8) => vc.toBase64(u8), dec: (s) => vc.fromBase64(s) };

/**
 * Write (or overwrite) the journal of an upload: `data` is sealed whole to `keys.boxPublic`.
 * Durable once the promise resolves (the transaction has committed).
 */
export async function saveJournal(keys, userId, data) {
  const plain = vc.encodeUtf8(JSON.stringify({ format: JOURNAL_FORMAT, ...data }));
  const sealed = vc.seal(keys.boxPublic, plain);
  vc.wipe(plain);
  const record = { upload_id: data.upload_id, user_id: userId, case_id: data.case_id, sealed, saved_at: Date.now() };
  await run("readwrite", (store) => store.put(record));
}

/** The records of this user's journals for a case, still sealed. */
export async function journalsOf(userId, caseId) {
  return (await run("readonly", (store) => store.index("by_case").getAll([userId, caseId]))) || [];
}

/** Open a record; null when it is not this user's (another key), damaged, or of another format. */
export function openJournal(keys, record) {
  try {
    const plain = keys.openSealed(record.sealed);
    const data = JSON.parse(vc.decodeUtf8(plain));
    vc.wipe(plain);
    if (data.format !== JOURNAL_FORMAT || data.upload_id !== record.upload_id || data.case_id !== record.case_id) return null;
    return data;
  } catch {
    return null; // never trusted: sealed under another key, or not ours
  }
}

export async function dropJournal(uploadId) {
  await run("readwrite", (store) => store.delete(uploadId));
}
