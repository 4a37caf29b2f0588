"""The web UI in a real browser (Debian chromium through Playwright) against real gunicorn workers.

One server and one browser serve the whole module; the tests run in order and
build on each other like the coalition's day: the admin sets up and invites,
the lawyer opens a case and uploads over a connection that breaks, the medic
files a forensic report from a phone, the CLI and the browser read each other's
uploads, the lawyer fills in the case record and exports for the Akyikatchy
(the bundle verified offline and its documents read back), pages through
search results, a changed key is accepted after comparing fingerprints, and at
the end nothing sealed is found on the server's disk or in its logs.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import pytest
import requests

from tests.conftest import Gunicorn, assert_nowhere, make_env
from tests.core.cli_helpers import Cli

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path("/tmp/ui-shots")
MARKER = b"MARKER-c41e9b-BROWSER-SEALED"
VICTIM = "Айгерим Токтосунова-Үмөт"
STATEMENT = "MARKER-c41e9b statement: beaten at the ИВС"
CLINICIAN = "Др. Өмүрбек Ташиев"
PHOTO_NAME = "injuries_of_Aigerim_back.png"
BIG_NAME = "video_Aigerim_statement.bin"
CLI_NAME = "scan_of_Aigerim_complaint.pdf"
PASSWORDS = {"admin": "admin-Pässwörd-web-1", "aigul": "lawyer-Pässwörd-web-2", "bakyt": "medic-Pässwörd-web-3"}
XSS_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
FAMILY, FIRST = "Токтосунова-Үмөт", "Айгерим"  # VICTIM, as the case record stores the name
FACTS_KY = "MARKER-c41e9b факттар: 2026-жылдын 1-октябрында ИВСте союл менен сабашты, күнөөсүн мойнуна алдырууну талап кылышты."
APPLICANT = "Гүлнара Садыкова-Өмүрзак"
CAMERA_MODEL = "Model-Xq7"  # in the EXIF of the photos the browser seals: never on the server's disk
MAX_EXPORT = 12 * 1024 * 1024  # below the 20 MB video: choosing it must be refused before anything is sent
S: dict = {}  # what the ordered tests hand to each other


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is missing")
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium")
    tmp = tmp_path_factory.mktemp("web")
    env = make_env(tmp)
    settings = tmp / "vault.toml"
    settings.write_text(f"[vault.extra]\nmax_export_bytes = {MAX_EXPORT}\n", encoding="utf-8")
    srv = Gunicorn(env, workers=2, extra_env={"VAULT_CONFIG": str(settings)})
    pw = sync_api.sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    w = {"env": env, "srv": srv, "url": srv.url, "browser": browser, "tmp": tmp, "stopped": False}
    yield w
    browser.close()
    pw.stop()
    if not w["stopped"]:
        srv.stop()


def new_page(world, phone: bool = False, lang: str | None = None):
    opts = {"accept_downloads": True}
    if phone:
        opts.update(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    ctx = world["browser"].new_context(**opts)
    if lang:
        ctx.add_cookies([{"name": "vault_lang", "value": lang, "url": world["url"]}])
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def register(page, url: str, invitation: str, username: str, password: str, setup: bool = False) -> str:
    page.goto(f"{url}/setup" if setup else f"{url}/register#invite={invitation}")
    if setup:
        page.fill("#invitation", invitation)
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#password2", password)
    page.click("#register-button")
    try:
        page.wait_for_selector("#register-done:not([hidden])")
    except sync_api.TimeoutError as exc:
        raise AssertionError(f"registration did not finish: alert={page.text_content('#alert')!r} "
                             f"invitation={page.input_value('#invitation')!r} errors={page.errors}") from exc
    assert "password" not in page.url and "?" not in page.url
    fpr = page.text_content("#my-fingerprint").strip()
    assert len(fpr.split()) == 6
    assert page.text_content("#recovery-fingerprint").strip()
    return fpr


def login(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    page.wait_for_url(lambda u: "/login" not in u)
    assert "password" not in page.url  # the form is never submitted natively


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_admin_sets_up_and_invites(world):
    page = new_page(world)
    url = world["url"]
    S["admin_fpr"] = register(page, url, world["env"].admin_invitation, "admin", PASSWORDS["admin"], setup=True)
    login(page, url, "admin", PASSWORDS["admin"])
    assert page.url.endswith("/admin")
    for role in ("lawyer", "medic"):
        page.select_option("#invite-role", role)
        page.click("#invite-form button[type=submit]")
        page.wait_for_selector("#invite-result:not([hidden])")
        page.wait_for_function("() => document.querySelector('#invite-token').textContent.length > 10")
        S[f"invite_{role}"] = page.text_content("#invite-token").strip()
        assert page.input_value("#invite-link").endswith("/register#invite=" + S[f"invite_{role}"])
        page.evaluate("() => { document.querySelector('#invite-token').textContent = ''; }")
    assert S["invite_lawyer"] != S["invite_medic"]
    page.wait_for_selector("#audit-verify.ok")
    assert page.errors == []
    S["admin_page"] = page


def test_lawyer_registers_creates_case_and_uploads_through_a_broken_connection(world):
    url, tmp = world["url"], world["tmp"]
    page = new_page(world)
    register(page, url, S["invite_lawyer"], "aigul", PASSWORDS["aigul"])
    login(page, url, "aigul", PASSWORDS["aigul"])
    assert page.url.endswith("/cases")
    page.fill("#reference", "KG-2026-101")
    page.fill("#case-title", "Beating in temporary detention, Jalal-Abad")
    page.select_option("#case-region", "jalal_abad")
    page.click("#case-form button[type=submit]")
    page.wait_for_url("**/cases/*")
    S["case_id"] = page.url.rstrip("/").split("/")[-1]

    from PIL import Image, PngImagePlugin

    photo = tmp / PHOTO_NAME
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", MARKER.decode())
    Image.new("RGB", (64, 48), (180, 40, 40)).save(photo, pnginfo=info)
    big = tmp / BIG_NAME
    with open(big, "wb") as f:
        f.write(os.urandom(10 * 1024 * 1024) + MARKER + os.urandom(10 * 1024 * 1024))
    S["photo"], S["big"] = photo, big

    # Cut the connection twice: once before a chunk reaches the server, once after
    # the server stored it but before the browser heard back.
    cuts = {"puts": 0, "before": 0, "after": 0}

    def on_put(route):
        if route.request.method != "PUT":
            return route.continue_()
        cuts["puts"] += 1
        if cuts["puts"] == 5:
            cuts["before"] += 1
            return route.abort("connectionreset")
        if cuts["puts"] == 12:
            route.fetch()  # delivered and stored...
            cuts["after"] += 1
            return route.abort("connectionreset")  # ...but the answer is lost
        return route.continue_()

    page.route("**/api/v1/uploads/*?offset=*", on_put)
    workers: list[str] = []
    page.on("worker", lambda w: workers.append(w.url))
    page.goto(f"{url}/cases/{S['case_id']}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")  # the page script listens for the files now
    page.set_input_files("#files", [str(photo), str(big)])
    page.fill("#m-title", "Injuries and statement video")
    page.select_option("#m-evidence_type", "photo")
    page.select_option("#m-region", "jalal_abad")
    page.fill("#victim", VICTIM)
    page.fill("#statement", STATEMENT)
    page.click("#upload-button")
    page.wait_for_function("() => document.querySelectorAll('#queue li.upload.done').length === 2", timeout=180_000)
    assert page.locator("#queue li.failed").count() == 0
    assert cuts["before"] == 1 and cuts["after"] == 1
    # Encrypted off the page's thread: one worker per file, and the resends came from the page's copy.
    assert sum(u.endswith("/encrypt-worker.js") for u in workers) == 2
    ids = page.eval_on_selector_all("#queue li.upload.done", "els => els.map(e => e.dataset.itemId)")
    S["photo_item"], S["big_item"] = ids
    page.unroute("**/api/v1/uploads/*?offset=*")

    # The photo is decrypted and shown in the browser, with its custody details.
    page.goto(f"{url}/items/{S['photo_item']}")
    page.wait_for_selector("#verify-state.ok")
    assert page.eval_on_selector("#preview img", "img => img.src.startsWith('blob:') && img.naturalWidth") == 64
    custody = page.text_content("#custody")
    assert PHOTO_NAME in custody and "aigul" in custody
    assert VICTIM in page.text_content("#sealed")
    assert page.errors == []
    S["lawyer_page"] = page


def test_lawyer_adds_the_medic_after_comparing_fingerprints(world):
    url = world["url"]
    medic = new_page(world, phone=True)
    S["medic_fpr"] = register(medic, url, S["invite_medic"], "bakyt", PASSWORDS["bakyt"])
    S["medic_page"] = medic
    page = S["lawyer_page"]
    page.goto(f"{url}/cases/{S['case_id']}")
    page.fill("#member-username", "bakyt")
    page.click("#member-form button[type=submit]")
    page.wait_for_selector("#member-confirm:not([hidden])")
    assert page.text_content("#member-fingerprint").strip() == S["medic_fpr"]
    page.click("#member-grant")  # refused until the box is ticked
    page.wait_for_selector("#alert:not([hidden])")
    page.check("#member-compared")
    page.click("#member-grant")
    page.wait_for_function("() => document.querySelector('#member-list').textContent.includes('bakyt')")


def test_medic_files_a_forensic_report_from_a_phone(world):
    url, tmp = world["url"], world["tmp"]
    page = S["medic_page"]
    login(page, url, "bakyt", PASSWORDS["bakyt"])
    page.goto(f"{url}/cases/{S['case_id']}/forensic")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.fill("#f-title", "Istanbul Protocol examination")
    page.fill("#exam_date", "2026-10-02")
    page.fill("#exam_place", "Жалал-Абад облустук ооруканасы")
    page.check("#informed_consent")
    page.fill("#clinician_name", CLINICIAN)
    page.fill("#clinician_qualifications", "Соттук-медициналык эксперт")
    page.fill("#allegations", f"{VICTIM}: beaten on the back with batons")
    page.fill("#pe-skin", "Linear bruises on the back, 3 x 12 cm")
    page.click("#add-finding")
    page.fill("#findings .f-lesion", "Tramline bruising of the back")
    page.select_option("#findings .f-method", "beating")
    page.select_option("#findings .f-consistency", "highly_consistent")
    page.select_option("#overall_consistency", "highly_consistent")
    page.fill("#conclusions", "Findings are highly consistent with the allegation.")
    page.wait_for_selector("#forensic-button:not([disabled])")
    page.set_input_files("#photos", [str(S["photo"])])
    diagram = tmp / "body_diagram_Aigerim.png"
    shutil.copy(S["photo"], diagram)
    page.set_input_files("#diagrams", [str(diagram)])
    shot(page, "forensic-filled-phone")
    page.click("#forensic-button")
    page.wait_for_selector("#report-link", timeout=120_000)
    assert page.locator("#queue li.upload.done").count() == 3
    page.click("#report-link")
    page.wait_for_selector("#verify-state.ok")
    sealed = page.text_content("#sealed")
    assert CLINICIAN in sealed and "highly_consistent" in sealed
    page.wait_for_selector("#attached-section:not([hidden])")
    assert page.locator("#attached li").count() == 2  # photo and diagram, attached_to the report
    S["report_item"] = page.url.rstrip("/").split("/")[-1]
    assert page.errors == []


def test_browser_and_cli_read_each_other(world):
    url, tmp = world["url"], world["tmp"]
    cli = Cli(url, tmp / "cli-aigul", "aigul", PASSWORDS["aigul"])
    cli.run("login")
    out = tmp / "big.from-cli"
    got = cli.json("download", S["big_item"], "--out", str(out))
    assert got["verified"] is True
    assert out.read_bytes() == S["big"].read_bytes()  # uploaded in the browser, byte-identical in the CLI
    got = cli.json("download", S["photo_item"], "--dir", str(tmp))
    assert Path(got["path"]).name == PHOTO_NAME
    assert got.get("sealed", {}).get("victim", VICTIM) == VICTIM
    report = cli.json("download", S["report_item"], "--out", str(tmp / "report.json"))
    assert report["verified"] is True
    from vault.domain.caserecord import ForensicReport

    rep = ForensicReport.model_validate(json.loads((tmp / "report.json").read_text(encoding="utf-8")))
    assert rep.clinician_name == CLINICIAN and rep.findings[0].consistency == "highly_consistent"

    # The other way: the CLI uploads, the browser downloads the same bytes under the original name.
    src = tmp / CLI_NAME
    src.write_bytes(b"%PDF-1.4\n" + MARKER + os.urandom(300_000))
    sealed = tmp / "sealed.json"
    sealed.write_text(json.dumps({"victim": VICTIM}), encoding="utf-8")
    up = cli.json("upload", S["case_id"], str(src), "--title", "Complaint scan", "--type", "document",
                  "--sealed", str(sealed))[0]
    page = S["lawyer_page"]
    page.goto(f"{url}/items/{up['item_id']}")
    page.wait_for_selector("#verify-state.ok")
    with page.expect_download() as dl:
        page.click("#download")
    download = dl.value
    assert download.suggested_filename == CLI_NAME
    saved = tmp / "from-browser.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == src.read_bytes()
    # The 20 MiB item is assembled in 8 MiB steps (evidence.js): same bytes as uploaded.
    page.goto(f"{url}/items/{S['big_item']}")
    page.wait_for_selector("#verify-state.ok")
    with page.expect_download() as dl:
        page.click("#download")
    dl.value.save_as(tmp / "big.from-browser")
    assert (tmp / "big.from-browser").read_bytes() == S["big"].read_bytes()
    assert VICTIM in page.text_content("#sealed")


def test_script_in_a_title_is_shown_as_text_and_never_runs(world):
    url, tmp = world["url"], world["tmp"]
    page = S["lawyer_page"]
    f = tmp / "note.txt"
    f.write_text("note", encoding="utf-8")
    page.goto(f"{url}/cases/{S['case_id']}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")
    page.set_input_files("#files", [str(f)])
    page.fill("#m-title", XSS_TITLE)
    page.click("#upload-button")
    page.wait_for_selector("#queue li.upload.done")
    item = page.get_attribute("#queue li.upload.done", "data-item-id")
    for path in (f"/cases/{S['case_id']}", f"/items/{item}"):
        page.goto(url + path)
        page.wait_for_function("t => document.body.textContent.includes(t)", arg="<script>window.__xss=1</script>")
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        assert page.locator("main script").count() == 0 and page.locator("main img[src=x]").count() == 0


def _jpeg(app1: bytes | None = None, **save) -> bytes:
    """A small JPEG (a PNG with format="PNG"); if `app1` is given, its first segment is an APP1 Exif with that TIFF data."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (90, 60, 30)).save(buf, save.pop("format", "JPEG"), **save)
    b = buf.getvalue()
    if app1 is None:
        return b
    seg = b"Exif\0\0" + app1
    return b[:2] + b"\xff\xe1" + len(seg + b"..").to_bytes(2, "big") + seg + b[2:]


