// What the server rendered into this page about the visit: who is signed in, the page's
// language, the CSRF token and test switches. Read from <body data-…> and <meta> only, so
// every module agrees on them without asking the server again.
const body = document.body;

export const lang = body.dataset.lang || "en";

// Mutable on purpose: the sign-in page fills in username once the session starts.
export const me = { username: body.dataset.username, id: body.dataset.userId, role: body.dataset.role };

// TEST-ONLY: rendered only when the server runs with the test flag.
export const allowTestKdf = body.dataset.testKdf === "1";

// Read at each use: the sign-in page replaces the token when the session starts.
export const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

// The Workers' URLs: hashed names of the bundle (vault/web/assets.py asset_urls), or the source
// modules when the server runs without a build. A bundled module cannot find its Worker next to
// itself (import.meta.url is a shared chunk's), so the page says where it is.
const assetUrls = JSON.parse(document.getElementById("asset-urls")?.textContent || "{}");
export const workerUrl = (name) => new URL(assetUrls[`js/${name}`] || `/static/js/${name}`, location.origin);
