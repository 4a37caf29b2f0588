"""Registers the API blueprints, one per area."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    from vault.api import admin, auth, cases, items, meta, search, uploads

    for module in (meta, auth, admin, cases, uploads, items, search):
        app.register_blueprint(module.bp)
    from vault.api import exports, plugins
    app.register_blueprint(plugins.bp)  # /admin/plugins, /exporters
    app.register_blueprint(exports.bp)  # /cases/<case_id>/exports...
