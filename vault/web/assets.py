"""The browser's assets: esbuild's hashed bundles served immutable and precompressed, and the service worker.

scripts/bundle.mjs (run by scripts/build-assets) writes vault/static/dist/: every page
entry, Worker, shared chunk, the stylesheet and the favicon under a content-hash name,
each with a .br and a .gz beside it, and manifest.json (source name → hashed file, the
chunks a page imports, a hash of every input). Here:

- /assets/<name> serves only the names the manifest lists, the brotli or gzip bytes as
  built when the browser accepts them, cached for a year as immutable (the name changes
  with the content);
- asset(), asset_preloads() and asset_urls() give templates the hashed URLs (the page's
  <script>, its <link rel="modulepreload">s so the browser fetches every chunk at once,
  and the Workers' URLs, which context.js reads from the page);
- the translations catalog (/i18n/<lang>.json, up to ~110 KB in Kyrgyz, the same for
  everyone) is sent gzipped and revalidated by its ETag: a repeat visit costs one 304;
- /sw.js is the service worker (vault/static/js/sw.js) with the manifest's version and
  URLs above it: the asset URLs are all it ever caches.

Without a build, or when the sources changed since it (a hash in the manifest differs,
a page was added), the source modules under /static/ are used as before, with one
warning in the log. VAULT_WEB_ASSETS=source forces that, and sends the catalog plain as
before (the "before" of bench/web/pages.py). See docs/web.md, "Assets".
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, request, send_file, url_for

from vault.api.security import access

STATIC = Path(__file__).resolve().parents[1] / "static"
DIST = STATIC / "dist"
MANIFEST = DIST / "manifest.json"
SW_SOURCE = STATIC / "js" / "sw.js"
PREFIX = "/assets/"
SWITCH = "VAULT_WEB_ASSETS"  # "source": ignore dist/ (the unbundled "before" of the benchmark)
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))

log = logging.getLogger(__name__)
bp = Blueprint("assets", __name__)


@dataclass(frozen=True)
class Build:
    version: str
    assets: dict  # source name ("js/pages/login.js") → {"file": hashed name, "preload": [chunk names]}
    servable: frozenset  # this build's files and the previous build's (pages rendered just before a deploy)
    current: tuple  # this build's files: what the service worker precaches


_lock = threading.Lock()
_state: dict = {"stamp": None, "build": None, "warned": set()}


def _warn_once(reason: str, message: str) -> None:
    if reason not in _state["warned"]:
        _state["warned"].add(reason)
        log.warning("%s: serving the source modules from /static/ (run scripts/build-assets)", message)


def _entries() -> set[str]:
    js = STATIC / "js"
    names = {f"js/pages/{p.name}" for p in (js / "pages").glob("*.js")}
    return names | {f"js/{p.name}" for p in js.glob("*-worker.js")} | {"css/app.css"}


def _load() -> Build | None:
    try:
        data = json.loads(MANIFEST.read_text(encoding="utf-8"))
        assets, files, previous = data["assets"], list(data["files"]), list(data.get("previous", []))
        inputs, version = dict(data["inputs"]), str(data["version"])
    except (OSError, ValueError, KeyError, TypeError):
        _warn_once("unreadable", f"{MANIFEST} is unreadable")
        return None
    for name, digest in inputs.items():
        src = STATIC / name
        try:
            same = hashlib.sha256(src.read_bytes()).hexdigest() == digest
        except OSError:
            same = False  # a source deleted since the build
        if not same:
            _warn_once(f"stale:{version}", f"{name} changed since the bundle was built")
            return None
    missing = _entries() - set(assets)
    if missing:
        _warn_once(f"new:{version}", f"{sorted(missing)[0]} is not in the bundle")
        return None
    servable = frozenset(n for n in files + previous if _safe(n))
    return Build(version, assets, servable, tuple(n for n in files if n in servable))


def _safe(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and "\\" not in name and all(p not in ("", ".", "..") for p in parts)


def current() -> Build | None:
    """The build to serve, re-read when manifest.json is replaced; None: the source modules."""
    if os.environ.get(SWITCH) == "source":
        return None
    try:
        st = MANIFEST.stat()
    except OSError:
        _warn_once("missing", f"{MANIFEST} does not exist")
        return None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _lock:
        if stamp != _state["stamp"]:
            _state["build"], _state["stamp"] = _load(), stamp
        return _state["build"]


def asset(name: str) -> str:
    """The URL of a source asset ("js/pages/login.js", "css/app.css", "favicon.svg")."""
    build = current()
    entry = build.assets.get(name) if build else None
    if entry is None:
        return url_for("static", filename=name)
    return PREFIX + entry["file"]


def asset_preloads(name: str) -> list[str]:
    """The chunks an entry imports, for <link rel="modulepreload">: fetched at once, not import by import."""
    build = current()
    entry = build.assets.get(name) if build else None
    return [PREFIX + c for c in entry["preload"]] if entry else []


def asset_urls() -> dict[str, str]:
    """The Workers' URLs, rendered into the page (context.js workerUrl): a bundle cannot derive them itself."""
    return {name: asset(name) for name in sorted(_entries()) if name.endswith("-worker.js")}


