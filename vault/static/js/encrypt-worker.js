// Upload encryption off the main thread: a phone's page stays responsive while
// a long video is encrypted. The worker owns a BlobEncryptor over the File and
// hands out ciphertext in the sizes asked for; the page keeps track of what
// the server acknowledged and re-sends from its own copy (WorkerEncryptor).
import * as vc from "./crypto.js";

let enc = null;

self.onmessage = async (ev) => {
  const { op, id } = ev.data;
  try {
    if (op === "start") {
      await vc.ready();
      enc = new vc.BlobEncryptor(ev.data.key, ev.data.file);
      vc.wipe(ev.data.key);
      self.postMessage({ id, ciphertextSize: enc.ciphertextSize });
    } else if (op === "next") {
      const req = await enc.next(ev.data.maxBytes);
      if (req) enc.ack(); // the page holds the bytes until the server has them
      const out = { id, bytes: req ? req.bytes : null };
      if (enc.done) Object.assign(out, { plaintextSha256: enc.plaintextSha256, ciphertextSha256: enc.ciphertextSha256 });
      self.postMessage(out, req ? [req.bytes.buffer] : []);
    } else if (op === "destroy") {
      if (enc) enc.destroy();
      enc = null;
      self.postMessage({ id });
    }
  } catch (err) {
    self.postMessage({ id, error: { name: err.name || "Error", message: err.message || String(err) } });
  }
};
