"""The EXIF readers on hostile photos: the Python client's (vault/client/transfer.py _exif, Pillow) and,
differentially, the browser's twin (vault/static/js/exif.js under Node, tests/fuzz/exif_driver.mjs).

Both read what whoever made the file put in it. Python: always (captured, {tag: str}) with at most four
tags of at most 200 characters, whatever the bytes. The two must agree on JPEG and PNG (the formats
exif.js reads), since both seal the same fields for the same photo.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from vault.client.transfer import _exif

PIL = pytest.importorskip("PIL.Image")
DRIVER = Path(__file__).with_name("exif_driver.mjs")
TAGS = {0x010F: "Make", 0x0110: "Model", 0x0131: "Software"}
ascii_text = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=40)
dates = st.sampled_from(["2026:10:01 14:03:59", "2026:02:30 10:00:00", "0000:00:00 00:00:00", "2024:2:9 1:2:3",
                         "2026:10:01  14:03:59", "", " "]) | ascii_text


def _image(fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), (90, 60, 30)).save(buf, fmt)
    return buf.getvalue()


JPEG, PNG = _image("JPEG"), _image("PNG")


def with_exif(fmt: str, tiff: bytes) -> bytes:
    """A small intact JPEG (APP1 "Exif\\0\\0" segment first) or PNG (an eXIf chunk after IHDR) carrying `tiff`."""
    if fmt == "JPEG":
        seg = b"Exif\0\0" + tiff
        return JPEG[:2] + b"\xff\xe1" + (len(seg) + 2).to_bytes(2, "big") + seg + JPEG[2:]
    chunk = b"eXIf" + tiff
    at = 8 + 25  # signature, then the IHDR chunk
    return PNG[:at] + len(tiff).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big") + PNG[at:]


@st.composite
def exif_data(draw) -> bytes:
    """TIFF data as Pillow writes it for any of the four tags (of any type), then perhaps cut or flipped."""
    from PIL import Image

    exif = Image.Exif()
    exif.endian = draw(st.sampled_from(["<", ">"]))
    for tag, _ in TAGS.items():
        if draw(st.booleans()):
            exif[tag] = draw(ascii_text | st.integers(0, 2**16) | st.binary(max_size=8))
    if draw(st.booleans()):
        exif.get_ifd(0x8769)[0x9003] = draw(dates)
    data = bytearray(exif.tobytes())
    damage = draw(st.sampled_from(["none", "flip", "cut"]))
    if damage == "flip":
        for at, x in draw(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)), min_size=1, max_size=4)):
            data[at % len(data)] ^= x
    elif damage == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


# Photos: intact image structure, EXIF of any content and damage. (Damage to the JPEG/PNG structure
# itself is FINDING exif-1 below, and the readers differ there.)
photos = st.builds(with_exif, st.sampled_from(["JPEG", "PNG"]), exif_data())


@pytest.fixture(scope="module")
def js_exif():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    proc = subprocess.Popen([node, str(DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(data: bytes) -> dict:
        proc.stdin.write(json.dumps({"hex": data.hex()}) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    yield ask
    proc.stdin.close()
    proc.wait(10)


def python_exif(tmp: Path, data: bytes, media_type: str = "image/jpeg") -> tuple:
    path = tmp / "photo"
    path.write_bytes(data)
    return _exif(path, media_type)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns on broken EXIF; it still answers
@given(data=photos | st.binary(max_size=600) | st.builds(lambda b, n: b[:n], photos, st.integers(0, 2000)))
def test_python_exif_is_bounded_text(tmp_path_factory, data):
    captured, exif = python_exif(tmp_path_factory.getbasetemp(), data)
    assert captured is None or isinstance(captured, str)
    assert set(exif) <= {"DateTimeOriginal", "Make", "Model", "Software"}
    assert all(isinstance(v, str) and len(v) <= 200 for v in exif.values())
    json.dumps(exif)  # it goes into the sealed JSON


@pytest.mark.filterwarnings("ignore::UserWarning")
@given(data=photos)
def test_the_browser_reads_exif_as_the_python_client(tmp_path_factory, js_exif, data):
    note(data.hex())
    captured, exif = python_exif(tmp_path_factory.getbasetemp(), data)
    assert js_exif(data) == {"captured_at": captured, "exif": exif}


def _model_only() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = "Model-Xq7"
    return exif.tobytes()


# FINDING exif-1, fixed: a JPEG that ends after its EXIF segment, before the frame header (or that holds a
# marker Pillow does not know) is refused whole by Pillow, so the Python client seals no EXIF; exif.js read
# the segment and sealed it. It now walks the header as Pillow's parser does and refuses what Pillow refuses.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("rest", [b"", b"\xff\x02\x00\x04ab"], ids=["no_frame_header", "unknown_marker"])
def test_a_jpeg_pillow_cannot_open_has_no_exif_in_the_browser_either(tmp_path, js_exif, rest):
    seg = b"Exif\0\0" + _model_only()
    data = b"\xff\xd8" + b"\xff\xe1" + (len(seg) + 2).to_bytes(2, "big") + seg + rest
    if rest:
        data += JPEG[2:]  # a whole image after the unknown marker
    captured, exif = python_exif(tmp_path, data)
    assert js_exif(data) == {"captured_at": captured, "exif": exif}


def _seg(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


@st.composite
def jpeg_headers(draw) -> bytes:
    """JPEG files whose header Pillow may or may not accept, with an Exif segment in them: segments of every
    kind Pillow checks (frame headers, quantization tables, JFIF, Adobe, Photoshop, ICC), well-formed or not,
    markers it does not know, fill and junk bytes, then perhaps a whole image, the whole cut anywhere."""
    exif = _seg(0xE1, b"Exif\0\0" + _model_only())
    pieces = [
        exif,
        st.builds(lambda b, bits, w, h, n: _seg(b, bytes((bits,)) + h.to_bytes(2, "big") + w.to_bytes(2, "big") + bytes((n,))
                                         + b"\x01\x22\x00" * n), st.sampled_from([0xC0, 0xC2, 0xCF, 0xDE]),
                  st.sampled_from([8, 8, 12]), st.sampled_from([0, 1, 4, 65535]), st.sampled_from([0, 3, 65535]),
                  st.sampled_from([1, 3, 4, 2])),
        st.builds(lambda b: _seg(0xC0, b), st.binary(max_size=12)),
        st.builds(lambda p, n: _seg(0xDB, bytes((p,)) + bytes(n)), st.sampled_from([0x00, 0x10, 0x01]),
                  st.sampled_from([64, 63, 128, 129])),
        st.builds(lambda b: _seg(0xE0, b"JFIF" + b), st.binary(max_size=12)),
        st.builds(lambda b: _seg(0xEE, b"Adobe" + b), st.binary(max_size=8)),
        st.builds(lambda b: _seg(0xED, b"Photoshop 3.0\0" + b), st.binary(max_size=30)
                  | st.builds(lambda c, n, s: b"8BIM" + c + n + s, st.binary(min_size=0, max_size=2),
                              st.binary(max_size=3), st.binary(max_size=20))),
        st.builds(lambda b: _seg(0xE2, b"ICC_PROFILE\0" + b), st.binary(max_size=4)),
        st.builds(lambda m, b: _seg(m, b), st.integers(0xC0, 0xFE), st.binary(max_size=6)),
        st.builds(lambda m: bytes((0xFF, m)), st.integers(0, 0xFF)),  # a bare marker, known or not
        st.sampled_from([b"\xff\xff", b"\x00", b"junk", b"\xff\x00", b"\xff\xd9"]),
    ]
    parts = draw(st.lists(st.one_of([p if isinstance(p, st.SearchStrategy) else st.just(p) for p in pieces]),
                          max_size=4))
    data = b"\xff\xd8" + exif + b"".join(parts) + draw(st.sampled_from([b"", JPEG[2:], JPEG[2:], JPEG[2:]]))
    return data[:draw(st.integers(2, len(data)))] if draw(st.integers(0, 3)) == 0 else data


@pytest.mark.filterwarnings("ignore::UserWarning")
@given(data=jpeg_headers())
def test_the_browser_opens_the_jpegs_pillow_opens(tmp_path_factory, js_exif, data):
    note(data.hex())
    captured, exif = python_exif(tmp_path_factory.getbasetemp(), data)
    assert js_exif(data) == {"captured_at": captured, "exif": exif}
