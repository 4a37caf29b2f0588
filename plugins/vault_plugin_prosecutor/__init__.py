"""Bundled plugin: the crime report on torture to the prosecutor's office of the Kyrgyz Republic.

Where every Kyrgyz case starts, and what "exhaustion of domestic remedies"
starts with: a «Заявление о преступлении» / «Кылмыш жөнүндө арыз» under
article 137 «Пытки» of the Criminal Code of 28 October 2021 No. 127, asking
that it be registered in the Unified Register of Crimes (article 146 of the
Criminal Procedure Code of 28 October 2021 No. 129), that a criminal case be
opened, a forensic medical examination ordered at once, the victim protected
from reprisals and the applicant informed in writing. Addressed to the
prosecutor of the region where the acts happened, or (variant ``general``)
to the General Prosecutor. The sources of every article cited, and what could
not be checked, are in mapping.json ("sources") and docs/exports.md.

Built only on vault.plugin_api, as a third-party author would build it: it is
the proof that the public surface is enough for a real exporter.
"""

from __future__ import annotations

import re

from vault.plugin_api import (
    AddressBlock,
    CaseRecord,
    Document,
    Exporter,
    ExportItem,
    ExportOptions,
    Para,
    Problem,
    Rendered,
    SignatureBlock,
    Variant,
    base_context,
    build_sections,
    check_requirements,
    exporter_from_mapping,
    format_date,
    hookimpl,
    label,
    load_mapping,
    note,
    render,
    safe_filename,
    tr,
    word,
)

NAME = "prosecutor"
MAPPING = load_mapping(__name__)
LANGUAGES = ("ru", "ky")
REGIONAL, GENERAL = "regional", "general"
# The violation types that article 137 (torture) is about; the others
# (detention, counsel...) are printed as acts but do not carry the report alone.
TORTURE_TYPES = frozenset({"torture", "death_from_torture", "cruel_treatment", "sexual_violence", "threats"})
NEEDS_AUTHORISATION = frozenset({"lawyer", "organisation", "other"})
KGZ = frozenset({"KGZ"})

VARIANTS = (
    Variant(REGIONAL, "Regional prosecutor (where the acts happened)", states=KGZ,
            note="Addressed to the prosecutor of the city or region of the acts (or of the arrest).",
            translations={
                "ru": {"label": "Прокурор региона (по месту событий)",
                       "note": "Адресовано прокурору города или области, где произошли события (или задержание)."},
                "ky": {"label": "Аймактын прокурору (окуя болгон жер боюнча)",
                       "note": "Окуя (же кармоо) болгон шаардын же облустун прокуроруна жазылат."},
            }),
    Variant(GENERAL, "General Prosecutor's Office", states=KGZ,
            note="Addressed to the General Prosecutor of the Kyrgyz Republic.",
            translations={
                "ru": {"label": "Генеральная прокуратура",
                       "note": "Адресовано Генеральному прокурору Кыргызской Республики."},
                "ky": {"label": "Башкы прокуратура",
                       "note": "Кыргыз Республикасынын Башкы прокуроруна жазылат."},
            }),
)


def _region(case: CaseRecord) -> str | None:
    """Where the prosecutor is competent: the region of the first act of torture, else of any act, else of the arrest."""
    for act in sorted(case.acts, key=lambda a: a.violation not in TORTURE_TYPES):
        if act.region:
            return act.region
    return case.arrest.region


def _addressee(case: CaseRecord, options: ExportOptions, lang: str) -> str:
    names = MAPPING["addressee"]
    if options.variant == GENERAL:
        return tr(names["general"], lang)
    region = _region(case)
    return tr(names["regional"][region] if region in names["regional"] else names["unknown"], lang)


# "ст. 143 УК", "статья 143 Уголовного кодекса", "143-берене": the torture article of the 2017 code.
OLD_ARTICLE = re.compile(r"(ст\.|стать\w*)\s*143\b|\b143\s*(УК|-берене)", re.IGNORECASE)


def _cites_old_article(case: CaseRecord) -> bool:
    """Whether the record cites article 143, the torture article of the repealed 2017 Criminal Code."""
    texts = [*case.facts.values()]
    for remedy in case.domestic_remedies:
        texts += [remedy.action or "", remedy.outcome or ""]
    return any(OLD_ARTICLE.search(text) for text in texts)


def _examinations(case: CaseRecord, items: list[ExportItem], lang: str) -> list[dict]:
    """The record's examinations as rows, each saying whether its forensic report is attached."""
    letter = MAPPING["letter"]
    chosen = {item.item_id for item in items}
    titles = {ref.item_id: ref.title for ref in case.attachments}
    rows = []
    for ex in case.medical.examinations:
        report = None
        if ex.report_item:
            if ex.report_item in chosen:
                title = titles.get(ex.report_item)
                report = tr(letter["report_attached"], lang) + (f" ({title})" if title else "")
            else:
                report = tr(letter["report_not_attached"], lang)
        rows.append({"date": ex.date, "examiner": ex.examiner, "institution": ex.institution,
                     "findings": ex.findings, "consistency": ex.consistency, "report": report})
    return rows


def _requests(case: CaseRecord, lang: str) -> list[str]:
    texts = MAPPING["requests"]
    detained = case.detention.current_status == "detained" and case.detention.current_whereabouts
    safety = (tr(texts["safety_detained"], lang).replace("{whereabouts}", case.detention.current_whereabouts)
              if detained else tr(texts["safety"], lang))
    return [tr(texts["register"], lang), tr(texts["open_case"], lang), tr(texts["forensic"], lang),
            tr(texts["evidence"], lang), safety, tr(texts["inform"], lang)]


