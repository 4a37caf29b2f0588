"""The server's side of trust from people (docs/trust.md), driven through the Flask test client.

The server stores certificates and membership entries and checks them
against its own view; these tests build every key and statement themselves,
as a client would, so they do not depend on the Python client.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, select

from tests.conftest import TEST_SETTINGS
from vault import crypto, ops
from vault.crypto import b64e
from vault.db.models import CaseEntry, Invitation
from vault.domain import trust
from vault.services.tokens import token_hash

NOW = "2026-12-02T10:00:00Z"


@dataclass
class Person:
    id: str
    username: str
    role: str
    keys: crypto.UserKeys
    token: str
    password: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def view(self) -> dict:
        return {"id": self.id, "username": self.username, "box_public": b64e(self.keys.box_public),
                "sign_public": b64e(self.keys.sign_public)}


def ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.get_json()


def refused(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    err = resp.get_json()["error"]
    assert err["code"] == code, err
    return err


def invitation_id(app, token: str) -> str:
    with app.extensions["vault"].db.session() as s:
        return s.execute(select(Invitation.id).where(Invitation.token_hash == token_hash(token))).scalar_one()


def first_admin(app, code: str, kit_secret: bytes) -> tuple[str, bytes]:
    """The token and the secret of the first admin's invitation, a bare token or a full code."""
    if code.startswith("vault-invite-v1:"):
        token = code.split(":")[1]
    else:
        token = code
    inv_id = invitation_id(app, token)
    return token, crypto.invitation_secret(crypto.root_sign_seed(kit_secret), inv_id, "admin")


def register(client, invitation: str, secret: bytes | None = None, *, username: str) -> Person:
    """What a client does: make keys, bind them to the invitation's secret, register, sign in."""
    password = "pw-" + secrets.token_hex(8)
    salt = crypto.random_bytes(crypto.SALT_BYTES)
    master = crypto.derive_master_key(password, salt, crypto.KDF_TEST_ONLY)
    keys = crypto.UserKeys.generate()
    binding = crypto.invitation_binding(secret or secrets.token_bytes(16), username, keys.box_public,
                                        keys.sign_public)
    body = {"invitation": invitation, "username": username, "kdf_salt": b64e(salt),
            "kdf_params": crypto.KDF_TEST_ONLY, "auth_key": b64e(crypto.auth_key(master)),
            "box_public": b64e(keys.box_public), "sign_public": b64e(keys.sign_public),
            "enc_private_keys": b64e(crypto.encrypt_user_keys(crypto.key_encryption_key(master), username, keys)),
            "binding": b64e(binding)}
    user = ok(client.post("/api/v1/auth/register", json=body), 201)["user"]
    login = ok(client.post("/api/v1/auth/login", json={"username": username, "auth_key": body["auth_key"]}))
    return Person(user["id"], username, user["role"], keys, login["token"], password)


@dataclass
class World:
    org: trust.Organisation
    root_seed: bytes
    admin: Person


@pytest.fixture
def world(env, app, client) -> World:
    """The first admin (invited on the server machine, so the root's secret), and the root set."""
    root_seed = crypto.root_sign_seed(env.recovery_secret)
    recovery_public = crypto.box_public_from_secret(env.recovery_secret)
    org = trust.Organisation(recovery_public, crypto.sign_public_from_seed(root_seed))
    admin = register(client, *first_admin(app, env.admin_invitation, env.recovery_secret), username="admin")
    proof = crypto.sign_detached(root_seed, crypto.statement_message("root", b64e(recovery_public)))
    ok(client.post("/api/v1/admin/org/root", headers=admin.headers,
                   json={"root_sign_public": b64e(org.root_sign_public), "proof": b64e(proof)}))
    return World(org, root_seed, admin)


