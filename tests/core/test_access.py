"""Deny by default, checked against the app's own URL map.

The routes are enumerated from `app.url_map`, so a route added later is
covered without touching this file: it must declare an audience, refuse
strangers, and answer 404 (never 200/403/500) to anyone who is not a member
of the case an id belongs to — admins included.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
from pathlib import Path

import pytest
from flask import Blueprint, Flask, jsonify
from sqlalchemy import select

from vault import crypto
from vault.api.security import AUDIENCES, access, enforce
from vault.client.http import ApiFailure
from vault.client.transfer import upload_file
from vault.db.models import Base

ID_PARAMS = {"case_id", "item_id", "upload_id"}
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


# --------------------------------------------------------------------------- helpers


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def view_of(app, rule):
    return app.view_functions[rule.endpoint]


def fill(rule, values: dict, default: str | None = None) -> str:
    def sub(m):
        name = m.group(1)
        if name not in values and default is not None:
            return default
        assert name in values, f"test_access: give a value for <{name}> of new route {rule.rule}"
        return values[name]

    return _PARAM.sub(sub, rule.rule)


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def snapshot(app) -> dict:
    """Every row of every table (except the tokens' sliding timestamps) and every stored file."""
    v = app.extensions["vault"]
    out = {}
    with v.db.session() as s:
        for table in Base.metadata.sorted_tables:
            # Tokens slide their timestamps; the outbox is drained by the indexer thread.
            if table.name in ("api_tokens", "search_outbox"):
                continue
            rows = s.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    for root in (v.config.upload_dir, v.config.blob_dir):
        out[str(root)] = sorted((str(p.relative_to(root)), p.stat().st_size)
                                for p in root.rglob("*") if p.is_file())
    return out


def diff(before: dict, after: dict) -> list[str]:
    return [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]


def fake_rotation(member_ids: list[str]) -> dict:
    sealed = {f"user:{m}": b64(secrets.token_bytes(80)) for m in member_ids}
    sealed["recovery"] = b64(secrets.token_bytes(80))
    return {"version": 2, "check": secrets.token_hex(32), "signature": b64(secrets.token_bytes(64)),
            "sealed": sealed}


def fake_statement(kind: str = "case-entry") -> dict:
    """Well-formed for the schema, signed by no one: the answer must be about access, never the signature."""
    return {"kind": kind, "payload": json.dumps({"v": 1, "kind": kind}), "signer": b64(secrets.token_bytes(32)),
            "signature": b64(secrets.token_bytes(64))}


def request_for(app, rule, method: str, ctx: dict) -> dict:
    """A well-formed request for `rule`: a body the schema accepts, so the answer is about access."""
    view = view_of(app, rule)
    info = getattr(view, "vault_doc", {}) or {}
    kw: dict = {}
    bodies = {
        "cases.add_member": lambda: {"username": ctx["actor_name"], "sealed": {"1": b64(secrets.token_bytes(80))},
                                     "entry": fake_statement()},
        "cases.remove_member": lambda: {"rotation": fake_rotation(ctx["remaining"]), "entry": fake_statement()},
        "cases.adopt_chain": lambda: {"entries": [fake_statement(), fake_statement()]},
        "admin.certify_user": lambda: {"certificate": fake_statement("cert")},
        "admin.set_root": lambda: {"root_sign_public": b64(secrets.token_bytes(32)),
                                   "proof": b64(secrets.token_bytes(64))},
        "uploads.start": lambda: {"size": 200, "key_version": 1,
                                  "metadata": {"title": "x", "evidence_type": "photo"}},
        "uploads.finish": lambda: ctx["finish_body"],
        "admin.invite": lambda: {"role": "lawyer"},
        "admin.recovery_grants": lambda: {"grants": []},
        "cases.create_case": lambda: {"id": secrets.token_hex(16), "reference": "KG-X-" + secrets.token_hex(3),
                                      "title": "t", "key": {**fake_rotation([ctx["actor_id"]]), "version": 1},
                                      "entry": fake_statement()},
        "auth.update_me": lambda: {"language": "ru"},
        "auth.totp_begin": lambda: {"current_auth_key": b64(secrets.token_bytes(32))},
        "auth.totp_confirm": lambda: {"code": "123456", "current_auth_key": b64(secrets.token_bytes(32))},
        "auth.totp_disable": lambda: {"code": "123456", "current_auth_key": b64(secrets.token_bytes(32))},
        "auth.prelogin": lambda: {"username": "someone"},
        "plugins.toggle_plugin": lambda: {"enabled": True},
        "exports.validate_export": lambda: {"exporter": "omct", "case_record": {}, "options": {"language": "en"}},
        "exports.sign_export": lambda: {"bundle_b64": b64(b"PK"), "signature_b64": b64(secrets.token_bytes(64))},
        "exports.record_export": lambda: {"exporter": "omct", "bundle_sha256": secrets.token_hex(32)},
    }
    model = info.get("body")
    if model is not None:
        assert rule.endpoint in bodies, f"test_access: add a well-formed body for new route {rule.endpoint}"
        body = bodies[rule.endpoint]()
        model.model_validate(body)  # well-formed, or this test is wrong
        kw["json"] = body
    elif info.get("binary"):
        kw["data"] = ctx["chunk"]
        kw["content_type"] = "application/octet-stream"
        kw["query_string"] = {"offset": ctx["received"]}
    return kw


def probe(app, client, token: str, ctx: dict, rules, expect: int = 404) -> list[str]:
    """Send every method of every rule; collect what did not answer `expect` with a JSON error.

    Also checks that nothing in the database or on disk changed, and that the
    answer for a real id is the same as for an id that does not exist (no oracle).
    """
    problems = []
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"OPTIONS"}):
            before = snapshot(app)
            path = fill(rule, ctx["ids"])
            kw = request_for(app, rule, method, ctx)
            resp = client.open(path, method=method, headers=bearer(token), **kw)
            after = snapshot(app)
            where = f"{method} {rule.rule} as {ctx['actor_name']}"
            if resp.status_code != expect:
                problems.append(f"{where}: {resp.status_code} {resp.get_data(as_text=True)[:200]}")
                continue
            if not resp.is_json:
                problems.append(f"{where}: not a JSON answer ({resp.content_type})")
                continue
            if method != "HEAD":
                err = (resp.get_json() or {}).get("error", {})
                if not (isinstance(err.get("code"), str) and isinstance(err.get("message"), str)):
                    problems.append(f"{where}: error body without code/message: {resp.get_json()}")
            changed = diff(before, after)
            if changed:
                problems.append(f"{where}: changed {changed}")
            # The same request with ids that do not exist gets the same status and code
            # (the full body is compared in test_404_body_does_not_reveal_that_an_item_exists).
            fake_ids = {k: secrets.token_hex(16) for k in ctx["ids"]}
            other = client.open(fill(rule, fake_ids), method=method, headers=bearer(token), **kw)
            code = (resp.get_json(silent=True) or {}).get("error", {}).get("code")
            other_code = (other.get_json(silent=True) or {}).get("error", {}).get("code")
            if other.status_code != resp.status_code or other_code != code:
                problems.append(f"{where}: answer differs from a non-existent id "
                                f"({other.status_code} {other.get_data(as_text=True)[:120]})")
    return problems


