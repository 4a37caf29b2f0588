"""The pages. Each is a server-rendered shell; its script fetches data from /api/v1.

Every route declares its access like the API's (vault.api.security.access).
Pages that need a signed-in user are declared "public" to the API check and
do their own check (web_page below), so a signed-out visitor is sent to the
sign-in page instead of getting a JSON 401.
"""

from __future__ import annotations

import functools
import os
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from vault import crypto
from vault.api import errors as api_errors
from vault.api.errors import ApiError
from vault.api.security import access
from vault.db.models import User
from vault.domain import vocab
from vault.services import accounts, tokens
from vault.services.access import READER_ROLES, member_case, member_item
from vault.services.errors import Refused
from vault.web import session as ws
from vault.web.i18n import LANGUAGE_NAMES, LANGUAGES, js_catalog, locale_data

bp = Blueprint("web", __name__, template_folder="templates")


def lock_minutes() -> str:
    """The page's idle lock (body data-lock-minutes): the server's idle timeout of web sessions, web_idle_s."""
    return f"{current_app.config['VAULT'].web_idle_s / 60:g}"


def _vault():
    return current_app.extensions["vault"]


def test_kdf_allowed() -> bool:
    """TEST-ONLY: cheap Argon2 accepted by the browser only when the server runs with the test flag."""
    cfg = current_app.config["VAULT"]
    return os.environ.get("VAULT_INSECURE_TEST_KDF") == "1" or cfg.extra.get("insecure_test_kdf") is True


def _signed_in() -> User | None:
    """The user of the session cookie, if it is still a live session (checked exactly as the API checks it)."""
    token = request.environ.get("vault.session_token")
    if not token:
        return None
    v = _vault()
    try:
        with v.db.session() as s:
            user, _hashed = tokens.check_session(s, v.config, token)
            s.expunge(user)
            return user
    except Refused:
        return None


def web_page(audience: str):
    """A page for signed-in users: audience "user", "reader" (lawyer or medic) or "admin"."""

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            user = _signed_in()
            if user is None:
                return redirect(url_for("web.login", next=request.path))
            g.web_user = user
            if audience == "admin" and user.role != "admin":
                return _forbidden("admin")
            if audience == "reader" and user.role not in READER_ROLES:
                return _forbidden("reader")
            return view(*args, **kwargs)

        return access("public")(inner)

    return wrap


def member_page(kind: str):
    """A page about one case or item: the API's "member" audience, plus membership of that case.

    The API's access check runs first (signed in, lawyer or medic); its JSON
    errors become a redirect to sign-in or an HTML page (see _page_error).
    A case or item you are not a member of is the same 404 as one that does not exist.
    """

    def wrap(view):
        @functools.wraps(view)
        def inner(**kwargs):
            g.web_user = g.user
            with _vault().db.session() as s:
                if kind == "case":
                    member_case(s, kwargs["case_id"], g.user)
                else:
                    member_item(s, kwargs["item_id"], g.user)
            return view(**kwargs)

        return access("member")(inner)

    return wrap


@bp.errorhandler(Refused)
def _page_error(exc: Refused):
    """API access errors on a page: sign in again, or an HTML page that says what to do."""
    wants_html = any(mime in ("text/html", "application/xhtml+xml") for mime, _q in request.accept_mimetypes)
    if not wants_html or request.path.startswith(("/api/", "/web/", "/i18n/")):
        return api_errors.response(exc)  # scripts and API clients get the API's JSON answer (401/403/404)
    if exc.status == 401:
        return redirect(url_for("web.login", next=request.path))
    if g.get("web_user") is None:
        g.web_user = _signed_in()
    if g.web_user is not None and g.web_user.role == "admin":
        return _forbidden("reader")
    return render_template("notfound.html"), 404


def _forbidden(kind: str):
    return render_template("forbidden.html", kind=kind), 403


def _labels(name: str) -> list[tuple[str, str]]:
    from flask_babel import get_locale

    lang = str(get_locale() or "en")
    return [(code, vocab.label(name, code, lang)) for code in vocab.codes(name)]


@bp.app_context_processor
def _context():
    from flask_babel import get_locale

    lang = str(get_locale() or "en")
    return {
        "lang": lang, "languages": LANGUAGES, "language_names": LANGUAGE_NAMES, "locale_data": locale_data(lang),
        "csrf_token": ws.current_csrf(), "web_user": g.get("web_user"), "test_kdf": test_kdf_allowed(),
        "lock_minutes": lock_minutes(), "labels": _labels,
    }


# ---------------------------------------------------------------- signed out


@bp.get("/")
@access("public")
def home():
    user = _signed_in()
    if user is None:
        return redirect(url_for("web.login"))
    return redirect(url_for("web.admin" if user.role == "admin" else "web.cases"))


@bp.get("/login")
@access("public")
def login():
    # The language picked with the switcher before signing in (a choice, not the browser's default)
    # goes with the sign-in and becomes the account's; otherwise the account's own applies after it.
    chosen = request.cookies.get(ws.LANG_CHOSEN_COOKIE)
    return render_template("login.html", page="login", setup_open=not accounts.has_admin(_vault()),
                           chosen_language=chosen if chosen in LANGUAGES else "")


def _registration_page(setup: bool):
    """/setup and /register. `?lang=` switches the language with a plain navigation, so the invitation
    in the URL fragment (which browsers never send: it stays out of the server's logs) survives it;
    it is remembered as a choice, like the switcher's."""
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        g.page_language = lang
    resp = make_response(render_template("register.html", page="register", setup=setup,
                                         admin_exists=setup and accounts.has_admin(_vault())))
    if lang in LANGUAGES:
        ws.set_cookie(resp, ws.LANG_COOKIE, lang, max_age=365 * 24 * 3600)
        ws.set_cookie(resp, ws.LANG_CHOSEN_COOKIE, lang, max_age=None)
    return resp


