"""Exports of a case: the browser's in-memory path, and the audit record of a client-side export.

Exports run where the keys are. The Python client decrypts, renders and
signs on the user's machine and only tells the server that it exported
(``/exports/record``). A browser cannot run the Python exporters, so it
decrypts locally and hands the plaintext to this module, which:

* reads the request body itself, in memory: never ``request.form`` or
  ``request.files`` (werkzeug spools file parts over 500 KB to temporary
  files, which would put plaintext on the server's disk);
* checks every attachment against the manifest its uploader signed, with the
  uploader key recorded on the Item row (never a key sent by the browser);
* renders into memory and streams each attachment from the request straight
  into the in-memory ZIP, so a file is held once, in the output;
* returns the unsigned bundle and the exact annex bytes; the browser signs
  them with the user's Ed25519 key (``/exports/sign``), because the server
  never holds a private key;
* logs nothing of the content: exceptions by type only, and error messages
  name fields and item ids, never values.

The exporter name travels in the body, not in the path, so every export route
is keyed by the case alone (tests/core/test_access.py probes each case route).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import zipfile
from collections import Counter
from typing import Annotated, BinaryIO, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData, Preamble
from werkzeug.sansio.multipart import Field as FieldEvent

from vault import crypto, plugins
from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.plugins import enabled_exporter, max_export_bytes, plugin_manager
from vault.api.security import access
from vault.api.validation import b64decode, json_body
from vault.db.models import Case, Item, User
from vault.domain.caserecord import CaseRecord, parse_case
from vault.export.bundle import (
    ANNEX_JSON,
    BundleError,
    ExportRefused,
    SignerIdentity,
    attach_signature,
    render_checked,
    write_bundle,
)
from vault.export.names import safe_filename
from vault.export.types import ExportItem, ExportOptions
from vault.export.verify import verify_bundle
from vault.services.access import member_case

bp = Blueprint("exports", __name__, url_prefix="/api/v1")

SPEC_MAX = 8 * 1024 * 1024  # the JSON part: case record, options, manifests
MAX_ITEMS = 500
MANIFEST_MAX = 2 * 1024 * 1024
READ = 64 * 1024
EXPORT_PART = "export"
ITEM_PART = "item:"

Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
B64 = Annotated[str, StringConstraints(max_length=4 * MANIFEST_MAX, pattern=r"^[A-Za-z0-9+/]*={0,2}$")]
ExporterName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
LangCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
VariantName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,32}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Strict):
    """A chosen attachment: the manifest bytes its uploader signed and that signature (both base64)."""

    item_id: Id
    manifest_b64: B64
    signature_b64: B64


class OptionsIn(Strict):
    language: LangCode
    variant: VariantName | None = None
    document_date: dt.date | None = None
    draft: bool = False  # build even if something the recipient needs is missing


class ExportIn(Strict):
    exporter: ExporterName
    case_record: dict
    options: OptionsIn
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class SignIn(Strict):
    bundle_b64: str
    signature_b64: B64


class RecordIn(Strict):
    exporter: ExporterName
    bundle_sha256: Hex64
    items: list[Id] = Field(default_factory=list, max_length=MAX_ITEMS)
    case_record_item: Id | None = None
    language: LangCode | None = None
    variant: VariantName | None = None
    draft: bool = False


def _vault():
    return current_app.extensions["vault"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


M = TypeVar("M", bound=BaseModel)


def _fields(exc: ValidationError, prefix: str = "") -> list[dict]:
    # Locations and messages only: the input values are sealed content.
    return [{"field": prefix + ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
            for err in exc.errors(include_url=False, include_input=False, include_context=False)]


def _parse_json(raw: bytes | bytearray, model: type[M], what: str) -> M:
    try:
        data = json.loads(bytes(raw).decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_utf8", f"The {what} is not valid UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json",
                       f"The {what} is not valid JSON: {exc.msg} at position {exc.pos}.") from None
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", f"The {what} is not valid JSON (or nested too deeply).") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_fields", "Some fields are missing or invalid; see 'fields'.",
                       fields=_fields(exc)) from None


def _large_json(model: type[M], limit: int) -> M:
    """A JSON body larger than the API's usual limit (json_body), read in memory."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON with Content-Type application/json.")
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "Send a Content-Length header.")
    if length > limit:
        raise ApiError(413, "too_large", f"The body is larger than {limit} bytes.", limit=limit)
    request.max_content_length = limit
    return _parse_json(request.get_data(cache=False), model, "body")


