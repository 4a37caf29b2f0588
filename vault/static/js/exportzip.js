// The browser's export ZIP, streamed onto the disk (docs/exports.md "The browser"): client-zip
// writes the entries as they come (attachments decrypted chunk by chunk), the bytes go into a file
// of the Origin Private File System, and the download is that disk-backed File. So neither the ZIP
// nor any attachment is ever held whole in the page's memory, whatever the size.
//
// The OPFS file is decrypted evidence: it is removed when the page goes, when the next export
// starts, or (a page killed mid-way) when an export page next loads. Each live file is held under
// a Web Lock, so another tab's export is never removed while it runs.
import { downloadZip, predictLength } from "../vendor/client-zip.js";

const DIR = "vault-exports";
const LOCK = "vault-export:";
const WRITE_BYTES = 1024 * 1024;

export class NoRoomError extends Error {
  constructor(need, free) {
    super("not enough storage for the export");
    this.name = "NoRoomError";
    this.need = need;
    this.free = free;
  }
}

/** Whether this browser can write a file of its own storage as a stream (OPFS createWritable). */
export function canStream() {
  return Boolean(navigator.storage && navigator.storage.getDirectory && navigator.locks && globalThis.FileSystemFileHandle
    && "createWritable" in FileSystemFileHandle.prototype);
}

async function folder() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIR, { create: true });
}

/** Remove what an export left in this browser's storage, except the files a live page still holds. */
export async function removeLeftovers() {
  if (!canStream()) return;
  const held = new Set(((await navigator.locks.query()).held || []).map((l) => l.name));
  const dir = await folder();
  const names = [];
  for await (const name of dir.keys()) names.push(name);
  for (const name of names) {
    if (!held.has(LOCK + name)) await dir.removeEntry(name).catch(() => {});
  }
}

/** The exact size of the ZIP of these entries ({name, size}), as client-zip writes it. */
export function zipSize(entries) {
  return Number(predictLength(entries.map((e) => ({ name: e.name, size: e.size }))));
}

/** Refuse before writing when the browser's storage cannot take `need` bytes (navigator.storage.estimate). */
export async function checkRoom(need) {
  if (!navigator.storage || !navigator.storage.estimate) return;
  const { quota, usage } = await navigator.storage.estimate();
  if (typeof quota === "number" && quota - (usage || 0) < need) throw new NoRoomError(need, quota - (usage || 0));
}

/** Chunks in 1 MiB writes: each write to the file is a round trip to the browser process. */
function batched(onBytes) {
  let buf = new Uint8Array(WRITE_BYTES);
  let used = 0;
  return new TransformStream({
    transform(chunk, controller) {
      onBytes(chunk);
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(WRITE_BYTES - used, chunk.length - at);
        buf.set(chunk.subarray(at, at + take), used);
        used += take;
        at += take;
        if (used === WRITE_BYTES) {
          controller.enqueue(buf);
          buf = new Uint8Array(WRITE_BYTES);
          used = 0;
        }
      }
    },
    flush(controller) {
      if (used) controller.enqueue(buf.subarray(0, used));
    },
  });
}

/**
 * Write the entries ({name, size, input: Uint8Array | async iterable, lastModified}) as one ZIP into
 * a fresh OPFS file. `onBytes(chunk)` sees every byte written, in order (hash and progress).
 * Returns {file, remove}: the disk-backed File to offer, and what removes it. Without a writable
 * OPFS (canStream) the ZIP is a Blob in memory: the page allows that for small exports only.
 */
export async function writeZip(entries, onBytes) {
  if (!canStream()) {
    const file = await new Response(downloadZip(entries).body.pipeThrough(batched(onBytes))).blob();
    return { file, remove: async () => {} };
  }
  const name = `${crypto.randomUUID()}.zip`;
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await new Promise((locked) => {
    navigator.locks.request(LOCK + name, () => {
      locked();
      return held;
    });
  });
  const dir = await folder();
  const remove = async () => {
    await dir.removeEntry(name).catch(() => {});
    release();
  };
  try {
    const handle = await dir.getFileHandle(name, { create: true });
    const out = await handle.createWritable();
    await downloadZip(entries).body.pipeThrough(batched(onBytes)).pipeTo(out);
    return { file: await handle.getFile(), remove };
  } catch (err) {
    await remove();
    if (err && err.name === "QuotaExceededError") throw new NoRoomError(0, 0);
    throw err;
  }
}
