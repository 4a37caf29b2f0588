"""Bearer secrets: session tokens and invitation tokens, kept only as hashes.

A token is shown once (to the person signing in, or to the admin who
invites); the database holds its SHA-256, so a copy of the database opens
no session and redeems no invitation. Every place that stores or looks up a
token goes through `token_hash`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from vault import crypto
from vault.config import Config
from vault.db.models import ApiToken, User, utcnow
from vault.services.errors import Refused

SESSION_TOKEN_BYTES = 32
INVITATION_TOKEN_BYTES = 24
# A web page's session token starts with this. The mark is part of the token
# (and so of its hash): whoever copies the cookie cannot turn it into a CLI
# session with the longer idle timeout. A CLI token that happens to start so
# only gets the shorter one.
WEB_PREFIX = "web_"


def token_hash(token: str) -> str:
    """The only form in which a session or invitation token is stored or looked up."""
    return crypto.sha256_hex(token.encode())


def new_token(nbytes: int) -> str:
    """A fresh URL-safe secret of `nbytes` random bytes."""
    return secrets.token_urlsafe(nbytes)


def idle_limit_s(config: Config, token: str) -> int:
    """How long a session may go unused: a web page's lock time (web_idle_s), or token_idle_s for the CLI."""
    return config.web_idle_s if token.startswith(WEB_PREFIX) else config.token_idle_s


def issue_session(s: Session, config: Config, user: User, web: bool = False) -> tuple[str, datetime]:
    """Start a session for `user` (at sign-in, or a web page's, `web`): the token, and when it expires at the latest."""
    token = (WEB_PREFIX if web else "") + new_token(SESSION_TOKEN_BYTES)
    now = utcnow()
    expires = now + timedelta(seconds=config.token_lifetime_s)
    s.add(ApiToken(token_hash=token_hash(token), user_id=user.id, created_at=now,
                   expires_at=expires, last_used_at=now))
    return token, expires


def check_session(s: Session, config: Config, token: str) -> tuple[User, str]:
    """The user a session token belongs to and the token's hash; 401 if it is over.

    On every authenticated request. Expired, idle and disabled sessions are
    refused here for the API and the web pages alike.
    """
    row = s.get(ApiToken, token_hash(token))
    now = utcnow()
    idle = idle_limit_s(config, token)
    if row is None or row.expires_at < now or row.last_used_at + timedelta(seconds=idle) < now:
        if row is not None:
            s.delete(row)
            s.commit()  # the refusal below rolls back; the dead token must go regardless
        raise Refused(401, "session_expired", "Your session has expired or was ended. Sign in again.")
    user = s.get(User, row.user_id)
    if user is None or user.disabled:
        raise Refused(401, "account_disabled", "This account is disabled. Ask your organisation's admin.")
    if (now - row.last_used_at).total_seconds() > min(60, idle / 10):
        row.last_used_at = now  # sliding idle timeout, written at most once a minute (a tenth of a short one)
    return user, row.token_hash


def end_session(s: Session, hashed: str) -> None:
    """End one session (sign-out), given its token's hash."""
    s.execute(delete(ApiToken).where(ApiToken.token_hash == hashed))


def end_sessions(s: Session, user_id: str, keep: str | None = None) -> int:
    """End every session of an account but the one whose hash is `keep`; how many ended.

    When the account's keys or password change or it is disabled: the change
    must take effect at once, not when old tokens time out.
    """
    query = delete(ApiToken).where(ApiToken.user_id == user_id)
    if keep is not None:
        query = query.where(ApiToken.token_hash != keep)
    return s.execute(query).rowcount
