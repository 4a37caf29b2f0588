"""Bundled plugin: complaint to the Akyikatchy (Ombudsperson) of the Kyrgyz Republic.

A formal letter in Russian or Kyrgyz: the addressee and the applicant in the
upper right, the title, the victim, the statement of facts, the violations,
the rights violated, the medical examination, the steps taken, what the
Akyikatchy needs to accept the complaint, the request, the attachments, and a
date and signature line.

It is built on the constitutional law «Об Акыйкатчы (Омбудсмене) Кыргызской
Республики» in force since 3 October 2025, whose number and text could not be
found: the document says so, and the complaint rules follow the Akyikatchy's
own questions and answers (ombudsman.kg/en/faq) — one year from the day the
violation became known, at most two for exceptional circumstances; only
state and local bodies and their officials; not a matter pending in court; a
third party needs the victim's consent. The letter's form follows the Law on
citizens' appeals (4 May 2007 No. 67). The default request asks for what the
Akyikatchy can do (consider, check, make submissions to the body, apply to
the prosecutor or a court), not for punishment.
"""

from __future__ import annotations

from vault.plugin_api import (
    AddressBlock,
    CaseRecord,
    Document,
    Exporter,
    ExportItem,
    ExportOptions,
    Problem,
    Rendered,
    SignatureBlock,
    base_context,
    build_sections,
    check_requirements,
    cite_messages,
    exporter_from_mapping,
    format_date,
    hookimpl,
    load_mapping,
    note,
    render,
    safe_filename,
    tr,
    word,
)

NAME = "ombudsman"
MAPPING = load_mapping(__name__)
LANGUAGES = ("ru", "ky")
# Who the Akyikatchy may be asked about: state and local bodies and their officials
# (ombudsman.kg/en/faq); a private person counts when acting with official consent.
STATE_ACTORS = frozenset({"police", "security_service", "prison_staff", "military", "prosecutor",
                          "other_official", "private_with_consent"})


def _state_actor(case: CaseRecord) -> bool:
    if case.against_state_body is not None:
        return case.against_state_body
    return any(p.type in STATE_ACTORS for act in case.acts for p in act.perpetrators)


def _years_before(day, years: int):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _context(case: CaseRecord, items: list[ExportItem], options: ExportOptions) -> dict:
    ctx = base_context(case, items, options)
    lang = options.language
    role = case.applicant.relationship_to_victim
    ctx["applicant_role"] = tr(MAPPING["roles"][role], lang) if role else None
    rights = MAPPING["rights"]
    ctx["rights"] = [tr(rights[code], lang) for code in case.violations if code in rights]
    ctx["request"] = case.requests.ombudsman_request or tr(MAPPING["letter"]["request"], lang)
    ctx["identity_attached"] = "identity" in ctx["categories"]
    ctx["decisions_attached"] = "domestic_decision" in ctx["categories"]
    ctx["state_actor"] = _state_actor(case)
    ctx["known_date"] = case.violation_known_date
    ctx["consent_row"] = case.victim.consent_to_submit if ctx["represented"] else None
    return ctx


@hookimpl
def vault_exporters() -> list[Exporter]:
    return [exporter_from_mapping(
        MAPPING,
        name=NAME,
        label="Akyikatchy (Ombudsperson) — complaint",
        target_body="Akyikatchy (Ombudsperson) of the Kyrgyz Republic",
        languages=LANGUAGES,
        description="Formal complaint letter in Russian or Kyrgyz.",
        translations={
            "ru": {"label": "Акыйкатчы (Омбудсмен) — жалоба",
                   "target_body": "Акыйкатчы (Омбудсмен) Кыргызской Республики",
                   "description": "Официальная жалоба на русском или кыргызском языке."},
            "ky": {"label": "Акыйкатчы (Омбудсмен) — арыз",
                   "target_body": "Кыргыз Республикасынын Акыйкатчысы (Омбудсмени)",
                   "description": "Орус же кыргыз тилиндеги расмий арыз."},
        },
    )]


def _late(case: CaseRecord, options: ExportOptions) -> list[Problem]:
    """One year from the day the violation became known, at most two (ombudsman.kg/en/faq)."""
    spec = MAPPING["time_limit"]
    known = case.violation_known_date or case.last_violation_date
    if known is None:
        return []
    found = []

    def problem(key: str, path: str, severity: str) -> Problem:
        messages = cite_messages({lang: text.format(date=format_date(known, lang))
                                  for lang, text in spec[key].items()}, spec["cite"])
        return Problem(path, messages["en"], severity=severity, messages=messages)

    if case.violation_known_date is None:
        found.append(problem("unknown", "violation_known_date", "warning"))
    if known < _years_before(options.date, spec["max_years"]):
        found.append(problem("too_late", "violation_known_date", "missing"))
    elif known < _years_before(options.date, spec["years"]):
        found.append(problem("late", "violation_known_date", "warning"))
    return found


@hookimpl
def vault_validate(exporter: str, case: CaseRecord, items: list[ExportItem],
                   options: ExportOptions) -> list[Problem] | None:
    if exporter != NAME:
        return None
    ctx = _context(case, items, options)
    return check_requirements(MAPPING["requirements"], case, ctx) + _late(case, options)


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
    lines = [tr(letter["addressee"], lang), ""]
    for key, value in (("applicant", applicant.full_name), ("address", applicant.address),
                       ("phone", applicant.phone), ("email", applicant.email)):
        if value:
            lines.append(f"{tr(letter[key], lang)}: {value}")
    doc.add(AddressBlock(lines))
    doc.add_title()
    build_sections(doc, MAPPING["sections"], case, ctx, lang)
    note(doc, tr(MAPPING["form"]["doc_note"], lang))
    doc.add(SignatureBlock([word("date", lang), word("signature", lang)], name=applicant.full_name,
                           values={word("date", lang): ctx["document_date"]}))
    stem = "Akyikatchy-zhaloba" if lang == "ru" else "Akyikatchy-aryz"
    return render(doc, safe_filename(f"{stem}-{case.reference or options.date.isoformat()}"))