@bp.get("/setup")
@access("public")
def setup():
    return _registration_page(setup=True)


@bp.get("/register")
@access("public")
def register():
    return _registration_page(setup=False)


@bp.post("/web/session")
@access("user")
def start_session():
    """Trade the bearer token the login page received for a web session in an HttpOnly session cookie.

    The web session idles out after the page's lock time (web_idle_s) and its
    cookie has no Max-Age, so it dies with the browser: a profile copied off a
    closed laptop holds no live session. The login token ends here.
    """
    v = _vault()
    with v.db.session() as s:
        token, _expires = tokens.issue_session(s, v.config, s.get(User, g.user.id), web=True)
        tokens.end_session(s, g.token_hash)
    resp = jsonify({"csrf_token": ws.csrf_for(token), "language": g.user.language})
    ws.set_cookie(resp, ws.SESSION_COOKIE, token, max_age=None)
    ws.set_cookie(resp, ws.LANG_COOKIE, g.user.language, max_age=365 * 24 * 3600)
    ws.forget_language_choice(resp)  # the sign-in took it (POST /auth/login's `language`), or the account's won
    return resp


@bp.get("/web/session/key")
@access("user")
def session_key():
    token = request.environ.get("vault.session_token")
    if not token or request.headers.get("Authorization"):
        raise ApiError(400, "no_cookie_session", "Only a signed-in page can ask for its session key.")
    if request.headers.get(ws.CSRF_HEADER) != ws.csrf_for(token):
        raise ApiError(403, "csrf_failed", "Reload the page and try again.")
    return jsonify({"key": crypto.b64e(ws.wrap_key_for(token))})


@bp.post("/web/logout")
@access("public")
def logout():
    token = request.environ.get("vault.session_token")
    if token:
        accounts.logout_token(_vault(), token)
    reason = request.form.get("reason")
    wipe = request.form.get("wipe") == "1"
    if wipe:
        resp = make_response(render_template("wiped.html"))  # no script: nothing registers or stores again
        resp.headers["Cache-Control"] = "no-store"
    else:
        resp = redirect(url_for("web.login", ended=reason if reason in ("locked", "expired") else None))
    resp.delete_cookie(ws.SESSION_COOKIE, path="/", samesite="Strict", secure=ws.secure_cookie(), httponly=True)
    # A plain sign-out keeps this browser's storage: the field app's outbox of unsent evidence, the
    # upload journal and the organisation's pinned keys (all sealed, or public). The quick wipe
    # (wipe.js, which has already deleted them itself) asks the browser to remove everything else.
    if wipe:
        resp.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    ws.forget_language_choice(resp)
    return resp


def _local(next_url: str | None) -> str:
    """A path on this vault to go back to, or "/": never another site.

    Browsers read a backslash as a slash and drop tabs and newlines, so
    "/\\evil.example" would leave the vault; such a `next` is refused whole.
    """
    url = next_url or "/"
    if "\\" in url or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return parts.path or "/"


@bp.post("/web/language")
@access("public")
def set_language():
    lang = request.form.get("language", "")
    if lang not in LANGUAGES:
        abort(400)
    user = _signed_in()
    resp = redirect(_local(request.form.get("next")))
    ws.set_cookie(resp, ws.LANG_COOKIE, lang, max_age=365 * 24 * 3600)
    if user is not None:
        accounts.set_language(_vault(), user.id, lang)  # as PATCH /api/v1/me does
    else:
        # Signed out: remembered as a choice until the next sign-in, which saves it to the account.
        ws.set_cookie(resp, ws.LANG_CHOSEN_COOKIE, lang, max_age=None)
    return resp


@bp.get("/favicon.ico")
@access("public")
def favicon():
    """What browsers ask for when a response names no icon (a JSON answer, a file opened directly)."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/i18n/<lang>.json")
@access("public")
def js_strings(lang: str):
    if lang not in LANGUAGES:
        abort(404)
    return jsonify(js_catalog(lang))


# ---------------------------------------------------------------- signed in


@bp.get("/cases")
@web_page("reader")
def cases():
    return render_template("cases.html", page="cases")


@bp.get("/cases/<case_id>")
@member_page("case")
def case(case_id: str):
    return render_template("case.html", page="case", case_id=_id(case_id))


@bp.get("/cases/<case_id>/upload")
@member_page("case")
def upload(case_id: str):
    return render_template("upload.html", page="upload", case_id=_id(case_id))


@bp.get("/cases/<case_id>/forensic")
@member_page("case")
def forensic(case_id: str):
    return render_template("forensic.html", page="forensic", case_id=_id(case_id))


@bp.get("/cases/<case_id>/record")
@member_page("case")
def record(case_id: str):
    return render_template("record.html", page="record", case_id=_id(case_id))


@bp.get("/cases/<case_id>/export")
@member_page("case")
def export(case_id: str):
    return render_template("export.html", page="export", case_id=_id(case_id))


@bp.get("/items/<item_id>")
@member_page("item")
def item(item_id: str):
    return render_template("item.html", page="item", item_id=_id(item_id))


@bp.get("/search")
@web_page("reader")
def search():
    return render_template("search.html", page="search")


@bp.get("/admin")
@web_page("admin")
def admin():
    return render_template("admin.html", page="admin")


@bp.get("/account")
@web_page("user")
def account():
    return render_template("account.html", page="account")


def _id(value: str) -> str:
    if len(value) != 32 or any(c not in "0123456789abcdef" for c in value):
        abort(404)
    return value
