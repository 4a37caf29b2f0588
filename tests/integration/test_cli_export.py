"""`vault export` for every bundled exporter against a live server, read back, verified, then tampered with.

Everything here is real: people registered with the real client, evidence
encrypted and uploaded, the case record uploaded with `vault upload --type
case_record`, and the `vault` command run in a subprocess as a person would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile

import pytest

from tests.core.cli_helpers import Cli
from tests.export.test_bundle import rewrite
from tests.export.test_bundle_trust import forge
from tests.export.test_exporters import COMMON, EXPECTED, docx_text, flat, pdf_text
from tests.integration.conftest import (
    DOCUMENT_DATE,
    audit_entries,
    bundle_members,
    case_record_for,
    documents,
    seed_case,
    upload_record_item,
)
from vault import crypto
from vault.export.verify import verify_bundle

LAWYER_PASSWORD = "lawyer-password-1"
EXPORTS = [("omct", "en"), ("un-srt", "en"), ("un-srt", "ru"), ("un-hrc", "ru"), ("ombudsman", "ru"),
           ("ombudsman", "ky")]
PHOTO = "attachments/стопы_Өмүрбеков.jpg"


@pytest.fixture
def db_url() -> str:
    """SQLite only: rendering and verifying do not touch the database; the API paths these exports use
    (exporters, record, audit) run on PostgreSQL too in test_plugin_state.py and test_browser_*.py."""
    return ""


def lawyer_cli(live, people) -> Cli:
    return Cli(live.url, people.lawyer.home, "aigul", LAWYER_PASSWORD)


def org_fingerprint(env) -> str:
    """The organisation's fingerprint as its paper kit gives it: what the recipient compares with."""
    secret = env.recovery_secret
    return crypto.org_fingerprint(crypto.box_public_from_secret(secret),
                                  crypto.sign_public_from_seed(crypto.root_sign_seed(secret)))


def test_every_bundled_exporter_through_the_cli(people, live, env, tmp_path):
    seeded = seed_case(people, tmp_path, upload_record=False)
    cli = lawyer_cli(live, people)
    record = cli.json("upload", people.case_id, str(seeded.record_path), "--type", "case_record",
                      "--title", "Case record")[0]
    names = {f"attachments/{n}": data for item_id, data in seeded.files.items()
             for n in [seeded.names[item_id]]}
    for exporter, lang in EXPORTS:
        out = tmp_path / f"{exporter}-{lang}.zip"
        result = cli.json("export", people.case_id, "--format", exporter, "--language", lang,
                          "--date", DOCUMENT_DATE, "--out", str(out))
        assert result["ok"] is True and result["path"] == str(out) and result["case_record_item"] == record["item_id"]
        assert sorted(result["items"]) == sorted(seeded.files)  # the attachments the record lists
        members = bundle_members(out.read_bytes())
        # The attachments, decrypted on the client, are byte for byte the originals; OMCT and the Special
        # Rapporteur get them under neutral names ("attachment-01-photo.jpg"), whatever the consent.
        attached = {n: d for n, d in members.items() if n.startswith("attachments/")}
        if exporter in ("omct", "un-srt"):
            assert sorted(attached.values()) == sorted(names.values())
            assert all(n.startswith("attachments/attachment-0") for n in attached)
        else:
            assert attached == names
        docx_bytes, pdf_bytes = documents(members)
        texts = {"docx": flat(docx_text(docx_bytes)), "pdf": flat(pdf_text(pdf_bytes))}
        for kind, text in texts.items():
            for value in COMMON + EXPECTED[(exporter, lang, None)]:
                if exporter in ("omct", "un-srt") and "attachments/" in value:
                    value = value.split(" — attachments/")[0]  # listed under its neutral name
                assert flat(value) in text, f"{exporter}/{lang} {kind}: {value!r} missing"
            assert {"ң", "ө", "ү"} <= set(text), f"{exporter}/{lang} {kind}: Kyrgyz letters lost"
        annex = json.loads(members["custody/annex.json"])
        assert annex["exporter"]["name"] == exporter and annex["signer"]["name"] == "aigul"
        # The annex carries each manifest, which names the sealed fields by hash only.
        for entry in annex["items"]:
            manifest = json.loads(base64.b64decode(entry["manifest"]))
            assert "sealed" not in manifest and len(manifest["sealed_sha256"]) == 64
            assert "description" not in members["custody/annex.json"].decode()
        verified = cli.json("verify", str(out))
        assert verified["ok"] is True and verified["result"] == "ok" and verified["exporter"] == exporter
        # Each name comes from a certificate chain to the organisation whose fingerprint is printed.
        assert verified["organisation"]["fingerprint"] == org_fingerprint(env)
        assert {(s["role"], s["name"], s["user_role"], s["verified"]) for s in verified["signers"]} == {
            ("exporter", "aigul", "lawyer", True), ("uploader", "aigul", "lawyer", True),
            ("uploader", "bakyt", "medic", True)}
    # Every export is in the audit log with the hash of the bundle that was written.
    exported = audit_entries(people.admin, "case_exported")
    assert [(json.loads(e["details"])["exporter"], json.loads(e["details"])["bundle_sha256"]) for e in exported] == [
        (exporter, hashlib.sha256((tmp_path / f"{exporter}-{lang}.zip").read_bytes()).hexdigest())
        for exporter, lang in EXPORTS]
    assert all(e["actor"] == "aigul" and e["object"] == f"case:{people.case_id}" for e in exported)
    assert all(json.loads(e["details"])["via"] == "client" for e in exported)
    assert not list(tmp_path.glob(".vault-export-*"))  # the private work folders are gone