def start_partial_upload(sess, case_id: str, data: bytes = b"evidence bytes " * 100) -> dict:
    """An upload in progress (all but its last 40 bytes sent) and the body that would finish it."""
    case = sess.case(case_id)
    version = case["key_version"]
    case_key = sess.case_keys(case)[version]
    item_key = crypto.random_key()
    ct = b"".join(piece for _, piece in crypto.encrypt_chunks(item_key, io.BytesIO(data)))
    start = sess.http.post(f"/cases/{case_id}/uploads", {
        "size": len(ct), "key_version": version, "metadata": {"title": "partial", "evidence_type": "photo"}})
    upload_id, item_id = start["upload_id"], start["item_id"]
    sess.http.call("PUT", f"/uploads/{upload_id}", data=ct[:-40], params={"offset": 0},
                   headers={"Content-Type": "application/octet-stream"})
    manifest = {"v": 1, "item_id": item_id, "case_id": case_id, "sha256": crypto.sha256_hex(data),
                "size": len(data), "uploader": sess.username}
    sealed_manifest = crypto.seal_manifest(item_key, sess.keys, manifest, case_id, item_id)
    ct_hash = hashlib.sha256(ct).hexdigest()
    receipt = sess.keys.sign(crypto.receipt_message(item_id, case_id, version, ct_hash,
                                                    crypto.sha256_hex(sealed_manifest)))
    finish = {"ciphertext_sha256": ct_hash, "sealed_manifest": b64(sealed_manifest),
              "wrapped_key": b64(crypto.wrap_item_key(case_key, item_key, case_id, item_id, version)),
              "receipt_signature": b64(receipt)}
    return {"upload_id": upload_id, "item_id": item_id, "received": len(ct) - 40, "chunk": ct[-40:],
            "finish_body": finish}


