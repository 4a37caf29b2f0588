"""Chunked, resumable uploads of ciphertext, up to the moment the item exists.

Each chunk is its own request (so no request meets gunicorn's timeout),
written at the acknowledged offset and fsynced before it is acknowledged.
`finish_upload` checks the whole ciphertext's hash and the uploader's signed
receipt, puts the blob into the store, and only then commits the item row
(with its audit entry and search-outbox entry) in one transaction: a crash at
any point leaves either no item or a complete one, never an item without
its bytes.

The interface parses the request and hands over plain values; refusals are
`Refused` (the API shows them as its one JSON error shape). Errors are logged
to the logger the caller passes (the API gives its app's logger, so the lines
land in the server's error log as before).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vault import crypto, plugins
from vault.db.models import Case, CaseKeyVersion, Item, SearchOutbox, Upload, User, new_id, utcnow
from vault.domain.exports import EvidenceNotice
from vault.services import plugins as plugin_state
from vault.services.access import member_case
from vault.services.errors import Refused, not_found
from vault.services.vault import Vault
from vault.storage.blobs import BlobMissing, BlobNotStored, BlobStoreUnavailable
from vault.storage.files import (
    BadIdentifier,
    DiskFull,
    ShortChunk,
    StorageError,
    UploadBusy,
    ensure_free,
    is_id,
)
from vault.storage.hashstate import ResumableSha256

log = logging.getLogger(__name__)


def _own_upload(s: Session, upload_id: str, user: User) -> Upload:
    up = s.get(Upload, upload_id) if is_id(upload_id) else None
    if up is None or up.uploader_id != user.id:
        raise not_found("upload")
    member_case(s, up.case_id, user)  # removed from the case → the upload is gone for you
    if up.expires_at < utcnow():
        raise Refused(410, "upload_expired", "This upload expired. Start it again.")
    return up


def _current_version(s: Session, up: Upload) -> None:
    """Refuse an upload begun under a key version the case has rotated away from.

    A removed member may hold that older key, so an item sealed with it
    would be readable by someone no longer in the case.
    """
    current = s.get(Case, up.case_id).key_version
    if up.key_version != current:
        raise Refused(409, "stale_key_version", f"The case key was rotated while you uploaded; start this upload "
                      f"again with key version {current}.", key_version=current)


def _state(v: Vault, up: Upload) -> dict:
    return {"upload_id": up.id, "item_id": up.item_id, "case_id": up.case_id, "size": up.total_size,
            "received": up.received, "key_version": up.key_version,
            "chunk_max": v.config.max_chunk_bytes}


def start_upload(v: Vault, user: User, case_id: str, *, size: int, key_version: int, metadata: dict,
                 attached_to: str | None) -> dict:
    """Declare an upload (ciphertext size, key version, searchable metadata); its state, to resume from."""
    cfg = v.config
    if size > cfg.max_upload_bytes:
        raise Refused(413, "too_large", f"Files up to {cfg.max_upload_bytes} bytes are accepted.")
    if size < crypto.STREAM_PREFIX_BYTES + crypto.STREAM_ABYTES:
        raise Refused(422, "invalid_fields", "size is smaller than an empty encrypted file.")
    try:
        ensure_free(cfg.data_dir, size, cfg.min_free_bytes)
    except DiskFull as exc:
        raise Refused(507, "disk_full", "The server's disk is too full for this file. Tell your admin; nothing was stored.") from exc
    with v.db.session() as s:
        c = member_case(s, case_id, user)
        if key_version != c.key_version:
            raise Refused(409, "stale_key_version",
                          f"The case key was rotated; encrypt with key version {c.key_version}.",
                          key_version=c.key_version)
        if attached_to:
            parent = s.get(Item, attached_to)
            if parent is None or parent.case_id != c.id:
                raise Refused(422, "invalid_fields", "attached_to must be an item of the same case.")
        if metadata.get("supersedes"):
            # Only an earlier record of the same case: the versions cannot form a cycle.
            earlier = s.get(Item, metadata["supersedes"])
            if earlier is None or earlier.case_id != c.id or earlier.evidence_type != "case_record":
                raise Refused(422, "invalid_fields", "metadata.supersedes must be a case record of the same case.")
        now = utcnow()
        up = Upload(id=new_id(), item_id=new_id(), case_id=c.id, uploader_id=user.id,
                    key_version=key_version, total_size=size, received=0,
                    meta=metadata, attached_to=attached_to,
                    created_at=now, expires_at=now + timedelta(seconds=cfg.upload_expiry_s))
        v.uploads.create(up.id)  # the staging file exists before the row that names it
        s.add(up)
        return _state(v, up)


def upload_state(v: Vault, user: User, upload_id: str) -> dict:
    """How many bytes of the user's upload the server holds (the client resumes from `received`)."""
    with v.db.session() as s:
        return _state(v, _own_upload(s, upload_id, user))


