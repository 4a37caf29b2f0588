"""Uploads and downloads survive a broken connection and resume where they stopped.

A real TCP proxy between client and server cuts connections; nothing is mocked.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import both_blob_stores
from tests.tcpproxy import CuttingProxy
from vault.client.session import ClientSession
from vault.client.transfer import download_item, upload_file


def _via(sess: ClientSession, url: str) -> ClientSession:
    clone = ClientSession(sess.http.__class__(url, sess.http.token), sess.username, sess.me, sess.keys, sess.home)
    return clone


@pytest.mark.slow
def test_upload_resumes_after_cut_connections(people, live, tmp_path):
    # Cut two upload requests part-way (the first after ~3 MiB of a 4 MiB request).
    proxy = CuttingProxy(live.port, after=3 * 1024 * 1024, cuts=2)
    try:
        sess = _via(people.lawyer, proxy.url)
        src = tmp_path / "video.bin"
        data = os.urandom(12 * 1024 * 1024 + 5)
        src.write_bytes(data)
        out = upload_file(sess, people.case_id, src, {"title": "Video", "evidence_type": "video"})
        assert proxy.cut_count == 2  # the connection really was cut, twice
    finally:
        proxy.close()
    path, manifest = download_item(people.medic, out["item_id"], tmp_path / "back.bin")
    assert path.read_bytes() == data
    assert manifest["size"] == len(data)
    assert len(people.lawyer.http.get(f"/cases/{people.case_id}/items")["items"]) == 1


@pytest.mark.slow
@both_blob_stores
def test_download_resumes_with_range(people, live, tmp_path):
    src = tmp_path / "doc.bin"
    data = os.urandom(5 * 1024 * 1024)
    src.write_bytes(data)
    out = upload_file(people.lawyer, people.case_id, src, {"title": "Doc", "evidence_type": "document"})
    proxy = CuttingProxy(live.port, after=2 * 1024 * 1024, cuts=1, direction="down")
    try:
        sess = _via(people.medic, proxy.url)
        path, _ = download_item(sess, out["item_id"], tmp_path / "back.bin")
        assert proxy.cut_count == 1
    finally:
        proxy.close()
    assert path.read_bytes() == data
    assert not (tmp_path / "back.bin.part").exists()
