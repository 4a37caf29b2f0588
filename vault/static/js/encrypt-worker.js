// Upload encryption off the main thread: a phone's page stays responsive while
// a long video is encrypted. The worker owns a BlobEncryptor over the File and
// hands out ciphertext in the sizes asked for, each request with the point an
// interrupted upload resumes from (resumeFrom) and the stream's prefix; the
// page keeps track of what the server acknowledged, re-sends from its own
// copy, and asks for the next request while the current one is on the wire.
// The ciphertext's buffer is transferred, never copied, and comes back to be reused.
import * as vc from "./crypto.js";

let enc = null;
const READ_BYTES = 4 << 20; // 4 MiB slices: fewer reads across processes, still flat memory
// Request buffers the page gave back once it had made its Blob of them: reused, so a long
// upload makes no garbage per request (memory flat in the file size).
const pool = [];

// The plaintext's SHA-256 runs in hash-worker.js (the page gives us a port to it): this thread
// does the secretstream and the ciphertext's hash, the other core the plaintext's.
const MAX_IN_FLIGHT = 3; // plaintext slices handed to the hasher and not yet hashed (flat memory)
let hash = null;

function hashPort(port) {
  const calls = new Map();
  let seq = 0;
  let inFlight = 0;
  let waiting = [];
  let failed = null;
  port.onmessage = (ev) => {
    const m = ev.data;
    if (m.op === "error") {
      failed = new Error(m.error.message);
      failed.name = m.error.name;
      for (const c of calls.values()) c.reject(failed);
      calls.clear();
    } else if (m.op === "hashed") {
      inFlight--;
    } else {
      const c = calls.get(m.id);
      calls.delete(m.id);
      if (c) c.resolve(m);
    }
    const w = waiting;
    waiting = [];
    for (const r of w) r();
  };
  const call = (msg) => {
    if (failed) return Promise.reject(failed);
    const id = ++seq;
    return new Promise((resolve, reject) => {
      calls.set(id, { resolve, reject });
      port.postMessage({ ...msg, id });
    });
  };
  return {
    init(offset, state) {
      port.postMessage({ op: "init", offset, state }, state ? [state.buffer] : []);
    },
    slice(offset, bytes, final) {
      inFlight++;
      port.postMessage({ op: "slice", offset, bytes, final }, [bytes.buffer]);
    },
    async room() {
      while (inFlight >= MAX_IN_FLIGHT && !failed) await new Promise((r) => waiting.push(r));
      if (failed) throw failed;
    },
    /** A resume point with the plaintext hash state at its offset put in. */
    async point(p) {
      const { state } = await call({ op: "state", offset: p.plainOffset });
      const { plainHash, hashBytes } = vc.RESUME_STATE_LAYOUT;
      p.state.set(state.subarray(0, hashBytes), plainHash);
      vc.wipe(state);
      return p;
    },
    async digest() {
      return (await call({ op: "digest" })).digest;
    },
  };
}

self.onmessage = async (ev) => {
  const { op, id } = ev.data;
  try {
    if (op === "start" || op === "resume") {
      await vc.ready();
      hash = hashPort(ev.data.port);
      const onPlaintext = (offset, bytes, final) => hash.slice(offset, bytes, final);
      const opts = { readBytes: READ_BYTES, onPlaintext };
      if (op === "start") {
        hash.init(0, null);
        enc = new vc.BlobEncryptor(ev.data.key, ev.data.file, opts);
        vc.wipe(ev.data.key);
      } else {
        const { plainHash, hashBytes } = vc.RESUME_STATE_LAYOUT;
        const point = ev.data.saved.point;
        hash.init(point.plainOffset, point.state.slice(plainHash, plainHash + hashBytes));
        enc = await vc.BlobEncryptor.resume(ev.data.file, ev.data.saved, ev.data.received, opts);
        vc.wipe(point.state);
      }
      self.postMessage({ id, ciphertextSize: enc.ciphertextSize, prefix: enc.prefix });
    } else if (op === "recycle") {
      if (pool.length < 2) pool.push(new Uint8Array(ev.data.buffer));
    } else if (op === "next") {
      const into = pool.find((b) => b.length >= ev.data.maxBytes) ?? null;
      if (into) pool.splice(pool.indexOf(into), 1);
      await hash.room(); // the hasher keeps up (it has one pass to our two); if not, wait for it
      const req = await enc.next(ev.data.maxBytes, { into });
      if (req) enc.ack(); // the page holds the bytes until the server has them
      if (req) await hash.point(req.resumeFrom);
      const out = { id, bytes: req ? req.bytes : null, resumeFrom: req ? req.resumeFrom : null };
      if (enc.done) Object.assign(out, { plaintextSha256: await hash.digest(), ciphertextSha256: enc.ciphertextSha256 });
      self.postMessage(out, req ? [req.bytes.buffer, req.resumeFrom.state.buffer] : []);
    } else if (op === "destroy") {
      if (enc) enc.destroy();
      enc = null;
      self.postMessage({ id });
    }
  } catch (err) {
    self.postMessage({ id, error: { name: err.name || "Error", message: err.message || String(err) } });
  }
};