def _accepts(coding: str) -> bool:
    return request.accept_encodings[coding] > 0


@bp.get(f"{PREFIX}<path:name>")
@access("public")
def serve(name: str):
    build = current()
    if build is None or name not in build.servable:
        abort(404)  # only what the manifest lists: no path of the request ever reaches the disk otherwise
    path = DIST / name
    suffix = path.suffix
    encoding = None
    for coding, ext in ENCODINGS:
        if _accepts(coding) and path.with_name(path.name + ext).is_file():
            encoding, path = coding, path.with_name(path.name + ext)
            break
    if not path.is_file():
        abort(404)
    resp = send_file(path, mimetype=TYPES.get(suffix, "application/octet-stream"), conditional=True, etag=True)
    if encoding:
        resp.headers["Content-Encoding"] = encoding
    resp.headers["Cache-Control"] = IMMUTABLE
    resp.headers["Vary"] = "Accept-Encoding"
    return resp


@bp.get("/sw.js")
@access("public")
def service_worker():
    """The service worker, at the root so its scope is the whole vault; revalidated on every load (no-cache)."""
    build = current()
    from vault.web.field import SHELL_URLS

    # Without a build nothing is kept: the source modules are not cached, so no shell could open offline.
    precache = {"version": build.version if build else "source",
                "urls": [PREFIX + n for n in build.current] if build else [],
                "shell": list(SHELL_URLS) if build else []}
    body = f"const PRECACHE = {json.dumps(precache)};\n{SW_SOURCE.read_text(encoding='utf-8')}"
    resp = Response(body, mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _light_catalog(resp: Response) -> Response:
    """Catalogs hold only interface texts, never a secret or what a request carried, so compressing
    them cannot leak one (BREACH). HTML pages are not compressed here: they carry the CSRF token."""
    if os.environ.get(SWITCH) == "source":
        return resp  # the benchmark's "before" is the vault as it was: plain, never cached
    if not (request.path.startswith("/i18n/") and request.method in ("GET", "HEAD")) \
            or resp.status_code != 200 or resp.direct_passthrough or resp.mimetype != "application/json":
        return resp
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.add_etag(weak=True)  # one ETag for the gzip and the plain bytes of the same catalog
    resp.make_conditional(request)
    if resp.status_code == 200 and _accepts("gzip"):
        resp.set_data(gzip.compress(resp.get_data(), compresslevel=6, mtime=0))
        resp.headers["Content-Encoding"] = "gzip"
    return resp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_light_catalog)
    app.add_template_global(asset)
    app.add_template_global(asset_preloads)
    app.add_template_global(asset_urls)
