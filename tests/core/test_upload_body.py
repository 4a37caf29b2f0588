"""Chunk bodies read straight from gunicorn's socket (vault/serving/body.py), and the
hash kept between chunks (vault/storage/hashstate.py), through real gunicorn workers.

The socket path must give exactly the bytes the client sent however they are
split into packets, leave a pipelined next request alone, refuse a short body,
and a finish must still be right when the saved hash state is missing.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy import update

from tests.conftest import Gunicorn, lawyer_with_case
from tests.core import manual_upload
from vault.client.transfer import download_item
from vault.db.models import Upload
from vault.services.vault import open_vault

pytestmark = pytest.mark.slow


@pytest.fixture
def server(env, tmp_path):
    srv = Gunicorn(env, workers=2)
    try:
        lawyer, case_id = lawyer_with_case(srv.url, env, tmp_path, "KG-BODY-1", "Body test case")
        yield srv, lawyer, case_id
    finally:
        srv.stop()


def _head(m, lawyer, offset: int, length: int) -> bytes:
    return (f"PUT /api/v1/uploads/{m.upload_id}?offset={offset} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {lawyer.http.token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _answer(sock: socket.socket) -> bytes:
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def test_bytes_split_across_packets_arrive_exactly(server, tmp_path):
    srv, lawyer, case_id = server
    data = os.urandom(3 * 1024 * 1024 + 77)
    m = manual_upload.start(lawyer, case_id, data)
    u = urlparse(srv.url)
    body = m.ciphertext
    # Headers with the first 5 bytes of body in one packet; then odd-sized pieces with pauses,
    # so the server sees gunicorn's read-ahead, then many short recv()s.
    with socket.create_connection((u.hostname, u.port)) as sock:
        sock.sendall(_head(m, lawyer, 0, len(body)) + body[:5])
        pos = 5
        for step in (1, 7, 65_535, 1_000_003):
            time.sleep(0.05)
            sock.sendall(body[pos:pos + step])
            pos += step
        sock.sendall(body[pos:])
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert m.status()["received"] == len(body)
    out = m.finish()
    assert out["blob_sha256"] == hashlib.sha256(body).hexdigest()
    path, _ = download_item(lawyer, out["item_id"], tmp_path / "back.bin")
    assert path.read_bytes() == data


def test_a_pipelined_request_is_not_swallowed_as_body(server):
    srv, lawyer, case_id = server
    m = manual_upload.start(lawyer, case_id, os.urandom(200_000))
    u = urlparse(srv.url)
    body = m.ciphertext
    status = (f"GET /api/v1/uploads/{m.upload_id} HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: Bearer {lawyer.http.token}\r\n\r\n").encode()
    with socket.create_connection((u.hostname, u.port)) as sock:
        sock.sendall(_head(m, lawyer, 0, len(body)) + body + status)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    # Exactly the declared bytes were stored; the trailing request was not written into the file.
    assert m.status()["received"] == len(body)
    assert m.finish()["blob_sha256"] == hashlib.sha256(body).hexdigest()


def test_a_short_body_is_not_acknowledged(server):
    srv, lawyer, case_id = server
    m = manual_upload.start(lawyer, case_id, os.urandom(500_000))
    u = urlparse(srv.url)
    with socket.create_connection((u.hostname, u.port)) as sock:
        sock.sendall(_head(m, lawyer, 0, len(m.ciphertext)) + m.ciphertext[:100_000])
        sock.shutdown(socket.SHUT_WR)  # the client goes away before the end of the body
        _answer(sock)
    assert m.status()["received"] == 0
    # The same chunk, sent whole, is then accepted and the result is exact.
    assert m.put(0, len(m.ciphertext))["received"] == len(m.ciphertext)
    assert m.finish()["blob_sha256"] == hashlib.sha256(m.ciphertext).hexdigest()


def test_finish_rehashes_when_the_saved_hash_state_is_gone(server, env):
    srv, lawyer, case_id = server
    data = os.urandom(2 * 1024 * 1024)
    m = manual_upload.start(lawyer, case_id, data)
    half = len(m.ciphertext) // 2
    m.put(0, half)
    m.put(half, len(m.ciphertext))
    v = open_vault(env.config)
    with v.db.session() as s:  # as after an upgrade, or on a libcrypto without SHA256_Init
        s.execute(update(Upload).where(Upload.id == m.upload_id).values(hash_state=None))
    assert m.finish()["blob_sha256"] == hashlib.sha256(m.ciphertext).hexdigest()


def test_a_stale_hash_state_is_never_trusted(server, env):
    srv, lawyer, case_id = server
    m = manual_upload.start(lawyer, case_id, os.urandom(300_000))
    half = len(m.ciphertext) // 2
    m.put(0, half)
    v = open_vault(env.config)
    with v.db.session() as s:
        stale = s.get(Upload, m.upload_id).hash_state
    m.put(half, len(m.ciphertext))
    with v.db.session() as s:  # the state of fewer bytes than were received
        s.execute(update(Upload).where(Upload.id == m.upload_id).values(hash_state=stale))
    assert m.finish()["blob_sha256"] == hashlib.sha256(m.ciphertext).hexdigest()


environ_sender: list = [None]


def _close(ours: socket.socket, theirs: socket.socket) -> None:
    ours.close()  # a sender still blocked in sendall gets an error and ends
    environ_sender[0].join()
    theirs.close()


def _gunicorn_environ(raw: bytes):
    """A request parsed by gunicorn's own parser from a real socket, as a sync worker does."""
    import threading

    from gunicorn.config import Config
    from gunicorn.http import RequestParser, wsgi

    ours, theirs = socket.socketpair()

    def send():
        try:
            theirs.sendall(raw)
            theirs.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the test closed its end early: nothing more to deliver

    sender = threading.Thread(target=send, daemon=True)  # more than a socket buffer holds
    sender.start()
    environ_sender[0] = sender
    req = next(iter(RequestParser(Config(), ours, ("127.0.0.1", 1))))
    _resp, environ = wsgi.create(req, ours, ("127.0.0.1", 1), ("127.0.0.1", 8000), Config())
    return environ, ours, theirs


