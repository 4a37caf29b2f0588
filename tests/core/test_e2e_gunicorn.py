"""The whole journey through real gunicorn workers and the real `vault` command,
then a sweep of everything the server wrote for anything it must never hold."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import assert_nowhere, both_blob_stores
from tests.core.cli_helpers import Cli

pytestmark = pytest.mark.slow

MARKER = b"MARKER-7f3a9c-SEALED-CONTENT"
FILENAME = "Photo_of_Nurlan_injuries_2026.bin"
VICTIM = "Нурлан Сыдыкбеков-Өмүрзаков"
PASSWORDS = {"admin": "admin-Pässwörd-1", "aigul": "lawyer-Pässwörd-2", "bakyt": "medic-Pässwörd-3"}


def _random_file_with_marker(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        half = size // 2
        f.write(os.urandom(half))
        f.write(MARKER)
        f.write(os.urandom(size - half - len(MARKER)))


FORENSIC = {
    "v": 1, "exam_date": "2026-10-02", "exam_place": "Ош шаардык ооруканасы", "informed_consent": True,
    "clinician_name": "Др. Гүлнара Бекова", "clinician_qualifications": "Соттук-медициналык эксперт",
    "allegations": f"{VICTIM} says he was beaten with batons on the soles of his feet.",
    "physical_exam": {}, "findings": [
        {"lesion": "Bruising of both soles, 4 x 6 cm", "alleged_method": "beating", "consistency": "highly_consistent"},
    ],
    "overall_consistency": "highly_consistent", "conclusions": "Findings are highly consistent with falanga.",
}


@both_blob_stores
def test_full_journey_leaves_no_plaintext_on_the_server(env, tmp_path):
    from tests.conftest import Gunicorn

    srv = Gunicorn(env, workers=4)
    try:
        homes = {n: tmp_path / "clients" / n for n in PASSWORDS}
        admin = Cli(srv.url, homes["admin"], "admin", PASSWORDS["admin"], env.data_dir)
        admin.run("register", "--invite", env.admin_invitation)
        admin.run("login")
        # The kit holder certifies the first admin as the organisation root (the binding checks out).
        assert admin.json("org", "certify", "--kit", str(env.kit))["certified"] == ["admin"]
        lawyer_inv = admin.json("admin", "invite", "--role", "lawyer")["code"]
        # The root's own invitation from the server machine: the other path in.
        medic_inv = admin.json("server", "invite", "--role", "medic", "--kit", str(env.kit))["invitation"]
        lawyer = Cli(srv.url, homes["aigul"], "aigul", PASSWORDS["aigul"])
        medic = Cli(srv.url, homes["bakyt"], "bakyt", PASSWORDS["bakyt"])
        reg = lawyer.json("register", "--invite", lawyer_inv)
        medic.run("register", "--invite", medic_inv)
        assert reg["org_fingerprint"] == admin.json("org", "show")["org_fingerprint"]
        assert {p["username"] for p in admin.json("admin", "pending")} == {"aigul", "bakyt"}
        assert admin.json("admin", "certify")["certified"] == ["aigul"]
        assert admin.json("org", "certify", "--kit", str(env.kit))["certified"] == ["bakyt"]
        assert admin.json("admin", "pending") == []
        assert lawyer.json("login")["certified"] is True
        medic.run("login")
        case = lawyer.json("case", "create", "KG-2026-017", "--title", "Beating in temporary detention",
                           "--region", "osh_city")
        lawyer.run("case", "add-member", case["id"], "bakyt")

        big = tmp_path / FILENAME
        _random_file_with_marker(big, 50 * 1024 * 1024)
        sealed = tmp_path / "sealed.json"
        sealed.write_text(json.dumps({"victim": VICTIM, "statement": "MARKER-7f3a9c in the statement"}),
                          encoding="utf-8")
        up = lawyer.json("upload", case["id"], str(big), "--title", "Injuries photo series", "--type", "photo",
                         "--region", "osh_city", "--sealed", str(sealed))[0]
        report = tmp_path / "forensic-report-Nurlan.json"
        report.write_text(json.dumps(FORENSIC, ensure_ascii=False), encoding="utf-8")
        rep = medic.json("upload", case["id"], str(report), "--title", "Istanbul Protocol examination",
                         "--type", "forensic_report")[0]
        diagram = tmp_path / "body-diagram-Nurlan.png"
        diagram.write_bytes(b"\x89PNG\r\n\x1a\n" + MARKER + os.urandom(2000))
        medic.json("upload", case["id"], str(diagram), "--title", "Body diagram", "--type", "medical_record",
                   "--attach-to", rep["item_id"])

        got = medic.json("download", up["item_id"], "--out", str(tmp_path / "big.out"))
        assert got["verified"] is True
        assert (tmp_path / "big.out").read_bytes() == big.read_bytes()
        got = lawyer.json("download", rep["item_id"], "--dir", str(tmp_path))
        assert json.loads(Path(got["path"]).read_text(encoding="utf-8")) == FORENSIC
        assert Path(got["path"]).name == "forensic-report-Nurlan.json"  # original name restored
        listing = medic.json("case", "show", case["id"])
        assert [(m["username"], m["certified"]) for m in listing["members"]] == [("aigul", True), ("bakyt", True)]
        assert listing["chain_entries"] == 2
        assert {i["evidence_type"] for i in listing["items"]} == {"photo", "forensic_report", "medical_record"}
        assert lawyer.json("verify", up["item_id"])["verified"] is True
        assert admin.json("server", "audit-verify")["ok"] is True
        assert admin.json("server", "fsck")["ok"] is True
    finally:
        srv.stop()

    needles = [MARKER, FILENAME.encode(), b"Photo_of_Nurlan", "Нурлан".encode(), VICTIM.encode(),
               "Гүлнара".encode(), b"falanga", b"forensic-report-Nurlan", b"body-diagram-Nurlan"]
    needles += [p.encode() for p in PASSWORDS.values()]
    needles += [VICTIM.encode("utf-16-le"), json.dumps(VICTIM).encode()]  # escaped forms too
    swept = assert_nowhere(env.data_dir, needles)
    from vault.services.vault import open_vault

    v = open_vault(env.config)
    stored = sorted(v.blobs.all_hashes())
    assert len(stored) == 3  # the three items' ciphertext, wherever the store keeps it
    for sha in stored:
        assert v.blobs.sha256(sha) == sha
        with v.blobs.open(sha) as r:
            tail = b""
            while piece := r.read(1024 * 1024):
                for n in needles:
                    assert n not in tail + piece, f"{n!r} found in blob {sha}"
                tail = piece[-200:]
    v.db.dispose()
    if env.config.blob_url:
        assert not (env.data_dir / "blobs").exists()  # nothing of the evidence stays on the server's disk
    assert swept > 5  # the database, WAL, blobs, logs were all looked at
    assert (env.data_dir / "logs" / "access.log").stat().st_size > 0
