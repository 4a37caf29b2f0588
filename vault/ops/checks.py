"""`vault server fsck` and `audit-verify`: blobs against rows against signed receipts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import select

from vault import crypto
from vault.db.models import Item, Upload, utcnow
from vault.services import audit
from vault.services.vault import Vault
from vault.storage.blobs import BlobMissing

GRACE_S = 15 * 60  # files younger than this may belong to a request in flight


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
