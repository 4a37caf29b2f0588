"""Exports of a case on the server: what the browser's export needs, and the record of every export.

Exports run where the keys are. The Python client decrypts, renders and signs on the user's machine
and only tells the server (`record_export`). The browser cannot run the Python exporters, so:

* `render_entries` (the browser's path, docs/exports.md "The browser"): the browser sends the case
  record and the plaintext of the few items the documents and the leak scan read (`server_reads`:
  forensic reports; in an anonymous bundle, texts); the server renders and answers every entry of
  the bundle, attachments named but not written (the browser streams them into its own ZIP) and
  the annex to sign; the browser's `record_export` carries the annex it signed;
* `render_export`/`sign_export`: the older whole-bundle API (every plaintext sent, the bundle
  returned, then signed here), still served to API clients;
* each attachment is checked against the manifest its uploader signed, with the uploader key
  recorded on the Item row (never a key the browser sends); the server never holds a private key;
* nothing of the content is logged: exceptions by type only, refusals name fields and item ids;
* the annex carries the organisation's public keys and the certificate chains the server stores;
  it cannot make a certificate, so relaying them adds nothing it could forge (docs/trust.md).

The interface parses the request (vault/api/exports.py) and hands over plain values; refusals are
`Refused`. Plugin failures are logged to the logger the caller passes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import pluggy
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import crypto, jsonlimits, plugins
from vault.db.models import Case, Item, User
from vault.domain.caserecord import CaseRecord, parse_case
from vault.domain.exports import ExportItem, ExportOptions, Problem
from vault.export.bundle import (
    ANNEX_JSON,
    ANNEX_SIG,
    BundleError,
    ExportRefused,
    SignerIdentity,
    attach_signature,
    render_checked,
    server_reads,
    write_bundle,
)
from vault.export.bundle import (
    validate_export as check_export,
)
from vault.export.document import DocumentTooComplex
from vault.export.names import safe_filename
from vault.export.privacy import privacy_for
from vault.export.verify import MEMBER_ERRORS, Unreadable, check_directory, verify_bundle
from vault.services.access import member_case
from vault.services.errors import Refused
from vault.services.fields import b64_field
from vault.services.plugins import enabled_exporter
from vault.services.users import organisation, stored_chain
from vault.services.vault import Vault

log = logging.getLogger(__name__)

SPEC_MAX = 8 * 1024 * 1024  # the JSON description: case record, options, manifests
MAX_ITEMS = 500
MANIFEST_MAX = 2 * 1024 * 1024


@dataclass(frozen=True)
class ChosenItem:
    """An attachment the browser chose: the manifest bytes its uploader signed and that signature (base64)."""

    item_id: str
    manifest_b64: str
    signature_b64: str


@dataclass(frozen=True)
class ExportRequest:
    """What the browser asks for, as parsed by the interface; the case record still unchecked."""

    exporter: str
    case_record: dict
    options: ExportOptions
    draft: bool  # build even if something the recipient needs is missing
    items: Sequence[ChosenItem]


class Attachments(Protocol):
    """The attachments' plaintext as the request delivers it, read once (vault/api/multipart.py)."""

    def opener(self, index: int) -> Callable[[], BinaryIO]:
        """What ExportItem.open of the item at ``index`` in ``items`` calls."""

    def stream(self) -> None:
        """From now on the bundle is written: hand parts not read yet straight through, unkept."""

    def finish(self) -> None:
        """After the bundle is written: refuse a body with a part missing or one part too many."""


def field_problems(exc: ValidationError, prefix: str = "") -> list[dict]:
    """The 'fields' of a 422: locations and messages only, because the input values are sealed content."""
    return [{"field": prefix + ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False, include_context=False)]


def case_record(data: dict) -> CaseRecord:
    """The case record the browser sent, or a 422 naming the bad fields (never their values)."""
    try:
        return parse_case(data)
    except ValidationError as exc:
        raise Refused(422, "invalid_case_record", "The case record has missing or invalid fields; see 'fields'.",
                      fields=field_problems(exc, "case_record.")) from None


