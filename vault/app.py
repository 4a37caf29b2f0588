"""The application factory."""

from __future__ import annotations

import io
import logging

from flask import Flask, Request, request

from vault.config import Config, load_config
from vault.services.vault import open_vault


class MemoryOnlyRequest(Request):
    """Never spool a multipart file part to a temporary file.

    The browser export sends decrypted evidence; werkzeug's default would
    write big parts to /tmp — plaintext on the server's disk. Export bodies
    are bounded and parsed from the stream, so memory is the right place.
    """

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def create_app(config: Config | None = None) -> Flask:
    config = config or load_config()
    vault = open_vault(config)
    app = Flask(__name__)
    app.request_class = MemoryOnlyRequest
    app.config["VAULT"] = config
    # One upload chunk plus headroom; JSON bodies have their own, lower limit.
    app.config["MAX_CONTENT_LENGTH"] = config.max_chunk_bytes + 64 * 1024
    app.json.sort_keys = False
    app.extensions["vault"] = vault
    _quiet_logging(app)

    from vault.api import errors
    from vault.api.routes import register_api

    errors.register(app)
    register_api(app)

    from vault.api import security
    from vault.web import init_app as init_web

    init_web(app)  # the web UI's cookie session hook must run before the access check
    security.enforce(app)
    if config.search_enabled and config.indexer_thread:
        from vault.services import indexing

        # Each worker (after gunicorn's fork) starts one; only the holder of
        # the index writer lock drains the outbox.
        app.extensions["vault_indexer_stop"] = indexing.start(vault.db, config.index_dir)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith("/api/"):
            resp.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
        return resp

    return app


def _quiet_logging(app: Flask) -> None:
    # Request bodies and query strings can carry what users typed; log
    # method, path and status only (gunicorn's access log format does the same).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
