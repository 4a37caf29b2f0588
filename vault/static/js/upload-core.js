// Encrypt, sign and upload one file, resumably — the browser twin of
// vault/client/transfer.py upload_file (same manifest, sealed fields, receipt).
// Uploads outlive the page as the CLI's do (vault/client/resume.py): each one
// keeps a sealed journal in IndexedDB (uploadjournal.js) holding the stream's
// state at the last request the server acknowledged, so a reload, a closed tab
// or a killed phone page resumes from the server's offset (Upload.fromJournal)
// and the stored stream is byte for byte the one a single run would have sent.
import { api, putBytes } from "./api.js";
import { currentCaseKey } from "./casekeys.js";
import { csrfToken, me } from "./context.js";
import * as vc from "./crypto.js";
import { UserError } from "./errors.js";
import { photoExif } from "./exif.js";
import { t } from "./i18n.js";
import { userKeys } from "./keys.js";
import { b64, dropJournal, saveJournal } from "./uploadjournal.js";
import { WorkerEncryptor } from "./workerencryptor.js";

// Requests grow towards REQUEST_SECONDS of sending each (little to resend on a slow, flaky
// link; few round trips and fsyncs on a fast one) and shrink after a failure.
const MIN_REQUEST = 1 << 20;
const MAX_REQUEST = 16 << 20;
const REQUEST_SECONDS = 2;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Closing or leaving a page while an upload runs (or is paused) asks first: the browser's own
// "Leave site?" prompt (beforeunload). What the server acknowledged stays resumable anyway.
const running = new Set();
window.addEventListener("beforeunload", (ev) => {
  if (!running.size) return;
  ev.preventDefault();
  ev.returnValue = ""; // older Chromium needs a value set
});

/** How many uploads this page is sending (or holding paused). */
export function uploadsRunning() {
  return running.size;
}

/**
 * Hold the named Web Lock while an upload is sent, so two tabs never send the same upload at
 * once; resolves to a release function, or null when another tab holds it.
 */
function holdLock(uploadId) {
  if (!navigator.locks) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    navigator.locks.request(`vault-upload-${uploadId}`, { ifAvailable: true }, (lock) => {
      if (!lock) return resolve(null);
      return new Promise((release) => resolve(release));
    }).catch(reject);
  });
}

/** The uploads another tab of this browser is sending right now (their ids). */
export async function uploadsHeldElsewhere() {
  if (!navigator.locks) return new Set();
  const { held } = await navigator.locks.query();
  return new Set(held.map((l) => l.name).filter((n) => n.startsWith("vault-upload-")).map((n) => n.slice(13)));
}

const pointOut = (p) => ({ plainOffset: p.plainOffset, cipherOffset: p.cipherOffset, state: b64.enc(p.state) });
const pointIn = (p) => ({ plainOffset: p.plainOffset, cipherOffset: p.cipherOffset, state: b64.dec(p.state) });
const identity = (f) => ({ name: f.name || "", size: f.size, lastModified: f.lastModified || 0, type: f.type || "" });

