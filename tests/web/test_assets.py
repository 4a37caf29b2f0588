"""The asset server (vault/web/assets.py) over a real esbuild build (scripts/bundle.mjs), without a browser.

The build goes into this module's own folder (bundle.mjs --out), so the test neither
waits for nor disturbs vault/static/dist, which other runs may be serving.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, make_env
from vault.web import assets


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    if shutil.which("node") is None or not (REPO / "node_modules" / "esbuild").is_dir():
        pytest.skip("node and node_modules/esbuild are needed (scripts/build-assets)")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(["node", "scripts/bundle.mjs", "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def built(dist, monkeypatch) -> dict:
    monkeypatch.setattr(assets, "DIST", dist)
    monkeypatch.setattr(assets, "MANIFEST", dist / "manifest.json")
    monkeypatch.setitem(assets._state, "stamp", None)
    monkeypatch.delenv(assets.SWITCH, raising=False)
    return json.loads((dist / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def client(tmp_path):
    from vault.app import create_app

    app = create_app(make_env(tmp_path).config)
    yield app.test_client()
    app.extensions["vault"].db.dispose()


def brotli_decode(data: bytes) -> bytes:
    """Node's zlib: the test extras have no Python brotli package."""
    js = "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(0)))"
    return subprocess.run(["node", "-e", js], input=data, capture_output=True, check=True).stdout


def page_assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


def test_the_page_names_hashed_assets_and_preloads_its_chunks(client, built):
    html = client.get("/login").get_data(as_text=True)
    login = built["assets"]["js/pages/login.js"]
    assert f'<script type="module" src="/assets/{login["file"]}"></script>' in html
    assert re.fullmatch(r"js/pages/login-[A-Z0-9]{8}\.js", login["file"])
    assert login["preload"], "the sign-in page imports shared chunks"
    for chunk in login["preload"]:
        assert f'<link rel="modulepreload" href="/assets/{chunk}">' in html
    assert f'href="/assets/{built["assets"]["css/app.css"]["file"]}"' in html
    assert f'href="/assets/{built["assets"]["favicon.svg"]["file"]}"' in html
    assert "/static/js/" not in html and "/static/css/" not in html
    urls = json.loads(re.search(r'<script type="application/json" id="asset-urls">(.*?)</script>', html).group(1))
    assert urls == {name: "/assets/" + built["assets"][name]["file"]
                    for name in ("js/encrypt-worker.js", "js/hash-worker.js", "js/kdf-worker.js")}


def test_assets_are_immutable_and_typed(client, built):
    html = client.get("/login").get_data(as_text=True)
    for url in page_assets(html):
        resp = client.get(url, headers={"Accept-Encoding": "identity"})
        assert resp.status_code == 200, url
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["Vary"] == "Accept-Encoding"
        assert "Content-Encoding" not in resp.headers
        assert "Set-Cookie" not in resp.headers
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        want = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[url.rsplit(".", 1)[1]]
        assert resp.mimetype == want
        assert resp.data == (assets.DIST / url.removeprefix("/assets/")).read_bytes()


@pytest.mark.parametrize("accept, coding", [("br", "br"), ("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"),
                                            ("gzip;q=1.0, br;q=0", "gzip"), ("deflate", None)])
def test_precompressed_bytes_decompress_to_the_built_file(client, built, accept, coding):
    names = [a["file"] for a in built["assets"].values()] + built["files"]
    biggest = max(names, key=lambda n: (assets.DIST / n).stat().st_size)
    assert biggest.startswith("chunks/")  # libsodium (its wasm inside) with crypto.js
    for name in {biggest, built["assets"]["js/pages/login.js"]["file"], built["assets"]["css/app.css"]["file"]}:
        original = (assets.DIST / name).read_bytes()
        resp = client.get("/assets/" + name, headers={"Accept-Encoding": accept})
        assert resp.status_code == 200
        assert resp.headers.get("Content-Encoding") == coding
        assert int(resp.headers["Content-Length"]) == len(resp.data)
        body = {"br": brotli_decode, "gzip": gzip.decompress, None: lambda b: b}[coding](resp.data)
        assert body == original
        if coding:
            assert len(resp.data) < len(original)


def test_the_wasm_chunk_is_small_on_the_wire(built):
    biggest = max(built["files"], key=lambda n: (assets.DIST / n).stat().st_size)
    raw = (assets.DIST / biggest).stat().st_size
    assert b"WebAssembly.instantiate" in (assets.DIST / biggest).read_bytes()
    assert (assets.DIST / (biggest + ".br")).stat().st_size < raw * 0.4