def open_uploads(v: Vault, user: User, case_id: str) -> list[dict]:
    """The user's own unfinished, unexpired uploads to a case (the web page offers to resume or cancel them)."""
    with v.db.session() as s:
        member_case(s, case_id, user)
        rows = s.scalars(select(Upload).where(Upload.case_id == case_id, Upload.uploader_id == user.id,
                                              Upload.expires_at >= utcnow()).order_by(Upload.created_at)).all()
        return [{**_state(v, up), "created_at": up.created_at.isoformat() + "Z",
                 "expires_at": up.expires_at.isoformat() + "Z",
                 "metadata": {"title": (up.meta or {}).get("title"), "evidence_type": (up.meta or {}).get("evidence_type")},
                 "attached_to": up.attached_to} for up in rows]


def write_chunk(v: Vault, user: User, upload_id: str, offset: int, length: int,
                open_body: Callable[[], object]) -> dict:
    """Write the next `length` bytes at `offset`, fsynced before they are acknowledged.

    `open_body` is called once, after every check has passed, for something
    with `readinto` (or `read`): opening the body earlier would take bytes
    from gunicorn's buffer for a request that may yet be refused.
    """
    if length == 0 or length > v.config.max_chunk_bytes:
        raise Refused(413, "bad_chunk_size", f"Chunks are 1 to {v.config.max_chunk_bytes} bytes.")
    with v.db.session() as s:
        up = _own_upload(s, upload_id, user)
        received, total, state = up.received, up.total_size, up.hash_state
    if offset != received:
        raise Refused(409, "wrong_offset", f"The server holds {received} bytes; send from offset {received}.",
                      received=received)
    if offset + length > total:
        raise Refused(422, "beyond_size", "This chunk would go past the declared size.", received=received)
    try:
        ensure_free(v.config.data_dir, length, v.config.min_free_bytes)
        # Hash as the bytes go to disk, so `finish` need not read the file again.
        hasher = ResumableSha256.restore(state, offset) if offset else ResumableSha256.new()
        new_len = v.uploads.write_chunk(upload_id, offset, open_body(), length, hasher)
    except DiskFull as exc:
        raise Refused(507, "disk_full", "The server's disk is full; your earlier chunks are safe. Try later.",
                      received=received) from exc
    except UploadBusy as exc:
        raise Refused(409, "busy", "Another request is writing this upload; retry in a moment.",
                      received=received) from exc
    except ShortChunk as exc:
        raise Refused(400, "truncated_chunk", "The chunk arrived incomplete; send it again.",
                      received=received) from exc
    except (BadIdentifier, StorageError) as exc:
        raise not_found("upload") from exc
    with v.db.session() as s:
        # Compare-and-set: only the request that wrote at `offset` advances it.
        n = s.execute(update(Upload).where(Upload.id == upload_id, Upload.received == offset)
                      .values(received=new_len, hash_state=hasher.export() if hasher else None)).rowcount
    if n != 1:
        raise Refused(409, "wrong_offset", "The upload moved on; ask for its status and resume.")
    return {"received": new_len, "size": total}


def finish_upload(v: Vault, user: User, upload_id: str, *, ciphertext_sha256: str, sealed_manifest: bytes,
                  wrapped_key: bytes, receipt_signature: bytes, sealed_fields: bytes | None,
                  logger: logging.Logger = log) -> dict:
    """Hash check, signed receipt check, blob into the store, then the item row: the item exists.

    Durability order: the staged file is fsynced and moved into the blob
    store (which returns once the blob is stored and checked present), and
    only then is the item row committed, with its audit entry and search
    outbox row. A finish that died between the two completes from the blob
    already in place. A store that is down answers 503 storage_unavailable
    (Retry-After) and keeps the staged file for a retry.
    """
    with v.db.session() as s:
        up = _own_upload(s, upload_id, user)
        if up.received != up.total_size:
            raise Refused(409, "incomplete", f"The server holds {up.received} of {up.total_size} bytes; send the rest.",
                          received=up.received)
        snapshot = _state(v, up)
        hashed = ResumableSha256.restore(up.hash_state, up.total_size)
        meta, attached_to = dict(up.meta), up.attached_to
        kv = s.get(CaseKeyVersion, (up.case_id, up.key_version))
        if kv is None:
            raise Refused(409, "stale_key_version", "This key version does not exist for the case.")
        _current_version(s, up)
    digest = _store_blob(v, user, upload_id, snapshot, hashed, ciphertext_sha256, sealed_manifest,
                         receipt_signature, logger)
    with v.db.session() as s:
        up = s.get(Upload, upload_id)
        if up is None:
            raise Refused(409, "already_finished", "This upload was already finished.")
        _current_version(s, up)  # a rotation may have committed while the blob was being stored
        item = Item(id=up.item_id, case_id=up.case_id, uploader_id=user.id, uploader_role=user.role,
                    key_version=up.key_version, evidence_type=meta["evidence_type"], attached_to=attached_to,
                    meta=meta, blob_sha256=digest, blob_size=up.total_size, wrapped_key=wrapped_key,
                    sealed_manifest=sealed_manifest, sealed_fields=sealed_fields, receipt_signature=receipt_signature,
                    uploader_sign_public=user.sign_public, created_at=utcnow())
        s.add(item)
        s.delete(up)
        s.add(SearchOutbox(item_id=item.id, op="upsert"))
        v.audit(s, user.username, "evidence_uploaded", "item:" + item.id,
                {"case": item.case_id, "blob_sha256": digest, "size": item.blob_size,
                 "evidence_type": item.evidence_type})
        out = {"item_id": item.id, "case_id": item.case_id, "blob_sha256": digest,
               "created_at": item.created_at.isoformat() + "Z"}
    _notify_added(v, user, out, meta["evidence_type"], snapshot["size"], logger)
    return out


