"""Accounts as other people see them: the public view, looking one up, and the organisation's root.

The one module every other account, case and recovery service builds on, so
that the public view of a user (what a colleague pins and seals case keys
to, with the certificates that say whose keys they are) is written once and
"no such user" reads the same everywhere.
"""

from __future__ import annotations

import base64
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault import crypto
from vault.db.models import Setting, User
from vault.domain import trust
from vault.services.errors import Refused
from vault.services.vault import Vault
from vault.storage.files import is_id

ROOT_SETTING = "root_sign_public"
RECOVERY_SETTING = "recovery_box_public"


def stored_chain(u: User) -> list[dict]:
    """The certificate chain stored for the user's current keys (empty when uncertified)."""
    return json.loads(u.certificates) if u.certificates else []


def user_public(u: User) -> dict:
    """What anyone signed in may know of an account: name, role, state, public keys, certificates."""
    return {
        "id": u.id, "username": u.username, "role": u.role,
        "box_public": crypto.b64e(u.box_public), "sign_public": crypto.b64e(u.sign_public),
        "fingerprint": crypto.fingerprint(u.box_public, u.sign_public),
        "key_epoch": u.key_epoch, "disabled": u.disabled,
        "certificates": stored_chain(u),
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


# ---------------------------------------------------------------- the organisation


def _setting_bytes(s: Session, key: str) -> bytes | None:
    row = s.get(Setting, key)
    return base64.b64decode(row.value) if row and row.value else None


def root_sign_public(s: Session) -> bytes | None:
    """The organisation root's public key, or None before `vault org init-root`."""
    return _setting_bytes(s, ROOT_SETTING)


def organisation(s: Session) -> trust.Organisation | None:
    """The organisation as the server stores it (its own view: no client relies on it)."""
    root, recovery = root_sign_public(s), _setting_bytes(s, RECOVERY_SETTING)
    return trust.Organisation(recovery, root) if root and recovery else None


# ---------------------------------------------------------------- certifying keys


def _bad_certificate(why: str) -> Refused:
    return Refused(422, "bad_certificate", f"The certificate was not stored: {why}.")


def _check_names(body: dict, u: User, org: trust.Organisation) -> None:
    """The certificate must state exactly this account as it is now (a re-key needs a new one)."""
    if body.get("org") != org.id:
        raise _bad_certificate("it names another organisation than this vault's root")
    expected = {"user_id": u.id, "username": u.username, "role": u.role,
                "box_public": crypto.b64e(u.box_public), "sign_public": crypto.b64e(u.sign_public)}
    for name, value in expected.items():
        if body.get(name) != value:
            raise _bad_certificate(f"its {name} is not the account's current one")
    if body.get("may_certify") is not (u.role == "admin"):
        raise _bad_certificate("may_certify must be true exactly for admins")


def _certifying_admin(s: Session, signer: bytes, org: trust.Organisation) -> User:
    """The admin whose registered key signed, if their own stored chain lets them certify."""
    admins = s.execute(select(User).where(User.sign_public == signer, User.role == "admin")).scalars().all()
    if not admins:
        raise _bad_certificate("it is signed neither by the organisation root nor by an admin's registered key")
    why = "it is signed by an admin whose own keys are not certified"
    for a in admins:
        if not a.certificates:
            continue
        try:
            c = trust.verify_chain(stored_chain(a), org)
        except trust.TrustFailure as exc:
            why = f"it is signed by an admin whose own certificate chain does not verify ({exc})"
            continue
        if a.disabled:
            why = "it is signed by a disabled admin"
        elif c.may_certify and c.role == "admin" and c.user_id == a.id and c.sign_public == signer:
            return a
        else:
            why = "it is signed by an admin whose certificate does not let them certify"
    raise _bad_certificate(why)


def certify_user(v: Vault, actor: User, user_id: str, certificate: dict) -> dict:
    """Store a certificate for a user's current keys, with its issuer's chain up to the root.

    The server checks what it can (signatures, issuer, the names and keys it
    holds) so an honest server never relays a useless chain; clients verify
    the chain themselves and never rely on this.
    """
    with v.db.session() as s:
        org = organisation(s)
        if org is None:
            raise Refused(409, "no_root", "This vault has no organisation root yet: run `vault org init-root` "
                          "with the paper recovery kit first.")
        u = get_user(s, user_id)
        try:
            body, signer = trust.open_statement(certificate, trust.CERT)
        except trust.TrustFailure as exc:
            raise _bad_certificate(str(exc)) from exc
        _check_names(body, u, org)
        if signer == org.root_sign_public:
            chain, issuer = [certificate], "root"
        else:
            admin = _certifying_admin(s, signer, org)
            chain, issuer = [certificate, *stored_chain(admin)], "user:" + admin.id
        try:
            c = trust.verify_chain(chain, org)
        except trust.TrustFailure as exc:
            raise _bad_certificate(str(exc)) from exc
        if c.user_id != u.id or c.sign_public != u.sign_public or c.box_public != u.box_public:
            raise _bad_certificate("the chain does not certify this account's current keys")
        u.certificates = json.dumps(chain, separators=(",", ":"))
        v.audit(s, actor.username, "user_certified", "user:" + u.id,
                {"issuer": issuer, "role": u.role, "fingerprint": crypto.fingerprint(u.box_public, u.sign_public)})
        return {"user_id": u.id, "certified": True}


def set_root(v: Vault, actor: User, root_public: bytes, proof: bytes) -> dict:
    """Set the organisation root once, proved by its signature over this vault's recovery key."""
    try:
        with v.db.session() as s:
            recovery = v.recovery_public(s)
            try:
                crypto.verify_detached(root_public, crypto.statement_message("root", crypto.b64e(recovery)), proof)
            except crypto.BadSignature as exc:
                raise Refused(422, "bad_proof", "The proof is not this root's signature over this vault's recovery "
                              "key: use this organisation's paper kit.") from exc
            current = root_sign_public(s)
            if current is not None and current != root_public:
                raise _root_exists()
            if current is None:
                s.add(Setting(key=ROOT_SETTING, value=crypto.b64e(root_public)))
                v.audit(s, actor.username, "org_root_set", "", {
                    "root_sign_public": crypto.b64e(root_public),
                    "org_fingerprint": crypto.org_fingerprint(recovery, root_public)})
    except IntegrityError as exc:
        raise _root_exists() from exc  # another request set one at the same moment
    return {"root_sign_public": crypto.b64e(root_public),
            "org_fingerprint": crypto.org_fingerprint(recovery, root_public), "set": current is None}


def _root_exists() -> Refused:
    return Refused(409, "root_exists", "This vault already has a different organisation root; it is set once.")
