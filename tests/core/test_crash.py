"""A gunicorn worker killed with SIGKILL in the middle of an upload loses
nothing acknowledged and shows nothing half-written."""

from __future__ import annotations

import os
import signal
import socket
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from tests.conftest import Gunicorn, both_blob_stores, lawyer_with_case, wait_until
from tests.core import manual_upload
from vault import ops
from vault.client.transfer import download_item, upload_file
from vault.db.models import Item, Upload
from vault.services.vault import open_vault


@pytest.mark.slow
def test_sigkill_mid_upload(env, tmp_path):
    srv = Gunicorn(env, workers=1)
    try:
        lawyer, case_id = lawyer_with_case(srv.url, env, tmp_path, "KG-CRASH-1", "Crash test case")

        data = os.urandom(6 * 1024 * 1024 + 123)
        m = manual_upload.start(lawyer, case_id, data)
        first = 2 * 1024 * 1024
        assert m.put(0, first)["received"] == first  # acknowledged

        # Second chunk: headers and part of the body, then the worker dies.
        (worker,) = srv.worker_pids()
        u = urlparse(srv.url)
        sock = socket.create_connection((u.hostname, u.port))
        length = 4 * 1024 * 1024
        head = (f"PUT /api/v1/uploads/{m.upload_id}?offset={first} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {lawyer.http.token}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {length}\r\n\r\n").encode()
        sock.sendall(head + m.ciphertext[first:first + length // 2])
        staging = env.data_dir / "uploads" / m.upload_id
        wait_until(lambda: staging.stat().st_size > first, "the worker to start writing the chunk")
        os.kill(worker, signal.SIGKILL)
        sock.close()
        # One read of the process table per check: the list can change between two reads.
        wait_until(lambda: (pids := srv.worker_pids()) != [] and worker not in pids, "a new worker")
        srv.wait_ready()

        # Nothing half-written is visible: no item, the upload still at the acknowledged offset.
        assert lawyer.http.get(f"/cases/{case_id}/items")["items"] == []
        assert m.status()["received"] == first
        v = open_vault(env.config)
        with v.db.session() as s:
            assert s.execute(select(func.count()).select_from(Item)).scalar_one() == 0
            assert s.get(Upload, m.upload_id).received == first

        # Resume from the acknowledged offset: the torn bytes are cut off and the result is exact.
        assert m.put(first, len(m.ciphertext))["received"] == len(m.ciphertext)
        done = m.finish()
        path, _ = download_item(lawyer, done["item_id"], tmp_path / "out.bin")
        assert path.read_bytes() == data

        # The next upload works as usual.
        other = tmp_path / "next.bin"
        other.write_bytes(os.urandom(100_000))
        nxt = upload_file(lawyer, case_id, other, {"title": "after crash", "evidence_type": "document"})
        assert download_item(lawyer, nxt["item_id"], tmp_path / "next.out")[0].read_bytes() == other.read_bytes()
        assert len(lawyer.http.get(f"/cases/{case_id}/items")["items"]) == 2
        final = ops.fsck(v, repair=True, deep=True)
        assert final.ok and final.removed == 0 and final.items_checked == 2
        v.db.dispose()
    finally:
        srv.stop()
    errors = (env.data_dir / "logs" / "error.log").read_text(errors="replace")
    assert "unhandled" not in errors  # the app itself never failed; only the killed worker is logged
    assert "was sent SIGKILL" in errors


@both_blob_stores
def test_fsck_removes_crash_leftovers_after_the_grace_period(env, live, tmp_path):
    """Leftovers a crash can leave: a staging file of an abandoned upload and a blob whose row
    was never committed. fsck reports and removes both once they are past the grace period."""
    lawyer, case_id = lawyer_with_case(live.url, env, tmp_path, "KG-CRASH-2", "Leftovers")
    kept = tmp_path / "kept.bin"
    kept.write_bytes(os.urandom(100_000))
    item = upload_file(lawyer, case_id, kept, {"title": "kept", "evidence_type": "document"})
    v = open_vault(env.config)
    abandoned = manual_upload.start(lawyer, case_id, os.urandom(1000))
    abandoned.put(0, 500)
    orphan_sha = "ab" * 32
    staged = tmp_path / "orphan"
    staged.write_bytes(b"ciphertext without a row")
    v.blobs.put_file(staged, orphan_sha)  # as a finish that died before committing its row
    stray_tmp = v.uploads.root / ("cd" * 16)
    stray_tmp.write_bytes(b"staging file without a row")

    # Young leftovers may belong to a request in flight: reported nowhere, kept.
    report = ops.fsck(v, repair=True)
    assert report.ok and report.orphan_blobs == [] and report.stale_uploads == [] and report.removed == 0
    assert v.blobs.exists(orphan_sha) and stray_tmp.exists()

    later = time.time() + ops.GRACE_S + 60
    dry = ops.fsck(v, repair=False, now=later)
    assert dry.orphan_blobs == [orphan_sha] and dry.removed == 0 and v.blobs.exists(orphan_sha)
    report = ops.fsck(v, repair=True, now=later)
    assert report.orphan_blobs == [orphan_sha]
    assert report.stale_uploads == ["cd" * 16]  # the live upload, which has its row, is left alone
    assert report.ok and report.removed == 2
    assert not v.blobs.exists(orphan_sha) and not stray_tmp.exists()
    assert (v.uploads.root / abandoned.upload_id).exists()
    assert sorted(v.blobs.all_hashes()) == [item["blob_sha256"]]
    # Expired uploads go too, with their row.
    with v.db.session() as s:
        s.get(Upload, abandoned.upload_id).expires_at = s.get(Upload, abandoned.upload_id).created_at.replace(
            year=2000)
    report = ops.fsck(v, repair=True)
    assert report.stale_uploads == [abandoned.upload_id]
    with v.db.session() as s:
        assert s.get(Upload, abandoned.upload_id) is None
    final = ops.fsck(v, repair=True, deep=True, now=later)
    assert final.ok and final.removed == 0 and final.items_checked == 1
    v.db.dispose()
