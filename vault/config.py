"""The server's settings: one frozen dataclass, read once at start.

Settings come from environment variables (``VAULT_*``), optionally from a
TOML file named by ``VAULT_CONFIG``; see config/vault.example.toml. Secrets
never live in the settings file: the server's own keys are files in the
data folder, created by ``vault server init``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str = ""
    # Tokens: a day of work, then log in again; idle tokens die sooner.
    token_lifetime_s: int = 12 * 3600
    token_idle_s: int = 2 * 3600
    # Web (cookie) sessions end after this much inactivity, and the page locks
    # itself after the same time: one setting, so a laptop left asleep holds
    # no session longer than its locked page would (docs/web.md).
    web_idle_s: int = 10 * 60
    invite_lifetime_s: int = 7 * 24 * 3600
    # Server-side Argon2id over the auth key (defence in depth; see crypto.py).
    auth_hash_ops: int = 2
    auth_hash_mem: int = 64 * 1024 * 1024
    # Argon2id parameters handed to clients for new accounts.
    client_kdf_ops: int = 3
    client_kdf_mem: int = 64 * 1024 * 1024
    # Failed sign-ins, counted per window (vault/services/throttle.py): a name
    # tried from one address is locked after login_max_failures (30 s, doubling
    # to an hour), an address after login_address_max_failures whatever names
    # it tries. Past login_account_max_failures for one account (from
    # anywhere), or login_global_max_failures in the whole vault, each further
    # failure holds its name-and-address (or its address) for login_slow_s: a
    # delay for everyone, a lockout for no one.
    login_max_failures: int = 5
    login_window_s: int = 900
    login_address_max_failures: int = 20
    login_account_max_failures: int = 20
    login_global_max_failures: int = 200
    login_slow_s: int = 60
    # The server's slow hashes (Argon2id of auth_hash_mem each) run at most
    # this many at once per worker process; a sign-in that finds no free slot
    # within login_hash_wait_s is answered 503 with Retry-After.
    login_hash_slots: int = 2
    login_hash_wait_s: int = 5
    # Peers whose X-Forwarded-For names the client (comma-separated addresses
    # or networks, "*" for any): the reverse proxy. The same
    # VAULT_FORWARDED_ALLOW_IPS gunicorn reads for X-Forwarded-Proto.
    forwarded_allow_ips: str = "127.0.0.1"
    max_upload_bytes: int = 64 * 1024**3
    max_chunk_bytes: int = 32 * 1024 * 1024
    upload_expiry_s: int = 7 * 24 * 3600
    # Keep this much disk free; an upload that would eat into it gets 507.
    min_free_bytes: int = 512 * 1024 * 1024
    max_json_bytes: int = 1024 * 1024
    audit_checkpoint_every: int = 100
    # Where blobs live: "" is the data folder's `blobs`; "s3://bucket/prefix"
    # an S3-compatible object store (docs/storage.md). Staging stays local.
    blob_url: str = ""
    s3_endpoint_url: str = ""  # "" is AWS; e.g. https://minio.example.org:9000
    s3_region: str = ""
    s3_addressing_style: str = "auto"  # "path" for most self-hosted stores
    # "" uses the standard AWS chain (AWS_ACCESS_KEY_ID..., ~/.aws, an instance role).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = field(default="", repr=False)
    # Multipart pieces; memory per upload stays below part size x concurrency.
    s3_part_size: int = 16 * 1024 * 1024
    s3_max_concurrency: int = 4
    search_enabled: bool = True
    indexer_thread: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'vault.sqlite3'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def with_overrides(self, **kw) -> Config:
        return replace(self, **kw)


_INT_FIELDS = {f.name for f in fields(Config) if f.type in ("int", int)}
_BOOL_FIELDS = {f.name for f in fields(Config) if f.type in ("bool", bool)}


def _coerce(name: str, value: object) -> object:
    if name in _INT_FIELDS:
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"setting {name} must be a whole number, got {value!r}") from exc
    if name in _BOOL_FIELDS:
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("1", "true", "yes", "on")
    return value


def load_config(data_dir: str | Path | None = None, **overrides) -> Config:
    """Build the Config from VAULT_CONFIG (TOML), VAULT_* variables and overrides."""
    values: dict[str, object] = {}
    path = os.environ.get("VAULT_CONFIG")
    if path:
        try:
            with open(path, "rb") as f:
                values.update(tomllib.load(f).get("vault", {}))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    known = {f.name for f in fields(Config)}
    for f in known:
        env = os.environ.get("VAULT_" + f.upper())
        if env is not None:
            values[f] = env
    values.update(overrides)
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    data = data_dir or values.pop("data_dir", None) or os.environ.get("VAULT_DATA")
    values.pop("data_dir", None)
    if not data:
        raise ConfigError("no data folder: set VAULT_DATA or pass --data")
    # The data folder remembers the database it was initialised with, so every
    # `vault server` command finds it without repeating the URL.
    local = Path(data) / "settings.toml"
    if local.is_file():
        try:
            with open(local, "rb") as f:
                for k, v in tomllib.load(f).get("vault", {}).items():
                    values.setdefault(k, v)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {local}: {exc}") from exc
    return Config(data_dir=Path(data).resolve(), **{k: _coerce(k, v) for k, v in values.items()})
