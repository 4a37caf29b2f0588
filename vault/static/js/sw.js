// The service worker: the app shell's code on the phone, so a repeat visit downloads only the page.
// Served at /sw.js (scope: the whole vault) by vault/web/assets.py, which writes PRECACHE above
// this file: the build's version and the URLs of its hashed, immutable assets (/assets/…).
//
// It caches those URLs and nothing else. Never an HTML page, never /api/, /web/ or /i18n/, never
// anything of a user: a phone taken at a checkpoint must not hold case data, names or keys in its
// caches. Every other request goes to the network exactly as without a service worker (the fetch
// handler does not answer it). Hand-written rather than workbox: a few dozen lines with nothing to
// configure or build, that a reviewer reads whole (docs/web.md, "Assets").
//
// Issue #15 (offline capture) adds its own handlers and caches here; give them another name than
// ASSET_PREFIX, whose caches this code deletes when a new build takes over.
/* global PRECACHE */

const ASSET_PREFIX = "vault-assets-";
const CACHE = ASSET_PREFIX + PRECACHE.version;
const URLS = new Set(PRECACHE.urls);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE.urls); // all or nothing: a half-filled cache never takes over
      await self.skipWaiting(); // hashed names: the old pages' files stay on the server one build
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(ASSET_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.search || !URLS.has(url.pathname)) return;
  event.respondWith(cacheFirst(req));
});

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
