"""A file encrypted on background threads, for upload.

libsodium's secretstream is sequential (each chunk's nonce depends on the
one before), so one thread reads and encrypts; a second hashes the
plaintext (the manifest's SHA-256) and a third the ciphertext (the signed
receipt's). hashlib and libsodium (through cffi) release the GIL, so on two
cores the three overlap. Slabs of 1 MiB go between the threads, so queue
and lock costs are paid per MiB, not per 64 KiB chunk.

Memory is bounded by the queue depths (`depth` and `ahead` slabs), whatever
the file size.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from typing import BinaryIO

from vault import crypto

_DONE = object()


class Stopped(Exception):
    """The consumer went away; the worker threads end quietly."""


class EncryptedFile:
    """Iterate for ciphertext slabs in order; afterwards the two hashes are set.

    Use as a context manager so the threads stop if the consumer fails.
    """

    def __init__(self, key: bytes, f: BinaryIO, depth: int = 4, records: int = 16, ahead: int = 4):
        self._key, self._f, self._records = key, f, records
        self._plain_q: queue.Queue = queue.Queue(maxsize=depth)
        self._ct_q: queue.Queue = queue.Queue(maxsize=depth)
        # `ahead` slabs may wait for the consumer: enough to encrypt the next
        # request while the current one is on the wire.
        self._out_q: queue.Queue = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._plain, self._ct = hashlib.sha256(), hashlib.sha256()
        self._threads = [threading.Thread(target=t, daemon=True)
                         for t in (self._encrypt, self._hash_plain, self._hash_ct)]
        self._error: BaseException | None = None
        self.plain_sha256: str | None = None
        self.ct_sha256: str | None = None
        self.size = 0

    def __enter__(self) -> EncryptedFile:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                item = self._out_q.get(timeout=0.2)
            except queue.Empty:
                if self._error is not None:
                    raise self._error from None
                continue
            if item is _DONE:
                break
            yield item
        for t in self._threads:
            t.join()
        if self._error is not None:
            raise self._error
        self.plain_sha256, self.ct_sha256 = self._plain.hexdigest(), self._ct.hexdigest()

    def _put(self, q: queue.Queue, item) -> None:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise Stopped

    def _get(self, q: queue.Queue):
        while not self._stop.is_set():
            try:
                return q.get(timeout=0.2)
            except queue.Empty:
                continue
        raise Stopped

    def _worker(step):
        """Run a thread's loop; its failure stops the others and reaches the consumer."""

        def run(self) -> None:
            try:
                step(self)
            except Stopped:
                pass
            except BaseException as exc:  # noqa: BLE001 - re-raised by the consumer
                if self._error is None:
                    self._error = exc
                self._stop.set()

        return run

    @_worker
    def _encrypt(self) -> None:
        for plain, ct in crypto.encrypt_blocks(self._key, self._f, self._records):
            self._put(self._plain_q, plain)
            self._put(self._ct_q, ct)
        self._put(self._plain_q, _DONE)
        self._put(self._ct_q, _DONE)

    @_worker
    def _hash_plain(self) -> None:
        while (block := self._get(self._plain_q)) is not _DONE:
            self._plain.update(block)
            self.size += len(block)

    @_worker
    def _hash_ct(self) -> None:
        while (slab := self._get(self._ct_q)) is not _DONE:
            self._ct.update(slab)
            self._put(self._out_q, slab)
        # The plaintext hash must be complete before the consumer reads it.
        self._threads[1].join()
        self._put(self._out_q, _DONE)


class RequestBody:
    """Ciphertext slabs sent as one request body without joining them.

    requests sends an iterable with a length as a Content-Length body, one
    sendall per slab; it can be iterated again when the request is retried.
    """

    def __init__(self, slabs: list[bytes]):
        self._slabs = slabs
        self._len = sum(len(s) for s in slabs)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._slabs)

    def __len__(self) -> int:
        return self._len


class RequestSizer:
    """Request sizes that keep each request near `target_s` seconds.

    Large requests cost less per byte (each one is a database commit and an
    fsync on the server); a request must still end well inside gunicorn's
    30 s worker timeout on a slow link. So start small, follow the measured
    rate, and never more than double at once.
    """

    MiB = 1024 * 1024

    def __init__(self, limit: int, start: int = 4 * MiB, target_s: float = 2.0):
        self.limit = max(crypto.CHUNK_SIZE, limit)
        self.size = min(start, self.limit)
        self.target_s = target_s

    def observe(self, nbytes: int, seconds: float) -> None:
        if seconds <= 0:
            return
        want = int(nbytes / seconds * self.target_s)
        self.size = min(self.limit, max(self.MiB, min(want, 2 * self.size)))
