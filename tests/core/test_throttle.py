"""Sign-in throttling that holds: a sprayer is slowed by address, a lockout cannot be aimed at a colleague,
the server's slow hashes run in a bounded pool, and no refusal tells a known name from an unknown one.

Addresses are set per request (REMOTE_ADDR), so one test client plays the attacker and the colleague;
time is moved by replacing the throttle's clock, never waited for.
"""

from __future__ import annotations

import base64
import os
import threading
from datetime import datetime, timedelta

import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.conftest import LiveServer, make_env, person, wait_until
from tests.core.test_auth import PASSWORDS, auth_key_for
from vault import crypto
from vault.app import create_app
from vault.db import migrate
from vault.db.engine import make_engine
from vault.db.models import Base

HER = "198.51.100.20"  # where the real user signs in from


def random_key() -> str:
    """A wrong auth key: a guess costs the guesser nothing to make up."""
    return base64.b64encode(os.urandom(32)).decode()


def attempt(client, username: str, key: str, address: str, **headers):
    return client.post("/api/v1/auth/login", json={"username": username, "auth_key": key},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_a_sprayer_is_slowed_by_address_whatever_names_it_tries(people, app, client):
    cfg = app.config["VAULT"]
    sprayer = "203.0.113.7"
    names = ["aigul", "bakyt", "admin", "outsider"] + [f"guess-{i}" for i in range(8)]
    statuses = []
    for rnd in range(cfg.login_max_failures - 1):  # under every name's limit
        for i, name in enumerate(names):
            # A forged X-Forwarded-For does not help: the sprayer is no trusted proxy.
            resp = attempt(client, name, random_key(), sprayer, **{"X-Forwarded-For": f"198.18.{rnd}.{i}"})
            statuses.append(resp.status_code)
    assert 429 in statuses, "spraying a few guesses per name was never slowed"
    first = statuses.index(429)
    assert first == cfg.login_address_max_failures and set(statuses[:first]) == {401}
    assert set(statuses[first:]) == {429}
    right = auth_key_for(client, "aigul", PASSWORDS["aigul"])
    held = attempt(client, "aigul", right, sprayer)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    # The people the sprayer tried sign in from where they are.
    assert attempt(client, "aigul", right, HER).status_code == 200


def test_a_targeted_lockout_is_only_a_delay_for_the_real_user(people, app, client, monkeypatch):
    from vault.services import throttle

    cfg = app.config["VAULT"]
    now = [datetime(2026, 11, 24, 9, 0, 0)]
    monkeypatch.setattr(throttle, "utcnow", lambda: now[0])
    right = auth_key_for(client, "aigul", PASSWORDS["aigul"])
    # The attacker guesses at aigul's account from many addresses, up to the account's own limit …
    places = [f"203.0.113.{i}" for i in range(1, cfg.login_account_max_failures // cfg.login_max_failures + 1)]
    for place in places:
        for _ in range(cfg.login_max_failures):
            assert attempt(client, "aigul", random_key(), place).status_code == 401
    # … so each of the attacker's addresses is shut out of the account, even with the right key,
    assert attempt(client, "aigul", right, places[0]).status_code == 429
    # and from now on a fresh one gets a single guess before it has to wait.
    fresh = "203.0.113.200"
    assert attempt(client, "aigul", random_key(), fresh).status_code == 401
    held = attempt(client, "aigul", random_key(), fresh)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) <= cfg.login_slow_s
    # The real user is not kept out: her first try from her own address goes straight in.
    assert attempt(client, "aigul", right, HER).status_code == 200
    # A typo meanwhile costs her a short delay, never a lockout.
    assert attempt(client, "aigul", random_key(), HER).status_code == 401
    wait = attempt(client, "aigul", right, HER)
    assert wait.status_code == 429 and 0 < int(wait.headers["Retry-After"]) <= cfg.login_slow_s
    now[0] += timedelta(seconds=int(wait.headers["Retry-After"]))
    assert attempt(client, "aigul", right, HER).status_code == 200


def test_concurrent_sign_ins_never_run_more_slow_hashes_than_the_pool_has(tmp_path, db_url, client_home,
                                                                          monkeypatch):
    env = make_env(tmp_path, db_url, login_hash_slots=2, login_hash_wait_s=0)
    app = create_app(env.config)
    srv = LiveServer(app)
    gate, lock = threading.Event(), threading.Lock()
    seen = {"active": 0, "peak": 0}
    answers: list[requests.Response] = []
    threads: list[threading.Thread] = []

    def counted(fn):
        def run(*args, **kwargs):
            with lock:
                seen["active"] += 1
                seen["peak"] = max(seen["peak"], seen["active"])
            try:
                gate.wait(60)  # hold the slot until every request has arrived
                return fn(*args, **kwargs)
            finally:
                with lock:
                    seen["active"] -= 1
        return run

    def sign_in(name: str) -> None:
        resp = requests.post(f"{srv.url}/api/v1/auth/login", json={"username": name, "auth_key": random_key()},
                             timeout=120)
        with lock:
            answers.append(resp)

    try:
        person(srv.url, client_home("admin"), "admin", "admin-password-1", env.admin_invitation)
        known = {"username": "admin", "auth_key": random_key()}
        for name in ("hash_auth_key", "verify_auth_key", "name_tag"):  # every slow hash the server runs
            if hasattr(crypto, name):
                monkeypatch.setattr(crypto, name, counted(getattr(crypto, name)))
        n = 8
        threads = [threading.Thread(target=sign_in, args=(f"nobody-{i}",)) for i in range(n)]
        for t in threads:
            t.start()
        wait_until(lambda: seen["active"] + len(answers) == n, "every sign-in hashing or answered")
        assert seen["peak"] <= 2, f"{seen['peak']} slow hashes ran at once"
        busy = list(answers)
        assert len(busy) == n - 2 and {r.status_code for r in busy} == {503}
        assert all(int(r.headers["Retry-After"]) > 0 for r in busy)
        assert len({r.content for r in busy}) == 1 and busy[0].json()["error"]["code"] == "busy"
        # While the pool is full, a known name is told exactly what an unknown one is.
        full = [requests.post(f"{srv.url}/api/v1/auth/login", json=body, timeout=30)
                for body in (known, {"username": "nobody-else", "auth_key": known["auth_key"]})]
        assert full[0].status_code == full[1].status_code == 503 and full[0].content == full[1].content
    finally:
        gate.set()
        for t in threads:
            t.join(120)
        srv.stop()
        app.extensions["vault"].db.dispose()
    assert seen["peak"] <= 2
    assert sorted(r.status_code for r in answers) == [401, 401] + [503] * (n - 2)


def test_known_and_unknown_names_get_byte_identical_refusals(people, app, client, monkeypatch):
    from vault.services import throttle

    limit = app.config["VAULT"].login_max_failures
    monkeypatch.setattr(throttle, "utcnow", lambda: datetime(2026, 11, 24, 9, 0, 0))
    wrong = random_key()
    for i in range(limit + 2):
        known = attempt(client, "aigul", wrong, "198.51.100.1")
        unknown = attempt(client, "nobody-here", wrong, "198.51.100.2")
        assert known.status_code == unknown.status_code == (401 if i < limit else 429)
        assert known.get_data() == unknown.get_data()
        assert known.headers.get("Retry-After") == unknown.headers.get("Retry-After")


def test_migration_0003_upgrades_a_vault_and_forgets_the_names_the_old_throttle_kept(tmp_path, db_url):
    url = db_url or f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrate.upgrade(url, "0002")
    engine = make_engine(url, "migrate")
    try:
        with engine.begin() as conn:  # a password typed as a name, as the old throttle kept it
            conn.execute(text("INSERT INTO login_throttle (username, failures, window_start) "
                              "VALUES ('tash-kumyr-spring-2026', 3, '2026-11-20 10:00:00')"))
        migrate.upgrade(url, "head")
        with engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
            assert conn.execute(text("SELECT COUNT(*) FROM login_throttle")).scalar_one() == 0
            assert "bucket" in {c["name"] for c in inspect(conn).get_columns("login_throttle")}
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_the_address_is_the_peer_unless_a_trusted_proxy_names_the_client():
    from vault.services.throttle import client_address

    proxy = "127.0.0.1,10.0.0.0/8"
    assert client_address("203.0.113.7", "198.18.0.1", proxy) == "203.0.113.7"  # a client's own header: ignored
    assert client_address("127.0.0.1", "198.18.0.1, 203.0.113.7", proxy) == "203.0.113.7"  # what the proxy saw
    assert client_address("127.0.0.1", "203.0.113.7, 10.1.2.3", proxy) == "203.0.113.7"  # through two proxies
    assert client_address("127.0.0.1", None, proxy) == "127.0.0.1"
    assert client_address("10.0.0.5", "203.0.113.7", "127.0.0.1") == "10.0.0.5"  # not this vault's proxy
    # One machine commonly holds a whole IPv6 /64: it counts as one address.
    assert client_address("2001:db8:1:2::a", None, "") == client_address("2001:db8:1:2:ffff::1", None, "")
    assert client_address("2001:db8:1:2::a", None, "") != client_address("2001:db8:1:3::a", None, "")
    assert client_address("::ffff:203.0.113.7", None, "") == "203.0.113.7"
