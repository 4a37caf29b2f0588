"""Safe file names, and untrusted names made honest to show.

Original file names come from the uploader's manifest and are untrusted: a
name like ``../../etc/passwd`` or ``C:\\x`` must not escape the bundle's
folder when a recipient unpacks it, and two files called ``photo.jpg`` must
not overwrite each other. Names stay readable (Cyrillic, Latin, digits,
spaces and combining marks are kept, NFC-normalised).

Nor may a name lie about itself. Unicode format characters are invisible but
change what is shown: a right-to-left override (U+202E) makes
``report<U+202E>fdp.exe`` display as "reportexe.pdf", zero-width characters
hide inside a name, a soft hyphen or a tag character makes two names look
alike. So every name written into a file name (a bundle entry, a download, a
Content-Disposition) loses them:

* general category Cf (bidi embeddings, overrides and isolates, U+200E/F,
  zero-width U+200B-D, U+2060, U+FEFF, U+00AD, tags...), lone surrogates
  (Cs, which no file system can store) and the other default-ignorable code
  points (variation selectors, Hangul fillers, U+034F...) are removed;
* controls (Cc, C0 and C1) and line/paragraph separators (Zl, Zp) become
  ``_``, as the characters Windows forbids do;
* every other space (Zs: no-break, em, ideographic...) becomes one plain
  space, and runs of spaces become one, so ``invoice.pdf      .exe`` cannot
  push its real extension out of sight.

``visible_text`` is for showing a name as it really is (the custody annex):
the same characters appear as ``[U+202E]`` instead of disappearing.

The browser twin is vault/static/js/names.js, with the same rules; the two are
tested against each other on one table of hostile names (tests/export/test_names.py).
Only the standard library's unicodedata is needed: the rules are a category
test plus a fixed list, which JavaScript expresses with ``\\p{...}`` classes.
Characters assigned after the Python's or the browser's Unicode version are
the one place the twins may differ.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

ATTACHMENT_DIR = "attachments"
MAX_NAME = 120  # code points
MAX_BYTES = 240  # UTF-8 bytes: ext4, APFS and NTFS allow 255 per component
MAX_EXT = 16
# Longer names are cut to their first and last SCAN_HALF code points before
# anything else: bounded work for a name from a 2 MiB manifest.
SCAN_HALF = 512
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_DROP_CATEGORIES = {"Cf", "Cs"}
_UNDERSCORE_CATEGORIES = {"Cc", "Zl", "Zp"}
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside Cf:
# rendered as nothing, so as invisible as a format character. 2060-206F and
# FFF0-FFF8 include reserved code points the standard already marks ignorable.
_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F),
              (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
              (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF))


def is_invisible(ch: str) -> bool:
    """A character the name loses: a format, surrogate or default-ignorable one."""
    if unicodedata.category(ch) in _DROP_CATEGORIES:
        return True
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE)


def _hidden(ch: str) -> bool:
    return is_invisible(ch) or unicodedata.category(ch) in _UNDERSCORE_CATEGORIES


def _bounded(text: str, joint: str = "") -> str:
    return text if len(text) <= 2 * SCAN_HALF else text[:SCAN_HALF] + joint + text[-SCAN_HALF:]


def clean_text(text: str) -> str:
    """``text`` with the rules above applied, NFC-normalised; may be empty."""
    out = []
    for ch in text:
        if is_invisible(ch):
            continue
        cat = unicodedata.category(ch)
        if cat in _UNDERSCORE_CATEGORIES:
            out.append("_")
        elif cat == "Zs":
            if not out or out[-1] != " ":
                out.append(" ")
        else:
            out.append(ch)
    # After the removal: a mark separated from its letter by a zero-width
    # character composes with it now.
    return unicodedata.normalize("NFC", "".join(out))


def visible_text(text: str) -> str:
    """``text`` for showing as it is: every hidden or control character written as ``[U+XXXX]``.

    For the custody annex, where the recipient should see that a name carried
    a right-to-left override rather than be fooled by it or not learn of it.
    Very long text keeps its first and last SCAN_HALF code points around "…".
    """
    shown = "".join(f"[U+{ord(ch):04X}]" if _hidden(ch) else ch for ch in _bounded(text, "…"))
    return unicodedata.normalize("NFC", shown)


def _utf8_len(ch: str) -> int:
    cp = ord(ch)
    return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4


def _cut(text: str, max_chars: int, max_bytes: int) -> str:
    out, size = [], 0
    for ch in text[:max_chars]:
        size += _utf8_len(ch)
        if size > max_bytes:
            break
        out.append(ch)
    return "".join(out)


def _trim(name: str) -> str:
    return name.strip(" .")


def safe_filename(name: str, fallback: str = "file") -> str:
    """One path component: no directories, nothing invisible, no control or reserved characters, bounded."""
    name = re.split(r"[/\\]", name or "")[-1]  # the last component only
    name = _trim(_FORBIDDEN.sub("_", clean_text(_bounded(name))))
    if not name:
        name = fallback
    head = name.split(".")[0].rstrip(" ")
    if head.isascii() and head.upper() in _WINDOWS_RESERVED:
        name = "_" + name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = ext[:MAX_EXT]
    if not ext:
        return _cut(name, MAX_NAME, MAX_BYTES)
    room = MAX_BYTES - len(ext.encode()) - 1
    return f"{_cut(stem, MAX_NAME - len(ext) - 1, room)}.{ext}"


def unique_names(names: Iterable[str]) -> list[str]:
    """Make names unique (case-insensitively, as Windows and macOS compare): "a.jpg", "a (2).jpg"."""
    seen: set[str] = set()
    out = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def attachment_paths(filenames: Iterable[tuple[str, str]]) -> list[str]:
    """Bundle paths for (original name, item id) pairs, in order, sanitised and unique."""
    safe = [safe_filename(name, fallback=item_id) for name, item_id in filenames]
    return [f"{ATTACHMENT_DIR}/{name}" for name in unique_names(safe)]


# Extensions an attachment keeps when it is given a neutral name (anything else becomes ".bin").
SAFE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "heic", "tif", "tiff", "bmp", "pdf", "docx",
                             "doc", "odt", "rtf", "txt", "csv", "json", "xml", "mp4", "mov", "m4v", "webm", "avi",
                             "mkv", "mp3", "m4a", "wav", "ogg", "opus", "amr", "zip", "7z", "xlsx", "ods", "eml"})
_MEDIA_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
                     "image/heic": "heic", "image/tiff": "tif", "application/pdf": "pdf", "text/plain": "txt",
                     "application/json": "json", "video/mp4": "mp4", "video/quicktime": "mov",
                     "video/webm": "webm", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/wav": "wav",
                     "audio/ogg": "ogg", "application/zip": "zip",
                     "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"}


def safe_extension(filename: str, media_type: str = "") -> str:
    """The extension a neutral name keeps: the original one if it is a known kind, else the media type's."""
    stem, dot, ext = (filename or "").rpartition(".")
    ext = ext.lower() if dot and stem else ""
    if ext in SAFE_EXTENSIONS:
        return ext
    return _MEDIA_EXTENSIONS.get((media_type or "").split(";")[0].strip().lower(), "bin")


def neutral_stem(index: int, evidence_type: str) -> str:
    """``attachment-03-photo``: the position and the kind, nothing the uploader typed."""
    kind = evidence_type if re.fullmatch(r"[a-z][a-z0-9_]{0,31}", evidence_type or "") else "file"
    return f"attachment-{index:02d}-{kind}"