def upload_item(sess, case_id: str, tmp_path: Path, name: str = "photo.jpg") -> str:
    src = tmp_path / name
    src.write_bytes(secrets.token_bytes(3000))
    return upload_file(sess, case_id, src, {"title": "x", "evidence_type": "photo"})["item_id"]


def id_rules(app):
    return [r for r in api_rules(app) if ID_PARAMS & set(r.arguments)]


def context(actor, up: dict, case_id: str, item_id: str, user_id: str, remaining: list[str]) -> dict:
    return {"ids": {"case_id": case_id, "item_id": item_id, "upload_id": up["upload_id"], "user_id": user_id},
            "actor_name": actor.username, "actor_id": actor.me["id"], "remaining": remaining,
            "finish_body": up["finish_body"], "chunk": up["chunk"], "received": up["received"]}


# --------------------------------------------------------------------------- declarations


def test_every_route_declares_an_audience(app):
    rules = api_rules(app)
    assert len(rules) > 20
    undeclared = [r.rule for r in rules if getattr(view_of(app, r), "vault_access", None) not in AUDIENCES]
    assert undeclared == []
    # Admin routes are for admins only; every case/item/upload route is a member route.
    for r in rules:
        audience = view_of(app, r).vault_access
        if r.rule.startswith("/api/v1/admin/"):
            assert audience == "admin", r.rule
        if ID_PARAMS & set(r.arguments):
            assert audience == "member", r.rule


def test_enforce_refuses_an_undeclared_route():
    app = Flask("bare")

    @app.get("/api/v1/declared")
    @access("public")
    def declared():
        return jsonify({})

    @app.get("/api/v1/forgotten")
    def forgotten():
        return jsonify({})

    with pytest.raises(RuntimeError, match="/api/v1/forgotten"):
        enforce(app)


def test_create_app_refuses_an_undeclared_blueprint(env, monkeypatch):
    from vault.api import routes
    from vault.app import create_app

    real = routes.register_api
    bp = Blueprint("sneaky", __name__, url_prefix="/api/v1")

    @bp.get("/cases/<case_id>/everything")
    def everything(case_id):
        return jsonify({"leak": case_id})

    def register_with_extra(app):
        real(app)
        app.register_blueprint(bp)

    monkeypatch.setattr(routes, "register_api", register_with_extra)
    with pytest.raises(RuntimeError, match="everything"):
        create_app(env.config)


def test_access_rejects_unknown_audience():
    with pytest.raises(ValueError):
        access("everyone")


# --------------------------------------------------------------------------- strangers


def test_no_token_or_garbage_token_is_401(app, client):
    rules = [r for r in api_rules(app) if view_of(app, r).vault_access != "public"]
    ids = {p: secrets.token_hex(16) for p in ("case_id", "item_id", "upload_id", "user_id")} | {"username": "aigul"}
    problems = []
    for rule in rules:
        for method in sorted(rule.methods or set()):
            path = fill(rule, ids, default=secrets.token_hex(16))
            for headers in ({}, {"Authorization": "Bearer " + secrets.token_urlsafe(32)},
                            {"Authorization": "Bearer "}, {"Authorization": "Basic YWRtaW46YWRtaW4="},
                            {"Authorization": "Bearer " + "x" * 500}):
                resp = client.open(path, method=method, headers=headers, json={})
                if resp.status_code != 401 or not resp.is_json:
                    problems.append(f"{method} {rule.rule} {list(headers.values())[:1]}: {resp.status_code}")
                elif method != "HEAD" and resp.get_json()["error"]["code"] not in ("unauthenticated",
                                                                                    "session_expired"):
                    problems.append(f"{method} {rule.rule}: code {resp.get_json()['error']}")
    assert not problems, "\n".join(problems)