def cert_for(w: World, p: Person, seed: bytes, **changes) -> dict:
    fields = {"org": w.org, "user_id": p.id, "username": p.username, "role": p.role,
              "box_public": p.keys.box_public, "sign_public": p.keys.sign_public, **changes}
    return trust.certify(seed, fields["org"], fields["user_id"], fields["username"], fields["role"],
                         fields["box_public"], fields["sign_public"], NOW)


def certify(client, w: World, p: Person, seed: bytes, by: Person | None = None, **changes):
    return client.post(f"/api/v1/admin/users/{p.id}/certificate", headers=(by or w.admin).headers,
                       json={"certificate": cert_for(w, p, seed, **changes)})


def invite(client, admin: Person, role: str, **extra) -> tuple[str, str]:
    out = ok(client.post("/api/v1/admin/invitations", headers=admin.headers, json={"role": role, **extra}), 201)
    return out["invitation"], out["id"]


def newcomer(client, admin: Person, role: str, username: str) -> Person:
    token, inv_id = invite(client, admin, role)
    return register(client, token, crypto.invitation_secret(admin.keys.sign_seed, inv_id, role), username=username)


# ---------------------------------------------------------------- the root and certificates


@pytest.fixture
def rootless(tmp_path, db_url):
    """A vault made before roots: `vault server init` without one (set later with `vault org init-root`)."""
    from vault.app import create_app
    from vault.config import load_config
    from vault.domain import recovery_kit

    cfg = load_config(tmp_path / "data", database_url=db_url, **TEST_SETTINGS)
    pub, files = recovery_kit.write_kit(tmp_path / "kit")
    v = ops.init(cfg, pub)
    token = ops.invite(v, "admin")["invitation"]
    v.db.dispose()
    application = create_app(cfg)
    yield application, recovery_kit.load_kit(files[0]), token
    application.extensions["vault"].db.dispose()


def test_params_show_the_root_and_the_first_admin_waits_for_it(rootless):
    app, kit_secret, token = rootless
    client = app.test_client()
    params = ok(client.get("/api/v1/auth/params"))
    assert params["root_sign_public"] is None and params["org_fingerprint"] is None
    root_seed = crypto.root_sign_seed(kit_secret)
    admin = register(client, *first_admin(app, token, kit_secret), username="admin")
    # Without a root nothing can be certified.
    recovery_public = crypto.box_public_from_secret(kit_secret)
    org = trust.Organisation(recovery_public, crypto.sign_public_from_seed(root_seed))
    w = World(org, root_seed, admin)
    refused(certify(client, w, admin, root_seed), 409, "no_root")
    # A proof from some other kit is refused; the right one sets the root once.
    other = crypto.root_sign_seed(secrets.token_bytes(32))
    bad = crypto.sign_detached(other, crypto.statement_message("root", b64e(recovery_public)))
    refused(client.post("/api/v1/admin/org/root", headers=admin.headers,
                        json={"root_sign_public": b64e(org.root_sign_public), "proof": b64e(bad)}), 422, "bad_proof")
    proof = crypto.sign_detached(root_seed, crypto.statement_message("root", b64e(recovery_public)))
    body = {"root_sign_public": b64e(org.root_sign_public), "proof": b64e(proof)}
    out = ok(client.post("/api/v1/admin/org/root", headers=admin.headers, json=body))
    assert out["org_fingerprint"] == org.fingerprint and out["set"] is True
    again = ok(client.post("/api/v1/admin/org/root", headers=admin.headers, json=body))
    assert again["set"] is False
    # A different root, even properly proved, is refused once one is set.
    other_proof = crypto.sign_detached(other, crypto.statement_message("root", b64e(recovery_public)))
    refused(client.post("/api/v1/admin/org/root", headers=admin.headers, json={
        "root_sign_public": b64e(crypto.sign_public_from_seed(other)), "proof": b64e(other_proof)}),
        409, "root_exists")
    params = ok(client.get("/api/v1/auth/params"))
    assert params["root_sign_public"] == b64e(org.root_sign_public)
    assert params["org_fingerprint"] == org.fingerprint
    audit = ok(client.get("/api/v1/admin/audit", headers=admin.headers))["entries"]
    assert [e["action"] for e in audit].count("org_root_set") == 1


