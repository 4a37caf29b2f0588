"""The export bundle: documents, decrypted attachments and a signed custody annex, as one ZIP.

Layout::

    <basename>.docx, <basename>.pdf     the exporter's documents
    attachments/<original name>         the chosen items, decrypted, names sanitised
    custody/annex.json                  machine-readable annex (format below)
    custody/annex.html                  the same, for people
    custody/annex.sig                   base64 Ed25519 signature of annex.json by the exporting user

annex.json lists every other file with its SHA-256 and size, and for each
attachment the exact manifest bytes its uploader signed, that signature,
the uploader's public keys and certificate chain; the exporter's keys and
chain; and the organisation's two public keys ("organisation"). So a
recipient can check everything offline (vault.export.verify), trusting
nothing but the organisation fingerprint they compare once with the
organisation: each signer's identity comes from a chain to its root
(docs/trust.md, "What a bundle proves").

Everything is built in memory or streamed into the caller's file object;
nothing is written to disk here and nothing sealed is logged.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import BinaryIO

import pluggy

from vault import crypto, plugins
from vault.domain.caserecord import CaseRecord, parse_case
from vault.domain.exports import Exporter, ExportItem, ExportOptions, Problem, Rendered
from vault.domain.trust import MAX_CHAIN, Organisation
from vault.export import anonymity, leakscan
from vault.export.annex_html import render_annex_html
from vault.export.layout import (
    ANNEX_FORMAT,
    ANNEX_HTML,
    ANNEX_JSON,
    ANNEX_SIG,
    ANNEX_VERSION,
    READ_CHUNK,
    key_id,
)
from vault.export.names import (
    ATTACHMENT_DIR,
    safe_filename,
    visible_text,
)
from vault.export.privacy import (
    Privacy,
    anonymity_problems,
    bundle_names,
    display_items,
    forensic_renderer,
    privacy_for,
)

# Media that is already compressed gains nothing from deflate and costs time.
_STORED_PREFIXES = ("image/", "video/", "audio/")
_STORED_TYPES = {"application/pdf", "application/zip", "application/x-7z-compressed"}


class BundleError(Exception):
    """The bundle cannot be built (an item does not match its signed manifest...)."""


class ExportRefused(BundleError):
    """The recipient's requirements are not met; ``problems`` says what is missing."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} required item(s) missing for this recipient")
        self.problems = problems


def _fingerprint(box_public: bytes | None, sign_public: bytes) -> str | None:
    return crypto.fingerprint(box_public, sign_public) if box_public else None


def _chain(certificates: object) -> list:
    """A certificate chain as the annex carries it: as given, or empty if it cannot be one.

    The chain comes from the server, which is not trusted, and is checked
    only by the recipient; this merely keeps something that is no chain
    (or far longer than any, MAX_CHAIN) out of the signed annex.
    """
    if (isinstance(certificates, list | tuple) and len(certificates) <= MAX_CHAIN
            and all(isinstance(c, dict) for c in certificates)):
        return list(certificates)
    return []


def _organisation(org: Organisation | None) -> dict | None:
    if org is None:
        return None
    return {"recovery_public": crypto.b64e(org.recovery_public),
            "root_sign_public": crypto.b64e(org.root_sign_public)}


def check_item(item: ExportItem) -> None:
    """Refuse an item whose manifest is not exactly what its uploader signed."""
    try:
        crypto.verify_detached(item.uploader_sign_public, item.manifest_bytes, item.manifest_signature)
    except crypto.BadSignature:
        raise BundleError(f"item {item.item_id}: the manifest signature does not verify") from None
    try:
        parsed = json.loads(item.manifest_bytes)
    except ValueError:
        raise BundleError(f"item {item.item_id}: the signed manifest is not JSON") from None
    if parsed != item.manifest or parsed.get("item_id") != item.item_id:
        raise BundleError(f"item {item.item_id}: the manifest differs from the signed bytes")


def _zipinfo(path: str, when: dt.datetime, media_type: str = "") -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=when.timetuple()[:6])
    stored = media_type.startswith(_STORED_PREFIXES) or media_type in _STORED_TYPES
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _write_bytes(zf: zipfile.ZipFile, path: str, data: bytes, when: dt.datetime,
                 media_type: str = "") -> dict:
    zf.writestr(_zipinfo(path, when, media_type), data)
    return {"path": path, "sha256": crypto.sha256_hex(data), "size": len(data)}


