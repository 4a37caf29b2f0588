"""Staging files for uploads in progress: acknowledged bytes are fsynced, the rest cut off."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from vault.storage.files import PIECE, ShortChunk, StorageError, UploadBusy, check_id, fsync_dir


def _read_into(body, view: memoryview) -> int:
    if hasattr(body, "readinto"):
        return body.readinto(view) or 0
    data = body.read(len(view))
    view[: len(data)] = data
    return len(data)



class UploadArea:
    """Staging files for uploads in progress, one per upload id."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, upload_id: str) -> Path:
        return self.root / check_id(upload_id)

    def create(self, upload_id: str) -> None:
        fd = os.open(self.path(upload_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fsync(fd)
        os.close(fd)
        fsync_dir(self.root)

    def write_chunk(self, upload_id: str, offset: int, body, length: int, hasher=None) -> int:
        """Write `length` bytes at the acknowledged `offset`; return the new length.

        Bytes past `offset` (an unacknowledged write of a killed request) are
        cut off first. The data is fsynced before returning, so the caller
        may acknowledge it. `hasher`, if given, sees every byte written.
        """
        path = self.path(upload_id)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError as exc:
            raise StorageError("staging file is missing") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    raise UploadBusy("another request is writing this upload") from exc
                raise
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            buf = bytearray(min(PIECE, length))
            remaining = length
            while remaining:
                n = _read_into(body, memoryview(buf)[: min(len(buf), remaining)])
                if not n:
                    os.ftruncate(fd, offset)
                    raise ShortChunk(f"body ended {remaining} bytes early")
                view = memoryview(buf)[:n]
                if hasher is not None:
                    hasher.update(view)
                while view:
                    w = os.write(fd, view)
                    view = view[w:]
                remaining -= n
            if _read_into(body, memoryview(bytearray(1))):
                os.ftruncate(fd, offset)
                raise ShortChunk("body is longer than declared")
            os.fsync(fd)
            return offset + length
        finally:
            os.close(fd)  # also releases the flock

    def lock_for_finish(self, upload_id: str) -> int:
        """Open and lock the staging file; returns the fd (caller closes it)."""
        fd = os.open(self.path(upload_id), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise UploadBusy("another request is writing this upload") from exc
        return fd

    def discard(self, upload_id: str) -> None:
        try:
            self.path(upload_id).unlink()
        except FileNotFoundError:
            pass

    def entries(self) -> Iterator[Path]:
        yield from (p for p in self.root.iterdir() if p.is_file())