def _case_record(data: dict) -> CaseRecord:
    try:
        return parse_case(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_case_record", "The case record has missing or invalid fields; see 'fields'.",
                       fields=_fields(exc, "case_record.")) from None


def _options(o: OptionsIn) -> ExportOptions:
    return ExportOptions(language=o.language, variant=o.variant, document_date=o.document_date)


def _problems(problems) -> list[dict]:
    return [p.to_dict() for p in problems]


def _plugin_failed(exc: plugins.PluginFailed, exporter: str) -> ApiError:
    # PluginFailed carries the exception's type only (never its message).
    current_app.logger.error("export %s: %s", exporter, exc)
    return ApiError(500, "plugin_failed", f"The exporter failed ({exc}). Nothing was kept on the server; "
                    "tell your admin the exporter's name and this message.")


# --------------------------------------------------------------------------- reading the browser's parts


class Malformed(ApiError):
    def __init__(self, message: str):
        super().__init__(400, "malformed_multipart", message)


class FormParts:
    """A multipart/form-data body read part by part from the request stream, in memory only.

    werkzeug's own form parser spools file parts to temporary files; this
    drives werkzeug's sans-IO decoder instead and never touches the disk.
    """

    def __init__(self, stream: BinaryIO, boundary: bytes, max_parts: int):
        self._stream = stream
        self._decoder = MultipartDecoder(boundary, max_parts=max_parts)
        self._in_part = False
        self.ended = False

    def _event(self):
        while True:
            try:
                event = self._decoder.next_event()
            except RequestEntityTooLarge:
                raise ApiError(413, "too_many_parts", f"Send at most {MAX_ITEMS} attachments.") from None
            except (ValueError, AttributeError, IndexError):
                raise Malformed("The multipart body could not be read (bad boundary or part headers).") from None
            if not isinstance(event, NeedData):
                return event
            chunk = self._stream.read(READ)
            self._decoder.receive_data(chunk if chunk else None)

    def next_part(self) -> str | None:
        """The name of the next part (skipping what is left of the current one), or None at the end."""
        for _ in self.data():
            pass
        while True:
            event = self._event()
            if isinstance(event, Preamble):
                continue
            if isinstance(event, FieldEvent | File):
                self._in_part = True
                return event.name
            if isinstance(event, Epilogue):
                self.ended = True
                return None
            raise Malformed("The multipart body could not be read.")

    def data(self):
        """The current part's bytes, as they arrive."""
        while self._in_part:
            event = self._event()
            if not isinstance(event, Data):
                raise Malformed("The multipart body could not be read.")
            if not event.more_data:
                self._in_part = False
            if event.data:
                yield event.data

    def read_all(self, limit: int, what: str) -> bytes:
        buf = bytearray()
        for chunk in self.data():
            buf += chunk
            if len(buf) > limit:
                raise ApiError(413, "too_large", f"The {what} is larger than {limit} bytes.")
        return bytes(buf)