def _read_checked(item: ExportItem, limit: int) -> bytes:
    """The whole plaintext of a small item, checked against its manifest."""
    with item.open() as src:
        data = src.read(limit + 1)
    if len(data) > limit or crypto.sha256_hex(data) != item.manifest.get("sha256") \
            or len(data) != item.manifest.get("size"):
        raise BundleError(f"item {item.item_id}: the decrypted file does not match its signed manifest")
    return data


def _write_item(zf: zipfile.ZipFile, path: str, item: ExportItem, when: dt.datetime,
                scanner: leakscan.BundleScanner | None = None) -> dict:
    """Stream one attachment into the zip in chunks, checking it against its manifest.

    With a ``scanner`` (an anonymous bundle), a text, PDF or DOCX attachment is read whole (it is
    small) and its text searched for the victim's name before it is written.
    """
    media_type = str(item.manifest.get("media_type") or "")
    size = item.manifest.get("size")
    if scanner is not None and leakscan.is_text_like(item.filename, media_type) \
            and isinstance(size, int) and size <= leakscan.TEXT_MAX:
        data = _read_checked(item, leakscan.TEXT_MAX)
        scanner.entry(f"{path} (contents)", data, media_type)
        return _write_bytes(zf, path, data, when, media_type)
    with item.open() as src, zf.open(_zipinfo(path, when, media_type), "w", force_zip64=True) as dst:
        digest, size = crypto.sha256_stream(src, dst.write, READ_CHUNK)
    if digest != item.manifest.get("sha256") or size != item.manifest.get("size"):
        raise BundleError(f"item {item.item_id}: the decrypted file does not match its signed manifest")
    return {"path": path, "sha256": digest, "size": size}


def _shown(value: object) -> object:
    """A text of the uploader's manifest as the annex shows it: nothing hidden (names.visible_text).

    The exact signed text stays in "manifest"; these fields are for reading,
    and a right-to-left override must be seen there, not obeyed.
    """
    return visible_text(value) if isinstance(value, str) else value


WITHHELD_NOTE = ("The uploader's signed manifest of this item is withheld for the victim's anonymity (it holds the "
                 "original file name). Its SHA-256 and the uploader's signature over it are given here; the sender "
                 "can produce the manifest to the recipient on request, and it then verifies against both.")


def _withheld_entry(path: str, item: ExportItem) -> dict:
    """An item of an anonymous bundle: by id and hash, without the original name or the manifest bytes."""
    entry = _item_entry(path, item)
    for key in ("original_filename", "manifest"):
        del entry[key]
    return entry | {"manifest_withheld": True, "manifest_sha256": crypto.sha256_hex(item.manifest_bytes),
                    "note": WITHHELD_NOTE}


def _item_entry(path: str, item: ExportItem) -> dict:
    m = item.manifest
    return {
        "path": path, "item_id": item.item_id, "case_id": _shown(m.get("case_id")),
        "original_filename": _shown(m.get("filename")), "media_type": _shown(m.get("media_type")),
        "evidence_type": _shown(m.get("evidence_type")), "sha256": m.get("sha256"), "size": m.get("size"),
        "uploader": item.uploader, "uploaded_at": item.uploaded_at,
        "captured_at": _shown(m.get("captured_at")), "created_at": _shown(m.get("created_at")),
        "manifest": crypto.b64e(item.manifest_bytes), "signature": crypto.b64e(item.manifest_signature),
        "uploader_sign_public": crypto.b64e(item.uploader_sign_public),
        "uploader_box_public": crypto.b64e(item.uploader_box_public) if item.uploader_box_public else None,
        "uploader_fingerprint": _fingerprint(item.uploader_box_public, item.uploader_sign_public),
        "uploader_key_id": key_id(item.uploader_sign_public),
        "uploader_certificates": _chain(item.uploader_certificates),
    }


@dataclass(frozen=True)
class SignerIdentity:
    """The public half of whoever signs annex.json, and their certificate chain (docs/trust.md)."""

    name: str
    sign_public: bytes
    box_public: bytes
    certificates: tuple = ()

    @classmethod
    def of(cls, keys: crypto.UserKeys, name: str, certificates: Iterable[dict] | None = None) -> SignerIdentity:
        return cls(name, keys.sign_public, keys.box_public, tuple(certificates or ()))


FORENSIC_MAX = 8 * 1024 * 1024  # a ForensicReport's JSON (vault.domain.caserecord RECORD_MAX)


