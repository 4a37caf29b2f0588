"""Bad requests get a clear 4xx JSON error, change nothing, and the server keeps serving.

Every check ends with `still_serving` (GET /api/v1/health → 200) and, where
something could have been written, compares every table and stored file
before and after.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from vault import crypto
from vault.client.http import ApiFailure
from vault.client.session import register
from vault.client.transfer import upload_file
from vault.db.models import Base, Invitation, Item, User, utcnow

OCTET = "application/octet-stream"


# --------------------------------------------------------------------------- helpers


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def auth(sess) -> dict:
    return {"Authorization": f"Bearer {sess.http.token}"}


def snapshot(app) -> dict:
    v = app.extensions["vault"]
    out = {}
    with v.db.session() as s:
        for table in Base.metadata.sorted_tables:
            # Tokens slide their timestamps; the outbox is drained by the indexer thread.
            if table.name in ("api_tokens", "search_outbox"):
                continue
            out[table.name] = sorted(repr(tuple(r)) for r in s.execute(select(table)).all())
    for root in (v.config.upload_dir, v.config.blob_dir):
        out[str(root)] = sorted((str(p.relative_to(root)), p.stat().st_size)
                                for p in root.rglob("*") if p.is_file())
    return out


def unchanged(app, before: dict) -> None:
    after = snapshot(app)
    assert [k for k in before if before[k] != after.get(k)] == []


def error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.is_json, resp.content_type
    err = resp.get_json()["error"]
    assert isinstance(err["code"], str) and isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


def still_serving(client) -> None:
    assert client.get("/api/v1/health").status_code == 200


def count(app, model) -> int:
    with app.extensions["vault"].db.session() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


META = {"title": "Photo of injuries", "evidence_type": "photo"}


class Manual:
    """An upload driven by hand with the client's crypto pieces (real ciphertext, real receipt)."""

    def __init__(self, sess, case_id: str, data: bytes = b""):
        self.sess, self.case_id = sess, case_id
        self.data = data or os.urandom(150_000)
        case = sess.case(case_id)
        self.version = case["key_version"]
        self.case_key = sess.case_keys(case)[self.version]
        self.item_key = crypto.random_key()
        self.ct = b"".join(p for _, p in crypto.encrypt_chunks(self.item_key, io.BytesIO(self.data)))
        start = sess.http.post(f"/cases/{case_id}/uploads",
                               {"size": len(self.ct), "key_version": self.version, "metadata": META})
        self.upload_id, self.item_id = start["upload_id"], start["item_id"]
        self.path = f"/api/v1/uploads/{self.upload_id}"

    def put(self, client, offset: int, data: bytes):
        return client.put(self.path, query_string={"offset": offset}, data=data, content_type=OCTET,
                          headers=auth(self.sess))

    def send_all(self, client) -> None:
        resp = self.put(client, 0, self.ct)
        assert resp.status_code == 200, resp.get_json()

    def finish_body(self, ct_hash: str | None = None, signer: crypto.UserKeys | None = None) -> dict:
        manifest = {"v": 1, "item_id": self.item_id, "case_id": self.case_id,
                    "sha256": crypto.sha256_hex(self.data), "size": len(self.data),
                    "uploader": self.sess.username, "filename": "injuries.jpg"}
        sealed = crypto.seal_manifest(self.item_key, self.sess.keys, manifest, self.case_id, self.item_id)
        ct_hash = ct_hash or hashlib.sha256(self.ct).hexdigest()
        receipt = (signer or self.sess.keys).sign(crypto.receipt_message(
            self.item_id, self.case_id, self.version, ct_hash, crypto.sha256_hex(sealed)))
        return {"ciphertext_sha256": ct_hash, "sealed_manifest": b64(sealed),
                "wrapped_key": b64(crypto.wrap_item_key(self.case_key, self.item_key, self.case_id,
                                                        self.item_id, self.version)),
                "receipt_signature": b64(receipt)}

    def finish(self, client, body: dict | None = None):
        return client.post(self.path + "/finish", json=body or self.finish_body(), headers=auth(self.sess))

    def received(self, client) -> int:
        return client.get(self.path, headers=auth(self.sess)).get_json()["received"]