class _PartStream(io.RawIOBase):
    """One attachment part as a readable stream (read once, as it arrives)."""

    def __init__(self, parts: FormParts):
        self._chunks = parts.data()
        self._buf = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            out = self._buf + b"".join(self._chunks)
            self._buf = b""
            return out
        while len(self._buf) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buf += chunk
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class AttachmentFeed:
    """Hands each ExportItem its file part, in the order of ``items``.

    While rendering (``keep`` true) a part that a plugin reads is kept in
    memory so the bundle can read it again; when the bundle is written, each
    part not read before streams from the request into the ZIP, once.
    """

    def __init__(self, parts: FormParts, item_ids: list[str]):
        self.parts, self.ids = parts, item_ids
        self.next = 0
        self.kept: dict[int, bytes] = {}
        self.keep = True

    def _advance(self, index: int) -> None:
        name = self.parts.next_part()
        want = ITEM_PART + self.ids[index]
        if name is None:
            raise Malformed(f"The body has no part {want!r}: send one file part per item, in the order of "
                            "'items'.")
        if name != want:
            raise Malformed(f"Expected the part {want!r} next: send one file part per item, named "
                            "'item:<item_id>', in the order of 'items'.")
        self.next = index + 1

    def open(self, index: int) -> BinaryIO:
        if index in self.kept:
            return io.BytesIO(self.kept[index])
        if index < self.next:
            raise BundleError(f"item {self.ids[index]}: its part was already read")
        while self.next < index:  # a plugin reads ahead: keep the parts in between
            n = self.next
            self._advance(n)
            self.kept[n] = b"".join(self.parts.data())
        self._advance(index)
        if self.keep:
            self.kept[index] = b"".join(self.parts.data())
            return io.BytesIO(self.kept[index])
        return io.BufferedReader(_PartStream(self.parts), READ)

    def opener(self, index: int):
        return lambda: self.open(index)

    def finish(self) -> None:
        """After the bundle is written: every part was used and nothing else was sent."""
        if self.next < len(self.ids):
            self._advance(self.next)  # raises: a part is missing or misnamed
        extra = self.parts.next_part()
        if extra is not None:
            raise Malformed("The body has more parts than 'items' lists.")


@bp.after_request
def _drain(resp):
    """Read what the client sent and we did not need (an early error), so it receives our answer.

    Without this the server would close the connection with unread bytes, and
    the client would see a reset instead of the error. Bodies over the limit
    are not read: their 413 is decided from Content-Length alone.
    """
    length = request.content_length
    limit = max_export_bytes(_vault().config) * 4 // 3 + 2 * 1024 * 1024
    if length and length <= limit:
        try:
            if "stream" not in request.__dict__:  # not opened yet: open it with this route's limit
                request.max_content_length = limit
            stream = request.stream
            while stream.read(READ):
                pass
        except Exception:  # noqa: BLE001,S110 - a client that went away needs nothing more
            pass
    return resp


def _no_part(index: int) -> BinaryIO:
    raise BundleError("attachments are not sent for validation")


# --------------------------------------------------------------------------- items


