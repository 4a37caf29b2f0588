"""Accounts: registration with an invitation, login, logout, TOTP, public keys.

The server never sees a password: the client derives an auth key from it
(Argon2id then BLAKE2b) and the server keeps only a slow hash of that.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pyotp
from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import delete, select

from vault import crypto
from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.schemas import LoginIn, PasswordIn, PreloginIn, ProfileIn, RegisterIn, TotpCodeIn
from vault.api.security import access, issue_token
from vault.api.validation import b64, b64decode, json_body
from vault.db.models import ApiToken, Invitation, LoginThrottle, User, new_id, utcnow

bp = Blueprint("auth", __name__, url_prefix="/api/v1")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _vault():
    return current_app.extensions["vault"]


def client_kdf_params() -> dict:
    cfg = current_app.config["VAULT"]
    return {"alg": "argon2id13", "ops": cfg.client_kdf_ops, "mem": cfg.client_kdf_mem}


def user_public(u: User) -> dict:
    return {
        "id": u.id, "username": u.username, "role": u.role,
        "box_public": b64(u.box_public), "sign_public": b64(u.sign_public),
        "fingerprint": crypto.fingerprint(u.box_public, u.sign_public),
        "key_epoch": u.key_epoch, "disabled": u.disabled,
    }


@bp.get("/auth/params")
@access("public")
@doc("Key-derivation parameters for new accounts and the organisation's recovery public key.")
def params():
    v = _vault()
    with v.db.session() as s:
        rec = v.recovery_public(s)
    return jsonify({
        "kdf": client_kdf_params(),
        "recovery_public": b64(rec),
        "recovery_fingerprint": crypto.fingerprint(rec, b""),
    })


@bp.post("/auth/prelogin")
@access("public")
@doc("Salt and Argon2id parameters for a user name (a stable fake salt for unknown names).", body=PreloginIn)
def prelogin():
    body = json_body(PreloginIn)
    name = body.username.strip().lower()
    v = _vault()
    with v.db.session() as s:
        u = s.execute(select(User).where(User.username == name)).scalar_one_or_none()
    if u is None:
        return jsonify({"salt": b64(crypto.fake_salt(v.server_secret, name)), "kdf": client_kdf_params()})
    return jsonify({"salt": b64(u.kdf_salt), "kdf": u.kdf_params})


def _throttle_check(s, name: str) -> None:
    row = s.get(LoginThrottle, name)
    now = utcnow()
    if row and row.locked_until and row.locked_until > now:
        wait = int((row.locked_until - now).total_seconds()) + 1
        raise ApiError(429, "too_many_attempts",
                       f"Too many failed sign-ins for this name. Wait {wait} seconds and try again.",
                       retry_after=wait)


def _throttle_fail(s, name: str) -> None:
    cfg = current_app.config["VAULT"]
    now = utcnow()
    # Old rows go, so unknown names cannot grow the table without bound.
    s.execute(delete(LoginThrottle).where(
        LoginThrottle.window_start < now - timedelta(seconds=cfg.login_window_s + 3600),
        (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now)))
    row = s.get(LoginThrottle, name)
    if row is None or (now - row.window_start).total_seconds() > cfg.login_window_s:
        if row is None:
            row = LoginThrottle(username=name, failures=0, window_start=now)
            s.add(row)
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= cfg.login_max_failures:
        # 30 s, 60 s, 120 s … capped at an hour.
        extra = row.failures - cfg.login_max_failures
        row.locked_until = now + timedelta(seconds=min(3600, 30 * 2**extra))


@bp.post("/auth/login")
@access("public")
@doc("Sign in with the auth key derived from the password (and a TOTP code if enabled).", body=LoginIn)
def login():
    body = json_body(LoginIn)
    name = body.username.strip().lower()
    auth = b64decode(body.auth_key, "auth_key", size=32)
    v = _vault()
    cfg = current_app.config["VAULT"]
    with v.db.session() as s:
        _throttle_check(s, name)
        u = s.execute(select(User).where(User.username == name)).scalar_one_or_none()
        if u is None:
            # Spend the same effort as a real check, so timing tells nothing.
            crypto.hash_auth_key(auth, cfg.auth_hash_ops, cfg.auth_hash_mem)
            ok = False
        else:
            ok = crypto.verify_auth_key(u.auth_hash, auth)
        if ok and u.totp_enabled:
            if body.totp is None:
                raise ApiError(401, "totp_required", "Enter the 6-digit code from your authenticator app.")
            ok = _totp_ok(u, body.totp)
        if not ok or u.disabled:
            _throttle_fail(s, name)
            v.audit(s, name, "login_failed", "user:" + (u.id if u else "unknown"))
            failure = True
        else:
            failure = False
            s.execute(delete(LoginThrottle).where(LoginThrottle.username == name))
            token, expires = issue_token(s, u)
            v.audit(s, u.username, "login", "user:" + u.id)
    # The failure is committed before answering, so throttling cannot be
    # bypassed by a client that drops the connection.
    if failure:
        if u is not None and u.disabled and ok:
            raise ApiError(403, "account_disabled", "This account is disabled. Ask your organisation's admin.")
        raise ApiError(401, "bad_credentials", "The name or password is wrong (or the code). Check them and try again.")
    return jsonify({
        "token": token, "expires_at": expires.isoformat() + "Z",
        "user": {**user_public(u), "enc_private_keys": b64(u.enc_private_keys), "language": u.language,
                 "totp_enabled": u.totp_enabled},
    })


def _totp_ok(u: User, code: str) -> bool:
    totp = pyotp.TOTP(u.totp_secret)
    now = int(utcnow().timestamp())
    for drift in (0, -30, 30):
        step = (now + drift) // 30
        if step > u.totp_last_step and totp.verify(code, for_time=now + drift, valid_window=0):
            u.totp_last_step = step  # a code works once
            return True
    return False


@bp.post("/auth/logout")
@access("user")
@doc("End this session (the token stops working at once).")
def logout():
    v = _vault()
    with v.db.session() as s:
        s.execute(delete(ApiToken).where(ApiToken.token_hash == g.token_hash))
        v.audit(s, g.user.username, "logout", "user:" + g.user.id)
    return jsonify({"status": "signed out"})


def _check_invitation(s, token_hash: str) -> Invitation:
    inv = s.execute(select(Invitation).where(Invitation.token_hash == token_hash)).scalar_one_or_none()
    if inv is None:
        raise ApiError(400, "invalid_invitation", "This invitation is not valid. Ask your admin for a new one.")
    if inv.used_at is not None:
        raise ApiError(410, "invitation_used", "This invitation was already used. Ask your admin for a new one.")
    if inv.expires_at < utcnow():
        raise ApiError(410, "invitation_expired", "This invitation has expired. Ask your admin for a new one.")
    return inv


@bp.post("/auth/register")
@access("public")
@doc("Create an account (or re-key one after a password reset) with a one-time invitation.", body=RegisterIn, status=201)
def register():
    body = json_body(RegisterIn)
    salt = b64decode(body.kdf_salt, "kdf_salt", size=crypto.SALT_BYTES)
    auth = b64decode(body.auth_key, "auth_key", size=32)
    box_pub = b64decode(body.box_public, "box_public", size=32)
    sign_pub = b64decode(body.sign_public, "sign_public", size=32)
    enc_priv = b64decode(body.enc_private_keys, "enc_private_keys", max_size=200)
    v = _vault()
    cfg = current_app.config["VAULT"]
    token_hash = hashlib.sha256(body.invitation.encode()).hexdigest()
    with v.db.session() as s:
        _check_invitation(s, token_hash)  # before the costly hash: no free CPU without an invitation
    auth_hash = crypto.hash_auth_key(auth, cfg.auth_hash_ops, cfg.auth_hash_mem)
    with v.db.session() as s:
        inv = _check_invitation(s, token_hash)
        if inv.reset_user_id:
            u = s.get(User, inv.reset_user_id)
            if u.username != body.username:
                raise ApiError(422, "invalid_fields", f"This reset invitation is for the account '{u.username}'.")
            from vault.api.cases import drop_user_case_keys

            drop_user_case_keys(s, u.id)
            u.key_epoch += 1
            s.execute(delete(ApiToken).where(ApiToken.user_id == u.id))
            action = "account_rekeyed"
        else:
            if s.execute(select(User).where(User.username == body.username)).scalar_one_or_none():
                raise ApiError(409, "username_taken", "This user name is taken. Choose another.")
            u = User(id=new_id(), username=body.username, role=inv.role, disabled=False,
                     totp_enabled=False, totp_last_step=0, language="en", key_epoch=1)
            s.add(u)
            action = "account_registered"
        u.kdf_salt, u.kdf_params, u.auth_hash = salt, body.kdf_params.model_dump(), auth_hash
        u.box_public, u.sign_public, u.enc_private_keys = box_pub, sign_pub, enc_priv
        inv.used_at, inv.used_by = utcnow(), u.id
        s.flush()
        v.audit(s, u.username, action, "user:" + u.id, {"role": u.role, "invitation": inv.id})
        out = user_public(u)
    return jsonify({"user": out}), 201


@bp.post("/me/password")
@access("user")
@doc("Change the password, or move to the vault's current Argon2id parameters: proves the current password, "
     "stores the new salt, parameters, auth-key hash and re-encrypted private keys in one step, and ends every "
     "other session of the account (unless end_other_sessions is false: a move to stronger parameters at "
     "sign-in). The keys themselves do not change.", body=PasswordIn)
def change_password():
    body = json_body(PasswordIn)
    current = b64decode(body.current_auth_key, "current_auth_key", size=32)
    salt = b64decode(body.kdf_salt, "kdf_salt", size=crypto.SALT_BYTES)
    auth = b64decode(body.auth_key, "auth_key", size=32)
    enc_priv = b64decode(body.enc_private_keys, "enc_private_keys", max_size=200)
    cfg = current_app.config["VAULT"]
    kdf = body.kdf_params.model_dump()
    if kdf["ops"] < cfg.client_kdf_ops or kdf["mem"] < cfg.client_kdf_mem:
        raise ApiError(422, "weak_kdf", "The new password must be protected with at least this vault's Argon2id "
                       f"parameters (ops {cfg.client_kdf_ops}, mem {cfg.client_kdf_mem}); update the app.")
    v = _vault()
    name = g.user.username
    with v.db.session() as s:
        _throttle_check(s, name)
        u = s.get(User, g.user.id)
        before = u.auth_hash
        ok = crypto.verify_auth_key(before, current)
        if not ok:
            # Counted like a failed sign-in: a stolen session must not become a way to guess the password.
            _throttle_fail(s, name)
            v.audit(s, name, "password_change_failed", "user:" + u.id)
    if not ok:
        raise ApiError(403, "wrong_password", "The current password is wrong. Type it again; after several "
                       "failures the account has to wait before the next try.")
    auth_hash = crypto.hash_auth_key(auth, cfg.auth_hash_ops, cfg.auth_hash_mem)
    with v.db.session() as s:
        u = s.get(User, g.user.id)
        if u.auth_hash != before:
            raise ApiError(409, "password_changed_meanwhile", "The password was changed from another session "
                           "meanwhile. Sign in again with the new password.")
        u.kdf_salt, u.kdf_params, u.auth_hash, u.enc_private_keys = salt, kdf, auth_hash, enc_priv
        ended = 0
        if body.end_other_sessions:
            ended = s.execute(delete(ApiToken).where(ApiToken.user_id == u.id,
                                                     ApiToken.token_hash != g.token_hash)).rowcount
        v.audit(s, u.username, "password_changed", "user:" + u.id, {"kdf": kdf, "sessions_ended": ended})
    return jsonify({"status": "changed", "kdf_params": kdf, "sessions_ended": ended})


@bp.get("/me")
@access("user")
@doc("The signed-in account, with its encrypted private keys.")
def me():
    u = g.user
    return jsonify({**user_public(u), "enc_private_keys": b64(u.enc_private_keys), "language": u.language,
                    "totp_enabled": u.totp_enabled})


@bp.patch("/me")
@access("user")
@doc("Change the interface language.", body=ProfileIn)
def update_me():
    body = json_body(ProfileIn)
    with _vault().db.session() as s:
        s.get(User, g.user.id).language = body.language
    return jsonify({"language": body.language})


@bp.post("/me/totp")
@access("user")
@doc("Start enabling a TOTP second factor: returns the secret to put in an authenticator app.")
def totp_begin():
    secret = pyotp.random_base32()
    v = _vault()
    with v.db.session() as s:
        u = s.get(User, g.user.id)
        if u.totp_enabled:
            raise ApiError(409, "totp_already_enabled", "A second factor is already on. Turn it off first to change it.")
        u.totp_secret = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=g.user.username, issuer_name="Evidence vault")
    return jsonify({"secret": secret, "uri": uri})


@bp.post("/me/totp/confirm")
@access("user")
@doc("Finish enabling TOTP by proving the app shows the right code.", body=TotpCodeIn)
def totp_confirm():
    body = json_body(TotpCodeIn)
    v = _vault()
    with v.db.session() as s:
        u = s.get(User, g.user.id)
        if not u.totp_secret or u.totp_enabled:
            raise ApiError(409, "totp_not_started", "Start with POST /api/v1/me/totp.")
        if not _totp_ok(u, body.code):
            raise ApiError(422, "bad_code", "That code is wrong or expired; check the phone's clock and try the next code.")
        u.totp_enabled = True
        v.audit(s, u.username, "totp_enabled", "user:" + u.id)
    return jsonify({"totp_enabled": True})


@bp.post("/me/totp/disable")
@access("user")
@doc("Turn TOTP off (needs a current code).", body=TotpCodeIn)
def totp_disable():
    body = json_body(TotpCodeIn)
    v = _vault()
    with v.db.session() as s:
        u = s.get(User, g.user.id)
        if not u.totp_enabled or not _totp_ok(u, body.code):
            raise ApiError(422, "bad_code", "That code is wrong or expired.")
        u.totp_enabled, u.totp_secret = False, None
        v.audit(s, u.username, "totp_disabled", "user:" + u.id)
    return jsonify({"totp_enabled": False})


@bp.get("/users/<username>")
@access("user")
@doc("A colleague's public keys and fingerprint, to pin and to seal case keys to.")
def user_keys(username: str):
    if not _USERNAME.fullmatch(username):
        raise ApiError(404, "not_found", "No such user.")
    with _vault().db.session() as s:
        u = s.execute(select(User).where(User.username == username.lower())).scalar_one_or_none()
        if u is None:
            raise ApiError(404, "not_found", "No such user.")
        return jsonify(user_public(u))

