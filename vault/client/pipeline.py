"""A file encrypted on background threads, for upload.

Per byte the client does three sequential jobs: encrypt (libsodium's
secretstream; each chunk's nonce depends on the one before), SHA-256 of
the plaintext (the manifest's) and SHA-256 of the ciphertext (the signed
receipt's). hashlib and libsodium (through cffi) release the GIL, so they
can overlap, but on two cores three busy threads are worse than two: the
thread the OS pre-empts may hold the GIL and stall the others (measured:
0.6x raw secretstream with three threads, 0.75x with two).

So two threads. The encryptor reads and encrypts, and hands both hashes'
work to the hasher as ordered tasks. Encryption costs about as much as one
hash, so the hasher alone falls behind; when its backlog grows, the
encryptor runs the oldest task itself. Each hash's updates stay in order:
a task is taken from the queue and its hash locked in one step
(``_HashTasks``). Slabs of 1 MiB go between threads, so queue and lock
costs are paid per MiB, not per 64 KiB chunk.

Memory is bounded by the backlog limit and `ahead`, whatever the file size.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any, BinaryIO

from vault import crypto

_DONE = object()
_POLL_S = 0.2


class Stopped(Exception):
    """The consumer went away; the worker threads end quietly."""


class _HashTasks:
    """Ordered updates of several hashes, run by whichever thread is free.

    A task is popped and its hash's lock taken while the queue lock is held,
    so two threads can never update one hash out of order; a thread always
    releases the hash's lock before it takes the queue lock again.
    """

    def __init__(self, hashes: dict[str, Any], stop: threading.Event) -> None:
        self.hashes = hashes
        self._locks = {name: threading.Lock() for name in hashes}
        self._tasks: deque[tuple[str, bytes | bytearray]] = deque()
        self._cond = threading.Condition()
        self._running = 0
        self._closed = False
        self._stop = stop

    def __len__(self) -> int:
        return len(self._tasks)

    def add(self, name: str, data: bytes | bytearray) -> None:
        with self._cond:
            self._tasks.append((name, data))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def run_one(self, wait: bool) -> bool:
        """Run the oldest task; False if there is none (and, with `wait`, none will come)."""
        with self._cond:
            while not self._tasks:
                if self._stop.is_set():
                    raise Stopped
                if self._closed or not wait:
                    return False
                self._cond.wait(_POLL_S)
            name, data = self._tasks.popleft()
            lock = self._locks[name]
            lock.acquire()
            self._running += 1
        try:
            self.hashes[name].update(data)
        finally:
            lock.release()
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
        return True

    def wait_idle(self) -> None:
        """Block until every task added so far has run."""
        with self._cond:
            while self._tasks or self._running:
                if self._stop.is_set():
                    raise Stopped
                self._cond.wait(_POLL_S)


class EncryptedFile:
    """Iterate for ciphertext slabs in order; afterwards the two hashes are set.

    Use as a context manager so the threads stop if the consumer fails.
    `backlog` bounds the hash tasks waiting (two per slab); `ahead` the
    slabs waiting for the consumer. `encryptor` continues a stream saved
    with `StreamEncryptor.start_state` (an upload resumed by a new process).
    """

    def __init__(self, key: bytes, f: BinaryIO, records: int = 16, ahead: int = 4, backlog: int = 8,
                 encryptor: crypto.StreamEncryptor | None = None):
        self._key, self._f, self._records = key, f, records
        self._encryptor = encryptor  # a stream replayed from its start state, else a new one
        # `ahead` slabs may wait for the consumer: enough to encrypt the next
        # request while the current one is on the wire.
        self._out_q: queue.Queue = queue.Queue(maxsize=ahead)
        self._backlog = max(2, backlog)
        self._stop = threading.Event()
        self._hashing = _HashTasks({"plain": hashlib.sha256(), "ct": hashlib.sha256()}, self._stop)
        self._threads = [threading.Thread(target=t, daemon=True) for t in (self._encrypt, self._hash)]
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
                item = self._out_q.get(timeout=_POLL_S)
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
        hashes = self._hashing.hashes
        self.plain_sha256, self.ct_sha256 = hashes["plain"].hexdigest(), hashes["ct"].hexdigest()

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
                self._hashing.close()

        return run

    def _hand_over(self, slab) -> None:
        """Give a slab to the consumer; while it is busy, help with the hashing."""
        while True:
            if self._stop.is_set():
                raise Stopped
            try:
                self._out_q.put_nowait(slab)
                return
            except queue.Full:
                if not self._hashing.run_one(wait=False):
                    try:
                        self._out_q.put(slab, timeout=_POLL_S)
                        return
                    except queue.Full:
                        continue

    @_worker
    def _encrypt(self) -> None:
        hashing = self._hashing
        for plain, ct in crypto.encrypt_blocks(self._key, self._f, self._records, self._encryptor):
            self.size += len(plain)
            hashing.add("plain", plain)
            hashing.add("ct", ct)
            self._hand_over(ct)
            # Keep the hasher's backlog short: it bounds memory and, with
            # the hasher busy on the oldest task, balances the two cores.
            while len(hashing) > self._backlog and hashing.run_one(wait=False):
                pass
        while hashing.run_one(wait=False):
            pass
        hashing.wait_idle()  # the hashes must be complete before the consumer reads them
        hashing.close()
        self._hand_over(_DONE)

    @_worker
    def _hash(self) -> None:
        while self._hashing.run_one(wait=True):
            pass


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
