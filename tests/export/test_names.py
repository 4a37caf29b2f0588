"""File names from untrusted manifests: nothing invisible survives, readable names stay, Python = JavaScript.

The attack: an attachment named ``report<U+202E>fdp.exe`` shows as
"reportexe.pdf" wherever it is displayed with its right-to-left override.
vault/export/names.py and its browser twin vault/static/js/names.js must
make the same name of every entry in HOSTILE (Node runs the JS module, as
tests/web/test_crypto_interop.py runs crypto.js).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from vault.export import names
from vault.export.names import attachment_paths, safe_filename

ROOT = Path(__file__).resolve().parents[2]
NAMES_JS = ROOT / "vault" / "static" / "js" / "names.js"
RLO_NAME = "report\u202efdp.exe"

# Characters no name may carry (general categories) and default-ignorable ones outside them.
HIDDEN_CATEGORIES = {"Cf", "Cc", "Cs", "Zl", "Zp"}
IGNORABLE = {"\u034f", "\u115f", "\u1160", "\u17b4", "\u180b", "\u3164", "\ufe0f", "\uffa0", "\U000e0100"}

HOSTILE = [
    RLO_NAME,
    "\u202aLRE\u202bRLE\u202cPDF\u202dLRO.pdf",
    "\u2066isolate\u2067\u2068\u2069.pdf",
    "\u200ename\u200f.jpg",
    "zero\u200bwidth\u200c\u200djoin.png",
    "word\u2060joiner\ufeffbom.txt",
    "soft\u00adhyphen.docx",
    "tag\U000e0041\U000e0062\U000e007f.jpg",
    "c0\x01\x1f\x7f.txt",
    "c1\x85\x9b.txt",
    "line\u2028para\u2029.txt",
    "lone\ud800surrogate\udfff.txt",
    "hangul\u3164\u115ffiller.jpg",
    "vs\ufe0f\U000e0100heart.png",
    "cgj\u034f\u180e.txt",
    "arabic\u061c\u0600mark.txt",
    "invoice.pdf\u00a0\u2003\u3000      .exe",
    "\u202e",
    "\u200b\u200b.\u200b",
    "../\u202e../etc/passwd",
    "C:\\evil\\\u202egpj.bat",
    "CON\u200b.txt",
    "a" * 3000 + "\u202e.txt",
    "\u202e" * 3000 + "tail.pdf",
    "x" * 130 + "\u202efdp.exe",
]
READABLE = [
    ("Өмүрбеков ң ө ү.jpg", "Өмүрбеков ң ө ү.jpg"),
    ("за\u0301мок.pdf", "за\u0301мок.pdf"),  # a stress mark: no precomposed form, kept
    ("И\u0306ошкар-Ола.pdf", "Йошкар-Ола.pdf"),  # NFC
    ("e\u200b\u0301.txt", "\u00e9.txt"),  # the mark meets its letter once the zero-width space is gone
    ("Zürich 2025 (копия) #2.pdf", "Zürich 2025 (копия) #2.pdf"),
    ("фото ң.jpg", "фото ң.jpg"),
]
LONG = [
    "漢" * 200 + ".txt",
    "ң" * 300 + ".pdf",
    "😀" * 100 + ".png",  # astral: one code point, two UTF-16 units
    "a." + "b" * 40,
    "ң" * 50 + "." + "ө" * 40,
]


def hidden(text: str) -> list[str]:
    """The characters of ``text`` that must not be in a name, as U+XXXX."""
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in HIDDEN_CATEGORIES or c in IGNORABLE]


def assert_clean(text: str, where: str = "") -> None:
    assert not hidden(text), f"{where}: {hidden(text)} in {text!r}"


def test_no_hidden_character_survives_in_a_file_name():
    for name in HOSTILE:
        out = safe_filename(name, fallback="item-1")
        assert_clean(out, repr(name))
        assert out and len(out) <= 120 and len(out.encode()) <= 240 and "/" not in out and "\\" not in out
    assert safe_filename(RLO_NAME) == "reportfdp.exe"  # what it is, not what it showed
    assert safe_filename("\u202e", fallback="item-1") == "item-1"
    assert safe_filename("CON\u200b.txt") == "_CON.txt"  # reserved once the invisible part is gone
    assert safe_filename("invoice.pdf\u00a0\u2003\u3000      .exe") == "invoice.pdf .exe"
    assert safe_filename("c0\x01\x1f\x7f.txt") == "c0___.txt"
    paths = attachment_paths([(RLO_NAME, "i1"), ("report\u200bfdp.exe", "i2"), ("\u2066", "i3")])
    assert paths == ["attachments/reportfdp.exe", "attachments/reportfdp (2).exe", "attachments/i3"]


def test_readable_names_stay_readable():
    for name, expected in READABLE:
        assert safe_filename(name) == expected
    for name in LONG:
        out = safe_filename(name)
        assert len(out) <= 120 and len(out.encode()) <= 240
    assert safe_filename("ң" * 300 + ".pdf") == "ң" * 116 + ".pdf"  # 120 code points
    assert safe_filename("漢" * 200 + ".txt") == "漢" * 78 + ".txt"  # 238 UTF-8 bytes: unpackable on ext4


def test_visible_text_shows_what_was_hidden():
    assert names.visible_text(RLO_NAME) == "report[U+202E]fdp.exe"
    assert names.visible_text("a\nb\u200b") == "a[U+000A]b[U+200B]"
    assert names.visible_text("Өмүрбеков.jpg") == "Өмүрбеков.jpg"
    for name in HOSTILE:
        assert_clean(names.visible_text(name), repr(name))
    assert len(names.visible_text("x" * 10**6)) == 1025  # bounded: first and last 512, and "…"


# ---------------------------------------------------------------- the browser twin

NODE_SCRIPT = """
import { readFileSync } from "node:fs";
const { cleanText, safeFilename, visibleText } = await import(process.argv[1]);
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map(([name, fallback]) => ({
  safe: safeFilename(name, fallback), clean: cleanText(name), visible: visibleText(name) }));
process.stdout.write(JSON.stringify(out));
"""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed: CI must run vault/static/js/names.js")
        pytest.skip("node is not installed: cannot run vault/static/js/names.js")
    return node


def test_python_and_javascript_make_the_same_names():
    cases = [(name, "item-1") for name in HOSTILE + [n for n, _ in READABLE] + LONG + [""]]
    proc = subprocess.run(
        [_node(), "--input-type=module", "-e", NODE_SCRIPT, NAMES_JS.as_uri()],
        input=json.dumps(cases), capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for (name, fallback), js in zip(cases, got, strict=True):
        py = {"safe": safe_filename(name, fallback), "clean": names.clean_text(name),
              "visible": names.visible_text(name)}
        assert js == py, f"{name!r}: JS {js} != Python {py}"
