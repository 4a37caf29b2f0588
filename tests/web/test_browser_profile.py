"""A seized laptop: the browser profile on disk gives up no private key (docs/web.md, "Keys and sessions").

Chromium runs with a persistent user-data directory, as a lawyer's browser
does. A lawyer signs in and opens a case (the page unwraps her keys and keeps
them wrapped in sessionStorage); then the profile is taken, and only its
files are read, as whoever took the laptop would read them: every
token-shaped string in them (cookie values decrypted the way Chromium's
"basic" password store encrypts them on Linux) is tried against the server,
and the files are searched for the private keys in every usual encoding.

- After the browser is closed: the session cookie is a session cookie, but
  Chromium writes even those to disk (it drops them at its next start), so
  what kills it is the server's idle timeout for web sessions (web_idle_s,
  the page's lock time): the profile is read once that time has passed.
- While the browser is still running, past the lock time: the page's idle
  lock and the server's idle timeout have both ended the session.

What remains (docs/web.md): a profile copied within the lock time of the
last use holds a live session.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.conftest import Gunicorn, make_env
from tests.web.conftest import ARGS, CHROMIUM, Web
from vault.db.engine import Database
from vault.db.models import ApiToken
from vault.services.tokens import token_hash

IDLE_S = 20  # the idle server's lock time: long enough to sign in and open a case on a slow machine
TOKEN_RUN = re.compile(rb"[A-Za-z0-9_-]{20,}")
TOKEN_LENGTHS = range(43, 48)  # token_urlsafe(32), and the same with a short prefix


@pytest.fixture(scope="module")
def web(tmp_path_factory, chromium) -> Iterator[Web]:
    """A vault whose web sessions (and pages) lock after IDLE_S seconds."""
    tmp = tmp_path_factory.mktemp("idle-web")
    env = make_env(tmp, web_idle_s=IDLE_S)
    srv = Gunicorn(env, workers=2, extra_env={"VAULT_WEB_IDLE_S": str(IDLE_S)})
    w = Web(env, srv, chromium, tmp)
    try:
        yield w
    finally:
        w.stop()


def _lawyer_with_case(web: Web, n: int):
    from tests.conftest import certified_admin
    from tests.web.conftest import ADMIN_PASSWORD, User

    if not hasattr(web, "admin"):
        home = web.tmp / "clients" / "admin"
        home.mkdir(parents=True, exist_ok=True)
        web.admin = User("admin", ADMIN_PASSWORD, certified_admin(web.url, web.env, home, "admin", ADMIN_PASSWORD), home)
    code = web.admin.session.invite("lawyer")["code"]
    lawyer = web.person(f"nurzhan-{n}", f"nurzhan-Pässwörd-idle-{n}", code)
    web.admin.session.certify_pending(only=lawyer.username)
    case_id = lawyer.session.create_case(f"KG-2026-90{n}", "Beating in temporary detention, Osh", "osh")["id"]
    return lawyer, case_id


def _persistent(web: Web, profile: Path):
    """A second Chromium (the session's Playwright) with a user-data directory on disk;
    cookies encrypted by the "basic" store (no keyring), as on a laptop without one."""
    ctx = web.browser.browser_type.launch_persistent_context(str(profile), executable_path=CHROMIUM,
                                                             args=[*ARGS, "--password-store=basic"])
    ctx.set_default_timeout(60_000)
    return ctx


def _sign_in_and_open_case(web: Web, ctx, user, case_id: str):
    page = ctx.new_page()
    web.login(page, user.username, user.password)
    page.goto(f"{web.url}/cases/{case_id}")
    page.wait_for_selector("#item-list[aria-busy=false]")
    # The keys are unwrapped into the page, and kept wrapped in sessionStorage.
    assert page.evaluate("sessionStorage.getItem('vault.wrapped-keys')")
    return page


def _cookie_values(profile: Path) -> list[bytes]:
    """Every cookie value in the profile's cookie databases, decrypted as Chromium's "basic" (v10) store has it."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = hashlib.pbkdf2_hmac("sha1", b"peanuts", b"saltysalt", 1, 16)  # Chromium's Linux fallback key
    out: list[bytes] = []
    for db in profile.rglob("Cookies"):
        con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
        try:
            rows = con.execute("SELECT host_key, value, encrypted_value FROM cookies").fetchall()
        except sqlite3.DatabaseError:
            continue
        finally:
            con.close()
        for host, value, enc in rows:
            if value:
                out.append(value.encode() if isinstance(value, str) else value)
            if enc and enc[:3] in (b"v10", b"v11"):
                dec = Cipher(algorithms.AES(key), modes.CBC(b" " * 16)).decryptor()
                raw = dec.update(enc[3:]) + dec.finalize()
                unpad = padding.PKCS7(128).unpadder()
                try:
                    raw = unpad.update(raw) + unpad.finalize()
                except ValueError:
                    continue  # v11 under a keyring we do not have
                # Newer Chromium puts the SHA-256 of the host before the value.
                if raw[:32] == hashlib.sha256(host.encode()).digest():
                    raw = raw[32:]
                out.append(raw)
    return out


def _profile_bytes(profile: Path) -> list[bytes]:
    blobs = []
    for f in profile.rglob("*"):
        if f.is_file() and not f.is_symlink():
            try:
                blobs.append(f.read_bytes())
            except OSError:
                continue  # a socket or lock file of the running browser
    return blobs + _cookie_values(profile)


def _candidates(blobs: list[bytes]) -> set[str]:
    """Token-shaped strings: whole runs, and token-long pieces at either end of a longer run
    (a cookie's name and value may sit side by side in a file)."""
    found: set[str] = set()
    for blob in blobs:
        for m in TOKEN_RUN.finditer(blob):
            run = m.group().decode()
            if len(run) <= 100:
                found.add(run)
            for n in TOKEN_LENGTHS:
                if len(run) > n:
                    found.update((run[:n], run[-n:]))
    return found


def _encodings(secret: bytes) -> list[bytes]:
    """The secret raw, in hex and in base64 (standard and URL-safe, at every alignment, padding left off)."""
    out = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            text = enc(bytes(pad) + secret)
            # Only the characters that depend on the secret's bytes alone.
            out.append(text[4 if pad else 0:(len(text) // 4 - 1) * 4])
    return out


def _assert_profile_yields_nothing(web: Web, profile: Path, user, expect_cookie: bool = False) -> None:
    blobs = _profile_bytes(profile)
    assert sum(map(len, blobs)) > 10_000  # the profile was really written
    # (a) No token in the files opens a session, as a bearer token or as the cookie.
    # The server knows a token only by its hash (services/tokens.py), so a string
    # whose hash it has never stored opens nothing: only the strings it has
    # stored are worth asking it about. The newest web session's token must be
    # among them, or this filter would prove nothing.
    db = Database(web.env.config.db_url)
    try:
        with db.session() as s:
            stored = set(s.execute(select(ApiToken.token_hash)).scalars())
            hers = set(s.execute(select(ApiToken.token_hash)
                                 .where(ApiToken.user_id == user.session.me["id"])).scalars())
    finally:
        db.dispose()
    known = {tok for tok in _candidates(blobs) if token_hash(tok) in stored}
    if expect_cookie:
        assert {token_hash(tok) for tok in known} & hers, "her session cookie was not found in the profile"
    live = []
    with requests.Session() as http:
        for tok in sorted(known):
            r = http.get(f"{web.url}/api/v1/me", headers={"Authorization": f"Bearer {tok}"}, timeout=30)
            if r.status_code != 401:
                live.append((tok[:6], "bearer", r.status_code))
            if len(tok) in TOKEN_LENGTHS:  # the cookie path checks the same session: only token-long strings
                r = http.get(f"{web.url}/web/session/key", cookies={"vault_session": tok}, timeout=30)
                if r.status_code != 401:
                    live.append((tok[:6], "cookie", r.status_code))
    assert not live, f"the profile holds a session the server still accepts: {live}"
    # (b) The private keys are in none of the files, in no encoding.
    keys = user.session.keys
    for name, secret in (("box_secret", keys.box_secret), ("sign_seed", keys.sign_seed)):
        for needle in _encodings(secret):
            assert not any(needle in b for b in blobs), f"the profile holds {name}"
    # (c) The wrapped-keys blob may be there; with no live session its wrapping key is not obtainable.


def test_a_closed_browser_leaves_no_session_and_no_key(web, tmp_path):
    lawyer, case_id = _lawyer_with_case(web, 1)
    profile = tmp_path / "profile"
    ctx = _persistent(web, profile)
    try:
        page = _sign_in_and_open_case(web, ctx, lawyer, case_id)
        # The session works while the browser runs (so the copy below is a fair test).
        assert page.evaluate("fetch('/api/v1/me').then(r => r.status)") == 200
        cookie = next(c for c in ctx.cookies() if c["name"] == "vault_session")
        # The laptop lid shuts without signing out.
    finally:
        ctx.close()
    time.sleep(IDLE_S + 2)  # functional: the laptop is taken later than the configured lock time
    _assert_profile_yields_nothing(web, profile, lawyer, expect_cookie=True)
    assert cookie["expires"] == -1  # why: a session cookie (no Expires, no Max-Age) dies with the browser


def test_a_page_idle_past_its_lock_time_leaves_no_session_and_no_key(web, tmp_path):
    lawyer, case_id = _lawyer_with_case(web, 2)
    profile = tmp_path / "profile"
    ctx = _persistent(web, profile)
    try:
        page = _sign_in_and_open_case(web, ctx, lawyer, case_id)
        token = next(c["value"] for c in ctx.cookies() if c["name"] == "vault_session")
        # Nobody touches the laptop. The page locks itself past its lock time (it signs out)...
        page.wait_for_url("**/login?ended=locked", timeout=(IDLE_S + 120) * 1000)
        # ...and the server has ended the session too: a copy of the token is refused.
        r = requests.get(f"{web.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 401
        # The profile is copied while the browser still runs.
        copy = tmp_path / "copy"
        shutil.copytree(profile, copy, symlinks=True, ignore_dangling_symlinks=True,
                        ignore=shutil.ignore_patterns("Singleton*"))
    finally:
        ctx.close()
    _assert_profile_yields_nothing(web, copy, lawyer)
