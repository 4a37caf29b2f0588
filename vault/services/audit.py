"""The append-only, hash-chained audit log with signed checkpoints.

Each entry's hash is BLAKE2b over the canonical JSON of
{seq, time, actor, action, object, details, prev_hash}; so editing, deleting
or reordering any row breaks every later link. Every N entries the server
signs (seq, hash) with its own Ed25519 key: a copy of a checkpoint kept
elsewhere (printed, e-mailed to a partner) also catches a rewrite of the
whole tail by someone who holds the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from vault import crypto
from vault.db.models import AuditCheckpoint, AuditEntry

GENESIS = "0" * 64
# Keys in `details` that must never be logged (sealed content, secrets).
_FORBIDDEN_DETAIL_KEYS = {"password", "auth_key", "token", "filename", "sealed", "manifest", "victim"}


def entry_hash(seq: int, time: str, actor: str, action: str, obj: str, details: str, prev: str) -> str:
    payload = {
        "seq": seq, "time": time, "actor": actor, "action": action,
        "object": obj, "details": details, "prev_hash": prev,
    }
    return crypto.blake2b_hex(crypto.canonical_json(payload))


def append(
    s: Session, actor: str, action: str, obj: str = "", details: dict | None = None,
    sign_seed: bytes | None = None, checkpoint_every: int = 100,
) -> AuditEntry:
    """Append one entry inside the caller's transaction.

    The caller's transaction holds the write lock (BEGIN IMMEDIATE on SQLite,
    an advisory lock on PostgreSQL), so seq and prev_hash are
    taken from the true last entry even with several workers writing.
    """
    details = details or {}
    bad = _forbidden_keys(details)
    if bad:
        raise ValueError(f"audit details must not carry {sorted(bad)}")
    if s.get_bind().dialect.name == "postgresql":
        # Row locks cannot serialise "append after the last row" (the waiter
        # would re-read the same last row); a transaction-scoped advisory
        # lock can, and READ COMMITTED then shows it the new last row.
        s.execute(text("SELECT pg_advisory_xact_lock(7311)"))
    last = s.execute(
        select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one_or_none()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    time = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    det = crypto.canonical_json(details).decode()
    h = entry_hash(seq, time, actor, action, obj, det, prev)
    entry = AuditEntry(seq=seq, time=time, actor=actor, action=action, object=obj,
                       details=det, prev_hash=prev, hash=h)
    s.add(entry)
    if sign_seed is not None and seq % checkpoint_every == 0:
        s.add(make_checkpoint(sign_seed, seq, h))
    s.flush()
    return entry


def _forbidden_keys(obj: object) -> set[str]:
    """Forbidden keys at any depth, in any letter case: the log is permanent."""
    found: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if str(k).lower() in _FORBIDDEN_DETAIL_KEYS:
                found.add(str(k))
            found |= _forbidden_keys(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            found |= _forbidden_keys(v)
    return found


def checkpoint_message(seq: int, h: str) -> bytes:
    return f"vault-audit-checkpoint-v1|{seq}|{h}".encode()


def make_checkpoint(sign_seed: bytes, seq: int, h: str) -> AuditCheckpoint:
    sig = crypto.sign_detached(sign_seed, checkpoint_message(seq, h))
    return AuditCheckpoint(seq=seq, hash=h, signature=sig,
                           time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


@dataclass
class VerifyResult:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def verify(s: Session, server_sign_public: bytes, progress=None, checkpoint_every: int | None = None) -> VerifyResult:
    """Walk the whole chain; report the first entry whose link or hash is wrong.

    With `checkpoint_every`, a checkpoint that should exist but does not is
    also an error: deleting checkpoints cannot hide a rewritten tail.
    """
    prev, expected_seq, n = GENESIS, 1, 0
    hashes: dict[int, str] = {}
    rows = s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()
    for e in rows:
        n += 1
        if progress:
            progress(1)
        if e.seq != expected_seq:
            return VerifyResult(False, n, 0, expected_seq, f"entry {expected_seq} is missing")
        if e.prev_hash != prev:
            return VerifyResult(False, n, 0, e.seq, "link to the previous entry is broken")
        try:
            json.loads(e.details)
        except ValueError:
            return VerifyResult(False, n, 0, e.seq, "details are not valid JSON")
        h = entry_hash(e.seq, e.time, e.actor, e.action, e.object, e.details, e.prev_hash)
        if h != e.hash:
            return VerifyResult(False, n, 0, e.seq, "entry content does not match its hash (edited)")
        hashes[e.seq] = h
        prev, expected_seq = h, expected_seq + 1
    cps = s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
    if checkpoint_every:
        have = {cp.seq for cp in cps}
        for due in range(checkpoint_every, n + 1, checkpoint_every):
            if due not in have:
                return VerifyResult(False, n, len(cps), due, "a signed checkpoint is missing (log may be rewritten)")
    for cp in cps:
        try:
            crypto.verify_detached(server_sign_public, checkpoint_message(cp.seq, cp.hash), cp.signature)
        except crypto.BadSignature:
            return VerifyResult(False, n, len(cps), cp.seq, "checkpoint signature is invalid")
        if hashes.get(cp.seq) != cp.hash:
            return VerifyResult(False, n, len(cps), cp.seq,
                                "entry differs from the signed checkpoint (log rewritten)")
    return VerifyResult(True, n, len(cps))


def entries(s: Session, after: int, limit: int) -> list[dict]:
    """The entries after `after`, oldest first, as the admin's audit page shows them."""
    rows = s.execute(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                     .limit(limit)).scalars().all()
    return [{"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "object": e.object,
             "details": e.details, "prev_hash": e.prev_hash, "hash": e.hash} for e in rows]
