"""The vault against its own server: what an attacker with the database, or in front of gunicorn, tries.

Two kinds of attacker, both real: writes straight into the database (a
seized or broken-into server), and a rewriting HTTP proxy in front of real
gunicorn (a server that answers what it likes). For each attack the client
refuses with a message saying what failed, seals nothing to a key the
attacker made, and encrypts nothing under a key version it cannot verify.
The browser's side of the same attacks is tests/web/test_browser_trust.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select

from tests.conftest import TEST_ENV, Gunicorn, certified_admin, invited, make_people, person
from tests.rewriting_proxy import RewritingProxy
from vault import crypto
from vault.client.session import TrustError, register
from vault.client.transfer import download_item, upload_file
from vault.crypto import b64e
from vault.db.models import Case, CaseKey, CaseKeyVersion, CaseMember, Item, User, new_id
from vault.domain import trust
from vault.services.vault import open_vault

META = {"title": "Injuries", "evidence_type": "photo"}


@pytest.fixture
def bad(env, client_home, tmp_path):
    """People signed in through a proxy that is honest until a test gives it something to do."""
    g = Gunicorn(env, workers=2)
    box = {"rewrite": None}
    proxy = RewritingProxy(g.url, lambda m, p, st, b: box["rewrite"](m, p, st, b) if box["rewrite"] else None)
    v = open_vault(env.config)
    try:
        people = make_people(proxy.url, env, client_home)
        yield SimpleNamespace(people=people, proxy=proxy, box=box, env=env, v=v, tmp=tmp_path, home=client_home)
    finally:
        proxy.stop()
        g.stop()
        v.db.dispose()


def _file(tmp, name="photo.jpg", size=20_000):
    p = tmp / name
    p.write_bytes(os.urandom(size))
    return p


def _items(v) -> int:
    with v.db.session() as s:
        return s.execute(select(func.count()).select_from(Item)).scalar_one()


def _inject_mallory(v, case_id: str, *, with_entry: bool, with_cert: bool) -> crypto.UserKeys:
    """As an attacker with the database: a member 'mallory', keys they made, a case-key version v+1 they hold."""
    mk = crypto.UserKeys.generate()
    fake_kit = crypto.random_key()
    fake_org = trust.Organisation(crypto.box_public_from_secret(fake_kit),
                                  crypto.sign_public_from_seed(crypto.root_sign_seed(fake_kit)))
    with v.db.session() as s:
        c = s.get(Case, case_id)
        mid = new_id()
        u = User(id=mid, username="mallory", role="lawyer", kdf_salt=os.urandom(16), kdf_params=dict(crypto.KDF_TEST_ONLY),
                 auth_hash="x", box_public=mk.box_public, sign_public=mk.sign_public, enc_private_keys=b"x")
        if with_cert:  # a certificate chain the attacker can make: to a root of their own
            cert = trust.certify(crypto.root_sign_seed(fake_kit), fake_org, mid, "mallory", "lawyer",
                                 mk.box_public, mk.sign_public, "2026-12-01T00:00:00Z")
            u.certificates = json.dumps([cert])
        s.add(u)
        s.flush()
        s.add(CaseMember(case_id=case_id, user_id=mid, added_by=mid))
        version = c.key_version + 1
        key = crypto.random_key()
        check = crypto.case_key_check(key)
        s.add(CaseKeyVersion(case_id=case_id, version=version, check=check, created_by=mid,
                             signer_public=mk.sign_public,
                             signature=mk.sign(crypto.case_key_message(case_id, version, check))))
        members = s.execute(select(User).join(CaseMember, CaseMember.user_id == User.id)
                            .where(CaseMember.case_id == case_id)).scalars().all()
        for m in members:
            s.add(CaseKey(case_id=case_id, version=version, recipient=f"user:{m.id}",
                          sealed=crypto.seal(m.box_public, key)))
        s.add(CaseKey(case_id=case_id, version=version, recipient="recovery",
                      sealed=crypto.seal(v.recovery_public(s), key)))
        c.key_version = version
        if with_entry:
            from vault.db.models import CaseEntry

            rows = s.execute(select(CaseEntry).where(CaseEntry.case_id == case_id)
                             .order_by(CaseEntry.seq)).scalars().all()
            chain = [{"kind": trust.ENTRY, "payload": r.payload, "signer": b64e(r.signer_public),
                      "signature": b64e(r.signature)} for r in rows]
            st = trust.replay(case_id, chain)
            entry = trust.make_entry(st, "add", {"user_id": mid, "username": "mallory", "box_public": b64e(mk.box_public),
                                                 "sign_public": b64e(mk.sign_public)},
                                     st.key_version, st.checks[st.key_version], mid, mk.sign_seed, "2026-12-01T00:00:00Z")
            s.add(CaseEntry(case_id=case_id, seq=st.seq + 1, payload=entry["payload"], signer_public=mk.sign_public,
                            signature=crypto.b64d(entry["signature"]), hash=trust.statement_id(entry)))
    return mk


def _nothing_sealed_to(v, keys: crypto.UserKeys, after_items: int) -> None:
    """The attacker's keys open nothing added after the attack: no new item, no key sealed to them by a client."""
    assert _items(v) == after_items
    with v.db.session() as s:
        mallory = s.execute(select(User).where(User.username == "mallory")).scalar_one()
        rows = s.execute(select(CaseKey).where(CaseKey.recipient == f"user:{mallory.id}")).scalars().all()
    for r in rows:  # only what the attacker wrote themselves, under the version they made up
        with pytest.raises(crypto.DecryptionError):
            crypto.unseal(os.urandom(32), r.sealed)


