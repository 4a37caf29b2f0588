"""The content-addressed blob store: what the rest of the vault sees.

`BlobStore` is the interface; `FolderBlobStore` (the default) keeps blobs in
the data folder, `vault.storage.s3` in an S3-compatible bucket
(docs/storage.md). Staging is always local (`vault.storage.uploads`).
"""

from __future__ import annotations

import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vault import crypto
from vault.storage.files import HEX64, PIECE, StorageError, check_sha, fsync_dir


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
    if len(parts) == 3 and HEX64.fullmatch(parts[2]) and parts[0] == parts[2][:2] and parts[1] == parts[2][2:4]:
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
        with self.open(sha) as r:
            return crypto.sha256_stream(r, chunk=PIECE)[0]

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
