"""Upload routes: start, resume, send a chunk, finish, cancel.

Parsing and the HTTP details (content type, ?offset, Content-Length, base64
fields) are here; the checks, the durability order and the item row are in
vault/services/ingest.py.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.schemas import FinishIn, UploadIn
from vault.api.security import access
from vault.api.validation import b64decode, json_body
from vault.services import ingest
from vault.serving.body import request_body

bp = Blueprint("uploads", __name__, url_prefix="/api/v1")
MANIFEST_MAX = 2 * 1024 * 1024


def _vault():
    return current_app.extensions["vault"]


@bp.post("/cases/<case_id>/uploads")
@access("member")
@doc("Start an upload: declares the ciphertext size, key version and searchable metadata.", body=UploadIn, status=201)
def start(case_id: str):
    body = json_body(UploadIn)
    out = ingest.start_upload(_vault(), g.user, case_id, size=body.size, key_version=body.key_version,
                              metadata=body.metadata.model_dump(mode="json"), attached_to=body.attached_to)
    return jsonify(out), 201


@bp.get("/cases/<case_id>/uploads")
@access("member")
@doc("Your unfinished uploads to this case (to resume or cancel them).")
def open_uploads(case_id: str):
    return jsonify({"uploads": ingest.open_uploads(_vault(), g.user, case_id)})


@bp.get("/uploads/<upload_id>")
@access("member")
@doc("How many bytes of an upload the server holds (resume from `received`).")
def status(upload_id: str):
    return jsonify(ingest.upload_state(_vault(), g.user, upload_id))


@bp.put("/uploads/<upload_id>")
@access("member")
@doc("Send the next chunk of ciphertext at ?offset=<received>.", binary=True,
     query={"offset": {"type": "integer", "minimum": 0}})
def chunk(upload_id: str):
    if request.mimetype != "application/octet-stream":
        raise ApiError(415, "unsupported_media_type", "Send chunks as application/octet-stream.")
    try:
        offset = int(request.args.get("offset", ""))
    except ValueError as exc:
        raise ApiError(400, "bad_offset", "Give ?offset=<bytes already received>.") from exc
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "Send a Content-Length header.")
    # The body is opened only once the service has checked the chunk (see write_chunk).
    out = ingest.write_chunk(_vault(), g.user, upload_id, offset, length, lambda: request_body(length))
    return jsonify(out)


@bp.post("/uploads/<upload_id>/finish")
@access("member")
@doc("Finish an upload: hash check, signed receipt check, then the item exists.", body=FinishIn, status=201)
def finish(upload_id: str):
    body = json_body(FinishIn)
    out = ingest.finish_upload(
        _vault(), g.user, upload_id, ciphertext_sha256=body.ciphertext_sha256,
        sealed_manifest=b64decode(body.sealed_manifest, "sealed_manifest", max_size=MANIFEST_MAX),
        wrapped_key=b64decode(body.wrapped_key, "wrapped_key", max_size=200),
        receipt_signature=b64decode(body.receipt_signature, "receipt_signature", size=64),
        sealed_fields=(b64decode(body.sealed_fields, "sealed_fields", max_size=MANIFEST_MAX)
                       if body.sealed_fields else None),
        logger=current_app.logger)
    return jsonify(out), 201


@bp.delete("/uploads/<upload_id>")
@access("member")
@doc("Cancel an upload and discard its bytes.")
def cancel(upload_id: str):
    return jsonify(ingest.cancel_upload(_vault(), g.user, upload_id))
