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

self.onmessage = async (ev) => {
  const { op, id } = ev.data;
  try {
    if (op === "start" || op === "resume") {
      await vc.ready();
      if (op === "start") {
        enc = new vc.BlobEncryptor(ev.data.key, ev.data.file, { readBytes: READ_BYTES });
        vc.wipe(ev.data.key);
      } else {
        enc = await vc.BlobEncryptor.resume(ev.data.file, ev.data.saved, ev.data.received, { readBytes: READ_BYTES });
        vc.wipe(ev.data.saved.point.state);
      }
      self.postMessage({ id, ciphertextSize: enc.ciphertextSize, prefix: enc.prefix });
    } else if (op === "recycle") {
      if (pool.length < 2) pool.push(new Uint8Array(ev.data.buffer));
    } else if (op === "next") {
      const into = pool.find((b) => b.length >= ev.data.maxBytes) ?? null;
      if (into) pool.splice(pool.indexOf(into), 1);
      const req = await enc.next(ev.data.maxBytes, { into });
      if (req) enc.ack(); // the page holds the bytes until the server has them
      const out = { id, bytes: req ? req.bytes : null, resumeFrom: req ? req.resumeFrom : null };
      if (enc.done) Object.assign(out, { plaintextSha256: enc.plaintextSha256, ciphertextSha256: enc.ciphertextSha256 });
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
