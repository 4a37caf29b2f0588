"""Who may call what. Deny by default.

Every view declares its audience with @access(...). create_app refuses to
start if any endpoint lacks a declaration, and the before_request hook
enforces it, so a new route can't be reachable by accident.

Audiences:
  "public"  - anyone (login pre-step, registration with an invitation, docs)
  "user"    - any signed-in, enabled account
  "admin"   - admins only (user management, plugins, audit) - grants NO case access
  "member"  - lawyers and medics; the view must also load the case through
              member_case(), which answers 404 to everyone else (admins too)
  "lawyer"  - lawyers only (creating cases)
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from vault.api.errors import ApiError, not_found
from vault.db.models import User
from vault.services import tokens
from vault.services.access import READER_ROLES

AUDIENCES = {"public", "user", "admin", "member", "lawyer"}


def access(audience: str):
    if audience not in AUDIENCES:
        raise ValueError(audience)

    def mark(view):
        view.vault_access = audience
        return view

    return mark


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and len(header) < 200:
        return header[7:].strip()
    return request.environ.get("vault.session_token")  # set by the web UI's session layer


def authenticate(s: Session) -> User:
    """The signed-in user of this request (bearer header or the web session cookie); 401 otherwise."""
    cfg = current_app.config["VAULT"]
    token = _bearer()
    if not token:
        raise ApiError(401, "unauthenticated", "Sign in first: send 'Authorization: Bearer <token>' from /api/v1/auth/login.")
    user, hashed = tokens.check_session(s, cfg, token)
    g.token_hash = hashed  # sign-out ends this session; a password change spares it
    return user


def enforce(app: Flask) -> None:
    missing = [
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and not hasattr(app.view_functions[rule.endpoint], "vault_access")
    ]
    if missing:
        raise RuntimeError(f"routes without an access declaration: {missing}")

    @app.before_request
    def _check():
        view = app.view_functions.get(request.endpoint or "")
        audience = getattr(view, "vault_access", None)
        if view is None:
            return None  # 404/405 handled by Flask
        if request.endpoint == "static":
            return None
        if audience is None:
            raise ApiError(403, "forbidden", "This route has no access rule.")
        g.user = None
        if audience == "public":
            return None
        db = app.extensions["vault"].db
        with db.session() as s:
            user = authenticate(s)
        if audience == "admin" and user.role != "admin":
            raise ApiError(403, "forbidden", "Only an admin can do this.")
        if audience == "member" and user.role not in READER_ROLES:
            # An admin is not a reader: case routes look empty to them.
            raise not_found("case")
        if audience == "lawyer" and user.role != "lawyer":
            raise ApiError(403, "forbidden", "Only a lawyer can do this.")
        g.user = user
        return None
