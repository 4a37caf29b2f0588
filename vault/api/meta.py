"""Health and the API description."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from vault.api.openapi import build, doc
from vault.api.security import access

bp = Blueprint("meta", __name__, url_prefix="/api/v1")


@bp.get("/health")
@access("public")
@doc("Liveness: the server answers and its database is reachable.")
def health():
    from sqlalchemy import text

    with current_app.extensions["vault"].db.session() as s:
        s.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/openapi.json")
@access("public")
@doc("This document.")
def openapi():
    return jsonify(build(current_app))
