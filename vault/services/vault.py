"""The server's shared state: settings, database, storage, server keys.

What the services, the API, the web pages and the server tasks are given;
built once per process from the data folder by `open_vault`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from vault import crypto
from vault.config import Config, ConfigError
from vault.db.engine import Database
from vault.db.models import Setting
from vault.services import audit
from vault.storage.blobs import BlobStore
from vault.storage.factory import open_blob_store
from vault.storage.uploads import UploadArea


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
