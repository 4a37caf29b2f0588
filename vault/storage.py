"""Blob files: the upload staging area and the content-addressed store.

Writes follow one rule: temporary file, fsync, rename into place, fsync the
folder; the database row is committed only after that. So a crash leaves at
worst a blob without a row (garbage, removed by fsck), never a row without
its blob. Every path is built from a validated identifier: a name from the
network can never reach the file system.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"[0-9a-f]{32}")
PIECE = 1024 * 1024


class StorageError(Exception):
    """Base class for storage failures."""


class BadIdentifier(StorageError):
    """An id or hash is not of the expected shape (rejected before any path is built)."""


class UploadBusy(StorageError):
    """Another request is writing to the same upload right now."""


class ShortChunk(StorageError):
    """The request body ended before its declared length."""


class DiskFull(StorageError):
    """Not enough free space to accept this data without risking other writes."""


def _read_into(body, view: memoryview) -> int:
    if hasattr(body, "readinto"):
        return body.readinto(view) or 0
    data = body.read(len(view))
    view[: len(data)] = data
    return len(data)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_id(value: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise BadIdentifier("malformed identifier")
    return value


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_sha(value: str) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise BadIdentifier("malformed hash")
    return value


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1024 * 1024):
            h.update(b)
    return h.hexdigest()


def ensure_free(path: Path, incoming: int, reserve: int) -> None:
    free = shutil.disk_usage(path).free
    if free - incoming < reserve:
        raise DiskFull(f"{free} bytes free, {incoming} more needed plus {reserve} kept in reserve")


class BlobStore:
    """Ciphertext blobs named by the SHA-256 of their bytes."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        check_sha(sha)
        return self.root / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_file(self, tmp: Path, sha: str) -> Path:
        """Move an fsynced staging file into place atomically."""
        dest = self.path(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        # A fresh mtime marks the blob as new, so fsck's grace period protects
        # it until the finishing request commits its row.
        os.utime(dest)
        fsync_dir(dest.parent)
        fsync_dir(tmp.parent)
        return dest

    def open(self, sha: str) -> BinaryIO:
        return open(self.path(sha), "rb")

    def size(self, sha: str) -> int:
        return self.path(sha).stat().st_size

    def delete(self, sha: str) -> None:
        try:
            self.path(sha).unlink()
        except FileNotFoundError:
            pass

    def all_hashes(self) -> Iterator[str]:
        for p in self.root.glob("??/??/*"):
            if _HEX64.fullmatch(p.name) and p.is_file():
                yield p.name

    def stray_files(self) -> Iterator[Path]:
        """Files in the blob tree that are not blobs (e.g. left by an old tool)."""
        for p in self.root.rglob("*"):
            if p.is_file() and not (_HEX64.fullmatch(p.name) and p.parent.parent.parent == self.root):
                yield p


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