def register_body(invitation: str, username: str, **override) -> dict:
    body = {"invitation": invitation, "username": username, "kdf_salt": b64(os.urandom(16)),
            "kdf_params": dict(crypto.KDF_TEST_ONLY), "auth_key": b64(os.urandom(32)),
            "box_public": b64(os.urandom(32)), "sign_public": b64(os.urandom(32)),
            "enc_private_keys": b64(os.urandom(105)), "binding": b64(os.urandom(32))}
    return {**body, **override}


def new_invitation(people, role: str) -> tuple[str, str]:
    """An invitation the admin's client makes: (the code for a client, the token a raw request sends)."""
    from vault.client.trust import parse_invitation

    code = people.admin.invite(role)["code"]
    return code, parse_invitation(code).token


def upload_start(client, people, body, **kw):
    return client.post(f"/api/v1/cases/{people.case_id}/uploads", headers=auth(people.lawyer), json=body, **kw)


def start_body(**meta) -> dict:
    return {"size": 1000, "key_version": 1, "metadata": {**META, **meta}}


# --------------------------------------------------------------------------- bodies


def test_wrong_content_type(people, app, client):
    before = snapshot(app)
    resp = client.post(f"/api/v1/cases/{people.case_id}/uploads", headers=auth(people.lawyer),
                       data=json.dumps(start_body()), content_type="text/plain")
    error(resp, 415, "unsupported_media_type")
    resp = client.post("/api/v1/auth/login", data=json.dumps({"username": "aigul", "auth_key": b64(bytes(32))}),
                       content_type="application/x-www-form-urlencoded")
    error(resp, 415)
    unchanged(app, before)
    still_serving(client)
    m = Manual(people.lawyer, people.case_id)
    before = snapshot(app)
    resp = client.put(m.path, query_string={"offset": 0}, data=m.ct[:1000], content_type="application/json",
                      headers=auth(people.lawyer))
    error(resp, 415, "unsupported_media_type")
    resp = client.put(m.path, query_string={"offset": 0}, data=m.ct[:1000], headers=auth(people.lawyer))
    error(resp, 415)
    unchanged(app, before)
    assert m.received(client) == 0
    still_serving(client)


UNREADABLE = [
    (b'{"size": 1000, "key_version": 1,', 400, "invalid_json"),
    (b"", 411, "length_required"),  # the test client sends no Content-Length for an empty body
    (b" ", 400, "invalid_json"),
    (b"{'size': 1}", 400, "invalid_json"),
    (b'{"size": 1000, "key_version": 1, "metadata": {"title": "\xff\xfe\xfd", "evidence_type": "photo"}}',
     400, "invalid_utf8"),
    (b'{"size": 1000, "metadata": {"title": "\xed\xa0\x80"}}', 400, "invalid_utf8"),  # UTF-8 surrogate
    (b'\xef\xbb\xbf{"size": 1000}', 400, None),  # a byte-order mark is not JSON either
]


def test_unreadable_json(people, app, client):
    before = snapshot(app)
    for raw, status, code in UNREADABLE:
        resp = client.post(f"/api/v1/cases/{people.case_id}/uploads", headers=auth(people.lawyer), data=raw,
                           content_type="application/json")
        error(resp, status, code)
        still_serving(client)
    # An empty body with Content-Length: 0, as a real HTTP client sends it.
    with pytest.raises(ApiFailure) as e:
        people.lawyer.http.call("POST", f"/cases/{people.case_id}/uploads", data=b"",
                                headers={"Content-Type": "application/json"})
    assert (e.value.status, e.value.code) == (400, "invalid_json")
    unchanged(app, before)


