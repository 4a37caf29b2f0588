"""Values every exporter derives from the case record, and the final render step.

The mappings refer to these as ``@name`` (see vault/export/mapping.py). They
are computed here once, in the output language, so the exporters' own code
stays small and the JSON mappings stay declarative.
"""

from __future__ import annotations

from typing import Any

from vault.domain import vocab
from vault.domain.caserecord import CaseRecord
from vault.domain.exports import ExportItem, ExportOptions, Rendered
from vault.export import anonymity
from vault.export.document import Document, format_date, format_period, word
from vault.export.names import attachment_paths
from vault.export.render_docx import render_docx
from vault.export.render_pdf import render_pdf

STATE_NAMES: dict[str, dict[str, str]] = {
    "KGZ": {"en": "Kyrgyzstan", "ru": "Кыргызская Республика", "ky": "Кыргыз Республикасы"},
}


# One transliteration standard for names in every English document, named in
# the document: the BGN/PCGN 1979 romanization of Kyrgyz (it covers the
# Russian letters too), without the optional marks for the soft and hard signs.
ROMANIZATION = "BGN/PCGN 1979 romanization of Kyrgyz"
_LATIN = dict(zip(
    "абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "yo", "j", "z", "i", "y", "k", "l", "m", "n", "ng", "o", "ö", "p", "r",
     "s", "t", "u", "ü", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"], strict=True))
_VOWELS = set("аеёиоөуүыэюяъь")


def romanize(text: str) -> str:
    """``text`` with Cyrillic letters romanized by ROMANIZATION ("Өмүрбеков" → "Ömürbekov").

    "е" is "ye" at the start of a word and after a vowel or a sign, as the
    standard says; other characters are kept.
    """
    out = []
    for n, ch in enumerate(text):
        low = ch.lower()
        if low not in _LATIN:
            out.append(ch)
            continue
        before = text[n - 1].lower() if n else ""
        latin = "ye" if low == "е" and (not before.isalpha() or before in _VOWELS) else _LATIN[low]
        if ch != low and latin:
            nxt = text[n + 1] if n + 1 < len(text) else ""
            latin = latin.upper() if nxt.isupper() else latin[0].upper() + latin[1:]
        out.append(latin)
    return "".join(out)


def latin_name(name: str | None, lang: str) -> str | None:
    """A person's name as a document in ``lang`` prints it: in English romanized, the original in brackets."""
    if not name or lang != "en" or romanize(name) == name:
        return name
    return f"{romanize(name)} ({name})"


def state_name(code: str, lang: str) -> str:
    names = STATE_NAMES.get(code)
    return (names.get(lang) or names["en"]) if names else code


def facts_for(case: CaseRecord, lang: str) -> str | None:
    """The statement of facts in ``lang``, or in another language if that is all there is."""
    if lang in case.facts:
        return case.facts[lang]
    for other in ("en", "ru", "ky", "fr"):
        if other in case.facts:
            return case.facts[other]
    return None


def attachment_lines(case: CaseRecord, items: list[ExportItem], lang: str) -> list[str]:
    """One line per chosen attachment: its title (or type) and its path in the bundle."""
    refs = {ref.item_id: ref for ref in case.attachments}
    paths = attachment_paths((item.filename, item.item_id) for item in items)
    lines = []
    for item, path in zip(items, paths, strict=True):
        ref = refs.get(item.item_id)
        kind = vocab.label("EVIDENCE_TYPES", item.evidence_type, lang) \
            if item.evidence_type in vocab.EVIDENCE_TYPES else None
        title = ref.title if ref and ref.title else kind
        lines.append(f"{title} — {path}" if title else path)
    return lines


def attached_categories(case: CaseRecord, items: list[ExportItem]) -> set[str]:
    """The attachment categories actually present among the chosen items."""
    chosen = {item.item_id for item in items}
    cats = {ref.category for ref in case.attachments if ref.item_id in chosen}
    for item in items:
        if item.evidence_type in ("medical_record", "forensic_report"):
            cats.add("medical")
        elif item.evidence_type == "court_document":
            cats.add("domestic_decision")
    return cats


def base_context(case: CaseRecord, items: list[ExportItem], options: ExportOptions) -> dict[str, Any]:
    """The ``@`` values shared by all exporters, in the output language."""
    lang = options.language
    victim = case.victim
    age = victim.age_on(options.date)
    represented = case.applicant.relationship_to_victim not in (None, "self")
    return {
        "lang": lang,
        "facts": facts_for(case, lang),
        "document_date": format_date(options.date, lang),
        "state_name": state_name(case.state, lang),
        "victim_full_name": victim.full_name,
        "age": word("years", lang, n=age) if age is not None else None,
        "violations": [vocab.label("VIOLATIONS", v, lang) for v in case.violations],
        "violation_period": format_period(case.first_violation_date, case.last_violation_date, lang),
        "first_violation_date": case.first_violation_date,
        "attachments": attachment_lines(case, items, lang),
        "categories": attached_categories(case, items),
        "represented": represented,
        "organisation": case.source.organisation or "",
        "contact_person": latin_name(case.source.contact_person, lang),
    }


def render(doc: Document, basename: str) -> Rendered:
    """Both renderings of ``doc``, in memory.

    The PDF first: it is the one with a work budget, so a document too
    complex to lay out (DocumentTooComplex) is refused before any other work.
    """
    doc, basename = anonymity.on_render(doc, basename)  # the accepted redaction, before any byte is written
    pdf = render_pdf(doc)
    return Rendered(docx=render_docx(doc), pdf=pdf, basename=basename, language=doc.language)
