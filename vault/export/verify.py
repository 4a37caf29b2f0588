"""Offline check of an export bundle: ``vault verify BUNDLE``.

Needs no server and no network: everything it checks is inside the ZIP.

* custody/annex.sig is the exporter's Ed25519 signature over annex.json;
* every file listed in annex.json is present with that SHA-256 and size;
* no file is present that annex.json does not list;
* every attachment's manifest verifies under its uploader's key, names the
  same item, and its SHA-256 and size match the file in the bundle;
* fingerprints printed in the annex match the keys they claim to describe.

Signatures prove who signed, not who the keys belong to: the report prints
every signer's fingerprint so the recipient can compare it with the person.

A bundle comes from someone else, so nothing in it is read unbounded: the
ZIP's directory is checked against its end record before zipfile parses it
(``check_directory``), annex.json is read to at most ANNEX_MAX bytes and
parsed to a bounded depth (vault.jsonlimits), whatever sizes the ZIP declares.
"""

from __future__ import annotations

import binascii
import json
import os
import sys
import zipfile
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import BinaryIO, Literal

from vault import crypto, jsonlimits
from vault.export.layout import ANNEX_FORMAT, ANNEX_JSON, ANNEX_SIG, READ_CHUNK, key_id

# An annex entry is about 3 KB per attachment: 16 MiB is thousands of items.
ANNEX_MAX = 16 * 1024 * 1024
MANIFEST_MAX = 2 * 1024 * 1024  # as the server accepts (vault.services.exports)
SIG_MAX = 1024  # base64 of 64 bytes and a newline
# zipfile holds ~500 bytes per entry once it has parsed the directory: these
# keep that under ~50 MB, far above any export (one entry per attachment).
MAX_ENTRIES = 20_000
MAX_DIRECTORY = 8 * 1024 * 1024
_END = b"PK\x05\x06"  # the end-of-central-directory record, 22 bytes + a comment of up to 64 KiB

Kind = Literal["changed", "missing", "added", "bad_signature", "mismatch", "unsafe_name", "malformed"]


@dataclass
class Finding:
    path: str
    kind: Kind
    detail: str


@dataclass
class Signer:
    role: Literal["exporter", "uploader"]
    name: str
    fingerprint: str | None
    key_id: str
    items: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    bundle: str
    findings: list[Finding] = field(default_factory=list)
    signers: list[Signer] = field(default_factory=list)
    files_checked: int = 0
    created_at: str | None = None
    exporter: str | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, path: str, kind: Kind, detail: str) -> None:
        self.findings.append(Finding(path, kind, detail))

    def to_dict(self) -> dict:
        return {"bundle": self.bundle, "ok": self.ok, "created_at": self.created_at,
                "exporter": self.exporter, "files_checked": self.files_checked,
                "findings": [asdict(f) for f in self.findings],
                "signers": [asdict(s) for s in self.signers]}

    def to_text(self) -> str:
        lines = [f"Bundle: {self.bundle}"]
        if self.exporter:
            lines.append(f"Export: {self.exporter}, created {self.created_at}")
        for s in self.signers:
            who = "Exported and signed by" if s.role == "exporter" else "Uploaded and signed by"
            lines.append(f"{who}: {s.name}")
            lines.append(f"    fingerprint: {s.fingerprint or 'not available'}   (key id {s.key_id})")
            if s.items:
                lines.append(f"    items: {', '.join(s.items)}")
        lines.append("Compare each fingerprint with the signer in person or over a trusted channel.")
        lines.append(f"Files checked: {self.files_checked}")
        if self.ok:
            lines.append("RESULT: OK - every file matches the custody annex and every signature verifies.")
        else:
            lines.append(f"RESULT: FAILED - {len(self.findings)} problem(s):")
            lines += [f"  {f.kind.upper():<14} {f.path}: {f.detail}" for f in self.findings]
        return "\n".join(lines)


class Unreadable(ValueError):
    """The file cannot be checked as a bundle at all; the message says why (no content quoted)."""


def check_directory(f: BinaryIO) -> None:
    """Refuse a ZIP whose directory is larger than any bundle's, before zipfile parses (and holds) it all.

    Reads the end record's entry count and directory size; ZIP64 markers
    (0xFFFF...) are left to the check on the parsed directory. Leaves ``f``
    at its start.
    """
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - 22 - 65535))
    tail = f.read()
    f.seek(0)
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        return  # not a ZIP: zipfile says so
    entries = int.from_bytes(tail[at + 10:at + 12], "little")
    directory = int.from_bytes(tail[at + 12:at + 16], "little")
    if entries != 0xFFFF and entries > MAX_ENTRIES:
        raise Unreadable(f"it holds {entries} files; a bundle holds at most {MAX_ENTRIES}")
    if directory != 0xFFFFFFFF and directory > MAX_DIRECTORY:
        raise Unreadable(f"its list of files is {directory} bytes; a bundle's is at most {MAX_DIRECTORY}")