def _context(case: CaseRecord, items: list[ExportItem], options: ExportOptions) -> dict:
    ctx = base_context(case, items, options)
    lang = options.language if options.language in LANGUAGES else "ru"
    letter = MAPPING["letter"]
    role = case.applicant.relationship_to_victim
    ctx["applicant_role"] = tr(MAPPING["roles"][role], lang) if role else None
    ctx["applicant_organisation"] = case.source.organisation if role == "organisation" else None
    ctx["needs_authorisation"] = role in NEEDS_AUTHORISATION
    auth = case.authorisation
    if ctx["needs_authorisation"] and auth.given:
        parts = [tr(letter["authorisation"], lang)]
        if auth.date:
            parts.append(format_date(auth.date, lang))
        ctx["authorisation_text"] = ", ".join(parts) + (f" ({auth.given_by})" if auth.given_by else "")
    else:
        ctx["authorisation_text"] = None
    ctx["authorisation_attached"] = "authorisation" in ctx["categories"]
    ctx["consent_text"] = (word("yes" if case.victim.consent_to_submit else "no", lang)
                           if ctx["represented"] and case.victim.consent_to_submit is not None else None)
    ctx["deceased"] = word("yes", lang) if case.victim.deceased else None
    ctx["name_not_refused"] = case.victim.consent_transmit_name_to_government is not False
    ctx["state_is_kgz"] = case.state == "KGZ"
    ctx["torture_acts"] = [act for act in case.acts if act.violation in TORTURE_TYPES]
    ctx["examinations"] = _examinations(case, items, lang)
    ctx["no_examinations"] = not ctx["examinations"]
    ctx["variant_regional"] = options.variant != GENERAL
    ctx["region_known"] = _region(case) is not None
    labels = [label("VIOLATIONS", code, lang) for code in case.violations]
    ctx["violations_text"] = ", ".join(t[:1].lower() + t[1:] for t in labels) or word("not_stated", lang).lower()
    ctx["no_old_article"] = not _cites_old_article(case)
    ctx["legal_text"] = tr(letter["legal"], lang).replace("{violations_text}", ctx["violations_text"])
    ctx["requests"] = _requests(case, lang)
    return ctx


@hookimpl
def vault_exporters() -> list[Exporter]:
    return [exporter_from_mapping(
        MAPPING,
        name=NAME,
        label="Prosecutor's office — crime report on torture",
        target_body="Prosecutor's office of the Kyrgyz Republic",
        languages=LANGUAGES,
        description="Crime report (art. 137 of the Criminal Code, torture) in Russian or Kyrgyz, "
                    "asking for registration, a criminal case and a forensic examination.",
        variants=VARIANTS,
        translations={
            "ru": {"label": "Прокуратура — заявление о преступлении (пытки)",
                   "target_body": "Прокуратура Кыргызской Республики",
                   "description": "Заявление о преступлении (ст. 137 УК КР «Пытки») на русском или кыргызском "
                                  "языке: регистрация, возбуждение уголовного дела, судебно-медицинская экспертиза."},
            "ky": {"label": "Прокуратура — кылмыш жөнүндө арыз (кыйноо)",
                   "target_body": "Кыргыз Республикасынын прокуратурасы",
                   "description": "Орус же кыргыз тилиндеги кылмыш жөнүндө арыз (КР КЖК 137-беренеси «Кыйноо»): "
                                  "каттоо, кылмыш ишин козгоо, соттук-медициналык экспертиза."},
        },
    )]


def _variant_problems(options: ExportOptions) -> list[Problem]:
    if options.variant in (None, REGIONAL, GENERAL):
        return []
    return [Problem("options.variant", f"The exporter {NAME} has no variant {options.variant!r}.",
                    messages={"ru": f"У экспорта {NAME} нет варианта {options.variant!r}.",
                              "ky": f"{NAME} экспортунда {options.variant!r} варианты жок."})]


@hookimpl
def vault_validate(exporter: str, case: CaseRecord, items: list[ExportItem],
                   options: ExportOptions) -> list[Problem] | None:
    if exporter != NAME:
        return None
    ctx = _context(case, items, options)
    return _variant_problems(options) + check_requirements(MAPPING["requirements"], case, ctx)


@hookimpl
def vault_export(exporter: str, case: CaseRecord, items: list[ExportItem],
                 options: ExportOptions) -> Rendered | None:
    if exporter != NAME:
        return None
    lang = options.language if options.language in LANGUAGES else "ru"
    ctx = _context(case, items, options)
    letter = MAPPING["letter"]
    applicant = case.applicant
    doc = Document(
        title=tr(letter["title"], lang), subtitle=tr(letter["subtitle"], lang), language=lang,
        footer=f"{tr(letter['footer'], lang)} — {ctx['document_date']}", author=applicant.full_name or "",
    )
    lines = [_addressee(case, options, lang), ""]
    for key, value in (("applicant", applicant.full_name), ("address", applicant.address),
                       ("phone", applicant.phone), ("email", applicant.email)):
        if value:
            lines.append(f"{tr(letter[key], lang)}: {value}")
    doc.add(AddressBlock(lines))
    doc.add_title()
    build_sections(doc, MAPPING["sections"], case, ctx, lang)
    doc.add(Para(tr(letter["false_report"], lang)))
    note(doc, tr(MAPPING["form"]["doc_note"], lang))
    doc.add(SignatureBlock([word("date", lang), word("signature", lang)], name=applicant.full_name,
                           values={word("date", lang): ctx["document_date"]}))
    stem = "Prokuratura-zayavlenie" if lang == "ru" else "Prokuratura-aryz"
    return render(doc, safe_filename(f"{stem}-{case.reference or options.date.isoformat()}"))
