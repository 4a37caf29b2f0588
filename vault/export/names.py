"""Safe file names inside an export bundle.

Original file names come from the uploader's manifest and are untrusted: a
name like ``../../etc/passwd`` or ``C:\\x`` must not escape the bundle's
folder when a recipient unpacks it, and two files called ``photo.jpg`` must
not overwrite each other. Names stay readable (Cyrillic is kept).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

ATTACHMENT_DIR = "attachments"
MAX_NAME = 120
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str, fallback: str = "file") -> str:
    """One path component: no directories, no control or reserved characters, bounded length."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]  # the last component only
    name = _FORBIDDEN.sub("_", name).strip().strip(".").strip()
    if not name:
        name = fallback
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    ext = ext[:16]
    stem = stem[: MAX_NAME - len(ext) - 1] if ext else stem[:MAX_NAME]
    return f"{stem}.{ext}" if ext else stem


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