def _photo_exif(make: str, model: str, software: str, taken: str, endian: str):
    from PIL import Image

    exif = Image.Exif()
    exif.endian = endian  # Pillow writes either byte order
    exif[0x010F], exif[0x0110], exif[0x0131] = make, model, software
    exif.get_ifd(0x8769)[0x9003] = taken  # DateTimeOriginal, in the Exif sub-IFD as cameras put it
    return exif


def _tiff(entries: list[tuple[int, int, int, bytes]], data: bytes = b"", order: bytes = b"II", ifd_at: int | None = None,
          cut: int | None = None) -> bytes:
    """Hand-made TIFF data: header, then `data` (values at offset 8...), then IFD0 of (tag, type, count, 4 bytes)."""
    e = "<" if order == b"II" else ">"
    at = 8 + len(data) if ifd_at is None else ifd_at
    ifd = struct.pack(e + "H", len(entries)) + b"".join(struct.pack(e + "HHI", t, ty, n) + v for t, ty, n, v in entries)
    out = order + struct.pack(e + "HI", 42, at) + data + ifd + struct.pack(e + "I", 0)
    return out[:cut] if cut else out


def _le(n: int) -> bytes:
    return struct.pack("<I", n)


# Broken EXIF: each must come back without an exception, and as the Python client (Pillow) reads it.
BROKEN_EXIF = {
    # IFD0 announces 6 entries and the data stops after two: the two stand.
    "truncated IFD": _tiff([(0x010F, 2, 4, b"Xq7\0"), (0x0110, 2, 10, _le(8))] + [(0x0131, 2, 4, b"abc\0")] * 4,
                           data=b"Model-Xq7\0", cut=8 + 10 + 2 + 2 * 12 + 5),
    # The Exif sub-IFD is IFD0 itself, and IFD0's next IFD is IFD0 too: read once each, no loop.
    "cyclic offset": _tiff([(0x010F, 2, 4, b"Xq7\0"), (0x8769, 4, 1, _le(8)), (0x9003, 2, 20, _le(50))])[:-4]
                     + _le(8) + b"2026:10:01 14:03:59\0",
    # A count whose size overflows 32 bits: that tag is skipped, the others stay.
    "count overflow": _tiff([(0x0110, 2, 10, _le(8)), (0x010F, 2, 0xFFFFFFFF, _le(8)), (0x0131, 2, 3, b"ab\0\0")],
                            data=b"Model-Xq7\0"),
    # A value far past the end: the IFD is read up to it.
    "value past the end": _tiff([(0x0110, 2, 10, _le(8)), (0x010F, 2, 9, _le(0x7FFFFFF0)), (0x0131, 2, 3, b"ab\0\0")],
                                data=b"Model-Xq7\0"),
    "bad IFD offset": _tiff([(0x010F, 2, 4, b"Xq7\0")], ifd_at=0x10000),
    "bad Exif IFD offset": _tiff([(0x010F, 2, 4, b"Xq7\0"), (0x8769, 4, 1, _le(0xFFFFFF00))]),
    "wrong byte order mark": b"XX" + _tiff([(0x010F, 2, 4, b"Xq7\0")])[2:],
    "big-endian, no DateTimeOriginal": _tiff([(0x0110, 2, 4, b"Xq7\0")], order=b"MM"),
}


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # Pillow on the broken EXIF
def test_a_photos_exif_is_sealed_as_the_python_client_seals_it(world):
    from PIL import Image

    from vault.client.session import ClientSession
    from vault.client.transfer import _exif, download_item

    url, tmp = world["url"], world["tmp"]
    page = S["lawyer_page"]
    photos = {
        "camera_le.jpg": _jpeg(exif=_photo_exif("Fotokam", CAMERA_MODEL, "Firmware 4.2  ", "2026:10:01 14:03:59", "<")),
        "camera_be.jpg": _jpeg(exif=_photo_exif("Fotokam BE", CAMERA_MODEL + " BE", "x" * 300, "2026:10:02 09:15:00", ">")),
        "camera.png": _jpeg(format="PNG", exif=_photo_exif("Fotokam", CAMERA_MODEL, "PNG 1", "2026:10:03 18:00:01", "<")),
        "camera_broken.jpg": _jpeg(BROKEN_EXIF["truncated IFD"]),
    }
    for name, data in photos.items():
        (tmp / name).write_bytes(data)
    with Image.open(tmp / "camera.png") as img:
        assert img.format == "PNG" and "exif" in img.info  # an eXIf chunk
    page.goto(f"{url}/cases/{S['case_id']}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")
    page.set_input_files("#files", [str(tmp / name) for name in photos])
    page.fill("#m-title", "Photos from the camera")
    page.select_option("#m-evidence_type", "photo")
    page.click("#upload-button")
    page.wait_for_function(f"() => document.querySelectorAll('#queue li.upload.done').length === {len(photos)}")
    assert page.locator("#queue li.failed").count() == 0
    ids = page.eval_on_selector_all("#queue li.upload.done", "els => els.map(e => e.dataset.itemId)")

    sess = ClientSession.login(url, "aigul", PASSWORDS["aigul"], home=tmp / "py-exif")
    (tmp / "exif-down").mkdir()
    for (name, data), item_id in zip(photos.items(), ids, strict=True):
        path, manifest = download_item(sess, item_id, out_dir=tmp / "exif-down")
        assert path.read_bytes() == data
        captured, exif = _exif(tmp / name, manifest["media_type"])
        assert manifest["media_type"] == ("image/png" if name.endswith(".png") else "image/jpeg")
        assert (manifest["captured_at"], manifest["sealed"]) == (captured, {"exif": exif} if exif else {}), name
        if name != "camera_broken.jpg":
            assert captured and exif["Model"].startswith(CAMERA_MODEL) and len(exif) == 4
    assert len(exif) == 2  # the broken one: what came before the cut

    # The item page shows what it decrypted.
    page.goto(f"{url}/items/{ids[0]}")
    page.wait_for_selector("#verify-state.ok")
    assert CAMERA_MODEL in page.text_content("#sealed")
    assert page.errors == []


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")  # Pillow on the broken EXIF
def test_broken_exif_is_read_without_an_error(world):
    from vault.client.transfer import _exif

    tmp = world["tmp"]
    page = S["lawyer_page"]
    cases = {name: _jpeg(tiff) for name, tiff in BROKEN_EXIF.items()}
    good = _jpeg(exif=_photo_exif("Fotokam", CAMERA_MODEL, "Sw", "2026:10:01 14:03:59", ">"))
    cases["segment cut short"] = good[:good.index(b"Exif\0\0") + 40]  # the APP1 segment runs past the end
    cases["not a photo"] = b"GIF89a" + good
    js = page.evaluate("""async (cases) => {
        const { exifOf } = await import('/static/js/exif.js');
        const out = {};
        for (const [name, bytes] of Object.entries(cases)) out[name] = exifOf(new Uint8Array(bytes));
        return out;
    }""", {name: list(b) for name, b in cases.items()})
    for name, data in cases.items():
        (tmp / "broken.jpg").write_bytes(data)
        captured, exif = _exif(tmp / "broken.jpg", "image/jpeg")
        assert js[name] == {"captured_at": captured, "exif": exif}, name
    assert js["cyclic offset"]["captured_at"] == "2026-10-01T14:03:59"
    assert js["count overflow"]["exif"] == {"Model": CAMERA_MODEL, "Software": "ab"}
    assert js["value past the end"]["exif"] == {"Model": CAMERA_MODEL}
    assert js["wrong byte order mark"]["exif"] == {} and js["big-endian, no DateTimeOriginal"]["exif"] == {"Model": "Xq7"}
    assert page.errors == []


