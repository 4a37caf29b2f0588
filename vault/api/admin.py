"""Administration over HTTP: invitations, users, audit, recovery. An admin is not a reader:
nothing here returns case content or opens a case."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.schemas import CertificateIn, InviteIn, RecoveryGrantsIn, RootIn
from vault.api.security import access
from vault.api.validation import b64decode, json_body
from vault.services import accounts, audit, invitations, recovery
from vault.services import users as user_service

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


def _vault():
    return current_app.extensions["vault"]


@bp.post("/invitations")
@access("admin")
@doc("Invite a person (or let an existing user re-key after a lost password). The token is shown once; `id` "
     "is what the inviter's client derives the invitation's secret from.",
     body=InviteIn, status=201)
def invite():
    body = json_body(InviteIn)
    return jsonify(invitations.invite(_vault(), g.user, body.role, body.reset_username)), 201


@bp.get("/invitations")
@access("admin")
@doc("Invitations that can still be used (unused and unexpired), newest first: id, role, created_by (null when "
     "made on the server machine), created_at, expires_at and reset_username. Never the token.")
def open_invitations():
    return jsonify({"invitations": invitations.open_invitations(_vault())})


@bp.delete("/invitations/<invitation_id>")
@access("admin")
@doc("Revoke an unused invitation: its token no longer registers anyone (audited `invitation_revoked`; "
     "404 no_such_invitation, 409 invitation_used).")
def revoke_invitation(invitation_id: str):
    return jsonify(invitations.revoke(_vault(), g.user, invitation_id))


@bp.get("/users")
@access("admin")
@doc("All accounts (names, roles, state, fingerprints).")
def users():
    return jsonify({"users": accounts.list_users(_vault())})


@bp.post("/users/<user_id>/disable")
@access("admin")
@doc("Disable an account; its sessions end at once.")
def disable(user_id: str):
    return jsonify(accounts.set_disabled(_vault(), g.user, user_id, True))


@bp.post("/users/<user_id>/enable")
@access("admin")
@doc("Enable an account again.")
def enable(user_id: str):
    return jsonify(accounts.set_disabled(_vault(), g.user, user_id, False))


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
        return jsonify({"entries": audit.entries(s, after, limit)})


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
    return jsonify(recovery.recovery_material(_vault(), g.user, user_id))


@bp.post("/recovery/<user_id>/grants")
@access("admin")
@doc("Store case keys re-sealed (by the recovery kit holder's client) to a re-keyed user's new key.",
     body=RecoveryGrantsIn)
def recovery_grants(user_id: str):
    body = json_body(RecoveryGrantsIn)
    return jsonify(recovery.recovery_grants(_vault(), g.user, user_id, body.grants))


@bp.get("/pending")
@access("admin")
@doc("Accounts whose current keys have no certificate, with the invitation binding their inviter's client checks "
     "before it certifies them (invited_by is null for invitations made on the server machine).")
def pending():
    return jsonify({"pending": invitations.pending(_vault())})


@bp.post("/users/<user_id>/certificate")
@access("admin")
@doc("Store a certificate for a user's current keys, signed by the organisation root or by an admin whose own "
     "certificate chain verifies (422 bad_certificate otherwise).", body=CertificateIn)
def certify_user(user_id: str):
    body = json_body(CertificateIn)
    return jsonify(user_service.certify_user(_vault(), g.user, user_id, body.certificate.model_dump()))


@bp.post("/org/root")
@access("admin")
@doc("Set the organisation root once, with the root's signature over this vault's recovery key as proof "
     "(409 root_exists if a different one is set).", body=RootIn)
def set_root():
    body = json_body(RootIn)
    root = b64decode(body.root_sign_public, "root_sign_public", size=32)
    proof = b64decode(body.proof, "proof", size=64)
    return jsonify(user_service.set_root(_vault(), g.user, root, proof))