def test_root_certifies_the_first_admin_who_certifies_a_lawyer(app, client, world):
    w = world
    pending = ok(client.get("/api/v1/admin/pending", headers=w.admin.headers))["pending"]
    assert [p["username"] for p in pending] == ["admin"]
    first = pending[0]
    assert first["invited_by"] is None and first["invited_by_id"] is None and first["role"] == "admin"
    assert first["sign_public"] == b64e(w.admin.keys.sign_public)
    assert len(crypto.b64d(first["binding"])) == 32 and first["registered_at"].endswith("Z")

    lawyer = newcomer(client, w.admin, "lawyer", "aigul")
    # Before the admin is certified, their certificate for the lawyer is refused.
    err = refused(certify(client, w, lawyer, w.admin.keys.sign_seed), 422, "bad_certificate")
    assert "not certified" in err["message"]

    assert ok(certify(client, w, w.admin, w.root_seed)) == {"user_id": w.admin.id, "certified": True}
    pending = ok(client.get("/api/v1/admin/pending", headers=w.admin.headers))["pending"]
    assert [p["username"] for p in pending] == ["aigul"]
    entry = pending[0]
    assert (entry["invited_by"], entry["invited_by_id"], entry["role"]) == ("admin", w.admin.id, "lawyer")
    # The inviter's client re-derives the secret and checks the binding before it certifies.
    secret = crypto.invitation_secret(w.admin.keys.sign_seed, entry["invitation_id"], entry["role"])
    assert crypto.b64d(entry["binding"]) == crypto.invitation_binding(
        secret, entry["username"], crypto.b64d(entry["box_public"]), crypto.b64d(entry["sign_public"]))

    ok(certify(client, w, lawyer, w.admin.keys.sign_seed))
    assert ok(client.get("/api/v1/admin/pending", headers=w.admin.headers))["pending"] == []
    seen = ok(client.get("/api/v1/users/aigul", headers=lawyer.headers))
    assert len(seen["certificates"]) == 2
    c = trust.verify_user(seen, w.org)
    assert c.path == ("aigul", "admin") and c.role == "lawyer" and not c.may_certify
    me = ok(client.get("/api/v1/me", headers=w.admin.headers))
    assert trust.verify_user(me, w.org).may_certify
    listed = ok(client.get("/api/v1/admin/users", headers=w.admin.headers))["users"]
    assert all(len(u["certificates"]) >= 1 for u in listed)
    audit = ok(client.get("/api/v1/admin/audit", headers=w.admin.headers))["entries"]
    certified = [e for e in audit if e["action"] == "user_certified"]
    assert [e["object"] for e in certified] == [f"user:{w.admin.id}", f"user:{lawyer.id}"]


