// The quick wipe (issue #15): every trace of the vault out of this browser's storage, at once.
// Deletes, without asking the server: every IndexedDB database of this origin (the field app's
// outbox and device copies of keys, the upload journal), Cache Storage (the service worker's
// assets and the field app's shell), the service worker's registration, localStorage (the pinned
// organisation and people) and sessionStorage (the wrapped session keys). Then, when the vault
// answers, signs out with wipe=1: its Clear-Site-Data header has the browser remove what a page
// cannot (the HttpOnly session cookie, the HTTP cache). With no connection the cookie stays until
// the browser closes (it is a session cookie) or the server's idle timeout ends the session.
import { closeDeviceCopies } from "./devicecopy.js";
import { t } from "./i18n.js";
import { closeOutbox, outboxRecords } from "./outbox.js";

function deleteDatabase(name) {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = req.onerror = () => resolve();
    req.onblocked = () => resolve(); // another tab holds it open: deleted as soon as that tab lets go
  });
}

/** Ask first, saying how many captured items would be lost. `plain`: the question when none wait. */
export async function confirmWipe(plain) {
  const waiting = (await outboxRecords().catch(() => [])).length;
  return confirm(waiting ? t("{n} captured items have not reached the vault yet. Wiping destroys them. Wipe anyway?", { n: waiting }) : plain);
}

/** Remove the vault's storage from this browser. Resolves once it is gone (or asked to go). */
export async function wipeBrowser() {
  await closeOutbox();
  await closeDeviceCopies();
  const names = indexedDB.databases ? (await indexedDB.databases()).map((d) => d.name) : [];
  for (const name of new Set([...names, "vault-outbox", "vault-field", "vault-uploads"])) await deleteDatabase(name);
  if (self.caches) for (const name of await caches.keys()) await caches.delete(name);
  if (navigator.serviceWorker) {
    for (const reg of await navigator.serviceWorker.getRegistrations()) await reg.unregister();
  }
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    // storage disabled: nothing kept there
  }
}

/**
 * Wipe, then sign out through `form` (a page's #logout-form) with wipe=1, so the server's
 * Clear-Site-Data removes what a page cannot. Resolves to false when there was no form to send.
 */
export async function wipeAndSignOut(form) {
  await wipeBrowser();
  if (!form) return false;
  form.querySelector('input[name="wipe"]').value = "1";
  form.submit();
  return true;
}