def _export_items(s, case: Case, specs: list[ItemIn], opener) -> list[ExportItem]:
    """ExportItems for the chosen items, each manifest checked against the key stored with its Item row."""
    ids = [spec.item_id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ApiError(422, "duplicate_item", "An item is listed more than once in 'items'.")
    rows = {}
    if ids:
        rows = {item.id: (item, user) for item, user in s.execute(
            select(Item, User).join(User, User.id == Item.uploader_id)
            .where(Item.case_id == case.id, Item.id.in_(ids))).all()}
    out = []
    for n, spec in enumerate(specs):
        if spec.item_id not in rows:
            raise ApiError(422, "unknown_item", f"items[{n}]: {spec.item_id} is not an item of this case.")
        item, user = rows[spec.item_id]
        body = b64decode(spec.manifest_b64, f"items[{n}].manifest_b64", max_size=MANIFEST_MAX)
        sig = b64decode(spec.signature_b64, f"items[{n}].signature_b64", size=64)
        try:
            crypto.verify_detached(item.uploader_sign_public, body, sig)
        except crypto.BadSignature:
            raise ApiError(422, "bad_signature", f"items[{n}]: the manifest of {item.id} is not signed by the key "
                           "its uploader registered when uploading it.") from None
        try:
            manifest = json.loads(body)
        except (ValueError, RecursionError):
            manifest = None
        if (not isinstance(manifest, dict) or manifest.get("item_id") != item.id
                or manifest.get("case_id") != case.id or not isinstance(manifest.get("sha256"), str)
                or not isinstance(manifest.get("size"), int)):
            raise ApiError(422, "bad_manifest", f"items[{n}]: the signed manifest of {item.id} is not a manifest "
                           "of that item in this case.")
        box = user.box_public if user.sign_public == item.uploader_sign_public else None
        out.append(ExportItem(
            item_id=item.id, manifest=manifest, manifest_bytes=body, manifest_signature=sig,
            uploader_sign_public=item.uploader_sign_public, uploader=user.username,
            uploaded_at=item.created_at.isoformat() + "Z", open=opener(n), uploader_box_public=box))
    return out


def _member(case_id: str) -> Case:
    with _vault().db.session() as s:
        return member_case(s, case_id, g.user)


# --------------------------------------------------------------------------- routes


@bp.post("/cases/<case_id>/exports/validate")
@access("member")
@doc("Check an export before producing it: what the recipient still needs. Body (JSON): {exporter, case_record, "
     "options: {language, variant, document_date, draft}, items: [{item_id, manifest_b64, signature_b64}]}; "
     "answers {ok, missing, problems: [{path, severity, message, messages}]}. See docs/exports.md.")
def validate_export(case_id: str):
    v = _vault()
    case = _member(case_id)
    spec = _large_json(ExportIn, SPEC_MAX)
    pm = plugin_manager()
    with v.db.session() as s:
        exp, enabled = enabled_exporter(s, spec.exporter, pm)
        items = _export_items(s, case, spec.items, lambda n: lambda: _no_part(n))
    record = _case_record(spec.case_record)
    try:
        problems = plugins.validate(pm, enabled, exp.name, record, items, _options(spec.options))
    except plugins.PluginFailed as exc:
        raise _plugin_failed(exc, exp.name) from None
    missing = [p for p in problems if p.severity == "missing"]
    with v.db.session() as s:
        v.audit(s, g.user.username, "export_validated", "case:" + case.id,
                {"exporter": exp.name, "items": [i.item_id for i in items], "missing": len(missing),
                 "via": "browser"})
    return jsonify({"exporter": exp.name, "ok": not missing, "missing": len(missing),
                    "problems": _problems(problems)})


@bp.post("/cases/<case_id>/exports")
@access("member")
@doc("Render an export in memory from plaintext the browser decrypted. Body: multipart/form-data, first a part "
     "'export' (JSON, as for /exports/validate), then one part 'item:<item_id>' per item, in order. Answers the "
     "unsigned bundle and the annex bytes to sign: {bundle_b64, annex_b64, ...}. See docs/exports.md.")
def render_export(case_id: str):
    v = _vault()
    case = _member(case_id)
    limit = max_export_bytes(v.config)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "Send the export as multipart/form-data (see docs/exports.md).")
    boundary = request.mimetype_params.get("boundary", "")
    if not 1 <= len(boundary) <= 200 or not boundary.isascii():
        raise ApiError(400, "malformed_multipart", "The Content-Type has no valid multipart boundary.")
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "Send a Content-Length header.")
    if length > limit:
        raise ApiError(413, "too_large", f"A browser export may carry at most {limit} bytes; this one has "
                       f"{length}. Choose fewer attachments, or export with the Python client (`vault export`), "
                       "which has no limit.", limit=limit)
    request.max_content_length = limit
    return _render(v, case, FormParts(request.stream, boundary.encode("ascii"), MAX_ITEMS + 2))


