"""A browser export larger than anything the server takes (issue #13, item 5; docs/exports.md "The browser").

A 200 MB video, far over this server's browser-export limit (12 MiB, tests/web/conftest.py), is
exported in Chromium: the page decrypts it chunk by chunk into a ZIP it streams into the Origin
Private File System, and the download is that disk-backed file. Checked: the bundle verifies
offline, the video in it is the original byte for byte, the server never received it (every export
request is small), the audit log holds the bundle's SHA-256 the page showed, the page's JavaScript
heap stayed far below the file's size (CDP Performance.getMetrics, sampled while it ran), and the
decrypted copy leaves the browser's storage (the button, and a left-over found at the next load).

Also: in an anonymous (OMCT) export a small text attachment still goes to the server, whose leak
scan reads it: one that names the victim refuses the export — "the whole ZIP is searched" holds
for the ZIP the browser writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

import pytest
import requests

from tests.export.test_anonymity import leaky_case
from tests.web.conftest import ADMIN_PASSWORD, MAX_EXPORT

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

MiB = 1024 * 1024
SIZE = 200 * MiB
HEAP_GROWTH_MAX = 64 * MiB  # the page's JS heap may grow by this much at most while it writes 200 MB
# With the ArrayBuffers: every chunk is a new one, freed at the next GC, which V8 starts once about
# 64 MB of them were allocated; so the garbage peaks near that, whatever the size. A file held whole
# (200 MiB) would be far over.
BUFFERS_GROWTH_MAX = 128 * MiB
OPFS_NAMES = """async () => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("vault-exports", { create: true });
  const names = [];
  for await (const name of dir.keys()) names.push(name);
  return names;
}"""


def _video(path) -> str:
    """A 200 MB file, each MiB different (a chunk written out of place changes the hash); its SHA-256."""
    block = os.urandom(MiB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for n in range(SIZE // MiB):
            chunk = n.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _member_sha256(zf: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with zf.open(name) as src:
        while chunk := src.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def _body_size(request) -> int:
    """A request's body size as sent (Content-Length): Playwright's sizes() counts no Blob parts."""
    return int(request.all_headers().get("content-length", "0"))


def _heap(cdp) -> tuple[int, int]:
    """The page's JS heap, and that plus the backing stores of its ArrayBuffers (where a buffered file would sit)."""
    heap = next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "JSHeapUsedSize")
    return int(heap), int(heap + cdp.send("Runtime.getHeapUsage")["backingStorageSize"])