def flip_one_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def test_vault_verify_names_what_was_tampered_with(people, live, env, tmp_path):
    seeded = seed_case(people, tmp_path)
    cli = lawyer_cli(live, people)
    bundle = tmp_path / "ombudsman.zip"  # keeps the original names that the findings below name
    cli.json("export", people.case_id, "--format", "ombudsman", "--language", "ru", "--date", DOCUMENT_DATE,
             "--out", str(bundle), "--draft")
    p = cli.run("verify", str(bundle))
    assert p.returncode == 0 and "RESULT: OK" in p.stdout
    assert f"Organisation fingerprint: {org_fingerprint(env)}" in p.stdout
    assert "Exported and signed by: aigul (lawyer), certified by admin -> the organisation root" in p.stdout
    # Issue #11: an attachment replaced, its manifest and the annex re-signed with a fresh key, the
    # certificates and fingerprints copied. Intact in itself, but nobody vouches for that key.
    forged = forge(bundle, tmp_path / "forged.zip", crypto.UserKeys.generate(), b"\xff\xd8\xff not the photo")
    p = cli.run("verify", str(forged), check=False)
    assert p.returncode == 3 and "RESULT: NOT VERIFIED" in p.stdout, p.stdout
    assert "Exported and signed by: an unverified key" in p.stdout and "aigul (lawyer)" not in p.stdout.split(
        "Uploaded")[0]
    annex_edit = ("custody/annex.json", lambda d: d.replace(b'"aigul"', b'"someone"', 1))
    cases = {
        "changed": (rewrite(bundle, tmp_path / "changed.zip", change=(PHOTO, flip_one_byte)), PHOTO, "CHANGED"),
        "removed": (rewrite(bundle, tmp_path / "removed.zip", drop="attachments/passport.jpg"),
                    "attachments/passport.jpg", "MISSING"),
        "added": (rewrite(bundle, tmp_path / "added.zip", add=("attachments/extra-note.txt", b"added later")),
                  "attachments/extra-note.txt", "ADDED"),
        "annex": (rewrite(bundle, tmp_path / "annex.zip", change=annex_edit), "custody/annex.json",
                  "BAD_SIGNATURE"),
    }
    for what, (path, name, kind) in cases.items():
        p = cli.run("verify", str(path), check=False)
        assert p.returncode == 1, (what, p.stdout, p.stderr)
        assert "RESULT: FAILED" in p.stdout
        lines = [line for line in p.stdout.splitlines() if line.strip().startswith(kind)]
        assert any(name in line for line in lines), (what, p.stdout)
    # A byte changed inside the ZIP itself (no repacking) is caught too, by name.
    raw = bytearray(bundle.read_bytes())
    photo = seeded.files[seeded.ids["item-photo"]]
    at = bytes(raw).index(photo[1000:1032])  # images are stored, not deflated
    raw[at] ^= 0xFF
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(bytes(raw))
    p = cli.run("verify", str(corrupt), "--json", check=False)
    assert p.returncode == 1
    assert {(f["path"], f["kind"]) for f in json.loads(p.stdout)["findings"]} >= {(PHOTO, "changed")}