def test_certificates_that_say_something_else_are_refused(app, client, world):
    w = world
    ok(certify(client, w, w.admin, w.root_seed))
    lawyer = newcomer(client, w.admin, "lawyer", "aigul")
    medic = newcomer(client, w.admin, "medic", "bakyt")
    seed = w.admin.keys.sign_seed
    cases = {
        "box_public": {"box_public": crypto.UserKeys.generate().box_public},
        "sign_public": {"sign_public": crypto.UserKeys.generate().sign_public},
        "role": {"role": "admin"},
        "username": {"username": "someone"},
        "user_id": {"user_id": medic.id},
        "organisation": {"org": trust.Organisation(w.org.recovery_public, crypto.UserKeys.generate().sign_public)},
    }
    for what, change in cases.items():
        err = refused(certify(client, w, lawyer, seed, **change), 422, "bad_certificate")
        assert what in err["message"], (what, err)
    # Signed by a lawyer (even a certified one), or by a key no one registered.
    ok(certify(client, w, medic, seed))
    refused(certify(client, w, lawyer, medic.keys.sign_seed), 422, "bad_certificate")
    refused(certify(client, w, lawyer, crypto.UserKeys.generate().sign_seed), 422, "bad_certificate")
    # A tampered signature, and a statement of the wrong kind.
    good = cert_for(w, lawyer, seed)
    bad = {**good, "signature": b64e(secrets.token_bytes(64))}
    refused(client.post(f"/api/v1/admin/users/{lawyer.id}/certificate", headers=w.admin.headers,
                        json={"certificate": bad}), 422, "bad_certificate")
    refused(client.post(f"/api/v1/admin/users/{lawyer.id}/certificate", headers=w.admin.headers,
                        json={"certificate": {**good, "kind": "case-entry"}}), 422, "bad_certificate")
    # A certificate made for one account is no good for another.
    refused(client.post(f"/api/v1/admin/users/{medic.id}/certificate", headers=w.admin.headers,
                        json={"certificate": good}), 422, "bad_certificate")
    seen = ok(client.get("/api/v1/users/aigul", headers=lawyer.headers))
    assert seen["certificates"] == []
    # An admin certified by an uncertified admin cannot certify either.
    second = newcomer(client, w.admin, "admin", "second")
    refused(certify(client, w, lawyer, second.keys.sign_seed), 422, "bad_certificate")
    ok(certify(client, w, second, seed))
    ok(certify(client, w, lawyer, second.keys.sign_seed, by=second))
    chain = ok(client.get("/api/v1/users/aigul", headers=lawyer.headers))["certificates"]
    assert trust.verify_chain(chain, w.org).path == ("aigul", "second", "admin")


def test_a_reset_takes_the_account_back_to_pending(app, client, world):
    w = world
    ok(certify(client, w, w.admin, w.root_seed))
    lawyer = newcomer(client, w.admin, "lawyer", "aigul")
    ok(certify(client, w, lawyer, w.admin.keys.sign_seed))
    token, inv_id = invite(client, w.admin, "lawyer", reset_username="aigul")
    again = register(client, token, crypto.invitation_secret(w.admin.keys.sign_seed, inv_id, "lawyer"),
                     username="aigul")
    assert again.id == lawyer.id
    seen = ok(client.get("/api/v1/users/aigul", headers=again.headers))
    assert seen["certificates"] == [] and seen["sign_public"] == b64e(again.keys.sign_public)
    pending = ok(client.get("/api/v1/admin/pending", headers=w.admin.headers))["pending"]
    assert [(p["username"], p["invitation_id"]) for p in pending] == [("aigul", inv_id)]
    # The old certificate names the old keys: refused; a new one for the new keys is accepted.
    refused(certify(client, w, lawyer, w.admin.keys.sign_seed), 422, "bad_certificate")
    ok(certify(client, w, again, w.admin.keys.sign_seed))


def test_registration_needs_a_binding(env, client):
    body = {"invitation": env.admin_invitation, "username": "admin", "kdf_salt": b64e(b"s" * 16),
            "kdf_params": crypto.KDF_TEST_ONLY, "auth_key": b64e(b"a" * 32), "box_public": b64e(b"b" * 32),
            "sign_public": b64e(b"c" * 32), "enc_private_keys": b64e(b"e" * 80)}
    refused(client.post("/api/v1/auth/register", json=body), 422, "invalid_fields")
    refused(client.post("/api/v1/auth/register", json={**body, "binding": b64e(b"x" * 31)}), 422, "invalid_fields")


# ---------------------------------------------------------------- membership chains


@dataclass
class Case:
    id: str
    keys: dict[int, bytes]  # version -> case key


def check_of(case: Case, version: int) -> str:
    return crypto.case_key_check(case.keys[version])


