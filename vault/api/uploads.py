"""Chunked, resumable uploads of ciphertext.

Each chunk is its own request (so no request meets gunicorn's timeout),
written at the acknowledged offset and fsynced before it is acknowledged.
`finish` checks the whole ciphertext's hash and the uploader's signed
receipt, puts the blob into the store, and only then commits the item row
(with its audit entry and search-outbox entry) in one transaction.
"""

from __future__ import annotations

import os
from datetime import timedelta

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select, update

from vault import crypto
from vault.api.errors import ApiError, not_found
from vault.api.openapi import doc
from vault.api.schemas import FinishIn, UploadIn
from vault.api.security import access
from vault.api.validation import b64decode, json_body
from vault.db.models import CaseKeyVersion, Item, SearchOutbox, Upload, new_id, utcnow
from vault.services.access import member_case
from vault.serving.body import request_body
from vault.storage.blobs import BlobMissing, BlobNotStored, BlobStoreUnavailable
from vault.storage.files import (
    BadIdentifier,
    DiskFull,
    ShortChunk,
    StorageError,
    UploadBusy,
    ensure_free,
    is_id,
    sha256_file,
)
from vault.storage.hashstate import ResumableSha256

bp = Blueprint("uploads", __name__, url_prefix="/api/v1")
MANIFEST_MAX = 2 * 1024 * 1024


def _vault():
    return current_app.extensions["vault"]


def _own_upload(s, upload_id: str) -> Upload:
    up = s.get(Upload, upload_id) if is_id(upload_id) else None
    if up is None or up.uploader_id != g.user.id:
        raise not_found("upload")
    member_case(s, up.case_id, g.user)  # removed from the case → the upload is gone for you
    if up.expires_at < utcnow():
        raise ApiError(410, "upload_expired", "This upload expired. Start it again.")
    return up


def _state(up: Upload) -> dict:
    return {"upload_id": up.id, "item_id": up.item_id, "case_id": up.case_id, "size": up.total_size,
            "received": up.received, "key_version": up.key_version,
            "chunk_max": current_app.config["VAULT"].max_chunk_bytes}


@bp.post("/cases/<case_id>/uploads")
@access("member")
@doc("Start an upload: declares the ciphertext size, key version and searchable metadata.", body=UploadIn, status=201)
def start(case_id: str):
    body = json_body(UploadIn)
    v = _vault()
    cfg = v.config
    if body.size > cfg.max_upload_bytes:
        raise ApiError(413, "too_large", f"Files up to {cfg.max_upload_bytes} bytes are accepted.")
    if body.size < crypto.STREAM_PREFIX_BYTES + crypto.STREAM_ABYTES:
        raise ApiError(422, "invalid_fields", "size is smaller than an empty encrypted file.")
    try:
        ensure_free(cfg.data_dir, body.size, cfg.min_free_bytes)
    except DiskFull as exc:
        raise ApiError(507, "disk_full", "The server's disk is too full for this file. Tell your admin; nothing was stored.") from exc
    with v.db.session() as s:
        c = member_case(s, case_id, g.user)
        if body.key_version != c.key_version:
            raise ApiError(409, "stale_key_version",
                           f"The case key was rotated; encrypt with key version {c.key_version}.",
                           key_version=c.key_version)
        if body.attached_to:
            parent = s.get(Item, body.attached_to)
            if parent is None or parent.case_id != c.id:
                raise ApiError(422, "invalid_fields", "attached_to must be an item of the same case.")
        now = utcnow()
        up = Upload(id=new_id(), item_id=new_id(), case_id=c.id, uploader_id=g.user.id,
                    key_version=body.key_version, total_size=body.size, received=0,
                    meta=body.metadata.model_dump(mode="json"), attached_to=body.attached_to,
                    created_at=now, expires_at=now + timedelta(seconds=cfg.upload_expiry_s))
        v.uploads.create(up.id)  # the staging file exists before the row that names it
        s.add(up)
        out = _state(up)
    return jsonify(out), 201


@bp.get("/uploads/<upload_id>")
@access("member")
@doc("How many bytes of an upload the server holds (resume from `received`).")
def status(upload_id: str):
    with _vault().db.session() as s:
        return jsonify(_state(_own_upload(s, upload_id)))


