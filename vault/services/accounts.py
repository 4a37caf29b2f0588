"""Accounts: registration with an invitation, sign-in, password, TOTP, profile (throttled by throttle.py).

The server never sees a password: the client derives an auth key from it
(Argon2id then BLAKE2b) and the server keeps only a slow hash of that. The
admin's side of accounts (listing, disabling) is here too; an admin is not
a reader, and nothing here opens a case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
from sqlalchemy import select

from vault import crypto
from vault.config import Config
from vault.db.models import ApiToken, User, new_id, utcnow
from vault.services import throttle, tokens
from vault.services.cases import drop_user_case_keys
from vault.services.errors import Refused
from vault.services.invitations import redeemable
from vault.services.users import find_user, get_user, no_such_user, root_sign_public, user_public
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
    """What a client needs before creating an account: KDF parameters, the recovery key and the root."""
    with v.db.session() as s:
        rec = v.recovery_public(s)
        root = root_sign_public(s)
    return {
        "kdf": client_kdf_params(v.config),
        "recovery_public": crypto.b64e(rec),
        "recovery_fingerprint": crypto.fingerprint(rec, b""),
        "root_sign_public": crypto.b64e(root) if root else None,
        # For the server's own pages: a client computes the fingerprint itself.
        "org_fingerprint": crypto.org_fingerprint(rec, root) if root else None,
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


def _totp_ok(u: User, code: str) -> bool:
    totp = pyotp.TOTP(u.totp_secret)
    now = int(utcnow().timestamp())
    for drift in (0, -30, 30):
        step = (now + drift) // 30
        if step > u.totp_last_step and totp.verify(code, for_time=now + drift, valid_window=0):
            u.totp_last_step = step  # a code works once
            return True
    return False


def _bad_credentials() -> Refused:
    return Refused(401, "bad_credentials", "The name or password is wrong (or the code). Check them and try again.")


def login(v: Vault, username: str, auth: bytes, totp: str | None, address: str,
          language: str | None = None) -> dict:
    """Sign in with the auth key (and a TOTP code if enabled): a new session token and the account.

    `language`, when given, is the interface language the person chose on the
    sign-in page: it becomes the account's (saved only on success). Without
    it the account keeps its own. `address` is the client as throttle.client_address counts it. A known and
    an unknown name take the same steps at the same cost and get the same
    answers, byte for byte; no transaction is open while the slow hash runs.
    """
    name = username.strip().lower()
    cfg = v.config
    with v.db.session() as s:
        held = throttle.wait(s, [throttle.address_bucket(v.server_secret, address)])
    if held:
        raise throttle.too_many(held)  # before any slow work: a locked-out sprayer costs nothing
    with throttle.slow_hash_slot(cfg):
        with v.db.session() as s:
            u = find_user(s, name)
            uid, stored = (u.id, u.auth_hash) if u else (None, None)
        if stored is not None:
            ok, account = crypto.verify_auth_key(stored, auth), "user:" + uid
        else:
            # The name's slow tag costs what a real check costs, so timing tells nothing,
            # and it is what the audit log and the throttle keep instead of the name.
            ok = False
            account = "unknown:" + crypto.name_tag(v.server_secret, name, cfg.auth_hash_ops, cfg.auth_hash_mem)
    b = throttle.buckets(v.server_secret, address, account)
    with v.db.session() as s:
        held = throttle.wait(s, [b.address, b.pair])
        if held:
            throttle.record_refusal(s, cfg, b)
            outcome = "held"
        else:
            u = s.get(User, uid) if uid else None
            ok = ok and u is not None
            if ok and u.totp_enabled:
                if totp is None:
                    raise Refused(401, "totp_required", "Enter the 6-digit code from your authenticator app.")
                ok = _totp_ok(u, totp)
            if not ok or u.disabled:
                throttle.record_failure(s, cfg, b)
                v.audit(s, u.username if u else account, "login_failed", "user:" + (u.id if u else "unknown"))
                outcome = "disabled" if ok else "failed"
            else:
                throttle.record_success(s, b)
                if language:
                    u.language = language
                token, expires = tokens.issue_session(s, cfg, u)
                v.audit(s, u.username, "login", "user:" + u.id)
                signed_in = {"token": token, "expires_at": expires.isoformat() + "Z", "user": user_self(u)}
                outcome = "ok"
    # Failures are committed before answering, so throttling cannot be
    # bypassed by a client that drops the connection.
    if outcome == "held":
        raise throttle.too_many(held)
    if outcome == "disabled":
        raise Refused(403, "account_disabled", "This account is disabled. Ask your organisation's admin.")
    if outcome == "failed":
        raise _bad_credentials()
    return signed_in


def _prove_password(v: Vault, user: User, current_auth: bytes, address: str, failed_action: str) -> str:
    """Check a signed-in user's current password before a change a stolen session must not make alone.

    Returns the auth hash it matched. A wrong one counts like a failed
    sign-in from `address`, so a stolen token is no way to guess the password.
    """
    cfg = v.config
    b = throttle.buckets(v.server_secret, address, "user:" + user.id)
    with v.db.session() as s:
        held = throttle.wait(s, [b.address, b.pair])
    if held:
        raise throttle.too_many(held)
    with throttle.slow_hash_slot(cfg):
        with v.db.session() as s:
            stored = s.get(User, user.id).auth_hash
        ok = crypto.verify_auth_key(stored, current_auth)
    if not ok:
        with v.db.session() as s:
            throttle.record_failure(s, cfg, b)
            v.audit(s, user.username, failed_action, "user:" + user.id)
        raise Refused(403, "wrong_password", "The current password is wrong. Type it again; after several "
                      "failures you have to wait before the next try.")
    return stored


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
             box_public: bytes, sign_public: bytes, binding: bytes, language: str | None = None) -> dict:
    """Create an account with a one-time invitation, or re-key the account a reset invitation names.

    `language` is the interface language the registration page was in: the
    account's from the start (English when not given; a re-keyed account keeps its own).

    `binding` is kept for the inviter's client, which alone can check it
    (docs/trust.md); the account is uncertified until that client, or the
    root, certifies its keys.
    """
    cfg = v.config
    hashed = tokens.token_hash(invitation)
    with v.db.session() as s:
        redeemable(s, hashed)  # before the costly hash: no free CPU without an invitation
    with throttle.slow_hash_slot(cfg):
        auth_hash = crypto.hash_auth_key(creds.auth_key, cfg.auth_hash_ops, cfg.auth_hash_mem)
    with v.db.session() as s:
        inv = redeemable(s, hashed)
        if inv.reset_user_id:
            u = s.get(User, inv.reset_user_id)
            if u.username != username:
                raise Refused(422, "invalid_fields", f"This reset invitation is for the account '{u.username}'.")
            drop_user_case_keys(s, u.id)
            if language:
                u.language = language
            u.key_epoch += 1
            tokens.end_sessions(s, u.id)
            u.certificates = None  # they certified the old keys: the account waits for a new certificate
            action = "account_rekeyed"
        else:
            if find_user(s, username):
                raise Refused(409, "username_taken", "This user name is taken. Choose another.")
            u = User(id=new_id(), username=username, role=inv.role, disabled=False,
                     totp_enabled=False, totp_last_step=0, language=language or "en", key_epoch=1)
            s.add(u)
            action = "account_registered"
        u.kdf_salt, u.kdf_params, u.auth_hash = creds.kdf_salt, creds.kdf_params, auth_hash
        u.box_public, u.sign_public, u.enc_private_keys = box_public, sign_public, creds.enc_private_keys
        u.binding, u.invitation_id = binding, inv.id
        inv.used_at, inv.used_by = utcnow(), u.id
        s.flush()
        v.audit(s, u.username, action, "user:" + u.id, {"role": u.role, "invitation": inv.id})
        return user_public(u)


def change_password(v: Vault, user: User, session_hash: str, current_auth: bytes, new: Credentials,
                    end_other_sessions: bool, address: str) -> dict:
    """Replace the password's salt, parameters, auth hash and sealed private keys, proving the current one."""
    cfg = v.config
    kdf = new.kdf_params
    if kdf["ops"] < cfg.client_kdf_ops or kdf["mem"] < cfg.client_kdf_mem:
        raise Refused(422, "weak_kdf", "The new password must be protected with at least this vault's Argon2id "
                      f"parameters (ops {cfg.client_kdf_ops}, mem {cfg.client_kdf_mem}); update the app.")
    before = _prove_password(v, user, current_auth, address, "password_change_failed")
    with throttle.slow_hash_slot(cfg):
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


