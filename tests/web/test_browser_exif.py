"""The EXIF of photos sealed by the browser (vault/static/js/exif.js) is what the Python client seals, even when broken.

Each test makes its own lawyer and case on the module's server; the camera's
details are swept for on the server's data folder when the module ends
(tests/web/conftest.py).
"""

from __future__ import annotations

import struct

import pytest

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

CAMERA_MODEL = "Model-Xq7"  # in the EXIF of the photos the browser seals: never on the server's disk


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
def test_a_photos_exif_is_sealed_as_the_python_client_seals_it(web, lawyer, case_id, tmp_path):
    from PIL import Image

    from vault.client.session import ClientSession
    from vault.client.transfer import _exif, download_item

    url, tmp = web.url, tmp_path
    web.sealed += [CAMERA_MODEL.encode(), b"Fotokam"]  # swept for once the module's server has stopped
    page = web.signed_in(lawyer)
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
    page.goto(f"{url}/cases/{case_id}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")
    page.set_input_files("#files", [str(tmp / name) for name in photos])
    page.fill("#m-title", "Photos from the camera")
    page.select_option("#m-evidence_type", "photo")
    page.click("#upload-button")
    page.wait_for_function(f"() => document.querySelectorAll('#queue li.upload.done').length === {len(photos)}")
    assert page.locator("#queue li.failed").count() == 0
    ids = page.eval_on_selector_all("#queue li.upload.done", "els => els.map(e => e.dataset.itemId)")

    sess = ClientSession.login(url, lawyer.username, lawyer.password, home=tmp / "py-exif")
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
def test_broken_exif_is_read_without_an_error(web, tmp_path):
    from vault.client.transfer import _exif

    tmp = tmp_path
    page = web.page()
    page.goto(f"{web.url}/login")  # any page of the vault: exif.js is imported from its origin
    cases = {name: _jpeg(tiff) for name, tiff in BROKEN_EXIF.items()}
    good = _jpeg(exif=_photo_exif("Fotokam", CAMERA_MODEL, "Sw", "2026:10:01 14:03:59", ">"))
    cases["segment cut short"] = good[:good.index(b"Exif\0\0") + 40]  # the APP1 segment runs past the end
    cases["not a photo"] = b"GIF89a" + good
    # Finding exif-1: files Pillow does not open at all, so the Python client seals none of their EXIF.
    exif_end = good.index(b"Exif\0\0") - 4 + int.from_bytes(good[good.index(b"Exif\0\0") - 2:][:2], "big") + 2
    cases["ends after its EXIF"] = good[:exif_end]
    cases["a marker Pillow does not know"] = good[:exif_end] + b"\xff\x02\x00\x04ab" + good[exif_end:]
    cases["a frame of no height"] = good.replace(b"\xff\xc0\x00\x11\x08\x00\x0c", b"\xff\xc0\x00\x11\x08\x00\x00")
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
    for name in ("ends after its EXIF", "a marker Pillow does not know", "a frame of no height"):
        assert js[name]["exif"] == {}, name
    # A photo whose frame header lies beyond the 256 KiB the browser reads (five 60 KB comments first):
    # Pillow opens it, and the browser trusts the segments it read, as the file goes on.
    at = good.index(b"\xff\xdb")
    big = good[:at] + (b"\xff\xfe\xea\x62" + bytes(60000)) * 5 + good[at:]
    (tmp / "big.jpg").write_bytes(big)
    captured, exif = _exif(tmp / "big.jpg", "image/jpeg")
    assert exif["Model"] == CAMERA_MODEL
    got = page.evaluate("""async (bytes) => {
        const { photoExif } = await import('/static/js/exif.js');
        return photoExif(new Blob([new Uint8Array(bytes)]), "image/jpeg");
    }""", list(big))
    assert got == {"captured_at": captured, "exif": exif}
    assert page.errors == []
