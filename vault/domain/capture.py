"""The field app's capture statements (issue #15), checked.

A capture statement is a signed statement (vault.domain.trust) of kind
"capture", made by the browser the moment a photo, an audio clip or a note
exists on the device (vault/static/js/capture.js), and sealed with the item
as its sealed field "capture":

    {"v": 1, "kind": "capture", "capture_id", "case_id", "user_id",
     "media_type", "size", "sha256", "device_time", "clock": "device",
     "location": null | {"lat": "42.874600", "lon": "74.569800", "accuracy_m": 12}}

The device time is the device's clock, and says so; the server's receipt
time is the item's ``created_at``. Signed statements hold integers only, so
the degrees are decimal strings.
"""

from __future__ import annotations

import re
from datetime import datetime

from vault.crypto import b64d
from vault.domain.trust import TrustFailure, open_statement

KIND = "capture"
_DEGREES = re.compile(r"^-?\d{1,3}\.\d{6}$")


def verify_capture(statement: object, manifest: dict, uploader_sign_public: str, case_id: str) -> dict:
    """The statement's body if it is the uploader's statement about exactly this file; TrustFailure otherwise.

    ``manifest`` is the item's verified manifest, ``uploader_sign_public`` the
    uploader's Ed25519 key (base64) that signed it.
    """
    body, signer = open_statement(statement, KIND)
    if signer != b64d(uploader_sign_public):
        raise TrustFailure("the capture statement is signed by someone other than the uploader")
    for key, expected in (("sha256", manifest.get("sha256")), ("size", manifest.get("size")),
                          ("media_type", manifest.get("media_type")), ("user_id", manifest.get("uploader_id")),
                          ("case_id", case_id)):
        if body.get(key) != expected:
            raise TrustFailure(f"the capture statement's {key} is not this item's")
    if body.get("clock") != "device" or not isinstance(body.get("device_time"), str):
        raise TrustFailure("the capture statement has no device time")
    try:
        datetime.fromisoformat(body["device_time"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise TrustFailure("the capture statement's device time is not a time") from exc
    loc = body.get("location")
    if loc is not None and not (isinstance(loc, dict) and _DEGREES.match(str(loc.get("lat", "")))
                                and _DEGREES.match(str(loc.get("lon", ""))) and isinstance(loc.get("accuracy_m"), int)):
        raise TrustFailure("the capture statement's location is malformed")
    return body