def key_version(case_id: str, version: int, key: bytes, signer: Person, members: list[Person],
                recovery_public: bytes) -> dict:
    check = crypto.case_key_check(key)
    sealed = {f"user:{m.id}": b64e(crypto.seal(m.keys.box_public, key)) for m in members}
    sealed["recovery"] = b64e(crypto.seal(recovery_public, key))
    return {"version": version, "check": check, "sealed": sealed,
            "signature": b64e(signer.keys.sign(crypto.case_key_message(case_id, version, check)))}


def state_of(client, case_id: str, who: Person) -> trust.CaseState:
    return trust.replay(case_id, ok(client.get(f"/api/v1/cases/{case_id}", headers=who.headers))["chain"])


def entry(st: trust.CaseState, op: str, member: dict, version: int, check: str, signer: Person,
          seed: bytes | None = None, signer_id: str | None = None) -> dict:
    return trust.make_entry(st, op, trust.member_of(member), version, check, signer_id or signer.id,
                            seed or signer.keys.sign_seed, NOW)


def open_case(client, w: World, lawyer: Person, **entry_changes) -> tuple[Case, object]:
    case_id = secrets.token_hex(16)
    key = crypto.random_key()
    kv = key_version(case_id, 1, key, lawyer, [lawyer], w.org.recovery_public)
    e = entry(trust.CaseState(case_id), "create", lawyer.view, 1, kv["check"], lawyer, **entry_changes)
    resp = client.post("/api/v1/cases", headers=lawyer.headers, json={
        "id": case_id, "reference": "KG-" + secrets.token_hex(3), "title": "t", "key": kv, "entry": e})
    return Case(case_id, {1: key}), resp


def add(client, case: Case, by: Person, who: Person, e: dict | None = None):
    sealed = {str(v): b64e(crypto.seal(who.keys.box_public, k)) for v, k in case.keys.items()}
    if e is None:
        st = state_of(client, case.id, by)
        e = entry(st, "add", who.view, st.key_version, st.checks[st.key_version], by)
    return client.post(f"/api/v1/cases/{case.id}/members", headers=by.headers,
                       json={"username": who.username, "sealed": sealed, "entry": e})


def remove(client, w: World, case: Case, by: Person, who: Person, remaining: list[Person], **entry_args):
    st = state_of(client, case.id, by)
    version = max(case.keys) + 1
    key = crypto.random_key()
    kv = key_version(case.id, version, key, by, remaining, w.org.recovery_public)
    args = {"op": "remove", "member": who.view, "version": version, "check": kv["check"], "signer": by,
            **entry_args}
    e = entry(st, args.pop("op"), args.pop("member"), args.pop("version"), args.pop("check"), args.pop("signer"),
              **args)
    resp = client.delete(f"/api/v1/cases/{case.id}/members/{who.id}", headers=by.headers,
                         json={"rotation": kv, "entry": e})
    if resp.status_code == 200:
        case.keys[version] = key
    return resp


@pytest.fixture
def team(client, world):
    ok(certify(client, world, world.admin, world.root_seed))
    people = [newcomer(client, world.admin, role, name)
              for role, name in (("lawyer", "aigul"), ("medic", "bakyt"), ("lawyer", "cholpon"))]
    return people


def test_a_case_starts_its_chain_and_grows_it(client, world, team):
    aigul, bakyt, cholpon = team
    case, resp = open_case(client, world, aigul)
    ok(resp, 201)
    detail = ok(client.get(f"/api/v1/cases/{case.id}", headers=aigul.headers))
    assert len(detail["chain"]) == 1 and set(detail["chain"][0]) == {"kind", "payload", "signer", "signature"}
    assert all("certificates" in m for m in detail["members"])
    ok(add(client, case, aigul, bakyt), 201)
    ok(add(client, case, aigul, cholpon), 201)
    st = state_of(client, case.id, bakyt)
    assert st.seq == 3 and set(st.members) == {aigul.id, bakyt.id, cholpon.id} and st.key_version == 1
    ok(remove(client, world, case, aigul, bakyt, [aigul, cholpon]))
    st = state_of(client, case.id, cholpon)
    assert st.seq == 4 and set(st.members) == {aigul.id, cholpon.id} and st.key_version == 2
    assert st.checks[2] == check_of(case, 2)
    # The newcomer after a rotation is added at the current version.
    ok(add(client, case, cholpon, bakyt), 201)
    assert state_of(client, case.id, aigul).seq == 5


