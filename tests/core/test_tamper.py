"""Tampering is detected: a flipped byte in a blob, a forged signature, a swapped key."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select

from tests.conftest import both_blob_stores
from tests.core import manual_upload
from vault import crypto, ops
from vault.client.http import ApiFailure
from vault.client.session import TrustError
from vault.client.transfer import IntegrityFailure, download_item, upload_file
from vault.db.models import CaseKey, Item
from vault.services.vault import open_vault


def _upload(people, tmp_path, size=200_000):
    src = tmp_path / "evidence.jpg"
    src.write_bytes(os.urandom(size))
    return src, upload_file(people.lawyer, people.case_id, src, {"title": "Photo", "evidence_type": "photo"})


def rewrite_blob(v, sha: str, change, tmp_path) -> None:
    """Replace a stored blob's bytes in whichever store holds it, as someone with access to it could."""
    with v.blobs.open(sha) as r:
        data = r.read()
    staged = tmp_path / "rewritten"
    staged.write_bytes(change(bytearray(data)))
    v.blobs.put_file(staged, sha)


def _flip(raw: bytearray) -> bytes:
    raw[len(raw) // 2] ^= 0x01
    return bytes(raw)


@both_blob_stores
def test_flipped_byte_in_blob_is_an_integrity_error(people, env, tmp_path):
    _, out = _upload(people, tmp_path)
    v = open_vault(env.config)
    rewrite_blob(v, out["blob_sha256"], _flip, tmp_path)
    target = tmp_path / "out.jpg"
    with pytest.raises(IntegrityFailure, match="altered"):
        download_item(people.medic, out["item_id"], target)
    assert not target.exists() and not (tmp_path / "out.jpg.part").exists()
    assert ops.fsck(v, repair=False).ok  # same size: only re-hashing finds it
    report = ops.fsck(v, repair=False, deep=True)
    assert report.bad_hash == [out["item_id"]] and not report.ok
    v.db.dispose()


@both_blob_stores
def test_truncated_blob_is_detected(people, env, tmp_path):
    _, out = _upload(people, tmp_path)
    v = open_vault(env.config)
    rewrite_blob(v, out["blob_sha256"], lambda raw: bytes(raw[:-100]), tmp_path)
    with pytest.raises(IntegrityFailure):
        download_item(people.medic, out["item_id"], tmp_path / "o")
    assert ops.fsck(v, repair=False).bad_size == [out["item_id"]]
    v.db.dispose()


@both_blob_stores
def test_missing_blob_is_reported(people, env, tmp_path):
    _, out = _upload(people, tmp_path)
    v = open_vault(env.config)
    v.blobs.delete(out["blob_sha256"])
    with pytest.raises(IntegrityFailure, match="missing"):
        download_item(people.medic, out["item_id"], tmp_path / "o")
    report = ops.fsck(v, repair=True, deep=True)
    assert report.missing_blobs == [out["item_id"]] and not report.ok and report.removed == 0
    v.db.dispose()


def test_forged_receipt_signature_is_rejected(people, env):
    m = manual_upload.start(people.lawyer, people.case_id, os.urandom(70_000))
    m.put(0, len(m.ciphertext))
    forged = people.outsider.keys.sign(b"something else")
    with pytest.raises(ApiFailure) as exc:
        m.finish(receipt_signature=base64.b64encode(forged).decode())
    assert exc.value.status == 422 and exc.value.code == "bad_signature"
    assert people.lawyer.http.get(f"/cases/{people.case_id}/items")["items"] == []
    m.finish()  # the genuine receipt still works: the staged bytes were kept
    assert len(people.lawyer.http.get(f"/cases/{people.case_id}/items")["items"]) == 1


def test_forged_manifest_signature_is_refused_by_the_client(people, env, tmp_path):
    """A server that swaps the sealed manifest for one signed by someone else is caught."""
    _, out = _upload(people, tmp_path)
    v = open_vault(env.config)
    case = people.lawyer.case(people.case_id)
    case_key = people.lawyer.case_keys(case)[1]
    with v.db.session() as s:
        item = s.get(Item, out["item_id"])
        item_key = crypto.unwrap_item_key(case_key, item.wrapped_key, item.case_id, item.id, 1)
        fake = {"v": 1, "item_id": item.id, "case_id": item.case_id, "sha256": "0" * 64, "size": 1,
                "filename": "x", "uploader": "aigul"}
        item.sealed_manifest = crypto.seal_manifest(item_key, people.outsider.keys, fake, item.case_id, item.id)
    with pytest.raises(IntegrityFailure):
        download_item(people.medic, out["item_id"], tmp_path / "o")
    v.db.dispose()


def test_server_cannot_slip_in_a_case_key_it_knows(people, env):
    """A replaced sealed case key fails the member-signed commitment check."""
    v = open_vault(env.config)
    with v.db.session() as s:
        row = s.execute(select(CaseKey).where(CaseKey.recipient == f"user:{people.medic.me['id']}")).scalar_one()
        row.sealed = crypto.seal(people.medic.keys.box_public, crypto.random_key())
    with pytest.raises(TrustError, match="commitment"):
        people.medic.case_keys(people.medic.case(people.case_id))
    v.db.dispose()


def test_changed_colleague_key_is_refused_until_compared_in_person(people, env):
    """A server handing out another key for a certified colleague is refused; no certificate vouches for it."""
    v = open_vault(env.config)
    from vault.db.models import User

    case2 = people.lawyer.create_case("KG-2026-077", "Another case")["id"]
    fake = crypto.UserKeys.generate()
    with v.db.session() as s:
        u = s.execute(select(User).where(User.username == "bakyt")).scalar_one()
        u.box_public = fake.box_public
    with pytest.raises(TrustError, match="not the certified ones") as err:
        people.lawyer.add_member(case2, "bakyt")
    # The message gives the fingerprint computed from the key the server now names: what an
    # in-person comparison with Bakyt (whose real key this is not) would catch.
    assert crypto.fingerprint(fake.box_public, people.medic.keys.sign_public) in str(err.value)
    v.db.dispose()


def test_a_recovery_key_swapped_in_the_database_is_never_sealed_to(people, env, live):
    """A server that swaps the organisation recovery key would get every new case key sealed to it: it does not."""
    from tests.core.cli_helpers import Cli
    from vault.db.models import Setting

    rogue_secret, rogue = crypto.generate_box_keypair()
    v = open_vault(env.config)
    with v.db.session() as s:
        row = s.get(Setting, "recovery_box_public")
        original, row.value = row.value, base64.b64encode(rogue).decode()
    try:
        case = people.lawyer.create_case("KG-ROGUE-1", "Sealed to the pinned recovery key")
        with v.db.session() as s:
            sealed = s.execute(select(CaseKey).where(CaseKey.case_id == case["id"],
                                                     CaseKey.recipient == "recovery")).scalar_one().sealed
        assert len(crypto.unseal(env.recovery_secret, sealed)) == 32  # the real kit opens it
        with pytest.raises(crypto.DecryptionError):
            crypto.unseal(rogue_secret, sealed)
        # Pinning the organisation again takes a fingerprint from a person: the rogue one does not match.
        cli = Cli(live.url, people.lawyer.home, "aigul", "lawyer-password-1")
        genuine = people.lawyer.organisation().fingerprint
        refused = cli.run("org", "pin", "--fingerprint", genuine, "--json", check=False)
        assert refused.returncode != 0 and "do not go on" in refused.stdout + refused.stderr
        assert "accept-recovery" not in cli.run("keys", "accept-recovery", check=False).stdout
    finally:
        with v.db.session() as s:
            s.get(Setting, "recovery_box_public").value = original
        v.db.dispose()
