// Every page's entry: boot() wires what all pages share (language switch, translations, the
// lock button, sign-out, the idle lock), starts the crypto and then enables the forms. The
// shared pieces themselves live in their own modules (api.js, i18n.js, keys.js, …).
import { me } from "./context.js";
import * as vc from "./crypto.js";
import { $ } from "./dom.js";
import { showError } from "./feedback.js";
import { loadCatalog } from "./i18n.js";
import { lockNow, startInactivityLock } from "./lock.js";
import { forgetSessionKeys } from "./session.js";

/** Start a page: translations, crypto, session controls. */
export async function boot() {
  // Before the first await: a choice made while the catalog loads must not be lost.
  const sel = $("#language-select");
  if (sel) sel.addEventListener("change", () => sel.form.requestSubmit());
  await loadCatalog();
  const lockButton = $("#lock-button");
  if (lockButton) lockButton.addEventListener("click", lockNow);
  const logout = $("#logout-form");
  if (logout) logout.addEventListener("submit", () => forgetSessionKeys());
  if (me.username) startInactivityLock();
  try {
    await vc.ready();
  } catch (err) {
    showError(err);
    throw err;
  }
  // Forms are handled by the page scripts, never submitted natively (a password must never end up
  // in a URL): their buttons start disabled and are enabled once the page script, which continues
  // right after boot() resolves, has attached its handlers.
  setTimeout(() => document.querySelectorAll("[data-js-enable]").forEach((b) => (b.disabled = false)), 0);
  registerServiceWorker();
}

/** The service worker that keeps the hashed assets (sw.js), once the page has loaded: never in its way. */
function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const start = () => navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {}); // only slower without it
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start, { once: true });
}
