"""Advisory file locks (``fcntl.flock``) shared by every process on the host.

flock belongs to the open file, so the kernel drops it when the holding
process dies, however it dies: a SIGKILLed writer never leaves a stale lock.
It is also per open file, not per process: two ``FileLock`` objects on the
same path exclude each other even inside one process.

Two locks live next to the index folder (``<data>/index``):

* ``index.writer.lock`` — held for as long as a process is *the* indexer
  that drains the outbox (leader election among gunicorn workers);
* ``index.rebuild.lock`` — held exclusively while the index is created or
  rebuilt, and shared by the indexer around each batch, so a rebuild waits
  for the batch in flight and no batch lands in an index about to be
  replaced (``index.rebuild.intent`` keeps a busy indexer from starving it).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType


def writer_lock_path(index_path: str | os.PathLike[str]) -> Path:
    """``<index>/../index.writer.lock``: the leader lock of the indexers."""
    return Path(index_path).absolute().parent / "index.writer.lock"


def rebuild_lock_path(index_path: str | os.PathLike[str]) -> Path:
    """``<index>/../index.rebuild.lock``: excludes batches during a rebuild."""
    return Path(index_path).absolute().parent / "index.rebuild.lock"


def rebuild_intent_path(index_path: str | os.PathLike[str]) -> Path:
    """``<index>/../index.rebuild.intent``: a rebuild waiting for the batch in flight.

    flock has no writer preference: an indexer that takes the shared rebuild
    lock again right after each full batch could starve a rebuild for as
    long as there is a backlog. So a rebuild first holds this one, and the
    indexer does not start a batch while it is held.
    """
    return Path(index_path).absolute().parent / "index.rebuild.intent"


class FileLock:
    """One flock on one file; exclusive or shared, optionally non-blocking."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, shared: bool = False, timeout: float | None = 0.0) -> bool:
        """Take the lock; False if not had within ``timeout`` seconds.

        ``timeout=0`` tries once, ``None`` waits for ever. Waiting polls
        rather than blocking in flock so that it can give up.
        """
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, mode)
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
                continue
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> FileLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class exclusive_rebuild:  # noqa: N801 - used as a context manager, like a function
    """Hold the rebuild intent, then the rebuild lock, exclusively."""

    def __init__(self, index_path: str | os.PathLike[str], timeout: float | None) -> None:
        self.intent = FileLock(rebuild_intent_path(index_path))
        self.lock = FileLock(rebuild_lock_path(index_path))
        self.timeout = timeout

    def __enter__(self) -> bool:
        """True if both locks were had within the timeout."""
        if not self.intent.acquire(timeout=self.timeout):
            return False
        return self.lock.acquire(timeout=self.timeout)

    def __exit__(self, *exc: object) -> None:
        self.lock.release()
        self.intent.release()
