"""Administration: invitations, users, audit, recovery. An admin is not a reader:
nothing here returns case content or opens a case."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import delete, select

from vault.api.auth import user_public
from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.schemas import InviteIn, RecoveryGrantsIn
from vault.api.security import access
from vault.api.validation import b64, b64decode, json_body
from vault.db.models import ApiToken, AuditEntry, CaseKey, CaseMember, Invitation, User, new_id, utcnow
from vault.services import audit
from vault.storage.files import is_id

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


def _vault():
    return current_app.extensions["vault"]


def create_invitation(s, vault, role: str, actor: str, created_by: str | None, reset_user: User | None = None) -> dict:
    token = secrets.token_urlsafe(24)
    now = utcnow()
    inv = Invitation(id=new_id(), token_hash=hashlib.sha256(token.encode()).hexdigest(), role=role,
                     created_by=created_by, created_at=now,
                     expires_at=now + timedelta(seconds=vault.config.invite_lifetime_s),
                     reset_user_id=reset_user.id if reset_user else None)
    s.add(inv)
    vault.audit(s, actor, "invitation_created", "invitation:" + inv.id,
                {"role": role, "reset_user": reset_user.id if reset_user else None})
    return {"invitation": token, "role": role, "expires_at": inv.expires_at.isoformat() + "Z",
            "reset_username": reset_user.username if reset_user else None}


@bp.post("/invitations")
@access("admin")
@doc("Invite a person (or let an existing user re-key after a lost password). The token is shown once.",
     body=InviteIn, status=201)
def invite():
    body = json_body(InviteIn)
    v = _vault()
    with v.db.session() as s:
        reset = None
        if body.reset_username:
            reset = s.execute(select(User).where(User.username == body.reset_username)).scalar_one_or_none()
            if reset is None:
                raise ApiError(404, "not_found", "No such user.")
            if reset.role != body.role:
                raise ApiError(422, "invalid_fields", f"{reset.username} has the role {reset.role}.")
        out = create_invitation(s, v, body.role, g.user.username, g.user.id, reset)
    return jsonify(out), 201


@bp.get("/users")
@access("admin")
@doc("All accounts (names, roles, state, fingerprints).")
def users():
    with _vault().db.session() as s:
        rows = s.execute(select(User).order_by(User.username)).scalars().all()
        return jsonify({"users": [user_public(u) for u in rows]})


def _set_disabled(user_id: str, disabled: bool):
    v = _vault()
    with v.db.session() as s:
        u = s.get(User, user_id) if is_id(user_id) else None
        if u is None:
            raise ApiError(404, "not_found", "No such user.")
        if u.id == g.user.id and disabled:
            raise ApiError(409, "self_disable", "You cannot disable your own account.")
        u.disabled = disabled
        if disabled:
            s.execute(delete(ApiToken).where(ApiToken.user_id == u.id))  # effective at once
        v.audit(s, g.user.username, "user_disabled" if disabled else "user_enabled", "user:" + u.id)
        return jsonify(user_public(u))


@bp.post("/users/<user_id>/disable")
@access("admin")
@doc("Disable an account; its sessions end at once.")
def disable(user_id: str):
    return _set_disabled(user_id, True)


@bp.post("/users/<user_id>/enable")
@access("admin")
@doc("Enable an account again.")
def enable(user_id: str):
    return _set_disabled(user_id, False)


@bp.get("/audit")
@access("admin")
@doc("Audit log entries after ?after=<seq> (at most ?limit=, default 200).")
def audit_log():
    try:
        after = int(request.args.get("after", "0"))
        limit = min(1000, max(1, int(request.args.get("limit", "200"))))
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", "after and limit must be whole numbers.") from exc
    if not 0 <= after < 2**31:
        raise ApiError(400, "bad_parameter", "after must be between 0 and 2147483647.")
    with _vault().db.session() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
                         .limit(limit)).scalars().all()
        return jsonify({"entries": [
            {"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action, "object": e.object,
             "details": e.details, "prev_hash": e.prev_hash, "hash": e.hash} for e in rows]})


@bp.get("/audit/verify")
@access("admin")
@doc("Verify the audit chain and its signed checkpoints.")
def audit_verify():
    v = _vault()
    with v.db.session() as s:
        return jsonify(audit.verify(s, v.sign_public, checkpoint_every=v.config.audit_checkpoint_every).as_dict())


@bp.get("/recovery/<user_id>")
@access("admin")
@doc("For re-granting a re-keyed user: the recovery-sealed keys of that user's cases (useless without the paper kit).")
def recovery_material(user_id: str):
    v = _vault()
    with v.db.session() as s:
        u = s.get(User, user_id) if is_id(user_id) else None
        if u is None:
            raise ApiError(404, "not_found", "No such user.")
        case_ids = list(s.execute(select(CaseMember.case_id).where(CaseMember.user_id == u.id)).scalars())
        keys = s.execute(select(CaseKey).where(CaseKey.case_id.in_(case_ids), CaseKey.recipient == "recovery")
                         ).scalars().all() if case_ids else []
        v.audit(s, g.user.username, "recovery_material_read", "user:" + u.id, {"cases": len(case_ids)})
        return jsonify({"user": user_public(u), "keys": [
            {"case_id": k.case_id, "version": k.version, "sealed": b64(k.sealed)} for k in keys]})


@bp.post("/recovery/<user_id>/grants")
@access("admin")
@doc("Store case keys re-sealed (by the recovery kit holder's client) to a re-keyed user's new key.",
     body=RecoveryGrantsIn)
def recovery_grants(user_id: str):
    body = json_body(RecoveryGrantsIn)
    v = _vault()
    with v.db.session() as s:
        u = s.get(User, user_id) if is_id(user_id) else None
        if u is None:
            raise ApiError(404, "not_found", "No such user.")
        member_of = set(s.execute(select(CaseMember.case_id).where(CaseMember.user_id == u.id)).scalars())
        for grant in body.grants:
            if grant.case_id not in member_of:
                raise ApiError(422, "not_a_member", "Recovery can only restore keys of the user's own cases.")
            s.execute(delete(CaseKey).where(CaseKey.case_id == grant.case_id, CaseKey.version == grant.version,
                                            CaseKey.recipient == f"user:{u.id}"))
            s.add(CaseKey(case_id=grant.case_id, version=grant.version, recipient=f"user:{u.id}",
                          sealed=b64decode(grant.sealed, "sealed", max_size=200)))
        v.audit(s, g.user.username, "recovery_granted", "user:" + u.id, {"grants": len(body.grants)})
    return jsonify({"granted": len(body.grants)})
