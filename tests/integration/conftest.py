"""Shared pieces of the integration tests: a real case uploaded through the real client, and readers.

The case record is tests/export/export_samples.full_case() (a complete case
with Kyrgyz and Russian text), its attachment references pointing at items
really uploaded to the vault, encrypted and signed by the client.
"""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import make_people  # noqa: F401 - re-exported for the integration tests
from tests.export.export_samples import full_case
from tests.plugins.conftest import THIRDPARTY_SRC, pip_install_target
from vault.client.transfer import upload_file

CASE_RECORD_MEDIA = "application/vnd.vault.case-record+json"
DOCUMENT_DATE = "2025-11-20"  # the date tests/export/test_exporters.py's expectations are written for

# (sample id in full_case(), file name, evidence type, who uploads it)
ATTACHMENTS = [
    ("item-photo", "стопы_Өмүрбеков.jpg", "photo", "medic"),
    ("item-auth", "доверенность.pdf", "document", "lawyer"),
    ("item-decision", "постановление.pdf", "court_document", "lawyer"),
    ("item-passport", "passport.jpg", "document", "lawyer"),
]


@dataclass
class SeededCase:
    case_id: str
    ids: dict[str, str]  # sample id -> real item id
    files: dict[str, bytes]  # real item id -> plaintext
    names: dict[str, str]  # real item id -> original file name
    record: dict
    record_path: Path
    record_item: str | None = None
    extra: dict = field(default_factory=dict)


def case_record_for(ids: dict[str, str], **changes) -> dict:
    record = full_case()
    for ref in record["attachments"]:
        ref["item_id"] = ids[ref["item_id"]]
    record.update(changes)
    return record


def upload_attachments(people, tmp_path: Path, marker: bytes = b"", big: int = 0) -> tuple[dict, dict, dict]:
    """The four sample attachments, uploaded by the lawyer and the medic. Returns (ids, files, names)."""
    folder = tmp_path / "originals"
    folder.mkdir(exist_ok=True)
    ids, files, names = {}, {}, {}
    for sample, name, evidence_type, who in ATTACHMENTS:
        head = b"\xff\xd8\xff" if name.endswith(".jpg") else b"%PDF-1.4\n"
        data = head + os.urandom(big or 3000) + marker + name.encode() + os.urandom(500)
        path = folder / name
        path.write_bytes(data)
        sess = people.medic if who == "medic" else people.lawyer
        out = upload_file(sess, people.case_id, path, {"title": f"Evidence {sample}", "evidence_type": evidence_type},
                          sealed={"description": f"{sample} description"})
        ids[sample] = out["item_id"]
        files[out["item_id"]] = data
        names[out["item_id"]] = name
    return ids, files, names


def seed_case(people, tmp_path: Path, upload_record: bool = True, **changes) -> SeededCase:
    ids, files, names = upload_attachments(people, tmp_path)
    record = case_record_for(ids, **changes)
    path = tmp_path / "case-record.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    seeded = SeededCase(people.case_id, ids, files, names, record, path)
    if upload_record:
        seeded.record_item = upload_record_item(people.lawyer, people.case_id, path)
    return seeded


def upload_record_item(sess, case_id: str, path: Path) -> str:
    return upload_file(sess, case_id, path, {"title": "Case record", "evidence_type": "case_record"},
                       media_type=CASE_RECORD_MEDIA)["item_id"]


def bundle_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def documents(members: dict[str, bytes]) -> tuple[bytes, bytes]:
    docx_name = next(n for n in members if n.endswith(".docx") and "/" not in n)
    pdf_name = next(n for n in members if n.endswith(".pdf") and "/" not in n)
    return members[docx_name], members[pdf_name]


def audit_entries(admin, action: str | None = None) -> list[dict]:
    entries, after = [], 0
    while True:
        page = admin.http.get("/admin/audit", params={"after": after, "limit": 1000})["entries"]
        if not page:
            break
        entries += page
        after = page[-1]["seq"]
    return [e for e in entries if action is None or e["action"] == action]


@pytest.fixture(scope="session")
def thirdparty_install(tmp_path_factory) -> Path:
    """The demo third-party plugin (tests/plugins/thirdparty) pip-installed into a folder of its own."""
    site = tmp_path_factory.mktemp("thirdparty") / "site"
    pip_install_target(THIRDPARTY_SRC, site)
    return site


# --------------------------------------------------------------------------- the browser's side


@dataclass
class Decrypted:
    """An item as the browser holds it after decrypting: signed manifest bytes, signature, plaintext."""

    item_id: str
    manifest_bytes: bytes
    signature: bytes
    plaintext: bytes


def decrypt_like_the_browser(sess, item_id: str, scratch: Path) -> Decrypted:
    from vault.client.transfer import download_item, fetch_item

    _, _, body, sig, _ = fetch_item(sess, item_id)
    scratch.mkdir(parents=True, exist_ok=True)
    path, _ = download_item(sess, item_id, out=scratch / item_id)
    data = path.read_bytes()
    path.unlink()
    return Decrypted(item_id, body, sig, data)


def export_spec(exporter: str, record: dict, items: list[Decrypted], language: str, *, variant=None,
                draft: bool = False, document_date: str | None = DOCUMENT_DATE) -> dict:
    return {
        "exporter": exporter, "case_record": record,
        "options": {"language": language, "variant": variant, "document_date": document_date, "draft": draft},
        "items": [{"item_id": d.item_id, "manifest_b64": base64.b64encode(d.manifest_bytes).decode(),
                   "signature_b64": base64.b64encode(d.signature).decode()} for d in items],
    }


def multipart(spec: dict | bytes, files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """The body a browser's FormData makes: the JSON part 'export', then one part 'item:<id>' per file."""
    from urllib3.fields import RequestField
    from urllib3.filepost import encode_multipart_formdata

    first = RequestField("export", spec if isinstance(spec, bytes) else json.dumps(spec, ensure_ascii=False).encode(),
                         filename="blob")
    first.make_multipart(content_type="application/json")
    fields = [first]
    for name, data in files:
        part = RequestField(name, data, filename="blob")
        part.make_multipart(content_type="application/octet-stream")
        fields.append(part)
    return encode_multipart_formdata(fields)


def item_files(items: list[Decrypted]) -> list[tuple[str, bytes]]:
    return [(f"item:{d.item_id}", d.plaintext) for d in items]
