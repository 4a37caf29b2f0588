"""Cases, their members and their key versions. Membership, never the role, opens a case.

Case keys are made and sealed by members' clients; the server stores the
sealed copies and each version's signed commitment, and checks that a grant
or rotation covers exactly the people it should.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault import crypto
from vault.db.models import Case, CaseKey, CaseKeyVersion, CaseMember, Item, User
from vault.services import chain
from vault.services.access import READER_ROLES, member_case
from vault.services.errors import Refused, not_found
from vault.services.fields import b64_field
from vault.services.users import find_user, user_public
from vault.services.vault import Vault


class KeyVersionInput(Protocol):
    """A new case-key version as the client sends it (base64 still undecoded)."""

    version: int
    check: str
    signature: str
    sealed: dict[str, str]  # recipient ("user:<id>" or "recovery") -> sealed key


class CaseInput(Protocol):
    id: str
    reference: str
    title: str
    region: str | None
    key: KeyVersionInput
    entry: chain.StatementInput  # the chain's signed `create` entry (docs/trust.md)


def case_summary(s: Session, c: Case) -> dict:
    count = s.execute(select(func.count()).select_from(Item).where(Item.case_id == c.id)).scalar_one()
    return {"id": c.id, "reference": c.reference, "title": c.title, "region": c.region,
            "created_at": c.created_at.isoformat() + "Z", "key_version": c.key_version, "items": count}


def drop_user_case_keys(s: Session, user_id: str) -> None:
    """Forget every case key sealed to a user (their keys changed: the copies are useless)."""
    s.execute(delete(CaseKey).where(CaseKey.recipient == f"user:{user_id}"))


def _add_key_version(s: Session, case: Case, kv: KeyVersionInput, members: list[str], signer: User) -> None:
    """Store a key version after checking it covers every member and the recovery key."""
    expected = {f"user:{m}" for m in members} | {"recovery"}
    if set(kv.sealed) != expected:
        raise Refused(422, "key_coverage",
                      "The case key must be sealed to every member and to the recovery key, and no one else.",
                      expected=sorted(expected))
    sig = b64_field(kv.signature, "signature", size=64)
    try:
        crypto.verify_detached(signer.sign_public, crypto.case_key_message(case.id, kv.version, kv.check), sig)
    except crypto.BadSignature as exc:
        raise Refused(422, "bad_signature", "The key commitment is not signed by your registered key.") from exc
    s.add(CaseKeyVersion(case_id=case.id, version=kv.version, check=kv.check, created_by=signer.id,
                         signer_public=signer.sign_public, signature=sig))
    for recipient, sealed in kv.sealed.items():
        s.add(CaseKey(case_id=case.id, version=kv.version, recipient=recipient,
                      sealed=b64_field(sealed, "sealed", max_size=200)))


def _members(s: Session, case_id: str) -> list[User]:
    return list(s.execute(
        select(User).join(CaseMember, CaseMember.user_id == User.id).where(CaseMember.case_id == case_id)
        .order_by(User.username)
    ).scalars())


def list_cases(v: Vault, user: User) -> list[dict]:
    """The cases `user` is a member of, newest first."""
    with v.db.session() as s:
        rows = s.execute(
            select(Case).join(CaseMember, CaseMember.case_id == Case.id)
            .where(CaseMember.user_id == user.id).order_by(Case.created_at.desc())
        ).scalars().all()
        return [case_summary(s, c) for c in rows]


def create_case(v: Vault, user: User, body: CaseInput) -> dict:
    """Open a case with `user` as its only member and its first key version."""
    if body.key.version != 1:
        raise Refused(422, "invalid_fields", "A new case starts at key version 1.")
    try:
        with v.db.session() as s:
            if s.get(Case, body.id) is not None:
                raise Refused(409, "conflict", "A case with this id exists; retry with a new id.")
            if s.execute(select(Case).where(Case.reference == body.reference)).scalar_one_or_none():
                raise Refused(409, "reference_taken", "A case with this reference exists. Choose another reference.")
            c = Case(id=body.id, reference=body.reference, title=body.title, region=body.region,
                     created_by=user.id, key_version=1)
            s.add(c)
            s.add(CaseMember(case_id=c.id, user_id=user.id, added_by=user.id))
            s.flush()
            _add_key_version(s, c, body.key, [user.id], user)
            chain.append(s, c, chain.plain(body.entry), "create", user, user, (1, body.key.check))
            v.audit(s, user.username, "case_created", "case:" + c.id, {"reference": c.reference})
            out = case_summary(s, c)
    except IntegrityError as exc:
        # Two requests racing for the same id or reference: the loser's commit fails.
        raise Refused(409, "conflict", "The case could not be created (it already exists).") from exc
    return out


def case_detail(v: Vault, user: User, case_id: str) -> dict:
    """A case for one of its members: members, signed key commitments, the member's own sealed keys."""
    with v.db.session() as s:
        c = member_case(s, case_id, user)
        versions = s.execute(select(CaseKeyVersion).where(CaseKeyVersion.case_id == c.id)
                             .order_by(CaseKeyVersion.version)).scalars().all()
        mine = s.execute(select(CaseKey).where(CaseKey.case_id == c.id,
                                               CaseKey.recipient == f"user:{user.id}")).scalars().all()
        return {
            **case_summary(s, c),
            "members": [user_public(u) for u in _members(s, c.id)],
            "key_versions": [{"version": kv.version, "check": kv.check, "created_by": kv.created_by,
                              "signer_public": crypto.b64e(kv.signer_public),
                              "signature": crypto.b64e(kv.signature)}
                             for kv in versions],
            "my_keys": {str(k.version): crypto.b64e(k.sealed) for k in mine},
            "chain": chain.statements(s, c.id),
        }