def test_a_create_entry_must_be_the_creators(client, world, team):
    aigul, bakyt, _ = team
    _, resp = open_case(client, world, aigul, seed=bakyt.keys.sign_seed)
    refused(resp, 422, "bad_entry")
    _, resp = open_case(client, world, aigul, signer_id=bakyt.id)
    refused(resp, 422, "bad_entry")
    assert ok(client.get("/api/v1/cases", headers=aigul.headers))["cases"] == []


def test_entries_that_do_not_follow_or_do_not_match_are_refused(client, world, team):
    aigul, bakyt, cholpon = team
    case, resp = open_case(client, world, aigul)
    ok(resp, 201)
    st = state_of(client, case.id, aigul)
    check = st.checks[1]
    wrong_seq = trust.CaseState(case.id, st.seq + 1, st.head, st.members, st.key_version, st.checks)
    wrong_prev = trust.CaseState(case.id, st.seq, "0" * 64, st.members, st.key_version, st.checks)
    outsider_keys = crypto.UserKeys.generate()
    bad = {
        "wrong seq": entry(wrong_seq, "add", bakyt.view, 1, check, aigul),
        "wrong prev": entry(wrong_prev, "add", bakyt.view, 1, check, aigul),
        "signed by another": entry(st, "add", bakyt.view, 1, check, aigul, seed=outsider_keys.sign_seed),
        "signer id of another": entry(st, "add", bakyt.view, 1, check, aigul, signer_id=cholpon.id),
        "other keys": entry(st, "add", {**bakyt.view, "box_public": b64e(outsider_keys.box_public)}, 1, check,
                            aigul),
        "another member": entry(st, "add", cholpon.view, 1, check, aigul),
        "a version that is not the current": entry(st, "add", bakyt.view, 2, check, aigul),
        "another commitment": entry(st, "add", bakyt.view, 1, "f" * 64, aigul),
        "a remove": entry(st, "remove", aigul.view, 2, check, aigul),
    }
    for what, e in bad.items():
        err = refused(add(client, case, aigul, bakyt, e), 422, "bad_entry")
        assert err["message"], what
    assert len(ok(client.get(f"/api/v1/cases/{case.id}", headers=aigul.headers))["chain"]) == 1
    ok(add(client, case, aigul, bakyt), 201)
    # An entry another member signed follows the chain, but it is not the caller's.
    st = state_of(client, case.id, aigul)
    err = refused(add(client, case, aigul, cholpon, entry(st, "add", cholpon.view, 1, check, bakyt)),
                  422, "bad_entry")
    assert "signed by you" in err["message"]
    ok(add(client, case, aigul, cholpon), 201)
    # Removals must carry the rotation they come with, and name the person removed.
    refused(remove(client, world, case, aigul, bakyt, [aigul, cholpon], check="e" * 64), 422, "bad_entry")
    refused(remove(client, world, case, aigul, bakyt, [aigul, cholpon], version=3), 422, "bad_entry")
    refused(remove(client, world, case, aigul, bakyt, [aigul, cholpon], member=cholpon.view), 422, "bad_entry")
    refused(remove(client, world, case, aigul, bakyt, [aigul, cholpon], op="add"), 422, "bad_entry")
    ok(remove(client, world, case, aigul, bakyt, [aigul, cholpon]))
    assert state_of(client, case.id, aigul).key_version == 2


