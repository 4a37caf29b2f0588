"""Accounts over HTTP: registration with an invitation, login, logout, TOTP, public keys.

The server never sees a password: the client derives an auth key from it
(Argon2id then BLAKE2b) and the server keeps only a slow hash of that. The
work is in vault.services.accounts; these routes parse, authorise and answer.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from vault import crypto
from vault.api.openapi import doc
from vault.api.schemas import LoginIn, PasswordIn, PreloginIn, ProfileIn, RegisterIn, TotpBeginIn, TotpCodeIn
from vault.api.security import access
from vault.api.validation import b64decode, json_body
from vault.services import accounts, throttle
from vault.services.accounts import Credentials

bp = Blueprint("auth", __name__, url_prefix="/api/v1")


# Answers a throttled route may give besides its own, both with Retry-After.
THROTTLED = {"429": {"description": "Too many failed attempts from this address or for this name: wait Retry-After "
                                    "seconds (the same answer for every name, known or not)"},
             "503": {"description": "The server is busy with other sign-ins: try again after Retry-After seconds"}}


def _vault():
    return current_app.extensions["vault"]


def _address() -> str:
    """The client as the sign-in throttle counts it: the peer, or behind a trusted proxy
    (VAULT_FORWARDED_ALLOW_IPS) the address the proxy put in X-Forwarded-For."""
    return throttle.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"),
                                   _vault().config.forwarded_allow_ips)


@bp.get("/auth/params")
@access("public")
@doc("Key-derivation parameters for new accounts, the organisation's recovery public key and its root "
     "(root_sign_public, null before `vault org init-root`); org_fingerprint is for display only.")
def params():
    return jsonify(accounts.auth_params(_vault()))


@bp.post("/auth/prelogin")
@access("public")
@doc("Salt and Argon2id parameters for a user name (a stable fake salt for unknown names).", body=PreloginIn)
def prelogin():
    body = json_body(PreloginIn)
    return jsonify(accounts.prelogin(_vault(), body.username))


@bp.post("/auth/login")
@access("public")
@doc("Sign in with the auth key derived from the password (and a TOTP code if enabled). Failures are "
     "throttled per address, per name at that address and, under attack, for everyone by a short delay; "
     "the answers are the same for a name with no account. `language`, if given (the one chosen on the sign-in "
     "page), becomes the account's interface language on success.", body=LoginIn, responses=THROTTLED)
def login():
    body = json_body(LoginIn)
    auth = b64decode(body.auth_key, "auth_key", size=32)
    return jsonify(accounts.login(_vault(), body.username, auth, body.totp, _address(), body.language))


@bp.post("/auth/logout")
@access("user")
@doc("End this session (the token stops working at once).")
def logout():
    accounts.logout(_vault(), g.user, g.token_hash)
    return jsonify({"status": "signed out"})


@bp.post("/auth/register")
@access("public")
@doc("Create an account (or re-key one after a password reset) with a one-time invitation. `binding` ties the "
     "keys to the invitation's secret; the account is uncertified until its inviter's client (or the root) "
     "certifies them. `language` is the account's interface language (the registration page's; English if "
     "not given).", body=RegisterIn, status=201)
def register():
    body = json_body(RegisterIn)
    salt = b64decode(body.kdf_salt, "kdf_salt", size=crypto.SALT_BYTES)
    auth = b64decode(body.auth_key, "auth_key", size=32)
    box_pub = b64decode(body.box_public, "box_public", size=32)
    sign_pub = b64decode(body.sign_public, "sign_public", size=32)
    enc_priv = b64decode(body.enc_private_keys, "enc_private_keys", max_size=200)
    binding = b64decode(body.binding, "binding", size=32)
    creds = Credentials(kdf_salt=salt, kdf_params=body.kdf_params.model_dump(), auth_key=auth,
                        enc_private_keys=enc_priv)
    out = accounts.register(_vault(), body.invitation, body.username, creds, box_pub, sign_pub, binding,
                            body.language)
    return jsonify({"user": out}), 201


@bp.post("/me/password")
@access("user")
@doc("Change the password, or move to the vault's current Argon2id parameters: proves the current password, "
     "stores the new salt, parameters, auth-key hash and re-encrypted private keys in one step, and ends every "
     "other session of the account (unless end_other_sessions is false: a move to stronger parameters at "
     "sign-in). The keys themselves do not change. A wrong current password counts as a failed sign-in.",
     body=PasswordIn, responses=THROTTLED)
def change_password():
    body = json_body(PasswordIn)
    current = b64decode(body.current_auth_key, "current_auth_key", size=32)
    salt = b64decode(body.kdf_salt, "kdf_salt", size=crypto.SALT_BYTES)
    auth = b64decode(body.auth_key, "auth_key", size=32)
    enc_priv = b64decode(body.enc_private_keys, "enc_private_keys", max_size=200)
    new = Credentials(kdf_salt=salt, kdf_params=body.kdf_params.model_dump(), auth_key=auth,
                      enc_private_keys=enc_priv)
    return jsonify(accounts.change_password(_vault(), g.user, g.token_hash, current, new,
                                            body.end_other_sessions, _address()))


@bp.get("/me")
@access("user")
@doc("The signed-in account, with its encrypted private keys.")
def me():
    return jsonify(accounts.user_self(g.user))


@bp.patch("/me")
@access("user")
@doc("Change the interface language.", body=ProfileIn)
def update_me():
    body = json_body(ProfileIn)
    accounts.set_language(_vault(), g.user.id, body.language)
    return jsonify({"language": body.language})


@bp.post("/me/totp")
@access("user")
@doc("Start enabling a TOTP second factor: proves the current password (current_auth_key, derived as for "
     "sign-in), then returns the secret to put in an authenticator app. A wrong password counts as a failed "
     "sign-in.", body=TotpBeginIn, responses=THROTTLED)
def totp_begin():
    body = json_body(TotpBeginIn)
    current = b64decode(body.current_auth_key, "current_auth_key", size=32)
    return jsonify(accounts.totp_begin(_vault(), g.user, current, _address()))


@bp.post("/me/totp/confirm")
@access("user")
@doc("Finish enabling TOTP: the current password again, and the code the app shows.", body=TotpCodeIn,
     responses=THROTTLED)
def totp_confirm():
    body = json_body(TotpCodeIn)
    current = b64decode(body.current_auth_key, "current_auth_key", size=32)
    accounts.totp_confirm(_vault(), g.user, current, body.code, _address())
    return jsonify({"totp_enabled": True})


@bp.post("/me/totp/disable")
@access("user")
@doc("Turn TOTP off: needs the current password and a current code; a wrong one of either counts as a "
     "failed sign-in.", body=TotpCodeIn, responses=THROTTLED)
def totp_disable():
    body = json_body(TotpCodeIn)
    current = b64decode(body.current_auth_key, "current_auth_key", size=32)
    accounts.totp_disable(_vault(), g.user, current, body.code, _address())
    return jsonify({"totp_enabled": False})


@bp.get("/users/<username>")
@access("user")
@doc("A colleague's public keys and fingerprint, to pin and to seal case keys to.")
def user_keys(username: str):
    return jsonify(accounts.public_keys(_vault(), username))
