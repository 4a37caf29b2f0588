"""The field app (issue #15): capture with no connection, send when the link returns, wipe.

One online visit and sign-in; then the link really goes (a TCP proxy in front
of gunicorn refuses connections, and Chromium is told it is offline, so the
service worker's own fetches fail too). Offline, the lawyer opens her keys
from the device's copy, takes a photo, records an audio statement (Chromium's
fake microphone) and writes a note; reloads; closes the browser and opens it
again on the same profile. Online again, the three go out by themselves and
are checked with the Python client: byte for byte what was captured, each
with a capture statement signed on the device that matches the file, its
device time before the server's receipt time.

The profile is read file by file while the items wait (no marker of the
content, no private key in any encoding) and after the quick wipe (nothing of
the vault in IndexedDB, Cache Storage, service worker storage, Local Storage).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path

import pytest

from tests.tcpproxy import Proxy
from tests.web.conftest import ARGS, CHROMIUM, Web
from tests.web.test_browser_profile import _encodings

PHOTO_MARKER = "FIELD-PHOTO-MARKER-7c41e9"
NOTE_MARKER = "FIELD-NOTE-MARKER-b93d02"
NOTE = f"{NOTE_MARKER}: Ош шаарынын ИИБде түнкүсүн сабашты, көзү көгөргөн, ңөү."
# The stores a page can write; what Chromium keeps of history and preferences is not the vault's.
STORES = ("IndexedDB", "Service Worker", "Local Storage", "Session Storage", "File System", "blob_storage",
          "shared_proto_db")


def _photo() -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", PHOTO_MARKER)
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 90, 160)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _context(web: Web, profile: Path, url: str):
    ctx = web.browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=[*ARGS, "--use-fake-device-for-media-stream",
                                                      "--use-fake-ui-for-media-stream"],
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2,
        geolocation={"latitude": 42.874621, "longitude": 74.569762, "accuracy": 12})
    ctx.grant_permissions(["microphone", "geolocation"], origin=url)
    ctx.set_default_timeout(60_000)
    return ctx


def _page(ctx):
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    return page


def _open_keys(page, user) -> None:
    page.fill("#field-username", user.username)
    page.fill("#field-password", user.password)
    page.click("#field-unlock")
    page.wait_for_selector("#capture:not([hidden])")


def _offline(ctx, proxy: Proxy) -> None:
    proxy.go_down()
    ctx.set_offline(True)


def _online(ctx, proxy: Proxy) -> None:
    proxy.come_up()
    ctx.set_offline(False)


def _waiting(page) -> list[str]:
    return page.eval_on_selector_all("#outbox-list li", "els => els.map(e => e.dataset.state)")


def _files(profile: Path):
    for store in STORES:
        for f in (profile / "Default" / store).rglob("*") if (profile / "Default" / store).exists() else ():
            if f.is_file() and not f.is_symlink():
                try:
                    yield f, f.read_bytes()
                except OSError:
                    continue


def _needles(text: str) -> list[bytes]:
    return [text.encode(), text.encode("utf-16-le")]


@pytest.fixture
def proxy(web):
    p = Proxy(int(web.url.rsplit(":", 1)[1]))
    yield p
    p.close()


def test_captured_offline_arrives_verified_and_wipe_leaves_nothing(web, lawyer, case_id, proxy, tmp_path):
    from vault.client.transfer import download_item

    url = proxy.url
    profile = tmp_path / "profile"
    photo = _photo()
    web.sealed.append(NOTE_MARKER.encode())

    # One online visit: sign in (the organisation is pinned), open the field app, keep the device ready.
    ctx = _context(web, profile, url)
    page = _page(ctx)
    web.login(page, lawyer.username, lawyer.password, base=url)
    page.goto(f"{url}/field")
    page.wait_for_url("**/field/*")
    _open_keys(page, lawyer)
    page.wait_for_function("() => caches.keys().then(ks => ks.some(k => k.startsWith('vault-shell-')))")
    page.wait_for_function("""() => caches.keys().then(async ks => { const c = await caches.open(ks.find(k => k.startsWith('vault-shell-')));
        return !!(await c.match('/field/en')) && !!(await c.match('/i18n/en.json')); })""")
    # Chromium's own judgement: the page can be installed as an app (manifest, icons, service worker).
    cdp = ctx.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest") and not manifest["errors"]

    # Offline: the shell comes from the service worker, the keys from the device's copy.
    _offline(ctx, proxy)
    page.reload()
    page.wait_for_selector("#unlock-hint-copy:not([hidden])")
    assert page.get_attribute("#link-state", "data-state") == "offline"
    _open_keys(page, lawyer)
    page.select_option("#capture-case", case_id)

    page.check("#capture-location")
    page.set_input_files("#photo-input", files=[{"name": "IMG_0001.png", "mimeType": "image/png", "buffer": photo}])
    page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 1")
    page.uncheck("#capture-location")
    page.click("#audio-start")
    page.wait_for_selector("#audio-stop:not([hidden])")
    page.wait_for_timeout(2500)  # functional: a recording of some length
    page.click("#audio-stop")
    page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 2")
    page.fill("#note-text", NOTE)
    page.click("#note-save")
    page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 3")
    assert _waiting(page) == ["waiting"] * 3
    captured_by = datetime.now().astimezone()

    # A reload while offline: the three wait, listed before the keys are open.
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 3")
    assert "Waiting" in page.text_content("#outbox-list")
    web.shot(page, "field-offline-waiting-en")
    ctx.close()

    # The closed browser's profile: no marker of the content, no private key, in any store or encoding.
    blobs = [b for _f, b in _files(profile)]
    assert sum(map(len, blobs)) > len(photo)  # the outbox really is on disk
    for marker in (PHOTO_MARKER, NOTE_MARKER, "Ош шаарынын"):
        for needle in _needles(marker):
            assert not any(needle in b for b in blobs), f"the profile holds {marker!r}"
    keys = lawyer.session.keys
    for name, secret in (("box_secret", keys.box_secret), ("sign_seed", keys.sign_seed)):
        for needle in _encodings(secret):
            assert not any(needle in b for b in blobs), f"the profile holds {name}"

    # The browser opens again on the same profile, still offline; the items are there.
    ctx = _context(web, profile, url)
    ctx.set_offline(True)
    page = _page(ctx)
    page.goto(f"{url}/field")
    page.wait_for_function("() => document.querySelectorAll('#outbox-list li').length === 3")
    _open_keys(page, lawyer)
    assert "Ош" in page.text_content("#outbox-list") or "KG-" in page.text_content("#outbox-list")

    # The link returns: they go out by themselves.
    _online(ctx, proxy)
    page.wait_for_selector("#outbox-empty:not([hidden])", timeout=120_000)
    assert "3" in page.text_content("#outbox-sent")
    assert page.errors == []

    items = lawyer.session.http.get(f"/cases/{case_id}/items")["items"]
    (tmp_path / "got").mkdir()
    assert sorted(i["evidence_type"] for i in items) == ["audio", "photo", "statement"]
    for item in items:
        path, manifest = download_item(lawyer.session, item["id"], out_dir=tmp_path / "got")
        data = path.read_bytes()
        capture = manifest["capture"]
        assert capture["verified"] is True, capture
        assert capture["sha256"] == hashlib.sha256(data).hexdigest() == manifest["sha256"]
        device = datetime.fromisoformat(capture["device_time"].replace("Z", "+00:00"))
        receipt = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        assert device < receipt and device <= captured_by
        if item["evidence_type"] == "photo":
            assert data == photo
            assert capture["location"] == {"lat": "42.874621", "lon": "74.569762", "accuracy_m": 12}
        elif item["evidence_type"] == "statement":
            assert data == NOTE.encode() and manifest["media_type"] == "text/plain"
            assert capture["location"] is None
        else:
            assert manifest["media_type"].startswith("audio/") and len(data) > 1000
            assert data[:4] in (b"\x1aE\xdf\xa3", b"OggS")  # a WebM (Matroska) or Ogg recording

    # The quick wipe, signed in: warned (the dialog is accepted), then nothing of the vault is left.
    page.click("#quick-wipe")
    page.wait_for_url("**/web/logout")
    assert "wiped" in page.text_content("h1").lower()
    assert not any(c["name"] == "vault_session" for c in ctx.cookies())  # Clear-Site-Data "cookies"
    ctx.close()
    _assert_wiped(web, profile, url)


def _assert_wiped(web: Web, profile: Path, url: str) -> None:
    """What the browser holds of the vault after the wipe, seen by a page of the vault and read off the disk."""
    ctx = _context(web, profile, url)
    try:
        page = _page(ctx)
        page.goto(f"{url}/favicon.ico")  # the vault's origin, and no script of the vault's
        held = page.evaluate("""async () => ({
            databases: (await indexedDB.databases()).map(d => d.name), caches: await caches.keys(),
            workers: (await navigator.serviceWorker.getRegistrations()).length, local: localStorage.length })""")
        assert held == {"databases": [], "caches": [], "workers": 0, "local": 0}
    finally:
        ctx.close()
    origin = url.split("//")[1].encode()
    left = {str(f.relative_to(profile)) for f, b in _files(profile) if origin in b or b"vault" in b}
    assert not any((profile / "Default" / "IndexedDB").glob("*127.0.0.1*")), "the origin's databases are still on disk"
    # What Chromium itself keeps of deleted records: its LevelDB stores shared by all sites (Local Storage,
    # the service worker registrations) append deletions to their log, which still holds the deleted records
    # until it compacts (SECURITY.md, "The field app"). Nothing else may name the vault.
    # Only the logs themselves, and only in those two stores.
    assert all(p.endswith(".log") and str(Path(p).parent) in ("Default/Local Storage/leveldb",
                                                              "Default/Service Worker/Database") for p in left), left


def test_a_page_killed_while_sending_resumes_and_sends_the_item_once(web, lawyer, case_id, tmp_path):
    """The browser dies mid-upload on a slow link; opened again, the item goes on from the server's offset."""
    from PIL import Image

    from tests.tcpproxy import SlowLink

    buf = io.BytesIO()
    Image.effect_noise((2400, 1600), 80).convert("RGB").save(buf, "JPEG", quality=95)
    photo = buf.getvalue()
    assert len(photo) > 2 * 1024 * 1024  # more than one request of the upload
    link = SlowLink(int(web.url.rsplit(":", 1)[1]), None)
    profile = tmp_path / "profile"
    try:
        ctx = _context(web, profile, link.url)
        page = _page(ctx)
        web.login(page, lawyer.username, lawyer.password, base=link.url)
        page.goto(f"{link.url}/field")
        _open_keys(page, lawyer)
        _offline(ctx, link)
        page.select_option("#capture-case", case_id)
        page.set_input_files("#photo-input", files=[{"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        page.wait_for_selector("#outbox-list li[data-state=waiting]")
        link.rate = 300_000  # bytes per second towards the server: a rural mobile link
        _online(ctx, link)
        page.wait_for_function("""() => { const s = document.querySelector('#outbox-list li .state');
            const m = s && s.textContent.match(/(\\d+) %/); return m && Number(m[1]) >= 50; }""", timeout=120_000)
        ctx.close()  # the phone kills the browser mid-upload

        link.rate = None
        ctx = _context(web, profile, link.url)
        page = _page(ctx)
        starts = []
        page.on("request", lambda r: starts.append(r.url) if r.method == "POST" and r.url.endswith("/uploads") else None)
        page.goto(f"{link.url}/field")
        page.wait_for_selector("#outbox-list li")
        _open_keys(page, lawyer)
        page.wait_for_selector("#outbox-empty:not([hidden])", timeout=120_000)
        assert starts == []  # resumed from its journal: no second upload was started
        ctx.close()
    finally:
        link.close()
    from vault.client.transfer import download_item

    photos = [i for i in lawyer.session.http.get(f"/cases/{case_id}/items")["items"] if i["evidence_type"] == "photo"]
    assert len(photos) == 1
    (tmp_path / "got").mkdir()
    path, manifest = download_item(lawyer.session, photos[0]["id"], out_dir=tmp_path / "got")
    assert path.read_bytes() == photo and manifest["capture"]["verified"] is True
