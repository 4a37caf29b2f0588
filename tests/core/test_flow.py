"""The core journey through the Python client against a live server."""

from __future__ import annotations

import os

import pytest

from tests.conftest import both_blob_stores
from vault.client.transfer import download_item, upload_file


@both_blob_stores
def test_upload_download_roundtrip(people, tmp_path):
    src = tmp_path / "statement.pdf"
    data = os.urandom(300_000)
    src.write_bytes(data)
    out = upload_file(people.lawyer, people.case_id, src, {"title": "Statement", "evidence_type": "statement"},
                      {"victim": "Victim Name"})
    path, manifest = download_item(people.medic, out["item_id"], tmp_path / "got.pdf")
    assert path.read_bytes() == data
    assert manifest["filename"] == "statement.pdf"
    assert manifest["sealed"]["victim"] == "Victim Name"
    assert manifest["uploader"] == "aigul"


@both_blob_stores
@pytest.mark.parametrize("size", [0, 1, 65536, 65537])
def test_edge_sizes(people, tmp_path, size):
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(size))
    out = upload_file(people.lawyer, people.case_id, src, {"title": "x", "evidence_type": "other"})
    path, _ = download_item(people.lawyer, out["item_id"], tmp_path / "g.bin")
    assert path.read_bytes() == src.read_bytes()