def test_missing_fields_are_listed_and_a_draft_still_builds(people, live, tmp_path):
    seeded = seed_case(people, tmp_path, upload_record=False)
    incomplete = {k: v for k, v in seeded.record.items() if k not in ("source", "applicant")}
    incomplete["victim"] = {k: v for k, v in incomplete["victim"].items()
                            if k != "consent_transmit_name_to_government"}
    path = tmp_path / "incomplete.json"
    path.write_text(json.dumps(incomplete, ensure_ascii=False), encoding="utf-8")
    upload_record_item(people.lawyer, people.case_id, path)
    cli = lawyer_cli(live, people)
    out = tmp_path / "srt.zip"
    p = cli.run("export", people.case_id, "--format", "un-srt", "--out", str(out), check=False)
    assert p.returncode == 1 and not out.exists()
    assert "victim.consent_transmit_name_to_government" in p.stderr
    assert "The UN needs the victim's consent to transmit the name to the government" in p.stderr
    assert "source.organisation" in p.stderr
    p = cli.run("export", people.case_id, "--format", "un-srt", "--out", str(out), "--json", check=False)
    answer = json.loads(p.stdout)["error"]  # the API's error shape: what is missing comes with the error
    assert p.returncode == 1 and answer["code"] == "missing"
    assert {"victim.consent_transmit_name_to_government", "source.organisation"} <= {
        x["path"] for x in answer["problems"] if x["severity"] == "missing"}
    assert "правительству" in " ".join(x["messages"].get("ru", "") for x in answer["problems"])
    assert not audit_entries(people.admin, "case_exported")  # nothing was exported
    # Without the consent the name must not reach the government: a draft too needs the redaction.
    p = cli.run("export", people.case_id, "--format", "un-srt", "--out", str(out), "--draft", check=False)
    assert p.returncode == 1 and "--redact" in p.stderr and not out.exists()
    draft = cli.json("export", people.case_id, "--format", "un-srt", "--out", str(out), "--draft", "--redact")
    assert draft["draft"] is True and out.exists()
    assert verify_bundle(out).ok
    assert json.loads(audit_entries(people.admin, "case_exported")[-1]["details"])["draft"] is True


def test_export_choices_and_clear_refusals(people, live, tmp_path):
    seeded = seed_case(people, tmp_path)
    cli = lawyer_cli(live, people)
    photo = seeded.ids["item-photo"]
    out = tmp_path / "one.zip"
    # An attachment the case record lists but the user leaves out is a warning, never a refusal (issue #12).
    result = cli.json("export", people.case_id, "--format", "ombudsman", "--language", "ky", "--attach", photo,
                      "--draft", "--out", str(out))
    assert result["items"] == [photo]
    left_out = {p["path"]: p["severity"] for p in result["problems"] if p["path"].startswith("attachments[")}
    assert left_out == {"attachments[1].item_id": "warning", "attachments[2].item_id": "warning",
                        "attachments[3].item_id": "warning"}
    assert [n for n in zipfile.ZipFile(out).namelist() if n.startswith("attachments/")] == [PHOTO]
    bare = cli.json("export", people.case_id, "--format", "ombudsman", "--language", "ky", "--no-attachments",
                    "--draft", "--out", str(out))
    assert bare["items"] == [] and not [n for n in zipfile.ZipFile(out).namelist() if n.startswith("attachments/")]
    every = cli.json("export", people.case_id, "--format", "omct", "--all-items", "--out", str(out))
    assert sorted(every["items"]) == sorted(seeded.files)  # the case record itself is not attached
    refusals = [
        (["--format", "no-such-exporter"], "not enabled on this vault"),
        (["--format", "omct", "--language", "ky"], "written in: en"),
        (["--format", "un-srt", "--variant", "cat22"], "has no variant"),
        (["--format", "omct", "--items", "0" * 32], "not items of this case"),
    ]
    for args, message in refusals:
        p = cli.run("export", people.case_id, *args, "--out", str(tmp_path / "refused.zip"), check=False)
        assert p.returncode != 0 and message in p.stderr, (args, p.stderr)
        assert not (tmp_path / "refused.zip").exists()
    # A case without a case record says how to make one.
    other = people.lawyer.create_case("KG-2026-002", "Second case", "osh_city")
    p = cli.run("export", other["id"], "--format", "omct", "--out", str(tmp_path / "x.zip"), check=False)
    assert p.returncode == 1 and "--type case_record" in p.stderr
    # Someone who is not a member gets the server's 404, not a traceback.
    outsider = Cli(live.url, people.outsider.home, "outsider", "outsider-pass-1")
    p = outsider.run("export", people.case_id, "--format", "omct", "--out", str(tmp_path / "x.zip"), "--json",
                     check=False)
    assert p.returncode == 2 and json.loads(p.stdout)["error"]["status"] == 404, p.stdout + p.stderr


RLO_FILE = "report\u202efdp.exe"  # shows as "reportexe.pdf"