def test_search_finds_the_evidence_with_facets(world):
    url = world["url"]
    page = S["lawyer_page"]
    page.goto(f"{url}/search")
    for _ in range(30):  # the index is fed through an outbox by a background writer
        page.fill("#q", "injuries")
        page.click("#search-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#total').textContent || "
                               "!document.querySelector('#search-unavailable').hidden")
        if page.locator("#hits li").count():
            break
        page.wait_for_timeout(500)
    assert page.locator("#search-unavailable").is_hidden()
    titles = page.locator("#hits .hit-link").all_text_contents()
    assert "Injuries and statement video" in titles
    assert page.locator("#facets button").count() > 0


def entry(page, list_path: str, n: int = 0):
    """The n-th entry of a repeatable list of the case record form."""
    return page.locator(f'[data-list="{list_path}"] > li').nth(n)


def latest_record(world, cli: Cli) -> dict:
    """The latest case record of the journey's case, downloaded and verified by the CLI."""
    from vault.domain.caserecord import parse_case

    items = requests.get(f"{world['url']}/api/v1/cases/{S['case_id']}/items", timeout=30,
                         headers={"Authorization": f"Bearer {_token('aigul')}"}).json()["items"]
    rec = [i for i in items if i["evidence_type"] == "case_record"][-1]
    out = world["tmp"] / f"record-{rec['id']}.json"
    assert cli.json("download", rec["id"], "--out", str(out))["verified"] is True
    data = json.loads(out.read_text(encoding="utf-8"))
    return {"item": rec, "data": data, "record": parse_case(data)}