def test_a_200_mb_export_streams_onto_the_disk_with_flat_memory(web, lawyer, case_id, tmp_path):
    from vault.client.transfer import upload_file
    from vault.export.verify import verify_bundle

    assert SIZE > 10 * MAX_EXPORT
    source = tmp_path / "interrogation.mp4"
    want = _video(source)
    video = upload_file(lawyer.session, case_id, source, {"title": "Interrogation video", "evidence_type": "video"},
                        media_type="video/mp4")["item_id"]
    source.unlink()
    photo = web.upload_photo(lawyer, case_id, "injuries.png", "Photo of the injuries")
    web.upload_record(lawyer, case_id, web.browser_record(photo))

    page = web.signed_in(lawyer)
    sent = []
    page.on("requestfinished", lambda r: sent.append((r.url, _body_size(r)))
            if r.method == "POST" and "/exports" in r.url else None)
    downloads = []
    page.on("download", lambda d: downloads.append(d))
    page.goto(f"{web.url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    page.check("#export-draft")
    page.wait_for_function("() => !document.querySelector('#export-button').disabled")
    assert page.is_checked(f"#att-{video}") and page.is_checked(f"#att-{photo}")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    cdp.send("HeapProfiler.collectGarbage")
    base = _heap(cdp)
    peak, samples = base, 0
    page.click("#export-button")
    # Sampled while the export runs, until the page says it is done (or failed: then the test fails below).
    while not page.is_visible("#export-done") and not page.is_visible("#alert"):
        peak = tuple(map(max, peak, _heap(cdp)))
        samples += 1
        page.wait_for_timeout(100)
    assert not page.is_visible("#alert"), page.text_content("#alert")
    peak = tuple(map(max, peak, _heap(cdp)))
    assert samples >= 3
    grew = [(p - b) / MiB for p, b in zip(peak, base, strict=True)]
    print(f"grew: JS heap {grew[0]:.1f} MiB, with ArrayBuffers {grew[1]:.1f} MiB, {samples} samples")
    assert peak[0] - base[0] < HEAP_GROWTH_MAX, f"JS heap grew by {grew[0]:.1f} MiB for a {SIZE // MiB} MiB file"
    assert peak[1] - base[1] < BUFFERS_GROWTH_MAX, f"ArrayBuffers grew by {grew[1]:.1f} MiB for {SIZE // MiB} MiB"
    steps = page.locator("#export-steps li").all_text_contents()
    assert any("writing the bundle onto this device" in s for s in steps)

    # The download is the ZIP the page wrote; it verifies, and the video in it is the original.
    page.wait_for_function("() => document.querySelector('#export-download').href.startsWith('blob:')")
    if not downloads:
        with page.expect_download() as dl:
            page.click("#export-download")
        downloads.append(dl.value)
    bundle = tmp_path / "large.zip"
    downloads[0].save_as(bundle)
    assert bundle.stat().st_size > SIZE
    digest = hashlib.sha256()
    with bundle.open("rb") as src:
        while chunk := src.read(4 * MiB):
            digest.update(chunk)
    assert page.text_content("#done-sha").strip() == digest.hexdigest()
    report = verify_bundle(bundle)
    assert report.ok, report.findings
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        annex = json.loads(zf.read("custody/annex.json"))
        entry = next(i for i in annex["items"] if i["item_id"] == video)
        assert entry["size"] == SIZE and entry["sha256"] == want
        assert _member_sha256(zf, entry["path"]) == want
        assert zf.read("custody/annex.sig").strip()
    assert sorted(n for n in names if n.startswith("attachments/")) == ["attachments/injuries.png",
                                                                         "attachments/interrogation.mp4"]
    assert {n.rsplit(".", 1)[-1] for n in names if "/" not in n} == {"docx", "pdf"}

    # Neither file crossed the server: every export request was small.
    assert [u.rsplit("/", 1)[-1] for u, _ in sent] == ["validate", "exports", "record"]
    assert all(0 < size < MiB for _, size in sent), sent
    entries = requests.get(f"{web.url}/api/v1/admin/audit?limit=1000", timeout=30,
                           headers=web.bearer("admin", ADMIN_PASSWORD)).json()["entries"]
    done = [e for e in entries if e["action"] == "case_exported"][-1]
    details = done["details"] if isinstance(done["details"], dict) else json.loads(done["details"])
    assert details["via"] == "browser" and details["bundle_sha256"] == digest.hexdigest()
    rendered = [e for e in entries if e["action"] == "export_rendered"][-1]
    rdetails = rendered["details"] if isinstance(rendered["details"], dict) else json.loads(rendered["details"])
    assert rdetails["server_read"] == [] and rdetails["annex_sha256"] == details["annex_sha256"]

    # The decrypted copy leaves the browser's storage.
    assert len(page.evaluate(OPFS_NAMES)) == 1
    page.click("#export-forget")
    page.wait_for_selector("#export-forgotten:not([hidden])")
    assert page.evaluate(OPFS_NAMES) == []
    # A page killed mid-way leaves a file behind: the next export page removes it.
    page.evaluate("""async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("vault-exports", { create: true });
      const w = await (await dir.getFileHandle("left-over.zip", { create: true })).createWritable();
      await w.write(new Uint8Array(1000)); await w.close();
    }""")
    assert page.evaluate(OPFS_NAMES) == ["left-over.zip"]
    page.reload()
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.wait_for_function(f"async () => ({OPFS_NAMES})().then(n => n.length === 0)")
    assert page.errors == []


def test_an_anonymous_export_still_scans_the_text_attachments(web, lawyer, case_id):
    """OMCT must not learn the name: a .txt naming the victim is read by the server's scan, and refused."""
    note = web.upload(lawyer, case_id, "statement.txt", "Показания: Токтогулов Азамат избит в ИВС.".encode(),
                      "Statement", "document", media_type="text/plain")
    record = leaky_case()
    record["attachments"] = []
    web.upload_record(lawyer, case_id, record)
    page = web.signed_in(lawyer)
    page.goto(f"{web.url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="omct"]')
    page.check("#exp-omct")
    page.check("#export-draft")
    page.wait_for_function("() => !document.querySelector('#check-button').disabled")
    page.click("#check-button")
    page.wait_for_selector("#redact-row:not([hidden])")
    page.check("#export-redact")  # the record's texts are redacted; the attachment cannot be
    posts = []
    page.on("requestfinished", lambda r: posts.append(r) if r.method == "POST" and r.url.endswith("/exports") else None)
    page.click("#export-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert page.is_checked(f"#att-{note}")
    assert len(posts) == 1 and _body_size(posts[0]) > 0
    problems = page.text_content("#problems")
    assert "attachments/attachment-01-document.txt (contents)" in problems
    assert page.locator("#export-done").is_hidden()
    assert page.evaluate(OPFS_NAMES) == []
    assert page.errors == []
    # The record of a browser's bundle needs the user's own signature over the annex it names.
    import base64

    forged = {"exporter": "omct", "bundle_sha256": "0" * 64, "items": [note],
              "annex_b64": base64.b64encode(b'{"items": []}').decode(),
              "signature_b64": base64.b64encode(os.urandom(64)).decode()}
    r = requests.post(f"{web.url}/api/v1/cases/{case_id}/exports/record", json=forged, timeout=30,
                      headers=web.bearer(lawyer.username, lawyer.password))
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_signature"


TINY_QUOTA = """(() => {
  const real = navigator.storage.estimate.bind(navigator.storage);
  navigator.storage.estimate = async () => (window.tinyQuota ? { quota: 4096, usage: 1024 } : real());
})();"""


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_no_room_is_said_then_the_export_is_made(web, lawyer, case_id, lang):
    """Too little storage for the bundle: the page says how much is needed and what to do, in the
    user's language, and writes nothing; with room, the same export is made. Screenshots at 390 px."""
    from tests.web.test_browser_forensic_view import _in_language

    photo = web.upload_photo(lawyer, case_id, "injuries.png", "Photo of the injuries")
    web.upload_record(lawyer, case_id, web.browser_record(photo))
    page = web.signed_in(lawyer, phone=True, lang=lang)
    _in_language(web, page, lang)
    page.add_init_script(TINY_QUOTA)
    page.goto(f"{web.url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    page.check("#export-draft")
    page.wait_for_function("() => !document.querySelector('#export-button').disabled")
    page.evaluate("window.tinyQuota = true")
    page.click("#export-button")
    page.wait_for_selector("#alert:not([hidden])")
    said = page.text_content("#alert")
    assert {"ky": "бош орун жетишсиз", "ru": "недостаточно свободного места"}[lang] in said
    web.shot(page, f"export-no-room-{lang}")
    assert page.evaluate(OPFS_NAMES) == []
    page.evaluate("window.tinyQuota = false")
    with page.expect_download():
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    assert {"ky": "браузерден азыр өчүрүү", "ru": "из браузера сейчас"}[lang] in page.text_content("#export-forget")
    web.shot(page, f"export-done-{lang}")
    assert len(page.evaluate(OPFS_NAMES)) == 1
    assert page.errors == []


def test_a_forensic_report_is_rendered_by_the_server_and_the_photo_written_here(web, lawyer, make_user, case_id,
                                                                                  tmp_path):
    """The mixed case: the server reads the report (rendered to PDF and DOCX), the page writes the photo."""
    from vault.export.verify import verify_bundle

    medic = make_user("medic", "bakyt")
    lawyer.session.add_member(case_id, medic.username)
    web.sealed.append(b"Dr. Ainura Sydykova")
    report = web.upload_report(medic, case_id, "Dr. Ainura Sydykova")
    photo = web.upload_photo(lawyer, case_id, "injuries.png", "Photo of the injuries")
    web.upload_record(lawyer, case_id, web.browser_record(photo))
    page = web.signed_in(lawyer)
    page.goto(f"{web.url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    page.check("#export-draft")
    page.wait_for_function("() => !document.querySelector('#export-button').disabled")
    with page.expect_download(timeout=120_000) as dl:
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    bundle = tmp_path / "mixed.zip"
    dl.value.save_as(bundle)
    assert verify_bundle(bundle).ok
    got = web.read_bundle(bundle)
    roles = {f["path"]: f["role"] for f in got["annex"]["files"]}
    rendered = sorted(p for p, role in roles.items() if role == "forensic_report")
    assert [p.rsplit(".", 1)[-1] for p in rendered] == ["docx", "pdf"]
    assert roles["attachments/injuries.png"] == "attachment"
    with zipfile.ZipFile(bundle) as zf:
        assert b"Dr. Ainura Sydykova" not in b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".json"))
    entries = requests.get(f"{web.url}/api/v1/admin/audit?limit=1000", timeout=30,
                           headers=web.bearer("admin", ADMIN_PASSWORD)).json()["entries"]
    last = [e for e in entries if e["action"] == "export_rendered"][-1]
    details = last["details"] if isinstance(last["details"], dict) else json.loads(last["details"])
    assert details["server_read"] == [report] and set(details["items"]) == {report, photo}
    assert page.errors == []


def test_without_a_writable_opfs_small_exports_are_made_in_memory_and_large_ones_refused(web, lawyer, case_id,
                                                                                         tmp_path):
    """An older browser (no createWritable): the same bundle as a Blob up to the limit; over it, told why."""
    from vault.export.verify import verify_bundle

    photo = web.upload_photo(lawyer, case_id, "injuries.png", "Photo of the injuries")
    big = web.upload(lawyer, case_id, "long.mp4", os.urandom(MAX_EXPORT + MiB), "Long video", "video",
                     media_type="video/mp4")
    web.upload_record(lawyer, case_id, web.browser_record(photo))
    page = web.signed_in(lawyer)
    page.add_init_script("delete FileSystemFileHandle.prototype.createWritable;")
    page.goto(f"{web.url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    page.check("#export-draft")
    page.wait_for_function("() => !document.querySelector('#export-button').disabled")
    page.click("#export-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "recent Chrome, Edge or Firefox" in page.text_content("#alert")
    page.uncheck(f"#att-{big}")
    with page.expect_download(timeout=120_000) as dl:
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    bundle = tmp_path / "in-memory.zip"
    dl.value.save_as(bundle)
    assert verify_bundle(bundle).ok
    assert "attachments/injuries.png" in web.read_bundle(bundle)["names"]
    assert page.evaluate(OPFS_NAMES) == []
    assert page.errors == []