@bp.put("/uploads/<upload_id>")
@access("member")
@doc("Send the next chunk of ciphertext at ?offset=<received>.", binary=True)
def chunk(upload_id: str):
    v = _vault()
    if request.mimetype != "application/octet-stream":
        raise ApiError(415, "unsupported_media_type", "Send chunks as application/octet-stream.")
    try:
        offset = int(request.args.get("offset", ""))
    except ValueError as exc:
        raise ApiError(400, "bad_offset", "Give ?offset=<bytes already received>.") from exc
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "Send a Content-Length header.")
    if length == 0 or length > v.config.max_chunk_bytes:
        raise ApiError(413, "bad_chunk_size", f"Chunks are 1 to {v.config.max_chunk_bytes} bytes.")
    with v.db.session() as s:
        up = _own_upload(s, upload_id)
        received, total, state = up.received, up.total_size, up.hash_state
    if offset != received:
        raise ApiError(409, "wrong_offset", f"The server holds {received} bytes; send from offset {received}.",
                       received=received)
    if offset + length > total:
        raise ApiError(422, "beyond_size", "This chunk would go past the declared size.", received=received)
    try:
        ensure_free(v.config.data_dir, length, v.config.min_free_bytes)
        # Hash as the bytes go to disk, so `finish` need not read the file again.
        hasher = ResumableSha256.restore(state, offset) if offset else ResumableSha256.new()
        new_len = v.uploads.write_chunk(upload_id, offset, request_body(length), length, hasher)
    except DiskFull as exc:
        raise ApiError(507, "disk_full", "The server's disk is full; your earlier chunks are safe. Try later.",
                       received=received) from exc
    except UploadBusy as exc:
        raise ApiError(409, "busy", "Another request is writing this upload; retry in a moment.",
                       received=received) from exc
    except ShortChunk as exc:
        raise ApiError(400, "truncated_chunk", "The chunk arrived incomplete; send it again.",
                       received=received) from exc
    except (BadIdentifier, StorageError) as exc:
        raise not_found("upload") from exc
    with v.db.session() as s:
        # Compare-and-set: only the request that wrote at `offset` advances it.
        n = s.execute(update(Upload).where(Upload.id == upload_id, Upload.received == offset)
                      .values(received=new_len, hash_state=hasher.export() if hasher else None)).rowcount
    if n != 1:
        raise ApiError(409, "wrong_offset", "The upload moved on; ask for its status and resume.")
    return jsonify({"received": new_len, "size": total})