def test_lawyer_fills_the_case_record_in_the_browser(world):
    url = world["url"]
    page = S["lawyer_page"]
    page.goto(f"{url}/cases/{S['case_id']}")
    page.click(f'a[href="/cases/{S["case_id"]}/record"]')
    page.wait_for_function("() => document.querySelector('#record-state').textContent.includes('no case record')")
    assert page.input_value("#r-state") == "KGZ"
    page.fill("#r-reference", "KG-2026-101")
    page.fill("#r-victim-family_name", FAMILY)
    page.fill("#r-victim-first_names", FIRST)
    page.select_option("#r-victim-sex", "female")
    page.fill("#r-victim-date_of_birth", "1999-04-12")
    page.fill("#r-victim-occupation", "мугалим")
    page.select_option("#r-victim-consent_to_submit", "yes")
    page.select_option("#r-victim-consent_publish_name", "no")
    page.fill("#r-arrest-date", "2026-10-01")
    page.select_option("#r-detention-current_status", "released")
    # An act with a place but no violation: refused in the browser, the field named and focused.
    page.click("#s-acts [data-add]")
    act = entry(page, "acts")
    act.locator('[data-path="place"]').fill("Жалал-Абад ИВС, 3-бөлмө")
    page.click("#record-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "Act 1" in page.text_content("#alert") and "Violation" in page.text_content("#alert")
    assert act.locator('[data-path="violation"]').get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.dataset.path") == "violation"
    act.locator('[data-path="violation"]').select_option("torture")
    act.locator('[data-path="date_from"]').fill("2026-10-01")
    act.locator('[data-path="methods"] input[value="beating"]').check()
    act.locator('[data-path="injuries"]').fill("кабыргасы сынган")
    act.locator("[data-add]").click()
    perp = entry(page, "perpetrators")
    perp.locator('[data-path="type"]').select_option("police")
    perp.locator('[data-path="institution"]').fill("Жалал-Абад шаардык ИИБ")
    # An empty second act is left out, not refused.
    page.click("#s-acts [data-add]")
    page.fill("#r-facts-ky", FACTS_KY)
    page.fill("#r-facts-en", "On 1 October 2026 officers beat her with batons in the temporary detention facility.")
    page.fill("#r-applicant-full_name", APPLICANT)
    page.select_option("#r-applicant-relationship_to_victim", "lawyer")
    page.fill("#r-applicant-address", "Жалал-Абад ш., Ленин көчөсү, 5")
    page.fill("#r-applicant-phone", "+996 555 123 456")
    page.fill("#r-source-organisation", "Кыйноолорго каршы коалиция")
    page.fill("#r-source-email", "not an address")
    page.click("#record-button")
    page.wait_for_function("() => document.querySelector('#alert').textContent.includes('e-mail')")
    page.fill("#r-source-email", "coalition@example.org")
    row = page.locator(f'#attachments li[data-item-id="{S["photo_item"]}"]')
    row.locator(".att-on").check()
    row.locator(".att-title").fill("Жаракаттардын сүрөтү")
    assert row.locator(".att-cat").input_value() == "evidence"
    row.locator(".att-cat").select_option("medical")
    page.click("#record-button")
    page.wait_for_selector("#record-saved:not([hidden])", timeout=60_000)
    assert page.locator("#queue li.upload.done").count() == 1

    # Reopened, the page shows the sealed record it decrypted.
    page.reload()
    page.wait_for_selector("#record-state.ok")
    assert page.input_value("#r-victim-family_name") == FAMILY
    assert page.input_value("#r-victim-consent_publish_name") == "no"
    assert page.locator('[data-list="acts"] > li').count() == 1
    assert entry(page, "acts").locator('[data-path="methods"] input[value="beating"]').is_checked()
    assert page.locator(f'#attachments li[data-item-id="{S["photo_item"]}"] .att-on').is_checked()
    assert page.errors == []

    # The CLI reads what the browser sealed: a valid CaseRecord with the same facts.
    cli = Cli(url, world["tmp"] / "cli-aigul", "aigul", PASSWORDS["aigul"])
    got = latest_record(world, cli)
    rec = got["record"]
    assert got["item"]["metadata"]["title"] == "Structured case record"  # all the server learns
    assert (rec.victim.family_name, rec.victim.first_names, rec.victim.sex) == (FAMILY, FIRST, "female")
    assert rec.victim.consent_to_submit is True and rec.victim.consent_publish_name is False
    assert rec.victim.consent_transmit_name_to_government is None  # not answered stays unanswered
    assert len(rec.acts) == 1 and rec.acts[0].violation == "torture" and rec.acts[0].methods == ["beating"]
    assert rec.acts[0].perpetrators[0].institution == "Жалал-Абад шаардык ИИБ"
    assert rec.facts["ky"] == FACTS_KY and rec.applicant.relationship_to_victim == "lawyer"
    assert [(a.item_id, a.title, a.category) for a in rec.attachments] == [
        (S["photo_item"], "Жаракаттардын сүрөтү", "medical")]


def _export_posts(page) -> list[str]:
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/exports" in r.url else None)
    return posts


def _read_bundle(path: Path) -> dict:
    import io
    import zipfile

    import docx
    from pypdf import PdfReader

    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        doc = next(n for n in names if n.endswith(".docx"))
        pdf = next(n for n in names if n.endswith(".pdf"))
        d = docx.Document(io.BytesIO(zf.read(doc)))
        docx_text = "\n".join([p.text for p in d.paragraphs]
                              + [c.text for t in d.tables for r in t.rows for c in r.cells])
        pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(zf.read(pdf))).pages)
        annex = json.loads(zf.read("custody/annex.json"))
    return {"names": names, "docx": " ".join(docx_text.split()), "pdf": " ".join(pdf_text.split()),
            "annex": annex}


