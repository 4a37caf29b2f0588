// A browser export, end to end (docs/exports.md "The browser"): the chosen items are verified and
// decrypted here, the server renders them in memory and returns the unsigned bundle with the exact
// annex.json bytes, and this page signs those bytes with the user's Ed25519 key — the same
// signature vault/client/export.py puts in custody/annex.sig — before the server attaches it.
import { api, postForm } from "./api.js";
import * as vc from "./crypto.js";
import { TrustError } from "./errors.js";
import { decryptContent, fetchVerified } from "./evidence.js";
import { t } from "./i18n.js";
import { userKeys } from "./keys.js";

/** One chosen item, verified: what fetchVerified gives, plus its signed manifest bytes for the server. */
export async function prepareItem(itemId) {
  const v = await fetchVerified(itemId);
  const { item, itemKey } = v;
  const { body, signature } = vc.openManifest(itemKey, vc.fromBase64(item.sealed_manifest), item.case_id, item.id,
    vc.fromBase64(item.uploader.sign_public));
  return { ...v, spec: { item_id: item.id, manifest_b64: vc.toBase64(body), signature_b64: vc.toBase64(signature) } };
}

/** The export description of /exports/validate and of the "export" part of /exports. */
export function description(exporter, record, options, prepared) {
  return { exporter, case_record: record, options, items: prepared.map((p) => p.spec) };
}

export function validate(caseId, desc) {
  return api("POST", `/cases/${caseId}/exports/validate`, desc);
}

/** Decrypt every chosen item (each checked against its signed manifest); progress over all bytes. */
export async function decryptAll(prepared, onProgress) {
  const total = prepared.reduce((n, p) => n + p.item.blob_size, 0);
  const out = [];
  let before = 0;
  for (const [i, p] of prepared.entries()) {
    out.push(await decryptContent(p.item, p.manifest, p.itemKey, (got) => onProgress(before + got, total, i + 1)));
    before += p.item.blob_size;
  }
  return out;
}

/**
 * POST the description and the plaintexts as multipart, parts in the order the server reads them.
 * With upload progress (postForm is XHR, not fetch): a lawyer on a slow link needs to see the upload move.
 */
export function render(caseId, desc, blobs, onSent) {
  const fd = new FormData();
  fd.append("export", new Blob([JSON.stringify(desc)], { type: "application/json" }));
  // FormData names each file "blob": the original names never travel in a part header.
  desc.items.forEach((it, i) => fd.append(`item:${it.item_id}`, blobs[i]));
  return postForm(`/cases/${caseId}/exports`, fd, onSent);
}

/** Refuse to sign an annex that is not about exactly what was chosen, for this signer. */
export function checkAnnex(annexBytes, desc, prepared, keys) {
  let annex;
  try {
    annex = JSON.parse(vc.decodeUtf8(annexBytes));
  } catch {
    annex = null;
  }
  const refuse = () => new TrustError(t("The server's custody annex does not describe exactly the files you chose. Nothing was signed. Try again, and tell your admin if it happens again."));
  if (!annex || !annex.signer || !annex.exporter || !Array.isArray(annex.items) || !Array.isArray(annex.files)) throw refuse();
  if (annex.signer.sign_public !== vc.toBase64(keys.signPublic) || annex.exporter.name !== desc.exporter) throw refuse();
  const files = new Map(annex.files.map((f) => [f.path, f]));
  if (annex.items.length !== desc.items.length) throw refuse();
  annex.items.forEach((entry, i) => {
    const want = desc.items[i];
    const m = prepared[i].manifest;
    // An anonymous bundle lists an item by the hash of its manifest (which holds the original name),
    // not by the manifest itself; a forensic report travels rendered (PDF, DOCX), not as its JSON.
    const manifestOk = entry.manifest_withheld === true
      ? entry.manifest === undefined && entry.manifest_sha256 === vc.sha256Hex(vc.fromBase64(want.manifest_b64))
      : entry.manifest === want.manifest_b64;
    const rendered = Array.isArray(entry.rendered) ? entry.rendered : null;
    const fileOk = rendered
      ? rendered.length > 0 && rendered.every((path) => files.has(path)) && entry.sha256 === m.sha256 && entry.size === m.size
      : Boolean(files.get(entry.path)) && files.get(entry.path).sha256 === m.sha256 && files.get(entry.path).size === m.size;
    if (entry.item_id !== want.item_id || !manifestOk || entry.signature !== want.signature_b64 || !fileOk) throw refuse();
  });
  return annex;
}

/** Sign the annex bytes (Ed25519, detached) and have the server attach the signature: the final ZIP. */
export async function sign(caseId, rendered, desc, prepared) {
  const keys = await userKeys();
  const annexBytes = vc.fromBase64(rendered.annex_b64);
  if (vc.sha256Hex(annexBytes) !== rendered.annex_sha256) throw new vc.IntegrityError("annex_sha256 differs");
  checkAnnex(annexBytes, desc, prepared, keys);
  const signature = keys.sign(annexBytes);
  const resp = await api("POST", `/cases/${caseId}/exports/sign`,
    { bundle_b64: rendered.bundle_b64, signature_b64: vc.toBase64(signature) }, { raw: true });
  const bytes = new Uint8Array(await resp.arrayBuffer());
  return { blob: new Blob([bytes], { type: "application/zip" }), sha256: vc.sha256Hex(bytes), size: bytes.length,
    fingerprint: vc.fingerprint(keys.boxPublic, keys.signPublic) };
}
