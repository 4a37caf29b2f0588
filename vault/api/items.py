"""Evidence item routes: list, fetch the sealed parts, stream the ciphertext.

Membership, audit entries and opening the blob are vault/services/evidence.py;
here the Range header is read and the stream is answered.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context

from vault.api.openapi import doc
from vault.api.security import access
from vault.services import evidence

bp = Blueprint("items", __name__, url_prefix="/api/v1")
_RANGE = re.compile(r"^bytes=(\d+)-$")


def _vault():
    return current_app.extensions["vault"]


def _range_start(header: str | None) -> int | None:
    """N of `Range: bytes=N-`; None without a Range; -1 for one we do not serve (the service answers 416)."""
    if not header:
        return None
    m = _RANGE.match(header)
    return int(m.group(1)) if m else -1


@bp.get("/cases/<case_id>/items")
@access("member")
@doc("The items of a case (searchable metadata and custody data; content stays sealed).")
def list_items(case_id: str):
    return jsonify({"items": evidence.list_items(_vault(), g.user, case_id)})


@bp.get("/items/<item_id>")
@access("member")
@doc("One item with its wrapped key, sealed manifest and signed storage receipt.")
def get_item(item_id: str):
    return jsonify(evidence.view_item(_vault(), g.user, item_id))


@bp.get("/items/<item_id>/content")
@access("member")
@doc("The ciphertext, streamed; `Range: bytes=N-` resumes a broken download.",
     responses={"206": {"description": "Partial content"}})
def content(item_id: str):
    log = current_app.logger
    d = evidence.open_download(_vault(), g.user, item_id, _range_start(request.headers.get("Range")), logger=log)
    resp = Response(stream_with_context(evidence.pieces(d, logger=log)), mimetype="application/octet-stream",
                    status=206 if d.start else 200)
    resp.headers["Content-Length"] = str(d.size - d.start)
    resp.headers["X-Blob-Sha256"] = d.sha256
    if d.start:
        resp.headers["Content-Range"] = f"bytes {d.start}-{d.size - 1}/{d.size}"
    return resp
