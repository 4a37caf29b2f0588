"""Export routes: the browser's in-memory export, and the audit record of a client-side export.

Each route parses the request, checks membership, calls
vault/services/exports.py (which checks, renders, signs and audits) and
answers. The browser sends the plaintext as multipart/form-data, read from
the stream in memory by vault/api/multipart.py, never spooled to disk.

The exporter name travels in the body, not in the path, so every export route
is keyed by the case alone (tests/core/test_access.py probes each case route).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import Annotated, TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from vault import jsonlimits
from vault.api.errors import ApiError
from vault.api.multipart import EXPORT_PART, READ, AttachmentFeed, FormParts, Malformed
from vault.api.openapi import doc
from vault.api.security import access
from vault.db.models import Case
from vault.domain.exports import ExportOptions
from vault.services import exports
from vault.services.access import member_case
from vault.services.exports import MANIFEST_MAX, MAX_ITEMS, SPEC_MAX, field_problems
from vault.services.plugins import max_export_bytes, plugin_manager

bp = Blueprint("exports", __name__, url_prefix="/api/v1")

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
    # accept the proposed redaction of the victim's name where it must not appear (vault/export/anonymity.py)
    redact: bool = False


class ExportIn(Strict):
    exporter: ExporterName
    case_record: dict
    options: OptionsIn
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    # The browser writes the ZIP: send parts only for the items /validate lists in server_reads, and
    # /exports answers the bundle's entries instead of the bundle (docs/exports.md "The browser").
    zip_in_browser: bool = False

    def request(self) -> exports.ExportRequest:
        o = self.options
        return exports.ExportRequest(
            exporter=self.exporter, case_record=self.case_record, draft=o.draft,
            options=ExportOptions(language=o.language, variant=o.variant, document_date=o.document_date,
                                  redact=o.redact),
            items=[exports.ChosenItem(i.item_id, i.manifest_b64, i.signature_b64) for i in self.items])


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
    # A bundle the browser wrote: the exact annex bytes it signed (base64) and that signature.
    annex_b64: Annotated[str, StringConstraints(max_length=SPEC_MAX * 4 // 3 + 4,
                                                pattern=r"^[A-Za-z0-9+/]*={0,2}$")] | None = None
    signature_b64: B64 | None = None


def _vault():
    return current_app.extensions["vault"]


M = TypeVar("M", bound=BaseModel)


def _parse_json(raw: bytes | bytearray, model: type[M], what: str) -> M:
    """``raw`` (already within its size limit) as ``model``; nesting is bounded before parsing."""
    try:
        data = jsonlimits.loads(bytes(raw).decode("utf-8"), max_bytes=len(raw))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_utf8", f"The {what} is not valid UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json",
                       f"The {what} is not valid JSON: {exc.msg} at position {exc.pos}.") from None
    except jsonlimits.TooDeep as exc:
        raise ApiError(400, "invalid_json", f"The {what} is {exc}, deeper than any export description: send "
                       "the fields documented in docs/exports.md.") from None
    except ValueError:
        raise ApiError(400, "invalid_json", f"The {what} is not valid JSON.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_fields", "Some fields are missing or invalid; see 'fields'.",
                       fields=field_problems(exc)) from None


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


def _member(case_id: str) -> Case:
    with _vault().db.session() as s:
        return member_case(s, case_id, g.user)


@bp.post("/cases/<case_id>/exports/validate")
@access("member")
@doc("Check an export before producing it: what the recipient still needs. Body (JSON): {exporter, case_record, "
     "options: {language, variant, document_date, draft}, items: [{item_id, manifest_b64, signature_b64}]}; "
     "answers {ok, missing, problems: [{path, severity, message, messages}]}. See docs/exports.md.", body=ExportIn)
def validate_export(case_id: str):
    case = _member(case_id)
    spec = _large_json(ExportIn, SPEC_MAX)
    return jsonify(exports.validate_export(_vault(), g.user, case, spec.request(), plugin_manager(),
                                           logger=current_app.logger))


@bp.post("/cases/<case_id>/exports")
@access("member")
@doc("Render an export in memory from plaintext the browser decrypted. Body: multipart/form-data, first a part "
     "'export' (JSON, as for /exports/validate), then one part 'item:<item_id>' per item, in order. Answers the "
     "unsigned bundle and the annex bytes to sign: {bundle_b64, annex_b64, ...}. With zip_in_browser: parts only "
     "for the items of server_reads, and answers the entries for the browser's ZIP: {entries, annex_b64, ...}. "
     "See docs/exports.md.")
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
    parts = FormParts(request.stream, boundary.encode("ascii"), MAX_ITEMS + 2,
                      f"Send at most {MAX_ITEMS} attachments.")
    if parts.next_part() != EXPORT_PART:
        raise Malformed(f"The first part must be {EXPORT_PART!r}: the JSON description of the export.")
    spec = _parse_json(parts.read_all(SPEC_MAX, f"{EXPORT_PART!r} part"), ExportIn, f"{EXPORT_PART!r} part")
    pm = plugin_manager()
    if spec.zip_in_browser:
        return jsonify(exports.render_entries(v, g.user, case, spec.request(), lambda ids: AttachmentFeed(parts, ids),
                                              pm, logger=current_app.logger))
    feed = AttachmentFeed(parts, [i.item_id for i in spec.items])
    return jsonify(exports.render_export(v, g.user, case, spec.request(), feed, pm, logger=current_app.logger))


@bp.post("/cases/<case_id>/exports/sign")
@access("member")
@doc("Finish a browser export: attach your Ed25519 signature over the annex to the unsigned bundle. Body (JSON): "
     "{bundle_b64, signature_b64}. Answers the final bundle (application/zip) and audits case_exported.",
     body=SignIn, responses={"200": {"description": "The signed bundle", "content": {"application/zip": {}}}})
def sign_export(case_id: str):
    v = _vault()
    case = _member(case_id)
    limit = max_export_bytes(v.config)
    body = _large_json(SignIn, limit * 4 // 3 + 1024 * 1024)
    signed = exports.sign_export(v, g.user, case, body.bundle_b64, body.signature_b64, limit)
    resp = Response(signed.data, mimetype="application/zip")
    resp.headers["Content-Disposition"] = attachment_header(signed.filename)
    resp.headers["X-Bundle-Sha256"] = signed.sha256
    return resp


@bp.post("/cases/<case_id>/exports/record")
@access("member")
@doc("Record in the audit log an export made where the keys are (the Python client, or a ZIP the browser wrote). "
     "Body (JSON): {exporter, bundle_sha256, items: [item ids], case_record_item, language, variant, draft, "
     "annex_b64?, signature_b64?}: the browser adds the annex it signed. Audited as case_exported.",
     body=RecordIn, status=201)
def record_export(case_id: str):
    _member(case_id)
    body = _large_json(RecordIn, 2 * SPEC_MAX)  # a browser's annex may be larger than an ordinary JSON body
    if (body.annex_b64 is None) != (body.signature_b64 is None):
        raise ApiError(422, "invalid_fields", "Send annex_b64 and signature_b64 together, or neither.",
                       fields=[{"field": "signature_b64" if body.annex_b64 else "annex_b64", "problem": "missing"}])
    browser = exports.BrowserBundle(body.annex_b64, body.signature_b64) if body.annex_b64 is not None else None
    out = exports.record_export(_vault(), g.user, case_id, exporter=body.exporter,
                                bundle_sha256=body.bundle_sha256, items=body.items,
                                case_record_item=body.case_record_item, language=body.language,
                                variant=body.variant, draft=body.draft, browser=browser)
    return jsonify(out), 201


def attachment_header(name: str) -> str:
    """Content-Disposition for a download named `name`, in any script (RFC 6266).

    gunicorn sends header values as Latin-1 only: a Cyrillic case reference
    in the plain `filename=` breaks the response. So `filename=` carries an
    ASCII fallback and `filename*` the real name, percent-encoded UTF-8.
    """
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join(c if c.isalnum() or c in "-_." else "_" for c in fallback).strip("._") or "export.zip"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