# ------------------------------------------------------------------ database writes


@pytest.mark.parametrize("with_entry,with_cert", [(False, False), (True, False), (True, True)],
                         ids=["member-only", "with-chain-entry", "with-chain-entry-and-own-root"])
def test_injected_member_and_key_version_are_refused(bad, with_entry, with_cert):
    p = bad.people
    before = _items(bad.v)
    mk = _inject_mallory(bad.v, p.case_id, with_entry=with_entry, with_cert=with_cert)
    for who in (p.lawyer, p.medic):
        with pytest.raises(TrustError) as exc:
            upload_file(who, p.case_id, _file(bad.tmp), META)
        msg = str(exc.value)
        assert "mallory" in msg or "not a member" in msg or "key version" in msg, msg
    with pytest.raises(TrustError):  # nor can anyone be added on top of it
        p.lawyer.add_member(p.case_id, "outsider")
    _nothing_sealed_to(bad.v, mk, before)


def test_mallory_with_a_certificate_from_another_root_is_not_trusted(bad):
    p = bad.people
    case2 = p.lawyer.create_case("KG-2026-002", "Second case")["id"]
    _inject_mallory(bad.v, p.case_id, with_entry=False, with_cert=True)
    with pytest.raises(TrustError) as exc:
        p.lawyer.add_member(case2, "mallory")
    assert "another organisation" in str(exc.value) and "mallory" in str(exc.value)
    case = p.lawyer.case(case2)
    assert [m["username"] for m in case["members"]] == ["aigul"]


def test_rollback_to_a_version_the_removed_member_holds_is_refused(bad):
    p = bad.people
    p.lawyer.remove_member(p.case_id, "bakyt")
    from vault.db.models import CaseEntry

    before = _items(bad.v)
    with bad.v.db.session() as s:  # back to v1 and a chain without the removal, bakyt a member again
        medic = s.execute(select(User).where(User.username == "bakyt")).scalar_one()
        last = s.execute(select(func.max(CaseEntry.seq)).where(CaseEntry.case_id == p.case_id)).scalar_one()
        s.execute(delete(CaseEntry).where(CaseEntry.case_id == p.case_id, CaseEntry.seq == last))
        s.execute(delete(CaseKey).where(CaseKey.case_id == p.case_id, CaseKey.version == 2))
        s.execute(delete(CaseKeyVersion).where(CaseKeyVersion.case_id == p.case_id, CaseKeyVersion.version == 2))
        s.add(CaseMember(case_id=p.case_id, user_id=medic.id, added_by=medic.id))
        s.get(Case, p.case_id).key_version = 1
    with pytest.raises(TrustError) as exc:
        upload_file(p.lawyer, p.case_id, _file(bad.tmp), META)
    assert "older or different history" in str(exc.value)
    assert _items(bad.v) == before


