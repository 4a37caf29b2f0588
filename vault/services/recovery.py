"""The server's side of recovery: giving a re-keyed account back its case keys.

After a lost password the account re-registers with new keys (a reset
invitation) and loses every case key sealed to the old ones. The holder of
the organisation's paper recovery kit reads the recovery-sealed copies of
that user's case keys, re-seals them on their own machine to the new key,
and the server stores the result. The server only ever sees sealed keys.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, select

from vault import crypto
from vault.db.models import CaseKey, CaseMember, User
from vault.services.errors import Refused
from vault.services.fields import b64_field
from vault.services.users import get_user, user_public
from vault.services.vault import Vault


class GrantInput(Protocol):
    """One case key version re-sealed to the user (base64 still undecoded)."""

    case_id: str
    version: int
    sealed: str


def recovery_material(v: Vault, admin: User, user_id: str) -> dict:
    """The recovery-sealed keys of the user's cases, for the kit holder; the read is audited."""
    with v.db.session() as s:
        u = get_user(s, user_id)
        case_ids = list(s.execute(select(CaseMember.case_id).where(CaseMember.user_id == u.id)).scalars())
        keys = s.execute(select(CaseKey).where(CaseKey.case_id.in_(case_ids), CaseKey.recipient == "recovery")
                         ).scalars().all() if case_ids else []
        v.audit(s, admin.username, "recovery_material_read", "user:" + u.id, {"cases": len(case_ids)})
        return {"user": user_public(u), "keys": [
            {"case_id": k.case_id, "version": k.version, "sealed": crypto.b64e(k.sealed)} for k in keys]}


def recovery_grants(v: Vault, admin: User, user_id: str, grants: list[GrantInput]) -> dict:
    """Store re-sealed case keys for the user, only for cases they are a member of."""
    with v.db.session() as s:
        u = get_user(s, user_id)
        member_of = set(s.execute(select(CaseMember.case_id).where(CaseMember.user_id == u.id)).scalars())
        for grant in grants:
            if grant.case_id not in member_of:
                raise Refused(422, "not_a_member", "Recovery can only restore keys of the user's own cases.")
            s.execute(delete(CaseKey).where(CaseKey.case_id == grant.case_id, CaseKey.version == grant.version,
                                            CaseKey.recipient == f"user:{u.id}"))
            s.add(CaseKey(case_id=grant.case_id, version=grant.version, recipient=f"user:{u.id}",
                          sealed=b64_field(grant.sealed, "sealed", max_size=200)))
        v.audit(s, admin.username, "recovery_granted", "user:" + u.id, {"grants": len(grants)})
    return {"granted": len(grants)}
