"""Where the victim's name would leak: the case record, the documents, the file names, the final bytes.

vault/export/anonymity.py knows the forms of the name; this module looks
for them everywhere a bundle carries text, and turns each hit into a
Problem naming the place ("facts (ru), paragraph 3", "arrest place",
"attachment name «Токтогулов_Азамат_травмы.jpg»", "document, section «5.
Requested actions», item 1", "custody/annex.html") and the form matched.

Three passes, each for what it can see:

* ``scan_record``: every free-text field of the case record (before any
  rendering: the user learns which field to edit);
* ``scan_document``: every text of the Documents the exporter built (what
  the plugin printed from the name fields themselves);
* ``BundleScanner``: every ZIP entry's name and bytes as they are written —
  the DOCX's XML parts (document, headers, footers, core and app
  properties), the PDF's text (pypdf) and metadata, the annex, and the
  contents of attachments that are text, PDF or DOCX. It runs on the final
  bytes, after any redaction: a hit there refuses the bundle.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from vault.domain.caserecord import CaseRecord
from vault.domain.exports import Problem
from vault.export.anonymity import KINDS, Form, Identity, document_texts

# The victim's own identity fields are the name: what the exporter prints from them is seen in the documents.
_IDENTITY_FIELDS = {"family_name", "first_names", "patronymic", "pseudonym", "id_document", "date_of_birth",
                    "address"}
_PLACES = {"arrest.place": "arrest place", "arrest.reasons_given": "arrest, reasons given",
           "requests.concern": "requests, concern", "requests.remedy_sought": "requests, remedy sought",
           "requests.ombudsman_request": "requests, request to the Ombudsman",
           "detention.current_whereabouts": "current whereabouts", "detention.present_risk": "present risk"}
TEXT_MAX = 32 * 1024 * 1024  # attachment contents read for the scan at most (a larger one is not read)
_TEXT_TYPES = ("text/", "application/json", "application/xml")
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_WHAT = {
    "publish": ("has not consented to the publication of their name",
                "не дал(а) согласия на публикацию своего имени",
                "өз атын жарыялоого макулдук берген жок"),
    "government": ("has not consented to their name being transmitted to the government",
                   "не дал(а) согласия на передачу своего имени правительству",
                   "өз атын өкмөткө берүүгө макулдук берген жок"),
}


@dataclass(frozen=True)
class Hit:
    path: str  # a case-record path where there is one ("facts.ru"), else "anonymity"
    place: str  # where, as a reader finds it
    form: Form
    matched: str


def _place(path: str) -> str:
    if path in _PLACES:
        return _PLACES[path]
    words = []
    for part in path.split("."):
        m = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        if m:
            name = m.group(1).replace("_", " ")
            words.append(f"{name[:-1] if name.endswith('s') else name} {int(m.group(2)) + 1}")
        else:
            words.append(part.replace("_", " "))
    return ", ".join(words)


def _walk(value, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if path == "victim" and name in _IDENTITY_FIELDS:
                continue
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, dict):
        for key, v in value.items():
            yield from _walk(v, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for n, v in enumerate(value):
            yield from _walk(v, f"{path}[{n}]")
    elif isinstance(value, str):
        yield path, value


def scan_record(case: CaseRecord, identity: Identity) -> list[Hit]:
    """Every identifying form in the record's free text (the victim's identity fields themselves excepted)."""
    hits = []
    for path, text in _walk(case, ""):
        if path.startswith("facts."):
            for n, para in enumerate((p for p in re.split(r"\n\s*\n", text) if p.strip()), start=1):
                hits += [Hit(path, f"facts ({path[6:]}), paragraph {n}", f, m) for f, m in identity.find(para)]
            continue
        hits += [Hit(path, _place(path), f, m) for f, m in identity.find(text)]
    return hits


def scan_document(doc, identity: Identity) -> list[Hit]:
    return [Hit("anonymity", f"document, {place}" if not place.startswith("document") else place, f, m)
            for place, text in document_texts(doc) for f, m in identity.find(text)]


def scan_names(names: Iterable[tuple[str, str]], identity: Identity) -> list[Hit]:
    """(place, file name) pairs: attachment names, the documents' base name."""
    return [Hit("items", place, f, m) for place, name in names for f, m in identity.find(name)]


# --------------------------------------------------------------------------- the final bytes

