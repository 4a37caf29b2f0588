"""Bundled plugin: the two UN exporters.

* ``un-srt`` — individual communication to the Special Rapporteur on
  torture, following the sections of OHCHR's model questionnaire (srt.json).
* ``un-hrc`` — individual complaint to the Human Rights Committee under the
  Optional Protocol to the ICCPR (hrc.json), with the variant ``cat22``: the
  same complaint to the Committee against Torture under article 22 CAT,
  offered only for states recorded as having made that declaration
  (cat22_declarations.json; Kyrgyzstan is unverified, so not by default).

Both in English or Russian, the two UN languages the coalition writes in.
"""

from __future__ import annotations

import datetime as dt

from vault.plugin_api import (
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

from . import cat22

SRT, HRC = "un-srt", "un-hrc"
MAPPINGS = {SRT: load_mapping(__name__, "srt.json"), HRC: load_mapping(__name__, "hrc.json")}
LANGUAGES = ("en", "ru")
# Human Rights Committee rules of procedure, rule 99(c) (2019 text; number unverified):
# a complaint 5 years after the last domestic decision may be an abuse of submission.
HRC_TIME_LIMIT_YEARS = 5


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _context(exporter: str, case: CaseRecord, items: list[ExportItem], options: ExportOptions) -> dict:
    ctx = base_context(case, items, options)
    lang = options.language
    ctx["deceased"] = True if case.victim.deceased else None
    if exporter == HRC:
        titles = MAPPINGS[HRC]["titles"]
        instrument = "CAT" if options.variant == "cat22" else "ICCPR"
        ctx["variant_cat"] = instrument == "CAT"
        ctx["variant_hrc"] = instrument == "ICCPR"
        ctx["instrument_claims"] = [
            tr(titles[instrument], lang).format(article=c.article)
            + (f" — {c.explanation}" if c.explanation else "")
            for c in case.claims if c.instrument == instrument
        ]
        role = case.applicant.relationship_to_victim
        roles = MAPPINGS[HRC]["relationship"]
        ctx["representative_role"] = tr(roles[role], lang) if ctx["represented"] else None
        ctx["authorisation_attached"] = "authorisation" in ctx["categories"]
        ctx["other_procedures_stated"] = bool(case.other_procedures) or case.other_procedures_none is not None
        ctx["other_none_text"] = (tr(titles["other_none"], lang)
                                  if case.other_procedures_none and not case.other_procedures else None)
        ctx["checklist"] = [
            (label("ATTACHMENT_CATEGORIES", cat, lang),
             word("attached" if cat in ctx["categories"] else "not_attached", lang))
            for cat in ("authorisation", "domestic_decision", "medical", "evidence", "national_law")
        ]
    return ctx


@hookimpl
def vault_exporters() -> list[Exporter]:
    return [
        exporter_from_mapping(
            MAPPINGS[SRT],
            name=SRT, label="UN Special Rapporteur on torture — individual communication",
            target_body="UN Special Rapporteur on torture (OHCHR Special Procedures)",
            languages=LANGUAGES,
            description="Communication following the OHCHR model questionnaire, in English or Russian.",
            translations={
                "ru": {"label": "Специальный докладчик ООН по вопросу о пытках — индивидуальное сообщение",
                       "target_body": "Специальный докладчик ООН по вопросу о пытках (специальные процедуры УВКПЧ)",
                       "description": "Сообщение по типовому вопроснику УВКПЧ, на английском или русском языке."},
                "ky": {"label": "БУУнун кыйноолор боюнча атайын баяндамачысы — жеке билдирүү",
                       "target_body": "БУУнун кыйноолор боюнча атайын баяндамачысы (АУКЖБнын атайын жол-жоболору)",
                       "description": "АУКЖБнын үлгү суроолорунун негизиндеги билдирүү, англис же орус тилинде."},
            },
        ),
        exporter_from_mapping(
            MAPPINGS[HRC],
            name=HRC, label="UN Human Rights Committee — individual complaint",
            target_body="UN Human Rights Committee (Optional Protocol to the ICCPR)",
            languages=LANGUAGES,
            variants=(Variant(
                name="cat22", label="Committee against Torture (article 22 CAT) instead",
                states=cat22.offered_states(),
                note="Only for states that made the article 22 declaration; unverified for Kyrgyzstan.",
                translations={
                    "ru": {"label": "Вместо этого — Комитет против пыток (статья 22 КПП)",
                           "note": "Только для государств, сделавших заявление по статье 22; "
                                   "для Кыргызстана не проверено."},
                    "ky": {"label": "Анын ордуна — Кыйноолорго каршы комитет (КККнын 22-беренеси)",
                           "note": "22-берене боюнча билдирүү жасаган мамлекеттер үчүн гана; "
                                   "Кыргызстан үчүн текшерилген эмес."},
                },
            ),),
            description="Complaint following the treaty bodies' model form, in English or Russian.",
            translations={
                "ru": {"label": "Комитет ООН по правам человека — индивидуальная жалоба",
                       "target_body": "Комитет ООН по правам человека (Факультативный протокол к МПГПП)",
                       "description": "Жалоба по типовой форме договорных органов, на английском или русском языке."},
                "ky": {"label": "БУУнун Адам укуктары боюнча комитети — жеке арыз",
                       "target_body": "БУУнун Адам укуктары боюнча комитети (ЖСУЭПке Факультативдик протокол)",
                       "description": "Келишимдик органдардын үлгү формасы боюнча арыз, англис же орус тилинде."},
            },
        ),
    ]


def _date_problems(exporter: str, case: CaseRecord, options: ExportOptions) -> list[Problem]:
    last = case.last_domestic_decision
    if exporter != HRC or options.variant == "cat22" or last is None:
        return []
    if last >= _years_before(options.date, HRC_TIME_LIMIT_YEARS):
        return []
    return [Problem(
        "domestic_remedies", severity="warning",
        message=(f"The last domestic decision is dated {format_date(last, 'en')}, more than five years "
                 "ago: the Human Rights Committee may treat the complaint as an abuse of the right of "
                 "submission unless you explain the delay."),
        messages={
            "ru": (f"Последнее решение внутри страны датировано {format_date(last, 'ru')}, более пяти лет "
                   "назад: Комитет может счесть жалобу злоупотреблением правом на представление "
                   "сообщений, если задержка не объяснена."),
            "ky": (f"Өлкөдөгү акыркы чечим {format_date(last, 'ky')} кабыл алынган, беш жылдан ашык "
                   "убакыт мурун: кечиктирүүнүн себеби түшүндүрүлбөсө, Комитет даттанууну кайрылуу "
                   "укугунан кыянаттык менен пайдалануу катары кароосу мүмкүн."),
        },
    )]


def _variant_problems(exporter: str, case: CaseRecord, options: ExportOptions) -> list[Problem]:
    if options.variant is None:
        return []
    if exporter == HRC and options.variant == "cat22":
        return cat22.problems(case.state, base_context(case, [], options)["state_name"])
    return [Problem("options.variant", f"The exporter {exporter} has no variant {options.variant!r}.")]


@hookimpl
def vault_validate(exporter: str, case: CaseRecord, items: list[ExportItem],
                   options: ExportOptions) -> list[Problem] | None:
    if exporter not in MAPPINGS:
        return None
    ctx = _context(exporter, case, items, options)
    return (_variant_problems(exporter, case, options)
            + check_requirements(MAPPINGS[exporter]["requirements"], case, ctx)
            + _date_problems(exporter, case, options))


def _title(exporter: str, options: ExportOptions) -> tuple[str, str]:
    lang = options.language
    if exporter == SRT:
        if lang == "ru":
            return ("Индивидуальное сообщение Специальному докладчику по вопросу о пытках",
                    "и других жестоких, бесчеловечных или унижающих достоинство видах обращения и наказания")
        return ("Individual communication to the Special Rapporteur on torture",
                "and other cruel, inhuman or degrading treatment or punishment")
    titles = MAPPINGS[HRC]["titles"]
    key = "cat22" if options.variant == "cat22" else "hrc"
    return tr(titles[key], lang), tr(titles[f"{key}_sub"], lang)


@hookimpl
def vault_export(exporter: str, case: CaseRecord, items: list[ExportItem],
                 options: ExportOptions) -> Rendered | None:
    if exporter not in MAPPINGS:
        return None
    lang = options.language if options.language in LANGUAGES else "en"
    ctx = _context(exporter, case, items, options)
    mapping = MAPPINGS[exporter]
    title, subtitle = _title(exporter, options)
    doc = Document(title=title, subtitle=subtitle, language=lang, author=case.source.organisation or "",
                   footer=f"{title} — {ctx['document_date']}",
                   header_note=word("confidential", lang))
    doc.add_title()
    number = build_sections(doc, mapping["sections"], case, ctx, lang)
    if exporter == HRC:
        titles = mapping["titles"]
        doc.heading(f"{number}. {tr(titles['signature'], lang)}")
        doc.add(Para(tr(titles["signature_text"], lang), align="justify"))
        doc.add(SignatureBlock([tr(titles["place"], lang), word("date", lang), word("signature", lang)],
                               name=case.applicant.full_name or case.victim.full_name,
                               values={word("date", lang): ctx["document_date"]}))
    note(doc, tr(mapping["form"]["doc_note"], lang))
    stem = "UN-SRT" if exporter == SRT else ("UN-CAT" if options.variant == "cat22" else "UN-HRC")
    return render(doc, safe_filename(f"{stem}-{case.reference or options.date.isoformat()}-{lang}"))
