"""The browser export endpoints refuse strangers with 404 and bad requests with a clear 4xx, quoting nothing sealed."""

from __future__ import annotations

import base64
import io
import json
import secrets
import zipfile

import pytest
from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata

from tests.integration.conftest import (
    audit_entries,
    decrypt_like_the_browser,
    export_spec,
    item_files,
    multipart,
    seed_case,
)
from vault import crypto
from vault.client.transfer import upload_file

LIMIT = 200_000
SECRET_NAME = "Секретбекова"


@pytest.fixture
def app(env):
    """The app with a small export limit, so 'too large' needs no large request."""
    from vault.app import create_app

    application = create_app(env.config.with_overrides(extra={"max_export_bytes": LIMIT}))
    yield application
    application.extensions["vault"].db.dispose()


def bearer(sess) -> dict:
    return {"Authorization": f"Bearer {sess.http.token}"}


@pytest.fixture
def prepared(people, tmp_path):
    seeded = seed_case(people, tmp_path, upload_record=False)
    seeded.record["victim"]["family_name"] = SECRET_NAME
    chosen = [decrypt_like_the_browser(people.lawyer, i, tmp_path / "browser") for i in seeded.files]
    return seeded, chosen


def check(resp, status: int, code: str) -> dict:
    text = resp.get_data(as_text=True)
    assert resp.status_code == status, (status, code, resp.status_code, text[:600])
    assert SECRET_NAME not in text and "Нурсултан" not in text  # nothing sealed is quoted back
    body = resp.get_json()
    assert body["error"]["code"] == code, body
    return body["error"]


def test_strangers_get_the_same_404_on_every_export_route(people, client, prepared):
    seeded, chosen = prepared
    spec = export_spec("omct", seeded.record, chosen, "en")
    body, ctype = multipart(spec, item_files(chosen))
    answers = []
    for who in (people.outsider, people.admin):
        for case_id in (people.case_id, secrets.token_hex(16)):
            base = f"/api/v1/cases/{case_id}/exports"
            requests = [
                client.post(f"{base}/validate", json=spec, headers=bearer(who)),
                client.post(base, data=body, content_type=ctype, headers=bearer(who)),
                client.post(f"{base}/sign", json={"bundle_b64": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
                                                  "signature_b64": base64.b64encode(bytes(64)).decode()},
                            headers=bearer(who)),
                client.post(f"{base}/record", json={"exporter": "omct", "bundle_sha256": "0" * 64, "items": []},
                            headers=bearer(who)),
            ]
            for resp in requests:
                check(resp, 404, "not_found")
                answers.append(resp.get_json())
    assert all(a == answers[0] for a in answers)  # word for word: no oracle
    assert not [e for e in audit_entries(people.admin) if e["action"].startswith(("export", "case_exported"))]


