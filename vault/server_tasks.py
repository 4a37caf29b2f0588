"""Server-side maintenance: init, invite, fsck, audit verification, backup.

These run on the server machine with direct access to the data folder (the
`vault server ...` commands), never through the web.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import select

from vault import audit, crypto, dbdump
from vault.app import Vault, open_vault
from vault.config import Config
from vault.models import Item, Setting, Upload, User, utcnow
from vault.storage import (
    BlobMissing,
    BlobStore,
    StorageError,
    fsync_dir,
    open_blob_store,
    sha_of_name,
)

GRACE_S = 15 * 60  # files younger than this may belong to a request in flight


class InitError(Exception):
    """The data folder cannot be initialised (e.g. it already holds a vault)."""


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def init(config: Config, recovery_public: bytes) -> Vault:
    """Create the data folder, server keys and schema; register the recovery key."""
    from vault import migrate

    keys = config.keys_dir
    if keys.exists():
        raise InitError(f"{config.data_dir} already holds a vault; nothing was changed")
    if config.blob_url:
        _check_new_store(open_blob_store(config))
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(config.data_dir, 0o700)
    keys.mkdir(mode=0o700)
    _write_secret(keys / "server_sign.key", crypto.generate_sign_seed())
    _write_secret(keys / "server_secret.key", crypto.random_key())
    fsync_dir(keys)
    folders = [config.upload_dir, config.log_dir] + ([] if config.blob_url else [config.blob_dir])
    for d in folders:
        d.mkdir(exist_ok=True, mode=0o700)
    remember_settings(config, config.data_dir)
    migrate.upgrade(config.db_url)
    v = open_vault(config)
    with v.db.session() as s:
        s.add(Setting(key="recovery_box_public", value=base64.b64encode(recovery_public).decode()))
        v.audit(s, "server", "server_initialised", "", {
            "recovery_fingerprint": crypto.fingerprint(recovery_public, b""),
            "server_sign_public": base64.b64encode(v.sign_public).decode()})
    return v


# What the data folder remembers (settings.toml), so every `vault server`
# command finds the database and the blob store without repeating them.
# Credentials are never among them.
REMEMBERED = ("database_url", "blob_url", "s3_endpoint_url", "s3_region", "s3_addressing_style")


def remember_settings(config: Config, data_dir: Path) -> None:
    lines = []
    for name in REMEMBERED:
        value = getattr(config, name)
        if value and value != getattr(Config, name, None):
            if any(ord(c) < 0x20 or c == "\x7f" for c in value):
                raise InitError(f"setting {name} contains a control character")
            value = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{value}"\n')
    if lines:
        _write_secret(data_dir / "settings.toml", ("[vault]\n" + "".join(lines)).encode())


def _check_new_store(store: BlobStore) -> None:
    # Two vaults sharing one bucket prefix would delete each other's blobs as orphans.
    try:
        empty = store.is_empty()
    except StorageError as exc:
        raise InitError(f"cannot use the blob store {store.describe()}: {exc}") from exc
    if not empty:
        raise InitError(f"the blob store {store.describe()} is not empty; give each vault its own bucket or prefix")


def invite(v: Vault, role: str, reset_username: str | None = None) -> dict:
    from vault.api.admin import create_invitation

    with v.db.session() as s:
        reset = None
        if reset_username:
            reset = s.execute(select(User).where(User.username == reset_username)).scalar_one_or_none()
            if reset is None:
                raise InitError(f"no user named {reset_username}")
            role = reset.role
        return create_invitation(s, v, role, "server-cli", None, reset)


@dataclass
class FsckReport:
    orphan_blobs: list[str] = field(default_factory=list)
    stale_uploads: list[str] = field(default_factory=list)
    missing_blobs: list[str] = field(default_factory=list)  # item ids
    bad_size: list[str] = field(default_factory=list)
    bad_hash: list[str] = field(default_factory=list)
    bad_receipt: list[str] = field(default_factory=list)
    stray_files: list[str] = field(default_factory=list)
    store_leftovers: list[str] = field(default_factory=list)  # e.g. S3 multipart uploads never completed
    removed: int = 0
    items_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing_blobs or self.bad_size or self.bad_hash or self.bad_receipt)

    def as_dict(self) -> dict:
        return {**self.__dict__, "ok": self.ok}


def fsck(v: Vault, repair: bool = True, deep: bool = False, progress=None, now: float | None = None) -> FsckReport:
    """Check every item against its blob and receipt; clean up crash leftovers.

    Orphan blobs (no row), stale staging files and the store's unfinished
    writes are removed when `repair` is set and they are older than the grace
    period. Damaged or missing blobs are reported, never "fixed": that needs
    a backup. Raises StorageError when the blob store cannot be used.
    """
    r = FsckReport()
    now = time.time() if now is None else now
    with v.db.session() as s:
        items = s.execute(select(Item.id, Item.case_id, Item.key_version, Item.blob_sha256, Item.blob_size,
                                 Item.sealed_manifest, Item.receipt_signature, Item.uploader_sign_public)).all()
        uploads = {u.id: u for u in s.execute(select(Upload)).scalars()}
    # Listed after the rows were read: a blob stored since then is young, so
    # the grace period keeps it for the request about to commit its row. One
    # listing, not a request per item, which matters for an object store.
    stored = {b.sha: b for b in v.blobs.blobs()}
    known = set()
    for (iid, cid, kver, sha, size, manifest, sig, pub) in items:
        known.add(sha)
        r.items_checked += 1
        if progress:
            progress(1)
        blob = stored.get(sha)
        if blob is None:
            r.missing_blobs.append(iid)
            continue
        if blob.size != size:
            r.bad_size.append(iid)
            continue
        if deep:
            try:
                if v.blobs.sha256(sha) != sha:
                    r.bad_hash.append(iid)
            except BlobMissing:
                r.missing_blobs.append(iid)
                continue
        msg = crypto.receipt_message(iid, cid, kver, sha, crypto.sha256_hex(manifest))
        try:
            crypto.verify_detached(pub, msg, sig)
        except crypto.BadSignature:
            r.bad_receipt.append(iid)
    for sha, blob in stored.items():
        if sha in known or now - blob.mtime <= GRACE_S:
            continue
        if repair:
            # Look again right before deleting: a retried finish may have
            # written it anew since the listing.
            try:
                if now - v.blobs.stat(sha).mtime <= GRACE_S:
                    continue
            except BlobMissing:
                continue
            v.blobs.delete(sha)
            r.removed += 1
        r.orphan_blobs.append(sha)
    r.stray_files = list(v.blobs.strays())
    r.store_leftovers = v.blobs.leftovers(now - GRACE_S, remove=repair)
    if repair:
        r.removed += len(r.store_leftovers)
    expired = []
    for p in v.uploads.entries():
        up = uploads.get(p.name)
        old = now - p.stat().st_mtime > GRACE_S
        if (up is None and old) or (up is not None and up.expires_at < utcnow()):
            r.stale_uploads.append(p.name)
            if repair:
                p.unlink(missing_ok=True)
                r.removed += 1
                if up is not None:
                    expired.append(up.id)
    if repair and expired:
        with v.db.session() as s:
            for uid in expired:
                row = s.get(Upload, uid)
                if row is not None:
                    s.delete(row)
    with v.db.session() as s:
        v.audit(s, "server-cli", "fsck", "", {"ok": r.ok, "removed": r.removed,
                                              "problems": len(r.missing_blobs) + len(r.bad_hash) + len(r.bad_receipt)})
    return r


def audit_verify(v: Vault, progress=None) -> audit.VerifyResult:
    with v.db.session() as s:
        return audit.verify(s, v.sign_public, progress, v.config.audit_checkpoint_every)


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
    with tarfile.open(archive, "r") as tar:
        members = tar.getmembers()
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
            _check_new_store(blobs)
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