def _forget_chain(app, case_id: str) -> None:
    """A case as a vault from before chains has it."""
    with app.extensions["vault"].db.session() as s:
        s.execute(delete(CaseEntry).where(CaseEntry.case_id == case_id))


def test_adopting_a_case_from_before_chains(app, client, world, team):
    aigul, bakyt, cholpon = team
    case, resp = open_case(client, world, aigul)
    ok(resp, 201)
    ok(add(client, case, aigul, bakyt), 201)
    ok(add(client, case, aigul, cholpon), 201)
    ok(remove(client, world, case, aigul, cholpon, [aigul, bakyt]))
    _forget_chain(app, case.id)
    assert ok(client.get(f"/api/v1/cases/{case.id}", headers=aigul.headers))["chain"] == []
    refused(add(client, case, aigul, cholpon, {"kind": "case-entry", "payload": "{}", "signer": b64e(b"k" * 32),
                                               "signature": b64e(b"s" * 64)}), 409, "no_chain")

    def adoption(signer: Person, members: list[Person], version: int = 2, seed: bytes | None = None):
        st = trust.CaseState(case.id)
        out = []
        for i, m in enumerate(members):
            e = entry(st, "create" if i == 0 else "add", m.view, version, check_of(case, 2), signer, seed=seed)
            st = trust.apply_entry(st, e)
            out.append(e)
        return out

    def adopt(who: Person, entries: list[dict]):
        return client.post(f"/api/v1/cases/{case.id}/chain", headers=who.headers, json={"entries": entries})

    refused(adopt(aigul, adoption(aigul, [aigul])), 422, "bad_entry")  # bakyt left out
    refused(adopt(aigul, adoption(aigul, [aigul, bakyt, cholpon])), 422, "bad_entry")  # cholpon was removed
    refused(adopt(aigul, adoption(aigul, [aigul, bakyt], version=1)), 422, "bad_entry")  # an old key version
    refused(adopt(aigul, adoption(bakyt, [bakyt, aigul])), 422, "bad_entry")  # signed by someone else
    refused(adopt(cholpon, adoption(cholpon, [cholpon, aigul, bakyt])), 404, "not_found")  # not a member
    assert ok(client.get(f"/api/v1/cases/{case.id}", headers=aigul.headers))["chain"] == []
    out = ok(adopt(bakyt, adoption(bakyt, [bakyt, aigul])), 201)
    assert out["seq"] == 2
    st = state_of(client, case.id, aigul)
    assert set(st.members) == {aigul.id, bakyt.id} and st.key_version == 2
    refused(adopt(bakyt, adoption(bakyt, [bakyt, aigul])), 409, "chain_exists")
    ok(add(client, case, aigul, cholpon), 201)


def test_finish_is_refused_for_an_upload_begun_before_a_rotation(client, world, team):
    aigul, bakyt, _ = team
    case, resp = open_case(client, world, aigul)
    ok(resp, 201)
    ok(add(client, case, aigul, bakyt), 201)
    data = secrets.token_bytes(300)
    up = ok(client.post(f"/api/v1/cases/{case.id}/uploads", headers=aigul.headers, json={
        "size": len(data), "key_version": 1, "metadata": {"title": "x", "evidence_type": "photo"}}), 201)
    ok(client.put(f"/api/v1/uploads/{up['upload_id']}", headers=aigul.headers, data=data,
                  query_string={"offset": 0}, content_type="application/octet-stream"))
    ok(remove(client, world, case, aigul, bakyt, [aigul]))
    finish = {"ciphertext_sha256": crypto.sha256_hex(data), "sealed_manifest": b64e(b"m" * 64),
              "wrapped_key": b64e(b"w" * 72), "receipt_signature": b64e(b"r" * 64)}
    err = refused(client.post(f"/api/v1/uploads/{up['upload_id']}/finish", headers=aigul.headers, json=finish),
                  409, "stale_key_version")
    assert err["key_version"] == 2
