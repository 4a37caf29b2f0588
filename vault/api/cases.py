"""Cases and their members over HTTP. Membership, never the role, opens a case.

Case keys are made and sealed by members' clients; vault.services.cases
stores the sealed copies and each version's signed commitment, and checks
that a grant or rotation covers exactly the people it should.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from vault.api.openapi import doc
from vault.api.schemas import CaseIn, ChainIn, MemberIn, MemberRemoveIn
from vault.api.security import access
from vault.api.validation import json_body
from vault.services import cases

bp = Blueprint("cases", __name__, url_prefix="/api/v1")


def _vault():
    return current_app.extensions["vault"]


@bp.get("/cases")
@access("member")
@doc("The cases you are a member of.")
def list_cases():
    return jsonify({"cases": cases.list_cases(_vault(), g.user)})


@bp.post("/cases")
@access("lawyer")
@doc("Open a case. The client makes the case key and seals it to you and to the recovery key, and signs the "
     "membership chain's `create`.", body=CaseIn, status=201)
def create_case():
    body = json_body(CaseIn)
    return jsonify(cases.create_case(_vault(), g.user, body)), 201


@bp.get("/cases/<case_id>")
@access("member")
@doc("A case: its members, key versions with their signed commitments, its membership chain, and your sealed keys.")
def get_case(case_id: str):
    return jsonify(cases.case_detail(_vault(), g.user, case_id))


@bp.post("/cases/<case_id>/members")
@access("member")
@doc("Add a member: your client seals every key version of the case to the newcomer and signs the chain's `add`.",
     body=MemberIn, status=201)
def add_member(case_id: str):
    body = json_body(MemberIn)
    return jsonify(cases.add_member(_vault(), g.user, case_id, body.username, body.sealed,
                                    body.entry.model_dump())), 201


@bp.delete("/cases/<case_id>/members/<user_id>")
@access("member")
@doc("Remove a member and rotate the case key for new items (the body carries the new version and the chain's "
     "`remove`).",
     body=MemberRemoveIn)
def remove_member(case_id: str, user_id: str):
    body = json_body(MemberRemoveIn)
    return jsonify(cases.remove_member(_vault(), g.user, case_id, user_id, body.rotation, body.entry.model_dump()))


@bp.post("/cases/<case_id>/chain")
@access("member")
@doc("Adopt a case from before membership chains: its `create` (at the current key version) and one `add` per "
     "other member, all signed by you; only for a case without a chain, naming exactly its members.", body=ChainIn,
     status=201)
def adopt_chain(case_id: str):
    body = json_body(ChainIn)
    return jsonify(cases.adopt_chain(_vault(), g.user, case_id, [e.model_dump() for e in body.entries])), 201