def test_a_right_to_left_override_does_not_survive_an_export(people, live, tmp_path):
    from tests.export.test_bundle import flat_strings
    from tests.export.test_names import assert_clean

    seeded = seed_case(people, tmp_path, upload_record=False)
    cli = lawyer_cli(live, people)
    src = tmp_path / "hostile" / RLO_FILE
    src.parent.mkdir()
    src.write_bytes(b"MZ" + bytes(range(256)) * 8)
    item = cli.json("upload", people.case_id, str(src), "--type", "document", "--title", "Scan")[0]["item_id"]
    record = case_record_for(seeded.ids, reference="BISH\u202e-2025-017")
    record["attachments"].append({"item_id": item, "title": "Scan", "category": "other"})
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    upload_record_item(people.lawyer, people.case_id, path)
    out = tmp_path / "hrc.zip"
    cli.json("export", people.case_id, "--format", "un-hrc", "--language", "ru", "--date", DOCUMENT_DATE,
             "--out", str(out))
    members = bundle_members(out.read_bytes())
    for name in members:
        assert_clean(name, "ZIP entry")
    assert members["attachments/reportfdp.exe"] == src.read_bytes()
    annex = json.loads(members["custody/annex.json"])
    for where, value in flat_strings(annex):
        assert_clean(value, f"annex.json {where}")
    entry = next(e for e in annex["items"] if e["item_id"] == item)
    assert entry["original_filename"] == "report[U+202E]fdp.exe"  # the recipient sees the trick
    html = members["custody/annex.html"].decode()
    assert_clean(html.replace("\n", ""), "annex.html")
    docx_bytes, pdf_bytes = documents(members)
    for kind, text in {"docx": docx_text(docx_bytes), "pdf": pdf_text(pdf_bytes)}.items():
        lines = [line for line in text.splitlines() if "attachments/" in line]
        assert any("attachments/reportfdp.exe" in line for line in lines), kind
        for line in lines:
            assert_clean(line.replace("\t", " "), kind)
    assert cli.json("verify", str(out))["ok"] is True


def test_vault_download_writes_the_same_clean_name(people, live, tmp_path):
    from tests.export.test_names import assert_clean

    cli = lawyer_cli(live, people)
    folder = tmp_path / "originals"
    folder.mkdir()
    uploaded = {}
    # The second name carries a stress mark (U+0301), which has no precomposed letter: it stays.
    for name, shown in [(RLO_FILE, "reportfdp.exe"), ("за\u0301мок ң\u200b.pdf", "за\u0301мок ң.pdf")]:
        (folder / name).write_bytes(name.encode())
        item = cli.json("upload", people.case_id, str(folder / name), "--type", "document", "--title", "x")[0]
        uploaded[item["item_id"]] = (name, shown)
    for item_id, (name, shown) in uploaded.items():
        out_dir = tmp_path / f"out-{item_id}"
        out_dir.mkdir()
        got = cli.json("download", item_id, "--dir", str(out_dir))
        written = [p.name for p in out_dir.iterdir()]
        assert written == [shown] and got["path"] == str(out_dir / shown)
        assert_clean(written[0], "download")
        assert (out_dir / shown).read_bytes() == name.encode()


def test_the_name_is_kept_out_until_the_redaction_is_accepted(people, live, tmp_path):
    """Issue #12: refused with the places named, then --redact, then a bundle with no form of the name."""
    from tests.export.test_anonymity import leaks, leaky_case
    from tests.integration.conftest import upload_attachments
    from vault.client.transfer import upload_file

    ids, _, _ = upload_attachments(people, tmp_path)
    photo = tmp_path / "Токтогулов_Азамат_травмы.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"\x00\x80" * 1000)
    named = upload_file(people.lawyer, people.case_id, photo, {"title": "Photo", "evidence_type": "photo"},
                        sealed={"description": "photo"})["item_id"]
    record = leaky_case()
    for ref in record["attachments"]:
        ref["item_id"] = ids[ref["item_id"]]
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    upload_record_item(people.lawyer, people.case_id, path)
    cli = lawyer_cli(live, people)
    out = tmp_path / "omct.zip"
    args = ["export", people.case_id, "--format", "omct", "--attach", named, "--attach", ids["item-photo"],
            "--date", DOCUMENT_DATE, "--out", str(out), "--draft"]  # a draft too is refused: it can be sent
    p = cli.run(*args, check=False)
    assert p.returncode == 1 and not out.exists(), p.stdout + p.stderr
    for place in ("facts (ru), paragraph 2", "arrest place", "requests, concern", "«Жаңы-Жер» (home address)",
                  "--redact"):
        assert place in p.stderr, (place, p.stderr)
    answer = json.loads(cli.run(*args, "--json", check=False).stdout)["error"]
    assert answer["code"] == "missing" and "anonymity" in {x["path"] for x in answer["problems"]}
    result = cli.json(*args, "--redact")
    assert result["ok"] is True and out.exists()
    assert any("will be replaced with «Victim A»" in x["message"] for x in result["problems"])
    data = out.read_bytes()
    assert leaks(data) == []
    assert sorted(n for n in zipfile.ZipFile(out).namelist() if n.startswith("attachments/")) == [
        "attachments/attachment-01-photo.jpg", "attachments/attachment-02-photo.jpg"]
    verified = cli.json("verify", str(out))
    assert verified["ok"] is True and verified["withheld_manifests"] == [named, ids["item-photo"]]
    assert "Manifests withheld for the victim's anonymity: 2" in cli.run("verify", str(out)).stdout