def _write_forensic(zf: zipfile.ZipFile, names: list[str], item: ExportItem, when: dt.datetime,
                    privacy: Privacy, scanner: leakscan.BundleScanner | None) -> list[dict]:
    """The medic's report as the recipient reads it (PDF and DOCX, in the export's language), not its JSON."""
    data = _read_checked(item, FORENSIC_MAX)
    if privacy.redact and privacy.identity is not None:
        data = json.dumps(anonymity.map_strings(json.loads(data), privacy.identity.redact),
                          ensure_ascii=False).encode("utf-8")
    stem = names[0].rsplit(".", 1)[0]
    try:
        copies = dict(forensic_renderer()(data, privacy.language, stem))
    except Exception:  # noqa: BLE001 - not a report the renderer reads: it travels as the signed JSON
        copies = None
    if not copies:
        path = f"{ATTACHMENT_DIR}/{stem}.json"
        return [_write_item(zf, path, item, when, scanner) | {"role": "attachment"}]
    out = []
    for name in names:
        path = f"{ATTACHMENT_DIR}/{name}"
        body = copies.get(name, b"")
        if scanner is not None:
            scanner.entry(path, body)
        out.append(_write_bytes(zf, path, body, when) | {"role": "forensic_report", "item_id": item.item_id})
    return out


def server_reads(item: ExportItem, privacy: Privacy) -> bool:
    """Whether writing ``item`` needs its plaintext here: a forensic report (rendered), or a text the scan reads.

    Every other attachment may be written by whoever holds it (the browser, vault/services/exports.py
    render_entries): its name comes from bundle_names, its hash and size from the signed manifest.
    """
    if item.evidence_type == "forensic_report" and forensic_renderer() is not None:
        return True
    size = item.manifest.get("size")
    return privacy.anonymous and leakscan.is_text_like(item.filename, str(item.manifest.get("media_type") or "")) \
        and isinstance(size, int) and size <= leakscan.TEXT_MAX


def _refuse_leaks(scanner: leakscan.BundleScanner | None, privacy: Privacy) -> None:
    if scanner is not None and scanner.hits:
        raise ExportRefused(leakscan.leak_problems(scanner.hits, privacy.mode, privacy.identity, redact=False))