def _racing(exc: IntegrityError) -> Refused:
    # Two members changing the case at once: both entries claim the same place in the chain.
    return Refused(409, "conflict", "The case changed meanwhile; reload it and try again.")


def add_member(v: Vault, actor: User, case_id: str, username: str, sealed: dict[str, str], entry: dict) -> dict:
    """A lawyer of the case adds a colleague, with every key version sealed to them and a signed `add`."""
    try:
        return _add_member(v, actor, case_id, username, sealed, entry)
    except IntegrityError as exc:
        raise _racing(exc) from exc


def _add_member(v: Vault, actor: User, case_id: str, username: str, sealed: dict[str, str], entry: dict) -> dict:
    with v.db.session() as s:
        c = member_case(s, case_id, actor)
        if actor.role != "lawyer":
            raise Refused(403, "forbidden", "Only a lawyer who is a member can add members.")
        u = find_user(s, username)
        if u is None or u.disabled:
            raise Refused(404, "not_found", "No such active user.")
        if u.role not in READER_ROLES:
            raise Refused(422, "not_a_reader", "Admins cannot be case members: being admin grants no access to evidence.")
        if s.get(CaseMember, (c.id, u.id)):
            raise Refused(409, "already_member", f"{u.username} is already a member.")
        versions = {str(x) for x in s.execute(select(CaseKeyVersion.version)
                                              .where(CaseKeyVersion.case_id == c.id)).scalars()}
        if set(sealed) != versions:
            raise Refused(422, "key_coverage", "Seal every key version of the case to the new member.",
                          expected=sorted(versions))
        chain.append(s, c, entry, "add", u, actor)
        s.add(CaseMember(case_id=c.id, user_id=u.id, added_by=actor.id))
        for version, key in sealed.items():
            s.add(CaseKey(case_id=c.id, version=int(version), recipient=f"user:{u.id}",
                          sealed=b64_field(key, "sealed", max_size=200)))
        v.audit(s, actor.username, "member_added", "case:" + c.id, {"user": u.id, "role": u.role})
    return {"case_id": c.id, "user_id": u.id}


def remove_member(v: Vault, actor: User, case_id: str, user_id: str, rotation: KeyVersionInput,
                  entry: dict) -> dict:
    """A lawyer of the case removes a member with a signed `remove`; new items use the rotated key."""
    try:
        return _remove_member(v, actor, case_id, user_id, rotation, entry)
    except IntegrityError as exc:
        raise _racing(exc) from exc


def _remove_member(v: Vault, actor: User, case_id: str, user_id: str, rotation: KeyVersionInput,
                   entry: dict) -> dict:
    with v.db.session() as s:
        c = member_case(s, case_id, actor)
        if actor.role != "lawyer":
            raise Refused(403, "forbidden", "Only a lawyer who is a member can remove members.")
        if not s.get(CaseMember, (c.id, user_id)):
            raise not_found("member")
        remaining = [u.id for u in _members(s, c.id) if u.id != user_id]
        if not remaining:
            raise Refused(409, "last_member", "A case needs at least one member.")
        if rotation.version != c.key_version + 1:
            raise Refused(409, "stale_key_version", f"The new key version must be {c.key_version + 1}.")
        chain.append(s, c, entry, "remove", s.get(User, user_id), actor, (rotation.version, rotation.check))
        s.execute(delete(CaseMember).where(CaseMember.case_id == c.id, CaseMember.user_id == user_id))
        s.execute(delete(CaseKey).where(CaseKey.case_id == c.id, CaseKey.recipient == f"user:{user_id}"))
        _add_key_version(s, c, rotation, remaining, actor)
        c.key_version = rotation.version
        v.audit(s, actor.username, "member_removed", "case:" + c.id,
                {"user": user_id, "new_key_version": c.key_version})
    return {"case_id": c.id, "key_version": rotation.version}


def adopt_chain(v: Vault, actor: User, case_id: str, entries: list[dict]) -> dict:
    """A member gives a case from before chains its chain: `create`, then an `add` per other member."""
    try:
        with v.db.session() as s:
            c = member_case(s, case_id, actor)
            st = chain.adopt(s, c, entries, actor, _members(s, c.id))
            v.audit(s, actor.username, "case_chain_adopted", "case:" + c.id,
                    {"members": len(st.members), "key_version": st.key_version})
    except IntegrityError as exc:
        raise _racing(exc) from exc
    return {"case_id": case_id, "seq": st.seq, "head": st.head}
