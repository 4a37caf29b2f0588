"""The bundle and its custody annex: built in memory, verified offline, tampering named by file."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.export.export_samples import ENABLED, full_case, make_item, options
from vault import crypto
from vault.export.bundle import BundleError, ExportRefused, build_bundle
from vault.export.layout import ANNEX_JSON, READ_CHUNK
from vault.export.verify import verify_bundle, verify_command

PHOTO = "attachments/стопы_Өмүрбеков.jpg"


@pytest.fixture
def bundle(tmp_path: Path, pm, keys, items, kit, chain) -> Path:
    # A draft: these tests are about the bundle, not about what the Committee's rules ask of the record.
    data = build_bundle("un-hrc", full_case(), items, options("ru"), keys, "Айгүл Жээнбекова",
                        pm=pm, enabled=ENABLED, organisation=kit.org, certificates=chain, allow_missing=True)
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return path


def rewrite(src: Path, dst: Path, change=None, drop=None, add=None) -> Path:
    """Repack a bundle as an attacker would: change one member, drop one, or add one."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = zin.read(info.filename)
            if change and info.filename == change[0]:
                data = change[1](data)
            zout.writestr(info, data)
        if add:
            zout.writestr(add[0], add[1])
    return dst


def kinds(report) -> set[tuple[str, str]]:
    return {(f.path, f.kind) for f in report.findings}


def test_fresh_bundle_verifies(bundle, keys, kit):
    names = zipfile.ZipFile(bundle).namelist()
    assert names == ["UN-HRC-BISH-2025-017-ru.docx", "UN-HRC-BISH-2025-017-ru.pdf", PHOTO,
                     "attachments/доверенность.pdf", "attachments/постановление.pdf",
                     "attachments/passport.jpg",
                     "custody/annex.html", ANNEX_JSON, "custody/annex.sig"]
    report = verify_bundle(bundle)
    assert report.ok and report.result == "ok", report.to_text()
    assert report.files_checked == 7
    fingerprint = crypto.fingerprint(keys.box_public, keys.sign_public)
    # The names are the certified ones ("aigul"), not the display name the exporter gave the annex.
    assert [(s.role, s.verified, s.name, s.user_role, s.fingerprint, s.certified_by) for s in report.signers] == [
        ("exporter", True, "aigul", "lawyer", fingerprint, ["admin"]),
        ("uploader", True, "aigul", "lawyer", fingerprint, ["admin"])]
    assert report.signers[1].items == ["item-photo", "item-auth", "item-decision", "item-passport"]
    assert report.organisation_fingerprint == kit.org.fingerprint
    text = report.to_text()
    assert fingerprint in text and f"Organisation fingerprint: {kit.org.fingerprint}" in text
    assert "Exported and signed by: aigul (lawyer), certified by admin -> the organisation root" in text


def test_annex_content(bundle, items, kit, chain):
    annex = json.loads(zipfile.ZipFile(bundle).read(ANNEX_JSON))
    assert annex["exporter"]["name"] == "un-hrc" and annex["exporter"]["form_verified"] is False
    photo = annex["items"][0]
    assert photo["path"] == PHOTO and photo["item_id"] == "item-photo"
    assert photo["original_filename"] == "стопы_Өмүрбеков.jpg"
    assert photo["uploaded_at"] == "2025-03-17T12:00:05Z" and photo["captured_at"] == "2025-03-17T10:00:00Z"
    assert base64.b64decode(photo["manifest"]) == items[0].manifest_bytes
    assert base64.b64decode(photo["signature"]) == items[0].manifest_signature
    files = {f["path"]: f for f in annex["files"]}
    assert files[PHOTO]["sha256"] == items[0].manifest["sha256"] and files[PHOTO]["role"] == "attachment"
    html = zipfile.ZipFile(bundle).read("custody/annex.html").decode()
    assert "стопы_Өмүрбеков.jpg" in html and annex["signer"]["fingerprint"] in html
    assert "<script" not in html
    assert annex["version"] == 2
    assert annex["organisation"] == {"recovery_public": crypto.b64e(kit.org.recovery_public),
                                     "root_sign_public": crypto.b64e(kit.org.root_sign_public)}
    assert annex["signer"]["certificates"] == chain and photo["uploader_certificates"] == chain
    assert kit.org.fingerprint in html


def test_one_changed_byte_in_an_attachment_is_named(bundle, tmp_path):
    def flip(data: bytes) -> bytes:
        return data[:100] + bytes([data[100] ^ 1]) + data[101:]

    bad = rewrite(bundle, tmp_path / "bad.zip", change=(PHOTO, flip))
    report = verify_bundle(bad)
    assert kinds(report) == {(PHOTO, "changed"), (PHOTO, "mismatch")}


