"""Uploads and downloads survive a broken connection and resume where they stopped.

A real TCP proxy between client and server cuts connections; nothing is mocked.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from tests.conftest import both_blob_stores, free_port
from vault.client.session import ClientSession
from vault.client.transfer import download_item, upload_file


class CuttingProxy:
    """Forwards TCP to the server; cuts the first N connections that carry more than `after` bytes upstream."""

    def __init__(self, target_port: int, after: int, cuts: int = 1, direction: str = "up"):
        self.target_port, self.after, self.cuts_left, self.direction = target_port, after, cuts, direction
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cut_count = 0
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target_port))
            state = {"up": 0, "down": 0, "cut": False}
            threading.Thread(target=self._pump, args=(c, s, "up", state), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "down", state), daemon=True).start()

    def _pump(self, src, dst, direction, state):
        try:
            while data := src.recv(65536):
                state[direction] += len(data)
                if direction == self.direction and state[direction] > self.after and not state["cut"]:
                    with self.lock:
                        if self.cuts_left > 0:
                            self.cuts_left -= 1
                            self.cut_count += 1
                            state["cut"] = True
                    if state["cut"]:
                        break
                dst.sendall(data)
        except OSError:
            pass
        for x in (src, dst):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def close(self):
        self.sock.close()


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
