"""`vault server backup` and `restore`: keys, blobs and a database-neutral dump in one archive."""

from __future__ import annotations

import json
import lzma
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import replace
from pathlib import Path

from vault.config import Config
from vault.db import dump as dbdump
from vault.ops.initialise import InitError, check_new_store, remember_settings
from vault.services.vault import Vault
from vault.storage.blobs import BlobStore, sha_of_name
from vault.storage.factory import open_blob_store
from vault.storage.files import fsync_dir

# One entry per blob, plus the keys and the database. tarfile keeps ~500 bytes
# per entry it has read, so this bounds a restore's memory to ~500 MB even for
# an archive of empty entries (a gzip of a few MB can hold millions).
MAX_MEMBERS = 1_000_000


def writes_portable(config: Config, portable: bool = False) -> bool:
    """PostgreSQL is always dumped portably; SQLite only when asked (the file snapshot is the default)."""
    return portable or not config.db_url.startswith("sqlite")


def backup(v: Vault, out: Path, progress=None, blobs: bool = True, portable: bool = False) -> int:
    """Write a consistent tar of the data folder (ciphertext, keys, database); return its entry count.

    The database goes in as the SQLite file (a snapshot), or with
    `portable` (always for PostgreSQL) as the database-neutral dump of
    vault/dbdump.py, which restores into either database.

    Blobs are read from whichever store holds them (a folder or a bucket)
    and written as blobs/ab/cd/<sha256>, so the archive stands alone: it can
    be restored into either kind of store. `blobs=False` leaves them out, for
    a bucket that is versioned and replicated on its own (docs/storage.md).

    The backup reveals no evidence (it holds what a seized server holds),
    but it holds the server's signing key: store it like the server.
    """
    count = 0
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp_name:
        tmp = Path(tmp_name)
        if writes_portable(v.config, portable):
            try:
                meta = dbdump.dump(v.config.db_url, tmp, progress)
            except dbdump.DumpError as exc:
                raise InitError(str(exc)) from exc
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
            db_files = [("meta.json", "db/meta.json")] + [(f"{t}.jsonl", f"db/{t}.jsonl") for t in meta["tables"]]
        else:
            src = sqlite3.connect(v.config.data_dir / "vault.sqlite3")
            dst = sqlite3.connect(tmp / "vault.sqlite3")
            with dst:
                src.backup(dst)  # consistent snapshot while the server runs
            src.close()
            dst.close()
            db_files = [("vault.sqlite3", "vault.sqlite3")]
        # Written beside `out` and renamed when complete: a failed run leaves no
        # partial archive and keeps an older one. It holds the server's keys: owner only.
        part = tmp / "archive.tar"
        with open(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            with tarfile.open(fileobj=f, mode="w") as tar:
                for name, arcname in db_files:
                    tar.add(tmp / name, arcname=arcname)
                    count += 1
                for p in sorted(v.config.keys_dir.rglob("*")):
                    if p.is_file():
                        tar.add(p, arcname=str(p.relative_to(v.config.data_dir)))
                        count += 1
                        if progress:
                            progress(1)
                # Listed after the snapshot: every blob a snapshot row names was
                # stored before its row was committed, so it is in the listing.
                for blob in sorted(v.blobs.blobs(), key=lambda b: b.sha) if blobs else []:
                    with v.blobs.open(blob.sha) as reader:
                        info = tarfile.TarInfo(f"blobs/{blob.sha[:2]}/{blob.sha[2:4]}/{blob.sha}")
                        info.size, info.mtime, info.mode = reader.size, int(blob.mtime), 0o600
                        tar.addfile(info, reader)  # streamed: tarfile reads it piece by piece
                    count += 1
                    if progress:
                        progress(1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, out)
        fsync_dir(out.parent)
    return count


def restore(archive: Path, data_dir: Path, config: Config | None = None) -> int:
    """Restore a backup into a new data folder.

    Blobs go to the store `config` names (an empty bucket prefix, which the
    new folder then remembers), else into the folder, whichever store the
    backup was made from: backup and restore also move a vault between stores.
    An archive without blobs (`backup --no-blobs`) may be restored onto the
    prefix that still holds them.

    A portable archive (db/) is loaded into the database `config` names
    (an empty one, which the new folder then remembers), else into a new
    SQLite file in the folder; an SQLite-file archive restores into SQLite only.
    """
    if data_dir.exists() and any(data_dir.iterdir()):
        raise InitError(f"{data_dir} is not empty; restore into a new folder")
    blobs = open_blob_store(config) if config is not None and config.blob_url else None
    database_url = config.database_url if config is not None else ""
    count = 0
    with _open(archive) as tar:
        members = _members(tar)
        for m in members:
            name = m.name
            if not m.isfile() or name.startswith("/") or ".." in Path(name).parts:
                raise InitError(f"refusing suspicious entry {name!r} in the backup")
            if not (name == "vault.sqlite3" or name.startswith(("keys/", "blobs/", "db/"))):
                raise InitError(f"unexpected entry {name!r} in the backup")
            if blobs is not None and name.startswith("blobs/") and sha_of_name(name[len("blobs/"):]) is None:
                raise InitError(f"entry {name!r} is not a blob; remove it from the archive to restore into "
                                f"{blobs.describe()}")
        portable = any(dbdump.is_member(m.name) for m in members)
        meta = None
        try:
            if portable:
                if any(m.name == "vault.sqlite3" for m in members):
                    raise InitError("the backup holds both an SQLite file and a portable dump; it was altered")
                meta = dbdump.read_meta(tar, members)
                if database_url:
                    dbdump.check_empty(database_url)
            elif database_url:
                raise InitError("this backup holds an SQLite database file, which restores into SQLite only: "
                                "restore without --database-url (and VAULT_DATABASE_URL), or make a portable "
                                "backup (`vault server backup --portable`) to restore into PostgreSQL")
        except dbdump.DumpError as exc:
            raise InitError(str(exc)) from exc
        if blobs is not None and any(m.name.startswith("blobs/") for m in members):
            check_new_store(blobs)
        existed = data_dir.exists()
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if meta is not None:
            try:
                dbdump.load(database_url or f"sqlite:///{data_dir.resolve() / 'vault.sqlite3'}", tar, meta)
            except dbdump.DumpError as exc:
                # Nothing half-restored: a PostgreSQL target rolled back; the new SQLite file goes.
                shutil.rmtree(data_dir)
                if existed:
                    data_dir.mkdir(mode=0o700)
                raise InitError(str(exc)) from exc
        files = [m for m in members if not dbdump.is_member(m.name)]
        for d in ("uploads", "logs"):
            (data_dir / d).mkdir(exist_ok=True, mode=0o700)
        if blobs is None:
            tar.extractall(data_dir, members=files, filter="data")  # noqa: S202 - every member checked above
        else:
            for m in files:
                if m.name.startswith("blobs/"):
                    _restore_blob(tar, m, data_dir / "uploads", blobs)
                else:
                    tar.extract(m, data_dir, filter="data")  # noqa: S202 - checked above
        count = len(members)
    if blobs is not None or (portable and database_url):
        # The new folder remembers where its database and blobs are.
        remember_settings(replace(config, database_url=database_url if portable else ""), data_dir)
    return count


# What reading a damaged tar (or its gzip, bzip2 or xz wrapping) raises.
_UNREADABLE = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r")
    except _UNREADABLE as exc:
        raise InitError(f"{archive} cannot be read as a tar archive ({type(exc).__name__}): it is not a vault "
                        "backup, or it is damaged; restore from another copy") from None


def _members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every entry of ``tar``, read one by one and refused past MAX_MEMBERS (getmembers would read them all)."""
    members = []
    try:
        for m in tar:
            members.append(m)
            if len(members) > MAX_MEMBERS:
                raise InitError(f"the backup holds more than {MAX_MEMBERS} entries, more than a vault backup "
                                "does: it was altered or is not a vault backup; restore from another copy")
    except _UNREADABLE as exc:
        raise InitError(f"the backup's list of entries cannot be read ({type(exc).__name__}): it is damaged; "
                        "restore from another copy") from None
    return members


def _restore_blob(tar: tarfile.TarFile, member: tarfile.TarInfo, staging: Path, blobs: BlobStore) -> None:
    sha = sha_of_name(member.name[len("blobs/"):])
    tmp = staging / f"restore-{sha}"
    src = tar.extractfile(member)
    with open(tmp, "wb") as f:
        while piece := src.read(1024 * 1024):
            f.write(piece)
        f.flush()
        os.fsync(f.fileno())
    try:
        blobs.put_file(tmp, sha)
    finally:
        tmp.unlink(missing_ok=True)
