"""The field app's capture statements: made by the browser (capture.js under Node), checked by Python.

vault/domain/capture.py verify_capture is what the Python client runs on every
download of a field capture; the browser's item page runs capturefacts.js.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.web.test_crypto_interop import build, js, ok  # noqa: F401  (fixtures)
from vault import crypto
from vault.crypto import b64e
from vault.domain.capture import verify_capture
from vault.domain.trust import TrustFailure

DATA = "Кыйноо жөнүндө жазуу: ң ө ү".encode()
LOCATION = {"lat": "42.874621", "lon": "-74.569762", "accuracy_m": 12}


def _made_in_browser(js, seed: bytes, location=None, data: bytes = DATA) -> dict:  # noqa: F811
    return ok(js({"op": "capture_statement", "seed": seed.hex(), "capture_id": "c" * 32, "case_id": "a" * 32,
                  "user_id": "u" * 32, "media_type": "text/plain", "data": data.hex(),
                  "device_time": "2026-12-03T06:40:00Z", "location": location})[0])


def _manifest(data: bytes = DATA) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "media_type": "text/plain",
            "uploader_id": "u" * 32}


@pytest.mark.parametrize("location", [None, LOCATION])
def test_a_browser_statement_verifies_in_python(js, location):  # noqa: F811
    seed = crypto.random_key()
    statement = _made_in_browser(js, seed, location)
    body = verify_capture(statement, _manifest(), b64e(crypto.sign_public_from_seed(seed)), "a" * 32)
    assert body["device_time"] == "2026-12-03T06:40:00Z" and body["clock"] == "device"
    assert body["location"] == location
    assert body["sha256"] == hashlib.sha256(DATA).hexdigest()


def test_a_browser_statement_about_another_file_or_signer_is_refused(js):  # noqa: F811
    seed = crypto.random_key()
    statement = _made_in_browser(js, seed)
    signer = b64e(crypto.sign_public_from_seed(seed))
    with pytest.raises(TrustFailure, match="sha256"):
        verify_capture(statement, _manifest(b"another file"), signer, "a" * 32)
    with pytest.raises(TrustFailure, match="case_id"):
        verify_capture(statement, _manifest(), signer, "b" * 32)
    with pytest.raises(TrustFailure, match="someone other"):
        verify_capture(statement, _manifest(), b64e(crypto.sign_public_from_seed(crypto.random_key())), "a" * 32)