def _render(v, case: Case, parts: FormParts):
    if parts.next_part() != EXPORT_PART:
        raise Malformed(f"The first part must be {EXPORT_PART!r}: the JSON description of the export.")
    spec = _parse_json(parts.read_all(SPEC_MAX, f"{EXPORT_PART!r} part"), ExportIn, f"{EXPORT_PART!r} part")
    pm = plugin_manager()
    feed = AttachmentFeed(parts, [i.item_id for i in spec.items])
    with v.db.session() as s:
        exp, enabled = enabled_exporter(s, spec.exporter, pm)
        items = _export_items(s, case, spec.items, feed.opener)
    record = _case_record(spec.case_record)
    options = _options(spec.options)
    signer = SignerIdentity(g.user.username, g.user.sign_public, g.user.box_public)
    buf = io.BytesIO()
    try:
        checked = render_checked(exp.name, record, items, options, pm=pm, enabled=enabled,
                                 allow_missing=spec.options.draft)
        feed.keep = False
        annex = write_bundle(buf, checked.rendered, checked.exporter, options, items, signer, None)
        feed.finish()
    except ExportRefused as exc:
        raise ApiError(422, "missing_fields", f"{exp.target_body} needs what is listed in 'problems'; complete the "
                       "case record, or build a draft.", problems=_problems(exc.problems)) from None
    except plugins.UnknownExporter:
        raise ApiError(403, "exporter_disabled", f"The exporter {exp.name!r} was disabled meanwhile.") from None
    except plugins.PluginFailed as exc:
        raise _plugin_failed(exc, exp.name) from None
    except BundleError as exc:  # messages name item ids only
        raise ApiError(422, "attachment_mismatch", str(exc)) from None
    bundle = buf.getvalue()
    del buf
    digest = crypto.sha256_hex(bundle)
    with v.db.session() as s:
        v.audit(s, g.user.username, "export_rendered", "case:" + case.id,
                {"exporter": exp.name, "items": [i.item_id for i in items], "unsigned_sha256": digest,
                 "language": options.language, "variant": options.variant, "draft": spec.options.draft,
                 "via": "browser"})
    base = safe_filename(checked.rendered.basename, fallback="export")
    return jsonify({
        "exporter": exp.name, "filename": f"{base}.zip", "draft": spec.options.draft,
        "bundle_b64": _b64(bundle), "bundle_sha256": digest, "bundle_size": len(bundle),
        "annex_b64": _b64(annex), "annex_sha256": crypto.sha256_hex(annex),
        "signer": {"name": signer.name, "fingerprint": crypto.fingerprint(signer.box_public, signer.sign_public)},
        "problems": _problems(checked.problems),
    })


def _annex(bundle: bytes, limit: int) -> dict:
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
            # Declared sizes bound what reading the members can produce (zipfile stops there):
            # refuse a bundle that would unpack to far more than any export could.
            if (zf.getinfo(ANNEX_JSON).file_size > SPEC_MAX
                    or sum(i.file_size for i in zf.infolist()) > 2 * limit + SPEC_MAX):
                raise ApiError(413, "too_large", "The bundle unpacks to more than any export could hold.")
            annex = json.loads(zf.read(ANNEX_JSON))
        signer = base64.b64decode(annex["signer"]["sign_public"], validate=True)
        exporter = annex["exporter"]["name"]
        ids = [entry["item_id"] for entry in annex["items"]]
    except (zipfile.BadZipFile, KeyError, TypeError, ValueError, binascii.Error, OSError):
        raise ApiError(422, "bad_bundle", "bundle_b64 is not an unsigned bundle made by /exports.") from None
    if not isinstance(exporter, str) or not all(isinstance(i, str) for i in ids):
        raise ApiError(422, "bad_bundle", "bundle_b64 is not an unsigned bundle made by /exports.")
    return {"signer": signer, "exporter": exporter, "items": ids, "language": annex["exporter"].get("language"),
            "variant": annex["exporter"].get("variant"),
            "basename": next((f["path"].rsplit(".", 1)[0] for f in annex.get("files", [])
                              if isinstance(f, dict) and f.get("role") == "document"), "export")}


