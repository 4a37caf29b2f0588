"""What `vault verify` proves about who signed (docs/trust.md, "What a bundle proves", issue #11).

A bundle's annex can be rewritten and re-signed by anyone with a key of
their own, so verify prints a name, a role or a fingerprint only from a
certificate chain to the organisation root that certifies the very key whose
signature it checked, and prints the organisation fingerprint it computed,
for the recipient to compare once with the organisation.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.export.export_samples import ENABLED, full_case, make_item, make_kit, options, sample_items
from vault import crypto
from vault.domain import trust
from vault.export.bundle import build_bundle
from vault.export.layout import ANNEX_JSON, ANNEX_SIG
from vault.export.verify import verify_bundle, verify_command

PHOTO = "attachments/стопы_Өмүрбеков.jpg"
PHOTO_BYTES = b"\xff\xd8\xff" + b"photo" * 5000


def run(path: Path) -> tuple[int, str, int, dict]:
    """`vault verify` on ``path``: (exit, text, exit with --json, the JSON report)."""
    text, js = io.StringIO(), io.StringIO()
    code = verify_command(str(path), out=text)
    code_json = verify_command(str(path), as_json=True, out=js)
    return code, text.getvalue(), code_json, json.loads(js.getvalue())


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def repack(src: Path, dst: Path, annex: dict, sign_seed: bytes, replace: dict[str, bytes] | None = None) -> Path:
    """The bundle with another annex.json, signed by ``sign_seed``, and members replaced: an attacker's edit."""
    annex_bytes = json.dumps(annex, ensure_ascii=False, indent=2, sort_keys=True).encode()
    replace = {**(replace or {}), ANNEX_JSON: annex_bytes,
               ANNEX_SIG: (crypto.b64e(crypto.sign_detached(sign_seed, annex_bytes)) + "\n").encode()}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, replace.get(info.filename, zin.read(info.filename)))
    return dst


def annex_of(path: Path) -> dict:
    return json.loads(zipfile.ZipFile(path).read(ANNEX_JSON))


@pytest.fixture
def one_item(tmp_path, pm, keys, kit, chain) -> Path:
    """A bundle of one photo, exported and uploaded by aigul, both certified by the organisation's admin."""
    item = make_item(keys, "item-photo", "стопы_Өмүрбеков.jpg", PHOTO_BYTES, media_type="image/jpeg",
                     certificates=chain)
    data = build_bundle("omct", full_case(), [item], options("en"), keys, "aigul", pm=pm, enabled=ENABLED,
                        allow_missing=True, organisation=kit.org, certificates=chain)
    return write(tmp_path, "one.zip", data)


def forge(bundle: Path, dst: Path, mallory: crypto.UserKeys, new_photo: bytes) -> Path:
    """The attack of issue #11: replace the photo, sign its manifest and the annex with a fresh key,
    and copy aigul's certificates and fingerprints so that the annex reads as before. (The box keys go:
    a fingerprint is checked against the keys beside it, and without one there is nothing to check.)"""
    annex = annex_of(bundle)
    entry = annex["items"][0]
    manifest = json.loads(crypto.b64d(entry["manifest"]))
    manifest.update(sha256=crypto.sha256_hex(new_photo), size=len(new_photo))
    body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    entry.update(manifest=crypto.b64e(body), signature=crypto.b64e(mallory.sign(body)),
                 sha256=manifest["sha256"], size=manifest["size"],
                 uploader_sign_public=crypto.b64e(mallory.sign_public),
                 uploader_box_public=None)  # uploader_fingerprint and the chain stay aigul's
    for f in annex["files"]:
        if f["path"] == entry["path"]:
            f.update(sha256=manifest["sha256"], size=manifest["size"])
    annex["signer"].update(sign_public=crypto.b64e(mallory.sign_public), box_public=None)  # the rest is aigul's
    return repack(bundle, dst, annex, mallory.sign_seed, {entry["path"]: new_photo})


