"""Bundled plugin: the two UN exporters.

* ``un-srt`` — individual communication to the Special Rapporteur on
  torture, following the sections of OHCHR's model questionnaire (srt.json).
  A victim still in custody (or disappeared, or incommunicado) and at risk
  gets the urgent-appeal form; others the allegation-letter form (the
  Special Rapporteur's pages on urgent appeals and allegation letters). When
  the victim refuses the transmission of the name to the government, the
  name and identity document are not printed.
* ``un-hrc`` — individual complaint to the Human Rights Committee under the
  Optional Protocol to the ICCPR (hrc.json; admissibility checks in
  admissibility.py), with the variant ``cat22``: the same complaint to the
  Committee against Torture under article 22 CAT, refused for a state
  without that declaration (cat22_declarations.json: Kyrgyzstan has none).

Both in English or Russian, the two UN languages the coalition writes in.
English documents write names in Latin letters by one named standard
(``romanize``) and warn about free text left in Russian or Kyrgyz.
"""

from __future__ import annotations

from vault.plugin_api import (
    ROMANIZATION,
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
    hookimpl,
    label,
    latin_name,
    load_mapping,
    note,
    render,
    romanize,
    safe_filename,
    tr,
    untranslated_text,
    word,
)

from . import admissibility, cat22

SRT, HRC = "un-srt", "un-hrc"
MAPPINGS = {SRT: load_mapping(__name__, "srt.json"), HRC: load_mapping(__name__, "hrc.json")}
LANGUAGES = ("en", "ru")
# In custody, or held where no one can reach them: the Special Rapporteur's urgent appeal applies
# (ohchr.org/EN/Issues/Torture/SRTorture/Pages/Appeals.aspx), not the allegation letter.
IN_CUSTODY = frozenset({"detained"})


def _names(case: CaseRecord, lang: str) -> dict:
    """The victim's names as the document prints them: in English, romanized with the original once."""
    victim = case.victim
    out = {}
    for key in ("family_name", "first_names", "patronymic"):
        value = getattr(victim, key)
        latin = romanize(value) if value and lang == "en" else value
        out[key] = f"{latin} ({value})" if value and latin != value else value
    return out


def _srt_context(ctx: dict, case: CaseRecord) -> None:
    victim, detention = case.victim, case.detention
    held = detention.current_status in IN_CUSTODY or victim.status in ("disappeared", "incommunicado")
    ctx["urgent_candidate"] = bool(held and not victim.deceased)
    ctx["urgent"] = bool(ctx["urgent_candidate"] and detention.present_risk)
    ctx["urgent_intro"] = tr(MAPPINGS[SRT]["titles"]["urgent_intro"], ctx["lang"])
    ctx["allegation"] = not ctx["urgent"]
    # Printed only on a yes: not answered is treated as no, as the bundle's anonymity check treats it.
    transmissible = victim.consent_transmit_name_to_government is True
    ctx["name_transmissible"] = transmissible
    ctx["name_withheld"] = None if transmissible else tr(MAPPINGS[SRT]["titles"]["name_withheld"], ctx["lang"])
    ctx["form_kind"] = tr(MAPPINGS[SRT]["titles"]["urgent" if ctx["urgent"] else "allegation"], ctx["lang"])


def _context(exporter: str, case: CaseRecord, items: list[ExportItem], options: ExportOptions) -> dict:
    ctx = base_context(case, items, options)
    lang = options.language
    ctx["deceased"] = True if case.victim.deceased else None
    ctx.update({f"victim_{k}": v for k, v in _names(case, lang).items()})
    ctx["applicant_name"] = latin_name(case.applicant.full_name, lang)
    ctx["authorisation_given_by"] = latin_name(case.authorisation.given_by, lang)
    if exporter == SRT:
        _srt_context(ctx, case)
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
        # Rule 99 (b): a victim who cannot act (dead, disappeared, incommunicado) may be represented
        # without authorisation, if the complaint explains why.
        ctx["needs_authorisation"] = ctx["represented"] and not case.victim.cannot_authorise
        ctx["explain_no_authorisation"] = (ctx["represented"] and case.victim.cannot_authorise
                                           and case.authorisation.given is not True)
        ctx["no_authorisation_statement"] = (admissibility.no_authorisation_statement(titles, case, lang)
                                             if ctx["represented"] else None)
        ctx["anonymity_request"] = tr(titles["anonymity"], lang) if case.victim.request_anonymity else None
        ctx["final_decision_date"] = admissibility.final_decision(case)
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
                note="Only for states that made the article 22 declaration; Kyrgyzstan has not (refused).",
                translations={
                    "ru": {"label": "Вместо этого — Комитет против пыток (статья 22 КПП)",
                           "note": "Только для государств, сделавших заявление по статье 22; "
                                   "Кыргызстан его не сделал."},
                    "ky": {"label": "Анын ордуна — Кыйноолорго каршы комитет (КККнын 22-беренеси)",
                           "note": "22-берене боюнча билдирүү жасаган мамлекеттер үчүн гана; "
                                   "Кыргызстан аны жасаган эмес."},
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
    mapping = MAPPINGS[exporter]
    found = _variant_problems(exporter, case, options) + check_requirements(mapping["requirements"], case, ctx)
    if exporter == HRC:
        found += admissibility.problems(mapping["admissibility"], case, options)
    return found + untranslated_text(mapping["sections"], case, ctx, options.language)


def _title(exporter: str, options: ExportOptions, ctx: dict) -> tuple[str, str]:
    lang = options.language
    if exporter == SRT:
        return ctx["form_kind"], tr(MAPPINGS[SRT]["titles"]["subtitle"], lang)
    titles = MAPPINGS[HRC]["titles"]
    key = "cat22" if options.variant == "cat22" else "hrc"
    return tr(titles[key], lang), tr(titles[f"{key}_sub"], lang)


def _signer(case: CaseRecord, lang: str) -> str | None:
    name = case.applicant.full_name or case.victim.full_name
    return romanize(name) if name and lang == "en" else name


@hookimpl
def vault_export(exporter: str, case: CaseRecord, items: list[ExportItem],
                 options: ExportOptions) -> Rendered | None:
    if exporter not in MAPPINGS:
        return None
    lang = options.language if options.language in LANGUAGES else "en"
    ctx = _context(exporter, case, items, options)
    mapping = MAPPINGS[exporter]
    title, subtitle = _title(exporter, options, ctx)
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
                               name=_signer(case, lang),
                               values={word("date", lang): ctx["document_date"]}))
    note(doc, tr(mapping["form"]["doc_note"], lang))
    if lang == "en":
        note(doc, f"Names are written in Latin letters following the {ROMANIZATION}; "
                  "the original spelling follows in brackets.")
    stem = "UN-SRT" if exporter == SRT else ("UN-CAT" if options.variant == "cat22" else "UN-HRC")
    return render(doc, safe_filename(f"{stem}-{case.reference or options.date.isoformat()}-{lang}"))
