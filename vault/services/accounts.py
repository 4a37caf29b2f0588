"""Accounts: registration with an invitation, sign-in and its throttle, password, TOTP, profile.

The server never sees a password: the client derives an auth key from it
(Argon2id then BLAKE2b) and the server keeps only a slow hash of that. The
admin's side of accounts (listing, disabling) is here too; an admin is not
a reader, and nothing here opens a case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vault import crypto
from vault.config import Config
from vault.db.models import ApiToken, LoginThrottle, User, new_id, utcnow
from vault.services import tokens
from vault.services.cases import drop_user_case_keys
from vault.services.errors import Refused
from vault.services.invitations import redeemable
from vault.services.users import find_user, get_user, no_such_user, user_public
from vault.services.vault import Vault

# The names a lookup is tried for at all: nothing a database could choke on reaches SQL.
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Credentials:
    """What a client derives from a new password: stored as given, except the auth key, which is hashed."""

    kdf_salt: bytes
    kdf_params: dict
    auth_key: bytes
    enc_private_keys: bytes


def client_kdf_params(config: Config) -> dict:
    """The Argon2id parameters new passwords must be derived with on this vault."""
    return {"alg": "argon2id13", "ops": config.client_kdf_ops, "mem": config.client_kdf_mem}


def user_self(u: User) -> dict:
    """The account as its owner sees it: the public view plus the sealed private keys and settings."""
    return {**user_public(u), "enc_private_keys": crypto.b64e(u.enc_private_keys), "language": u.language,
            "totp_enabled": u.totp_enabled}


def auth_params(v: Vault) -> dict:
    """What a client needs before creating an account: KDF parameters and the recovery public key."""
    with v.db.session() as s:
        rec = v.recovery_public(s)
    return {
        "kdf": client_kdf_params(v.config),
        "recovery_public": crypto.b64e(rec),
        "recovery_fingerprint": crypto.fingerprint(rec, b""),
    }


def prelogin(v: Vault, username: str) -> dict:
    """Salt and KDF parameters for a name; a stable fake salt if there is no such account."""
    name = username.strip().lower()
    with v.db.session() as s:
        u = find_user(s, name)
    if u is None:
        return {"salt": crypto.b64e(crypto.fake_salt(v.server_secret, name)), "kdf": client_kdf_params(v.config)}
    return {"salt": crypto.b64e(u.kdf_salt), "kdf": u.kdf_params}


# ---------------------------------------------------------------- sign-in


def _throttle_check(s: Session, name: str) -> None:
    row = s.get(LoginThrottle, name)
    now = utcnow()
    if row and row.locked_until and row.locked_until > now:
        wait = int((row.locked_until - now).total_seconds()) + 1
        raise Refused(429, "too_many_attempts",
                      f"Too many failed sign-ins for this name. Wait {wait} seconds and try again.",
                      retry_after=wait)


def _throttle_fail(s: Session, config: Config, name: str) -> None:
    now = utcnow()
    # Old rows go, so unknown names cannot grow the table without bound.
    s.execute(delete(LoginThrottle).where(
        LoginThrottle.window_start < now - timedelta(seconds=config.login_window_s + 3600),
        (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now)))
    row = s.get(LoginThrottle, name)
    if row is None or (now - row.window_start).total_seconds() > config.login_window_s:
        if row is None:
            row = LoginThrottle(username=name, failures=0, window_start=now)
            s.add(row)
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= config.login_max_failures:
        # 30 s, 60 s, 120 s … capped at an hour.
        extra = row.failures - config.login_max_failures
        row.locked_until = now + timedelta(seconds=min(3600, 30 * 2**extra))


def _totp_ok(u: User, code: str) -> bool:
    totp = pyotp.TOTP(u.totp_secret)
    now = int(utcnow().timestamp())
    for drift in (0, -30, 30):
        step = (now + drift) // 30
        if step > u.totp_last_step and totp.verify(code, for_time=now + drift, valid_window=0):
            u.totp_last_step = step  # a code works once
            return True
    return False


def login(v: Vault, username: str, auth: bytes, totp: str | None) -> dict:
    """Sign in with the auth key (and a TOTP code if enabled): a new session token and the account."""
    name = username.strip().lower()
    cfg = v.config
    with v.db.session() as s:
        _throttle_check(s, name)
        u = find_user(s, name)
        if u is None:
            # Spend the same effort as a real check, so timing tells nothing.
            crypto.hash_auth_key(auth, cfg.auth_hash_ops, cfg.auth_hash_mem)
            ok = False
        else:
            ok = crypto.verify_auth_key(u.auth_hash, auth)
        if ok and u.totp_enabled:
            if totp is None:
                raise Refused(401, "totp_required", "Enter the 6-digit code from your authenticator app.")
            ok = _totp_ok(u, totp)
        if not ok or u.disabled:
            _throttle_fail(s, cfg, name)
            v.audit(s, name, "login_failed", "user:" + (u.id if u else "unknown"))
            failure = True
        else:
            failure = False
            s.execute(delete(LoginThrottle).where(LoginThrottle.username == name))
            token, expires = tokens.issue_session(s, cfg, u)
            v.audit(s, u.username, "login", "user:" + u.id)
    # The failure is committed before answering, so throttling cannot be
    # bypassed by a client that drops the connection.
    if failure:
        if u is not None and u.disabled and ok:
            raise Refused(403, "account_disabled", "This account is disabled. Ask your organisation's admin.")
        raise Refused(401, "bad_credentials", "The name or password is wrong (or the code). Check them and try again.")
    return {"token": token, "expires_at": expires.isoformat() + "Z", "user": user_self(u)}


def logout(v: Vault, user: User, session_hash: str) -> None:
    """End the session whose token hash is `session_hash` (the API's sign-out)."""
    with v.db.session() as s:
        tokens.end_session(s, session_hash)
        v.audit(s, user.username, "logout", "user:" + user.id)


def logout_token(v: Vault, token: str) -> None:
    """End the session of a raw token, if it still exists (the web pages' sign-out, which always succeeds)."""
    with v.db.session() as s:
        row = s.get(ApiToken, tokens.token_hash(token))
        if row is not None:
            user = s.get(User, row.user_id)
            tokens.end_session(s, row.token_hash)
            if user is not None:
                v.audit(s, user.username, "logout", "user:" + user.id)


# ---------------------------------------------------------------- keys and password


def register(v: Vault, invitation: str, username: str, creds: Credentials,
             box_public: bytes, sign_public: bytes) -> dict:
    """Create an account with a one-time invitation, or re-key the account a reset invitation names."""
    cfg = v.config
    hashed = tokens.token_hash(invitation)
    with v.db.session() as s:
        redeemable(s, hashed)  # before the costly hash: no free CPU without an invitation
    auth_hash = crypto.hash_auth_key(creds.auth_key, cfg.auth_hash_ops, cfg.auth_hash_mem)
    with v.db.session() as s:
        inv = redeemable(s, hashed)
        if inv.reset_user_id:
            u = s.get(User, inv.reset_user_id)
            if u.username != username:
                raise Refused(422, "invalid_fields", f"This reset invitation is for the account '{u.username}'.")
            drop_user_case_keys(s, u.id)
            u.key_epoch += 1
            tokens.end_sessions(s, u.id)
            action = "account_rekeyed"
        else:
            if find_user(s, username):
                raise Refused(409, "username_taken", "This user name is taken. Choose another.")
            u = User(id=new_id(), username=username, role=inv.role, disabled=False,
                     totp_enabled=False, totp_last_step=0, language="en", key_epoch=1)
            s.add(u)
            action = "account_registered"
        u.kdf_salt, u.kdf_params, u.auth_hash = creds.kdf_salt, creds.kdf_params, auth_hash
        u.box_public, u.sign_public, u.enc_private_keys = box_public, sign_public, creds.enc_private_keys
        inv.used_at, inv.used_by = utcnow(), u.id
        s.flush()
        v.audit(s, u.username, action, "user:" + u.id, {"role": u.role, "invitation": inv.id})
        return user_public(u)


def change_password(v: Vault, user: User, session_hash: str, current_auth: bytes, new: Credentials,
                    end_other_sessions: bool) -> dict:
    """Replace the password's salt, parameters, auth hash and sealed private keys, proving the current one.

    A wrong current password counts like a failed sign-in, so a stolen session
    cannot become a way to guess the password.
    """
    cfg = v.config
    kdf = new.kdf_params
    if kdf["ops"] < cfg.client_kdf_ops or kdf["mem"] < cfg.client_kdf_mem:
        raise Refused(422, "weak_kdf", "The new password must be protected with at least this vault's Argon2id "
                      f"parameters (ops {cfg.client_kdf_ops}, mem {cfg.client_kdf_mem}); update the app.")
    name = user.username
    with v.db.session() as s:
        _throttle_check(s, name)
        u = s.get(User, user.id)
        before = u.auth_hash
        ok = crypto.verify_auth_key(before, current_auth)
        if not ok:
            _throttle_fail(s, cfg, name)
            v.audit(s, name, "password_change_failed", "user:" + u.id)
    if not ok:
        raise Refused(403, "wrong_password", "The current password is wrong. Type it again; after several "
                      "failures the account has to wait before the next try.")
    auth_hash = crypto.hash_auth_key(new.auth_key, cfg.auth_hash_ops, cfg.auth_hash_mem)
    with v.db.session() as s:
        u = s.get(User, user.id)
        if u.auth_hash != before:
            raise Refused(409, "password_changed_meanwhile", "The password was changed from another session "
                          "meanwhile. Sign in again with the new password.")
        u.kdf_salt, u.kdf_params, u.auth_hash, u.enc_private_keys = new.kdf_salt, kdf, auth_hash, new.enc_private_keys
        ended = 0
        if end_other_sessions:
            ended = tokens.end_sessions(s, u.id, keep=session_hash)
        v.audit(s, u.username, "password_changed", "user:" + u.id, {"kdf": kdf, "sessions_ended": ended})
    return {"status": "changed", "kdf_params": kdf, "sessions_ended": ended}


# ---------------------------------------------------------------- profile and second factor


def set_language(v: Vault, user_id: str, language: str) -> None:
    """The interface language, for the API's PATCH /me and the pages' language switcher alike."""
    with v.db.session() as s:
        s.get(User, user_id).language = language


def totp_begin(v: Vault, user: User) -> dict:
    """Start enabling TOTP: a new secret (not yet in force) for the authenticator app."""
    secret = pyotp.random_base32()
    with v.db.session() as s:
        u = s.get(User, user.id)
        if u.totp_enabled:
            raise Refused(409, "totp_already_enabled", "A second factor is already on. Turn it off first to change it.")
        u.totp_secret = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="Evidence vault")
    return {"secret": secret, "uri": uri}


