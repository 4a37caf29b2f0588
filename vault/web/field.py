"""The field app (issue #15): an installable page that captures evidence with no connection.

- /field/<lang> is the app shell. The service worker keeps a copy of it for use
  offline (vault/static/js/sw.js), so it must be the same for every visitor. It is
  rendered with no user, no CSRF token and no cookie, and a test compares it
  byte for byte between a stranger and a signed-in lawyer.
- Whoever uses the shell proves themselves in the page. Offline, they unlock the
  device's own copy of their keys with their password. Online, they sign in with
  the same password. The page then asks /web/session/csrf for its token.
- /manifest.webmanifest makes the shell installable; it starts at /field.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, make_response, redirect, render_template, request

from vault.api.errors import ApiError
from vault.api.security import access
from vault.web import session as ws
from vault.web.i18n import LANGUAGES, select_locale

bp = Blueprint("field", __name__, template_folder="templates")

# What the service worker keeps for offline use besides the build's hashed assets (assets.py).
SHELL_URLS = (*(f"/field/{code}" for code in LANGUAGES), *(f"/i18n/{code}.json" for code in LANGUAGES),
              "/manifest.webmanifest", "/static/icons/icon-192.png", "/static/icons/icon-512.png",
              "/static/icons/maskable-512.png")


@bp.get("/field")
@access("public")
def field_home():
    """The installed app's start: the shell in the language of the account or of the language cookie."""
    return redirect(f"/field/{select_locale()}")


@bp.get("/field/<lang>")
@access("public")
def field(lang: str):
    if lang not in LANGUAGES:
        return redirect("/field")
    g.page_language = lang
    g.web_user = None
    # Explicit values win over the context processor's: no user and no token in a page kept offline.
    html = render_template("field.html", page="field", web_user=None, csrf_token="")
    g.pop("new_pre_token", None)  # no pre-session cookie either: the response is the same for everyone
    resp = make_response(html)
    resp.headers["Cache-Control"] = "no-store"  # the service worker keeps its own copy; no HTTP cache
    return resp


@bp.get("/manifest.webmanifest")
@access("public")
def manifest():
    from flask_babel import gettext as _

    body = {
        "name": _("Evidence vault: field capture"),
        "short_name": _("Evidence vault"),
        "start_url": "/field",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#10243e",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/static/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    resp = make_response(jsonify(body))
    resp.mimetype = "application/manifest+json"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/web/session/csrf")
@access("user")
def session_csrf():
    """The CSRF token of this cookie session, for a page rendered without one (the field app's shell).

    Only a same-origin script can read the answer: no CORS headers are sent, and the
    cookie is SameSite=Strict, so no other site's request carries the session.
    """
    token = request.environ.get("vault.session_token")
    if not token or request.headers.get("Authorization"):
        raise ApiError(400, "no_cookie_session", "Only a signed-in page can ask for its token.")
    user = g.user
    return jsonify({"csrf_token": ws.csrf_for(token), "username": user.username, "user_id": user.id,
                    "role": user.role, "language": user.language,
                    "lock_minutes": current_app.config["VAULT"].web_idle_s / 60})