def totp_begin(v: Vault, user: User, current_auth: bytes, address: str) -> dict:
    """Start enabling TOTP: a new secret (not yet in force) for the authenticator app.

    Needs the current password: a stolen session that could turn the second
    factor on would lock the owner out of their own account.
    """
    _prove_password(v, user, current_auth, address, "totp_change_failed")
    secret = pyotp.random_base32()
    with v.db.session() as s:
        u = s.get(User, user.id)
        if u.totp_enabled:
            raise Refused(409, "totp_already_enabled", "A second factor is already on. Turn it off first to change it.")
        u.totp_secret = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="Evidence vault")
    return {"secret": secret, "uri": uri}


def totp_confirm(v: Vault, user: User, current_auth: bytes, code: str, address: str) -> None:
    """Put the started TOTP secret in force once the app shows a right code (and the password is proved again)."""
    _prove_password(v, user, current_auth, address, "totp_change_failed")
    with v.db.session() as s:
        u = s.get(User, user.id)
        if not u.totp_secret or u.totp_enabled:
            raise Refused(409, "totp_not_started", "Start with POST /api/v1/me/totp.")
        if not _totp_ok(u, code):
            raise Refused(422, "bad_code", "That code is wrong or expired; check the phone's clock and try the next code.")
        u.totp_enabled = True
        v.audit(s, u.username, "totp_enabled", "user:" + u.id)


def totp_disable(v: Vault, user: User, current_auth: bytes, code: str, address: str) -> None:
    """Turn TOTP off; needs the password and a current code, so neither a stolen session nor a
    stolen password alone can. A wrong code counts like a failed sign-in."""
    _prove_password(v, user, current_auth, address, "totp_change_failed")
    with v.db.session() as s:
        u = s.get(User, user.id)
        ok = u.totp_enabled and _totp_ok(u, code)
        if ok:
            u.totp_enabled, u.totp_secret = False, None
            v.audit(s, u.username, "totp_disabled", "user:" + u.id)
        else:
            throttle.record_failure(s, v.config, throttle.buckets(v.server_secret, address, "user:" + u.id))
            v.audit(s, u.username, "totp_change_failed", "user:" + u.id)
    if not ok:
        raise Refused(422, "bad_code", "That code is wrong or expired.")


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


def has_admin(v: Vault) -> bool:
    """Whether any admin account exists: until one does, the sign-in page points to /setup."""
    with v.db.session() as s:
        return s.execute(select(User.id).where(User.role == "admin").limit(1)).first() is not None


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
