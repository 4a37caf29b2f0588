// Fetch, verify and decrypt one evidence item in the browser (as vault/client/transfer.py).
import { api } from "./api.js";
import { caseKeys } from "./casekeys.js";
import * as vc from "./crypto.js";
import { TrustError } from "./errors.js";
import { t } from "./i18n.js";
import { trustUser } from "./pinning.js";

/**
 * The uploader's signing key must be one the case's signed chain recorded for them (a member,
 * now or before), or their current keys must be certified (or compared in person).
 */
async function checkUploader(up, state) {
  if ((state.signKeys.get(up.id) || new Set()).has(up.sign_public)) return;
  const user = await api("GET", `/users/${encodeURIComponent(up.username)}`);
  if (user.id !== up.id || user.sign_public !== up.sign_public) {
    throw new TrustError(t("This item is signed with a key that neither the case's signed history nor a certificate ties to {name}. Do not rely on it; tell your admin.", { name: up.username }), { translated: true });
  }
  trustUser(user);
}

/** As vault/client/transfer.py fetch_item: every check before anything is shown. */
export async function fetchVerified(itemId) {
  const item = await api("GET", `/items/${itemId}`);
  const kase = await api("GET", `/cases/${item.case_id}`);
  const { state, keys } = await caseKeys(kase);
  const caseKey = keys.get(item.key_version);
  if (!caseKey) throw new TrustError(t("You have no key for this item's key version. Ask a member to add you again."), { translated: true });
  const up = item.uploader;
  await checkUploader(up, state);
  const signer = vc.fromBase64(up.sign_public);
  const sealedManifest = vc.fromBase64(item.sealed_manifest);
  vc.verify(signer, vc.receiptMessage(item.id, item.case_id, item.key_version, item.blob_sha256,
    vc.sha256Hex(sealedManifest)), vc.fromBase64(item.receipt_signature));
  const itemKey = vc.unwrapItemKey(caseKey, vc.fromBase64(item.wrapped_key), item.case_id, item.id, item.key_version);
  const { manifest } = vc.openManifest(itemKey, sealedManifest, item.case_id, item.id, signer);
  let sealed = {};
  if (manifest.sealed_sha256) {
    if (!item.sealed_fields) throw new vc.IntegrityError("the sealed fields named by the manifest are missing");
    sealed = vc.openFields(itemKey, vc.fromBase64(item.sealed_fields), item.case_id, item.id, manifest.sealed_sha256);
  }
  return { item, kase, manifest, sealed, itemKey };
}

const FOLD_BYTES = 8 * 1024 * 1024;

/**
 * The plaintext of an item, chunk by chunk as its ciphertext downloads (memory flat in the size).
 * The checks (ciphertext hash against the signed receipt, plaintext hash and size against the
 * manifest) come after the last chunk: a consumer must let nothing out before the generator ended
 * without throwing (the export ZIP is deleted when it throws).
 */
export async function* plaintextChunks(item, manifest, itemKey, onProgress = () => {}) {
  const resp = await api("GET", `/items/${item.id}/content`, undefined, { raw: true });
  const reader = resp.body.getReader();
  const ct = new vc.Sha256();
  const dec = new vc.StreamDecryptor(itemKey);
  let got = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      ct.update(value);
      got += value.length;
      const plain = dec.feed(value);
      onProgress(got, item.blob_size);
      if (plain.length) yield plain;
    }
    const last = dec.finish();
    if (ct.hexdigest() !== item.blob_sha256) throw new vc.IntegrityError("ciphertext hash differs from the signed receipt");
    if (dec.plaintextSha256 !== manifest.sha256 || dec.plaintextSize !== manifest.size) {
      throw new vc.IntegrityError("the decrypted file does not match the uploader's signed manifest");
    }
    if (last.length) yield last;
  } finally {
    dec.destroy();
    reader.cancel().catch(() => {});
  }
}

/** Download the ciphertext, hash it, decrypt it; the plaintext counts only after every check passed. */
export async function decryptContent(item, manifest, itemKey, onProgress = () => {}) {
  // Plaintext goes into a Blob every FOLD_BYTES: the page then holds at most
  // that much itself, and Chromium's blob storage (which moves large blobs
  // out of the page's memory) holds the rest, so a long video does not crash
  // the tab on a phone. Nobody gets a URL to it before every check passed.
  let blob = new Blob([]);
  let parts = [];
  let pending = 0;
  for await (const plain of plaintextChunks(item, manifest, itemKey, onProgress)) {
    parts.push(plain);
    pending += plain.length;
    if (pending >= FOLD_BYTES) {
      blob = new Blob([blob, ...parts]);
      parts = [];
      pending = 0;
    }
  }
  blob = new Blob([blob, ...parts]);
  return blob.slice(0, blob.size, "application/octet-stream");
}
