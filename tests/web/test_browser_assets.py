"""Light pages in real Chromium: the bundles, their Workers and the service worker (docs/web.md, "Assets").

The module first brings vault/static/dist up to date with the sources (scripts/bundle.mjs,
under scripts/build-assets' lock); the server picks the new manifest up by itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import REPO
from tests.web.conftest import Web
from vault.web.field import SHELL_URLS

pytestmark = pytest.mark.slow

SW_READY = """async () => {
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((ok) => navigator.serviceWorker.addEventListener("controllerchange", ok, { once: true }));
  }
  return !!navigator.serviceWorker.controller;
}"""
CACHED = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    out[name] = [];
    for (const req of await cache.keys()) {
      const resp = await cache.match(req, { ignoreVary: true });
      out[name].push({ url: req.url, type: resp.headers.get("content-type") });
    }
  }
  return out;
}"""


@pytest.fixture(scope="module", autouse=True)
def bundled():
    if shutil.which("node") is None or shutil.which("flock") is None:
        pytest.skip("node and flock are needed to build the bundle")
    done = subprocess.run(["flock", "scripts/build-assets", "node", "scripts/bundle.mjs"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads((REPO / "vault" / "static" / "dist" / "manifest.json").read_text(encoding="utf-8"))


def _served(page) -> list:
    """Every response the page gets from now on."""
    got: list = []
    page.on("response", lambda r: got.append(r))
    return got


def _own(web: Web, responses) -> list[str]:
    return [r.url.removeprefix(web.url) for r in responses if r.url.startswith(web.url)]


def test_sign_in_runs_on_the_bundles(web, lawyer, bundled):
    page = web.page()
    responses = _served(page)
    web.login(page, lawyer.username, lawyer.password)
    paths = _own(web, responses)
    login = "/assets/" + bundled["assets"]["js/pages/login.js"]["file"]
    kdf = "/assets/" + bundled["assets"]["js/kdf-worker.js"]["file"]
    assert login in paths and kdf in paths  # the page, and Argon2id in the bundled Worker
    assert "/assets/" + bundled["assets"]["js/pages/cases.js"]["file"] in paths
    assert not [p for p in paths if p.startswith("/static/")], "no source module is loaded next to the bundle"
    assert all(r.status == 200 for r in responses if "/assets/" in r.url)
    assert page.errors == []


def test_the_bundled_encrypt_worker_uploads(web, lawyer, case_id, bundled, tmp_path):
    page = web.signed_in(lawyer)
    responses = _served(page)
    f = tmp_path / "note.txt"
    f.write_bytes("Жалал-Абад, 1-октябрь: протокол.\n".encode() * 2000)
    page.goto(f"{web.url}/cases/{case_id}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")
    page.set_input_files("#files", str(f))
    page.fill("#m-title", "Protocol note")
    page.click("#upload-button")
    page.wait_for_selector("#queue li.upload.done", timeout=120_000)
    assert "/assets/" + bundled["assets"]["js/encrypt-worker.js"]["file"] in _own(web, responses)
    assert page.errors == []


def test_the_service_worker_serves_the_assets_on_reload(web, bundled):
    page = web.page()
    page.goto(f"{web.url}/login")
    page.wait_for_selector("#login-button:not([disabled])")
    assert page.evaluate(SW_READY) is True  # clients.claim(): this page is controlled already
    page.wait_for_function("async () => (await caches.keys()).length > 0")
    sw_fetches: list[str] = []
    page.context.on("request", lambda r: sw_fetches.append(r.url) if r.service_worker else None)
    responses = _served(page)
    page.reload()
    page.wait_for_selector("#login-button:not([disabled])")
    assets = [r for r in responses if "/assets/" in r.url]
    names = {r.url.split("/assets/", 1)[1] for r in assets}
    login = bundled["assets"]["js/pages/login.js"]
    assert {login["file"], *login["preload"], bundled["assets"]["css/app.css"]["file"]} <= names
    not_from_sw = [r.url for r in assets if not r.from_service_worker]
    assert not_from_sw == []
    assert not [u for u in sw_fetches if "/assets/" in u], "the service worker answered from its cache, not the network"
    page_response = next(r for r in responses if r.url == f"{web.url}/login")
    assert not page_response.from_service_worker  # the page itself always comes from the server
    assert page.errors == []


def test_the_caches_hold_only_the_build(web, lawyer, case_id, bundled):
    page = web.signed_in(lawyer)
    page.wait_for_function("async () => (await caches.keys()).length > 0")
    for path in ("/cases", f"/cases/{case_id}", "/search", "/account"):
        page.goto(web.url + path)
        page.wait_for_load_state("load")
    page.evaluate(SW_READY)
    # Activated once its install (the whole precache, all or nothing) is done.
    page.wait_for_function("async () => (await navigator.serviceWorker.ready).active.state === 'activated'")
    cached = page.evaluate(CACHED)
    assets, shell = f"vault-assets-{bundled['version']}", f"vault-shell-{bundled['version']}"
    assert sorted(cached) == [assets, shell]
    urls = sorted(e["url"].removeprefix(web.url) for e in cached[assets])
    assert urls == sorted(f"/assets/{n}" for n in bundled["files"])
    for entry in cached[assets]:
        assert "html" not in (entry["type"] or "") and "json" not in (entry["type"] or ""), entry
    # The field app's shell (docs/field.md): its pages, catalogs, manifest and icons, and nothing of hers,
    # although she was signed in when the service worker fetched them.
    assert sorted(e["url"].removeprefix(web.url) for e in cached[shell]) == sorted(SHELL_URLS)
    for lang in ("en", "ru", "ky"):
        html = page.evaluate(f"async () => (await (await caches.open('{shell}')).match('/field/{lang}')).text()")
        assert lawyer.username not in html and '<meta name="csrf-token" content="">' in html
    assert page.errors == []


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_the_sign_in_page_at_390px(web, lang):
    page = web.page(phone=True, lang=lang)
    page.goto(f"{web.url}/login")
    page.wait_for_selector("#login-button:not([disabled])")
    # The stylesheet came from the bundle and applies (the page is not unstyled).
    assert page.evaluate("() => [...document.styleSheets].some((s) => (s.href || '').includes('/assets/css/app-') "
                         "&& s.cssRules.length > 20)")
    assert page.evaluate("() => document.documentElement.scrollWidth <= 390")
    web.shot(page, f"assets-login-{lang}")