/** The next request's size after `bytes` took `ms` to send (whole MiB, within the bounds). */
function nextRequestBytes(bytes, ms, chunkMax) {
  const want = (bytes / Math.max(ms, 1)) * 1000 * REQUEST_SECONDS;
  const mib = Math.max(1, Math.floor(want / MIN_REQUEST)) * MIN_REQUEST;
  return Math.max(Math.min(MIN_REQUEST, chunkMax), Math.min(mib, MAX_REQUEST, chunkMax));
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
    this.journal = null; // the sealed journal's contents while the upload runs
  }

  /** An upload to continue from its journal (uploadjournal.js openJournal), with the file picked again. */
  static fromJournal(journal, file) {
    const up = new Upload(file, journal.case_id, journal.metadata, journal.sealed, journal.attached_to,
      { mediaType: journal.media_type || journal.file.type || undefined, filename: journal.filename || journal.file.name });
    up.journal = journal;
    return up;
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
   * stale_key_version) and the upload starts again, re-encrypted under the new version;
   * the old one is cancelled on the server, its journal dropped.
   */
  async run() {
    running.add(this);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this._runOnce();
        } catch (err) {
          if (err.code !== "stale_key_version" || attempt >= 3) throw err;
          await this._abandon();
          this.restarted = (this.restarted || 0) + 1;
          this.onState(t("The case key changed: starting again under the new key…"));
        }
      }
    } finally {
      running.delete(this);
    }
  }

  /** Give up this upload: the server's partial and the journal go. */
  async _abandon() {
    const id = this.journal && this.journal.upload_id;
    this.journal = null;
    if (id) await cancelUpload(id);
  }

  /** The server's state of the journal's upload, or null when it must start again (gone, expired, stale key). */
  async _resumable(version) {
    const j = this.journal;
    let st = null;
    try {
      st = await api("GET", `/uploads/${j.upload_id}`);
    } catch (err) {
      if (err.status !== 404 && err.status !== 410) throw err;
    }
    if (!st || st.key_version !== version || st.size !== vc.ciphertextSize(j.file.size)) {
      await this._abandon(); // made under a key version the case rotated away from: start again under the current one
      this.restarted = (this.restarted || 0) + 1;
      return null;
    }
    const f = identity(this.file);
    if (f.size !== j.file.size || f.lastModified !== j.file.lastModified || f.name !== j.file.name) {
      throw new UserError(t("This is not the file whose upload stopped ({name}, {size} bytes). Choose that file.",
        { name: j.file.name, size: j.file.size }));
    }
    return st;
  }

  async _runOnce() {
    // A new upload's worker starts (and loads libsodium) while the case key is opened and the
    // server is asked for an upload id: the encryption does not depend on either.
    const early = this.journal ? null : { key: vc.randomKey() };
    if (early) {
      early.enc = WorkerEncryptor.start(early.key, this.file);
      early.enc.catch(() => {});
    }
    try {
      return await this._runWith(early);
    } catch (err) {
      if (early && !early.used) {
        early.enc.then((e) => e.destroy(), () => {});
        vc.wipe(early.key);
      }
      throw err;
    }
  }

  async _runWith(early) {
    const keys = await userKeys();
    const kase = await api("GET", `/cases/${this.caseId}`);
    const { version, key: caseKey } = await currentCaseKey(kase);
    const size = this.file.size;
    const st = this.journal ? await this._resumable(version) : null;
    let enc;
    let itemKey;
    let chunkMax;
    if (st) {
      this.onState(t("Checking that this is the same file…"));
      itemKey = b64.dec(this.journal.item_key);
      const saved = { prefix: b64.dec(this.journal.prefix), point: pointIn(this.journal.point) };
      try {
        enc = await WorkerEncryptor.resume(this.file, saved, st.received);
        vc.wipe(saved.point.state);
      } catch (err) {
        vc.wipe(itemKey);
        if (err.name === "IntegrityError") {
          throw new UserError(t("This file's content differs from the one whose upload stopped. Choose the same file, or cancel that upload."));
        }
        throw err;
      }
      this.resumedAt = st.received;
      chunkMax = st.chunk_max;
    } else {
      this.onState(t("Starting…"));
      const start = await api("POST", `/cases/${this.caseId}/uploads`, {
        size: vc.ciphertextSize(size), key_version: version, metadata: this.metadata, attached_to: this.attachedTo,
      });
      // Module workers are needed anyway (the password's Argon2id runs in one), so no page-thread fallback.
      const fresh = early || { key: vc.randomKey() };
      fresh.used = true;
      itemKey = fresh.key;
      try {
        enc = await (fresh.enc || WorkerEncryptor.start(itemKey, this.file));
      } catch (err) {
        vc.wipe(itemKey);
        throw err;
      }
      chunkMax = start.chunk_max;
      this.journal = {
        upload_id: start.upload_id, item_id: start.item_id, case_id: this.caseId, key_version: version,
        file: identity(this.file), item_key: b64.enc(itemKey), prefix: b64.enc(enc.prefix), point: null,
        metadata: this.metadata, sealed: this.sealed, attached_to: this.attachedTo,
        media_type: this.opts.mediaType || null, filename: this.opts.filename || null,
      };
    }
    const j = this.journal;
    const { upload_id: uploadId, item_id: itemId } = j;
    this.uploadId = uploadId;
    this.itemId = itemId;
    const release = await holdLock(uploadId);
    if (!release) {
      enc.destroy();
      vc.wipe(itemKey);
      throw new UserError(t("This upload is being sent from another tab or window of this browser."));
    }
    const total = enc.ciphertextSize;
    const csrf = csrfToken();
    let reqBytes = Math.min(MIN_REQUEST, chunkMax);
    try {
      this.onProgress(enc.acknowledged, total);
      while (!enc.complete) {
        await this._waitIfPaused();
        const req = enc.pending ?? (await enc.next(reqBytes));
        if (!j.point && req.resumeFrom && req.resumeFrom.cipherOffset === 0) {
          j.point = pointOut(req.resumeFrom); // the stream's start: valid whatever the server holds
          await this._save(keys);
        }
        enc.prefetch(reqBytes);
        this.onState(t("Encrypting and sending…"));
        const began = performance.now();
        try {
          // A Blob body (WorkerEncryptor.next): with an ArrayBuffer body, Debian Chromium under
          // Playwright (DevTools attached) waited up to a second before each 16 MiB request went out
          // and again before its answer reached the page: 4 MB/s against 40+ MB/s (README, bench/web).
          const out = await putBytes(`/uploads/${uploadId}?offset=${req.offset}`, req.bytes,
            (n) => this.onProgress(req.offset + n, total), csrf);
          enc.ack(out.received);
          reqBytes = nextRequestBytes(req.bytes.size, performance.now() - began, chunkMax);
          this.retries = 0;
        } catch (err) {
          if (err.status && !["busy", "wrong_offset", "truncated_chunk"].includes(err.code)) throw err;
          reqBytes = Math.max(Math.min(MIN_REQUEST, chunkMax), reqBytes >> 1);
          // The connection dropped (or the server holds a different offset): ask how much it has, resend the rest.
          const received = await this._askReceived(uploadId, err.extra && err.extra.received);
          enc.ack(received);
        }
        if (!enc.pending && req.resumeFrom) {
          // The server holds all of this request: a later page resumes from its point.
          j.point = pointOut(req.resumeFrom);
          await this._save(keys);
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
      const receipt = keys.sign(vc.receiptMessage(itemId, this.caseId, j.key_version, enc.ciphertextSha256,
        vc.sha256Hex(sealedManifest)));
      finish.sealed_manifest = vc.toBase64(sealedManifest);
      finish.wrapped_key = vc.toBase64(vc.wrapItemKey(caseKey, itemKey, this.caseId, itemId, j.key_version));
      finish.receipt_signature = vc.toBase64(receipt);
      this.onState(t("Checking on the server…"));
      const done = await this._finish(uploadId, itemId, finish);
      await dropJournal(uploadId).catch(() => {});
      this.journal = null;
      this.onProgress(total, total);
      return done;
    } finally {
      enc.destroy();
      vc.wipe(itemKey);
      release();
    }
  }

  /** Write the journal; an upload goes on without it (private browsing, a full disk): it just cannot resume. */
  async _save(keys) {
    try {
      await saveJournal(keys, me.id, this.journal);
    } catch {
      this.unjournaled = true;
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

/** Cancel an upload: the server discards its bytes (a 404: already gone), and the journal goes. */
export async function cancelUpload(uploadId) {
  try {
    await api("DELETE", `/uploads/${uploadId}`);
  } catch (err) {
    if (err.status !== 404 && err.status !== 410) throw err;
  }
  await dropJournal(uploadId);
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