def test_a_certified_bundle_is_ok_and_names_the_certified_people(one_item, keys, kit):
    code, text, code_json, report = run(one_item)
    fingerprint = crypto.fingerprint(keys.box_public, keys.sign_public)
    assert code == code_json == 0
    assert "RESULT: OK" in text
    assert f"Organisation fingerprint: {kit.org.fingerprint}" in text
    assert "Compare it once with the\n    organisation itself" in text
    assert "Exported and signed by: aigul (lawyer), certified by admin -> the organisation root" in text
    assert "Uploaded and signed by: aigul (lawyer), certified by admin -> the organisation root" in text
    assert f"    fingerprint: {fingerprint}" in text
    # The JSON says the same.
    assert report["ok"] is True and report["result"] == "ok" and report["intact"] is True
    assert report["annex_version"] == 2
    assert report["organisation"] == {"fingerprint": kit.org.fingerprint, "problem": None}
    assert [(s["role"], s["verified"], s["name"], s["user_role"], s["fingerprint"], s["items"])
            for s in report["signers"]] == [("exporter", True, "aigul", "lawyer", fingerprint, []),
                                            ("uploader", True, "aigul", "lawyer", fingerprint, ["item-photo"])]


def test_people_certified_by_different_admins_are_each_named(tmp_path, pm, kit, keys, chain):
    other = make_kit("admin")
    second_admin = crypto.UserKeys.generate()
    # A second admin, certified by the first one, certifies the medic.
    admin2_chain = kit.certify(second_admin, "dinara", "admin", "u-admin2")
    medic = crypto.UserKeys.generate()
    medic_cert = trust.certify(second_admin.sign_seed, kit.org, "u-medic", "bakyt", "medic", medic.box_public,
                               medic.sign_public, "2026-12-02T10:00:00Z")
    items = [make_item(medic, "item-exam", "exam.pdf", b"%PDF exam", "document", uploader="bakyt",
                       certificates=[medic_cert, *admin2_chain])]
    data = build_bundle("omct", full_case(), items, options("en"), keys, "aigul", pm=pm, enabled=ENABLED,
                        allow_missing=True, organisation=kit.org, certificates=chain)
    code, text, _, report = run(write(tmp_path, "two.zip", data))
    assert code == 0, text
    assert "Uploaded and signed by: bakyt (medic), certified by dinara -> admin -> the organisation root" in text
    assert crypto.fingerprint(medic.box_public, medic.sign_public) in text
    assert other.org.fingerprint not in text


def test_the_forged_bundle_of_issue_11_is_not_verified(one_item, tmp_path, keys):
    mallory = crypto.UserKeys.generate()
    forged = forge(one_item, tmp_path / "forged.zip", mallory, b"\xff\xd8\xff a different photo")
    code, text, code_json, report = run(forged)
    # Nothing was changed after the (new) signatures: the files and signatures check out...
    assert report["intact"] is True and not report["findings"]
    # ...but nobody vouches for the key that made them.
    assert code == code_json == 3
    assert "RESULT: NOT VERIFIED" in text and "RESULT: OK" not in text
    assert report["ok"] is False and report["result"] == "not_verified"
    lawyer_fingerprint = crypto.fingerprint(keys.box_public, keys.sign_public)
    assert lawyer_fingerprint not in text and lawyer_fingerprint not in json.dumps(report)
    assert "signed by: aigul" not in text and "aigul (lawyer)" not in text
    assert 'claims to be "aigul" (unverified)' in text
    assert "the key that signed is not the key its certificate chain certifies" in text
    assert all(s["verified"] is False and s["name"] is None and s["fingerprint"] is None
               for s in report["signers"])
    assert {s["key_id"] for s in report["signers"]} == {crypto.sha256_hex(mallory.sign_public)[:16]}


def test_a_replaced_attachment_among_genuine_ones_is_the_one_not_verified(tmp_path, pm, keys, kit, chain):
    data = build_bundle("un-hrc", full_case(), sample_items(keys, chain), options("ru"), keys, "aigul", pm=pm,
                        enabled=ENABLED, organisation=kit.org, certificates=chain)
    forged = forge(write(tmp_path, "four.zip", data), tmp_path / "forged.zip", crypto.UserKeys.generate(),
                   b"\xff\xd8\xff another photo")
    code, text, _, report = run(forged)
    assert code == 3
    by_item = {item: s for s in report["signers"] for item in s["items"]}
    # aigul really did sign the three manifests left alone, and verify may say so, for those items only.
    assert by_item["item-photo"]["verified"] is False and by_item["item-photo"]["name"] is None
    assert all(by_item[i]["verified"] and by_item[i]["name"] == "aigul"
               for i in ("item-auth", "item-decision", "item-passport"))
    assert report["signers"][0]["role"] == "exporter" and report["signers"][0]["verified"] is False