def test_a_removed_member_opens_nothing_added_after_removal(bad):
    p = bad.people
    p.lawyer.remove_member(p.case_id, "bakyt")
    src = _file(bad.tmp, "after.jpg")
    item = upload_file(p.lawyer, p.case_id, src, META)
    with bad.v.db.session() as s:
        row = s.get(Item, item["item_id"])
        assert row.key_version == 2
        medic = s.execute(select(User).where(User.username == "bakyt")).scalar_one()
        # Every sealed copy of version 2 is for someone else: the medic's v1 key is all they ever had.
        recipients = s.execute(select(CaseKey.recipient).where(CaseKey.case_id == p.case_id,
                                                                CaseKey.version == 2)).scalars().all()
    assert f"user:{medic.id}" not in recipients
    with pytest.raises(Exception):  # noqa: B017 - refused by the server (404) and no key to open it anyway
        download_item(p.medic, item["item_id"], bad.tmp / "m.jpg")


def test_a_journal_begun_before_a_rotation_starts_again_under_the_new_version(bad):
    p = bad.people
    src = _file(bad.tmp, "big.bin", 3 * 1024 * 1024)

    class Stop(Exception):
        pass

    def stop_after_first(n):
        if n > 0:
            raise Stop

    with pytest.raises(Stop):
        upload_file(p.lawyer, p.case_id, src, META, progress=stop_after_first)
    p.lawyer.remove_member(p.case_id, "bakyt")
    out = upload_file(p.lawyer, p.case_id, src, META)
    assert out["resumed_from"] == 0
    assert p.lawyer.http.get(f"/items/{out['item_id']}")["key_version"] == 2


def test_finish_under_a_rotated_version_is_refused_by_the_server(bad):
    import io

    from vault.client.http import ApiFailure

    p = bad.people
    ct = b"".join(piece for _, piece in crypto.encrypt_chunks(crypto.random_key(), io.BytesIO(b"x" * 100)))
    start = p.lawyer.http.post(f"/cases/{p.case_id}/uploads", {"size": len(ct), "key_version": 1, "metadata": META})
    p.lawyer.http.call("PUT", f"/uploads/{start['upload_id']}", data=ct, params={"offset": 0},
                       headers={"Content-Type": "application/octet-stream"})
    p.lawyer.remove_member(p.case_id, "bakyt")
    with pytest.raises(ApiFailure) as exc:
        p.lawyer.http.post(f"/uploads/{start['upload_id']}/finish", {
            "ciphertext_sha256": crypto.sha256_hex(ct), "sealed_manifest": b64e(b"x" * 80), "wrapped_key": b64e(b"x" * 80),
            "receipt_signature": b64e(b"x" * 64)})
    assert (exc.value.status, exc.value.code) == (409, "stale_key_version")


# ------------------------------------------------------------------ a rewriting proxy


def _swap_keys(username: str, fake: crypto.UserKeys):
    def rewrite(method, path, status, body):
        if method == "GET" and path == f"/api/v1/users/{username}" and status == 200:
            return {**body, "box_public": b64e(fake.box_public), "sign_public": b64e(fake.sign_public),
                    "fingerprint": body["fingerprint"]}  # the genuine fingerprint, as the attack in #11 showed
        return None
    return rewrite


def test_add_member_with_swapped_keys_is_refused_and_nothing_is_sealed(bad):
    p = bad.people
    case2 = p.lawyer.create_case("KG-2026-003", "Third case")["id"]
    fake = crypto.UserKeys.generate()
    bad.box["rewrite"] = _swap_keys("bakyt", fake)
    with pytest.raises(TrustError) as exc:
        p.lawyer.add_member(case2, "bakyt")
    assert "not the certified ones" in str(exc.value)
    # Even with the genuine fingerprint given, as if compared in person: computed here, it differs.
    genuine = crypto.fingerprint(p.medic.keys.box_public, p.medic.keys.sign_public)
    with pytest.raises(TrustError) as exc:
        p.lawyer.add_member(case2, "bakyt", expect_fingerprint=genuine)
    assert "not the one you compared" in str(exc.value)
    assert ("POST", f"/api/v1/cases/{case2}/members") not in bad.proxy.seen