INVALID_UPLOAD_BODIES = [
    ({**start_body(), "owner": "admin"}, "owner"),                                     # unknown top-level field
    ({**start_body(victim_name="Name Surname")}, "victim_name"),                       # unknown metadata field
    ({"size": 1000, "key_version": 1}, "metadata"),                                   # missing
    ({"size": 1000, "metadata": META}, "key_version"),                                # missing
    ({"size": 1000, "key_version": 1, "metadata": {"title": "x"}}, "evidence_type"),  # missing
    (start_body(title="x" * 10_000), "title"),                                         # oversized
    (start_body(tags=[f"t{i}" for i in range(10_000)]), "tags"),                       # oversized
    (start_body(tags=["x" * 41]), "tags"),
    (start_body(title="line\nbreak\x00"), "title"),                                    # control characters
    (start_body(region="mars"), "region"),                                             # vocabulary
    (start_body(evidence_type="selfie"), "evidence_type"),
    (start_body(violations=["tea_party"]), "violations"),
    (start_body(detention_place_type="spaceship"), "detention_place_type"),
    (start_body(language="fr"), "language"),
    (start_body(incident_date_from="2025-05-02", incident_date_to="2025-05-01"), "metadata"),  # from > to
    (start_body(incident_date_from="2025-02-30"), "incident_date_from"),
    ({**start_body(), "size": "ten"}, "size"),
    ({**start_body(), "size": 10.5}, "size"),
    ({**start_body(), "size": 0}, "size"),
    ({**start_body(), "attached_to": "../../etc/passwd"}, "attached_to"),
    (start_body(supersedes="../../etc/passwd"), "supersedes"),
    (start_body(supersedes="0" * 32), "metadata"),  # only a case record supersedes another
    (start_body(evidence_type="case_record", supersedes="0" * 32), None),  # no such case record in the case
    ([start_body()], None),
    ("just a string", None),
]


def test_invalid_fields(people, app, client):
    before = snapshot(app)
    for body, field in INVALID_UPLOAD_BODIES:
        resp = upload_start(client, people, body)
        err = error(resp, 422, "invalid_fields")
        if field is not None:
            assert any(field in p["field"] for p in err["fields"]), (field, err["fields"])
        still_serving(client)
    unchanged(app, before)


def test_json_body_over_the_limit_is_413(people, app, client):
    limit = app.config["VAULT"].max_json_bytes
    before = snapshot(app)
    body = json.dumps({**start_body(), "padding": "x" * limit}).encode()
    assert len(body) > limit
    resp = client.post(f"/api/v1/cases/{people.case_id}/uploads", headers=auth(people.lawyer), data=body,
                       content_type="application/json")
    error(resp, 413, "too_large")
    unchanged(app, before)
    still_serving(client)


def test_deeply_nested_json_is_400(people, app, client):
    before = snapshot(app)
    raw = b"[" * 100_000 + b"]" * 100_000
    resp = client.post("/api/v1/auth/prelogin", data=raw, content_type="application/json")
    still_serving(client)
    unchanged(app, before)
    error(resp, 400, "invalid_json")


def test_text_with_nul_or_long_names(people, app, client):
    """Names and ids from the network that the database cannot store are a 4xx, not a 500."""
    lawyer = auth(people.lawyer)
    odd_id = "a" * 31 + "%00"
    answers = {
        "prelogin": client.post("/api/v1/auth/prelogin", json={"username": "a\u0000b"}),
        "login": client.post("/api/v1/auth/login", json={"username": "a\u0000b", "auth_key": b64(bytes(32))}),
        "users": client.get("/api/v1/users/a%00b", headers=lawyer),
        "case": client.get(f"/api/v1/cases/{odd_id}", headers=lawyer),
        "item": client.get(f"/api/v1/items/{odd_id}", headers=lawyer),
        "upload": client.get(f"/api/v1/uploads/{odd_id}", headers=lawyer),
    }
    still_serving(client)
    bad = {k: r.status_code for k, r in answers.items() if not (400 <= r.status_code < 500 or
                                                                (k == "prelogin" and r.status_code == 200))}
    assert bad == {}


# --------------------------------------------------------------------------- chunks