def test_admin_routes_refuse_readers(people, app, client):
    rules = [r for r in api_rules(app) if r.rule.startswith("/api/v1/admin/")]
    assert rules
    ids = {"user_id": people.medic.me["id"]}
    ctx = {"actor_name": "aigul", "actor_id": people.lawyer.me["id"]}
    problems = []
    for who in (people.lawyer, people.medic):
        for rule in rules:
            for method in sorted((rule.methods or set()) - {"OPTIONS"}):
                before = snapshot(app)
                resp = client.open(fill(rule, ids, default=secrets.token_hex(16)), method=method,
                                   headers=bearer(who.http.token),
                                   **request_for(app, rule, method, ctx))
                if resp.status_code != 403 or not resp.is_json:
                    problems.append(f"{method} {rule.rule} as {who.username}: {resp.status_code}")
                if diff(before, snapshot(app)):
                    problems.append(f"{method} {rule.rule} as {who.username}: changed something")
    assert not problems, "\n".join(problems)


def test_outsider_and_admin_get_404_on_every_case_route(people, app, client, tmp_path):
    item_id = upload_item(people.lawyer, people.case_id, tmp_path)
    up = start_partial_upload(people.lawyer, people.case_id)
    rules = id_rules(app)
    assert {r.endpoint for r in rules} >= {"cases.get_case", "items.content", "uploads.finish", "uploads.chunk"}
    members_before = [m["username"] for m in people.lawyer.case(people.case_id)["members"]]
    problems = []
    for actor in (people.outsider, people.admin):
        ctx = context(actor, up, people.case_id, item_id, people.medic.me["id"], [people.lawyer.me["id"]])
        problems += probe(app, client, actor.http.token, ctx, rules)
    assert not problems, "\n".join(problems)
    # Nothing changed, seen through the API as well.
    case = people.lawyer.case(people.case_id)
    assert [m["username"] for m in case["members"]] == members_before == ["aigul", "bakyt"]
    assert case["items"] == 1
    status = people.lawyer.http.get(f"/uploads/{up['upload_id']}")
    assert status["received"] == up["received"]
    # … and the lawyer can still finish the upload the strangers poked at.
    people.lawyer.http.call("PUT", f"/uploads/{up['upload_id']}", data=up["chunk"],
                            params={"offset": up["received"]}, headers={"Content-Type": "application/octet-stream"})
    done = people.lawyer.http.post(f"/uploads/{up['upload_id']}/finish", up["finish_body"])
    assert done["item_id"] == up["item_id"]


def test_a_member_cannot_touch_another_members_upload(people, app, client):
    up = start_partial_upload(people.lawyer, people.case_id)
    rules = [r for r in id_rules(app) if "upload_id" in r.arguments]
    ctx = context(people.medic, up, people.case_id, secrets.token_hex(16), people.lawyer.me["id"], [])
    problems = probe(app, client, people.medic.http.token, ctx, rules)
    assert not problems, "\n".join(problems)


def test_admin_sees_no_cases_and_cannot_be_a_member(people, app, client):
    with pytest.raises(ApiFailure) as e:
        people.admin.http.get("/cases")
    assert e.value.status == 404
    member_rules = [r for r in api_rules(app) if view_of(app, r).vault_access == "member"]
    for rule in member_rules:
        for method in sorted((rule.methods or set()) - {"OPTIONS"}):
            resp = client.open(fill(rule, {p: secrets.token_hex(16) for p in rule.arguments}), method=method,
                               headers=bearer(people.admin.http.token))
            assert resp.status_code == 404, (method, rule.rule, resp.status_code)
    before = snapshot(app)
    with pytest.raises(ApiFailure) as e:
        people.lawyer.add_member(people.case_id, "admin")
    assert (e.value.status, e.value.code) == (422, "not_a_reader")
    assert diff(before, snapshot(app)) == []
    # Creating a case is for lawyers only.
    for who in (people.admin, people.medic):
        with pytest.raises(ApiFailure) as e:
            who.create_case("KG-ADM-1", "t")
        assert e.value.status == 403


def test_medic_sees_only_cases_he_was_added_to(people, app, client, tmp_path):
    other = people.lawyer.create_case("KG-2026-002", "Second case", "bishkek")
    assert [c["id"] for c in people.medic.cases()] == [people.case_id]
    assert {c["id"] for c in people.lawyer.cases()} == {people.case_id, other["id"]}
    assert people.outsider.cases() == []
    item_id = upload_item(people.lawyer, other["id"], tmp_path)
    up = start_partial_upload(people.lawyer, other["id"])
    ctx = context(people.medic, up, other["id"], item_id, people.lawyer.me["id"], [people.lawyer.me["id"]])
    problems = probe(app, client, people.medic.http.token, ctx, id_rules(app))
    assert not problems, "\n".join(problems)
    # The case he is in still works for him.
    assert people.medic.case(people.case_id)["id"] == people.case_id


