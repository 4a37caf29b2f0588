"""`vault server init` and the first admin's invitation: run on the server machine, never through the web."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from vault import crypto
from vault.config import Config
from vault.db.models import Setting
from vault.services.invitations import create_invitation
from vault.services.users import find_user
from vault.services.vault import Vault, open_vault
from vault.storage.blobs import BlobStore
from vault.storage.factory import open_blob_store
from vault.storage.files import StorageError, fsync_dir


class InitError(Exception):
    """The data folder cannot be initialised (e.g. it already holds a vault)."""


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def init(config: Config, recovery_public: bytes, root_sign_public: bytes | None = None) -> Vault:
    """Create the data folder, server keys and schema; register the recovery key and the root, if given.

    Both come from the paper kit (docs/trust.md); a vault made without the
    root gets it later with `vault org init-root`.
    """
    from vault.db import migrate

    if root_sign_public is not None and len(root_sign_public) != 32:
        raise InitError("the organisation root's public key must be 32 bytes")
    keys = config.keys_dir
    if keys.exists():
        raise InitError(f"{config.data_dir} already holds a vault; nothing was changed")
    if config.blob_url:
        check_new_store(open_blob_store(config))
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(config.data_dir, 0o700)
    keys.mkdir(mode=0o700)
    _write_secret(keys / "server_sign.key", crypto.generate_sign_seed())
    _write_secret(keys / "server_secret.key", crypto.random_key())
    fsync_dir(keys)
    folders = [config.upload_dir, config.log_dir] + ([] if config.blob_url else [config.blob_dir])
    for d in folders:
        d.mkdir(exist_ok=True, mode=0o700)
    remember_settings(config, config.data_dir)
    migrate.upgrade(config.db_url)
    v = open_vault(config)
    with v.db.session() as s:
        s.add(Setting(key="recovery_box_public", value=base64.b64encode(recovery_public).decode()))
        details = {"recovery_fingerprint": crypto.fingerprint(recovery_public, b""),
                   "server_sign_public": base64.b64encode(v.sign_public).decode()}
        if root_sign_public is not None:
            s.add(Setting(key="root_sign_public", value=base64.b64encode(root_sign_public).decode()))
            details["org_fingerprint"] = crypto.org_fingerprint(recovery_public, root_sign_public)
        v.audit(s, "server", "server_initialised", "", details)
    return v


# What the data folder remembers (settings.toml), so every `vault server`
# command finds the database and the blob store without repeating them.
# Credentials are never among them.
REMEMBERED = ("database_url", "blob_url", "s3_endpoint_url", "s3_region", "s3_addressing_style")


def remember_settings(config: Config, data_dir: Path) -> None:
    lines = []
    for name in REMEMBERED:
        value = getattr(config, name)
        if value and value != getattr(Config, name, None):
            if any(ord(c) < 0x20 or c == "\x7f" for c in value):
                raise InitError(f"setting {name} contains a control character")
            value = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{value}"\n')
    if lines:
        _write_secret(data_dir / "settings.toml", ("[vault]\n" + "".join(lines)).encode())


def check_new_store(store: BlobStore) -> None:
    # Two vaults sharing one bucket prefix would delete each other's blobs as orphans.
    try:
        empty = store.is_empty()
    except StorageError as exc:
        raise InitError(f"cannot use the blob store {store.describe()}: {exc}") from exc
    if not empty:
        raise InitError(f"the blob store {store.describe()} is not empty; give each vault its own bucket or prefix")


def invite(v: Vault, role: str, reset_username: str | None = None) -> dict:
    """An invitation made on the server machine (the first admin's, or a reset); the reset keeps the account's role."""
    with v.db.session() as s:
        reset = None
        if reset_username:
            reset = find_user(s, reset_username)
            if reset is None:
                raise InitError(f"no user named {reset_username}")
            role = reset.role
        return create_invitation(v, s, role, "server-cli", None, reset)
