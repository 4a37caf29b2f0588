"""Changing a password: the keys stay, the old password stops working, other sessions end,
a stolen session cannot guess the password, and old accounts move to stronger Argon2id
parameters at sign-in."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from sqlalchemy import select

from tests.conftest import LiveServer
from tests.core.cli_helpers import Cli
from vault import crypto
from vault.app import create_app
from vault.client.http import ApiFailure
from vault.client.session import ClientSession
from vault.db.models import AuditEntry

OLD, NEW = "lawyer-password-1", "a new passphrase, quite long"


def _login(live, home, password=OLD) -> ClientSession:
    return ClientSession.login(live.url, "aigul", password, home=home)


def _audit_actions(app) -> list[str]:
    with app.extensions["vault"].db.session() as s:
        return list(s.execute(select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def test_a_new_password_keeps_the_keys_and_ends_the_other_sessions(people, live, app, tmp_path):
    other = people.lawyer  # signed in elsewhere, e.g. the office laptop
    here = _login(live, tmp_path / "phone")
    out = here.change_password(OLD, NEW)
    assert out["sessions_ended"] >= 1
    with pytest.raises(ApiFailure) as gone:
        other.http.get("/me")
    assert gone.value.status == 401
    assert here.http.get("/me")["username"] == "aigul"  # this session goes on
    with pytest.raises(ApiFailure) as refused:
        _login(live, tmp_path / "again", OLD)
    assert refused.value.code == "bad_credentials"
    fresh = _login(live, tmp_path / "again", NEW)
    assert fresh.keys.box_public == other.keys.box_public  # the same keys, opened by the new password
    case = fresh.case(people.case_id)
    assert fresh.case_keys(case)  # so every case still opens
    assert "password_changed" in _audit_actions(app)


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_sign_in(people, live, app, tmp_path):
    sess = _login(live, tmp_path / "x")
    cfg = app.config["VAULT"]
    for _ in range(cfg.login_max_failures):
        with pytest.raises(ApiFailure) as wrong:
            sess.change_password("not-my-password-at-all", NEW)
        assert (wrong.value.status, wrong.value.code) == (403, "wrong_password")
    with pytest.raises(ApiFailure) as held:
        sess.change_password(OLD, NEW)  # even the right one waits now: no guessing through a stolen session
    assert held.value.status == 429
    assert people.lawyer.http.get("/me")["username"] == "aigul"  # nothing ended
    assert "password_change_failed" in _audit_actions(app) and "password_changed" not in _audit_actions(app)


def _body(sess: ClientSession, **over) -> dict:
    pre = sess.http.post("/auth/prelogin", {"username": "aigul"})
    cur = crypto.auth_key(crypto.derive_master_key(OLD, base64.b64decode(pre["salt"]), pre["kdf"]))
    salt = crypto.random_bytes(crypto.SALT_BYTES)
    master = crypto.derive_master_key(NEW, salt, pre["kdf"])
    b = lambda x: base64.b64encode(x).decode()  # noqa: E731
    body = {"current_auth_key": b(cur), "kdf_salt": b(salt), "kdf_params": pre["kdf"],
            "auth_key": b(crypto.auth_key(master)),
            "enc_private_keys": b(crypto.encrypt_user_keys(crypto.key_encryption_key(master), "aigul", sess.keys))}
    return {**body, **over}


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"kdf_params": {"alg": "argon2id13", "ops": 1, "mem": 8192}}, 422, "weak_kdf"),  # a downgrade
    ({"kdf_params": {"alg": "scrypt", "ops": 1, "mem": 8 * 1024 * 1024}}, 422, "invalid_fields"),
    ({"kdf_salt": "c2hvcnQ="}, 422, "invalid_fields"),
    ({"auth_key": "!!not base64!!"}, 422, "invalid_fields"),
    ({"enc_private_keys": base64.b64encode(b"x" * 400).decode()}, 413, "too_large"),
    ({"extra": 1}, 422, "invalid_fields"),
    ({"current_auth_key": None}, 422, "invalid_fields"),
])
def test_malformed_changes_are_refused_and_the_password_stays(people, live, tmp_path, change, status, code):
    sess = _login(live, tmp_path / "x")
    body = _body(sess, **change)
    if body.get("current_auth_key") is None:
        del body["current_auth_key"]
    with pytest.raises(ApiFailure) as err:
        sess.http.post("/me/password", body)
    assert (err.value.status, err.value.code) == (status, code)
    _login(live, tmp_path / "y", OLD)  # unchanged


def test_no_session_no_change(people, live, client):
    resp = client.post("/api/v1/me/password", json={"current_auth_key": "AAAA"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_vault_password_on_the_command_line(people, live, tmp_path):
    cli = Cli(live.url, people.lawyer.home, "aigul", OLD)
    cli.env["VAULT_NEW_PASSWORD"] = "short"
    short = cli.run("password", "--json", check=False)
    assert short.returncode != 0 and "at least 10 characters" in short.stdout + short.stderr
    cli.env["VAULT_NEW_PASSWORD"] = NEW
    assert cli.json("password") == {"changed": True, "sessions_ended": 0}
    _login(live, tmp_path / "z", NEW)


def test_an_account_moves_to_stronger_parameters_at_sign_in(people, env, tmp_path):
    """Raise the vault's Argon2id parameters: the next sign-in re-protects the same password with them."""
    stronger = dataclasses.replace(env.config, client_kdf_ops=env.config.client_kdf_ops + 1)
    app = create_app(stronger)
    srv = LiveServer(app)
    try:
        before = ClientSession.login(srv.url, "bakyt", "medic-password-1", home=tmp_path / "a")
        pre = before.http.post("/auth/prelogin", {"username": "bakyt"})
        assert pre["kdf"]["ops"] == stronger.client_kdf_ops  # moved at that sign-in
        unknown = before.http.post("/auth/prelogin", {"username": "nobody-here"})
        assert unknown["kdf"] == pre["kdf"]  # so an old account no longer stands out
        assert before.http.get("/me")["username"] == "bakyt"
        again = ClientSession.login(srv.url, "bakyt", "medic-password-1", home=tmp_path / "b")
        assert again.keys.sign_public == before.keys.sign_public
        assert people.medic.http.get("/me")["username"] == "bakyt"  # the other session was left alone
    finally:
        srv.stop()
        app.extensions["vault"].db.dispose()
