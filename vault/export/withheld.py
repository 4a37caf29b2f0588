"""`vault verify` for an item of an anonymous bundle, listed by id and hash only (docs/exports.md, "Anonymity").

The uploader's signed manifest holds the original file name, so an anonymous bundle withholds it and
gives its SHA-256 and the uploader's signature instead: the file is checked against the exporter's
signed annex, and the manifest can be produced to the recipient on request.
"""

from __future__ import annotations

import binascii
import re

from vault import crypto


def check_withheld(entry: dict, path: str, actual: dict[str, tuple[str, int]], report) -> None:
    """An item listed by id and hash only (an anonymous bundle): its file against the exporter's annex."""
    try:
        ok = (re.fullmatch(r"[0-9a-f]{64}", str(entry.get("manifest_sha256"))) and len(crypto.b64d(entry["signature"]))
              == 64 and len(crypto.b64d(entry["uploader_sign_public"])) == 32)
    except (KeyError, TypeError, ValueError, binascii.Error):
        ok = False
    if not ok or (path in actual and (entry.get("sha256"), entry.get("size")) != actual[path]):
        return report.add(path, "mismatch" if ok else "malformed", "the file does not match the SHA-256 and size "
                          "the annex gives for it" if ok else "the annex entry for this attachment is invalid")
    report.withheld.append(str(entry.get("item_id")))
