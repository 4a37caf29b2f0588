"""Uploads that outlive the client process: a sealed journal per unfinished upload.

Why: on a slow link a long video takes hours to send. If the laptop sleeps,
the connection dies for good or the process is killed, starting over would
throw all of that away. The server keeps every acknowledged byte; the
journal keeps what the client needs to go on: the upload id, the item key
and the encryption stream's starting state. Secretstream is deterministic
from that state, so the next `vault upload` of the same file encrypts it
again to the same bytes (CPU only, no network) and sends only what the
server does not hold yet.

The journal holds the item key, so it is sealed to the user's own box key
(only the user, with their password, can open it) and written atomically
with mode 0600. It is removed when the upload finishes, or when the server
no longer knows the upload.

A running upload holds its journal (an flock on `<id>.lock`, released when
the upload ends or its process dies), so a second `vault upload` of the
same file at the same time starts its own upload instead of taking over
one that is still being sent.

The file must be the one that was being sent: same size, modification
time, inode and device. If it changed, a new upload starts: encrypting
different content again from the same stream state would reuse keystream
for bytes the server may already have seen.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from vault import crypto
from vault.client import state

FORMAT = 1


@dataclass(frozen=True)
class Journal:
    upload_id: str
    item_id: str
    case_id: str
    key_version: int
    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    item_key: str  # base64
    prefix: str  # base64: the stream header the server holds first
    start_state: str  # base64: StreamEncryptor.start_state()

    def matches(self, case_id: str, path: Path, st: os.stat_result) -> bool:
        return (self.case_id == case_id and self.path == str(path.resolve()) and self.size == st.st_size
                and self.mtime_ns == st.st_mtime_ns and self.inode == st.st_ino and self.device == st.st_dev)

    def encryptor(self) -> crypto.StreamEncryptor:
        return crypto.StreamEncryptor.again(crypto.b64d(self.prefix), crypto.b64d(self.start_state))

    @property
    def key(self) -> bytes:
        return crypto.b64d(self.item_key)


def new(start: dict, case_id: str, key_version: int, path: Path, st: os.stat_result, item_key: bytes,
        enc: crypto.StreamEncryptor) -> Journal:
    return Journal(start["upload_id"], start["item_id"], case_id, key_version, str(path.resolve()), st.st_size,
                   st.st_mtime_ns, st.st_ino, st.st_dev, crypto.b64e(item_key), crypto.b64e(enc.prefix),
                   crypto.b64e(enc.start_state()))


_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _file(home: Path, upload_id: str) -> Path:
    # The id comes from the server: it names a file here only if it cannot name another folder.
    if not _SAFE_ID.fullmatch(upload_id):
        raise ValueError("the server gave an upload id that cannot name a journal file")
    return _folder(home) / f"{upload_id}.json"


# The journals this process holds, by (client folder, upload id): the open, flocked lock files.
_held: dict[tuple[str, str], int] = {}
_held_lock = threading.Lock()


def claim(home: Path, upload_id: str) -> bool:
    """Hold an upload's journal while this process sends it; False if a running upload holds it."""
    path = _file(home, upload_id).with_suffix(".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # per open file: threads of one process exclude each other too
    except OSError:
        os.close(fd)
        return False
    with _held_lock:
        _held[(str(home), upload_id)] = fd
    return True


def release(home: Path, upload_id: str) -> None:
    with _held_lock:
        fd = _held.pop((str(home), upload_id), None)
    if fd is not None:
        os.close(fd)


def _folder(home: Path) -> Path:
    p = state.home(home) / "uploads"
    p.mkdir(exist_ok=True, mode=0o700)
    return p


def save(home: Path, url: str, username: str, keys: crypto.UserKeys, journal: Journal) -> None:
    sealed = crypto.seal(keys.box_public, json.dumps({"format": FORMAT, **asdict(journal)}).encode())
    entry = {"url": url.rstrip("/"), "username": username, "sealed": crypto.b64e(sealed)}
    dest = _file(home, journal.upload_id)
    tmp = dest.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(entry, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest)


def find(home: Path, url: str, username: str, keys: crypto.UserKeys, case_id: str, path: Path,
         st: os.stat_result) -> tuple[Journal | None, list[Journal]]:
    """The journal of an unfinished upload of this file to this case, and the
    journals of earlier uploads to it of a file that has changed since (stale).

    Only journals that no running upload holds are returned, each now held
    by the caller (`release` or `drop` it).
    """
    found, stale = None, []
    for p in sorted(_folder(home).glob("*.json")):
        try:
            entry = json.loads(p.read_text())
            if entry.get("url") != url.rstrip("/") or entry.get("username") != username:
                continue
            data = json.loads(keys.open_sealed(crypto.b64d(entry["sealed"])))
            if data.pop("format", None) != FORMAT:
                continue
            journal = Journal(**data)
        except FileNotFoundError:
            continue  # another upload of this user (another process) finished and dropped it just now
        except (ValueError, KeyError, TypeError, crypto.CryptoError):
            continue  # not ours (another user of this computer), or damaged: never trusted
        same_file = journal.matches(case_id, path, st)
        if not (same_file or (journal.case_id == case_id and journal.path == str(path.resolve()))):
            continue
        if (same_file and found is not None) or not claim(home, journal.upload_id):
            continue  # being sent right now by another upload
        if same_file:
            found = journal
        else:
            stale.append(journal)
    return found, stale


def drop(home: Path, upload_id: str) -> None:
    """Forget a finished or abandoned upload's journal, and let go of it."""
    journal = _file(home, upload_id)
    journal.unlink(missing_ok=True)
    journal.with_suffix(".lock").unlink(missing_ok=True)
    release(home, upload_id)