def test_cli_add_member_with_swapped_keys_refuses_and_prints_the_computed_fingerprint(bad):
    p = bad.people
    case2 = p.lawyer.create_case("KG-2026-004", "Fourth case")["id"]
    fake = crypto.UserKeys.generate()
    bad.box["rewrite"] = _swap_keys("bakyt", fake)
    genuine = crypto.fingerprint(p.medic.keys.box_public, p.medic.keys.sign_public)
    env = {**os.environ, **TEST_ENV, "VAULT_URL": bad.proxy.url, "VAULT_CLIENT_HOME": str(p.lawyer.home),
           "VAULT_PASSWORD": "lawyer-password-1"}
    out = subprocess.run([sys.executable, "-m", "vault.cli", "case", "add-member", case2, "bakyt",
                          "--fingerprint", genuine], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert crypto.fingerprint(fake.box_public, fake.sign_public) in out.stderr + out.stdout
    assert ("POST", f"/api/v1/cases/{case2}/members") not in bad.proxy.seen


def test_registration_with_swapped_organisation_keys_sends_nothing(bad):
    fake_kit = crypto.random_key()

    def rewrite(method, path, status, body):
        if path == "/api/v1/auth/params":
            return {**body, "recovery_public": b64e(crypto.box_public_from_secret(fake_kit)),
                    "root_sign_public": b64e(crypto.sign_public_from_seed(crypto.root_sign_seed(fake_kit)))}
        return None

    code = bad.people.admin.invite("lawyer")["code"]
    bad.box["rewrite"] = rewrite
    n = len(bad.proxy.seen)
    with pytest.raises(TrustError) as exc:
        register(bad.proxy.url, code, "nurlan", "nurlan-password-1", home=bad.home("nurlan"))
    assert "do not go on" in str(exc.value)
    assert bad.proxy.seen[n:] == [("GET", "/api/v1/auth/params")]


def test_a_swapped_recovery_key_after_registration_is_never_sealed_to(bad):
    fake_kit = crypto.random_key()

    def rewrite(method, path, status, body):
        if path == "/api/v1/auth/params":
            return {**body, "recovery_public": b64e(crypto.box_public_from_secret(fake_kit))}
        return None

    bad.box["rewrite"] = rewrite
    case = bad.people.lawyer.create_case("KG-2026-005", "Fifth case")
    with bad.v.db.session() as s:
        row = s.execute(select(CaseKey).where(CaseKey.case_id == case["id"],
                                              CaseKey.recipient == "recovery")).scalar_one()
    crypto.unseal(bad.env.recovery_secret, row.sealed)  # the pinned, genuine recovery key opens it


def test_pending_keys_swapped_by_the_server_are_never_certified(bad):
    p = bad.people
    code = p.admin.invite("medic")["code"]
    person(bad.proxy.url, bad.home("dinara"), "dinara", "dinara-password-1", code)
    fake = crypto.UserKeys.generate()

    def rewrite(method, path, status, body):
        if path == "/api/v1/admin/pending":
            return {"pending": [{**r, "box_public": b64e(fake.box_public), "sign_public": b64e(fake.sign_public)}
                                for r in body["pending"]]}
        return None

    bad.box["rewrite"] = rewrite
    n = len(bad.proxy.seen)
    with pytest.raises(TrustError) as exc:
        p.admin.certify_pending()
    assert "dinara" in str(exc.value) and "do not match the invitation" in str(exc.value)
    assert not [r for r in bad.proxy.seen[n:] if r[1].endswith("/certificate")]


def test_a_chain_cut_short_by_the_proxy_is_refused(bad):
    p = bad.people

    def rewrite(method, path, status, body):
        if method == "GET" and path == f"/api/v1/cases/{p.case_id}" and status == 200:
            return {**body, "chain": body["chain"][:1],
                    "members": [m for m in body["members"] if m["username"] == "aigul"]}
        return None

    bad.box["rewrite"] = rewrite
    with pytest.raises(TrustError) as exc:
        upload_file(p.lawyer, p.case_id, _file(bad.tmp), META)
    assert "older or different history" in str(exc.value)


def test_a_fresh_admin_and_lawyer_through_the_honest_path(env, live, client_home):
    """The same people, honest server: certification checks out end to end (the control for the above)."""
    admin = certified_admin(live.url, env, client_home("a"))
    lawyer = invited(admin, live.url, client_home("l"), "aigul", "lawyer-password-1", "lawyer")
    assert lawyer.own_certificate().path == ("aigul", "admin")