def write_bundle(out: BinaryIO, rendered: Rendered, exporter: Exporter, options: ExportOptions,
                 items: Iterable[ExportItem], signer: SignerIdentity,
                 sign: Callable[[bytes], bytes] | None, now: dt.datetime | None = None,
                 organisation: Organisation | None = None, privacy: Privacy | None = None, *,
                 sink=None, elsewhere: Collection[str] = ()) -> bytes:
    """Write the bundle for already-rendered documents to ``out``; returns the annex.json bytes.

    ``sign`` makes the Ed25519 signature over annex.json (custody/annex.sig).
    None leaves it out, for a signer whose private key is elsewhere (the
    browser): see build_unsigned_bundle and attach_signature.
    ``organisation`` is the root the signers' chains lead to; without it
    (a vault with no root yet) `vault verify` can show the bundle's
    integrity but cannot tie any signer to an organisation.
    ``privacy`` (privacy_for): in an anonymous bundle every entry's name and bytes are searched for
    the victim's name as they are written, and ExportRefused is raised at the first that has it.
    ``sink`` (a ZipFile-like EntryList) takes the entries instead of a ZIP on ``out``; the items named in
    ``elsewhere`` are then only named there (``sink.external``): their holder writes them.
    """
    items = list(items)
    privacy = privacy or Privacy()
    for item in items:
        check_item(item)
    when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    base = safe_filename(rendered.basename, fallback="export")
    scanner = leakscan.BundleScanner(privacy.identity) if privacy.anonymous else None
    files: list[dict] = []
    item_entries: list[dict] = []
    with contextlib.nullcontext(sink) if sink is not None else zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        for ext, data, media in (("docx", rendered.docx, ""), ("pdf", rendered.pdf, "application/pdf")):
            if scanner is not None:
                scanner.entry(f"{base}.{ext}", data)
                _refuse_leaks(scanner, privacy)
            files.append(_write_bytes(zf, f"{base}.{ext}", data, when, media) | {"role": "document"})
        for item, names in zip(items, bundle_names(items, privacy), strict=True):
            paths = [f"{ATTACHMENT_DIR}/{name}" for name in names]
            if scanner is not None:
                for path in paths:
                    scanner.name(path)
                _refuse_leaks(scanner, privacy)
            if item.item_id in elsewhere:
                if sink is None or server_reads(item, privacy):
                    raise BundleError(f"item {item.item_id}: its contents must be written here")
                sink.external(paths[0], item)
                written = [{"path": paths[0], "sha256": item.manifest.get("sha256"),
                            "size": item.manifest.get("size"), "role": "attachment"}]
            elif len(names) == 2:
                written = _write_forensic(zf, names, item, when, privacy, scanner)
            else:
                written = [_write_item(zf, paths[0], item, when, scanner) | {"role": "attachment"}]
            _refuse_leaks(scanner, privacy)
            files += written
            entry = (_withheld_entry if privacy.anonymous else _item_entry)(written[0]["path"], item)
            if written[0]["role"] == "forensic_report":
                entry |= {"path": None, "rendered": [w["path"] for w in written],
                          "rendered_note": "The medical report as the recipient reads it, rendered in the "
                                           "export's language from the signed report (its SHA-256 above)."}
            item_entries.append(entry)
        annex = {
            "format": ANNEX_FORMAT, "version": ANNEX_VERSION,
            "created_at": when.isoformat().replace("+00:00", "Z"),
            "exporter": {"name": exporter.name, "label": exporter.label, "plugin": exporter.plugin,
                         "target_body": exporter.target_body, "form_version": exporter.form_version,
                         "form_verified": exporter.form_verified, "language": rendered.language,
                         "variant": options.variant},
            "organisation": _organisation(organisation),
            "signer": {"name": signer.name, "sign_public": crypto.b64e(signer.sign_public),
                       "box_public": crypto.b64e(signer.box_public),
                       "fingerprint": crypto.fingerprint(signer.box_public, signer.sign_public),
                       "key_id": key_id(signer.sign_public), "certificates": _chain(signer.certificates)},
            "files": files,
            "items": item_entries,
        }
        if privacy.anonymous:
            annex["anonymous"] = True
        html = render_annex_html(annex).encode("utf-8")
        annex_bytes = json.dumps(annex, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        if scanner is not None:
            scanner.entry(ANNEX_HTML, html)
            scanner.entry(ANNEX_JSON, annex_bytes)
            _refuse_leaks(scanner, privacy)
        files.append(_write_bytes(zf, ANNEX_HTML, html, when) | {"role": "custody"})
        annex_bytes = json.dumps(annex, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        zf.writestr(_zipinfo(ANNEX_JSON, when), annex_bytes)
        if sign is not None:
            zf.writestr(_zipinfo(ANNEX_SIG, when), (crypto.b64e(sign(annex_bytes)) + "\n").encode("ascii"))
    return annex_bytes


@dataclass(frozen=True)
class Checked:
    """An export that passed validation and was rendered: what write_bundle needs, and the warnings."""

    rendered: Rendered
    exporter: Exporter
    problems: tuple[Problem, ...]
    privacy: Privacy = Privacy()


def validate_export(pm: pluggy.PluginManager, enabled: Iterable[str], exporter: Exporter, case: CaseRecord,
                    items: list[ExportItem], options: ExportOptions) -> list[Problem]:
    """What the recipient still needs (every enabled plugin's checks) and where the victim's name would leak.

    The one validation every path runs (the Python client, the browser's /validate, render_checked).
    Attachments are not opened: the documents are rendered in memory to be scanned.
    """
    enabled = set(enabled)
    privacy = privacy_for(exporter, case, options)
    shown = display_items(items, privacy)
    problems = plugins.validate(pm, enabled, exporter.name, case, shown, options)
    return problems + anonymity_problems(pm, enabled, exporter, case, items, options, privacy)


def render_checked(exporter: str, case: CaseRecord | dict, items: list[ExportItem], options: ExportOptions,
                   pm: pluggy.PluginManager | None = None, enabled: Iterable[str] | None = None,
                   allow_missing: bool = False) -> Checked:
    """Validate, then render: the first half of every bundle function below.

    Raises ExportRefused when something the recipient needs is missing
    (unless ``allow_missing``) or when the victim's name would appear where
    it must not (always, a draft too, unless the user accepted the redaction:
    ``options.redact``), vault.plugins.UnknownExporter for a name no
    enabled plugin offers, vault.plugins.PluginFailed if a plugin raised.
    ``problems`` holds every problem found (warnings, and what is missing in
    a draft), so the caller can show them.
    """
    pm = pm or plugins.get_plugin_manager()
    if enabled is None:
        enabled = [name for name, plugin in pm.list_name_plugin() if plugin is not None]
    enabled = set(enabled)
    record = parse_case(case)
    exp = plugins.exporters(pm, enabled).get(exporter)
    if exp is None:
        raise plugins.UnknownExporter(f"no enabled plugin offers the exporter {exporter!r}")
    privacy = privacy_for(exp, record, options)
    problems = plugins.validate(pm, enabled, exp.name, record, display_items(items, privacy), options)
    leaks = anonymity_problems(pm, enabled, exp, record, items, options, privacy)
    problems += leaks
    missing = [p for p in problems if p.severity == "missing"]
    if (missing and not allow_missing) or any(p.severity == "missing" for p in leaks):
        raise ExportRefused(missing)  # a leak refuses a draft too: a draft can be sent
    redactor = privacy.identity.redact if privacy.anonymous and privacy.redact else None
    with anonymity.rendering(redactor):
        rendered = plugins.export(pm, enabled, exporter, record, display_items(items, privacy), options)
    return Checked(rendered, exp, tuple(problems), privacy)


def build_bundle_into(out: BinaryIO, exporter: str, case: CaseRecord | dict, items: list[ExportItem],
                      options: ExportOptions, signer: crypto.UserKeys, signer_name: str, *,
                      pm: pluggy.PluginManager | None = None, enabled: Iterable[str] | None = None,
                      allow_missing: bool = False, now: dt.datetime | None = None,
                      organisation: Organisation | None = None,
                      certificates: Iterable[dict] | None = None) -> Checked:
    """build_bundle, streamed into the file object ``out`` (attachments of any size in constant memory).

    Returns what render_checked returned (the documents and the problems found).
    """
    checked = render_checked(exporter, case, items, options, pm, enabled, allow_missing)
    write_bundle(out, checked.rendered, checked.exporter, options, items,
                 SignerIdentity.of(signer, signer_name, certificates), signer.sign, now=now,
                 organisation=organisation, privacy=checked.privacy)
    return checked


def build_bundle(exporter: str, case: CaseRecord | dict, items: list[ExportItem], options: ExportOptions,
                 signer: crypto.UserKeys, signer_name: str, *, pm: pluggy.PluginManager | None = None,
                 enabled: Iterable[str] | None = None, allow_missing: bool = False,
                 now: dt.datetime | None = None, organisation: Organisation | None = None,
                 certificates: Iterable[dict] | None = None) -> bytes:
    """Validate, render and bundle one export, signed by ``signer``; returns the ZIP bytes.

    For where the private key is: the Python client. ``enabled`` is the set
    of enabled plugin names (from the database); None means every installed
    plugin (the Python client has no database). Raises ExportRefused when
    something the recipient needs is missing, unless ``allow_missing`` (a
    draft); BundleError when an item does not match its signed manifest;
    vault.plugins.UnknownExporter for a name no enabled plugin offers.
    ``certificates`` is the signer's chain and ``organisation`` its root
    (both from the server, both checked by the recipient, not here).
    """
    buf = io.BytesIO()
    build_bundle_into(buf, exporter, case, items, options, signer, signer_name, pm=pm, enabled=enabled,
                      allow_missing=allow_missing, now=now, organisation=organisation,
                      certificates=certificates)
    return buf.getvalue()


def build_unsigned_bundle(exporter: str, case: CaseRecord | dict, items: list[ExportItem],
                          options: ExportOptions, signer: SignerIdentity, *,
                          pm: pluggy.PluginManager | None = None, enabled: Iterable[str] | None = None,
                          allow_missing: bool = False, now: dt.datetime | None = None,
                          organisation: Organisation | None = None) -> tuple[bytes, bytes]:
    """The bundle without custody/annex.sig, and the annex.json bytes the user must sign.

    For the browser-driven export: the server renders in memory but never
    holds the user's private key, so the browser signs the returned annex
    bytes (Ed25519, detached) and the server adds that with attach_signature.
    """
    checked = render_checked(exporter, case, items, options, pm, enabled, allow_missing)
    buf = io.BytesIO()
    annex_bytes = write_bundle(buf, checked.rendered, checked.exporter, options, items, signer, None, now=now,
                               organisation=organisation, privacy=checked.privacy)
    return buf.getvalue(), annex_bytes


def attach_signature(bundle: bytes, signature: bytes) -> bytes:
    """Add custody/annex.sig to an unsigned bundle, after checking it against the annex's key."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        if ANNEX_SIG in zf.namelist():
            raise BundleError("the bundle is already signed")
        annex_bytes = zf.read(ANNEX_JSON)
        info = zf.getinfo(ANNEX_JSON)
    public = base64.b64decode(json.loads(annex_bytes)["signer"]["sign_public"])
    try:
        crypto.verify_detached(public, annex_bytes, signature)
    except crypto.BadSignature:
        raise BundleError("the signature does not verify under the key named in the annex") from None
    buf = io.BytesIO(bundle)
    buf.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buf, "a") as zf:
        sig_info = zipfile.ZipInfo(ANNEX_SIG, date_time=info.date_time)
        sig_info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(sig_info, (crypto.b64e(signature) + "\n").encode("ascii"))
    return buf.getvalue()

