"""Registers the API blueprints, one per area."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from vault.api import admin, auth, cases, items, meta, uploads

    for module in (meta, auth, admin, cases, uploads, items):
        app.register_blueprint(module.bp)
