// A browser export, end to end (docs/exports.md "The browser"): the chosen items are verified here;
// the server gets the case record and the plaintext of the few items the documents and the leak
// scan read (its /validate names them: forensic reports, and texts of an anonymous bundle) and
// answers every entry of the bundle — rendered documents, the annex to sign, and for each other
// attachment its neutral name, hash and size. This page checks all of it, signs the annex with the
// user's Ed25519 key (custody/annex.sig, as vault/client/export.py signs it), and writes the ZIP
// itself, each attachment decrypted chunk by chunk into it and onto the disk (exportzip.js); then
// the server records the export, as it records the Python client's.
import { api, postForm } from "./api.js";
import * as vc from "./crypto.js";
import { TrustError } from "./errors.js";
import { decryptContent, fetchVerified, plaintextChunks } from "./evidence.js";
import { writeZip, zipSize } from "./exportzip.js";
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
  return { exporter, case_record: record, options, items: prepared.map((p) => p.spec), zip_in_browser: true };
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
 * POST the description and the plaintexts the server reads (`sent`: [{item_id, blob}], in the order
 * of the description) as multipart. With upload progress (postForm is XHR, not fetch): a lawyer on a
 * slow link needs to see the upload move.
 */
export function render(caseId, desc, sent, onSent) {
  const fd = new FormData();
  fd.append("export", new Blob([JSON.stringify(desc)], { type: "application/json" }));
  // FormData names each file "blob": the original names never travel in a part header.
  for (const { item_id: id, blob } of sent) fd.append(`item:${id}`, blob);
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

// The only names the browser writes: the server's (its bundle_names, checked by its leak scan).
const ENTRY_PATH = /^(?:attachments\/)?[^/\\\x00-\x1f]+$|^custody\/annex\.(?:json|html)$/;

/**
 * Refuse to write entries that are not exactly the annex's files and the annex: each rendered entry
 * hashing to what the annex says, each attachment one of the chosen items (not one the server read),
 * with its signed manifest's hash and size, under a name the annex lists.
 */
export function checkEntries(rendered, annex, prepared) {
  const refuse = () => new TrustError(t("The server's custody annex does not describe exactly the files you chose. Nothing was signed. Try again, and tell your admin if it happens again."));
  const files = new Map(annex.files.map((f) => [f.path, f]));
  const byId = new Map(prepared.map((p) => [p.item.id, p]));
  const serverRead = new Set(rendered.server_read || []);
  const paths = new Set();
  const written = new Set();
  for (const e of rendered.entries || []) {
    const path = e.path;
    if (typeof path !== "string" || !ENTRY_PATH.test(path) || path.split("/").some((p) => p === "." || p === "..") || paths.has(path)) throw refuse();
    paths.add(path);
    if (path === rendered.annex_path) {
      if (e.data_b64 !== rendered.annex_b64) throw refuse();
      continue;
    }
    const f = files.get(path);
    if (!f || f.sha256 !== e.sha256 || f.size !== e.size) throw refuse();
    if (e.item_id !== undefined) {
      const p = byId.get(e.item_id);
      if (!p || serverRead.has(e.item_id) || written.has(e.item_id) || p.manifest.sha256 !== e.sha256 || p.manifest.size !== e.size) throw refuse();
      written.add(e.item_id);
    } else if (typeof e.data_b64 !== "string" || vc.sha256Hex(vc.fromBase64(e.data_b64)) !== e.sha256) {
      throw refuse();
    }
  }
  if (!paths.has(rendered.annex_path) || paths.size !== files.size + 1 || paths.has(rendered.signature_path)) throw refuse();
  for (const p of prepared) if (!serverRead.has(p.item.id) && !written.has(p.item.id)) throw refuse();
}

/** The entries as client-zip takes them: an attachment decrypted as it is written, the rest as sent. */
async function* zipEntries(rendered, prepared, when, signatureLine) {
  const byId = new Map(prepared.map((p) => [p.item.id, p]));
  for (const e of rendered.entries) {
    if (e.item_id === undefined) {
      yield { name: e.path, size: e.size, lastModified: when, input: vc.fromBase64(e.data_b64) };
    } else {
      const p = byId.get(e.item_id);
      yield { name: e.path, size: e.size, lastModified: when, input: plaintextChunks(p.item, p.manifest, p.itemKey) };
    }
  }
  yield { name: rendered.signature_path, size: signatureLine.length, lastModified: when, input: signatureLine };
}

const SIGNATURE_LINE = 89; // custody/annex.sig: the base64 of 64 bytes, and a newline

/** What the ZIP of `rendered` will take on the disk (exact: client-zip's own prediction). */
export function bundleSize(rendered) {
  return zipSize([...rendered.entries.map((e) => ({ name: e.path, size: e.size })),
    { name: rendered.signature_path, size: SIGNATURE_LINE }]);
}

/**
 * Check the entries and the annex, sign the annex, write the ZIP onto the disk and have the server
 * record the export. `onWritten(done, total)` reports the bytes written. Returns what to offer.
 */
export async function writeSigned(caseId, rendered, desc, prepared, onWritten) {
  const keys = await userKeys();
  const annexBytes = vc.fromBase64(rendered.annex_b64);
  if (vc.sha256Hex(annexBytes) !== rendered.annex_sha256) throw new vc.IntegrityError("annex_sha256 differs");
  const annex = checkAnnex(annexBytes, desc, prepared, keys);
  checkEntries(rendered, annex, prepared);
  const signature = keys.sign(annexBytes);
  const line = vc.encodeUtf8(`${vc.toBase64(signature)}\n`);
  const total = bundleSize(rendered);
  const hash = new vc.Sha256();
  let done = 0;
  const when = new Date(annex.created_at);
  if (line.length !== SIGNATURE_LINE) throw new vc.IntegrityError("unexpected signature length");
  const { file, remove } = await writeZip(zipEntries(rendered, prepared, when, line), (chunk) => {
    hash.update(chunk);
    done += chunk.length;
    onWritten(done, total);
  });
  const sha256 = hash.hexdigest();
  try {
    await api("POST", `/cases/${caseId}/exports/record`, {
      exporter: desc.exporter, bundle_sha256: sha256, items: desc.items.map((i) => i.item_id),
      language: annex.exporter.language || null, variant: desc.options.variant, draft: desc.options.draft,
      annex_b64: rendered.annex_b64, signature_b64: vc.toBase64(signature),
    });
  } catch (err) {
    await remove(); // no bundle the audit log does not know about
    throw err;
  }
  return { file, remove, sha256, size: file.size, fingerprint: vc.fingerprint(keys.boxPublic, keys.signPublic) };
}
