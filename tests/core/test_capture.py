"""vault/domain/capture.py: what a capture statement must say to be believed (issue #15)."""

from __future__ import annotations

import hashlib

import pytest

from vault import crypto
from vault.crypto import b64e
from vault.domain.capture import verify_capture
from vault.domain.trust import TrustFailure, make_statement

DATA = b"\x89PNG photo bytes"
CASE, USER = "a" * 32, "u" * 32


def _body(**change) -> dict:
    body = {"v": 1, "kind": "capture", "capture_id": "c" * 32, "case_id": CASE, "user_id": USER,
            "media_type": "image/png", "size": len(DATA), "sha256": hashlib.sha256(DATA).hexdigest(),
            "device_time": "2026-12-03T06:40:00Z", "clock": "device", "location": None}
    return {**body, **change}


MANIFEST = {"sha256": hashlib.sha256(DATA).hexdigest(), "size": len(DATA), "media_type": "image/png",
            "uploader_id": USER}


@pytest.fixture
def seed() -> bytes:
    return crypto.random_key()


def test_the_uploaders_statement_about_this_file_verifies(seed):
    signer = b64e(crypto.sign_public_from_seed(seed))
    loc = {"lat": "42.874621", "lon": "74.569762", "accuracy_m": 8}
    body = verify_capture(make_statement("capture", _body(location=loc), seed), MANIFEST, signer, CASE)
    assert body["location"] == loc


@pytest.mark.parametrize(("change", "reason"), [
    ({"size": len(DATA) + 1}, "size"),
    ({"media_type": "image/jpeg"}, "media_type"),
    ({"user_id": "x" * 32}, "user_id"),
    ({"clock": "server"}, "device time"),
    ({"device_time": "yesterday"}, "not a time"),
    ({"location": {"lat": 42.87, "lon": 74.56, "accuracy_m": 8}}, "location"),
    ({"location": {"lat": "42.874621", "lon": "74.569762", "accuracy_m": "8"}}, "location"),
])
def test_a_statement_that_does_not_fit_the_item_is_refused(seed, change, reason):
    signer = b64e(crypto.sign_public_from_seed(seed))
    statement = make_statement("capture", _body(**change), seed)  # floats too: Python's JSON signs them
    with pytest.raises(TrustFailure, match=reason):
        verify_capture(statement, MANIFEST, signer, CASE)


def test_a_statement_altered_after_signing_is_refused(seed):
    signer = b64e(crypto.sign_public_from_seed(seed))
    statement = make_statement("capture", _body(), seed)
    statement["payload"] = statement["payload"].replace("06:40", "05:40")
    with pytest.raises(TrustFailure, match="signature"):
        verify_capture(statement, MANIFEST, signer, CASE)


def test_the_cli_says_what_the_capture_statement_says_and_warns_when_it_does_not_check_out():
    from vault.cli.evidence import capture_line

    assert capture_line({}) == ""
    here = {"verified": True, "device_time": "2026-12-03T06:40:00Z",
            "location": {"lat": "42.874621", "lon": "74.569762", "accuracy_m": 8}}
    assert capture_line({"capture": here}) == ("\nCaptured in the field at 2026-12-03T06:40:00Z by the device's clock, "
                                               "at 42.874621, 74.569762 (± 8 m); signed on the device")
    assert "at 42." not in capture_line({"capture": {**here, "location": None}})
    bad = capture_line({"capture": {"verified": False, "reason": "the capture statement's sha256 is not this item's"}})
    assert bad.startswith("\nWARNING") and "sha256" in bad


@pytest.mark.parametrize("garbage", [None, "capture", [], {}, {"kind": "capture"},
                                     {"kind": "capture", "payload": "{", "signer": "AA==", "signature": "AA=="},
                                     {"kind": "case-entry", "payload": "{}", "signer": "x", "signature": "y"}])
def test_garbage_in_the_sealed_capture_field_is_refused_in_words(seed, garbage):
    with pytest.raises(TrustFailure, match="capture statement"):
        verify_capture(garbage, MANIFEST, b64e(crypto.sign_public_from_seed(seed)), CASE)


def test_a_statement_of_another_kind_signed_by_the_uploader_is_refused(seed):
    body = {**_body(), "kind": "case-entry"}
    with pytest.raises(TrustFailure):
        verify_capture(make_statement("case-entry", body, seed), MANIFEST, b64e(crypto.sign_public_from_seed(seed)), CASE)