def export_items(s: Session, case: Case, chosen: Sequence[ChosenItem],
                 opener: Callable[[int], Callable[[], BinaryIO]]) -> list[ExportItem]:
    """ExportItems for the chosen items, each manifest checked against the key stored with its Item row."""
    ids = [c.item_id for c in chosen]
    if len(set(ids)) != len(ids):
        raise Refused(422, "duplicate_item", "An item is listed more than once in 'items'.")
    rows = {}
    if ids:
        rows = {item.id: (item, user) for item, user in s.execute(
            select(Item, User).join(User, User.id == Item.uploader_id)
            .where(Item.case_id == case.id, Item.id.in_(ids))).all()}
    out = []
    for n, c in enumerate(chosen):
        if c.item_id not in rows:
            raise Refused(422, "unknown_item", f"items[{n}]: {c.item_id} is not an item of this case.")
        item, user = rows[c.item_id]
        body = b64_field(c.manifest_b64, f"items[{n}].manifest_b64", max_size=MANIFEST_MAX)
        sig = b64_field(c.signature_b64, f"items[{n}].signature_b64", size=64)
        try:
            crypto.verify_detached(item.uploader_sign_public, body, sig)
        except crypto.BadSignature:
            raise Refused(422, "bad_signature", f"items[{n}]: the manifest of {item.id} is not signed by the key "
                          "its uploader registered when uploading it.") from None
        try:
            manifest = jsonlimits.loads(body, max_bytes=MANIFEST_MAX)
        except ValueError:  # not JSON, or nested deeper than any manifest
            manifest = None
        if (not isinstance(manifest, dict) or manifest.get("item_id") != item.id
                or manifest.get("case_id") != case.id or not isinstance(manifest.get("sha256"), str)
                or not isinstance(manifest.get("size"), int)):
            raise Refused(422, "bad_manifest", f"items[{n}]: the signed manifest of {item.id} is not a manifest "
                          "of that item in this case.")
        # The account's keys and chain describe the item's signer only if it still has the key it
        # signed with; after a re-key the recipient is told the signer is not tied to the root.
        same_key = user.sign_public == item.uploader_sign_public
        out.append(ExportItem(
            item_id=item.id, manifest=manifest, manifest_bytes=body, manifest_signature=sig,
            uploader_sign_public=item.uploader_sign_public, uploader=user.username,
            uploaded_at=item.created_at.isoformat() + "Z", open=opener(n),
            uploader_box_public=user.box_public if same_key else None,
            uploader_certificates=stored_chain(user) if same_key else None))
    return out


def _problems(problems: Sequence[Problem]) -> list[dict]:
    return [p.to_dict() for p in problems]


def _plugin_failed(exc: plugins.PluginFailed, exporter: str, logger: logging.Logger) -> Refused:
    # PluginFailed carries the exception's type only (never its message); the
    # exception it replaced is still its __context__, and a renderer's refusal
    # of a document too long to lay out is the user's to fix, not a failure.
    if isinstance(exc.__context__, DocumentTooComplex):
        logger.warning("export %s: the document is too complex to render", exporter)
        return Refused(422, "document_too_complex", "The documents would be too long or too complex to lay out "
                       f"({exc.__context__}). Shorten the longest texts of the case record, such as the "
                       "statement of facts, and export again.")
    logger.error("export %s: %s", exporter, exc)
    return Refused(500, "plugin_failed", f"The exporter failed ({exc}). Nothing was kept on the server; "
                   "tell your admin the exporter's name and this message.")


def _not_sent(index: int) -> Callable[[], BinaryIO]:
    def refuse() -> BinaryIO:
        raise BundleError("attachments are not sent for validation")

    return refuse