@bp.post("/uploads/<upload_id>/finish")
@access("member")
@doc("Finish an upload: hash check, signed receipt check, then the item exists.", body=FinishIn, status=201)
def finish(upload_id: str):
    body = json_body(FinishIn)
    v = _vault()
    manifest = b64decode(body.sealed_manifest, "sealed_manifest", max_size=MANIFEST_MAX)
    wrapped = b64decode(body.wrapped_key, "wrapped_key", max_size=200)
    receipt_sig = b64decode(body.receipt_signature, "receipt_signature", size=64)
    fields = b64decode(body.sealed_fields, "sealed_fields", max_size=MANIFEST_MAX) if body.sealed_fields else None
    with v.db.session() as s:
        up = _own_upload(s, upload_id)
        if up.received != up.total_size:
            raise ApiError(409, "incomplete", f"The server holds {up.received} of {up.total_size} bytes; send the rest.",
                           received=up.received)
        up_snapshot = _state(up)
        hashed = ResumableSha256.restore(up.hash_state, up.total_size)
        meta, attached_to = dict(up.meta), up.attached_to
        kv = s.get(CaseKeyVersion, (up.case_id, up.key_version))
        if kv is None:
            raise ApiError(409, "stale_key_version", "This key version does not exist for the case.")
    staged = True
    try:
        fd = v.uploads.lock_for_finish(upload_id)
        source = v.uploads.path(upload_id)
    except UploadBusy as exc:
        raise ApiError(409, "busy", "Another request is writing this upload; retry in a moment.") from exc
    except FileNotFoundError as exc:
        # A finish that died between storing the blob and committing the row:
        # the blob is in place, so complete from it.
        try:
            in_store = v.blobs.exists(body.ciphertext_sha256)
        except BlobStoreUnavailable as err:
            raise _store_failed(upload_id, err) from err
        if not in_store:
            raise ApiError(409, "already_finished", "This upload was already finished or cancelled.") from exc
        staged, fd = False, None
    try:
        held = os.fstat(fd).st_size if staged else v.blobs.stat(body.ciphertext_sha256).size
        if held != up_snapshot["size"]:
            raise ApiError(409, "incomplete", "The staged file has the wrong size; resume the upload.")
        if staged:
            digest = hashed.hexdigest() if hashed is not None else sha256_file(source)
        else:
            digest = v.blobs.sha256(body.ciphertext_sha256)
        if digest != body.ciphertext_sha256:
            raise ApiError(422, "hash_mismatch",
                           "The bytes the server received do not match your hash; the upload was corrupted. Start again.")
        msg = crypto.receipt_message(up_snapshot["item_id"], up_snapshot["case_id"], up_snapshot["key_version"],
                                     digest, crypto.sha256_hex(manifest))
        try:
            crypto.verify_detached(g.user.sign_public, msg, receipt_sig)
        except crypto.BadSignature as exc:
            raise ApiError(422, "bad_signature",
                           "The storage receipt is not signed by your registered key; nothing was stored.") from exc
        if staged:
            os.fsync(fd)
            # Returns once the blob is stored and checked present with this
            # size; on failure the staged file is kept for a retry.
            v.blobs.put_file(source, digest)
    except (BlobMissing, BlobStoreUnavailable, BlobNotStored) as exc:
        raise _store_failed(upload_id, exc) from exc
    finally:
        if fd is not None:
            os.close(fd)
    with v.db.session() as s:
        up = s.get(Upload, upload_id)
        if up is None:
            raise ApiError(409, "already_finished", "This upload was already finished.")
        item = Item(id=up.item_id, case_id=up.case_id, uploader_id=g.user.id, uploader_role=g.user.role,
                    key_version=up.key_version, evidence_type=meta["evidence_type"], attached_to=attached_to,
                    meta=meta, blob_sha256=digest, blob_size=up.total_size, wrapped_key=wrapped,
                    sealed_manifest=manifest, sealed_fields=fields, receipt_signature=receipt_sig,
                    uploader_sign_public=g.user.sign_public, created_at=utcnow())
        s.add(item)
        s.delete(up)
        s.add(SearchOutbox(item_id=item.id, op="upsert"))
        v.audit(s, g.user.username, "evidence_uploaded", "item:" + item.id,
                {"case": item.case_id, "blob_sha256": digest, "size": item.blob_size,
                 "evidence_type": item.evidence_type})
        out = {"item_id": item.id, "case_id": item.case_id, "blob_sha256": digest,
               "created_at": item.created_at.isoformat() + "Z"}
    _notify_added(out, meta["evidence_type"], up_snapshot["size"])
    return jsonify(out), 201


def _store_failed(upload_id: str, exc: Exception) -> ApiError:
    """Nothing is committed; a store that is down answers 503 and the staged file waits for a retry."""
    if isinstance(exc, BlobMissing):
        return ApiError(409, "already_finished", "This upload was already finished or cancelled.")
    current_app.logger.error("blob store failed while finishing upload %s: %s", upload_id, exc)
    return ApiError(503, "storage_unavailable", "The server cannot store files right now; your upload is kept. "
                    "Finish it again in a minute.", retry_after=30)


def _notify_added(out: dict, evidence_type: str, size: int) -> None:
    """Tell notification plugins (server-visible metadata only); never fail the upload for them."""
    from vault import plugins
    from vault.api.plugins import enabled_plugins, plugin_manager
    from vault.export.types import EvidenceNotice

    try:
        pm = plugin_manager()
        with _vault().db.session() as s:
            enabled = enabled_plugins(s, pm)
        plugins.notify_evidence_added(pm, enabled, EvidenceNotice(
            out["item_id"], out["case_id"], g.user.username, out["created_at"], evidence_type, size))
    except Exception as exc:  # noqa: BLE001 - the item is stored; a plugin's failure must not undo that
        current_app.logger.error("evidence_added notification failed: %s", type(exc).__name__)


@bp.delete("/uploads/<upload_id>")
@access("member")
@doc("Cancel an upload and discard its bytes.")
def cancel(upload_id: str):
    v = _vault()
    with v.db.session() as s:
        up = _own_upload(s, upload_id)
        s.delete(up)
    v.uploads.discard(upload_id)
    return jsonify({"cancelled": upload_id})


def pending_uploads(s, user_id: str) -> list[Upload]:
    return list(s.execute(select(Upload).where(Upload.uploader_id == user_id)).scalars())