def test_a_chain_to_another_root_shows_another_organisation_fingerprint(tmp_path, pm, kit):
    """Mallory makes a kit of her own and certifies an "aigul": only the recipient's comparison can tell,
    so the fingerprint printed must be the one computed from the keys that the chains lead to."""
    mallory_kit = make_kit()
    fake = crypto.UserKeys.generate()
    fake_chain = mallory_kit.certify(fake, "aigul")
    items = [make_item(fake, "item-photo", "photo.jpg", PHOTO_BYTES, certificates=fake_chain)]
    data = build_bundle("omct", full_case(), items, options("en"), fake, "aigul", pm=pm, enabled=ENABLED,
                        allow_missing=True, organisation=mallory_kit.org, certificates=fake_chain)
    bundle = write(tmp_path, "other-root.zip", data)
    # She also writes the real organisation's fingerprint into the annex, in case a verifier copies it.
    annex = annex_of(bundle)
    annex["organisation"]["fingerprint"] = kit.org.fingerprint
    bundle = repack(bundle, tmp_path / "other-root-2.zip", annex, fake.sign_seed)
    code, text, _, report = run(bundle)
    computed = crypto.org_fingerprint(crypto.b64d(annex["organisation"]["recovery_public"]),
                                      crypto.b64d(annex["organisation"]["root_sign_public"]))
    assert computed == mallory_kit.org.fingerprint != kit.org.fingerprint
    assert f"Organisation fingerprint: {computed}" in text and report["organisation"]["fingerprint"] == computed
    assert kit.org.fingerprint not in text and kit.org.fingerprint not in json.dumps(report)
    assert code == 0  # consistent in itself: the comparison with the organisation is what catches it


def test_a_chain_to_another_root_than_the_annex_names_is_not_verified(tmp_path, one_item, kit, keys):
    mallory_kit = make_kit()
    annex = annex_of(one_item)
    annex["organisation"] = {"recovery_public": crypto.b64e(mallory_kit.org.recovery_public),
                             "root_sign_public": crypto.b64e(mallory_kit.org.root_sign_public)}
    code, text, _, report = run(repack(one_item, tmp_path / "swapped.zip", annex, keys.sign_seed))
    assert code == 3 and "another organisation" in text
    assert f"Organisation fingerprint: {mallory_kit.org.fingerprint}" in text
    assert "aigul (lawyer)" not in text


def test_an_uncertified_bundle_says_it_cannot_be_tied_to_a_root(tmp_path, pm, keys, kit):
    items = sample_items(keys)
    plain = build_bundle("omct", full_case(), items, options("en"), keys, "aigul", pm=pm, enabled=ENABLED,
                         allow_missing=True)
    code, text, code_json, report = run(write(tmp_path, "plain.zip", plain))
    assert code == code_json == 3 and report["intact"] is True
    assert "Organisation: none this bundle can be tied to (the bundle names no organisation" in text
    assert "RESULT: NOT VERIFIED" in text and "Organisation fingerprint" not in text
    assert report["organisation"]["fingerprint"] is None
    assert crypto.fingerprint(keys.box_public, keys.sign_public) not in text
    # An organisation, but nobody certified the signer.
    no_chain = build_bundle("omct", full_case(), items, options("en"), keys, "aigul", pm=pm, enabled=ENABLED,
                            allow_missing=True, organisation=kit.org)
    code, text, _, report = run(write(tmp_path, "no-chain.zip", no_chain))
    assert code == 3 and f"Organisation fingerprint: {kit.org.fingerprint}" in text
    assert "no certificate" in text and 'claims to be "aigul" (unverified)' in text


@pytest.mark.parametrize("version", [1, None])
def test_an_old_format_annex_verifies_its_integrity_but_names_nobody(tmp_path, one_item, keys, version):
    annex = annex_of(one_item)
    del annex["organisation"], annex["signer"]["certificates"], annex["items"][0]["uploader_certificates"]
    if version is None:
        del annex["version"]  # as the first bundles were written
    else:
        annex["version"] = version
    old = repack(one_item, tmp_path / "old.zip", annex, keys.sign_seed)
    report = verify_bundle(old)
    assert report.intact and report.ok and report.result == "not_verified"
    code, text, _, js = run(old)
    assert code == 3 and "format 1" in text and "RESULT: NOT VERIFIED" in text
    assert js["annex_version"] == 1 and all(not s["verified"] for s in js["signers"])
    assert crypto.fingerprint(keys.box_public, keys.sign_public) not in text  # the annex still carries it


