// The plaintext's SHA-256 of an upload, on the second core: the encryption Worker
// (encrypt-worker.js) does the secretstream and the ciphertext's SHA-256 and hands
// each plaintext slice here through a MessagePort once it has encrypted it (the
// buffer transferred, never copied, and zeroed here). On two cores the three passes
// then no longer queue on one thread (README, bench/web).
//
// On the port, in order: {op: "init", state} (null, or the hash state at a resumed
// point), {op: "slice", offset, bytes, final}, {op: "state", id, offset}: the hash
// state before the slice at `offset` (a resume point's plaintext part), {op: "digest",
// id}: hex, after the final slice. Each slice is answered {op: "hashed"} (the
// encryption worker keeps at most a few in flight: memory flat in the file size).
import * as vc from "./crypto.js";

let hasher = null;
let pos = 0; // plaintext offset of the next slice
const snapshots = new Map(); // slice start -> hash state before it, until a resume point at or past it is asked for
let digest = null;
let failed = null;

function handle(port, msg) {
  const { op, id } = msg;
  if (op === "init") {
    hasher = new vc.PlaintextHasher(msg.state);
    if (msg.state) vc.wipe(msg.state);
    pos = msg.offset;
  } else if (op === "slice") {
    if (msg.offset !== pos) throw new Error(`plaintext slice at ${msg.offset}, expected ${pos}`);
    snapshots.set(pos, hasher.snapshot());
    hasher.update(msg.bytes);
    pos += msg.bytes.length;
    msg.bytes.fill(0);
    if (msg.final) digest = hasher.hexdigest();
    port.postMessage({ op: "hashed" });
  } else if (op === "state") {
    const state = snapshots.get(msg.offset);
    if (!state) throw new Error(`no plaintext hash state at ${msg.offset}`);
    for (const [at, s] of snapshots) {
      if (at < msg.offset) {
        vc.wipe(s);
        snapshots.delete(at);
      }
    }
    port.postMessage({ id, state: state.slice() });
  } else if (op === "digest") {
    if (digest === null) throw new Error("the plaintext hash is not finished");
    port.postMessage({ id, digest });
  }
}

self.onmessage = (ev) => {
  const port = ev.data.port;
  let chain = vc.ready();
  // Messages are handled strictly in order (libsodium loads first): a "state" always comes after
  // the slice that begins at its offset.
  port.onmessage = (m) => {
    chain = chain.then(() => {
      if (failed) throw failed;
      handle(port, m.data);
    }).catch((err) => {
      failed = failed || err;
      port.postMessage({ id: m.data.id ?? 0, op: "error", error: { name: err.name || "Error", message: err.message || String(err) } });
    });
  };
};
