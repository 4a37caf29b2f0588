"""The audit log: a hash chain with signed checkpoints that names the first broken entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, update

from tests.conftest import TEST_ENV, LiveServer, make_env, person
from vault import crypto, ops
from vault.app import create_app
from vault.client.transfer import upload_file
from vault.db.models import AuditCheckpoint, AuditEntry
from vault.services import audit

EVERY = 3


@dataclass
class Logged:
    env: object
    app: object
    vault: object
    admin: object
    lawyer: object
    secrets: tuple[str, ...]


@pytest.fixture
def logged(tmp_path, db_url, client_home):
    """A vault (checkpoint every 3 entries) with logins, a case and an upload in its log."""
    env = make_env(tmp_path, db_url, audit_checkpoint_every=EVERY)
    app = create_app(env.config)
    srv = LiveServer(app)
    try:
        admin = person(srv.url, client_home("admin"), "admin", "admin-password-1", env.admin_invitation)
        inv = admin.invite("lawyer")["code"]
        lawyer = person(srv.url, client_home("lawyer"), "aigul", "lawyer-password-1", inv)
        case = lawyer.create_case("KG-2026-009", "Detention in Naryn", "naryn")
        src = tmp_path / "Victim Full Name - injuries.jpg"
        src.write_bytes(os.urandom(4000))
        upload_file(lawyer, case["id"], src, {"title": "Injuries", "evidence_type": "photo"},
                    {"victim": "Victim Full Name", "statement": "sealed statement text"})
        yield Logged(env, app, app.extensions["vault"], admin, lawyer,
                     ("Victim Full Name", "sealed statement text", "lawyer-password-1"))
    finally:
        srv.stop()
        app.extensions["vault"].db.dispose()


def rows(v) -> list[AuditEntry]:
    with v.db.session() as s:
        return list(s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def verify(v) -> audit.VerifyResult:
    with v.db.session() as s:
        return audit.verify(s, v.sign_public)


def rewrite_from(v, seq: int, details: str) -> None:
    """What an attacker holding the database does: edit an entry and recompute every later hash."""
    with v.db.session() as s:
        entries = list(s.execute(select(AuditEntry).where(AuditEntry.seq >= seq - 1)
                                 .order_by(AuditEntry.seq)).scalars())
        prev = entries[0].hash
        for e in entries[1:]:
            if e.seq == seq:
                e.details = details
            e.prev_hash = prev
            e.hash = audit.entry_hash(e.seq, e.time, e.actor, e.action, e.object, e.details, prev)
            prev = e.hash


# --------------------------------------------------------------------------- the chain


def test_entries_form_a_verified_chain(logged):
    entries = rows(logged.vault)
    actions = [e.action for e in entries]
    for action in ("server_initialised", "account_registered", "login", "case_created", "evidence_uploaded"):
        assert action in actions
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == audit.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    for e in entries:
        assert e.hash == audit.entry_hash(e.seq, e.time, e.actor, e.action, e.object, e.details, e.prev_hash)
        json.loads(e.details)
    r = verify(logged.vault)
    assert r.ok and r.entries == len(entries) and r.first_bad_seq is None
    assert r.checkpoints == len(entries) // EVERY
    # The admin API says the same.
    assert logged.admin.http.get("/admin/audit/verify")["ok"] is True


def test_checkpoints_are_signed_every_n_entries(logged):
    v = logged.vault
    n = len(rows(v))
    with v.db.session() as s:
        cps = list(s.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars())
        hashes = dict(s.execute(select(AuditEntry.seq, AuditEntry.hash)).all())
    assert [c.seq for c in cps] == list(range(EVERY, n + 1, EVERY))
    for c in cps:
        assert c.hash == hashes[c.seq]
        crypto.verify_detached(v.sign_public, audit.checkpoint_message(c.seq, c.hash), c.signature)
        with pytest.raises(crypto.BadSignature):
            crypto.verify_detached(crypto.sign_public_from_seed(os.urandom(32)),
                                   audit.checkpoint_message(c.seq, c.hash), c.signature)


def test_edited_details_name_that_entry(logged):
    v = logged.vault
    target = next(e for e in rows(v) if e.action == "case_created")
    assert verify(v).ok
    with v.db.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == target.seq)
                  .values(details=json.dumps({"reference": "KG-2026-010"})))
    r = verify(v)
    assert (r.ok, r.first_bad_seq) == (False, target.seq)
    assert "edited" in r.reason


def test_any_edited_column_is_caught(logged):
    v = logged.vault
    seq = 4
    original = next(e for e in rows(v) if e.seq == seq)
    for column, value in (("actor", "someone-else"), ("time", "2020-01-01T00:00:00.000000Z"),
                          ("action", "login_failed"), ("object", "user:other"), ("details", "not json"),
                          ("prev_hash", "0" * 64), ("hash", "f" * 64)):
        with v.db.session() as s:
            s.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(**{column: value}))
        r = verify(v)
        assert (column, r.ok, r.first_bad_seq) == (column, False, seq)
        with v.db.session() as s:
            s.execute(update(AuditEntry).where(AuditEntry.seq == seq)
                      .values(**{column: getattr(original, column)}))
        assert verify(v).ok


def test_deleted_middle_entry_is_named(logged):
    v = logged.vault
    n = len(rows(v))
    middle = n // 2
    with v.db.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == middle))
    r = verify(v)
    assert (r.ok, r.first_bad_seq) == (False, middle)
    assert "missing" in r.reason


def test_rewritten_tail_is_caught_by_the_checkpoints(logged):
    v = logged.vault
    seq = 4
    rewrite_from(v, seq, json.dumps({"forged": True}))
    # The chain itself is consistent again …
    entries = rows(v)
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    # … but the first signed checkpoint at or after the edit no longer matches.
    r = verify(v)
    first_cp = -(-seq // EVERY) * EVERY
    assert (r.ok, r.first_bad_seq) == (False, first_cp)
    assert "checkpoint" in r.reason
    # Replacing the checkpoint's hash too breaks its signature.
    with v.db.session() as s:
        for e in entries:
            if e.seq % EVERY == 0:
                s.execute(update(AuditCheckpoint).where(AuditCheckpoint.seq == e.seq).values(hash=e.hash))
    r = verify(v)
    assert (r.ok, r.first_bad_seq) == (False, first_cp)
    assert "signature" in r.reason


def test_cut_tail_is_caught_by_a_later_checkpoint(logged):
    v = logged.vault
    n = len(rows(v))
    last_cp = n // EVERY * EVERY
    assert last_cp >= 2 * EVERY
    with v.db.session() as s:  # drop the entries from just after the previous checkpoint on
        s.execute(delete(AuditEntry).where(AuditEntry.seq > last_cp - EVERY))
    r = verify(v)
    assert (r.ok, r.first_bad_seq) == (False, last_cp)


def test_rewritten_tail_with_deleted_checkpoints_is_caught(logged):
    v = logged.vault
    seq = 4
    rewrite_from(v, seq, json.dumps({"forged": True}))
    with v.db.session() as s:
        s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq >= seq))
    r = ops.audit_verify(v)
    assert not r.ok
    assert r.first_bad_seq is not None and r.first_bad_seq >= seq


def test_cli_audit_verify(logged):
    v, env = logged.vault, logged.env
    cmd = [sys.executable, "-m", "vault.cli", "server", "audit-verify", "--data", str(env.data_dir), "--json"]
    run_env = {**os.environ, **TEST_ENV}
    if env.config.database_url:
        run_env["VAULT_DATABASE_URL"] = env.config.database_url
    ok = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    target = 5
    with v.db.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == target).values(details='{"x":1}'))
    bad = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1, (bad.stdout, bad.stderr)
    out = json.loads(bad.stdout)
    assert out["ok"] is False and out["first_bad_seq"] == target


# --------------------------------------------------------------------------- what is logged


def test_details_never_carry_sealed_things(logged):
    v = logged.vault
    with v.db.session() as s:
        n = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    for key in ("password", "auth_key", "token", "filename", "sealed", "manifest", "victim"):
        with pytest.raises(ValueError, match=key), v.db.session() as s:
            audit.append(s, "aigul", "evidence_uploaded", "item:x", {"size": 1, key: "Victim Full Name"},
                         sign_seed=v.sign_seed, checkpoint_every=EVERY)
    with v.db.session() as s:
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == n
    assert verify(v).ok
    # Nothing sealed, no file name, no password reached the log in the real flow either.
    text = json.dumps([(e.actor, e.action, e.object, e.details) for e in rows(v)], ensure_ascii=False)
    for secret in logged.secrets:
        assert secret not in text
    for e in rows(v):
        keys = set(json.loads(e.details))
        assert not keys & {"password", "auth_key", "token", "filename", "sealed", "manifest", "victim"}


def test_nested_forbidden_keys_are_refused(logged):
    v = logged.vault
    for details in ({"item": {"filename": "Victim Full Name.jpg"}}, {"Victim": "Victim Full Name"}):
        with pytest.raises(ValueError), v.db.session() as s:
            audit.append(s, "aigul", "evidence_uploaded", "item:x", details)
