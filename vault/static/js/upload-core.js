// Encrypt, sign and upload one file, resumably — the browser twin of
// vault/client/transfer.py upload_file (same manifest, sealed fields, receipt).
import { api, putBytes } from "./api.js";
import { currentCaseKey } from "./casekeys.js";
import { csrfToken, me } from "./context.js";
import * as vc from "./crypto.js";
import { photoExif } from "./exif.js";
import { t } from "./i18n.js";
import { userKeys } from "./keys.js";

const REQUEST_BYTES = 1 << 20; // 1 MiB per request: little to resend on a slow, flaky link
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * BlobEncryptor's interface (next, ack, pending, acknowledged, complete, the
 * two hashes), with the encryption in a Worker (encrypt-worker.js). The page
 * keeps the unacknowledged request, so a dropped connection re-sends bytes
 * it already has; the worker only ever moves forward.
 */
class WorkerEncryptor {
  static async start(key, file) {
    const w = new WorkerEncryptor(new Worker(new URL("./encrypt-worker.js", import.meta.url), { type: "module" }));
    const out = await w._call({ op: "start", key: key.slice(), file });
    w.ciphertextSize = out.ciphertextSize;
    w._requests = new vc.RequestLedger(out.ciphertextSize);
    return w;
  }

  constructor(worker) {
    this._worker = worker;
    this._calls = new Map();
    this._seq = 0;
    this.plaintextSha256 = null;
    this.ciphertextSha256 = null;
    worker.onmessage = (ev) => {
      const call = this._calls.get(ev.data.id);
      this._calls.delete(ev.data.id);
      if (!call) return;
      if (ev.data.error) {
        const e = new Error(ev.data.error.message);
        e.name = e.code = ev.data.error.name;
        call.reject(e);
      } else call.resolve(ev.data);
    };
    worker.onerror = (ev) => {
      for (const call of this._calls.values()) call.reject(new Error(ev.message || "the encryption worker failed"));
      this._calls.clear();
    };
  }

  _call(msg) {
    const id = ++this._seq;
    return new Promise((resolve, reject) => {
      this._calls.set(id, { resolve, reject });
      this._worker.postMessage({ ...msg, id });
    });
  }

  get acknowledged() {
    return this._requests.acknowledged;
  }

  get pending() {
    return this._requests.pending;
  }

  get complete() {
    return this._requests.complete;
  }

  async next(maxBytes) {
    this._requests.requireIdle();
    const out = await this._call({ op: "next", maxBytes });
    if (out.plaintextSha256) [this.plaintextSha256, this.ciphertextSha256] = [out.plaintextSha256, out.ciphertextSha256];
    return out.bytes ? this._requests.hand(out.bytes) : null;
  }

  ack(upTo) {
    this._requests.ack(upTo);
  }

  destroy() {
    this._call({ op: "destroy" }).catch(() => {}).finally(() => this._worker.terminate());
  }
}

export class Upload {
  /**
   * file: File/Blob; caseId; metadata (searchable); sealed (object or null); attachedTo (item id or null);
   * opts.mediaType / opts.filename override the File's own; hooks: onProgress(sent, total), onState(text).
   */
  constructor(file, caseId, metadata, sealed, attachedTo = null, opts = {}) {
    Object.assign(this, { file, caseId, metadata, sealed, attachedTo, opts });
    this.paused = false;
    this.onProgress = () => {};
    this.onState = () => {};
    this._resume = null;
    this.retries = 0;
  }

  pause() {
    this.paused = true;
    this.onState(t("Paused"));
  }

  resume() {
    this.paused = false;
    if (this._resume) this._resume();
  }

  async _waitIfPaused() {
    while (this.paused) await new Promise((r) => (this._resume = r));
  }

