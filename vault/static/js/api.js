// The one way the page talks to the server: /api/v1 (and the /web/ session routes) with the
// session cookie and the CSRF token, the translation catalog, and the two uploads that need
// progress (XHR, since fetch reports no upload progress). A refusal arrives as
// {"error": {"code", "message", …}} and becomes an ApiFailure carrying that code.
import { csrfToken, me } from "./context.js";
import { endSession } from "./session.js";

export class ApiFailure extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** The ApiFailure for an error response, from its parsed body (null if it was not JSON). */
function failure(status, out, fallbackMessage) {
  const e = (out && out.error) || {};
  return new ApiFailure(status, e.code || `http_${status}`, e.message || fallbackMessage, e);
}

/**
 * Call /api/v1 with the session cookie and the CSRF token. `anonymous`: without the cookie (and
 * so without the token), for the public sign-in calls of a page that has no token yet (field app).
 */
export async function api(method, path, data, { headers = {}, raw = false, anonymous = false } = {}) {
  const init = anonymous ? { method, credentials: "omit", headers: { ...headers } }
    : { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken(), ...headers } };
  if (data !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(data);
  }
  let resp;
  try {
    resp = await fetch(path.startsWith("/web/") ? path : `/api/v1${path}`, init);
  } catch (exc) {
    throw new ApiFailure(0, "network", exc.message);
  }
  if (raw && resp.ok) return resp;
  let out = null;
  try {
    out = await resp.json();
  } catch {
    out = null;
  }
  if (!resp.ok) {
    const e = (out && out.error) || {};
    if (resp.status === 401 && me.username && (e.code === "session_expired" || e.code === "unauthenticated")) {
      endSession("expired");
    }
    throw failure(resp.status, out, resp.statusText);
  }
  return out;
}

/**
 * Tell the server the person is still at the page (reading, scrolling): web sessions end
 * after the lock time without a request. A refused session ends the page as api() does.
 */
export function touchSession() {
  return api("GET", "/me").catch(() => undefined);
}

/** The page's translations (a static file: no CSRF token); undefined if the server has none. */
export async function fetchCatalog(lang) {
  const resp = await fetch(`/i18n/${encodeURIComponent(lang)}.json`, { credentials: "same-origin" });
  return resp.ok ? await resp.json() : undefined;
}

/**
 * Turn a bearer token from /auth/login into the HttpOnly session cookie (the page never
 * stores the token). Returns the Response: the caller decides what a refusal means.
 */
export function startWebSession(token) {
  return fetch("/web/session", { method: "POST", credentials: "same-origin",
    headers: { Authorization: `Bearer ${token}` } });
}

/** One PUT of ciphertext to /api/v1<path>, with upload progress; resolves to the JSON answer (or null). */
export function putBytes(path, bytes, onProgress, csrf) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `/api/v1${path}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = (ev) => onProgress(ev.loaded);
    xhr.onload = () => {
      let out = null;
      try {
        out = JSON.parse(xhr.responseText);
      } catch {
        out = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(out);
      else reject(failure(xhr.status, out, ""));
    };
    xhr.onerror = () => reject(new ApiFailure(0, "network", "connection lost"));
    xhr.ontimeout = xhr.onerror;
    xhr.send(bytes);
  });
}

/**
 * POST a multipart form to /api/v1<path>, reporting onSent(loaded, total, false) while it goes
 * and onSent(1, 1, true) once the body is sent; resolves to the JSON answer, which must exist.
 */
export function postForm(path, formData, onSent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1${path}`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.responseType = "json";
    xhr.upload.onprogress = (ev) => onSent(ev.loaded, ev.total, false);
    xhr.upload.onload = () => onSent(1, 1, true);
    xhr.onload = () => {
      const out = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300 && out) resolve(out);
      else reject(failure(xhr.status, out, ""));
    };
    xhr.onerror = () => reject(new ApiFailure(0, "network", "connection lost"));
    xhr.send(formData);
  });
}

/** Whether the vault answers at all (navigator.onLine says only that there is some network). */
export async function vaultAnswers() {
  try {
    return (await fetch("/api/v1/auth/params", { cache: "no-store", credentials: "omit" })).ok;
  } catch {
    return false;
  }
}

/** This browser's live cookie session as /web/session/csrf describes it ({csrf_token, username, …}), or null. */
export async function cookieSession() {
  try {
    const resp = await fetch("/web/session/csrf", { credentials: "same-origin" });
    return resp.ok ? await resp.json() : null;
  } catch {
    return null;
  }
}