def test_chunk_at_wrong_offset_is_409_with_received(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    assert m.put(client, 0, m.ct[:5000]).status_code == 200
    before = snapshot(app)
    for offset in (0, 4999, 5001, 10_000, -1):
        err = error(m.put(client, offset, m.ct[5000:6000]), 409, "wrong_offset")
        assert err["received"] == 5000
    error(client.put(m.path, query_string={"offset": "abc"}, data=b"x", content_type=OCTET,
                     headers=auth(people.lawyer)), 400)
    error(client.put(m.path, data=b"x", content_type=OCTET, headers=auth(people.lawyer)), 400)
    unchanged(app, before)
    assert m.received(client) == 5000
    still_serving(client)


def test_chunk_sizes(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    assert m.put(client, 0, m.ct[:1000]).status_code == 200
    before = snapshot(app)
    # Past the declared size.
    err = error(m.put(client, 1000, m.ct[1000:] + b"extra"), 422, "beyond_size")
    assert err["received"] == 1000
    # Empty (through the real client, which sends Content-Length: 0).
    with pytest.raises(ApiFailure) as e:
        people.lawyer.http.call("PUT", f"/uploads/{m.upload_id}", data=b"", params={"offset": 1000},
                                headers={"Content-Type": OCTET})
    assert (e.value.status, e.value.code) == (413, "bad_chunk_size")
    # Larger than max_chunk_bytes.
    limit = app.config["VAULT"].max_chunk_bytes
    error(m.put(client, 1000, bytes(limit + 1)), 413)
    unchanged(app, before)
    assert m.received(client) == 1000
    still_serving(client)
    # The rest goes through and the upload finishes.
    assert m.put(client, 1000, m.ct[1000:]).status_code == 200
    assert m.finish(client).status_code == 201


def test_truncated_chunk_over_a_real_socket(people, app, client, live):
    m = Manual(people.lawyer, people.case_id)
    assert m.put(client, 0, m.ct[:2000]).status_code == 200
    staging = app.extensions["vault"].uploads.path(m.upload_id)
    head = (f"PUT {m.path}?offset=2000 HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
            f"Authorization: Bearer {people.lawyer.http.token}\r\nContent-Type: {OCTET}\r\n"
            f"Content-Length: 1000\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        sock.sendall(head + m.ct[2000:2500])
        sock.shutdown(socket.SHUT_WR)  # the client goes away after 500 of 1000 bytes
        answer = b""
        while piece := sock.recv(65536):  # until the server has finished with the request
            answer += piece
    if answer:
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:300]
    still_serving(client)
    assert m.received(client) == 2000
    assert staging.read_bytes()[:2000] == m.ct[:2000]  # acknowledged bytes are intact
    error(m.finish(client), 409, "incomplete")
    # The next proper chunk at the acknowledged offset works, and so does the finish.
    resp = m.put(client, 2000, m.ct[2000:])
    assert resp.status_code == 200 and resp.get_json()["received"] == len(m.ct)
    assert staging.read_bytes() == m.ct
    assert m.finish(client).status_code == 201


# --------------------------------------------------------------------------- finish


def test_finish_incomplete_upload_is_409(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    before = snapshot(app)
    err = error(m.finish(client), 409, "incomplete")
    assert err["received"] == 0
    assert m.put(client, 0, m.ct[:-1]).status_code == 200
    before = snapshot(app)
    err = error(m.finish(client), 409, "incomplete")
    assert err["received"] == len(m.ct) - 1
    unchanged(app, before)
    still_serving(client)


def test_finish_with_wrong_hash_keeps_the_upload(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    m.send_all(client)
    staging = app.extensions["vault"].uploads.path(m.upload_id)
    before = snapshot(app)
    error(m.finish(client, m.finish_body(ct_hash="0" * 64)), 422, "hash_mismatch")
    wrong = bytearray(m.ct)
    wrong[100] ^= 1
    error(m.finish(client, m.finish_body(ct_hash=hashlib.sha256(wrong).hexdigest())), 422, "hash_mismatch")
    unchanged(app, before)
    assert staging.read_bytes() == m.ct
    still_serving(client)
    resp = m.finish(client)
    assert resp.status_code == 201 and resp.get_json()["item_id"] == m.item_id
    assert not staging.exists()


def test_forged_receipt_is_refused(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    m.send_all(client)
    before = snapshot(app)
    # Signed by someone else (a real user's key, and a random one).
    error(m.finish(client, m.finish_body(signer=people.outsider.keys)), 422, "bad_signature")
    error(m.finish(client, m.finish_body(signer=crypto.UserKeys.generate())), 422, "bad_signature")
    # A valid signature over another receipt (other item id).
    body = m.finish_body()
    other = crypto.receipt_message(secrets.token_hex(16), m.case_id, m.version, body["ciphertext_sha256"],
                                   crypto.sha256_hex(base64.b64decode(body["sealed_manifest"])))
    error(m.finish(client, {**body, "receipt_signature": b64(people.lawyer.keys.sign(other))}), 422, "bad_signature")
    # A receipt over another manifest than the one sent.
    error(m.finish(client, {**body, "sealed_manifest": b64(os.urandom(300))}), 422, "bad_signature")
    unchanged(app, before)
    assert count(app, Item) == 0
    assert list(app.extensions["vault"].blobs.all_hashes()) == []
    still_serving(client)


def test_replayed_finish(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    m.send_all(client)
    body = m.finish_body()
    assert m.finish(client, body).status_code == 201
    before = snapshot(app)
    for _ in range(2):
        resp = m.finish(client, body)
        assert resp.status_code in (404, 409)
        error(resp, resp.status_code)
    error(m.put(client, len(m.ct), b"x"), 404)
    unchanged(app, before)
    assert count(app, Item) == 1
    still_serving(client)


FINISH_BAD_FIELDS = [
    ("sealed_manifest", "not base64!"),
    ("wrapped_key", "a=b="),
    ("receipt_signature", b64(os.urandom(63))),
    ("receipt_signature", b64(os.urandom(65))),
    ("receipt_signature", "===="),
    ("ciphertext_sha256", "../" * 21 + "a"),
    ("ciphertext_sha256", "A" * 64),
]


def test_finish_with_bad_fields(people, app, client):
    m = Manual(people.lawyer, people.case_id, data=b"small")
    m.send_all(client)
    before = snapshot(app)
    for field, value in FINISH_BAD_FIELDS:
        error(m.finish(client, {**m.finish_body(), field: value}), 422)
        still_serving(client)
    unchanged(app, before)
    assert m.finish(client).status_code == 201


# --------------------------------------------------------------------------- ids in the URL


def test_path_traversal_ids(people, app, client, tmp_path):
    canary = tmp_path / "etc" / "passwd"
    canary.parent.mkdir()
    canary.write_text("root:x:0:0")
    data_dir = app.config["VAULT"].data_dir

    def files():
        index = data_dir / "index"  # derived search data, written by its own indexer
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")
                if p.is_file() and not p.name.startswith("vault.sqlite3") and not p.is_relative_to(index)}

    before_files, before = files(), snapshot(app)
    m_body = {"ciphertext_sha256": "0" * 64, "sealed_manifest": b64(b"x"), "wrapped_key": b64(b"x"),
              "receipt_signature": b64(bytes(64))}
    slashy = "../" * 10 + "ab"  # 32 characters
    dotty = ".." * 11 + "etc_passw"  # 31 …
    dotty += "d"  # … 32 characters, no slash
    assert len(slashy) == len(dotty) == 32
    ids = ["..%2F..%2Fetc%2Fpasswd", "../../x", slashy.replace("/", "%2F"), dotty, "..%5C" * 6 + "ab",
           "%2e%2e%2f%2e%2e%2fetc%2fpasswd", str(canary)]
    lawyer = auth(people.lawyer)
    answers = []
    for i in ids:
        answers += [
            ("GET upload", client.get(f"/api/v1/uploads/{i}", headers=lawyer)),
            ("PUT upload", client.put(f"/api/v1/uploads/{i}", query_string={"offset": 0}, data=b"x" * 10,
                                      content_type=OCTET, headers=lawyer)),
            ("finish", client.post(f"/api/v1/uploads/{i}/finish", json=m_body, headers=lawyer)),
            ("DELETE upload", client.delete(f"/api/v1/uploads/{i}", headers=lawyer)),
            ("GET item", client.get(f"/api/v1/items/{i}", headers=lawyer)),
            ("GET content", client.get(f"/api/v1/items/{i}/content", headers=lawyer)),
            ("GET case", client.get(f"/api/v1/cases/{i}", headers=lawyer)),
            ("GET items", client.get(f"/api/v1/cases/{i}/items", headers=lawyer)),
        ]
    wrong = [(what, r.status_code) for what, r in answers if r.status_code != 404 or not r.is_json]
    assert wrong == []
    for _, r in answers:
        error(r, 404)
    assert files() == before_files
    assert canary.read_text() == "root:x:0:0"
    assert not (data_dir.parent / "x").exists() and not (data_dir / "x").exists()
    unchanged(app, before)
    still_serving(client)


def test_missing_token_is_401(people, app, client):
    m = Manual(people.lawyer, people.case_id)
    before = snapshot(app)
    error(client.put(m.path, query_string={"offset": 0}, data=m.ct, content_type=OCTET), 401, "unauthenticated")
    error(client.post(m.path + "/finish", json=m.finish_body()), 401, "unauthenticated")
    error(client.post(f"/api/v1/cases/{people.case_id}/uploads", json=start_body()), 401, "unauthenticated")
    error(client.get(f"/api/v1/cases/{people.case_id}"), 401, "unauthenticated")
    unchanged(app, before)
    still_serving(client)


# --------------------------------------------------------------------------- accounts


def test_expired_invitation_is_410(people, app, client, live, client_home):
    code, inv = new_invitation(people, "lawyer")
    v = app.extensions["vault"]
    with v.db.session() as s:
        row = s.execute(select(Invitation).where(
            Invitation.token_hash == hashlib.sha256(inv.encode()).hexdigest())).scalar_one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    before = snapshot(app)
    with pytest.raises(ApiFailure) as e:
        register(live.url, code, "latecomer", "late-password-1", home=client_home("late"))
    assert (e.value.status, e.value.code) == (410, "invitation_expired")
    unchanged(app, before)
    still_serving(client)


def test_reused_invitation_is_410(people, app, client, live, client_home):
    code, inv = new_invitation(people, "medic")
    register(live.url, code, "first-medic", "medic-password-2", home=client_home("m1"))
    before = snapshot(app)
    with pytest.raises(ApiFailure) as e:
        register(live.url, code, "second-medic", "medic-password-3", home=client_home("m2"))
    assert (e.value.status, e.value.code) == (410, "invitation_used")
    error(client.post("/api/v1/auth/register", json=register_body(inv, "third-medic")), 410, "invitation_used")
    error(client.post("/api/v1/auth/register", json=register_body("x" * 20, "fourth-medic")), 400,
          "invalid_invitation")
    unchanged(app, before)
    still_serving(client)


def test_taken_username_is_409_and_keeps_the_invitation(people, app, client):
    _, inv = new_invitation(people, "lawyer")
    before = snapshot(app)
    for name in ("aigul", "admin", "bakyt"):
        error(client.post("/api/v1/auth/register", json=register_body(inv, name)), 409, "username_taken")
    unchanged(app, before)
    still_serving(client)
    resp = client.post("/api/v1/auth/register", json=register_body(inv, "nurlan"))
    assert resp.status_code == 201
    assert count(app, User) == 5


REGISTER_BAD_FIELDS = [
    ("kdf_salt", "not base64 at all", 422),
    ("kdf_salt", b64(os.urandom(15)), 422),
    ("kdf_salt", b64(os.urandom(17)), 422),
    ("auth_key", b64(os.urandom(31)), 422),
    ("auth_key", "abc", 422),
    ("box_public", b64(os.urandom(33)), 422),
    ("sign_public", "", 422),
    ("sign_public", "QUJD\n", 422),
    ("enc_private_keys", "%%%%", 422),
    ("enc_private_keys", b64(os.urandom(201)), 413),
    ("kdf_params", {"alg": "argon2i13", "ops": 3, "mem": 65536}, 422),
    ("kdf_params", {"alg": "argon2id13", "ops": 0, "mem": 65536}, 422),
    ("username", "Aigul Admin", 422),
    ("username", "../../etc", 422),
    ("invitation", "short", 422),
]


def test_register_with_bad_fields(people, app, client):
    _, inv = new_invitation(people, "lawyer")
    before = snapshot(app)
    for field, value, status in REGISTER_BAD_FIELDS:
        body = {**register_body(inv, "nurlan"), field: value}
        error(client.post("/api/v1/auth/register", json=body), status)
        still_serving(client)
    unchanged(app, before)  # nothing stored, and the invitation is still unused:
    assert client.post("/api/v1/auth/register", json=register_body(inv, "nurlan")).status_code == 201


def test_login_with_bad_auth_key(people, app, client):
    for value in ("not base64!", b64(os.urandom(16)), b64(os.urandom(33))):
        error(client.post("/api/v1/auth/login", json={"username": "aigul", "auth_key": value}), 422)
    error(client.post("/api/v1/auth/login", json={"username": "aigul", "auth_key": b64(bytes(32)),
                                                  "totp": "12345"}), 422)
    still_serving(client)


# --------------------------------------------------------------------------- downloads


def test_range_beyond_the_blob_is_416(people, app, client, tmp_path):
    src = tmp_path / "photo.jpg"
    src.write_bytes(os.urandom(5000))
    out = upload_file(people.lawyer, people.case_id, src, META)
    path = f"/api/v1/items/{out['item_id']}/content"
    size = client.get(f"/api/v1/items/{out['item_id']}", headers=auth(people.lawyer)).get_json()["blob_size"]
    before = snapshot(app)
    for rng in (f"bytes={size}-", f"bytes={size + 1}-", "bytes=99999999999999999999-", "bytes=0-10",
                "bytes=-10", "bytes=a-", "items=0-"):
        error(client.get(path, headers={**auth(people.lawyer), "Range": rng}), 416, "bad_range")
    unchanged(app, before)
    ok = client.get(path, headers={**auth(people.lawyer), "Range": f"bytes={size - 10}-"})
    assert ok.status_code == 206 and len(ok.data) == 10
    still_serving(client)


# --------------------------------------------------------------------------- query parameters


def test_audit_after_out_of_range_is_400(people, app, client):
    resp = client.get("/api/v1/admin/audit", query_string={"after": "9" * 23}, headers=auth(people.admin))
    still_serving(client)
    error(resp, 400, "bad_parameter")


def test_audit_bad_parameters(people, client):
    for q in ({"after": "x"}, {"limit": "1.5"}):
        error(client.get("/api/v1/admin/audit", query_string=q, headers=auth(people.admin)), 400, "bad_parameter")
    still_serving(client)


# --------------------------------------------------------------------------- exports


def _zip(entries: dict[str, bytes]) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


NESTED = b"[" * 100_000 + b"]" * 100_000
HOSTILE_BUNDLES = {
    # json.loads raised RecursionError here: a 500, and the worker's traceback in the log.
    "annex nested 100,000 deep": ({"custody/annex.json": NESTED}, 422, "bad_bundle"),
    # One entry per attachment and four more: a directory of thousands is not an export.
    "thousands of entries": ({"custody/annex.json": NESTED, **{f"f{n}": b"" for n in range(2000)}},
                             413, "too_large"),
}


@pytest.mark.parametrize("case", list(HOSTILE_BUNDLES))
def test_sign_refuses_a_hostile_bundle_with_a_4xx(people, app, client, case):
    entries, status, code = HOSTILE_BUNDLES[case]
    before = snapshot(app)
    resp = client.post(f"/api/v1/cases/{people.case_id}/exports/sign", headers=auth(people.lawyer),
                       json={"bundle_b64": b64(_zip(entries)), "signature_b64": b64(bytes(64))})
    err = error(resp, status, code)
    assert "send back the bundle_b64" in err["message"]
    unchanged(app, before)
    still_serving(client)


def test_export_too_complex_to_lay_out_is_422_before_the_work(people, app, client):
    """Facts of hair spaces and zero-width joiners (2,000 characters to a line): ~13 s of fpdf2, enough for a
    worker to be killed. The PDF renderer's work budget refuses them first: a 422 that says what to do."""
    import uuid

    facts = ("\u200a" + "\u200d" * 4) * 20_000
    spec = {"exporter": "ombudsman", "case_record": {"facts": {"ky": facts}},
            "options": {"language": "ky", "draft": True}, "items": []}
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"export\"; filename=\"blob\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(spec)}\r\n--{boundary}--\r\n").encode()
    before = snapshot(app)
    resp = client.post(f"/api/v1/cases/{people.case_id}/exports", headers=auth(people.lawyer), data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")
    err = error(resp, 422, "document_too_complex")
    assert "Shorten the longest texts" in err["message"]
    unchanged(app, before)
    still_serving(client)


@pytest.mark.parametrize("name", ["КГ-2026-777-ombudsman-ky.zip", "UN-HRC-ЖА-ң-ө-ү.zip", "plain-export.zip", "\"quoted\".zip"])
def test_a_download_name_in_any_script_makes_a_header_gunicorn_can_send(name):
    from urllib.parse import unquote

    from vault.api.exports import attachment_header

    header = attachment_header(name)
    header.encode("latin-1")  # gunicorn encodes header values as Latin-1; Cyrillic in filename= used to break it
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback and fallback.isascii() and '"' not in fallback