def test_removed_member_gets_404(people, app, client, tmp_path):
    item_id = upload_item(people.lawyer, people.case_id, tmp_path)
    mine = start_partial_upload(people.medic, people.case_id)  # the medic's own upload, in progress
    assert people.medic.http.get(f"/items/{item_id}")["id"] == item_id
    people.lawyer.remove_member(people.case_id, "bakyt")
    assert people.medic.cases() == []
    ctx = context(people.medic, mine, people.case_id, item_id, people.lawyer.me["id"], [people.lawyer.me["id"]])
    problems = probe(app, client, people.medic.http.token, ctx, id_rules(app))
    assert not problems, "\n".join(problems)
    case = people.lawyer.case(people.case_id)
    assert [m["username"] for m in case["members"]] == ["aigul"]
    assert case["key_version"] == 2


def test_options_is_not_an_oracle(people, app, client):
    """Flask answers OPTIONS itself; it must say the same for a real and an invented id."""
    for rule in id_rules(app):
        real = client.options(fill(rule, {"case_id": people.case_id}, default=secrets.token_hex(16)),
                              headers=bearer(people.outsider.http.token))
        fake = client.options(fill(rule, {p: secrets.token_hex(16) for p in rule.arguments}),
                              headers=bearer(people.outsider.http.token))
        assert (real.status_code, real.get_data()) == (fake.status_code, fake.get_data())
        assert real.get_data() == b""


def test_404_body_does_not_reveal_that_an_item_exists(people, client, tmp_path):
    item_id = upload_item(people.lawyer, people.case_id, tmp_path)
    for path in ("/api/v1/items/{}", "/api/v1/items/{}/content"):
        real = client.get(path.format(item_id), headers=bearer(people.outsider.http.token))
        fake = client.get(path.format(secrets.token_hex(16)), headers=bearer(people.outsider.http.token))
        assert real.status_code == fake.status_code == 404
        assert real.get_json() == fake.get_json()


def test_invitations_are_listed_without_their_token_and_revoked(people, app, client, client_home):
    """GET /admin/invitations lists the open invitations (role, creator, expiry, never the token); DELETE revokes
    one, audited, and its code no longer registers anyone. Readers get 403 (test_admin_routes_refuse_readers)."""
    from vault.client.session import register

    admin = people.admin
    made = admin.invite("medic")
    listed = admin.http.get("/admin/invitations")["invitations"]
    mine = next(i for i in listed if i["id"] == made["id"])
    assert mine["role"] == "medic" and mine["created_by"] == admin.username and mine["expires_at"].endswith("Z")
    assert set(mine) == {"id", "role", "created_by", "created_at", "expires_at", "reset_username"}
    assert made["invitation"] not in json.dumps(listed)
    used = {i["id"] for i in listed} - {made["id"]}
    resp = client.delete(f"/api/v1/admin/invitations/{made['id']}", headers=bearer(admin.http.token))
    assert resp.status_code == 200 and resp.get_json()["status"] == "revoked"
    assert made["id"] not in {i["id"] for i in admin.http.get("/admin/invitations")["invitations"]}
    entry = admin.http.get("/admin/audit?limit=1000")["entries"][-1]
    assert (entry["action"], entry["object"], entry["actor"]) == ("invitation_revoked", "invitation:" + made["id"],
                                                                  admin.username)
    with pytest.raises(ApiFailure) as refused:
        register(people.admin.url, made["code"], "revoked-one", "revoked-password-1", home=client_home("revoked"))
    assert refused.value.code == "invalid_invitation"
    again = client.delete(f"/api/v1/admin/invitations/{made['id']}", headers=bearer(admin.http.token))
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "no_such_invitation"
    # A used invitation is not "open" and cannot be revoked (disable the account instead).
    with app.extensions["vault"].db.session() as s:
        from vault.db.models import User

        used_id = s.get(User, people.lawyer.me["id"]).invitation_id
    assert used_id not in used
    gone = client.delete(f"/api/v1/admin/invitations/{used_id}", headers=bearer(admin.http.token))
    assert gone.status_code == 409 and gone.get_json()["error"]["code"] == "invitation_used"