@pytest.mark.parametrize("extra", [b"", b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"])
def test_the_socket_path_is_taken_under_gunicorn_and_reads_exactly_the_body(extra):
    from flask import Flask

    from vault.serving.body import _SocketBody, request_body
    from vault.storage.uploads import _read_into

    body = os.urandom(300_000)
    raw = (b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
           + f"Content-Length: {len(body)}\r\n\r\n".encode() + body + extra)
    environ, ours, theirs = _gunicorn_environ(raw)
    try:
        with Flask(__name__).request_context(environ):
            src = request_body(len(body))
            assert isinstance(src, _SocketBody)
            got, buf = bytearray(), bytearray(70_000)
            while n := _read_into(src, memoryview(buf)):
                got += buf[:n]
        assert bytes(got) == body
        assert environ["wsgi.input"].reader.length == 0  # gunicorn's count agrees
        assert environ["wsgi.input"].reader.unreader.read() == extra[:8192]
    finally:
        _close(ours, theirs)


def test_a_body_already_read_falls_back_to_the_wsgi_stream():
    from flask import Flask

    from vault.serving.body import _SocketBody, request_body

    body = b"0123456789" * 100
    raw = (b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
           + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    environ, ours, theirs = _gunicorn_environ(raw)
    try:
        environ["wsgi.input"].read(10)  # someone read part of it: the socket path must not be used
        with Flask(__name__).request_context(environ):
            src = request_body(len(body))
            assert not isinstance(src, _SocketBody)
    finally:
        _close(ours, theirs)


def test_a_slow_but_steady_chunk_is_not_taken_for_a_hung_worker(env, tmp_path):
    """On a 2G link one chunk takes longer than gunicorn's timeout; the bytes arriving keep the worker alive."""
    from tests.tcpproxy import SlowLink

    srv = Gunicorn(env, workers=1, extra_env={"GUNICORN_CMD_ARGS": "--timeout 4"})
    link = SlowLink(srv.port, rate=None)
    try:
        lawyer, case_id = lawyer_with_case(link.url, env, tmp_path, "KG-SLOW-1", "Slow link case")
        data = os.urandom(1024 * 1024)
        m = manual_upload.start(lawyer, case_id, data)
        link.rate = 100 * 1024  # 1 MiB in about 10 s: more than twice the timeout
        t = time.monotonic()
        got = m.put(0, len(m.ciphertext))
        assert time.monotonic() - t > 8  # it really was slow
        assert got["received"] == len(m.ciphertext)
        link.rate = None
        m.finish()
        path, _manifest = download_item(lawyer, m.item_id, out=tmp_path / "slow.bin")
        assert path.read_bytes() == data
    finally:
        link.close()
        srv.stop()
    log = (env.data_dir / "logs" / "error.log").read_text(errors="replace")
    assert "WORKER TIMEOUT" not in log
