"""Evidence items: list, fetch the sealed parts, stream the ciphertext."""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from sqlalchemy import select

from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.security import access
from vault.api.validation import b64
from vault.db.models import Item, User
from vault.services.access import member_case, member_item
from vault.serving import heartbeat
from vault.storage.blobs import BlobMissing, BlobStoreUnavailable

bp = Blueprint("items", __name__, url_prefix="/api/v1")
_RANGE = re.compile(r"^bytes=(\d+)-$")


def _vault():
    return current_app.extensions["vault"]


def item_public(i: Item, uploader: User | None) -> dict:
    return {
        "id": i.id, "case_id": i.case_id, "evidence_type": i.evidence_type, "attached_to": i.attached_to,
        "metadata": i.meta, "key_version": i.key_version, "blob_sha256": i.blob_sha256, "blob_size": i.blob_size,
        "uploader": {"id": i.uploader_id, "username": uploader.username if uploader else None,
                     "role": i.uploader_role, "sign_public": b64(i.uploader_sign_public)},
        "created_at": i.created_at.isoformat() + "Z",
    }


@bp.get("/cases/<case_id>/items")
@access("member")
@doc("The items of a case (searchable metadata and custody data; content stays sealed).")
def list_items(case_id: str):
    with _vault().db.session() as s:
        c = member_case(s, case_id, g.user)
        rows = s.execute(select(Item, User).join(User, User.id == Item.uploader_id)
                         .where(Item.case_id == c.id).order_by(Item.created_at)).all()
        return jsonify({"items": [item_public(i, u) for i, u in rows]})


@bp.get("/items/<item_id>")
@access("member")
@doc("One item with its wrapped key, sealed manifest and signed storage receipt.")
def get_item(item_id: str):
    v = _vault()
    with v.db.session() as s:
        i = member_item(s, item_id, g.user)
        out = {**item_public(i, s.get(User, i.uploader_id)), "wrapped_key": b64(i.wrapped_key),
               "sealed_manifest": b64(i.sealed_manifest), "receipt_signature": b64(i.receipt_signature),
               "sealed_fields": b64(i.sealed_fields) if i.sealed_fields else None}
        v.audit(s, g.user.username, "evidence_viewed", "item:" + i.id, {"case": i.case_id})
    return jsonify(out)


@bp.get("/items/<item_id>/content")
@access("member")
@doc("The ciphertext, streamed; `Range: bytes=N-` resumes a broken download.",
     responses={"206": {"description": "Partial content"}})
def content(item_id: str):
    v = _vault()
    with v.db.session() as s:
        i = member_item(s, item_id, g.user)
        sha, size = i.blob_sha256, i.blob_size
        start = 0
        rng = request.headers.get("Range")
        if rng:
            m = _RANGE.match(rng)
            if not m or int(m.group(1)) >= size:
                raise ApiError(416, "bad_range", f"Ask for 'bytes=N-' with N below {size}.")
            start = int(m.group(1))
        if start == 0:
            v.audit(s, g.user.username, "evidence_downloaded", "item:" + i.id, {"case": i.case_id})
    try:
        reader = v.blobs.open(sha, start)
    except BlobMissing as exc:
        current_app.logger.error("blob missing for item %s", item_id)
        raise ApiError(410, "blob_missing", "The stored file is missing on the server. Tell your admin to run fsck.") from exc
    except BlobStoreUnavailable as exc:
        current_app.logger.error("blob store failed for item %s: %s", item_id, exc)
        raise ApiError(503, "storage_unavailable", "The server cannot read stored files right now. Try again in a "
                       "minute.", retry_after=30) from exc
    if reader.size != size:
        reader.close()
        current_app.logger.error("blob of item %s has the wrong size", item_id)
        raise ApiError(410, "blob_damaged", "The stored file is damaged on the server. Tell your admin to run "
                       "`vault server fsck` and restore it from a backup.")

    def generate():
        # Piece by piece, whatever the store: memory stays flat for any size.
        with reader:
            try:
                while chunk := reader.read(256 * 1024):
                    yield chunk
                    # The last piece went out: a long download to a slow phone is
                    # progress, not a hung worker (vault/heartbeat.py).
                    heartbeat.beat()
            except BlobStoreUnavailable as exc:
                # Headers are gone; breaking the connection makes the client resume with a Range.
                current_app.logger.error("blob store failed mid-download of item %s: %s", item_id, exc)
                raise

    resp = Response(stream_with_context(generate()), mimetype="application/octet-stream",
                    status=206 if start else 200)
    resp.headers["Content-Length"] = str(size - start)
    resp.headers["X-Blob-Sha256"] = sha
    if start:
        resp.headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
    return resp