def test_corrupted_zip_bytes_are_named(bundle, tmp_path):
    raw = bytearray(bundle.read_bytes())
    at = raw.find(b"photophotophoto")  # image/jpeg is stored, not deflated: the bytes are as-is
    assert at > 0
    raw[at] ^= 1
    bad = tmp_path / "flip.zip"
    bad.write_bytes(bytes(raw))
    assert (PHOTO, "changed") in kinds(verify_bundle(bad))


def test_removed_file_is_named(bundle, tmp_path):
    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", drop="attachments/passport.jpg"))
    assert kinds(report) == {("attachments/passport.jpg", "missing")}


def test_added_file_is_named(bundle, tmp_path):
    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", add=("attachments/extra.jpg", b"planted")))
    assert kinds(report) == {("attachments/extra.jpg", "added")}


def test_edited_annex_is_named(bundle, tmp_path):
    def edit(data: bytes) -> bytes:
        annex = json.loads(data)
        annex["items"][0]["uploaded_at"] = "2025-03-16T12:00:05Z"  # a back-dated upload
        return json.dumps(annex, ensure_ascii=False, indent=2, sort_keys=True).encode()

    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", change=(ANNEX_JSON, edit)))
    assert kinds(report) == {(ANNEX_JSON, "bad_signature")}


def test_edited_manifest_in_annex_is_named(bundle, tmp_path):
    def edit(data: bytes) -> bytes:
        annex = json.loads(data)
        manifest = json.loads(base64.b64decode(annex["items"][0]["manifest"]))
        manifest["captured_at"] = "2025-03-01T00:00:00Z"
        annex["items"][0]["manifest"] = base64.b64encode(json.dumps(manifest).encode()).decode()
        return json.dumps(annex).encode()

    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", change=(ANNEX_JSON, edit)))
    assert kinds(report) == {(ANNEX_JSON, "bad_signature"), (PHOTO, "bad_signature")}


def test_verify_command_exit_codes_and_json(bundle, tmp_path, capsys):
    assert verify_command(str(bundle)) == 0
    assert "RESULT: OK" in capsys.readouterr().out
    bad = rewrite(bundle, tmp_path / "bad.zip", drop=PHOTO)
    assert verify_command(str(bad), as_json=True) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and {"path": PHOTO, "kind": "missing"}.items() <= out["findings"][0].items()
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert verify_command(str(tmp_path / "junk.zip")) == 2
    assert verify_command(str(tmp_path / "absent.zip"), as_json=True) == 2


def test_names_are_sanitised_and_unique(tmp_path, pm, keys):
    items = [make_item(keys, f"i{n}", name, f"data {n}".encode(), "document")
             for n, name in enumerate(["../../etc/passwd", "C:\\evil\\a.pdf", "a.pdf", "A.PDF",
                                       "CON.txt", ""])]
    case = {"victim": {"family_name": "Тест"}}
    data = build_bundle("ombudsman", case, items, options("ru"), keys, "x", pm=pm, enabled=ENABLED,
                        allow_missing=True)
    names = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("attachments/")]
    assert names == ["attachments/passwd", "attachments/a.pdf", "attachments/a (2).pdf",
                     "attachments/A (3).PDF", "attachments/_CON.txt", "attachments/i5"]
    path = tmp_path / "names.zip"
    path.write_bytes(data)
    assert verify_bundle(path).ok
    # OMCT publishes what it receives: there every attachment has a neutral name, whatever the consent.
    data = build_bundle("omct", case, items, options("en"), keys, "x", pm=pm, enabled=ENABLED,
                        allow_missing=True)
    names = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("attachments/")]
    assert names == ["attachments/attachment-01-document.bin", "attachments/attachment-02-document.pdf",
                     "attachments/attachment-03-document.pdf", "attachments/attachment-04-document.pdf",
                     "attachments/attachment-05-document.txt", "attachments/attachment-06-document.bin"]
    path.write_bytes(data)
    assert verify_bundle(path).ok


def test_missing_requirements_refuse_the_export(pm, keys, items):
    with pytest.raises(ExportRefused) as info:
        build_bundle("un-srt", {"victim": {"family_name": "Өмүрбеков"}}, items, options("en"), keys, "x",
                     pm=pm, enabled=ENABLED)
    assert "victim.consent_to_submit" in {p.path for p in info.value.problems}


def test_item_not_matching_its_manifest_is_refused(pm, keys):
    item = make_item(keys, "i1", "a.jpg", b"original")
    item.open = lambda: io.BytesIO(b"tampered")
    with pytest.raises(BundleError, match="does not match its signed manifest"):
        build_bundle("omct", full_case(), [item], options("en"), keys, "x", pm=pm, enabled=ENABLED,
                     allow_missing=True)
    forged = make_item(keys, "i2", "b.jpg", b"x")
    forged.manifest_signature = bytes(64)
    with pytest.raises(BundleError, match="signature does not verify"):
        build_bundle("omct", full_case(), [forged], options("en"), keys, "x", pm=pm, enabled=ENABLED,
                     allow_missing=True)


