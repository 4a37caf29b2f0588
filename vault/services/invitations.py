"""Invitations: the one-time tokens that let a person register, or an account re-key.

An admin (or `vault server invite` on the server machine) creates one for a
role; a reset invitation names an existing account, whose owner registers
again with new keys after a lost password. The token is shown once and
stored hashed (vault.services.tokens).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import crypto
from vault.db.models import Invitation, User, new_id, utcnow
from vault.services.errors import Refused
from vault.services.tokens import INVITATION_TOKEN_BYTES, new_token, token_hash
from vault.services.users import find_user, no_such_user
from vault.services.vault import Vault


def create_invitation(v: Vault, s: Session, role: str, actor: str, created_by: str | None,
                      reset_user: User | None = None) -> dict:
    """Store a new invitation inside the caller's transaction; what to hand to the invitee."""
    token = new_token(INVITATION_TOKEN_BYTES)
    now = utcnow()
    inv = Invitation(id=new_id(), token_hash=token_hash(token), role=role,
                     created_by=created_by, created_at=now,
                     expires_at=now + timedelta(seconds=v.config.invite_lifetime_s),
                     reset_user_id=reset_user.id if reset_user else None)
    s.add(inv)
    v.audit(s, actor, "invitation_created", "invitation:" + inv.id,
            {"role": role, "reset_user": reset_user.id if reset_user else None})
    return {"invitation": token, "id": inv.id, "role": role, "expires_at": inv.expires_at.isoformat() + "Z",
            "reset_username": reset_user.username if reset_user else None}


def invite(v: Vault, admin: User, role: str, reset_username: str | None = None) -> dict:
    """An admin invites a person, or (with `reset_username`) lets an account re-key."""
    with v.db.session() as s:
        reset = None
        if reset_username:
            reset = find_user(s, reset_username)
            if reset is None:
                raise no_such_user()
            if reset.role != role:
                raise Refused(422, "invalid_fields", f"{reset.username} has the role {reset.role}.")
        return create_invitation(v, s, role, admin.username, admin.id, reset)


def redeemable(s: Session, hashed: str) -> Invitation:
    """The unused, unexpired invitation with this token hash; otherwise what is wrong with it."""
    inv = s.execute(select(Invitation).where(Invitation.token_hash == hashed)).scalar_one_or_none()
    if inv is None:
        raise Refused(400, "invalid_invitation", "This invitation is not valid. Ask your admin for a new one.")
    if inv.used_at is not None:
        raise Refused(410, "invitation_used", "This invitation was already used. Ask your admin for a new one.")
    if inv.expires_at < utcnow():
        raise Refused(410, "invitation_expired", "This invitation has expired. Ask your admin for a new one.")
    return inv


def pending(v: Vault) -> list[dict]:
    """Accounts whose current keys have no certificate, with what their inviter's client checks.

    `invited_by` is None for an invitation made on the server machine: the
    root (the paper kit's holder) certifies those.
    """
    with v.db.session() as s:
        rows = s.execute(select(User).where(User.certificates.is_(None))
                         .order_by(User.created_at, User.username)).scalars().all()
        out = []
        for u in rows:
            inv = s.get(Invitation, u.invitation_id) if u.invitation_id else None
            inviter = s.get(User, inv.created_by) if inv is not None and inv.created_by else None
            registered = inv.used_at if inv is not None and inv.used_at else u.created_at
            out.append({
                "id": u.id, "username": u.username, "role": u.role,
                "box_public": crypto.b64e(u.box_public), "sign_public": crypto.b64e(u.sign_public),
                "binding": crypto.b64e(u.binding) if u.binding else None, "invitation_id": u.invitation_id,
                "invited_by": inviter.username if inviter else None,
                "invited_by_id": inviter.id if inviter else None,
                "registered_at": registered.isoformat() + "Z"})
        return out


def _open_view(s: Session, inv: Invitation) -> dict:
    creator = s.get(User, inv.created_by) if inv.created_by else None
    reset = s.get(User, inv.reset_user_id) if inv.reset_user_id else None
    return {"id": inv.id, "role": inv.role,
            "created_by": creator.username if creator else None,
            "created_at": inv.created_at.isoformat() + "Z", "expires_at": inv.expires_at.isoformat() + "Z",
            "reset_username": reset.username if reset else None}


def open_invitations(v: Vault) -> list[dict]:
    """Invitations that can still be used (unused, unexpired), newest first: role, creator, expiry.

    Never the token: only its hash is stored, and the list is for deciding
    what to revoke, not for handing a code out again. `created_by` is None
    for one made on the server machine (`vault server init|invite`).
    """
    with v.db.session() as s:
        rows = s.execute(select(Invitation).where(Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
                         .order_by(Invitation.created_at.desc(), Invitation.id)).scalars().all()
        return [_open_view(s, inv) for inv in rows]


def revoke(v: Vault, admin: User, invitation_id: str) -> dict:
    """Revoke an unused invitation: its token stops working at once (the row goes; the audit log keeps the fact)."""
    with v.db.session() as s:
        inv = s.get(Invitation, invitation_id) if len(invitation_id) == 32 else None
        if inv is None:
            raise Refused(404, "no_such_invitation", "There is no such invitation (it may have been revoked already).")
        if inv.used_at is not None:
            raise Refused(409, "invitation_used", "This invitation was already used: disable the account instead.")
        out = _open_view(s, inv)
        v.audit(s, admin.username, "invitation_revoked", "invitation:" + inv.id,
                {"role": inv.role, "reset_user": inv.reset_user_id})
        s.delete(inv)
        return {**out, "status": "revoked"}