def _store_blob(v: Vault, user: User, upload_id: str, snapshot: dict, hashed, claimed_sha: str,
                manifest: bytes, receipt_sig: bytes, logger: logging.Logger) -> str:
    """Check the staged bytes against the claimed hash and the signed receipt, then store them; the digest."""
    staged = True
    try:
        fd = v.uploads.lock_for_finish(upload_id)
        source = v.uploads.path(upload_id)
    except UploadBusy as exc:
        raise Refused(409, "busy", "Another request is writing this upload; retry in a moment.") from exc
    except FileNotFoundError as exc:
        # A finish that died between storing the blob and committing the row:
        # the blob is in place, so complete from it.
        try:
            in_store = v.blobs.exists(claimed_sha)
        except BlobStoreUnavailable as err:
            raise _store_failed(upload_id, err, logger) from err
        if not in_store:
            raise Refused(409, "already_finished", "This upload was already finished or cancelled.") from exc
        staged, fd = False, None
    try:
        held = os.fstat(fd).st_size if staged else v.blobs.stat(claimed_sha).size
        if held != snapshot["size"]:
            raise Refused(409, "incomplete", "The staged file has the wrong size; resume the upload.")
        if staged:
            digest = hashed.hexdigest() if hashed is not None else _file_sha256(source)
        else:
            digest = v.blobs.sha256(claimed_sha)
        if digest != claimed_sha:
            raise Refused(422, "hash_mismatch",
                          "The bytes the server received do not match your hash; the upload was corrupted. Start again.")
        msg = crypto.receipt_message(snapshot["item_id"], snapshot["case_id"], snapshot["key_version"],
                                     digest, crypto.sha256_hex(manifest))
        try:
            crypto.verify_detached(user.sign_public, msg, receipt_sig)
        except crypto.BadSignature as exc:
            raise Refused(422, "bad_signature",
                          "The storage receipt is not signed by your registered key; nothing was stored.") from exc
        if staged:
            os.fsync(fd)
            # Returns once the blob is stored and checked present with this
            # size; on failure the staged file is kept for a retry.
            v.blobs.put_file(source, digest)
    except (BlobMissing, BlobStoreUnavailable, BlobNotStored) as exc:
        raise _store_failed(upload_id, exc, logger) from exc
    finally:
        if fd is not None:
            os.close(fd)
    return digest


def _file_sha256(path) -> str:
    # Only for an upload staged before hashes were kept per chunk.
    with open(path, "rb") as f:
        return crypto.sha256_stream(f)[0]


def _store_failed(upload_id: str, exc: Exception, logger: logging.Logger) -> Refused:
    """Nothing is committed; a store that is down answers 503 and the staged file waits for a retry."""
    if isinstance(exc, BlobMissing):
        return Refused(409, "already_finished", "This upload was already finished or cancelled.")
    logger.error("blob store failed while finishing upload %s: %s", upload_id, exc)
    return Refused(503, "storage_unavailable", "The server cannot store files right now; your upload is kept. "
                   "Finish it again in a minute.", retry_after=30)


def _notify_added(v: Vault, user: User, out: dict, evidence_type: str, size: int, logger: logging.Logger) -> None:
    """Tell notification plugins (server-visible metadata only); never fail the upload for them."""
    try:
        pm = plugin_state.plugin_manager()
        with v.db.session() as s:
            enabled = plugin_state.enabled_plugins(s, pm)
        plugins.notify_evidence_added(pm, enabled, EvidenceNotice(
            out["item_id"], out["case_id"], user.username, out["created_at"], evidence_type, size))
    except Exception as exc:  # noqa: BLE001 - the item is stored; a plugin's failure must not undo that
        logger.error("evidence_added notification failed: %s", type(exc).__name__)


def cancel_upload(v: Vault, user: User, upload_id: str) -> dict:
    """Cancel the user's upload: the row goes first, then its staged bytes."""
    with v.db.session() as s:
        up = _own_upload(s, upload_id, user)
        s.delete(up)
    v.uploads.discard(upload_id)
    return {"cancelled": upload_id}