def validate_export(v: Vault, user: User, case: Case, req: ExportRequest, pm: pluggy.PluginManager, *,
                    logger: logging.Logger = log) -> dict:
    """What the recipient still needs, before anything is sent: {exporter, ok, missing, problems}; audited."""
    with v.db.session() as s:
        exp, enabled = enabled_exporter(s, req.exporter, pm)
        items = export_items(s, case, req.items, _not_sent)
    record = case_record(req.case_record)
    try:
        problems = check_export(pm, enabled, exp, record, items, req.options)
    except plugins.PluginFailed as exc:
        raise _plugin_failed(exc, exp.name, logger) from None
    missing = [p for p in problems if p.severity == "missing"]
    with v.db.session() as s:
        v.audit(s, user.username, "export_validated", "case:" + case.id,
                {"exporter": exp.name, "items": [i.item_id for i in items], "missing": len(missing),
                 "via": "browser"})
    return {"exporter": exp.name, "ok": not missing, "missing": len(missing), "problems": _problems(problems),
            "server_reads": _server_read_ids(exp, record, items, req.options)}


@contextlib.contextmanager
def _refusals(exp, logger: logging.Logger) -> Iterator[None]:
    """What rendering and bundling raise, as the refusals the browser is told."""
    try:
        yield
    except ExportRefused as exc:
        raise Refused(422, "missing_fields", f"{exp.target_body} needs what is listed in 'problems'; complete the "
                      "case record, or build a draft.", problems=_problems(exc.problems)) from None
    except plugins.UnknownExporter:
        raise Refused(403, "exporter_disabled", f"The exporter {exp.name!r} was disabled meanwhile.") from None
    except plugins.PluginFailed as exc:
        raise _plugin_failed(exc, exp.name, logger) from None
    except BundleError as exc:  # messages name item ids only
        raise Refused(422, "attachment_mismatch", str(exc)) from None


def render_export(v: Vault, user: User, case: Case, req: ExportRequest, attachments: Attachments,
                  pm: pluggy.PluginManager, *, logger: logging.Logger = log) -> dict:
    """Render in memory and bundle, unsigned: the bundle and the annex bytes to sign (base64); audited."""
    with v.db.session() as s:
        exp, enabled = enabled_exporter(s, req.exporter, pm)
        items = export_items(s, case, req.items, attachments.opener)
        org = organisation(s)
    record = case_record(req.case_record)
    signer = _signer(user)
    buf = io.BytesIO()
    with _refusals(exp, logger):
        checked = render_checked(exp.name, record, items, req.options, pm=pm, enabled=enabled,
                                 allow_missing=req.draft)
        attachments.stream()
        annex = write_bundle(buf, checked.rendered, checked.exporter, req.options, items, signer, None,
                             organisation=org, privacy=checked.privacy)
        attachments.finish()
    bundle = buf.getvalue()
    del buf
    digest = crypto.sha256_hex(bundle)
    with v.db.session() as s:
        v.audit(s, user.username, "export_rendered", "case:" + case.id,
                {"exporter": exp.name, "items": [i.item_id for i in items], "unsigned_sha256": digest,
                 "language": req.options.language, "variant": req.options.variant, "draft": req.draft,
                 "via": "browser"})
    return {
        "exporter": exp.name, "filename": _filename(checked), "draft": req.draft,
        "bundle_b64": crypto.b64e(bundle), "bundle_sha256": digest, "bundle_size": len(bundle),
        "annex_b64": crypto.b64e(annex), "annex_sha256": crypto.sha256_hex(annex),
        "signer": _signer_out(signer), "problems": _problems(checked.problems),
    }


def _signer(user: User) -> SignerIdentity:
    return SignerIdentity(user.username, user.sign_public, user.box_public, tuple(stored_chain(user)))


def _signer_out(signer: SignerIdentity) -> dict:
    return {"name": signer.name, "fingerprint": crypto.fingerprint(signer.box_public, signer.sign_public)}


def _filename(checked) -> str:
    return safe_filename(checked.rendered.basename, fallback="export") + ".zip"


