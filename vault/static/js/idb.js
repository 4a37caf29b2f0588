// One IndexedDB object store, opened on first use: the upload journal, the field app's outbox and
// its device copies of keys each keep theirs through this. Transactions are "strict": resolved only
// once the browser has written them to disk, so what a page reports as kept survives a crash.
// The connection closes itself when another page deletes the database (the quick wipe).

/** {run(mode, fn), close()} for store `store` of database `name`; `create(db)` makes it at version 1. */
export function objectStore(name, store, create) {
  let dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open(name, 1);
        req.onupgradeneeded = () => create(req.result);
        req.onsuccess = () => {
          req.result.onversionchange = () => req.result.close();
          resolve(req.result);
        };
        req.onerror = () => reject(req.error);
      });
      dbPromise.catch(() => (dbPromise = null));
    }
    return dbPromise;
  }

  /** Run `fn(objectStore)` in one transaction; resolves to its request's result once committed. */
  async function run(mode, fn) {
    const d = await open();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(store, mode, { durability: "strict" });
      const out = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(out && "result" in out ? out.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
    });
  }

  /** Let go of the connection (before the database is deleted). */
  async function close() {
    if (!dbPromise) return;
    try {
      (await dbPromise).close();
    } catch {
      // never opened
    }
    dbPromise = null;
  }

  /** Update the record with key `key` in place, if it is there. */
  function update(key, change) {
    return run("readwrite", (s) => {
      const req = s.get(key);
      req.onsuccess = () => {
        if (req.result) s.put(change(req.result));
      };
      return null;
    });
  }

  return { run, close, update };
}
