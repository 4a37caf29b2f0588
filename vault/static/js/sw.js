// The service worker: the app shell's code on the phone, so a repeat visit downloads only the page,
// and the field app (issue #15), which must open with no connection at all.
// Served at /sw.js (scope: the whole vault) by vault/web/assets.py, which writes PRECACHE above
// this file: the build's version, the URLs of its hashed, immutable assets (/assets/…) and the
// field app's shell (vault/web/field.py SHELL_URLS).
//
// Two caches, nothing else, and never anything of a user: a phone taken at a checkpoint must not
// hold case data, names or keys in its caches.
// - The build's assets, cache first (their content never changes under a name).
// - The field app's shell: /field/<lang> (rendered the same for everyone: no user, no token), the
//   translation catalogs, the web app manifest and its icons. Network first, so an update shows
//   as soon as there is a link; the cached copy when there is none or it is too slow. The last
//   /field/<lang> opened is also kept as /field, the installed app's start page (before any is
//   opened: the shell in the browser's language).
// Every other request goes to the network exactly as without a service worker (the fetch handler
// does not answer it). Hand-written rather than workbox: a few dozen lines with nothing to
// configure or build, that a reviewer reads whole (docs/web.md, "Assets").
/* global PRECACHE */

const ASSET_PREFIX = "vault-assets-";
const SHELL_PREFIX = "vault-shell-";
const CACHE = ASSET_PREFIX + PRECACHE.version;
const SHELL = SHELL_PREFIX + PRECACHE.version;
const URLS = new Set(PRECACHE.urls);
const SHELL_URLS = new Set(PRECACHE.shell || []);
const START = "/field";
const NETWORK_WAIT_MS = 4000; // a slow link: the kept shell after this long, the network's answer still updates it

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE.urls); // all or nothing: a half-filled cache never takes over
      const shell = await caches.open(SHELL);
      // One by one: a shell page that fails now is fetched again on its next visit.
      await Promise.all([...SHELL_URLS].map((u) => fetch(u, { credentials: "omit" })
        .then((r) => r.ok && shell.put(u, r)).catch(() => {})));
      await self.skipWaiting(); // hashed names: the old pages' files stay on the server one build
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if ((name.startsWith(ASSET_PREFIX) && name !== CACHE) || (name.startsWith(SHELL_PREFIX) && name !== SHELL)) {
          await caches.delete(name);
        }
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.search) return;
  if (URLS.has(url.pathname)) event.respondWith(cacheFirst(req));
  else if (SHELL_URLS.has(url.pathname) || url.pathname === START) event.respondWith(shellFirst(req, url.pathname));
});

/** A page of the field app's shell: the network's when it answers in time, else the kept copy. */
async function shellFirst(req, path) {
  const cache = await caches.open(SHELL);
  const network = (async () => {
    // credentials omitted: the shell is the same for everyone, and a cookie must not make it differ.
    const resp = await fetch(path === START ? req : new Request(path, { credentials: "omit" }));
    if (resp.ok && resp.type === "basic" && path !== START) {
      await cache.put(path, resp.clone());
      if (path.startsWith(START + "/")) await cache.put(START, resp.clone());
    }
    return resp;
  })();
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_WAIT_MS, null));
  // The start page: the last /field/<lang> opened, else the shell in the browser's language (or English).
  const own = `${START}/${(self.navigator.language || "en").slice(0, 2)}`;
  const kept = async () => (await cache.match(path, { ignoreVary: true }))
    || (path === START ? (await cache.match(own)) || cache.match(`${START}/en`) : undefined);
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
    return (await kept()) || (await network);
  } catch {
    network.catch(() => {});
    const hit = await kept();
    if (hit) return hit;
    return new Response("The field app is not on this device yet: open it once with a connection.",
      { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }
}

/** One of the build's assets: from the cache, else the network (and kept: its content never changes). */
async function cacheFirst(req) {
  const cache = await caches.open(CACHE);
  // ignoreVary: the server varies on Accept-Encoding, but the cache holds the decoded bytes.
  const hit = await cache.match(req, { ignoreVary: true });
  if (hit) return hit;
  const resp = await fetch(req);
  if (resp.ok) await cache.put(req, resp.clone());
  return resp;
}