class EntryList:
    """What write_bundle writes, as a list of entries for the browser to put into its ZIP (ZipFile-like).

    An entry is {path, sha256, size} and either data_b64 (rendered here) or item_id (an attachment the
    browser decrypts and writes itself, its path named here by bundle_names).
    """

    def __init__(self):
        self.entries: list[dict] = []

    def writestr(self, info: zipfile.ZipInfo, data: bytes) -> None:
        self.entries.append({"path": info.filename, "data_b64": crypto.b64e(data),
                             "sha256": crypto.sha256_hex(data), "size": len(data)})

    @contextlib.contextmanager
    def open(self, info: zipfile.ZipInfo, mode: str = "w", **_) -> Iterator[io.BytesIO]:
        buf = io.BytesIO()
        yield buf
        self.writestr(info, buf.getvalue())

    def external(self, path: str, item) -> None:
        self.entries.append({"path": path, "item_id": item.item_id, "sha256": item.manifest.get("sha256"),
                             "size": item.manifest.get("size")})


def _server_read_ids(exp, record: CaseRecord, items, options: ExportOptions) -> list[str]:
    privacy = privacy_for(exp, record, options)
    return [i.item_id for i in items if server_reads(i, privacy)]


def render_entries(v: Vault, user: User, case: Case, req: ExportRequest,
                   feed_for: Callable[[list[str]], Attachments], pm: pluggy.PluginManager, *,
                   logger: logging.Logger = log) -> dict:
    """The bundle's entries for the browser to write into its own ZIP: what the server must read, rendered.

    Only the items server_reads names travel (their parts, in order, through ``feed_for(ids)``): forensic
    reports and, in an anonymous bundle, texts the leak scan reads. Every other attachment stays in the
    browser; its entry carries the name, SHA-256 and size of its signed manifest. Audited export_rendered
    with the annex's SHA-256, which the browser's /exports/record repeats.
    """
    with v.db.session() as s:
        exp, enabled = enabled_exporter(s, req.exporter, pm)
        items = export_items(s, case, req.items, _not_sent)
        org = organisation(s)
    record = case_record(req.case_record)
    reads = _server_read_ids(exp, record, items, req.options)
    feed = feed_for(reads)
    at = {item_id: n for n, item_id in enumerate(reads)}
    items = [dataclasses.replace(i, open=feed.opener(at[i.item_id])) if i.item_id in at else i for i in items]
    signer = _signer(user)
    sink = EntryList()
    with _refusals(exp, logger):
        checked = render_checked(exp.name, record, items, req.options, pm=pm, enabled=enabled,
                                 allow_missing=req.draft)
        feed.stream()
        annex = write_bundle(None, checked.rendered, checked.exporter, req.options, items, signer, None,
                             organisation=org, privacy=checked.privacy, sink=sink,
                             elsewhere={i.item_id for i in items if i.item_id not in at})
        feed.finish()
    annex_sha256 = crypto.sha256_hex(annex)
    with v.db.session() as s:
        v.audit(s, user.username, "export_rendered", "case:" + case.id,
                {"exporter": exp.name, "items": [i.item_id for i in items], "annex_sha256": annex_sha256,
                 "server_read": reads, "language": req.options.language, "variant": req.options.variant,
                 "draft": req.draft, "via": "browser"})
    return {
        "exporter": exp.name, "filename": _filename(checked), "draft": req.draft, "entries": sink.entries,
        "annex_b64": crypto.b64e(annex), "annex_sha256": annex_sha256, "annex_path": ANNEX_JSON,
        "signature_path": ANNEX_SIG, "server_read": reads,
        "signer": _signer_out(signer), "problems": _problems(checked.problems),
    }


_NOT_OURS = "bundle_b64 is not an unsigned bundle made by /exports: send back the bundle_b64 it answered."
_TOO_LARGE = ("The bundle holds or unpacks to more than any export could: send back the bundle_b64 that "
              "/exports answered, unchanged.")


