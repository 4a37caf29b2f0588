"""Server-side maintenance: init, invite, fsck, audit verification, backup.

These run on the server machine with direct access to the data folder (the
`vault server ...` commands), never through the web.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from vault import audit, crypto
from vault.app import Vault, open_vault
from vault.config import Config
from vault.models import Item, Setting, Upload, User, utcnow
from vault.storage import fsync_dir

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
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(config.data_dir, 0o700)
    keys.mkdir(mode=0o700)
    _write_secret(keys / "server_sign.key", crypto.generate_sign_seed())
    _write_secret(keys / "server_secret.key", crypto.random_key())
    fsync_dir(keys)
    for d in (config.blob_dir, config.upload_dir, config.log_dir):
        d.mkdir(exist_ok=True, mode=0o700)
    if config.database_url:
        url = config.database_url.replace("\\", "\\\\").replace('"', '\\"')
        _write_secret(config.data_dir / "settings.toml", f'[vault]\ndatabase_url = "{url}"\n'.encode())
    migrate.upgrade(config.db_url)
    v = open_vault(config)
    with v.db.session() as s:
        s.add(Setting(key="recovery_box_public", value=base64.b64encode(recovery_public).decode()))
        v.audit(s, "server", "server_initialised", "", {
            "recovery_fingerprint": crypto.fingerprint(recovery_public, b""),
            "server_sign_public": base64.b64encode(v.sign_public).decode()})
    return v


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
    removed: int = 0
    items_checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing_blobs or self.bad_size or self.bad_hash or self.bad_receipt)

    def as_dict(self) -> dict:
        return {**self.__dict__, "ok": self.ok}


def fsck(v: Vault, repair: bool = True, deep: bool = False, progress=None) -> FsckReport:
    """Check every item against its blob and receipt; clean up crash leftovers.

    Orphan blobs (no row) and stale staging files are removed when `repair`
    is set and they are older than the grace period. Damaged or missing
    blobs are reported, never "fixed": that needs a backup.
    """
    from vault.storage import sha256_file

    r = FsckReport()
    now = time.time()
    with v.db.session() as s:
        items = s.execute(select(Item.id, Item.case_id, Item.key_version, Item.blob_sha256, Item.blob_size,
                                 Item.sealed_manifest, Item.receipt_signature, Item.uploader_sign_public)).all()
        uploads = {u.id: u for u in s.execute(select(Upload)).scalars()}
    known = set()
    for (iid, cid, kver, sha, size, manifest, sig, pub) in items:
        known.add(sha)
        r.items_checked += 1
        if progress:
            progress(1)
        p = v.blobs.path(sha)
        if not p.is_file():
            r.missing_blobs.append(iid)
            continue
        if p.stat().st_size != size:
            r.bad_size.append(iid)
            continue
        if deep and sha256_file(p) != sha:
            r.bad_hash.append(iid)
        msg = crypto.receipt_message(iid, cid, kver, sha, crypto.sha256_hex(manifest))
        try:
            crypto.verify_detached(pub, msg, sig)
        except crypto.BadSignature:
            r.bad_receipt.append(iid)
    for sha in list(v.blobs.all_hashes()):
        if sha not in known and now - v.blobs.path(sha).stat().st_mtime > GRACE_S:
            r.orphan_blobs.append(sha)
            if repair:
                v.blobs.delete(sha)
                r.removed += 1
    r.stray_files = [str(p.relative_to(v.config.data_dir)) for p in v.blobs.stray_files()]
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


def backup(v: Vault, out: Path, progress=None) -> int:
    """Write a consistent tar of the data folder (ciphertext, keys, database).

    The backup reveals no evidence (it holds what a seized server holds),
    but it holds the server's signing key: store it like the server.
    """
    if not v.config.db_url.startswith("sqlite"):
        raise InitError("backup of PostgreSQL: use pg_dump for the database; this command covers SQLite only")
    count = 0
    tmp_db = out.with_suffix(".db.tmp")
    src = sqlite3.connect(v.config.data_dir / "vault.sqlite3")
    dst = sqlite3.connect(tmp_db)
    with dst:
        src.backup(dst)  # consistent snapshot while the server runs
    src.close()
    dst.close()
    try:
        with tarfile.open(out, "w") as tar:
            tar.add(tmp_db, arcname="vault.sqlite3")
            for sub in ("keys", "blobs"):
                for p in sorted((v.config.data_dir / sub).rglob("*")):
                    if p.is_file():
                        tar.add(p, arcname=str(p.relative_to(v.config.data_dir)))
                        count += 1
                        if progress:
                            progress(1)
    finally:
        tmp_db.unlink(missing_ok=True)
    return count


def restore(archive: Path, data_dir: Path) -> int:
    if data_dir.exists() and any(data_dir.iterdir()):
        raise InitError(f"{data_dir} is not empty; restore into a new folder")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    count = 0
    with tarfile.open(archive, "r") as tar:
        for m in tar.getmembers():
            name = m.name
            if not m.isfile() or name.startswith("/") or ".." in Path(name).parts:
                raise InitError(f"refusing suspicious entry {name!r} in the backup")
            if not (name == "vault.sqlite3" or name.startswith(("keys/", "blobs/"))):
                raise InitError(f"unexpected entry {name!r} in the backup")
        tar.extractall(data_dir, filter="data")  # noqa: S202 - every member checked above
        count = len(tar.getmembers())
    for d in ("uploads", "logs"):
        (data_dir / d).mkdir(exist_ok=True, mode=0o700)
    return count
