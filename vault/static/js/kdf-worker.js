// Argon2id off the main thread: password → master key → {authKey, kek}; the master key is wiped here.
import * as vc from "./crypto.js";

self.onmessage = async (ev) => {
  const { password, salt, params, allowTestKdf } = ev.data;
  try {
    await vc.ready();
    const master = vc.deriveMasterKey(password, salt, params, { allowTestKdf: allowTestKdf === true });
    const authKey = vc.authKey(master);
    const kek = vc.keyEncryptionKey(master);
    vc.wipe(master);
    self.postMessage({ authKey, kek });
  } catch (err) {
    self.postMessage({ error: { name: err.name || "Error", message: err.message || String(err) } });
  }
};
