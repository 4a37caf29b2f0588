"""Membership: granting by a member's client, removal with key rotation."""

from __future__ import annotations

import os

import pytest

from vault.client.http import ApiFailure
from vault.client.transfer import download_item, upload_file


def _up(sess, case_id, tmp_path, name):
    p = tmp_path / name
    p.write_bytes(os.urandom(10_000))
    return p, upload_file(sess, case_id, p, {"title": name, "evidence_type": "document"})


def test_removal_rotates_the_key_for_new_items(people, tmp_path):
    p1, old = _up(people.lawyer, people.case_id, tmp_path, "before.bin")
    assert download_item(people.medic, old["item_id"], tmp_path / "m1")[0].read_bytes() == p1.read_bytes()
    out = people.lawyer.remove_member(people.case_id, "bakyt")
    assert out["key_version"] == 2
    with pytest.raises(ApiFailure) as exc:
        people.medic.case(people.case_id)
    assert exc.value.status == 404
    with pytest.raises(ApiFailure):
        download_item(people.medic, old["item_id"], tmp_path / "m2")
    p2, new = _up(people.lawyer, people.case_id, tmp_path, "after.bin")
    item = people.lawyer.http.get(f"/items/{new['item_id']}")
    assert item["key_version"] == 2
    # The remaining member reads old and new items.
    assert download_item(people.lawyer, old["item_id"], tmp_path / "l1")[0].read_bytes() == p1.read_bytes()
    assert download_item(people.lawyer, new["item_id"], tmp_path / "l2")[0].read_bytes() == p2.read_bytes()
    # Re-adding the medic seals both versions to him again.
    people.lawyer.add_member(people.case_id, "bakyt")
    assert download_item(people.medic, new["item_id"], tmp_path / "m3")[0].read_bytes() == p2.read_bytes()


def test_medic_cannot_manage_members(people):
    with pytest.raises(ApiFailure) as exc:
        people.medic.add_member(people.case_id, "outsider")
    assert exc.value.status == 403


def test_upload_with_a_stale_key_version_is_refused(people, tmp_path):
    people.lawyer.remove_member(people.case_id, "bakyt")
    with pytest.raises(ApiFailure) as exc:
        people.lawyer.http.post(f"/cases/{people.case_id}/uploads", {
            "size": 100, "key_version": 1, "metadata": {"title": "t", "evidence_type": "photo"}})
    assert exc.value.status == 409 and exc.value.code == "stale_key_version"
