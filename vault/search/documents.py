"""The searchable-metadata document: its shape, validation, and index fields.

The core app produces one dict per evidence item (see ``DOCUMENT_KEYS``).
Only metadata the server already sees in the clear is indexed; sealed content
never reaches this module. An unknown key is an error rather than silently
ignored, so a field added upstream is not indexed by accident (or forgotten).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, TEXT, Schema

from vault.search.analysis import SkeletonTokenizer, StemTokenizer, detect_language, words
from vault.search.errors import InvalidDocument

# Bump when the schema or the analysis changes: an index built by another
# version is reported as corrupt, so the app rebuilds it. 3: Kyrgyz verb
# roots, Russian fleeting vowels, loose name skeletons; ``doc`` a column.
# 4: Kyrgyz present/future and causative verb roots. 5: ``superseded`` (case
# records that a later save of the case's record replaced).
SCHEMA_VERSION = 5

DOCUMENT_KEYS: dict[str, str] = {
    "item_id": "str", "case_id": "str", "case_reference": "str", "case_title": "str",
    "title": "str", "place": "str",
    "incident_date_from": "date?", "incident_date_to": "date?",
    "region": "code?", "detention_place_type": "code?",
    "violations": "codes", "methods": "codes", "evidence_type": "code",
    "tags": "strs", "language": "lang?", "uploader_role": "role", "uploaded_at": "datetime",
    # A case record that a later case record of the same case replaced (the
    # server knows both items' type and upload time, not their content).
    "superseded": "bool",
}
REQUIRED_KEYS = frozenset(("item_id", "case_id", "evidence_type", "uploader_role", "uploaded_at"))
LANGUAGES = ("ky", "ru", "en")
ROLES = ("lawyer", "medic")

# Facet and filter fields holding one code / several codes per document.
SINGLE_CODE_FIELDS = ("region", "detention_place_type", "evidence_type", "uploader_role", "language")
MULTI_CODE_FIELDS = ("violations", "methods")
SUPERSEDED = "yes"  # the ``superseded`` term of a superseded case record
_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_MAX_TEXT = 2000  # characters per free-text field: metadata, not content
_MAX_LIST = 64


def make_schema() -> Schema:
    """The whoosh schema. Only ``item_id`` is stored; the document is a column."""
    return Schema(
        item_id=ID(stored=True, unique=True),
        case_id=ID,
        # title, place, case title and reference, tags: stemmed, with positions
        # for phrase queries.
        text=TEXT(analyzer=StemTokenizer(), phrase=True),
        # Phonetic skeletons of names, to match across scripts.
        skel=TEXT(analyzer=SkeletonTokenizer(), phrase=False, field_boost=0.6),
        region=ID, detention_place_type=ID, evidence_type=ID, uploader_role=ID, language=ID,
        violations=KEYWORD(scorable=False), methods=KEYWORD(scorable=False),
        # "yes" on superseded case records only (absent on every other
        # document): searches leave them out unless asked (query.py).
        superseded=ID,
        # Incident dates as yyyymmdd; absent when the record has no date, so
        # a date filter never matches an undated record. Signed on purpose:
        # whoosh-reloaded 2.7.5 answers open-start ranges on unsigned
        # NUMERIC fields wrongly (docs/search.md).
        date_from=NUMERIC(int, bits=32),
        date_to=NUMERIC(int, bits=32),
        sort_date=NUMERIC(int, bits=32, sortable=True),
        # Last day of the incident, 0 when undated: a column the candidate
        # engine reads for the date-overlap filter (no range query needed).
        end_date=NUMERIC(int, bits=32, sortable=True),
        uploaded=NUMERIC(int, bits=64, sortable=True),
        # The document as UTF-8 JSON, read for every hit shown. A plain bytes
        # column, not a stored field: whoosh pickles and zlib-compresses
        # stored fields, which cost more than the read itself (docs/search.md).
        doc=COLUMN(VarBytesColumn()),
    )


def _bad(item: object, message: str) -> InvalidDocument:
    return InvalidDocument(f"item {item!r}: {message}")


def parse_date(value: object, what: str = "date") -> date:
    """A ``YYYY-MM-DD`` string (or a date) as a date; ValueError otherwise."""
    if isinstance(value, datetime):
        raise ValueError(f"{what} must be a date, not a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what} must be a date as YYYY-MM-DD, got {value!r}")


def date_number(d: date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def _check_value(item: object, key: str, kind: str, value: Any) -> None:
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        if optional:
            return
        raise _bad(item, f"{key} may not be null")
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(item, f"{key} must be true or false")
        return
    if kind in ("str", "code", "lang", "role", "datetime"):
        if not isinstance(value, str):
            raise _bad(item, f"{key} must be a string")
        if len(value) > _MAX_TEXT:
            raise _bad(item, f"{key} is longer than {_MAX_TEXT} characters")
    if kind == "code" and not _CODE_RE.match(value):
        raise _bad(item, f"{key} is not a code: {value!r}")
    elif kind == "lang" and value not in LANGUAGES:
        raise _bad(item, f"language must be one of {LANGUAGES}")
    elif kind == "role" and value not in ROLES:
        raise _bad(item, f"uploader_role must be one of {ROLES}")
    elif kind == "datetime":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise _bad(item, f"uploaded_at is not ISO-8601: {value!r}") from None
    elif kind == "date":
        try:
            parse_date(value, key)
        except ValueError as exc:
            raise _bad(item, str(exc)) from None
    elif kind in ("codes", "strs"):
        if not isinstance(value, list | tuple) or len(value) > _MAX_LIST:
            raise _bad(item, f"{key} must be a list of at most {_MAX_LIST} strings")
        for v in value:
            if not isinstance(v, str) or len(v) > 200:
                raise _bad(item, f"{key} must hold strings")
            if kind == "codes" and not _CODE_RE.match(v):
                raise _bad(item, f"{key} holds a non-code {v!r}")


def validate(doc: object) -> dict[str, Any]:
    """Check a document and return it with absent optional keys filled in.

    Raises :class:`InvalidDocument` for unknown keys, missing required keys
    and values of the wrong type; vocabulary codes are checked for shape
    only, so a code the lead adds to ``vault.domain.vocab`` is indexed at once.
    """
    if not isinstance(doc, dict):
        raise InvalidDocument(f"document must be a dict, not {type(doc).__name__}")
    item = doc.get("item_id")
    unknown = sorted(set(doc) - set(DOCUMENT_KEYS))
    if unknown:
        raise _bad(item, f"unknown keys {unknown}")
    missing = sorted(REQUIRED_KEYS - set(doc))
    if missing:
        raise _bad(item, f"missing keys {missing}")
    out: dict[str, Any] = {}
    for key, kind in DOCUMENT_KEYS.items():
        value = doc.get(key)
        if value is None and kind in ("str",):
            value = ""
        if value is None and kind in ("codes", "strs"):
            value = []
        if value is None and kind == "bool":
            value = False
        _check_value(item, key, kind, value)
        out[key] = list(value) if isinstance(value, tuple) else value
    if not out["item_id"] or not out["case_id"]:
        raise _bad(item, "item_id and case_id may not be empty")
    start, end = out["incident_date_from"], out["incident_date_to"]
    if start and end and parse_date(start) > parse_date(end):
        raise _bad(item, "incident_date_from is after incident_date_to")
    return out


def _is_name(word: str) -> bool:
    return word[:1].isupper() or word[:1].isdigit()


def text_field(doc: dict[str, Any]) -> str:
    """The content of the ``text`` field; phrase checks re-read it from here."""
    free_text = [doc["title"], doc["place"], doc["case_title"], doc["case_reference"], *doc["tags"]]
    return " \n ".join(t for t in free_text if t)


def to_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The whoosh fields of a validated document."""
    free_text = [doc["title"], doc["place"], doc["case_title"], doc["case_reference"], *doc["tags"]]
    # Skeletons only for what looks like a name: the whole place and reference,
    # and capitalised words elsewhere. Folding every word would let "son"
    # match «сон» (sleep) and similar cross-language accidents.
    names = [doc["place"], doc["case_reference"]]
    for text in (doc["title"], doc["case_title"], *doc["tags"]):
        names.extend(m.group() for m in words(text) if _is_name(m.group()))
    language = doc["language"] or detect_language(" ".join(free_text[:3]))
    start = doc["incident_date_from"] or doc["incident_date_to"]
    end = doc["incident_date_to"] or doc["incident_date_from"]
    uploaded = datetime.fromisoformat(doc["uploaded_at"])
    if uploaded.tzinfo is None:
        uploaded = uploaded.replace(tzinfo=UTC)
    fields: dict[str, Any] = {
        "item_id": doc["item_id"],
        "case_id": doc["case_id"],
        "text": text_field(doc),
        "skel": " \n ".join(t for t in names if t),
        "violations": " ".join(doc["violations"]),
        "methods": " ".join(doc["methods"]),
        "sort_date": date_number(parse_date(start)) if start else 0,
        "end_date": date_number(parse_date(end)) if end else 0,
        "uploaded": int(uploaded.timestamp()),
        "doc": json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
    }
    for field in SINGLE_CODE_FIELDS:
        value = language if field == "language" else doc[field]
        if value:
            fields[field] = value
    if doc["superseded"]:
        fields["superseded"] = SUPERSEDED
    if start:
        fields["date_from"] = date_number(parse_date(start))
        fields["date_to"] = date_number(parse_date(end))
    return fields