def _open_zip(path: str | os.PathLike | BinaryIO) -> zipfile.ZipFile:
    if isinstance(path, str | os.PathLike):
        with open(path, "rb") as f:
            check_directory(f)
    else:
        check_directory(path)
    try:
        zf = zipfile.ZipFile(path)
    except (NotImplementedError, RuntimeError, zlib.error, EOFError, ValueError) as exc:
        # A directory zipfile cannot take (a newer "version needed", a name that is not UTF-8...).
        raise zipfile.BadZipFile(f"not a ZIP this tool reads ({type(exc).__name__})") from None
    if len(zf.infolist()) > MAX_ENTRIES:
        zf.close()
        raise Unreadable(f"it holds more than {MAX_ENTRIES} files, more than any bundle")
    return zf


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts


# What reading one member of a hostile ZIP can raise: a corrupt stream
# (BadZipFile, zlib.error, EOFError), a compression method zipfile lacks
# (NotImplementedError), an encrypted member (RuntimeError), an I/O error.
# Each is the bundle's fault and is reported, never raised.
MEMBER_ERRORS = (zipfile.BadZipFile, OSError, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _hash_member(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    with zf.open(name) as src:
        return crypto.sha256_stream(src, chunk=READ_CHUNK)


def _check_signature(zf: zipfile.ZipFile, names: set[str], annex_bytes: bytes, annex: dict,
                     report: VerifyReport) -> None:
    signer = _dict(annex.get("signer"))
    try:
        public = crypto.b64d(signer.get("sign_public"))
        if ANNEX_SIG not in names:
            report.add(ANNEX_SIG, "missing", "the exporter's signature over annex.json is missing")
        else:
            with zf.open(ANNEX_SIG) as src:
                sig = jsonlimits.read(src, max_bytes=SIG_MAX)
            crypto.verify_detached(public, annex_bytes, crypto.b64d(sig.decode("ascii").strip()))
    except crypto.BadSignature:
        report.add(ANNEX_JSON, "bad_signature",
                   "annex.json was changed after it was signed (or annex.sig is not its signature)")
    except (ValueError, binascii.Error, UnicodeDecodeError, *MEMBER_ERRORS):
        report.add(ANNEX_SIG, "malformed", "the signature or the exporter's public key is not valid base64")
        public = b""
    fpr = signer.get("fingerprint")
    try:
        box = crypto.b64d(signer.get("box_public")) if signer.get("box_public") else None
    except (ValueError, binascii.Error):
        box = None
    if box and public and fpr != crypto.fingerprint(box, public):
        report.add(ANNEX_JSON, "mismatch", "the exporter's fingerprint does not match the exporter's keys")
    report.signers.append(Signer("exporter", str(signer.get("name")), fpr,
                                 key_id(public) if public else "?"))


def _check_items(annex: dict, actual: dict[str, tuple[str, int]], report: VerifyReport) -> None:
    uploaders: dict[tuple[str, str], Signer] = {}
    entries = annex.get("items", [])
    for entry in entries if isinstance(entries, list) else [None]:
        entry = _dict(entry)
        path = str(entry.get("path"))
        try:
            public = crypto.b64d(entry["uploader_sign_public"])
            manifest_bytes = crypto.b64d(entry["manifest"])
            crypto.verify_detached(public, manifest_bytes, crypto.b64d(entry["signature"]))
            manifest = jsonlimits.loads(manifest_bytes, max_bytes=MANIFEST_MAX)
            if not isinstance(manifest, dict):
                raise ValueError("a manifest is a JSON object")
            box = crypto.b64d(entry["uploader_box_public"]) if entry.get("uploader_box_public") else None
        except crypto.BadSignature:
            report.add(path, "bad_signature", "the uploader's signature over the manifest does not verify")
            continue
        except (KeyError, ValueError, binascii.Error):
            report.add(path, "malformed", "the annex entry for this attachment is incomplete or invalid")
            continue
        if manifest.get("item_id") != entry.get("item_id"):
            report.add(path, "mismatch", "the signed manifest names another item")
        if path in actual and (manifest.get("sha256"), manifest.get("size")) != actual[path]:
            report.add(path, "mismatch", "the file does not match the SHA-256 and size its uploader signed")
        fpr = entry.get("uploader_fingerprint")
        if box and fpr != crypto.fingerprint(box, public):
            report.add(path, "mismatch", "the uploader's fingerprint does not match the uploader's keys")
        kid = key_id(public)
        signer = uploaders.setdefault((str(entry.get("uploader")), kid),
                                      Signer("uploader", str(entry.get("uploader")), fpr, kid))
        signer.items.append(str(entry.get("item_id")))
    report.signers += list(uploaders.values())


def verify_bundle(path: str | os.PathLike | BinaryIO) -> VerifyReport:
    """Check a bundle offline; the report names every changed, missing or added file.

    Raises zipfile.BadZipFile or OSError if the file is not a readable ZIP,
    Unreadable if its directory is larger than any bundle's.
    """
    report = VerifyReport(bundle=str(getattr(path, "name", path)))
    with _open_zip(path) as zf:
        members = [i.filename for i in zf.infolist() if not i.is_dir()]
        names = set(members)
        for name in sorted(n for n, count in Counter(members).items() if count > 1):
            report.add(name, "added", "the bundle holds this name more than once")
        for name in members:
            if _unsafe(name):
                report.add(name, "unsafe_name", "this path would escape the folder it is unpacked into")
        if ANNEX_JSON not in names:
            report.add(ANNEX_JSON, "missing", "the custody annex is missing: nothing can be verified")
            return report
        try:
            with zf.open(ANNEX_JSON) as src:
                annex_bytes = jsonlimits.read(src, max_bytes=ANNEX_MAX)
            annex = jsonlimits.loads(annex_bytes, max_bytes=ANNEX_MAX)
            files = {str(e["path"]): _dict(e) for e in annex["files"]}
            if annex.get("format") != ANNEX_FORMAT:
                raise ValueError("unknown annex format")
        except jsonlimits.TooLarge:
            report.add(ANNEX_JSON, "malformed", f"the custody annex is larger than {ANNEX_MAX} bytes, more than "
                       "any export writes: it was not read")
            return report
        except jsonlimits.TooDeep:
            report.add(ANNEX_JSON, "malformed", "the custody annex nests deeper than any export writes: "
                       "it was not read")
            return report
        except (ValueError, KeyError, TypeError, AttributeError, *MEMBER_ERRORS):
            report.add(ANNEX_JSON, "malformed", "the custody annex is not a vault annex (or cannot be read)")
            return report
        report.created_at = annex.get("created_at")
        report.exporter = str(_dict(annex.get("exporter")).get("name"))
        _check_signature(zf, names, annex_bytes, annex, report)
        actual: dict[str, tuple[str, int]] = {}
        for name, entry in files.items():
            if name not in names:
                report.add(name, "missing", "listed in the custody annex but not in the bundle")
                continue
            try:
                actual[name] = _hash_member(zf, name)
            except MEMBER_ERRORS:
                report.add(name, "changed", "the file's bytes cannot be read from the ZIP (corrupt, encrypted "
                           "or compressed in a way bundles never are)")
                continue
            report.files_checked += 1
            if actual[name] != (entry.get("sha256"), entry.get("size")):
                report.add(name, "changed", "SHA-256 or size differs from the custody annex")
        for name in sorted(names - set(files) - {ANNEX_JSON, ANNEX_SIG}):
            report.add(name, "added", "present in the bundle but not listed in the custody annex")
        _check_items(annex, actual, report)
    return report


def verify_command(path: str, as_json: bool = False, out=None) -> int:
    """What ``vault verify BUNDLE [--json]`` runs: print the report; 0 if sound, 1 if not, 2 if unreadable."""
    out = out or sys.stdout
    try:
        report = verify_bundle(path)
    except Unreadable as exc:
        message = f"RESULT: FAILED - cannot read {path} as a bundle: {exc}"
        print(json.dumps({"bundle": str(path), "ok": False, "error": message}) if as_json else message,
              file=out)
        return 2
    except (OSError, zipfile.BadZipFile) as exc:
        message = f"cannot read {path} as a bundle: {type(exc).__name__}"
        print(json.dumps({"bundle": str(path), "ok": False, "error": message}) if as_json else message,
              file=out)
        return 2
    text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json else report.to_text()
    print(text, file=out)
    return 0 if report.ok else 1