def _xml_text(xml: bytes) -> str:
    text = xml.decode("utf-8", "replace")
    text = re.sub(r"</w:p>|<w:br/>|<w:tab/>|</dc:\w+>|</cp:\w+>|</dcterms:\w+>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def docx_texts(data: bytes) -> Iterator[tuple[str, str]]:
    """(part, text) of every XML part of a DOCX: runs joined per paragraph, properties included."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.filename.endswith((".xml", ".rels")) and info.file_size <= TEXT_MAX:
                raw = zf.read(info)
                yield info.filename, _xml_text(raw)
                attributes = re.findall(r'="([^"]*)"', raw.decode("utf-8", "replace"))
                yield f"{info.filename} (attributes)", html.unescape("\n".join(attributes))


def pdf_texts(data: bytes) -> Iterator[tuple[str, str]]:
    """(place, text) of a PDF: each page's text and the document information (metadata)."""
    from pypdf import PdfReader  # imported when a bundle is scanned: a few MB the web app rarely needs

    reader = PdfReader(io.BytesIO(data))
    for key, value in (reader.metadata or {}).items():
        yield f"PDF properties ({key.lstrip('/')})", str(value)
    for n, page in enumerate(reader.pages, start=1):
        yield f"PDF page {n}", page.extract_text() or ""


def _texts(path: str, data: bytes, media_type: str = "") -> Iterator[tuple[str, str]]:
    lower = path.lower()
    if lower.endswith(".docx") or media_type == _DOCX:
        yield from ((f"{path}: {part}", text) for part, text in docx_texts(data))
    elif lower.endswith(".pdf") or media_type == "application/pdf":
        yield from ((f"{path}: {place}", text) for place, text in pdf_texts(data))
    else:
        yield path, data.decode("utf-8", "replace")


def is_text_like(path: str, media_type: str) -> bool:
    lower = path.lower()
    return (media_type.startswith(_TEXT_TYPES) or media_type in ("application/pdf", _DOCX)
            or lower.endswith((".txt", ".json", ".csv", ".xml", ".html", ".htm", ".md", ".pdf", ".docx", ".rtf")))


class BundleScanner:
    """Checks each ZIP entry as it is written; ``hits`` is what would leak, ``unreadable`` what it could not read."""

    def __init__(self, identity: Identity):
        self.identity = identity
        self.hits: list[Hit] = []
        self.unreadable: list[str] = []

    def name(self, path: str) -> None:
        self.hits += [Hit("anonymity", f"file name {path}", f, m) for f, m in self.identity.find(path)]

    def entry(self, path: str, data: bytes, media_type: str = "") -> None:
        self.name(path)
        try:
            for place, text in _texts(path, data, media_type):
                self.hits += [Hit("anonymity", place, f, m) for f, m in self.identity.find(text)]
        except Exception:  # noqa: BLE001 - a file pypdf or zipfile cannot read: said, never raised
            self.unreadable.append(path)


# --------------------------------------------------------------------------- problems

def _kind(form: Form, lang: str) -> str:
    return KINDS.get(form.kind, {}).get(lang, form.kind)


def leak_problems(hits: list[Hit], mode: str, identity: Identity, redact: bool) -> list[Problem]:
    """One Problem per place (the forms found there named), and a summary offering the redaction.

    Without the redaction each is "missing" (the export is refused); with it, a warning saying
    what replaces it.
    """
    if not hits:
        return []
    en, ru, ky = _WHAT[mode]
    places: dict[tuple[str, str], list[Hit]] = {}
    for hit in hits:
        places.setdefault((hit.path, hit.place), []).append(hit)
    severity = "warning" if redact else "missing"
    out = []
    for (path, place), found in places.items():
        shown = "; ".join(dict.fromkeys(f"«{h.matched}» ({h.form.kind})" for h in found))
        shown_ru = "; ".join(dict.fromkeys(f"«{h.matched}» ({_kind(h.form, 'ru')})" for h in found))
        shown_ky = "; ".join(dict.fromkeys(f"«{h.matched}» ({_kind(h.form, 'ky')})" for h in found))
        if redact:
            msg = (f"{place}: {shown} will be replaced with «{identity.replacement}» "
                   f"(other identifiers with {identity.withheld}).")
            msgs = {"en": msg,
                    "ru": f"{place}: {shown_ru} будет заменено на «{identity.replacement}».",
                    "ky": f"{place}: {shown_ky} «{identity.replacement}» менен алмаштырылат."}
        else:
            msg = f"{place}: {shown} identifies the victim, who {en}."
            msgs = {"en": msg, "ru": f"{place}: {shown_ru} позволяет установить личность потерпевшего, "
                                     f"который {ru}.",
                    "ky": f"{place}: {shown_ky} жабырлануучуну таанытат, ал {ky}."}
        out.append(Problem(path=path, severity=severity, message=msg, messages=msgs))
    summary = (f"The victim {en}, and {len(places)} place(s) of this export identify them (listed). Edit the "
               f"case record, or accept the redaction: every occurrence is replaced with «{identity.replacement}» "
               "before the documents are written, and the finished bundle is checked again.")
    out.insert(0, Problem(path="anonymity", severity=severity, message=summary, messages={
        "en": summary,
        "ru": f"Потерпевший {ru}, а {len(places)} мест(а) этого экспорта позволяют установить его личность "
              f"(см. список). Исправьте карточку дела или примите замену: каждое упоминание будет заменено на "
              f"«{identity.replacement}» до создания документов, и готовый пакет будет проверен ещё раз.",
        "ky": f"Жабырлануучу {ky}, ал эми бул экспорттун {len(places)} жери аны таанытат (тизмеде). Иштин "
              f"картасын оңдоңуз же алмаштырууну кабыл алыңыз: ар бир эскерүү документтер жазылганга чейин "
              f"«{identity.replacement}» менен алмаштырылат жана даяр пакет кайра текшерилет.",
    }))
    return out