def totp_confirm(v: Vault, user: User, code: str) -> None:
    """Put the started TOTP secret in force once the app shows a right code."""
    with v.db.session() as s:
        u = s.get(User, user.id)
        if not u.totp_secret or u.totp_enabled:
            raise Refused(409, "totp_not_started", "Start with POST /api/v1/me/totp.")
        if not _totp_ok(u, code):
            raise Refused(422, "bad_code", "That code is wrong or expired; check the phone's clock and try the next code.")
        u.totp_enabled = True
        v.audit(s, u.username, "totp_enabled", "user:" + u.id)


def totp_disable(v: Vault, user: User, code: str) -> None:
    """Turn TOTP off; needs a current code, so a stolen session alone cannot."""
    with v.db.session() as s:
        u = s.get(User, user.id)
        if not u.totp_enabled or not _totp_ok(u, code):
            raise Refused(422, "bad_code", "That code is wrong or expired.")
        u.totp_enabled, u.totp_secret = False, None
        v.audit(s, u.username, "totp_disabled", "user:" + u.id)


def public_keys(v: Vault, username: str) -> dict:
    """A colleague's public view (keys and fingerprint), looked up by name in any letter case."""
    if not _USERNAME.fullmatch(username):
        raise no_such_user()
    with v.db.session() as s:
        u = find_user(s, username.lower())
        if u is None:
            raise no_such_user()
        return user_public(u)


# ---------------------------------------------------------------- the admin's side


def list_users(v: Vault) -> list[dict]:
    """Every account's public view, by name."""
    with v.db.session() as s:
        rows = s.execute(select(User).order_by(User.username)).scalars().all()
        return [user_public(u) for u in rows]


def set_disabled(v: Vault, admin: User, user_id: str, disabled: bool) -> dict:
    """Disable (ending its sessions at once) or enable an account; an admin cannot disable themself."""
    with v.db.session() as s:
        u = get_user(s, user_id)
        if u.id == admin.id and disabled:
            raise Refused(409, "self_disable", "You cannot disable your own account.")
        u.disabled = disabled
        if disabled:
            tokens.end_sessions(s, u.id)
        v.audit(s, admin.username, "user_disabled" if disabled else "user_enabled", "user:" + u.id)
        return user_public(u)
