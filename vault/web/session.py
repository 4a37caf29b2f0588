"""The web UI's session layer: a cookie that carries the API token, CSRF, the key-wrapping key.

Design (docs/web.md, "Keys and sessions"):

- The login page signs in through the JSON API and gets a bearer token. It
  hands the token to POST /web/session (with Authorization: Bearer), which
  puts it in an HttpOnly, SameSite=Strict cookie. From then on the pages'
  fetch() calls are authenticated by that cookie: a before_request hook puts
  the token into ``request.environ["vault.session_token"]``, which the API's
  own authentication (vault.api.security._bearer) reads. Expiry, idle timeout
  and disabled accounts are therefore exactly the API's.
- CSRF: every state-changing request authenticated by the cookie (API calls
  and web forms) must carry ``X-CSRF-Token`` (or a ``csrf_token`` form field)
  equal to a keyed hash of the session token. Requests that carry an
  Authorization header (the CLI) never use the cookie and need no CSRF token.
  Before sign-in, forms (the language switcher) use a keyed hash of a random
  pre-session cookie instead.
- Key wrapping: GET /web/session/key gives the page a 32-byte key derived
  from the server's secret and the session token. The page keeps only the
  user's private keys encrypted under it in sessionStorage; the key itself is
  never in HTML and never stored, and stops being obtainable the moment the
  token ends (logout, expiry, idle timeout, account disabled).
"""

from __future__ import annotations

import hmac
import re
import secrets

from flask import Flask, abort, current_app, g, request

from vault import crypto
from vault.api.errors import ApiError

SESSION_COOKIE = "vault_session"
PRE_COOKIE = "vault_pre"
LANG_COOKIE = "vault_lang"
# Set by the language switcher while signed out, until the next sign-in: the person chose this
# language on the page (LANG_COOKIE alone may be the last account's, or a year old).
LANG_CHOSEN_COOKIE = "vault_lang_chosen"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _keyed(person: bytes, data: str) -> bytes:
    secret = current_app.extensions["vault"].server_secret
    return crypto.blake2b_keyed(secret, person, data.encode(), 32)


def csrf_for(token: str, anonymous: bool = False) -> str:
    return _keyed(b"vault-web-csrf", ("anon|" if anonymous else "sess|") + token).hex()


def wrap_key_for(token: str) -> bytes:
    """The per-session key that wraps the private keys kept in sessionStorage."""
    return _keyed(b"vault-web-wrap", token)


def session_token() -> str | None:
    value = request.cookies.get(SESSION_COOKIE, "")
    return value if _TOKEN.match(value) else None


def pre_token() -> str | None:
    value = request.cookies.get(PRE_COOKIE, "")
    return value if _TOKEN.match(value) else None


def current_csrf() -> str:
    """The CSRF token the current page must send back (session or pre-session)."""
    tok = session_token()
    if tok:
        return csrf_for(tok)
    pre = pre_token() or g.setdefault("new_pre_token", secrets.token_urlsafe(32))
    return csrf_for(pre, anonymous=True)


def secure_cookie() -> bool:
    return request.is_secure


def set_cookie(resp, name: str, value: str, max_age: int | None, http_only: bool = True) -> None:
    resp.set_cookie(name, value, max_age=max_age, httponly=http_only, samesite="Strict",
                    secure=secure_cookie(), path="/")


def forget_language_choice(resp) -> None:
    if request.cookies.get(LANG_CHOSEN_COOKIE):
        resp.delete_cookie(LANG_CHOSEN_COOKIE, path="/", samesite="Strict", secure=secure_cookie(), httponly=True)


def _csrf_ok(expected: str) -> bool:
    # API calls carry the token in a header only: parsing an API body here
    # (e.g. a multipart export of decrypted evidence) would buffer it before
    # the request is refused. HTML forms are small url-encoded posts.
    sent = request.headers.get(CSRF_HEADER)
    if not sent and not request.path.startswith("/api/") and request.mimetype == "application/x-www-form-urlencoded":
        sent = request.form.get(CSRF_FIELD)
    return hmac.compare_digest((sent or "").encode(), expected.encode())


def _refuse():
    if request.path.startswith("/api/"):
        raise ApiError(403, "csrf_failed", "This request lacks its anti-forgery token. Reload the page and try again.")
    abort(403)


def install(app: Flask) -> None:
    """Register the cookie → token hook. Must run before the API's access check."""

    @app.before_request
    def _cookie_session():
        if request.headers.get("Authorization"):
            return None  # a bearer client (the CLI): the cookie is not used at all
        tok = session_token()
        if tok:
            request.environ["vault.session_token"] = tok
        if request.method in SAFE_METHODS:
            return None
        if tok:
            if not _csrf_ok(csrf_for(tok)):
                _refuse()
            return None
        if request.path.startswith("/api/"):
            return None  # no cookie: nothing ambient to forge (login/register are public JSON calls)
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "vault_access", None) != "public":
            return None  # not signed in: the access check answers 401
        pre = pre_token()
        if not pre or not _csrf_ok(csrf_for(pre, anonymous=True)):
            _refuse()
        return None

    @app.after_request
    def _pre_cookie(resp):
        new = g.get("new_pre_token")
        if new and not pre_token():
            set_cookie(resp, PRE_COOKIE, new, max_age=None)
        return resp
