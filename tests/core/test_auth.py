"""Sign-in: no account oracle, throttling, sessions that end when they should, TOTP,
and a password that never leaves the client."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pyotp
import pytest
import requests
from sqlalchemy import func, select, update

from tests.conftest import LiveServer, assert_nowhere, make_env, person
from vault import crypto
from vault.app import create_app
from vault.client.http import ApiFailure
from vault.client.session import ClientSession, register
from vault.db.models import ApiToken, Base, User, utcnow

PASSWORDS = {"aigul": "lawyer-password-1", "bakyt": "medic-password-1", "admin": "admin-password-1"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def auth_key_for(client, username: str, password: str) -> str:
    pre = client.post("/api/v1/auth/prelogin", json={"username": username}).get_json()
    master = crypto.derive_master_key(password, base64.b64decode(pre["salt"]), pre["kdf"])
    return b64(crypto.auth_key(master))


def raw_login(client, username: str, key: str, totp: str | None = None):
    body = {"username": username, "auth_key": key} | ({"totp": totp} if totp else {})
    return client.post("/api/v1/auth/login", json=body)


def audit_entries(people, action: str) -> list[dict]:
    entries = people.admin.http.get("/admin/audit", params={"limit": 1000})["entries"]
    return [e for e in entries if e["action"] == action]


# --------------------------------------------------------------------------- prelogin


def test_prelogin_does_not_reveal_accounts(people, env, client):
    def pre(name):
        resp = client.post("/api/v1/auth/prelogin", json={"username": name})
        assert resp.status_code == 200
        return resp.get_json()

    real = pre("aigul")
    fake = pre("nobody-here")
    assert set(fake) == set(real) == {"salt", "kdf"}
    assert fake["kdf"] == real["kdf"]
    assert len(base64.b64decode(fake["salt"])) == len(base64.b64decode(real["salt"])) == crypto.SALT_BYTES
    # Stable across calls, across a restart, and for the same name written differently.
    assert pre("nobody-here") == fake
    assert pre("  NoBody-Here ") == fake
    again = create_app(env.config)
    try:
        assert again.test_client().post("/api/v1/auth/prelogin", json={"username": "nobody-here"}).get_json() == fake
    finally:
        again.extensions["vault"].db.dispose()
    # Different per name.
    salts = {pre(n)["salt"] for n in ("nobody-here", "nobody-there", "aigul2", "x", "admin1")}
    assert len(salts) == 5
    # The real user's salt is the one registered, not a fake.
    assert real == pre("aigul") and real["salt"] != pre("aigul2")["salt"]


def test_wrong_password_and_unknown_user_answer_alike(people, live, client):
    answers = []
    for name, password in (("aigul", "not-the-password"), ("nobody-here", "whatever-1")):
        with pytest.raises(ApiFailure) as e:
            ClientSession.login(live.url, name, password)
        answers.append((e.value.status, e.value.code, e.value.message))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (401, "bad_credentials")
    assert ClientSession.login(live.url, "aigul", PASSWORDS["aigul"]).username == "aigul"


# --------------------------------------------------------------------------- throttling


def test_login_throttle(people, app, client):
    limit = app.config["VAULT"].login_max_failures
    failed_before = len(audit_entries(people, "login_failed"))
    wrong = auth_key_for(client, "aigul", "not-the-password")
    for _ in range(limit):
        resp = raw_login(client, "aigul", wrong)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    right = auth_key_for(client, "aigul", PASSWORDS["aigul"])
    resp = raw_login(client, "aigul", right)
    assert resp.status_code == 429, resp.get_json()
    assert resp.get_json()["error"]["code"] == "too_many_attempts"
    assert int(resp.headers["Retry-After"]) > 0
    # Every failure is in the audit log, against the right name.
    failed = audit_entries(people, "login_failed")[failed_before:]
    assert len(failed) == limit
    assert {e["actor"] for e in failed} == {"aigul"}
    assert {e["object"] for e in failed} == {"user:" + people.lawyer.me["id"]}
    # The lock is per name: a colleague still signs in, and the locked user's live session still works.
    resp = raw_login(client, "bakyt", auth_key_for(client, "bakyt", PASSWORDS["bakyt"]))
    assert resp.status_code == 200
    assert people.lawyer.http.get("/me")["username"] == "aigul"
    # Unknown names are throttled the same way (no oracle there either).
    for _ in range(limit):
        assert raw_login(client, "nobody-here", wrong).status_code == 401
    assert raw_login(client, "nobody-here", wrong).status_code == 429


# --------------------------------------------------------------------------- sessions


def test_logout_ends_the_token_at_once(people, live, client):
    second = ClientSession.login(live.url, "aigul", PASSWORDS["aigul"])
    token = people.lawyer.http.token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    people.lawyer.logout()
    resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "session_expired"
    with pytest.raises(ApiFailure) as e:
        people.lawyer.http.get(f"/cases/{people.case_id}")
    assert e.value.status == 401
    assert second.http.get("/me")["username"] == "aigul"  # only that session ended
    assert [e["actor"] for e in audit_entries(people, "logout")] == ["aigul"]


def test_disabling_a_user_ends_the_session_and_refuses_login(people, live):
    medic_id = people.medic.me["id"]
    assert people.medic.http.get("/me")["username"] == "bakyt"
    people.admin.http.post(f"/admin/users/{medic_id}/disable")
    with pytest.raises(ApiFailure) as e:
        people.medic.http.get("/me")
    assert e.value.status == 401
    with pytest.raises(ApiFailure) as e:
        people.medic.http.get(f"/cases/{people.case_id}")
    assert e.value.status == 401
    with pytest.raises(ApiFailure) as e:
        ClientSession.login(live.url, "bakyt", PASSWORDS["bakyt"])
    assert (e.value.status, e.value.code) == (403, "account_disabled")
    with pytest.raises(ApiFailure) as e:  # a wrong password says no more than for anyone else
        ClientSession.login(live.url, "bakyt", "not-the-password")
    assert (e.value.status, e.value.code) == (401, "bad_credentials")
    # An admin cannot lock themself out.
    with pytest.raises(ApiFailure) as e:
        people.admin.http.post(f"/admin/users/{people.admin.me['id']}/disable")
    assert e.value.status == 409
    # Re-enabling works; the old token stays dead.
    people.admin.http.post(f"/admin/users/{medic_id}/enable")
    with pytest.raises(ApiFailure) as e:
        people.medic.http.get("/me")
    assert e.value.status == 401
    again = ClientSession.login(live.url, "bakyt", PASSWORDS["bakyt"])
    assert again.http.get(f"/cases/{people.case_id}")["id"] == people.case_id
    actions = [e["action"] for e in people.admin.http.get("/admin/audit", params={"limit": 1000})["entries"]]
    assert "user_disabled" in actions and "user_enabled" in actions


def test_idle_token_expires(tmp_path, db_url, client_home):
    env = make_env(tmp_path, db_url, token_idle_s=1)
    app = create_app(env.config)
    srv = LiveServer(app)
    try:
        admin = person(srv.url, client_home("admin"), "admin", "admin-password-1", env.admin_invitation)
        assert admin.http.get("/me")["username"] == "admin"
        time.sleep(2.1)  # functional: the configured idle timeout is 1 s
        with pytest.raises(ApiFailure) as e:
            admin.http.get("/me")
        assert (e.value.status, e.value.code) == (401, "session_expired")
        # A fresh sign-in works.
        again = ClientSession.login(srv.url, "admin", "admin-password-1", home=client_home("admin"))
        assert again.http.get("/me")["username"] == "admin"
    finally:
        srv.stop()
        app.extensions["vault"].db.dispose()


def _expire_tokens_of(app, user_id: str) -> int:
    with app.extensions["vault"].db.session() as s:
        return s.execute(update(ApiToken).where(ApiToken.user_id == user_id)
                         .values(expires_at=utcnow() - timedelta(seconds=1))).rowcount


def _tokens_of(app, user_id: str) -> int:
    with app.extensions["vault"].db.session() as s:
        return s.execute(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)).scalar_one()


def test_expired_token_is_refused(people, app):
    assert _expire_tokens_of(app, people.medic.me["id"]) == 1
    with pytest.raises(ApiFailure) as e:
        people.medic.http.get("/me")
    assert (e.value.status, e.value.code) == (401, "session_expired")
    assert people.lawyer.http.get("/me")["username"] == "aigul"


def test_expired_token_row_is_removed(people, app):
    medic_id = people.medic.me["id"]
    _expire_tokens_of(app, medic_id)
    with pytest.raises(ApiFailure):
        people.medic.http.get("/me")
    assert _tokens_of(app, medic_id) == 0


# --------------------------------------------------------------------------- TOTP


def test_totp(people, app, live, client):
    lawyer, password = people.lawyer, PASSWORDS["aigul"]
    secret = lawyer.totp_begin(password)["secret"]
    totp = pyotp.TOTP(secret)
    with pytest.raises(ApiFailure) as e:
        lawyer.totp_confirm(password, "000000" if totp.now() != "000000" else "111111")
    assert e.value.status == 422
    confirm_code = totp.now()
    assert lawyer.totp_confirm(password, confirm_code) == {"totp_enabled": True}
    assert lawyer.http.get("/me")["totp_enabled"] is True
    with pytest.raises(ApiFailure) as e:
        lawyer.totp_begin(password)
    assert e.value.status == 409

    with pytest.raises(ApiFailure) as e:
        ClientSession.login(live.url, "aigul", PASSWORDS["aigul"])
    assert (e.value.status, e.value.code) == (401, "totp_required")
    with pytest.raises(ApiFailure) as e:  # the code used to confirm is spent
        ClientSession.login(live.url, "aigul", PASSWORDS["aigul"], totp=confirm_code)
    assert e.value.status == 401
    # The next step's code (the server accepts one step of clock drift) works once …
    code = totp.at(time.time() + 30)
    assert ClientSession.login(live.url, "aigul", PASSWORDS["aigul"], totp=code).username == "aigul"
    # … and only once.
    key = auth_key_for(client, "aigul", PASSWORDS["aigul"])
    resp = raw_login(client, "aigul", key, totp=code)
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "bad_credentials"
    # A wrong password with a good code is still refused.
    resp = raw_login(client, "aigul", auth_key_for(client, "aigul", "not-the-password"),
                     totp=totp.at(time.time() + 30))
    assert resp.status_code == 401
    # Turning it off takes the password and a code not used before.
    with app.extensions["vault"].db.session() as s:  # as if the clock had moved on past the codes used above
        s.execute(update(User).where(User.username == "aigul").values(totp_last_step=0))
    with pytest.raises(ApiFailure) as e:
        lawyer.totp_disable("not-the-password", totp.now())
    assert (e.value.status, e.value.code) == (403, "wrong_password")
    assert lawyer.totp_disable(password, totp.now()) == {"totp_enabled": False}
    assert ClientSession.login(live.url, "aigul", PASSWORDS["aigul"]).username == "aigul"


def test_a_stolen_session_cannot_turn_on_the_second_factor(people, app, live, client):
    """A thief with only the session token must not lock the owner out by enabling TOTP."""
    bearer = {"Authorization": f"Bearer {people.lawyer.http.token}"}
    thief = {"REMOTE_ADDR": "203.0.113.9"}
    begun = client.post("/api/v1/me/totp", headers=bearer, json={}, environ_base=thief)
    if begun.status_code == 200:  # today's server: the thief gets the secret and confirms it
        code = pyotp.TOTP(begun.get_json()["secret"]).now()
        client.post("/api/v1/me/totp/confirm", headers=bearer, json={"code": code}, environ_base=thief)
    assert begun.status_code == 422, begun.get_json()
    assert "secret" not in begun.get_data(as_text=True)
    guess = {"current_auth_key": b64(b"\x07" * 32)}
    for path, body in (("/me/totp", guess), ("/me/totp/confirm", {**guess, "code": "123456"}),
                       ("/me/totp/disable", {**guess, "code": "123456"})):
        resp = client.post("/api/v1" + path, headers=bearer, json=body, environ_base=thief)
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (403, "wrong_password"), path
    assert people.lawyer.http.get("/me")["totp_enabled"] is False
    assert ClientSession.login(live.url, "aigul", PASSWORDS["aigul"]).username == "aigul"  # no code asked
    # Guessing the password through the session counts like failed sign-ins.
    limit = app.config["VAULT"].login_max_failures
    for _ in range(limit - 3):
        assert client.post("/api/v1/me/totp", headers=bearer, json=guess, environ_base=thief).status_code == 403
    right = {"current_auth_key": auth_key_for(client, "aigul", PASSWORDS["aigul"])}
    held = client.post("/api/v1/me/totp", headers=bearer, json=right, environ_base=thief)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert len(audit_entries(people, "totp_change_failed")) == limit


def test_a_password_typed_as_the_name_is_kept_nowhere(people, env, app, client):
    """Failed sign-ins with a name that has no account keep a slow keyed tag of it, never the name."""
    typed = "Tash-Kumyr-Spring-2026"  # the password, typed into the name field
    assert client.post("/api/v1/auth/prelogin", json={"username": typed}).status_code == 200
    assert raw_login(client, typed, b64(b"\x01" * 32)).status_code == 401
    assert raw_login(client, "aigul", b64(b"\x01" * 32)).status_code == 401
    failed = audit_entries(people, "login_failed")[-2:]
    assert failed[0]["actor"].startswith("unknown:") and len(failed[0]["actor"]) == len("unknown:") + 16
    assert failed[1]["actor"] == "aigul"  # a real account is still named
    assert raw_login(client, typed.upper(), b64(b"\x02" * 32)).status_code == 401  # the same name, another way
    assert audit_entries(people, "login_failed")[-1]["actor"] == failed[0]["actor"]
    needles = [typed.encode(), typed.lower().encode(), typed.upper().encode()]
    v = app.extensions["vault"]
    with v.db.session() as s:  # every row of every table, on either database
        for table in Base.metadata.sorted_tables:
            rows = repr(s.execute(select(table)).all()).encode()
            assert not any(n in rows for n in needles), table.name
    assert assert_nowhere(env.data_dir, needles) >= 2  # keys, logs, index and (SQLite) the database and its WAL


# --------------------------------------------------------------------------- the password stays home


def test_password_never_reaches_the_server(env, live, client_home, monkeypatch):
    password = "Correct-Horse-Battery-Staple-ñ-ү"
    sent: list[dict] = []
    real_request = requests.Session.request

    def recording(self, method, url, *args, **kwargs):
        sent.append({"method": method, "url": url, "params": kwargs.get("params"),
                     "json": kwargs.get("json"), "data": kwargs.get("data"), "headers": kwargs.get("headers")})
        return real_request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", recording)
    out = register(live.url, env.admin_invitation, "admin", password, home=client_home("admin"))
    sess = ClientSession.login(live.url, "admin", password, home=client_home("admin"))
    sess.logout()
    monkeypatch.setattr(requests.Session, "request", real_request)

    assert out["user"]["username"] == "admin"
    assert {"/api/v1/auth/register", "/api/v1/auth/login"} <= {s["url"].split(live.url)[1] for s in sent}
    reg = next(s for s in sent if s["url"].endswith("/auth/register"))["json"]
    master = crypto.derive_master_key(password, base64.b64decode(reg["kdf_salt"]), reg["kdf_params"])
    forbidden = {
        "password": password, "password utf-8 b64": b64(password.encode()),
        "password hex": password.encode().hex(), "master key b64": b64(master), "master key hex": master.hex(),
        "kek b64": b64(crypto.key_encryption_key(master)),
    }
    wire = json.dumps(sent, default=lambda o: o.decode("latin-1") if isinstance(o, bytes) else str(o),
                      ensure_ascii=False)
    assert [name for name, value in forbidden.items() if value in wire] == []
    assert reg["auth_key"] == b64(crypto.auth_key(master))  # what is sent instead
    # And nothing stored on the server holds it either (SQLite file, WAL, keys, logs).
    if not env.config.database_url:
        for p in env.data_dir.rglob("*"):
            if p.is_file():
                raw = p.read_bytes()
                assert password.encode() not in raw, p
                assert master not in raw, p


def test_a_web_session_idles_out_after_the_lock_time_a_cli_one_does_not(people, app):
    from vault.services import tokens
    from vault.services.errors import Refused

    v = app.extensions["vault"]
    cfg = v.config
    assert cfg.web_idle_s < cfg.token_idle_s
    with v.db.session() as s:
        user = s.get(User, people.lawyer.me["id"])
        web_token, _ = tokens.issue_session(s, cfg, user, web=True)
        cli_token, _ = tokens.issue_session(s, cfg, user)
    # Both unused for longer than the page's lock time, less than the CLI's idle timeout.
    with v.db.session() as s:
        s.execute(update(ApiToken).where(ApiToken.token_hash.in_([tokens.token_hash(web_token),
                                                                   tokens.token_hash(cli_token)]))
                  .values(last_used_at=utcnow() - timedelta(seconds=cfg.web_idle_s + 5)))
    with v.db.session() as s:
        assert tokens.check_session(s, cfg, cli_token)[0].id == people.lawyer.me["id"]
        with pytest.raises(Refused):
            tokens.check_session(s, cfg, web_token)
    # The web token cannot be used as a bearer token to outlive the page either.
    r = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {web_token}"})
    assert r.status_code == 401


def test_the_cli_session_file_holds_only_the_token_and_its_expiry(people):
    lawyer = people.lawyer
    saved = json.loads((lawyer.home / "sessions.json").read_text())
    (entry,) = saved.values()
    assert set(entry) == {"username", "token", "expires_at"}
    text = (lawyer.home / "sessions.json").read_bytes()
    for secret in (lawyer.keys.box_secret, lawyer.keys.sign_seed):
        for enc in (secret, secret.hex().encode(), base64.b64encode(secret)[:40], base64.urlsafe_b64encode(secret)[:40]):
            assert enc not in text
    # Nothing else the client keeps on disk holds key material either.
    for f in lawyer.home.rglob("*"):
        if f.is_file():
            assert lawyer.keys.box_secret not in f.read_bytes() and lawyer.keys.sign_seed not in f.read_bytes()