def _annex(bundle: bytes, limit: int) -> dict:
    """What sign_export needs from an unsigned bundle's annex, without unpacking more than an export holds.

    The ZIP's directory, the annex's bytes and its nesting are all bounded
    before they are parsed (413 for too big, 422 for not ours); the bundle
    comes from the browser and need not be the one /exports made.
    """
    try:
        check_directory(io.BytesIO(bundle))
        with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
            # Declared sizes bound what reading the members can produce (zipfile stops there, and the
            # annex is read to at most SPEC_MAX + 1 bytes whatever it declares): refuse a bundle that
            # would unpack to far more than any export could.
            infos = zf.infolist()
            if (len(infos) > MAX_ITEMS + 4 or zf.getinfo(ANNEX_JSON).file_size > SPEC_MAX
                    or sum(i.file_size for i in infos) > 2 * limit + SPEC_MAX):
                raise Refused(413, "too_large", _TOO_LARGE)
            with zf.open(ANNEX_JSON) as src:
                annex = jsonlimits.load(src, max_bytes=SPEC_MAX)
        signer = crypto.b64d(annex["signer"]["sign_public"])
        exporter = annex["exporter"]["name"]
        ids = [entry["item_id"] for entry in annex["items"]]
        files = annex.get("files", [])
    except (Unreadable, jsonlimits.TooLarge):
        raise Refused(413, "too_large", _TOO_LARGE) from None
    except (KeyError, TypeError, ValueError, *MEMBER_ERRORS):  # TooDeep is a ValueError
        raise Refused(422, "bad_bundle", _NOT_OURS) from None
    if (not isinstance(exporter, str) or not all(isinstance(i, str) for i in ids)
            or not isinstance(files, list)):
        raise Refused(422, "bad_bundle", _NOT_OURS)
    return {"signer": signer, "exporter": exporter, "items": ids, "language": annex["exporter"].get("language"),
            "variant": annex["exporter"].get("variant"),
            "basename": next((f["path"].rsplit(".", 1)[0] for f in files if isinstance(f, dict)
                              and f.get("role") == "document" and isinstance(f.get("path"), str)), "export")}


@dataclass(frozen=True)
class SignedBundle:
    """The final bundle, its SHA-256 (hex) and the file name to offer it under."""

    data: bytes
    sha256: str
    filename: str


def sign_export(v: Vault, user: User, case: Case, bundle_b64: str, signature_b64: str, limit: int) -> SignedBundle:
    """Attach the user's signature over the annex to a bundle render_export made, check it, audit case_exported.

    Takes the base64 text, so that the decoded unsigned bundle has one owner
    (this function) and is let go before the final bundle is checked.
    """
    bundle = b64_field(bundle_b64, "bundle_b64", max_size=limit + 1024 * 1024)
    signature = b64_field(signature_b64, "signature_b64", size=64)
    annex = _annex(bundle, limit)
    if annex["signer"] != user.sign_public:
        raise Refused(422, "wrong_signer", "This bundle was prepared for another signer: sign your own export.")
    with v.db.session() as s:
        exp, _ = enabled_exporter(s, annex["exporter"])
        known = set(s.execute(select(Item.id).where(Item.case_id == case.id, Item.id.in_(annex["items"])))
                    .scalars()) if annex["items"] else set()
    if known != set(annex["items"]):
        raise Refused(422, "unknown_item", "The bundle names items that are not items of this case.")
    try:
        final = attach_signature(bundle, signature)
    except BundleError as exc:
        if "already signed" in str(exc):
            raise Refused(409, "already_signed", "This bundle is already signed.") from None
        raise Refused(422, "bad_signature", "The signature is not your signature over this bundle's annex "
                      "(sign the exact bytes of annex_b64).") from None
    del bundle
    report = verify_bundle(io.BytesIO(final))
    # Integrity only: whether the signers chain to the root is for the recipient to see, and an
    # export from a vault without a root (or by an uncertified user) is still theirs to make.
    if not report.intact:
        # Kinds and counts only: the paths are the attachments' original names.
        kinds = Counter(f.kind for f in report.findings)
        raise Refused(422, "bundle_invalid", "The bundle does not verify: it was changed after /exports made it.",
                      findings=dict(kinds))
    digest = crypto.sha256_hex(final)
    with v.db.session() as s:
        v.audit(s, user.username, "case_exported", "case:" + case.id,
                {"exporter": exp.name, "bundle_sha256": digest, "items": annex["items"],
                 "language": annex["language"], "variant": annex["variant"], "via": "browser"})
    return SignedBundle(final, digest, safe_filename(annex["basename"], fallback="export") + ".zip")