@pytest.mark.parametrize("path", [
    "/assets/manifest.json", "/assets/../manifest.json", "/assets/%2e%2e/manifest.json", "/assets/js/../manifest.json",
    "/assets/js/pages/login.js", "/assets/chunks/", "/assets/", "/assets//etc/passwd", "/assets/..%2fmanifest.json",
    "/assets/%2fetc%2fpasswd", "/assets/js%5cpages%5clogin.js",
])
def test_names_not_in_the_manifest_are_not_found(client, built, path):
    assert client.get(path, follow_redirects=True).status_code == 404  # "//" is merged (308) first


def test_a_precompressed_name_is_not_served_as_such(client, built):
    name = built["assets"]["js/pages/login.js"]["file"]
    assert client.get(f"/assets/{name}.br").status_code == 404
    assert client.get(f"/assets/{name}.gz").status_code == 404


def test_the_service_worker_precaches_exactly_the_build(client, built):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Cache-Control"] == "no-cache"
    head, _, rest = resp.get_data(as_text=True).partition("\n")
    precache = json.loads(head.removeprefix("const PRECACHE = ").removesuffix(";"))
    assert precache["version"] == built["version"]
    assert sorted(precache["urls"]) == sorted("/assets/" + n for n in built["files"])
    assert all(u.startswith("/assets/") for u in precache["urls"])
    assert rest == (REPO / "vault" / "static" / "js" / "sw.js").read_text(encoding="utf-8")


def test_without_a_build_the_source_modules_are_served(client, built, monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(assets, "MANIFEST", tmp_path / "nothing" / "manifest.json")
    monkeypatch.setitem(assets._state, "warned", set())
    with caplog.at_level("WARNING", logger="vault.web.assets"):
        html = client.get("/login").get_data(as_text=True)
        client.get("/cases")
    assert '<script type="module" src="/static/js/pages/login.js"></script>' in html
    assert 'href="/static/css/app.css"' in html and "modulepreload" not in html
    assert '"js/kdf-worker.js": "/static/js/kdf-worker.js"' in html
    assert len([r for r in caplog.records if "source modules" in r.getMessage()]) == 1  # once, not per page
    assert client.get("/static/js/pages/login.js").status_code == 200
    assert client.get("/assets/" + built["assets"]["js/pages/login.js"]["file"]).status_code == 404
    sw = client.get("/sw.js").get_data(as_text=True)
    assert sw.startswith('const PRECACHE = {"version": "source", "urls": [], "shell": []};')


def test_the_switch_ignores_the_build(client, built, monkeypatch):
    monkeypatch.setenv(assets.SWITCH, "source")
    html = client.get("/login").get_data(as_text=True)
    assert "/static/js/pages/login.js" in html and "/assets/" not in html


def test_a_stale_build_is_not_served(client, built, monkeypatch, tmp_path):
    """A source changed since the build (a hash in the manifest differs): its bundle would run old code."""
    manifest = json.loads(assets.MANIFEST.read_text(encoding="utf-8"))
    manifest["inputs"]["js/app.js"] = "0" * 64
    stale = tmp_path / "manifest.json"
    stale.write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(assets, "MANIFEST", stale)
    html = client.get("/login").get_data(as_text=True)
    assert "/static/js/pages/login.js" in html and "/assets/" not in html


def test_the_catalog_is_gzipped_and_revalidated(client):
    plain = client.get("/i18n/ky.json", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    zipped = client.get("/i18n/ky.json", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 3
    assert zipped.headers["Cache-Control"] == "no-cache"
    again = client.get("/i18n/ky.json", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    other = client.get("/i18n/ru.json", headers={"If-None-Match": zipped.headers["ETag"]})
    assert other.status_code == 200


def test_pages_are_neither_compressed_nor_cached(client):
    """A page carries the CSRF token next to what the request named: compressed, it could leak (BREACH)."""
    resp = client.get("/login", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"


def test_without_precompressed_files_the_plain_bytes_are_served(client, built, tmp_path, monkeypatch):
    """An install that carries the bundle but not its .br/.gz (package data) still serves it, uncompressed."""
    copy = tmp_path / "dist"
    shutil.copytree(assets.DIST, copy)
    for sibling in [*copy.rglob("*.br"), *copy.rglob("*.gz")]:
        sibling.unlink()
    monkeypatch.setattr(assets, "DIST", copy)
    monkeypatch.setattr(assets, "MANIFEST", copy / "manifest.json")
    name = built["assets"]["js/pages/login.js"]["file"]
    resp = client.get("/assets/" + name, headers={"Accept-Encoding": "gzip, br"})
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers
    assert resp.data == (copy / name).read_bytes()
