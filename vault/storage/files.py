"""File-system rules every store and the upload area share.

Writes follow one rule: temporary file, fsync, rename into place, fsync the
folder; the database row is committed only after that. So a crash leaves at
worst a blob without a row (garbage, removed by fsck), never a row without
its blob. Every path is built from a validated identifier: a name from the
network can never reach the file system.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from vault import crypto

HEX64 = re.compile(r"[0-9a-f]{64}")
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
    if not isinstance(value, str) or not HEX64.fullmatch(value):
        raise BadIdentifier("malformed hash")
    return value


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return crypto.sha256_stream(f)[0]


def ensure_free(path: Path, incoming: int, reserve: int) -> None:
    free = shutil.disk_usage(path).free
    if free - incoming < reserve:
        raise DiskFull(f"{free} bytes free, {incoming} more needed plus {reserve} kept in reserve")
