"""The client's threaded encryption gives exactly the stream of the reference implementation."""

from __future__ import annotations

import hashlib
import io

import pytest

from vault import crypto
from vault.client.pipeline import EncryptedFile, RequestBody, RequestSizer

MiB = 1024 * 1024


@pytest.mark.parametrize("size", [0, 1, crypto.CHUNK_SIZE, 16 * crypto.CHUNK_SIZE, 16 * crypto.CHUNK_SIZE + 1,
                                  3 * MiB + 12345])
def test_stream_decrypts_like_the_reference_and_hashes_match(size):
    data = bytes(range(256)) * (size // 256) + b"\x07" * (size % 256)
    key = crypto.random_key()
    with EncryptedFile(key, io.BytesIO(data), ahead=2) as enc:
        slabs = list(enc)
    got = b"".join(slabs)
    # Same framing as the one-chunk-at-a-time reference (64 KiB records, final tag last) …
    assert len(got) == crypto.stream_ciphertext_size(size)
    assert all(len(s) <= 16 * (crypto.CHUNK_SIZE + crypto.STREAM_ABYTES) + crypto.STREAM_PREFIX_BYTES for s in slabs)
    # … and the reference decryptor, which checks every tag and the end, gives the plaintext back.
    assert b"".join(crypto.decrypt_stream(key, [got[i:i + 100_000] for i in range(0, len(got), 100_000)])) == data
    assert enc.plain_sha256 == hashlib.sha256(data).hexdigest()
    assert enc.ct_sha256 == hashlib.sha256(got).hexdigest()
    assert enc.size == size


class Exploding(io.BytesIO):
    def read(self, n=-1):
        if self.tell() > 2 * MiB:
            raise OSError("disk went away")
        return super().read(n)


def test_a_read_error_reaches_the_consumer_and_the_threads_end():
    with pytest.raises(OSError, match="disk went away"), EncryptedFile(crypto.random_key(), Exploding(b"x" * 8 * MiB)) as enc:
        for _ in enc:
            pass
    assert not any(t.is_alive() for t in enc._threads)


def test_a_consumer_that_stops_early_stops_the_threads():
    with pytest.raises(RuntimeError), EncryptedFile(crypto.random_key(), io.BytesIO(b"y" * 20 * MiB)) as enc:
        for _ in enc:
            raise RuntimeError("the server refused")
    assert not any(t.is_alive() for t in enc._threads)


def test_request_body_is_reiterable_with_its_length():
    body = RequestBody([b"ab", b"cde"])
    assert len(body) == 5
    assert b"".join(body) == b"abcde" == b"".join(body)


def test_request_sizer_follows_the_rate_within_limits():
    s = RequestSizer(limit=32 * MiB, start=4 * MiB, target_s=2.0)
    s.observe(4 * MiB, 0.01)          # very fast: at most doubles
    assert s.size == 8 * MiB
    for _ in range(5):
        s.observe(s.size, 0.01)
    assert s.size == 32 * MiB         # never past the server's limit
    s.observe(32 * MiB, 64.0)         # 0.5 MiB/s: ~1 s worth, but at least 1 MiB
    assert s.size == MiB
    small = RequestSizer(limit=100_000)
    assert small.size == 100_000
    small.observe(100_000, 0.001)
    assert small.size == 100_000


def test_a_failing_hash_thread_reaches_the_consumer(monkeypatch):
    class Broken:
        def update(self, _data):
            raise MemoryError("hash state lost")

        def hexdigest(self):
            return ""

    enc = EncryptedFile(crypto.random_key(), io.BytesIO(b"z" * 4 * MiB))
    enc._hashing.hashes["plain"] = Broken()
    with enc:
        with pytest.raises(MemoryError, match="hash state lost"):
            for _ in enc:
                pass
    assert not any(t.is_alive() for t in enc._threads)


def test_hash_updates_stay_in_order_whichever_thread_runs_them():
    """Two threads share the hashing; each hash must still see its slabs in order."""
    import threading
    import time

    from vault.client.pipeline import _HashTasks

    class Recorder:
        def __init__(self):
            self.seen = []

        def update(self, data):
            time.sleep(0.001 * (data[0] % 3))  # uneven task lengths, so the threads overtake each other
            self.seen.append(data[0])

    hashes = {"plain": Recorder(), "ct": Recorder()}
    tasks = _HashTasks(hashes, threading.Event())
    for i in range(200):
        tasks.add("plain", bytes([i]))
        tasks.add("ct", bytes([i]))
    tasks.close()
    workers = [threading.Thread(target=lambda: [None for _ in iter(lambda: tasks.run_one(wait=True), False)])
               for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert hashes["plain"].seen == list(range(200)) == hashes["ct"].seen


@pytest.mark.parametrize("backlog", [2, 64])
def test_hashes_are_right_whether_the_encryptor_helps_or_not(backlog):
    import os

    data = os.urandom(24 * MiB + 5)
    key = crypto.random_key()
    with EncryptedFile(key, io.BytesIO(data), backlog=backlog, ahead=1) as enc:
        got = b"".join(enc)
    assert enc.plain_sha256 == hashlib.sha256(data).hexdigest()
    assert enc.ct_sha256 == hashlib.sha256(got).hexdigest()
    assert b"".join(crypto.decrypt_stream(key, [got])) == data