def test_malformed_export_requests(people, client, prepared):
    seeded, chosen = prepared
    lawyer = bearer(people.lawyer)
    base = f"/api/v1/cases/{people.case_id}/exports"
    spec = export_spec("omct", seeded.record, chosen, "en")
    files = item_files(chosen)

    def post(body_and_type, **kw):
        body, ctype = body_and_type
        return client.post(base, data=body, content_type=ctype, headers=lawyer, **kw)

    check(client.post(base, json=spec, headers=lawyer), 415, "unsupported_media_type")
    check(client.post(base, data=b"x", content_type="multipart/form-data", headers=lawyer), 400,
          "malformed_multipart")  # no boundary
    check(post((b"\x00\x01 definitely not multipart", "multipart/form-data; boundary=abc")), 400,
          "malformed_multipart")
    check(post((b"--abc\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--abc--\r\n",
                "multipart/form-data; boundary=abc")), 400, "malformed_multipart")
    body, ctype = multipart(spec, files)
    check(post((body[: len(body) // 2], ctype)), 400, "malformed_multipart")  # cut off
    # The first part must be the JSON description.
    stray = RequestField(files[0][0], files[0][1], filename="blob")
    stray.make_multipart(content_type="application/octet-stream")
    check(post(encode_multipart_formdata([stray])), 400, "malformed_multipart")
    check(post(multipart(b'{"exporter": "omct",', files)), 400, "invalid_json")
    check(post(multipart(b"\xff\xfe", files)), 400, "invalid_utf8")
    err = check(post(multipart({**spec, "victim_name": "x"}, files)), 422, "invalid_fields")
    assert any(f["field"] == "victim_name" for f in err["fields"])
    bad_record = json.loads(json.dumps(spec))
    bad_record["case_record"]["victim"]["sex"] = "unknown-sex"
    bad_record["case_record"]["victim"]["nickname"] = SECRET_NAME
    err = check(post(multipart(bad_record, files)), 422, "invalid_case_record")
    assert {"case_record.victim.sex", "case_record.victim.nickname"} <= {f["field"] for f in err["fields"]}
    check(post(multipart(spec, files[:-1])), 400, "malformed_multipart")  # a part missing
    check(post(multipart(spec, [files[1], files[0], *files[2:]])), 400, "malformed_multipart")  # out of order
    check(post(multipart(spec, [*files, ("item:" + "0" * 32, b"extra")])), 400, "malformed_multipart")
    renamed = [(f"file{n}", data) for n, (_, data) in enumerate(files)]
    check(post(multipart(spec, renamed)), 400, "malformed_multipart")
    # The items themselves.
    twice = {**spec, "items": [spec["items"][0], spec["items"][0]]}
    check(post(multipart(twice, [files[0], files[0]])), 422, "duplicate_item")
    other = people.lawyer.create_case("KG-2026-009", "Another case", "osh_city")
    elsewhere = upload_file(people.lawyer, other["id"], seeded.record_path, {"title": "x", "evidence_type": "document"})
    for item_id in (elsewhere["item_id"], secrets.token_hex(16)):  # another case's item, or none at all
        foreign = {**spec, "items": [{**spec["items"][0], "item_id": item_id}]}
        check(post(multipart(foreign, files[:1])), 422, "unknown_item")
    forged = json.loads(json.dumps(spec))
    forged["items"][0]["signature_b64"] = base64.b64encode(people.outsider.keys.sign(
        base64.b64decode(forged["items"][0]["manifest_b64"]))).decode()
    check(post(multipart(forged, files)), 422, "bad_signature")  # signed, but not by the uploader on record
    # The photo (uploaded by the medic) has its own manifest; give the auth document (lawyer's) another
    # lawyer-signed manifest: the signature verifies, the manifest names the wrong item.
    lawyers = [n for n, d in enumerate(chosen) if json.loads(d.manifest_bytes)["uploader"] == "aigul"]
    a, b = lawyers[0], lawyers[1]
    swapped = json.loads(json.dumps(spec))
    swapped["items"][a]["manifest_b64"] = spec["items"][b]["manifest_b64"]
    swapped["items"][a]["signature_b64"] = spec["items"][b]["signature_b64"]
    check(post(multipart(swapped, files)), 422, "bad_manifest")
    altered = [(name, data if n else data[:-1] + bytes([data[-1] ^ 1])) for n, (name, data) in enumerate(files)]
    err = check(post(multipart(spec, altered)), 422, "attachment_mismatch")
    assert chosen[0].item_id in err["message"]
    truncated = [(name, data if n else data[:-10]) for n, (name, data) in enumerate(files)]
    check(post(multipart(spec, truncated)), 422, "attachment_mismatch")
    check(post(multipart({**spec, "exporter": "no-such"}, files)), 404, "unknown_exporter")
    check(post(multipart({**spec, "exporter": "BAD NAME"}, files)), 422, "invalid_fields")
    check(post(multipart(spec, [(files[0][0], files[0][1] + b"x" * LIMIT), *files[1:]])), 413, "too_large")
    # What the recipient needs, in its terms; a draft builds anyway.
    thin = json.loads(json.dumps(spec))
    del thin["case_record"]["source"]
    err = check(post(multipart(thin, files)), 422, "missing_fields")
    assert "source.organisation" in {p["path"] for p in err["problems"]}
    thin["options"]["draft"] = True
    ok = post(multipart(thin, files))
    assert ok.status_code == 200 and ok.get_json()["draft"] is True
    assert "source.organisation" in {p["path"] for p in ok.get_json()["problems"]}
    # validate takes JSON only.
    check(client.post(f"{base}/validate", data=multipart(spec, files)[0], content_type=ctype, headers=lawyer),
          415, "unsupported_media_type")
    check(client.post(f"{base}/validate", data=b"{", content_type="application/json", headers=lawyer), 400,
          "invalid_json")
    assert client.get("/api/v1/health").status_code == 200
    assert not audit_entries(people.admin, "case_exported")


def test_sign_and_record_refuse_what_is_not_theirs(people, client, prepared):
    seeded, chosen = prepared
    lawyer = bearer(people.lawyer)
    base = f"/api/v1/cases/{people.case_id}/exports"
    body, ctype = multipart(export_spec("omct", seeded.record, chosen, "en"), item_files(chosen))
    made = client.post(base, data=body, content_type=ctype, headers=lawyer).get_json()
    unsigned, annex = base64.b64decode(made["bundle_b64"]), base64.b64decode(made["annex_b64"])

    def sign(bundle: bytes, signature: bytes, who=people.lawyer):
        return client.post(f"{base}/sign", headers=bearer(who), json={
            "bundle_b64": base64.b64encode(bundle).decode(), "signature_b64": base64.b64encode(signature).decode()})

    check(sign(b"not a zip", people.lawyer.keys.sign(annex)), 422, "bad_bundle")
    check(sign(unsigned, people.medic.keys.sign(annex)), 422, "bad_signature")
    check(sign(unsigned, people.medic.keys.sign(annex), who=people.medic), 422, "wrong_signer")
    check(sign(unsigned, bytes(64)), 422, "bad_signature")
    check(client.post(f"{base}/sign", json={"bundle_b64": "%%%", "signature_b64": "AA=="}, headers=lawyer), 422,
          "invalid_fields")
    # A file slipped into the bundle between the two calls: the annex still verifies, the bundle does not.
    buf = io.BytesIO(unsigned)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("attachments/slipped-in.txt", b"added by someone")
    err = check(sign(buf.getvalue(), people.lawyer.keys.sign(annex)), 422, "bundle_invalid")
    assert err["findings"] == {"added": 1}
    # A bundle that would unpack to far more than any export (a ZIP bomb) is not unpacked.
    bomb = io.BytesIO(unsigned)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("attachments/zeros.bin", bytes(9 * 1024 * 1024))
    assert len(bomb.getvalue()) < LIMIT
    check(sign(bomb.getvalue(), people.lawyer.keys.sign(annex)), 413, "too_large")
    final = sign(unsigned, people.lawyer.keys.sign(annex))
    assert final.status_code == 200 and final.mimetype == "application/zip"
    check(sign(final.data, people.lawyer.keys.sign(annex)), 409, "already_signed")
    exported = audit_entries(people.admin, "case_exported")
    assert len(exported) == 1
    assert json.loads(exported[0]["details"])["bundle_sha256"] == crypto.sha256_hex(final.data)

    record = {"exporter": "omct", "bundle_sha256": "a" * 64, "items": list(seeded.files)}
    check(client.post(f"{base}/record", json={**record, "items": [secrets.token_hex(16)]}, headers=lawyer), 422,
          "unknown_item")
    check(client.post(f"{base}/record", json={**record, "bundle_sha256": "xyz"}, headers=lawyer), 422,
          "invalid_fields")
    check(client.post(f"{base}/record", json={**record, "exporter": "no-such"}, headers=lawyer), 404,
          "unknown_exporter")
    done = client.post(f"{base}/record", json=record, headers=bearer(people.medic))
    assert done.status_code == 201 and done.get_json()["recorded"] is True
    last = audit_entries(people.admin, "case_exported")[-1]
    assert last["actor"] == "bakyt" and json.loads(last["details"])["via"] == "client"