def test_lawyer_exports_for_the_akyikatchy_in_the_browser(world):
    url, tmp = world["url"], world["tmp"]
    page = S["lawyer_page"]
    posts = _export_posts(page)
    page.goto(f"{url}/cases/{S['case_id']}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    assert page.eval_on_selector_all("#export-language option", "os => os.map(o => o.value)") == ["ru", "ky"]
    page.select_option("#export-language", "ky")
    page.fill("#export-date", "2026-11-20")
    # Everything is ticked at first, and the 20 MB video is over this server's browser limit:
    # refused before any plaintext leaves the browser, with what to do instead.
    page.wait_for_function("() => document.querySelector('#export-size').classList.contains('warning')")
    page.click("#export-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "vault export" in page.text_content("#alert")
    assert posts == []
    page.uncheck(f"#att-{S['big_item']}")
    page.click("#check-button")
    page.wait_for_selector("#problems-section:not([hidden])")
    page.wait_for_function("() => document.querySelector('#export-steps li:last-child').className === 'done'")
    assert page.locator("#problems .problem.sev-missing").count() == 0
    with page.expect_download(timeout=120_000) as dl:
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    steps = page.locator("#export-steps li").all_text_contents()
    assert any("Decrypting" in x for x in steps) and any("signing" in x for x in steps)
    download = dl.value
    assert download.suggested_filename == "Akyikatchy-aryz-KG-2026-101.zip"  # the exporter's name for it
    bundle = tmp / download.suggested_filename
    download.save_as(bundle)
    assert page.text_content("#done-sha").strip() == __import__("hashlib").sha256(bundle.read_bytes()).hexdigest()

    # Offline, without the server: the bundle verifies and names its signer.
    from vault.export.verify import verify_bundle

    report = verify_bundle(bundle)
    assert report.ok, report.findings
    cli = Cli(url, tmp / "cli-aigul", "aigul", PASSWORDS["aigul"])
    verified = cli.json("verify", str(bundle))
    assert verified["ok"] is True
    got = _read_bundle(bundle)
    assert got["annex"]["signer"]["name"] == "aigul"
    assert got["annex"]["signer"]["fingerprint"] == page.text_content("#done-fpr").strip()
    assert got["annex"]["exporter"]["name"] == "ombudsman" and got["annex"]["exporter"]["language"] == "ky"
    chosen = {i["item_id"] for i in got["annex"]["items"]}
    assert S["big_item"] not in chosen and S["photo_item"] in chosen
    assert f"attachments/{PHOTO_NAME}" in got["names"]
    for text in (got["docx"], got["pdf"]):
        assert FAMILY in text and FIRST in text and APPLICANT in text
        assert "союл менен сабашты" in text  # the statement of facts, in Kyrgyz
    S["bundle"] = bundle
    # The audit log knows the export: it was made in a browser.
    entries = requests.get(f"{url}/api/v1/admin/audit?limit=1000", timeout=30,
                           headers={"Authorization": f"Bearer {_token('admin')}"}).json()["entries"]
    done = [e for e in entries if e["action"] == "case_exported"]
    details = done[-1]["details"]
    details = json.loads(details) if isinstance(details, str) else details
    assert details["via"] == "browser" and details["bundle_sha256"] == page.text_content("#done-sha").strip()
    assert page.errors == []


def test_an_incomplete_export_is_refused_until_marked_draft(world):
    url, tmp = world["url"], world["tmp"]
    page = S["lawyer_page"]
    page.goto(f"{url}/cases/{S['case_id']}/export")
    page.wait_for_selector('#exporters li[data-exporter="un-srt"]')
    posts = _export_posts(page)
    page.check("#exp-un-srt")
    for box in page.locator("#export-items input").all():
        box.uncheck()
    page.click("#export-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "Draft" in page.text_content("#alert")
    missing = page.locator("#problems .problem.sev-missing")
    assert missing.count() > 0
    # Each missing field links to its place in the case record form.
    link = page.locator('#problems a[href*="#f=victim.nationality"]')
    assert link.count() == 1
    assert not any(u.endswith("/exports") for u in posts)  # checked, never rendered
    page.check("#export-draft")
    with page.expect_download(timeout=120_000) as dl:
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    draft = tmp / "draft.zip"
    dl.value.save_as(draft)
    from vault.export.verify import verify_bundle

    assert verify_bundle(draft).ok
    assert _read_bundle(draft)["annex"]["items"] == []
    # The link opens the form at that field.
    page.goto(f"{url}/cases/{S['case_id']}/export")
    page.wait_for_selector('#exporters li[data-exporter="un-srt"]')
    page.check("#exp-un-srt")
    page.click("#check-button")
    page.click('#problems a[href*="#f=victim.nationality"]')
    page.wait_for_selector("#record-state.ok")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'r-victim-nationality'")
    assert "flagged" in page.get_attribute("#r-victim-nationality", "class")
    assert page.errors == []


def test_every_page_sends_the_csp_and_safe_headers(world):
    url = world["url"]
    s = requests.Session()
    token = requests.post(f"{url}/api/v1/auth/login", json=_auth("aigul"), timeout=30).json()["token"]
    s.cookies.set("vault_session", token)
    paths = ["/", "/login", "/setup", "/register", "/cases", f"/cases/{S['case_id']}", f"/cases/{S['case_id']}/upload",
             f"/cases/{S['case_id']}/forensic", f"/cases/{S['case_id']}/record", f"/cases/{S['case_id']}/export",
             f"/items/{S['photo_item']}",
             "/search", "/account", "/admin", "/i18n/ky.json", "/static/js/app.js"]
    for p in paths:
        r = s.get(url + p, allow_redirects=False, timeout=30)
        assert r.status_code in (200, 302, 403), (p, r.status_code)
        csp = r.headers["Content-Security-Policy"]
        for rule in ("default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'",
                     "base-uri 'none'", "frame-ancestors 'none'", "img-src 'self' blob: data:", "form-action 'self'"):
            assert rule in csp, (p, rule)
        assert "unsafe-inline" not in csp
        assert r.headers["Referrer-Policy"] == "no-referrer"
        if r.headers.get("Content-Type", "").startswith("text/html"):
            assert "<script>" not in r.text and " style=" not in r.text and " on" + "click=" not in r.text
    # A cookie-authenticated state change without the CSRF token is refused; with it, allowed.
    r = s.patch(f"{url}/api/v1/me", json={"language": "ky"}, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = s.post(f"{url}/web/logout", data={}, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    page_html = s.get(f"{url}/cases", timeout=30).text
    csrf = page_html.split('name="csrf-token" content="')[1].split('"')[0]
    r = s.patch(f"{url}/api/v1/me", json={"language": "en"}, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert r.status_code == 200
    # The session cookie is HttpOnly and SameSite=Strict.
    r = requests.post(f"{url}/web/session", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def _token(username: str) -> str:
    if f"token_{username}" not in S:
        S[f"token_{username}"] = requests.post(f"{S['url']}/api/v1/auth/login", json=_auth(username),
                                               timeout=30).json()["token"]
    return S[f"token_{username}"]


def _auth(username: str) -> dict:
    from vault import crypto

    pre = requests.post(f"{S['url']}/api/v1/auth/prelogin", json={"username": username}, timeout=30).json()
    master = crypto.derive_master_key(PASSWORDS[username], __import__("base64").b64decode(pre["salt"]), pre["kdf"])
    return {"username": username, "auth_key": __import__("base64").b64encode(crypto.auth_key(master)).decode()}


@pytest.fixture(autouse=True)
def _url(world):
    S["url"] = world["url"]


def test_screenshots_in_kyrgyz_at_phone_width(world):
    url = world["url"]
    anon = new_page(world, phone=True, lang="ky")
    anon.goto(f"{url}/login")
    assert anon.text_content("h1").strip() == "Кирүү"
    shot(anon, "ky-login")
    anon.goto(f"{url}/setup")
    shot(anon, "ky-setup")
    page = new_page(world, phone=True, lang="ky")
    login(page, url, "aigul", PASSWORDS["aigul"])
    # The language is remembered per user: switch to Kyrgyz in the UI.
    page.wait_for_load_state("load")  # the page's module (and its change handler) has run
    if page.evaluate("document.documentElement.lang") != "ky":
        with page.expect_navigation():
            page.select_option("#language-select", "ky")
    page.wait_for_function("() => document.documentElement.lang === 'ky'")
    page.goto(f"{url}/cases")
    page.wait_for_selector("#case-list[aria-busy=false]")
    shot(page, "ky-cases")
    page.goto(f"{url}/cases/{S['case_id']}")
    page.wait_for_selector("#item-list[aria-busy=false]")
    shot(page, "ky-case")
    page.goto(f"{url}/cases/{S['case_id']}/upload")
    shot(page, "ky-upload")
    page.goto(f"{url}/cases/{S['case_id']}/forensic")
    shot(page, "ky-forensic")
    page.goto(f"{url}/items/{S['photo_item']}")
    page.wait_for_selector("#verify-state.ok")
    shot(page, "ky-item")
    page.goto(f"{url}/search")
    shot(page, "ky-search")
    page.goto(f"{url}/cases/{S['case_id']}/record")
    page.wait_for_selector("#record-state.ok")
    shot(page, "ky-record")
    page.goto(f"{url}/cases/{S['case_id']}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    # The plugins' own texts are in Kyrgyz too, not only the page's.
    assert "Кыргыз Республикасынын Акыйкатчысы" in page.text_content('#exporters li[data-exporter="ombudsman"]')
    assert "БУУнун Адам укуктары боюнча комитети" in page.text_content('#exporters li[data-exporter="un-hrc"]')
    page.uncheck(f"#att-{S['big_item']}")
    page.click("#check-button")
    page.wait_for_selector("#problems-section:not([hidden])")
    shot(page, "ky-export")
    page.goto(f"{url}/account")
    shot(page, "ky-account")
    unlabelled = """() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter(e => e.type !== 'hidden' && !e.closest('[hidden]') && !e.labels.length && !e.getAttribute('aria-label'))
        .map(e => e.id || e.outerHTML.slice(0, 80))"""
    for p in ("/cases", "/search", f"/cases/{S['case_id']}/record", f"/cases/{S['case_id']}/export", "/account"):
        page.goto(url + p)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, p
        assert page.evaluate(unlabelled) == [], p  # every field a screen reader can name
    admin = S["admin_page"]
    admin.set_viewport_size({"width": 390, "height": 844})
    admin.goto(f"{url}/admin")
    admin.wait_for_selector("#audit-verify.ok")
    admin.wait_for_selector("#users tbody tr")
    shot(admin, "admin-phone")
    # The users and audit tables become cards: nothing wider than the phone, every cell labelled.
    assert admin.evaluate("document.documentElement.scrollWidth") <= 390
    assert admin.eval_on_selector("#users tbody td", "td => getComputedStyle(td, '::before').content") == '"User name"'
    assert admin.eval_on_selector("#audit tbody tr", "tr => tr.getBoundingClientRect().right") <= 390
    # Lock wipes the keys: the page asks for the password again, and it unlocks.
    page.goto(f"{url}/items/{S['photo_item']}")
    page.wait_for_selector("#verify-state.ok")
    page.click("#lock-button")
    page.wait_for_selector("#unlock:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('vault.wrapped-keys')") is None
    page.fill("#unlock-password", PASSWORDS["aigul"])
    page.click("#unlock-form button[type=submit]")
    page.wait_for_selector("#verify-state.ok")
    # Sign out: the session ends on the server and the wrapped keys are gone.
    page.click("#logout-form button[type=submit]")
    page.wait_for_url("**/login**")
    assert page.evaluate("sessionStorage.getItem('vault.wrapped-keys')") is None
    page.goto(f"{url}/cases")
    assert "/login" in page.url
    # The language is the user's: back to English for the tests that follow.
    r = requests.patch(f"{url}/api/v1/me", json={"language": "en"}, timeout=30,
                       headers={"Authorization": f"Bearer {_token('aigul')}"})
    assert r.status_code == 200


def test_admin_disables_a_plugin_and_the_export_option_disappears(world):
    url = world["url"]
    r = requests.get(f"{url}/api/v1/exporters", timeout=30)
    if r.status_code == 404:
        pytest.skip("the exporters/plugins API (GET /api/v1/exporters, /api/v1/admin/plugins) is not in this tree yet")
    page = S["lawyer_page"]
    login(page, url, "aigul", PASSWORDS["aigul"])
    page.goto(f"{url}/cases/{S['case_id']}/export")
    page.wait_for_selector('#exporters li[data-plugin="omct"]')
    others = page.locator("#exporters li").count()
    page.check("#exp-omct")
    admin = S["admin_page"]
    admin.goto(f"{url}/admin")
    box = admin.locator("#plugin-omct")
    box.wait_for()
    assert box.is_checked()  # bundled plugins start enabled
    box.uncheck()
    admin.wait_for_function("() => document.querySelector('#status').textContent.includes('omct')")
    # The lawyer's page still offers it: the server refuses, the page says so and drops it.
    page.click("#check-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "turned this exporter off" in page.text_content("#alert")
    page.wait_for_function("() => !document.querySelector('#exporters li[data-plugin=\"omct\"]')")
    page.goto(f"{url}/cases/{S['case_id']}/export")
    page.wait_for_selector("#exporters[aria-busy=false] li")
    assert page.locator('#exporters li[data-plugin="omct"]').count() == 0
    assert page.locator("#exporters li").count() == others - 1
    box.check()
    admin.wait_for_function("() => document.querySelector('#status').textContent.includes('omct')")


def test_search_pages_through_the_results(world):
    from vault.client.session import ClientSession
    from vault.client.transfer import upload_file

    url, tmp = world["url"], world["tmp"]
    sess = ClientSession.login(url, "aigul", PASSWORDS["aigul"], home=tmp / "py-aigul")
    f = tmp / "paging.txt"
    f.write_text("a page of evidence", encoding="utf-8")
    for n in range(21):
        upload_file(sess, S["case_id"], f, {"title": f"Detention register page {n + 1}", "evidence_type": "document"})
    page = S["lawyer_page"]
    page.goto(f"{url}/search")
    for _ in range(60):  # the index is fed through an outbox by a background writer
        page.fill("#q", "register")
        page.click("#search-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#total').textContent")
        if page.text_content("#total").startswith("21 "):
            break
        page.wait_for_timeout(500)
    assert page.text_content("#total").startswith("21 ")
    assert page.locator("#hits li").count() == 20 and page.is_disabled("#page-prev")
    assert "Page 1 of 2" in page.text_content("#page-info")
    page.click("#page-next")
    page.wait_for_function("() => document.querySelector('#hits').start === 21")
    assert page.locator("#hits li").count() == 1 and page.is_disabled("#page-next")
    assert "Page 2 of 2" in page.text_content("#page-info") and page.locator("#facets button").count() > 0
    page.click("#page-prev")
    page.wait_for_function("() => document.querySelectorAll('#hits li').length === 20")
    titles = page.locator("#hits .hit-link").all_text_contents()
    assert all("Detention register page" in x for x in titles)
    assert page.errors == []


def test_the_second_factor_goes_on_and_off_in_the_browser(world):
    import time

    import pyotp

    url = world["url"]
    page = S["medic_page"]
    page.goto(f"{url}/account")
    page.wait_for_selector("#totp-start:not([hidden])")
    page.click("#totp-start")
    page.wait_for_selector("#totp-setup:not([hidden])")
    totp = pyotp.TOTP(page.text_content("#totp-secret").strip())
    page.fill("#totp-code", totp.now())
    page.click("#totp-form button[type=submit]")
    page.wait_for_selector("#totp-disable-form:not([hidden])")
    assert page.is_hidden("#totp-start")
    page.fill("#totp-disable-code", "12345")
    page.click("#totp-disable-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#alert').textContent.includes('6 digits')")
    page.fill("#totp-disable-code", totp.at(time.time() + 30))  # the next code: each code works once
    page.click("#totp-disable-form button[type=submit]")
    page.wait_for_selector("#totp-start:not([hidden])")
    assert page.is_hidden("#totp-disable-form")
    me = requests.get(f"{url}/api/v1/me", timeout=30, headers={"Authorization": f"Bearer {_token('bakyt')}"}).json()
    assert me["totp_enabled"] is False
    assert page.errors == []


def test_passwords_are_normalised_to_nfc_before_key_derivation(world):
    import unicodedata

    from vault.client.session import ClientSession

    url, tmp = world["url"], world["tmp"]
    admin = ClientSession.login(url, "admin", PASSWORDS["admin"], home=tmp / "py-admin")
    S["py_admin"] = admin
    invitation = admin.http.post("/admin/invitations", {"role": "lawyer"})["invitation"]
    composed = "Jöö-Ämänbek-Üülü-7"  # as one keyboard types it
    decomposed = unicodedata.normalize("NFD", composed)  # as another does
    assert decomposed != composed
    page = new_page(world)
    register(page, url, invitation, "dinara", decomposed)
    login(page, url, "dinara", composed)
    assert page.url.endswith("/cases")
    # The Python client derives from the same (NFC) password.
    assert ClientSession.login(url, "dinara", composed, home=tmp / "py-dinara").username == "dinara"
    page.context.close()


def test_the_record_form_keeps_every_field_of_a_full_record(world):
    from tests.export.export_samples import full_case
    from vault.domain.caserecord import parse_case

    url, tmp = world["url"], world["tmp"]
    cli = Cli(url, tmp / "cli-aigul", "aigul", PASSWORDS["aigul"])
    data = full_case()
    data["attachments"].append({"item_id": S["report_item"], "title": "Istanbul Protocol report", "category": "medical"})
    data["medical"]["examinations"][0]["report_item"] = S["report_item"]
    data["medical"]["autopsy"] = {"date": "2025-04-01", "performed_by": "РЦСМЭ", "findings": "нет данных",
                                  "family_present": False}
    data["victim"]["deceased"] = True
    data["facts"]["fr"] = "Le 12 mars 2025, M. Ömürbekov a été arrêté."
    data["other_procedures"] = [{"body": "UN WGAD", "date": "2025-05-01", "reference": "WGAD/2025/1",
                                 "status": "pending"}]
    source = tmp / "full-record.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cli.json("upload", S["case_id"], str(source), "--type", "case_record", "--title", "Structured case record")
    page = S["lawyer_page"]
    page.goto(f"{url}/cases/{S['case_id']}/record")
    page.wait_for_selector("#record-state.ok")
    assert page.input_value("#r-victim-family_name") == "Өмүрбеков"
    assert page.locator('[data-list="acts"] > li').count() == 2
    assert entry(page, "acts").locator('[data-path="methods"] input:checked').count() == 2
    assert page.input_value("#r-requests-omct_actions").count("\n") == 2
    page.fill("#r-victim-occupation", "журналист")
    page.click("#record-button")
    page.wait_for_selector("#record-saved:not([hidden])", timeout=60_000)
    got = latest_record(world, cli)
    want = parse_case(data).model_copy(update={"victim": parse_case(data).victim.model_copy(
        update={"occupation": "журналист"})})
    assert got["record"].model_dump(mode="json") == want.model_dump(mode="json")
    assert page.errors == []


def test_a_changed_key_is_accepted_only_after_comparing_fingerprints(world):
    from vault import crypto
    from vault.client.session import register as py_register

    url, tmp = world["url"], world["tmp"]
    invitation = S["py_admin"].http.post("/admin/invitations", {"role": "medic", "reset_username": "bakyt"})["invitation"]
    py_register(url, invitation, "bakyt", "medic-new-Pässwörd-4", home=tmp / "py-bakyt-new")
    new = requests.get(f"{url}/api/v1/users/bakyt", timeout=30, headers={"Authorization": f"Bearer {_token('aigul')}"}).json()
    new_fpr = crypto.fingerprint(__import__("base64").b64decode(new["box_public"]),
                                 __import__("base64").b64decode(new["sign_public"]))
    assert new_fpr != S["medic_fpr"]
    page = S["lawyer_page"]
    # Evidence of the case is refused while a member's key changed silently.
    page.goto(f"{url}/items/{S['photo_item']}")
    page.wait_for_selector("#alert:not([hidden])")
    assert "bakyt" in page.text_content("#alert") and "case page" in page.text_content("#alert")
    assert page.get_attribute("#verify-state", "class") == "verify bad"
    page.goto(f"{url}/cases/{S['case_id']}")
    page.wait_for_selector("#key-changes:not([hidden])")
    row = page.locator('#key-change-list li[data-user="bakyt"]')
    assert row.locator(".old-fpr").text_content() == S["medic_fpr"]
    assert row.locator(".new-fpr").text_content() == new_fpr
    shot(page, "key-change")
    row.locator("[data-accept]").click()
    page.wait_for_selector("#key-changes", state="hidden")
    pins = json.loads(page.evaluate("localStorage.getItem('vault.pins.aigul')"))
    assert (pins["bakyt"]["box"], pins["bakyt"]["sign"]) == (new["box_public"], new["sign_public"])
    page.goto(f"{url}/items/{S['photo_item']}")
    page.wait_for_selector("#verify-state.ok")
    # The report bakyt signed with his old key still verifies: that key was accepted when it was used.
    page.goto(f"{url}/items/{S['report_item']}")
    page.wait_for_selector("#verify-state.ok")
    assert CLINICIAN in page.text_content("#sealed")
    assert page.errors == []


NEW_PASSWORD = "a fresh passphrase — Жаңы сырсөз"


def _change_password_in_the_browser(page, url: str, current: str, new: str) -> None:
    page.goto(f"{url}/account")
    page.wait_for_selector("#password-form button[type=submit]:not([disabled])")
    page.fill("#pw-current", current)
    page.fill("#pw-new", new)
    page.fill("#pw-repeat", new)
    page.click("#password-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('changed')")
    assert page.input_value("#pw-new") == ""


def test_the_password_is_changed_in_the_browser_and_the_keys_stay(world):
    url = world["url"]
    page = S["lawyer_page"]
    other = requests.Session()  # aigul signed in somewhere else, e.g. the CLI on a laptop
    other_token = _token("aigul")
    # Typing mistakes are caught before anything is derived or sent.
    page.goto(f"{url}/account")
    page.wait_for_selector("#password-form button[type=submit]:not([disabled])")
    page.fill("#pw-current", PASSWORDS["aigul"])
    page.fill("#pw-new", NEW_PASSWORD)
    page.fill("#pw-repeat", NEW_PASSWORD + "x")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#alert:not([hidden])")
    assert "differ" in page.text_content("#alert")
    _change_password_in_the_browser(page, url, PASSWORDS["aigul"], NEW_PASSWORD)
    assert "other session(s) ended" in page.text_content("#status")
    gone = other.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {other_token}"}, timeout=30)
    assert gone.status_code == 401
    S.pop("token_aigul", None)
    # Signed out and in again with the new password, the same evidence opens.
    page.click("#logout-form button[type=submit]")
    page.wait_for_url("**/login**")
    login(page, url, "aigul", NEW_PASSWORD)
    page.goto(f"{url}/items/{S['photo_item']}")
    page.wait_for_selector("#verify-state.ok")
    assert VICTIM in page.text_content("#sealed")
    # And back, for the tests that follow.
    _change_password_in_the_browser(page, url, NEW_PASSWORD, PASSWORDS["aigul"])
    assert page.errors == []


def _set_recovery_public(env, public: bytes) -> None:
    import base64

    from vault.db.models import Setting
    from vault.services.vault import open_vault

    v = open_vault(env.config)
    try:
        with v.db.session() as s:
            s.get(Setting, "recovery_box_public").value = base64.b64encode(public).decode()
            s.commit()
    finally:
        v.db.dispose()


def test_a_changed_recovery_key_is_refused_until_compared_with_the_paper_kit(world):
    from vault import crypto

    url, env = world["url"], world["env"]
    page = S["lawyer_page"]
    page.goto(f"{url}/account")
    # The browser computes the fingerprint itself, and it is the one printed in the kit.
    kit_fpr = crypto.fingerprint(crypto.box_public_from_secret(env.recovery_secret), b"")
    page.wait_for_function("() => document.querySelector('#recovery-fingerprint').textContent.trim() !== ''")
    assert page.text_content("#recovery-fingerprint") == kit_fpr
    assert page.is_hidden("#recovery-change")
    original = crypto.box_public_from_secret(env.recovery_secret)
    _rogue_secret, rogue_public = crypto.generate_box_keypair()
    _set_recovery_public(env, rogue_public)  # a server that swaps the key every new case key is sealed to
    try:
        page.goto(f"{url}/cases")
        page.fill("#reference", "KG-2026-666")
        page.fill("#case-title", "Must not be sealed to the rogue key")
        page.select_option("#case-region", "osh_city")
        page.click("#case-form button[type=submit]")
        page.wait_for_selector("#alert:not([hidden])")
        assert "recovery key changed" in page.text_content("#alert") and "Account" in page.text_content("#alert")
        titles = [c["title"] for c in requests.get(f"{url}/api/v1/cases", timeout=30,
                                                   headers={"Authorization": f"Bearer {_token('aigul')}"}).json()["cases"]]
        assert "Must not be sealed to the rogue key" not in titles
        page.goto(f"{url}/account")
        page.wait_for_selector("#recovery-change:not([hidden])")
        assert page.text_content("#recovery-fingerprint") == kit_fpr
        assert page.text_content("#recovery-new-fingerprint") == crypto.fingerprint(rogue_public, b"")
        shot(page, "recovery-key-change")
    finally:
        _set_recovery_public(env, original)
    # Back to the key of the paper kit: nothing to accept, nothing was changed in the browser.
    page.goto(f"{url}/account")
    page.wait_for_function("() => document.querySelector('#recovery-fingerprint').textContent.trim() !== ''")
    assert page.is_hidden("#recovery-change")
    # A legitimate new key (the organisation made a new kit) is accepted with the button.
    _set_recovery_public(env, rogue_public)
    try:
        page.goto(f"{url}/account")
        page.wait_for_selector("#recovery-change:not([hidden])")
        page.click("#recovery-accept")
        page.wait_for_selector("#recovery-change", state="hidden")
        assert page.text_content("#recovery-fingerprint") == crypto.fingerprint(rogue_public, b"")
    finally:
        _set_recovery_public(env, original)
    page.goto(f"{url}/account")
    page.wait_for_selector("#recovery-change:not([hidden])")
    page.click("#recovery-accept")  # and back, for the tests that follow
    page.wait_for_selector("#recovery-change", state="hidden")
    assert page.text_content("#recovery-fingerprint") == kit_fpr
    assert page.errors == []


def test_the_server_holds_nothing_sealed(world):
    env = world["env"]
    world["srv"].stop()
    world["stopped"] = True
    needles = [MARKER, VICTIM.encode(), STATEMENT.encode(), CLINICIAN.encode(), PHOTO_NAME.encode(),
               BIG_NAME.encode(), CLI_NAME.encode(), b"Aigerim", b"body_diagram", "Өмүрбек".encode(),
               json.dumps(VICTIM).encode(), FAMILY.encode(), FACTS_KY.encode(), APPLICANT.encode(),
               "союл менен сабашты".encode(), "Жаракаттардын сүрөтү".encode(), CAMERA_MODEL.encode(), b"Fotokam"]
    needles += [p.encode() for p in [*PASSWORDS.values(), NEW_PASSWORD]]
    swept = assert_nowhere(env.data_dir, needles)
    assert swept > 5
    assert (env.data_dir / "logs" / "access.log").stat().st_size > 0
