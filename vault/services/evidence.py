"""Reading evidence: the items of a case, one item's sealed parts, its ciphertext.

Only members of an item's case get anything (vault/services/access.py);
viewing an item and starting a download are audited. The server hands out
ciphertext and wrapped keys; content stays sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from vault.crypto import b64e
from vault.db.models import Item, User
from vault.services.access import member_case, member_item
from vault.services.errors import Refused
from vault.services.vault import Vault
from vault.serving import heartbeat
from vault.storage.blobs import BlobMissing, BlobReader, BlobStoreUnavailable

log = logging.getLogger(__name__)
PIECE = 256 * 1024


def item_public(i: Item, uploader: User | None) -> dict:
    """What every member sees of an item: searchable metadata and custody data."""
    return {
        "id": i.id, "case_id": i.case_id, "evidence_type": i.evidence_type, "attached_to": i.attached_to,
        "metadata": i.meta, "key_version": i.key_version, "blob_sha256": i.blob_sha256, "blob_size": i.blob_size,
        "uploader": {"id": i.uploader_id, "username": uploader.username if uploader else None,
                     "role": i.uploader_role, "sign_public": b64e(i.uploader_sign_public)},
        "created_at": i.created_at.isoformat() + "Z",
    }


def list_items(v: Vault, user: User, case_id: str) -> list[dict]:
    """The items of a case the user is a member of, oldest first."""
    with v.db.session() as s:
        c = member_case(s, case_id, user)
        rows = s.execute(select(Item, User).join(User, User.id == Item.uploader_id)
                         .where(Item.case_id == c.id).order_by(Item.created_at, Item.id)).all()
        return [item_public(i, u) for i, u in rows]


def view_item(v: Vault, user: User, item_id: str) -> dict:
    """One item with its wrapped key, sealed manifest and signed receipt; audited as evidence_viewed."""
    with v.db.session() as s:
        i = member_item(s, item_id, user)
        out = {**item_public(i, s.get(User, i.uploader_id)), "wrapped_key": b64e(i.wrapped_key),
               "sealed_manifest": b64e(i.sealed_manifest), "receipt_signature": b64e(i.receipt_signature),
               "sealed_fields": b64e(i.sealed_fields) if i.sealed_fields else None}
        v.audit(s, user.username, "evidence_viewed", "item:" + i.id, {"case": i.case_id})
    return out


@dataclass
class Download:
    """An authorised download: the open blob from `start`, and what the response says about it."""

    item_id: str
    sha256: str
    size: int
    start: int
    reader: BlobReader


def open_download(v: Vault, user: User, item_id: str, start: int | None,
                  logger: logging.Logger = log) -> Download:
    """Authorise and open the ciphertext of an item, from byte `start` (None: the whole file).

    A download from the first byte is audited as evidence_downloaded; a
    resumed one (start > 0) is the same download continuing. `start` is
    checked after membership, so a stranger gets the 404 whatever range they
    ask for; a range the interface could not read comes as -1.
    """
    with v.db.session() as s:
        i = member_item(s, item_id, user)
        sha, size = i.blob_sha256, i.blob_size
        if start is not None and not 0 <= start < size:
            raise Refused(416, "bad_range", f"Ask for 'bytes=N-' with N below {size}.")
        start = start or 0
        if start == 0:
            v.audit(s, user.username, "evidence_downloaded", "item:" + i.id, {"case": i.case_id})
    try:
        reader = v.blobs.open(sha, start)
    except BlobMissing as exc:
        logger.error("blob missing for item %s", item_id)
        raise Refused(410, "blob_missing", "The stored file is missing on the server. Tell your admin to run fsck.") from exc
    except BlobStoreUnavailable as exc:
        logger.error("blob store failed for item %s: %s", item_id, exc)
        raise Refused(503, "storage_unavailable", "The server cannot read stored files right now. Try again in a "
                      "minute.", retry_after=30) from exc
    if reader.size != size:
        reader.close()
        logger.error("blob of item %s has the wrong size", item_id)
        raise Refused(410, "blob_damaged", "The stored file is damaged on the server. Tell your admin to run "
                      "`vault server fsck` and restore it from a backup.")
    return Download(item_id, sha, size, start, reader)


def pieces(d: Download, logger: logging.Logger = log) -> Iterator[bytes]:
    """The ciphertext piece by piece, whatever the store: memory stays flat for any size. Closes the reader."""
    with d.reader:
        try:
            while chunk := d.reader.read(PIECE):
                yield chunk
                # The last piece went out: a long download to a slow phone is
                # progress, not a hung worker (vault/serving/heartbeat.py).
                heartbeat.beat()
        except BlobStoreUnavailable as exc:
            # Headers are gone; breaking the connection makes the client resume with a Range.
            logger.error("blob store failed mid-download of item %s: %s", d.item_id, exc)
            raise
