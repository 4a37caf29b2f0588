"""Accounts as other people see them: the public view, and looking one up.

The one module every other account, case and recovery service builds on, so
that the public view of a user (what a colleague pins and seals case keys
to) is written once and "no such user" reads the same everywhere.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import crypto
from vault.db.models import User
from vault.services.errors import Refused
from vault.storage.files import is_id


def user_public(u: User) -> dict:
    """What anyone signed in may know of an account: name, role, state, public keys."""
    return {
        "id": u.id, "username": u.username, "role": u.role,
        "box_public": crypto.b64e(u.box_public), "sign_public": crypto.b64e(u.sign_public),
        "fingerprint": crypto.fingerprint(u.box_public, u.sign_public),
        "key_epoch": u.key_epoch, "disabled": u.disabled,
    }


def no_such_user() -> Refused:
    return Refused(404, "not_found", "No such user.")


def find_user(s: Session, username: str) -> User | None:
    """The account with exactly this (already normalised) name, if any."""
    return s.execute(select(User).where(User.username == username)).scalar_one_or_none()


def get_user(s: Session, user_id: str) -> User:
    """The account with this id; 404 for anything else, malformed ids included."""
    u = s.get(User, user_id) if is_id(user_id) else None
    if u is None:
        raise no_such_user()
    return u
