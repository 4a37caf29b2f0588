// The upload's encryption in Workers (encrypt-worker.js, hash-worker.js), behind the interface of
// crypto.js BlobEncryptor, for upload-core.js.
import { workerUrl } from "./context.js";
import * as vc from "./crypto.js";

/**
 * BlobEncryptor's interface (next, ack, pending, acknowledged, complete, the
 * two hashes), with the encryption in a Worker (encrypt-worker.js). The page
 * keeps the unacknowledged request, so a dropped connection re-sends bytes
 * it already has; the worker only ever moves forward, and encrypts the next
 * request while the current one is on the wire (prefetch). The plaintext's SHA-256 runs in a
 * second Worker (hash-worker.js), which the encryption worker feeds through a MessagePort: the
 * second core does one of the three passes (README, bench/web).
 */
export class WorkerEncryptor {
  static start(key, file) {
    return WorkerEncryptor._open({ op: "start", key: key.slice(), file }, 0);
  }

  /** Continue from a journal's point; the worker checks the file's first part (IntegrityError if it differs). */
  static resume(file, saved, received) {
    return WorkerEncryptor._open({ op: "resume", file, saved, received }, received);
  }

  static async _open(msg, start) {
    const w = new WorkerEncryptor(new Worker(workerUrl("encrypt-worker.js"), { type: "module" }));
    w._hasher = new Worker(workerUrl("hash-worker.js"), { type: "module" });
    w._hasher.onerror = w._worker.onerror;
    const { port1, port2 } = new MessageChannel();
    w._hasher.postMessage({ port: port2 }, [port2]);
    try {
      const out = await w._call({ ...msg, port: port1 }, [port1]);
      w.ciphertextSize = out.ciphertextSize;
      w.prefix = out.prefix;
      w._requests = new vc.RequestLedger(out.ciphertextSize, start);
    } catch (err) {
      w._worker.terminate();
      w._hasher.terminate();
      throw err;
    }
    return w;
  }

  constructor(worker) {
    this._worker = worker;
    this._calls = new Map();
    this._seq = 0;
    this._ahead = null; // the next request, being encrypted while the current one is sent
    this._last = false; // the worker has handed out the last request
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

  _call(msg, transfer = []) {
    const id = ++this._seq;
    return new Promise((resolve, reject) => {
      this._calls.set(id, { resolve, reject });
      this._worker.postMessage({ ...msg, id }, transfer);
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

  _ask(maxBytes) {
    const p = this._call({ op: "next", maxBytes }).then((out) => {
      if (out.plaintextSha256) {
        [this.plaintextSha256, this.ciphertextSha256] = [out.plaintextSha256, out.ciphertextSha256];
        this._last = true;
      }
      return out;
    });
    p.catch(() => {}); // seen when awaited
    return p;
  }

  /** Start encrypting the request after the pending one (one at a time). */
  prefetch(maxBytes) {
    if (!this._ahead && !this._last) this._ahead = this._ask(maxBytes);
  }

  async next(maxBytes) {
    this._requests.requireIdle();
    const ahead = this._ahead;
    this._ahead = null;
    const out = await (ahead ?? (this._last ? { bytes: null } : this._ask(maxBytes)));
    if (!out.bytes) return null;
    // The request is kept (and re-sent) as a Blob: Chromium sends a Blob body by reference, where an
    // ArrayBuffer body is copied again in the renderer; the buffer goes back to the worker to be reused.
    const body = new Blob([out.bytes]);
    this._worker.postMessage({ op: "recycle", buffer: out.bytes.buffer }, [out.bytes.buffer]);
    const req = this._requests.hand(body);
    req.resumeFrom = out.resumeFrom;
    return req;
  }

  ack(upTo) {
    this._requests.ack(upTo);
  }

  destroy() {
    this._call({ op: "destroy" }).catch(() => {}).finally(() => {
      this._worker.terminate();
      this._hasher.terminate();
    });
  }
}
