"""Uploads that survive the page (docs/web.md "Uploads that survive the page").

The server of this module takes requests of at most 1 MiB, so every upload
is a known sequence of 1 MiB requests. A route lets the first few through
and cuts every later one: the upload is then caught mid-way at an exact
offset, retrying, whatever the machine's speed (no sleeping). From there the
page is reloaded, or the browser closed and opened again on the same
profile, and the upload goes on from the server's offset; the stored stream
must have the canonical size and decrypt record by record (tags checked) in
Python to the file, which makes it byte for byte the one-go encryption with
its header (_check_stored_stream), and the file downloaded by the Python
client is the original.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import Gunicorn, make_env
from tests.web.conftest import ARGS, CHROMIUM, MAX_EXPORT, Web

MiB = 1024 * 1024
PUTS = "**/api/v1/uploads/*?offset=*"
STATEMENT = "Мени ИВСте сабашты — Айгерим Токтосунова-Үмөт"
VICTIM = "Токтосунова-Үмөт Айгерим, 12.04.1999"


@pytest.fixture(scope="module")
def web(tmp_path_factory, chromium) -> Iterator[Web]:
    """A vault whose upload requests are at most 1 MiB: offsets are known in advance."""
    tmp = tmp_path_factory.mktemp("resume-web")
    env = make_env(tmp)
    settings = tmp / "vault.toml"
    settings.write_text(f"[vault.extra]\nmax_export_bytes = {MAX_EXPORT}\n", encoding="utf-8")
    srv = Gunicorn(env, workers=2, extra_env={"VAULT_CONFIG": str(settings), "VAULT_MAX_CHUNK_BYTES": str(MiB)})
    w = Web(env, srv, chromium, tmp)
    try:
        yield w
    finally:
        w.stop()


class Cut:
    """Let the first `allow` PUTs of ciphertext through, then cut every later one (connection reset)."""

    def __init__(self, page_or_ctx, allow: int):
        self.allow, self.seen, self.cut, self.target = allow, 0, 0, page_or_ctx
        page_or_ctx.route(PUTS, self._on)

    def _on(self, route):
        if route.request.method != "PUT":
            return route.continue_()
        self.seen += 1
        if self.seen <= self.allow:
            return route.continue_()
        self.cut += 1
        return route.abort("connectionreset")

    def wait_cut(self, page, timeout: float = 120) -> None:
        """Until the page has tried (and failed) to send beyond the allowed requests."""
        deadline = time.monotonic() + timeout
        while not self.cut:
            assert time.monotonic() < deadline, f"no request was cut ({self.seen} sent); errors={page.errors}"
            page.wait_for_timeout(50)

    def lift(self) -> None:
        self.target.unroute(PUTS)


def _file(tmp: Path, name: str, size: int, seed: bytes = b"") -> Path:
    folder = tmp / f"f{time.monotonic_ns()}"
    folder.mkdir()
    path = folder / name
    path.write_bytes(seed + os.urandom(size - len(seed)))
    return path


def _start_upload(web: Web, page, case_id: str, path: Path, title: str = "Statement video") -> None:
    page.goto(f"{web.url}/cases/{case_id}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")
    page.set_input_files("#files", str(path))
    page.fill("#m-title", title)
    page.select_option("#m-evidence_type", "video")
    page.fill("#victim", VICTIM)
    page.fill("#statement", STATEMENT)
    page.click("#upload-button")


def _server_upload(web: Web, upload_id: str) -> dict | None:
    from sqlalchemy import select

    from vault.db.engine import Database
    from vault.db.models import Upload

    db = Database(web.env.config.db_url)
    try:
        with db.session() as s:
            up = s.scalars(select(Upload).where(Upload.id == upload_id)).first()
            return None if up is None else {"received": up.received, "size": up.total_size}
    finally:
        db.dispose()


def _journal_records(page) -> list[dict]:
    """The IndexedDB journal as the browser stores it: what is in the clear, and the sealed bytes as hex."""
    return page.evaluate("""() => new Promise((resolve, reject) => {
      const open = indexedDB.open("vault-uploads");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains("journal")) return resolve([]);
        const req = db.transaction("journal").objectStore("journal").getAll();
        req.onsuccess = () => resolve(req.result.map((r) => ({
          keys: Object.keys(r).sort(), upload_id: r.upload_id, case_id: r.case_id,
          sealed: [...r.sealed].map((b) => b.toString(16).padStart(2, "0")).join("") })));
        req.onerror = () => reject(req.error);
      };
    })""")


def _check_stored_stream(web: Web, user, item_id: str, original: Path) -> None:
    """The stored ciphertext is what one uninterrupted upload stores; the download is the file.

    Secretstream is deterministic given the key, the header, the plaintext and the tags: a stream
    of the canonical size that decrypts, record by record with the expected tags (MESSAGE, then
    FINAL last), to the file under this item key and header is byte for byte the one-go encryption
    of the file with that header. Any stray, repeated or re-encrypted byte would fail its record's tag.
    """
    from vault import crypto
    from vault.client.transfer import download_item, fetch_item

    _item, manifest, _body, _sig, item_key = fetch_item(user.session, item_id)
    stored = requests.get(f"{web.url}/api/v1/items/{item_id}/content", headers=web.bearer(user.username, user.password),
                          timeout=60).content
    data = original.read_bytes()
    assert len(stored) == crypto.stream_ciphertext_size(len(data))
    pieces = (stored[i:i + 1_000_003] for i in range(0, len(stored), 1_000_003))
    assert b"".join(crypto.decrypt_stream(item_key, pieces)) == data
    out = web.tmp / f"dl-{item_id}"
    download_item(user.session, item_id, out=out)
    assert out.read_bytes() == data
    assert manifest["filename"] == original.name and manifest["size"] == len(data)


def test_a_reload_mid_upload_resumes_from_the_servers_offset_byte_identical(web, lawyer, case_id, tmp_path):
    web.sealed += [STATEMENT.encode(), VICTIM.encode()]
    path = _file(tmp_path, "statement_Aigerim.mp4", 8 * MiB + 12345)
    page = web.signed_in(lawyer)
    cut = Cut(page, allow=6)
    _start_upload(web, page, case_id, path)
    cut.wait_cut(page)

    # The journal is in IndexedDB, sealed: nothing of the file, statement or key in the clear.
    [rec] = _journal_records(page)
    assert rec["keys"] == ["case_id", "saved_at", "sealed", "upload_id", "user_id"] and rec["case_id"] == case_id
    sealed = bytes.fromhex(rec["sealed"])
    for secret in (STATEMENT.encode(), VICTIM.encode(), path.name.encode(), b"statebuf", b"item_key"):
        assert secret not in sealed
    held = _server_upload(web, rec["upload_id"])
    assert held == {"received": 6 * MiB, "size": held["size"]}

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
    cut.lift()
    puts: list[str] = []
    page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
    page.reload()
    assert dialogs == ["beforeunload"]  # the running upload asked before the page went
    row = page.locator(f'#unfinished-list li[data-upload-id="{rec["upload_id"]}"]')
    row.wait_for()
    assert path.name in row.text_content() and "Statement video" in row.text_content()

    # Another file of the same name, size and time is refused: its first part differs.
    impostor = tmp_path / "other" / path.name
    impostor.parent.mkdir()
    impostor.write_bytes(b"\0" + path.read_bytes()[1:])
    st = path.stat()
    os.utime(impostor, ns=(st.st_atime_ns, st.st_mtime_ns))
    row.locator(".resume-file").set_input_files(str(impostor))
    page.wait_for_function("() => !document.querySelector('#alert').hidden")
    assert "differs" in page.text_content("#alert")
    assert not puts  # nothing was sent from the other file
    assert _server_upload(web, rec["upload_id"])["received"] == 6 * MiB

    row = page.locator(f'#unfinished-list li[data-upload-id="{rec["upload_id"]}"]')
    row.locator(".resume-file").set_input_files(str(path))
    page.wait_for_selector("#unfinished-list li.upload.done", timeout=120_000)
    assert puts and f"offset={6 * MiB}" in puts[0]  # went on from the server's offset: nothing resent
    item_id = page.get_attribute("#unfinished-list li.upload.done", "data-item-id")
    assert _server_upload(web, rec["upload_id"]) is None
    assert _journal_records(page) == []  # the journal goes with the finished upload
    _check_stored_stream(web, lawyer, item_id, path)
    assert page.errors == []


def test_a_closed_browser_reopened_on_the_same_profile_resumes(web, lawyer, case_id, tmp_path):
    web.sealed += [STATEMENT.encode(), VICTIM.encode()]
    path = _file(tmp_path, "interview.mov", 5 * MiB + 7)
    profile = tmp_path / "profile"

    def browser():
        ctx = web.browser.browser_type.launch_persistent_context(str(profile), executable_path=CHROMIUM,
                                                                 args=[*ARGS, "--password-store=basic"])
        ctx.set_default_timeout(60_000)
        return ctx

    ctx = browser()
    try:
        page = ctx.new_page()
        page.errors = []
        web.login(page, lawyer.username, lawyer.password)
        cut = Cut(ctx, allow=3)
        _start_upload(web, page, case_id, path, title="Interview")
        cut.wait_cut(page)
        [rec] = _journal_records(page)
    finally:
        ctx.close()  # the browser goes, mid-upload, without asking (a phone killing the page)
    assert _server_upload(web, rec["upload_id"])["received"] == 3 * MiB

    ctx = browser()
    try:
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        web.login(page, lawyer.username, lawyer.password)  # a new browser session: sign in again
        page.goto(f"{web.url}/cases/{case_id}")
        row = page.locator(f'#unfinished-list li[data-upload-id="{rec["upload_id"]}"]')
        row.wait_for()
        assert path.name in row.text_content()
        puts: list[str] = []
        page.on("request", lambda r: puts.append(r.url) if r.method == "PUT" else None)
        row.locator(".resume-file").set_input_files(str(path))
        page.wait_for_selector("#unfinished-list li.upload.done", timeout=120_000)
        assert f"offset={3 * MiB}" in puts[0]
        item_id = page.get_attribute("#unfinished-list li.upload.done", "data-item-id")
        # The case's evidence list shows the finished item.
        page.wait_for_selector(f'#item-list li[data-item-id="{item_id}"]')
        assert page.errors == []
    finally:
        ctx.close()
        shutil.rmtree(profile, ignore_errors=True)
    _check_stored_stream(web, lawyer, item_id, path)


def test_the_unfinished_list_cancels_and_the_servers_partial_is_gone(web, lawyer, case_id, tmp_path):
    web.sealed += [STATEMENT.encode(), VICTIM.encode()]
    path = _file(tmp_path, "cell_photos.zip", 4 * MiB)
    page = web.signed_in(lawyer)
    cut = Cut(page, allow=2)
    _start_upload(web, page, case_id, path, title="Cell photos")
    cut.wait_cut(page)
    [rec] = _journal_records(page)
    staged = web.env.config.upload_dir / rec["upload_id"]
    assert staged.exists() and staged.stat().st_size == 2 * MiB
    assert _server_upload(web, rec["upload_id"])["received"] == 2 * MiB

    page.on("dialog", lambda d: d.accept())
    page.goto(f"{web.url}/cases/{case_id}")  # the first page leaves (it asks; accepted)
    row = page.locator(f'#unfinished-list li[data-upload-id="{rec["upload_id"]}"]')
    row.wait_for()
    assert "Cell photos" in row.text_content() and path.name in row.text_content()
    web.shot(page, "case-unfinished-en")
    row.locator(".cancel-upload").click()
    row.wait_for(state="detached")
    page.wait_for_selector("#unfinished", state="hidden")
    assert _server_upload(web, rec["upload_id"]) is None
    assert not staged.exists()  # the partial is gone from the server's disk
    assert _journal_records(page) == []
    listed = requests.get(f"{web.url}/api/v1/cases/{case_id}/uploads",
                          headers=web.bearer(lawyer.username, lawyer.password), timeout=30).json()
    assert listed == {"uploads": []}
    assert page.errors == []


def test_an_upload_started_elsewhere_can_be_cancelled_but_not_resumed_here(web, lawyer, case_id):
    """An upload the CLI began (no journal in this browser) is listed with cancel only."""
    from vault import crypto

    start = lawyer.session.http.post(f"/cases/{case_id}/uploads", {
        "size": crypto.stream_ciphertext_size(3 * MiB),
        "key_version": 1, "metadata": {"title": "From the laptop", "evidence_type": "document"}})
    page = web.signed_in(lawyer)
    page.goto(f"{web.url}/cases/{case_id}")
    row = page.locator(f'#unfinished-list li[data-upload-id="{start["upload_id"]}"]')
    row.wait_for()
    assert row.locator(".resume-file").count() == 0 and "another browser" in row.text_content()
    row.locator(".cancel-upload").click()
    row.wait_for(state="detached")
    assert _server_upload(web, start["upload_id"]) is None


def test_leaving_a_page_with_a_running_upload_asks_first(web, lawyer, case_id, tmp_path):
    path = _file(tmp_path, "report.pdf", 3 * MiB)
    page = web.signed_in(lawyer)
    web.sealed += [STATEMENT.encode(), VICTIM.encode()]
    cut = Cut(page, allow=1)
    _start_upload(web, page, case_id, path)
    cut.wait_cut(page)
    dialogs: list[str] = []

    def stay(d):
        dialogs.append(d.type)
        d.dismiss()

    page.on("dialog", stay)
    upload_url = page.url
    from playwright.sync_api import Error as PlaywrightError

    with pytest.raises(PlaywrightError):
        page.goto(f"{web.url}/cases/{case_id}", timeout=10_000)  # the person chose to stay
    assert dialogs == ["beforeunload"] and page.url == upload_url
    cut.lift()
    page.wait_for_selector("#queue li.upload.done", timeout=120_000)  # the upload carried on
    page.remove_listener("dialog", stay)
    page.on("dialog", lambda d: dialogs.append(d.type))
    page.goto(f"{web.url}/cases/{case_id}")  # nothing running: no question
    assert dialogs == ["beforeunload"]


def test_sealed_fields_are_emptied_after_an_upload_unless_kept(web, lawyer, case_id, tmp_path):
    from vault.client.transfer import fetch_item

    web.sealed += [STATEMENT.encode(), VICTIM.encode()]
    page = web.signed_in(lawyer, phone=True)
    _start_upload(web, page, case_id, _file(tmp_path, "photo1.jpg", 200_000), title="First")
    page.wait_for_selector("#queue li.upload.done")
    # The done row is on screen, not 2,600 px below.
    assert page.evaluate("""() => { const r = document.querySelector('#queue li.upload.done').getBoundingClientRect();
                                    return r.top >= 0 && r.bottom <= innerHeight; }""")
    assert page.input_value("#victim") == "" and page.input_value("#statement") == ""
    assert page.input_value("#m-title") == "First"  # the searchable fields stay

    # Kept when asked: the next file gets them too.
    page.fill("#victim", VICTIM)
    page.fill("#statement", STATEMENT)
    page.check("#keep-sealed")
    page.set_input_files("#files", str(_file(tmp_path, "photo2.jpg", 100_000)))
    page.click("#upload-button")
    page.wait_for_selector("#queue li.upload.done >> nth=1")
    assert page.input_value("#victim") == VICTIM and page.input_value("#statement") == STATEMENT
    page.uncheck("#keep-sealed")
    page.set_input_files("#files", str(_file(tmp_path, "photo3.jpg", 100_000)))
    page.click("#upload-button")
    page.wait_for_selector("#queue li.upload.done >> nth=2")
    assert page.input_value("#victim") == ""
    # The next file chosen after that is sealed without them.
    page.set_input_files("#files", str(_file(tmp_path, "photo4.jpg", 100_000)))
    page.click("#upload-button")
    page.wait_for_selector("#queue li.upload.done >> nth=3")
    ids = page.eval_on_selector_all("#queue li.upload.done", "els => els.map(e => e.dataset.itemId)")
    sealed = [fetch_item(lawyer.session, i)[0]["sealed"] for i in ids]
    assert [s.get("victim") for s in sealed] == [VICTIM, VICTIM, VICTIM, None]
    assert page.errors == []


def test_a_text_statement_is_previewed_as_text(web, lawyer, case_id):
    """A .txt statement (UTF-8, or Windows-1251 from an older editor) shows its text on the item page, never as HTML."""
    text = "Арыз: 2026-жылдын 1-октябрында ИВСте сабашты.\n<script>window.pwned = 1</script>\nҢ Ө Ү ң ө ү"
    utf8 = web.upload(lawyer, case_id, "statement.txt", text.encode("utf-8"), "Statement (text)")
    russian = "Заявление: меня избили в ИВС."
    cp1251 = web.upload(lawyer, case_id, "zayavlenie.txt", russian.encode("cp1251"), "Statement (cp1251)")
    page = web.signed_in(lawyer)
    for item_id, want in ((utf8, text), (cp1251, russian)):
        page.goto(f"{web.url}/items/{item_id}")
        page.wait_for_selector("#verify-state.ok")
        page.wait_for_selector("#preview pre.text-preview")
        assert page.text_content("#preview pre.text-preview") == want
    assert page.evaluate("window.pwned") is None and page.locator("#preview script").count() == 0
    assert page.errors == []


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_unfinished_uploads_at_phone_width(web, lawyer, case_id, tmp_path, lang):
    """The case and upload pages with an unfinished upload, at 390 px in Kyrgyz and Russian (screenshots)."""
    web.sealed += [STATEMENT.encode(), VICTIM.encode()]
    me = web.bearer(lawyer.username, lawyer.password)
    requests.patch(f"{web.url}/api/v1/me", json={"language": lang}, headers=me, timeout=30).raise_for_status()
    page = web.signed_in(lawyer, phone=True, lang=lang)
    cut = Cut(page, allow=1)
    _start_upload(web, page, case_id, _file(tmp_path, "video_2026-10-01.mp4", 3 * MiB), title="Видео")
    cut.wait_cut(page)
    page.on("dialog", lambda d: d.accept())
    cut.lift()
    for where in ("", "/upload"):
        page.goto(f"{web.url}/cases/{case_id}{where}")
        page.wait_for_selector("#unfinished-list li.unfinished")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert "Cancel upload" not in page.text_content("#unfinished")  # translated
        web.shot(page, f"{'upload' if where else 'case'}-unfinished-{lang}")
    page.locator("#unfinished-list .cancel-upload").first.click()
    page.wait_for_selector("#unfinished", state="hidden")
    requests.patch(f"{web.url}/api/v1/me", json={"language": "en"}, headers=me, timeout=30).raise_for_status()
