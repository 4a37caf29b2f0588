"""Database tables. What is here is what a seized server reveals.

Columns hold either searchable metadata (in the clear on purpose, see the
upload form's warning), public keys, or ciphertext. Nothing here may hold a
password, a master key, a private key in the clear, or sealed content.
Schema changes go through alembic (vault/migrations).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Naive UTC: SQLite and PostgreSQL `timestamp` both store it unchanged."""
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | lawyer | medic
    kdf_salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    kdf_params: Mapped[dict] = mapped_column(JSON)
    auth_hash: Mapped[str] = mapped_column(String(256))
    box_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    sign_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    enc_private_keys: Mapped[bytes] = mapped_column(LargeBinary)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="en")
    key_epoch: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # JSON list [own certificate, issuer's, ...] up to the root, for the current keys;
    # NULL until an admin (or the root) certifies them, and again after a re-key.
    certificates: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The newcomer's proof that these keys came with the invitation's secret
    # (docs/trust.md), kept for the inviter's client to check; the server cannot.
    binding: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    invitation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Invitation(Base):
    __tablename__ = "invitations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Set for a password reset: registration re-keys this existing account.
    reset_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginThrottle(Base):
    """Failed sign-ins of one bucket in the current window (vault/services/throttle.py).

    `bucket` is "global" or a keyed hash of an address, an account or both,
    never a typed name or an address in the clear; rows go once their window
    is over.
    """

    __tablename__ = "login_throttle"
    bucket: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Setting(Base):
    """Small server-wide values, e.g. the organisation's recovery public key."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    key_version: Mapped[int] = mapped_column(Integer, default=1)


class CaseMember(Base):
    __tablename__ = "case_members"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CaseKeyVersion(Base):
    """A key version's commitment, signed by the member who made it: a client
    accepts an unsealed case key only if it matches a commitment signed by a
    key it has pinned, so the server cannot slip in a key it knows."""

    __tablename__ = "case_key_versions"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    check: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    signer_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CaseEntry(Base):
    """One signed entry of a case's membership chain, stored exactly as signed (docs/trust.md)."""

    __tablename__ = "case_entries"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)
    signer_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    hash: Mapped[str] = mapped_column(String(64))  # the entry's id, which the next one names as "prev"
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CaseKey(Base):
    """A case key version sealed to one member, or to the recovery key (user_id NULL)."""

    __tablename__ = "case_keys"
    __table_args__ = (UniqueConstraint("case_id", "version", "recipient"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(40))  # "user:<id>" | "recovery"
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Upload(Base):
    """An upload in progress. Its bytes are in uploads/<id>; `received` is the
    acknowledged length — anything past it in the file is an unacknowledged
    write from a killed request and is cut off before the next chunk."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    key_version: Mapped[int] = mapped_column(Integer)
    total_size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    # SHA-256 state after `received` bytes (vault/hashstate.py); None → finish re-hashes the file.
    hash_state: Mapped[bytes | None] = mapped_column(LargeBinary(256), nullable=True)
    meta: Mapped[dict] = mapped_column(JSON)
    attached_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Item(Base):
    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    uploader_role: Mapped[str] = mapped_column(String(16))
    key_version: Mapped[int] = mapped_column(Integer)
    evidence_type: Mapped[str] = mapped_column(String(32))
    attached_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    meta: Mapped[dict] = mapped_column(JSON)
    blob_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    blob_size: Mapped[int] = mapped_column(BigInteger)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_manifest: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_fields: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    receipt_signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    # The uploader's public key at upload time, so a later re-key of the
    # account does not orphan old receipts.
    uploader_sign_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str] = mapped_column(String(128))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    time: Mapped[str] = mapped_column(String(32))


class SearchOutbox(Base):
    """Pending index updates, written in the same transaction as the item."""

    __tablename__ = "search_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(32))
    op: Mapped[str] = mapped_column(String(8))  # upsert | delete
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PluginState(Base):
    __tablename__ = "plugin_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(64))


def new_id() -> str:
    import secrets

    return secrets.token_hex(16)