  /**
   * Upload under the key version the case's signed chain says is current. If the case key
   * changed meanwhile (a member was removed), the server refuses to finish (409
   * stale_key_version) and the upload starts again, re-encrypted under the new version.
   */
  async run() {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this._runOnce();
      } catch (err) {
        if (err.code !== "stale_key_version" || attempt >= 3) throw err;
        this.restarted = (this.restarted || 0) + 1;
        this.onState(t("The case key changed: starting again under the new key…"));
      }
    }
  }

  async _runOnce() {
    const keys = await userKeys();
    const kase = await api("GET", `/cases/${this.caseId}`);
    const { version, key: caseKey } = await currentCaseKey(kase);
    const size = this.file.size;
    this.onState(t("Starting…"));
    const start = await api("POST", `/cases/${this.caseId}/uploads`, {
      size: vc.ciphertextSize(size), key_version: version, metadata: this.metadata, attached_to: this.attachedTo,
    });
    const { upload_id: uploadId, item_id: itemId } = start;
    this.uploadId = uploadId;
    this.itemId = itemId;
    const reqBytes = Math.min(REQUEST_BYTES, start.chunk_max);
    const itemKey = vc.randomKey();
    // Module workers are needed anyway (the password's Argon2id runs in one), so no page-thread fallback.
    const enc = await WorkerEncryptor.start(itemKey, this.file);
    const total = enc.ciphertextSize;
    const csrf = csrfToken();
    try {
      while (!enc.complete) {
        await this._waitIfPaused();
        const req = enc.pending ?? (await enc.next(reqBytes));
        this.onState(t("Encrypting and sending…"));
        try {
          const out = await putBytes(`/uploads/${uploadId}?offset=${req.offset}`, req.bytes,
            (n) => this.onProgress(req.offset + n, total), csrf);
          enc.ack(out.received);
          this.retries = 0;
        } catch (err) {
          if (err.status && !["busy", "wrong_offset", "truncated_chunk"].includes(err.code)) throw err;
          // The connection dropped (or the server holds a different offset): ask how much it has, resend the rest.
          const received = await this._askReceived(uploadId, err.extra && err.extra.received);
          enc.ack(received);
        }
        this.onProgress(enc.acknowledged ?? req.offset, total);
      }
      const mediaType = this.opts.mediaType || this.file.type || "application/octet-stream";
      // A photo's capture time and camera, sealed like the rest (transfer.py _exif): never searchable.
      const { captured_at: capturedAt, exif } = await photoExif(this.file, mediaType);
      const manifest = {
        v: 1, item_id: itemId, case_id: this.caseId, sha256: enc.plaintextSha256, size,
        media_type: mediaType, filename: this.opts.filename || this.file.name || "evidence", captured_at: capturedAt,
        created_at: new Date().toISOString().replace(/\.\d{3}Z$/, "+00:00"),
        uploader: me.username, uploader_id: me.id, evidence_type: this.metadata.evidence_type,
        attached_to: this.attachedTo, sealed_sha256: null,
      };
      const finish = { ciphertext_sha256: enc.ciphertextSha256 };
      const fields = { ...(this.sealed || {}), ...(Object.keys(exif).length ? { exif } : {}) };
      if (Object.keys(fields).length) {
        const { envelope, sha256 } = vc.sealFields(itemKey, fields, this.caseId, itemId);
        manifest.sealed_sha256 = sha256;
        finish.sealed_fields = vc.toBase64(envelope);
      }
      const sealedManifest = vc.sealManifest(itemKey, keys, manifest, this.caseId, itemId);
      const receipt = keys.sign(vc.receiptMessage(itemId, this.caseId, version, enc.ciphertextSha256,
        vc.sha256Hex(sealedManifest)));
      finish.sealed_manifest = vc.toBase64(sealedManifest);
      finish.wrapped_key = vc.toBase64(vc.wrapItemKey(caseKey, itemKey, this.caseId, itemId, version));
      finish.receipt_signature = vc.toBase64(receipt);
      this.onState(t("Checking on the server…"));
      const done = await this._finish(uploadId, itemId, finish);
      this.onProgress(total, total);
      return done;
    } finally {
      enc.destroy();
      vc.wipe(itemKey);
    }
  }

  async _askReceived(uploadId, hint) {
    if (Number.isInteger(hint)) return hint;
    for (let attempt = 0; ; attempt++) {
      this.onState(t("Connection lost. Retrying…"));
      await sleep(Math.min(500 * 2 ** attempt, 15000));
      await this._waitIfPaused();
      try {
        const st = await api("GET", `/uploads/${uploadId}`);
        this.retries += 1;
        return st.received;
      } catch (err) {
        if (err.status && err.status !== 0 && err.code !== "network") throw err;
        if (attempt > 40) throw err;
      }
    }
  }

  async _finish(uploadId, itemId, body) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await api("POST", `/uploads/${uploadId}/finish`, body);
      } catch (err) {
        if (err.code !== "network" || attempt > 20) throw err;
        await sleep(Math.min(500 * 2 ** attempt, 15000));
        try {
          await api("GET", `/uploads/${uploadId}`);
        } catch (e2) {
          if (e2.status === 404) {
            const item = await api("GET", `/items/${itemId}`);
            return { item_id: item.id, case_id: item.case_id, blob_sha256: item.blob_sha256 };
          }
        }
      }
    }
  }
}

/** The searchable metadata from a form (only the fields the API accepts; empty ones left out). */
export function metadataFrom(form) {
  const f = (name) => form.querySelector(`[name="${name}"]`);
  const value = (name) => (f(name) && f(name).value.trim()) || null;
  const many = (name) => (f(name) ? [...f(name).selectedOptions].map((o) => o.value) : []);
  const meta = { title: value("title"), evidence_type: value("evidence_type") };
  for (const k of ["incident_date_from", "incident_date_to", "region", "detention_place_type"]) {
    if (value(k)) meta[k] = value(k);
  }
  const violations = many("violations");
  const methods = many("methods");
  if (violations.length) meta.violations = violations;
  if (methods.length) meta.methods = methods;
  const tags = (value("tags") || "").split(",").map((s) => s.trim()).filter(Boolean);
  if (tags.length) meta.tags = tags;
  return meta;
}
