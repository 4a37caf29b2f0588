"""Cases and their members. Membership, never the role, opens a case.

Case keys are made and sealed by members' clients; the server stores the
sealed copies and each version's signed commitment, and checks that a grant
or rotation covers exactly the people it should.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault import crypto
from vault.api.errors import ApiError, not_found
from vault.api.openapi import doc
from vault.api.schemas import CaseIn, KeyVersionIn, MemberIn, MemberRemoveIn
from vault.api.security import access
from vault.api.validation import b64, b64decode, json_body
from vault.db.models import Case, CaseKey, CaseKeyVersion, CaseMember, Item, User
from vault.services.access import READER_ROLES, member_case

bp = Blueprint("cases", __name__, url_prefix="/api/v1")


def _vault():
    return current_app.extensions["vault"]


def drop_user_case_keys(s: Session, user_id: str) -> None:
    s.execute(delete(CaseKey).where(CaseKey.recipient == f"user:{user_id}"))


def _add_key_version(s: Session, case: Case, kv: KeyVersionIn, members: list[str], signer: User) -> None:
    """Store a key version after checking it covers every member and the recovery key."""
    expected = {f"user:{m}" for m in members} | {"recovery"}
    if set(kv.sealed) != expected:
        raise ApiError(422, "key_coverage",
                       "The case key must be sealed to every member and to the recovery key, and no one else.",
                       expected=sorted(expected))
    sig = b64decode(kv.signature, "signature", size=64)
    try:
        crypto.verify_detached(signer.sign_public, crypto.case_key_message(case.id, kv.version, kv.check), sig)
    except crypto.BadSignature as exc:
        raise ApiError(422, "bad_signature", "The key commitment is not signed by your registered key.") from exc
    s.add(CaseKeyVersion(case_id=case.id, version=kv.version, check=kv.check, created_by=signer.id,
                         signer_public=signer.sign_public, signature=sig))
    for recipient, sealed in kv.sealed.items():
        s.add(CaseKey(case_id=case.id, version=kv.version, recipient=recipient,
                      sealed=b64decode(sealed, "sealed", max_size=200)))


def case_summary(s: Session, c: Case) -> dict:
    count = s.execute(select(func.count()).select_from(Item).where(Item.case_id == c.id)).scalar_one()
    return {"id": c.id, "reference": c.reference, "title": c.title, "region": c.region,
            "created_at": c.created_at.isoformat() + "Z", "key_version": c.key_version, "items": count}


@bp.get("/cases")
@access("member")
@doc("The cases you are a member of.")
def list_cases():
    with _vault().db.session() as s:
        rows = s.execute(
            select(Case).join(CaseMember, CaseMember.case_id == Case.id)
            .where(CaseMember.user_id == g.user.id).order_by(Case.created_at.desc())
        ).scalars().all()
        return jsonify({"cases": [case_summary(s, c) for c in rows]})


@bp.post("/cases")
@access("lawyer")
@doc("Open a case. The client makes the case key and seals it to you and to the recovery key.", body=CaseIn, status=201)
def create_case():
    body = json_body(CaseIn)
    if body.key.version != 1:
        raise ApiError(422, "invalid_fields", "A new case starts at key version 1.")
    v = _vault()
    try:
        with v.db.session() as s:
            if s.get(Case, body.id) is not None:
                raise ApiError(409, "conflict", "A case with this id exists; retry with a new id.")
            if s.execute(select(Case).where(Case.reference == body.reference)).scalar_one_or_none():
                raise ApiError(409, "reference_taken", "A case with this reference exists. Choose another reference.")
            c = Case(id=body.id, reference=body.reference, title=body.title, region=body.region,
                     created_by=g.user.id, key_version=1)
            s.add(c)
            s.add(CaseMember(case_id=c.id, user_id=g.user.id, added_by=g.user.id))
            s.flush()
            _add_key_version(s, c, body.key, [g.user.id], g.user)
            v.audit(s, g.user.username, "case_created", "case:" + c.id, {"reference": c.reference})
            out = case_summary(s, c)
    except IntegrityError as exc:
        raise ApiError(409, "conflict", "The case could not be created (it already exists).") from exc
    return jsonify(out), 201


def _members(s: Session, case_id: str) -> list[User]:
    return list(s.execute(
        select(User).join(CaseMember, CaseMember.user_id == User.id).where(CaseMember.case_id == case_id)
        .order_by(User.username)
    ).scalars())


@bp.get("/cases/<case_id>")
@access("member")
@doc("A case: its members, key versions with their signed commitments, and your sealed keys.")
def get_case(case_id: str):
    v = _vault()
    with v.db.session() as s:
        c = member_case(s, case_id, g.user)
        versions = s.execute(select(CaseKeyVersion).where(CaseKeyVersion.case_id == c.id)
                             .order_by(CaseKeyVersion.version)).scalars().all()
        mine = s.execute(select(CaseKey).where(CaseKey.case_id == c.id,
                                               CaseKey.recipient == f"user:{g.user.id}")).scalars().all()
        from vault.api.auth import user_public

        return jsonify({
            **case_summary(s, c),
            "members": [user_public(u) for u in _members(s, c.id)],
            "key_versions": [{"version": kv.version, "check": kv.check, "created_by": kv.created_by,
                              "signer_public": b64(kv.signer_public), "signature": b64(kv.signature)}
                             for kv in versions],
            "my_keys": {str(k.version): b64(k.sealed) for k in mine},
        })


@bp.post("/cases/<case_id>/members")
@access("member")
@doc("Add a member: your client seals every key version of the case to the newcomer.", body=MemberIn, status=201)
def add_member(case_id: str):
    body = json_body(MemberIn)
    v = _vault()
    with v.db.session() as s:
        c = member_case(s, case_id, g.user)
        if g.user.role != "lawyer":
            raise ApiError(403, "forbidden", "Only a lawyer who is a member can add members.")
        u = s.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
        if u is None or u.disabled:
            raise ApiError(404, "not_found", "No such active user.")
        if u.role not in READER_ROLES:
            raise ApiError(422, "not_a_reader", "Admins cannot be case members: being admin grants no access to evidence.")
        if s.get(CaseMember, (c.id, u.id)):
            raise ApiError(409, "already_member", f"{u.username} is already a member.")
        versions = {str(x) for x in s.execute(select(CaseKeyVersion.version)
                                              .where(CaseKeyVersion.case_id == c.id)).scalars()}
        if set(body.sealed) != versions:
            raise ApiError(422, "key_coverage", "Seal every key version of the case to the new member.",
                           expected=sorted(versions))
        s.add(CaseMember(case_id=c.id, user_id=u.id, added_by=g.user.id))
        for version, sealed in body.sealed.items():
            s.add(CaseKey(case_id=c.id, version=int(version), recipient=f"user:{u.id}",
                          sealed=b64decode(sealed, "sealed", max_size=200)))
        v.audit(s, g.user.username, "member_added", "case:" + c.id, {"user": u.id, "role": u.role})
    return jsonify({"case_id": c.id, "user_id": u.id}), 201


@bp.delete("/cases/<case_id>/members/<user_id>")
@access("member")
@doc("Remove a member and rotate the case key for new items (the body carries the new version).",
     body=MemberRemoveIn)
def remove_member(case_id: str, user_id: str):
    body = json_body(MemberRemoveIn)
    v = _vault()
    with v.db.session() as s:
        c = member_case(s, case_id, g.user)
        if g.user.role != "lawyer":
            raise ApiError(403, "forbidden", "Only a lawyer who is a member can remove members.")
        if not s.get(CaseMember, (c.id, user_id)):
            raise not_found("member")
        remaining = [u.id for u in _members(s, c.id) if u.id != user_id]
        if not remaining:
            raise ApiError(409, "last_member", "A case needs at least one member.")
        if body.rotation.version != c.key_version + 1:
            raise ApiError(409, "stale_key_version", f"The new key version must be {c.key_version + 1}.")
        s.execute(delete(CaseMember).where(CaseMember.case_id == c.id, CaseMember.user_id == user_id))
        s.execute(delete(CaseKey).where(CaseKey.case_id == c.id, CaseKey.recipient == f"user:{user_id}"))
        _add_key_version(s, c, body.rotation, remaining, g.user)
        c.key_version = body.rotation.version
        v.audit(s, g.user.username, "member_removed", "case:" + c.id,
                {"user": user_id, "new_key_version": c.key_version})
    return jsonify({"case_id": c.id, "key_version": body.rotation.version})