def test_an_old_format_annex_is_not_checked_against_certificates_it_carries(tmp_path, one_item, keys):
    # Certificates cannot lift a format-1 annex: what it proves is fixed by its format.
    annex = annex_of(one_item)
    annex["version"] = 1
    code, text, _, _ = run(repack(one_item, tmp_path / "v1.zip", annex, keys.sign_seed))
    assert code == 3 and "aigul (lawyer)" not in text


def test_an_unknown_annex_version_is_not_verified(tmp_path, one_item, keys):
    annex = annex_of(one_item)
    annex["version"] = 99
    code, text, _, _ = run(repack(one_item, tmp_path / "v99.zip", annex, keys.sign_seed))
    assert code == 3 and "does not know" in text


def test_a_lawyer_cannot_certify_anyone(tmp_path, one_item, keys, chain):
    """A certified lawyer (here aigul herself) certifies a fresh key as "aigul": a lawyer may not certify."""
    annex = annex_of(one_item)
    org = trust.Organisation(crypto.b64d(annex["organisation"]["recovery_public"]),
                             crypto.b64d(annex["organisation"]["root_sign_public"]))
    fake = crypto.UserKeys.generate()
    fake_cert = trust.certify(keys.sign_seed, org, "u-9", "aigul", "lawyer", fake.box_public, fake.sign_public,
                              "2026-12-02T10:00:00Z")
    annex["signer"].update(sign_public=crypto.b64e(fake.sign_public), box_public=crypto.b64e(fake.box_public),
                           fingerprint=crypto.fingerprint(fake.box_public, fake.sign_public),
                           certificates=[fake_cert, *chain])
    code, text, _, report = run(repack(one_item, tmp_path / "lawyer.zip", annex, fake.sign_seed))
    assert code == 3 and "may not certify" in text
    assert report["signers"][0]["verified"] is False


def test_a_hostile_certificate_gives_a_report(tmp_path, one_item, keys):
    """A certificate anyone can sign, nested deeper than json.loads recurses: a report, not a traceback."""
    annex = annex_of(one_item)
    payload = "[" * 8000 + "]" * 8000
    seed = crypto.generate_sign_seed()
    deep = {"kind": "cert", "payload": payload, "signer": crypto.b64e(crypto.sign_public_from_seed(seed)),
            "signature": crypto.b64e(crypto.sign_detached(seed, crypto.statement_message("cert", payload)))}
    annex["signer"]["certificates"] = [deep]
    annex["items"][0]["uploader_certificates"] = ["not a statement", 7]
    code, text, _, report = run(repack(one_item, tmp_path / "deep.zip", annex, keys.sign_seed))
    assert code == 3 and "malformed" in text
    assert [s["verified"] for s in report["signers"]] == [False, False]


def test_a_claimed_name_cannot_write_lines_of_its_own(tmp_path, pm, keys, kit):
    items = [make_item(keys, "i1", "a.pdf", b"%PDF a", "document", uploader="x\nRESULT: OK - trust me")]
    data = build_bundle("omct", full_case(), items, options("en"), keys, "y\x1b[2K", pm=pm, enabled=ENABLED,
                        allow_missing=True, organisation=kit.org)
    code, text, _, _ = run(write(tmp_path, "names.zip", data))
    assert code == 3
    assert [line for line in text.splitlines() if line.startswith("RESULT")] == [
        next(line for line in text.splitlines() if line.startswith("RESULT: NOT VERIFIED"))]
    assert "\x1b" not in text and "[U+000A]RESULT: OK" in text


def test_a_tampered_bundle_still_fails(tmp_path, one_item):
    annex = annex_of(one_item)
    annex_bytes = json.dumps(copy.deepcopy(annex) | {"created_at": "2020-01-01T00:00:00Z"}).encode()
    with zipfile.ZipFile(one_item) as zin, zipfile.ZipFile(tmp_path / "t.zip", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, annex_bytes if info.filename == ANNEX_JSON else zin.read(info.filename))
    code, text, _, report = run(tmp_path / "t.zip")
    assert code == 1 and "RESULT: FAILED" in text and report["result"] == "failed"
    # The exporter's signature did not verify, so the exporter is named by nobody.
    assert report["signers"][0]["verified"] is False and "aigul (lawyer)" not in text.split("Uploaded")[0]