@bp.post("/cases/<case_id>/exports/sign")
@access("member")
@doc("Finish a browser export: attach your Ed25519 signature over the annex to the unsigned bundle. Body (JSON): "
     "{bundle_b64, signature_b64}. Answers the final bundle (application/zip) and audits case_exported.",
     responses={"200": {"description": "The signed bundle", "content": {"application/zip": {}}}})
def sign_export(case_id: str):
    v = _vault()
    case = _member(case_id)
    limit = max_export_bytes(v.config)
    body = _large_json(SignIn, limit * 4 // 3 + 1024 * 1024)
    bundle = b64decode(body.bundle_b64, "bundle_b64", max_size=limit + 1024 * 1024)
    signature = b64decode(body.signature_b64, "signature_b64", size=64)
    annex = _annex(bundle, limit)
    if annex["signer"] != g.user.sign_public:
        raise ApiError(422, "wrong_signer", "This bundle was prepared for another signer: sign your own export.")
    with v.db.session() as s:
        exp, _ = enabled_exporter(s, annex["exporter"])
        known = set(s.execute(select(Item.id).where(Item.case_id == case.id, Item.id.in_(annex["items"])))
                    .scalars()) if annex["items"] else set()
    if known != set(annex["items"]):
        raise ApiError(422, "unknown_item", "The bundle names items that are not items of this case.")
    try:
        final = attach_signature(bundle, signature)
    except BundleError as exc:
        if "already signed" in str(exc):
            raise ApiError(409, "already_signed", "This bundle is already signed.") from None
        raise ApiError(422, "bad_signature", "The signature is not your signature over this bundle's annex "
                       "(sign the exact bytes of annex_b64).") from None
    del bundle
    report = verify_bundle(io.BytesIO(final))
    if not report.ok:
        # Kinds and counts only: the paths are the attachments' original names.
        kinds = Counter(f.kind for f in report.findings)
        raise ApiError(422, "bundle_invalid", "The bundle does not verify: it was changed after /exports made it.",
                       findings=dict(kinds))
    digest = crypto.sha256_hex(final)
    with v.db.session() as s:
        v.audit(s, g.user.username, "case_exported", "case:" + case.id,
                {"exporter": exp.name, "bundle_sha256": digest, "items": annex["items"],
                 "language": annex["language"], "variant": annex["variant"], "via": "browser"})
    resp = Response(final, mimetype="application/zip")
    resp.headers.set("Content-Disposition", "attachment",
                     filename=safe_filename(annex["basename"], fallback="export") + ".zip")
    resp.headers["X-Bundle-Sha256"] = digest
    return resp


@bp.post("/cases/<case_id>/exports/record")
@access("member")
@doc("Record in the audit log an export the Python client made on its own machine. Body (JSON): {exporter, "
     "bundle_sha256, items: [item ids], case_record_item, language, variant, draft}. Audited as case_exported.",
     status=201)
def record_export(case_id: str):
    v = _vault()
    _member(case_id)
    body = json_body(RecordIn)
    ids = list(dict.fromkeys(body.items + ([body.case_record_item] if body.case_record_item else [])))
    with v.db.session() as s:
        case = member_case(s, case_id, g.user)
        exp, _ = enabled_exporter(s, body.exporter)
        known = set(s.execute(select(Item.id).where(Item.case_id == case.id, Item.id.in_(ids))).scalars()) \
            if ids else set()
        if known != set(ids):
            raise ApiError(422, "unknown_item", "Some of 'items' are not items of this case.",
                           unknown=sorted(set(ids) - known))
        entry = v.audit(s, g.user.username, "case_exported", "case:" + case.id,
                        {"exporter": exp.name, "bundle_sha256": body.bundle_sha256, "items": body.items,
                         "case_record_item": body.case_record_item, "language": body.language,
                         "variant": body.variant, "draft": body.draft, "via": "client"})
        seq = entry.seq
    return jsonify({"recorded": True, "audit_seq": seq, "exporter": exp.name,
                    "bundle_sha256": body.bundle_sha256}), 201