@dataclass(frozen=True)
class BrowserBundle:
    """A bundle the browser wrote from render_entries: the exact annex bytes it signed, and the signature."""

    annex_b64: str
    signature_b64: str


def _signed_annex(user: User, made: BrowserBundle, exporter: str, items: list[str]) -> dict:
    """The annex the user signed, checked: their signature, naming them, this exporter and these items.

    The server never sees the browser's ZIP; the annex and the signature are what it can check (the
    annex's SHA-256 is in the export_rendered entry of the audit log that made it).
    """
    annex_bytes = b64_field(made.annex_b64, "annex_b64", max_size=SPEC_MAX)
    signature = b64_field(made.signature_b64, "signature_b64", size=64)
    try:
        crypto.verify_detached(user.sign_public, annex_bytes, signature)
    except crypto.BadSignature:
        raise Refused(422, "bad_signature", "signature_b64 is not your signature over annex_b64.") from None
    try:
        annex = jsonlimits.loads(annex_bytes, max_bytes=SPEC_MAX)
        ok = (crypto.b64d(annex["signer"]["sign_public"]) == user.sign_public
              and annex["exporter"]["name"] == exporter and [e["item_id"] for e in annex["items"]] == items)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise Refused(422, "bad_bundle", "annex_b64 is not the annex of this export: send the annex /exports "
                      "answered, with the exporter and the items it names.")
    return {"annex_sha256": crypto.sha256_hex(annex_bytes), "language": annex["exporter"].get("language"),
            "variant": annex["exporter"].get("variant")}


def record_export(v: Vault, user: User, case_id: str, *, exporter: str, bundle_sha256: str, items: list[str],
                  case_record_item: str | None, language: str | None, variant: str | None,
                  draft: bool, browser: BrowserBundle | None = None) -> dict:
    """Audit an export made where the keys are: by the Python client, or written by the browser.

    A browser's bundle comes with the annex it signed (``browser``), checked by _signed_annex: the
    entry is then ``via: browser`` and carries the annex's SHA-256.
    """
    extra = {"via": "client"}
    if browser is not None:
        extra = _signed_annex(user, browser, exporter, items) | {"via": "browser", "zip": "browser"}
        language, variant = extra.pop("language"), extra.pop("variant")
    ids = list(dict.fromkeys(items + ([case_record_item] if case_record_item else [])))
    with v.db.session() as s:
        case = member_case(s, case_id, user)
        exp, _ = enabled_exporter(s, exporter)
        known = set(s.execute(select(Item.id).where(Item.case_id == case.id, Item.id.in_(ids))).scalars()) \
            if ids else set()
        if known != set(ids):
            raise Refused(422, "unknown_item", "Some of 'items' are not items of this case.",
                          unknown=sorted(set(ids) - known))
        entry = v.audit(s, user.username, "case_exported", "case:" + case.id,
                        {"exporter": exp.name, "bundle_sha256": bundle_sha256, "items": items,
                         "case_record_item": case_record_item, "language": language,
                         "variant": variant, "draft": draft} | extra)
        seq = entry.seq
    return {"recorded": True, "audit_seq": seq, "exporter": exp.name, "bundle_sha256": bundle_sha256}
