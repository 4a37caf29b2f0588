"""Offline check of an export bundle: ``vault verify BUNDLE``.

Needs no server and no network: everything it checks is inside the ZIP.

* custody/annex.sig is the exporter's Ed25519 signature over annex.json;
* every file listed in annex.json is present with that SHA-256 and size;
* no file is present that annex.json does not list;
* every attachment's manifest verifies under its uploader's key, names the
  same item, and its SHA-256 and size match the file in the bundle;
* fingerprints written in the annex match the keys they claim to describe;
* each signer (the exporter, every uploader) holds a certificate chain to
  the organisation root the annex names, certifying the very key that
  signed (docs/trust.md, "What a bundle proves").

A signature proves which key signed, not whose the key is, and everything
in the annex can be rewritten by whoever re-signs it. So the report prints
no identity and no fingerprint it read from the annex: a signer's name,
role and fingerprint come only from a verified certificate of the key
whose signature was checked, and the organisation's fingerprint is computed
here, for the recipient to compare once with the organisation itself. A
bundle whose signers cannot be tied to a root is NOT VERIFIED (its
integrity is still reported); one whose files or signatures do not check
out has FAILED.

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
from vault.domain import trust
from vault.export.layout import (
    ANNEX_FORMAT,
    ANNEX_JSON,
    ANNEX_SIG,
    ANNEX_VERSION,
    LEGACY_VERSION,
    READ_CHUNK,
    key_id,
)
from vault.export.names import visible_text
from vault.export.withheld import check_withheld

# An annex entry is about 3 KB per attachment, 6 KB with its uploader's certificate chain: 16 MiB is
# thousands of items.
ANNEX_MAX = 16 * 1024 * 1024
MANIFEST_MAX = 2 * 1024 * 1024  # as the server accepts (vault.services.exports)
SIG_MAX = 1024  # base64 of 64 bytes and a newline
# zipfile holds ~500 bytes per entry once it has parsed the directory: these
# keep that under ~50 MB, far above any export (one entry per attachment).
MAX_ENTRIES = 20_000
MAX_DIRECTORY = 8 * 1024 * 1024
STATEMENT_MAX = 16384  # as vault.domain.trust.open_statement accepts
_END = b"PK\x05\x06"  # the end-of-central-directory record, 22 bytes + a comment of up to 64 KiB

Kind = Literal["changed", "missing", "added", "bad_signature", "mismatch", "unsafe_name", "malformed"]


@dataclass
class Finding:
    path: str
    kind: Kind
    detail: str


Result = Literal["ok", "not_verified", "failed"]
EXIT = {"ok": 0, "failed": 1, "not_verified": 3}  # 2: not readable as a bundle at all


@dataclass
class Signer:
    """One key whose signature was checked, and what a certificate chain says of it (if one does).

    ``name``, ``user_role`` and ``fingerprint`` are set only when
    ``verified``: they come from the certificate, never from the annex.
    ``claimed`` is the name the annex gives, shown only as a claim.
    """

    role: Literal["exporter", "uploader"]
    key_id: str  # of the key whose signature was checked
    verified: bool = False
    name: str | None = None
    user_role: str | None = None
    fingerprint: str | None = None  # crypto.fingerprint of the certified keys
    certified_by: list[str] = field(default_factory=list)  # the issuers' certified names, up to the root
    claimed: str = ""
    problem: str | None = None  # why it is not verified
    items: list[str] = field(default_factory=list)


def _shown(value: object) -> str:
    """Annex text for the terminal: a name cannot hide a line break, an escape or an override."""
    return visible_text(str(value))


@dataclass
class VerifyReport:
    bundle: str
    findings: list[Finding] = field(default_factory=list)
    signers: list[Signer] = field(default_factory=list)
    files_checked: int = 0
    created_at: str | None = None
    exporter: str | None = None
    annex_version: int | None = None
    organisation_fingerprint: str | None = None  # computed from the annex's organisation keys
    organisation_problem: str | None = None  # why no signer can be tied to a root
    withheld: list[str] = field(default_factory=list)  # items whose manifest an anonymous bundle withholds

    @property
    def intact(self) -> bool:
        """Every file and every signature checks out (nothing yet about whose keys signed)."""
        return not self.findings

    @property
    def ok(self) -> bool:
        """``intact``, for callers that check integrity only (the server, before handing a bundle back).

        Whether the signers are who the bundle says is ``result == "ok"``.
        """
        return self.intact

    @property
    def result(self) -> Result:
        if not self.intact:
            return "failed"
        if self.organisation_fingerprint and self.signers and all(s.verified for s in self.signers):
            return "ok"
        return "not_verified"

    def add(self, path: str, kind: Kind, detail: str) -> None:
        self.findings.append(Finding(path, kind, detail))

    def to_dict(self) -> dict:
        """The report for --json: "ok" is true exactly when the text says RESULT: OK."""
        return {"bundle": self.bundle, "ok": self.result == "ok", "result": self.result, "intact": self.intact,
                "created_at": self.created_at, "exporter": self.exporter, "annex_version": self.annex_version,
                "organisation": {"fingerprint": self.organisation_fingerprint,
                                 "problem": self.organisation_problem},
                "files_checked": self.files_checked, "withheld_manifests": list(self.withheld),
                "findings": [asdict(f) for f in self.findings],
                "signers": [asdict(s) for s in self.signers]}

    def _signer_lines(self, s: Signer) -> list[str]:
        who = "Exported and signed by" if s.role == "exporter" else "Uploaded and signed by"
        if s.verified:
            chain = " -> ".join([*map(_shown, s.certified_by), "the organisation root"])
            lines = [f"{who}: {_shown(s.name)} ({_shown(s.user_role)}), certified by {chain}",
                     f"    fingerprint: {s.fingerprint}   (key id {s.key_id})"]
        else:
            claim = f', claims to be "{_shown(s.claimed)}" (unverified)' if s.claimed else ""
            why = "see Organisation above" if s.problem == self.organisation_problem else s.problem
            lines = [f"{who}: an unverified key (key id {s.key_id}){claim}",
                     f"    not tied to the organisation: {why}"]
        if s.items:
            lines.append(f"    items: {', '.join(map(_shown, s.items))}")
        return lines

    def to_text(self) -> str:
        lines = [f"Bundle: {self.bundle}"]
        if self.exporter:
            lines.append(f"Export: {_shown(self.exporter)}, created {_shown(self.created_at)}")
        if self.organisation_fingerprint:
            lines += [f"Organisation fingerprint: {self.organisation_fingerprint}",
                      "    (computed here from the organisation keys in this bundle) Compare it once with the",
                      "    organisation itself, e.g. by phone with a contact of theirs you already know: if it",
                      "    differs, the names below are vouched for by someone else, not by that organisation."]
        else:
            lines.append(f"Organisation: none this bundle can be tied to ({self.organisation_problem})")
        for s in self.signers:
            lines += self._signer_lines(s)
        lines.append(f"Files checked: {self.files_checked}")
        if self.withheld:  # an anonymous bundle: the manifests hold the original file names
            lines.append(f"Manifests withheld for the victim's anonymity: {len(self.withheld)} attachment(s) "
                         f"({', '.join(map(_shown, self.withheld))}), checked against the exporter's annex only; "
                         "the sender can produce them on request (each hashes to its manifest_sha256).")
        result = self.result
        if result == "ok":
            lines.append("RESULT: OK - every file matches the custody annex, every signature verifies, and "
                         "every signer is certified by the organisation whose fingerprint is shown above.")
        elif result == "not_verified":
            unverified = sum(not s.verified for s in self.signers)
            lines.append(f"RESULT: NOT VERIFIED - every file matches the custody annex and every signature "
                         f"verifies, but {unverified} signer(s) cannot be tied to an organisation root: "
                         "nothing here says who signed.")
        else:
            lines.append(f"RESULT: FAILED - {len(self.findings)} problem(s):")
            lines += [f"  {f.kind.upper():<14} {_shown(f.path)}: {f.detail}" for f in self.findings]
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


def _organisation(annex: dict, report: VerifyReport) -> trust.Organisation | None:
    """The root the annex names, with its fingerprint computed into the report; None and why not."""
    version = annex.get("version", LEGACY_VERSION)  # the first bundles wrote no version
    report.annex_version = version if type(version) is int else None
    org = annex.get("organisation")
    if type(version) is not int or version not in (LEGACY_VERSION, ANNEX_VERSION):  # (True == 1: not a version)
        report.organisation_problem = "the annex is of a format this version of vault does not know: update it"
    elif version == LEGACY_VERSION:
        report.organisation_problem = ("the annex is of format 1, written before bundles carried certificates: "
                                       "nothing in it ties a signer to an organisation")
    elif org is None:
        report.organisation_problem = "the bundle names no organisation: it was exported before the vault had a root"
    else:
        try:
            recovery, root = crypto.b64d(_dict(org)["recovery_public"]), crypto.b64d(_dict(org)["root_sign_public"])
            if len(recovery) != 32 or len(root) != 32:
                raise ValueError("a public key is 32 bytes")
        except (KeyError, TypeError, ValueError, binascii.Error):
            report.organisation_problem = "the organisation's keys in the annex are malformed"
            return None
        report.organisation_fingerprint = crypto.org_fingerprint(recovery, root)
        return trust.Organisation(recovery, root)
    return None


def _statements_bounded(chain: object) -> bool:
    """Whether each certificate's payload is JSON as shallow as any certificate.

    trust.open_statement parses a payload with json.loads once its
    signature verifies, and anyone can sign a certificate with a key of
    their own: one nested 16,000 deep would raise RecursionError out of it.
    """
    if not isinstance(chain, list):
        return True  # verify_chain refuses it, with its own message, as it does a chain too long
    for statement in chain[:trust.MAX_CHAIN]:
        payload = _dict(statement).get("payload")
        if isinstance(payload, str):
            try:
                jsonlimits.loads(payload, max_bytes=STATEMENT_MAX)
            except ValueError:
                return False
    return True


def _certify(signer: Signer, chain: object, public: bytes, org: trust.Organisation | None,
             report: VerifyReport) -> None:
    """Mark ``signer`` verified if ``chain`` ties ``public`` (the key that signed) to ``org``."""
    if org is None:
        signer.problem = report.organisation_problem
        return
    if not _statements_bounded(chain):
        signer.problem = "a certificate in its chain is malformed"
        return
    try:
        certified = trust.verify_chain(chain if isinstance(chain, list) else [], org)
    except trust.TrustFailure as exc:
        signer.problem = str(exc)
        return
    if certified.sign_public != public:
        # A chain copied from someone else: it certifies their key, not the one that signed here.
        signer.problem = "the key that signed is not the key its certificate chain certifies"
        return
    signer.verified, signer.name, signer.user_role = True, str(certified.username), str(certified.role)
    signer.fingerprint = certified.fingerprint
    signer.certified_by = [str(name) for name in certified.path[1:]]


def _check_signature(zf: zipfile.ZipFile, names: set[str], annex_bytes: bytes, annex: dict,
                     report: VerifyReport, org: trust.Organisation | None) -> None:
    signer = _dict(annex.get("signer"))
    signed = False
    try:
        public = crypto.b64d(signer.get("sign_public"))
        if ANNEX_SIG not in names:
            report.add(ANNEX_SIG, "missing", "the exporter's signature over annex.json is missing")
        else:
            with zf.open(ANNEX_SIG) as src:
                sig = jsonlimits.read(src, max_bytes=SIG_MAX)
            crypto.verify_detached(public, annex_bytes, crypto.b64d(sig.decode("ascii").strip()))
            signed = True
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
    exporter = Signer("exporter", key_id(public) if public else "?", claimed=str(signer.get("name") or ""))
    if signed:
        _certify(exporter, signer.get("certificates"), public, org, report)
    else:
        exporter.problem = "its signature over the custody annex does not verify"
    report.signers.append(exporter)


def _check_items(annex: dict, actual: dict[str, tuple[str, int]], report: VerifyReport,
                 org: trust.Organisation | None) -> None:
    uploaders: dict[tuple, Signer] = {}
    entries = annex.get("items", [])
    for entry in entries if isinstance(entries, list) else [None]:
        entry = _dict(entry)
        path = str(entry.get("path") or entry.get("item_id"))  # a rendered report has no file of its own
        if entry.get("manifest_withheld") is True and check_withheld(entry, path, actual, report) is None:
            continue
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
        # Only a key whose signature over this manifest verified gets here: tie that key to the root.
        checked = Signer("uploader", key_id(public), claimed=str(entry.get("uploader") or ""))
        _certify(checked, entry.get("uploader_certificates"), public, org, report)
        signer = uploaders.setdefault(
            (checked.key_id, checked.verified, checked.name, checked.fingerprint, checked.claimed, checked.problem),
            checked)
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
        org = _organisation(annex, report)
        _check_signature(zf, names, annex_bytes, annex, report, org)
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
        _check_items(annex, actual, report, org)
    return report


def verify_command(path: str, as_json: bool = False, out=None) -> int:
    """What ``vault verify BUNDLE [--json]`` runs: print the report.

    Exit 0 for RESULT: OK, 1 for FAILED, 3 for NOT VERIFIED (intact, but a
    signer is not tied to an organisation root), 2 if it is not a readable bundle.
    """
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
    return EXIT[report.result]
