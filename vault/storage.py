"""Blob files: the upload staging area and the content-addressed store.

Writes follow one rule: temporary file, fsync, rename into place, fsync the
folder; the database row is committed only after that. So a crash leaves at
worst a blob without a row (garbage, removed by fsck), never a row without
its blob. Every path is built from a validated identifier: a name from the
network can never reach the file system.

`BlobStore` is what the rest of the vault sees; `FolderBlobStore` (the
default) keeps blobs in the data folder, `vault.blobstore_s3` in an
S3-compatible bucket (docs/storage.md). Staging is always local.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import shutil
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


class BlobMissing(StorageError):
    """No blob is stored under this hash."""


class BlobStoreUnavailable(StorageError):
    """The blob store cannot be reached or refused the request; the request may be retried later."""


class BlobNotStored(StorageError):
    """The store accepted a blob but does not hold it as sent (absent or of another size)."""


@dataclass(frozen=True)
class BlobInfo:
    sha: str
    size: int
    mtime: float  # when the blob was last written, in seconds since the epoch


class BlobReader:
    """A stored blob opened for reading from some offset; `size` is the whole blob's size."""

    def __init__(self, stream, size: int):
        self._stream, self.size = stream, size

    def read(self, n: int = -1) -> bytes:
        return self._stream.read(n)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def blob_name(sha: str) -> str:
    """The layout shared by every store: ab/cd/abcd..., so no folder or prefix grows too large."""
    check_sha(sha)
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


def sha_of_name(name: str) -> str | None:
    """The hash a relative name stands for, or None when it is not exactly `blob_name(hash)`."""
    parts = name.split("/")
    if len(parts) == 3 and _HEX64.fullmatch(parts[2]) and parts[0] == parts[2][:2] and parts[1] == parts[2][2:4]:
        return parts[2]
    return None


class BlobStore(ABC):
    """Ciphertext blobs named by the SHA-256 of their bytes, wherever they are kept.

    The rest of the vault uses only these methods, so it does not know which
    store is configured. Every method taking a hash rejects anything but 64
    lower-case hex digits (BadIdentifier) before a path or key is built.
    """

    @abstractmethod
    def describe(self) -> str:
        """Where the blobs are, for operators (never credentials)."""

    @abstractmethod
    def stat(self, sha: str) -> BlobInfo:
        """Size and write time of a stored blob; BlobMissing if there is none."""

    @abstractmethod
    def open(self, sha: str, start: int = 0) -> BlobReader:
        """Read a blob from byte `start` on, in pieces (constant memory); BlobMissing if there is none."""

    @abstractmethod
    def put_file(self, staged: Path, sha: str) -> None:
        """Store an fsynced staging file as blob `sha` and consume the staging file.

        On return the blob is durable and was checked present with the staged
        size; on failure the staging file is still there, so a retry can store it.
        A blob written again gets a fresh write time (fsck's grace period).
        """

    @abstractmethod
    def delete(self, sha: str) -> None:
        """Remove a blob; no error if it is absent."""

    @abstractmethod
    def blobs(self) -> Iterator[BlobInfo]:
        """Every stored blob laid out as `blob_name(hash)`."""

    @abstractmethod
    def strays(self) -> Iterator[str]:
        """Names of whatever else is in the store (reported by fsck, never removed)."""

    @abstractmethod
    def leftovers(self, before: float, remove: bool) -> list[str]:
        """Partial writes begun before `before` that never completed; removed when `remove` is set."""

    def exists(self, sha: str) -> bool:
        try:
            self.stat(sha)
        except BlobMissing:
            return False
        return True

    def sha256(self, sha: str) -> str:
        """Hash the stored bytes again (what `fsck --deep` and a retried finish rely on)."""
        h = hashlib.sha256()
        with self.open(sha) as r:
            while b := r.read(PIECE):
                h.update(b)
        return h.hexdigest()

    def all_hashes(self) -> Iterator[str]:
        return (b.sha for b in self.blobs())

    def is_empty(self) -> bool:
        return next(iter(self.blobs()), None) is None and next(iter(self.strays()), None) is None


class FolderBlobStore(BlobStore):
    """Blobs as files in a folder: temporary file, fsync, rename into place, fsync the folder."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return f"folder {self.root}"

    def path(self, sha: str) -> Path:
        return self.root / blob_name(sha)

    def stat(self, sha: str) -> BlobInfo:
        try:
            st = self.path(sha).stat()
        except FileNotFoundError as exc:
            raise BlobMissing(sha) from exc
        if not stat.S_ISREG(st.st_mode):
            raise BlobMissing(sha)
        return BlobInfo(sha, st.st_size, st.st_mtime)

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def put_file(self, staged: Path, sha: str) -> None:
        """Move the staging file into place atomically: a rename, so the size is the staged size."""
        dest = self.path(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, dest)
        # A fresh mtime marks the blob as new, so fsck's grace period protects
        # it until the finishing request commits its row.
        os.utime(dest)
        fsync_dir(dest.parent)
        fsync_dir(staged.parent)

    def open(self, sha: str, start: int = 0) -> BlobReader:
        try:
            f = open(self.path(sha), "rb")
        except FileNotFoundError as exc:
            raise BlobMissing(sha) from exc
        f.seek(start)
        return BlobReader(f, os.fstat(f.fileno()).st_size)

    def delete(self, sha: str) -> None:
        try:
            self.path(sha).unlink()
        except FileNotFoundError:
            pass

    def blobs(self) -> Iterator[BlobInfo]:
        for p in self.root.glob("??/??/*"):
            sha = sha_of_name(p.relative_to(self.root).as_posix())
            if sha is None:
                continue
            try:
                st = p.stat()
            except FileNotFoundError:
                continue  # deleted while listing
            if stat.S_ISREG(st.st_mode):
                yield BlobInfo(sha, st.st_size, st.st_mtime)

    def stray_files(self) -> Iterator[Path]:
        """Files in the blob tree that are not blobs (e.g. left by an old tool, or in the wrong folder)."""
        for p in self.root.rglob("*"):
            if p.is_file() and sha_of_name(p.relative_to(self.root).as_posix()) is None:
                yield p

    def strays(self) -> Iterator[str]:
        return (str(p.relative_to(self.root.parent)) for p in self.stray_files())

    def leftovers(self, before: float, remove: bool) -> list[str]:
        return []  # partial writes live in the upload area, never in the blob folder


def open_blob_store(config) -> BlobStore:
    """The store the settings name: the data folder's `blobs` by default, or an S3 bucket."""
    from vault.config import ConfigError

    if not config.blob_url:
        return FolderBlobStore(config.blob_dir)
    if not config.blob_url.startswith("s3://"):
        raise ConfigError(f"blob_url must be empty (the data folder) or s3://bucket/prefix, got {config.blob_url!r}")
    try:
        from vault.blobstore_s3 import S3BlobStore
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore", "s3transfer"):
            raise
        raise ConfigError("blob_url is an S3 bucket but boto3 is not installed: "
                          "pip install 'evidence-vault[s3]'") from exc
    return S3BlobStore.from_config(config)


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