def test_attachments_are_streamed_in_chunks(pm, keys):
    big = b"\x00" * (3 * READ_CHUNK + 5)
    item = make_item(keys, "big", "big.bin", big, "video")
    reads = []

    class Watched(io.BytesIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    item.open = lambda: Watched(big)
    build_bundle("omct", full_case(), [item], options("en"), keys, "x", pm=pm, enabled=ENABLED,
                 allow_missing=True)
    assert reads and all(0 < size <= READ_CHUNK for size in reads)


def test_path_traversal_member_is_named(bundle, tmp_path):
    report = verify_bundle(rewrite(bundle, tmp_path / "bad.zip", add=("../../evil.sh", b"#!/bin/sh")))
    assert kinds(report) == {("../../evil.sh", "unsafe_name"), ("../../evil.sh", "added")}


def test_browser_path_signs_in_the_client(tmp_path, pm, keys, items, kit, chain):
    from vault.export.bundle import SignerIdentity, attach_signature, build_unsigned_bundle

    identity = SignerIdentity.of(keys, "Айгүл Жээнбекова", chain)
    unsigned, annex_bytes = build_unsigned_bundle("omct", full_case(), items, options("en"), identity,
                                                  pm=pm, enabled=ENABLED, organisation=kit.org,
                                                  allow_missing=True)
    path = tmp_path / "unsigned.zip"
    path.write_bytes(unsigned)
    assert kinds(verify_bundle(path)) == {("custody/annex.sig", "missing")}
    with pytest.raises(BundleError, match="does not verify"):
        attach_signature(unsigned, crypto.UserKeys.generate().sign(annex_bytes))
    signed = attach_signature(unsigned, keys.sign(annex_bytes))  # what the browser sends back
    path.write_bytes(signed)
    assert verify_bundle(path).result == "ok"
    with pytest.raises(BundleError, match="already signed"):
        attach_signature(signed, keys.sign(annex_bytes))


def test_no_hidden_character_reaches_a_bundle(tmp_path, pm, keys):
    """report<U+202E>fdp.exe must not show as "reportexe.pdf" in the bundle, its annex or its documents."""
    from tests.export.export_samples import full_case as sample_case
    from tests.export.test_exporters import docx_text, pdf_text
    from tests.export.test_names import RLO_NAME, assert_clean

    hostile = [RLO_NAME, "zero\u200bwidth\u2066.pdf", "\u202e", "soft\u00adhyphen\U000e0041.jpg", "c1\x85.txt"]
    items = [make_item(keys, f"i{n}", name, f"data {n}".encode(), "document") for n, name in enumerate(hostile)]
    case = sample_case()
    case["reference"] = "BISH\u202e-2025-017"  # the exporters put it in the documents' file names
    case["attachments"] = [{"item_id": item.item_id, "title": "Evidence", "category": "other"} for item in items]
    data = build_bundle("un-hrc", case, items, options("ru"), keys, "x", pm=pm, enabled=ENABLED,
                        allow_missing=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    for name in members:
        assert_clean(name, "ZIP entry")
    assert "attachments/reportfdp.exe" in members and "attachments/i2" in members
    assert "UN-HRC-BISH-2025-017-ru.docx" in members
    annex = json.loads(members[ANNEX_JSON])
    for path, value in flat_strings(annex):
        assert_clean(value, f"annex.json {path}")
    assert annex["items"][0]["original_filename"] == "report[U+202E]fdp.exe"  # seen, not obeyed
    assert_clean(members["custody/annex.html"].decode().replace("\n", ""), "annex.html")  # (the CSS's lines)
    assert "report[U+202E]fdp.exe" in members["custody/annex.html"].decode()
    doc = next(n for n in members if n.endswith(".docx"))
    texts = {"docx": docx_text(members[doc]), "pdf": pdf_text(members[doc[:-5] + ".pdf"])}
    for kind, text in texts.items():
        lines = [line for line in text.splitlines() if "attachments/" in line]
        assert len(lines) >= len(hostile), f"{kind}: the attachment list is missing"
        for line in lines:
            assert_clean(line.replace("\t", " "), kind)  # (the list's own tab after "1.")
    path = tmp_path / "hostile.zip"
    path.write_bytes(data)
    assert verify_bundle(path).ok  # the signed manifests still carry the exact original names


def flat_strings(value, path="") -> list[tuple[str, str]]:
    """Every string in a JSON value, with where it is."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in flat_strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for n, v in enumerate(value) for p in flat_strings(v, f"{path}[{n}]")]
    return []
