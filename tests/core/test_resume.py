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
    """The same person reaching the same server by another address (the cutting proxy)."""
    from shutil import copytree

    home = sess.home.parent / (sess.home.name + "-via")
    if not home.exists():
        copytree(sess.home, home)
    clone = ClientSession(sess.http.__class__(url, sess.http.token), sess.username, sess.me, sess.keys, home)
    clone.pin_organisation(sess.organisation().fingerprint)
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


@pytest.mark.slow
def test_a_long_download_to_a_slow_phone_is_not_taken_for_a_hung_worker(env, tmp_path):
    """Sending a video to a slow link takes longer than gunicorn's timeout; each piece sent keeps the worker alive."""
    from tests.conftest import Gunicorn, lawyer_with_case
    from tests.tcpproxy import SlowLink

    srv = Gunicorn(env, workers=1, extra_env={"GUNICORN_CMD_ARGS": "--timeout 4"})
    link = SlowLink(srv.port, rate=None, direction="down")
    try:
        lawyer, case_id = lawyer_with_case(link.url, env, tmp_path, "KG-SLOW-2", "Slow download case")
        src = tmp_path / "video.bin"
        data = os.urandom(32 * 1024 * 1024)  # more than the kernel's socket buffers can swallow at once
        src.write_bytes(data)
        out = upload_file(lawyer, case_id, src, {"title": "Video", "evidence_type": "video"})
        link.rate = 2 * 1024 * 1024  # ~16 s: four times the timeout
        path, _ = download_item(lawyer, out["item_id"], tmp_path / "back.bin")
        assert path.read_bytes() == data
    finally:
        link.close()
        srv.stop()
    assert "WORKER TIMEOUT" not in (env.data_dir / "logs" / "error.log").read_text(errors="replace")
