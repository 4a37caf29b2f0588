"""The application factory."""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Request, request
from sqlalchemy.orm import Session

from vault import audit, crypto
from vault.config import Config, ConfigError, load_config
from vault.db import Database
from vault.models import Setting
from vault.storage import BlobStore, UploadArea, open_blob_store


class NotInitialised(ConfigError):
    """The data folder has no keys or database yet: run `vault server init`."""


@dataclass
class Vault:
    """What the request handlers share: settings, database, storage, server keys."""

    config: Config
    db: Database
    blobs: BlobStore
    uploads: UploadArea
    sign_seed: bytes
    server_secret: bytes

    @property
    def sign_public(self) -> bytes:
        return crypto.sign_public_from_seed(self.sign_seed)

    def audit(self, s: Session, actor: str, action: str, obj: str = "", details: dict | None = None):
        return audit.append(s, actor, action, obj, details, sign_seed=self.sign_seed,
                            checkpoint_every=self.config.audit_checkpoint_every)

    def setting(self, s: Session, key: str) -> str | None:
        row = s.get(Setting, key)
        return row.value if row else None

    def recovery_public(self, s: Session) -> bytes:
        value = self.setting(s, "recovery_box_public")
        if not value:
            raise NotInitialised("no recovery key is registered: run `vault server init`")
        return base64.b64decode(value)


def read_key(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotInitialised(f"{path} is missing: run `vault server init` for this data folder") from exc
    if len(data) != 32:
        raise NotInitialised(f"{path} is damaged (expected 32 bytes)")
    return data


def open_vault(config: Config) -> Vault:
    if not (config.data_dir / "keys").is_dir():
        raise NotInitialised(
            f"{config.data_dir} is not an initialised vault data folder: run `vault server init --data {config.data_dir}`"
        )
    return Vault(
        config=config,
        db=Database(config.db_url),
        blobs=open_blob_store(config),
        uploads=UploadArea(config.upload_dir),
        sign_seed=read_key(config.keys_dir / "server_sign.key"),
        server_secret=read_key(config.keys_dir / "server_secret.key"),
    )


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
        from vault import indexing

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
