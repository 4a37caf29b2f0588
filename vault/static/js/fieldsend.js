// Sending the field app's outbox (issue #15): each waiting item goes to the case chosen at
// capture through the ordinary resumable upload (upload-core.js). The upload wraps a fresh item key
// under the case key the case's signed chain says is current at the time of sending, keeps its
// sealed journal, and starts again if the key changes meanwhile. A reload, a closed tab or a
// killed page mid-send resumes from the server's offset: the item's file is rebuilt from the
// outbox, byte for byte, and found again by its journal (same name, size and time).
//
// One sender per browser at a time (a Web Lock): two tabs never send the same item. An item
// leaves the outbox only when the server has confirmed the upload, and is never sent twice: the
// server's item id is sealed into its record before its first byte goes out.
import { api } from "./api.js";
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { dropCapture, openContent, openHeader, outboxRecords, resealHeader, setState } from "./outbox.js";
import { Upload } from "./upload-core.js";
import { dropJournal, journalsOf, openJournal } from "./uploadjournal.js";

/** The file the capture's upload sends: the captured bytes under a name and time that identify it. */
export function captureFile(header, bytes) {
  return new File([bytes], header.filename, { type: header.media_type, lastModified: Date.parse(header.device_time) });
}

async function journalFor(keys, header, file) {
  for (const record of await journalsOf(me.id, header.case_id)) {
    const j = openJournal(keys, record);
    if (j && j.file.name === file.name && j.file.size === file.size && j.file.lastModified === file.lastModified) return j;
  }
  return null;
}

/** Whether the server already holds the item (its upload finished, and the page died before it knew). */
async function alreadyStored(itemId) {
  try {
    await api("GET", `/items/${itemId}`);
    return true;
  } catch (err) {
    if (err.status === 404) return false;
    throw err;
  }
}

async function sendOne(keys, record, header, onEvent) {
  const bytes = await openContent(header, record);
  const file = captureFile(header, bytes);
  vc.wipe(bytes);
  const journal = await journalFor(keys, header, file);
  if (header.item_id && (await alreadyStored(header.item_id))) {
    if (journal) await dropJournal(journal.upload_id);
    await dropCapture(record.id);
    onEvent({ id: record.id, state: "sent", itemId: header.item_id });
    return;
  }
  const up = journal ? Upload.fromJournal(journal, file)
    : new Upload(file, header.case_id, header.metadata, header.sealed, null, { mediaType: header.media_type, filename: header.filename });
  let noted = Promise.resolve();
  up.onProgress = (sent, total) => {
    // The server's item id, sealed into the record before the first byte goes: a page killed after the
    // server finished the upload, but before the outbox heard of it, does not send the item twice.
    if (up.itemId && up.itemId !== header.item_id) {
      header.item_id = up.itemId;
      noted = resealHeader(keys, record.id, header);
    }
    onEvent({ id: record.id, sent, total });
  };
  await setState(record.id, "sending");
  onEvent({ id: record.id, state: "sending" });
  const done = await up.run();
  await noted;
  await dropCapture(record.id);
  onEvent({ id: record.id, state: "sent", itemId: done.item_id });
}

/**
 * Send every waiting item of the unlocked user (`keys`) while the link holds. Resolves to
 * {sent, failed, offline}; `onEvent` hears each item's progress and state. Returns at once
 * (null) when another tab is sending.
 */
export async function sendOutbox(keys, onEvent = () => {}) {
  if (!navigator.locks) return drain(keys, onEvent);
  return navigator.locks.request("vault-outbox-sender", { ifAvailable: true }, (lock) => (lock ? drain(keys, onEvent) : null));
}

async function drain(keys, onEvent) {
  const out = { sent: 0, failed: 0, offline: false };
  for (const record of await outboxRecords()) {
    if (record.user_id !== me.id || record.state === "failed") continue;
    const header = openHeader(keys, record);
    if (!header) continue;
    try {
      await sendOne(keys, record, header, onEvent);
      out.sent += 1;
    } catch (err) {
      const code = err.code || err.name || "error";
      if (err.status === 0 || code === "network" || code === "busy" || err.status >= 500) {
        await setState(record.id, "waiting");
        onEvent({ id: record.id, state: "waiting" });
        out.offline = true;
        break; // the link went: the rest wait for the next try
      }
      // A refusal that trying again by itself will not change (no longer a member, a case key that
      // does not check out): the item stays, marked, until the person retries or discards it.
      await setState(record.id, "failed", code);
      onEvent({ id: record.id, state: "failed", error: code, message: err.message });
      out.failed += 1;
    }
  }
  return out;
}
