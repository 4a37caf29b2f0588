"""Bundled plugin: complaint to the Akyikatchy (Ombudsperson) of the Kyrgyz Republic.

A formal letter in Russian or Kyrgyz: the addressee and the applicant in the
upper right, the title, the victim, the statement of facts, the violations,
the rights violated, the steps taken, the request, the attachments, and a
date and signature line. It follows the general law on citizens' appeals
(No. 67 of 2007); the complaint rules of the constitutional law on the
Akyikatchy in force since October 2025 could not be checked (mapping.json
says so, and validation warns the user, not the recipient).
"""

from __future__ import annotations

import datetime as dt

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
# Under the former Ombudsman law a complaint was expected within one year of
# the violation; unverified under the 2025 law, hence a warning only.
TIME_LIMIT_DAYS = 365


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
    last = case.last_violation_date
    if last is None or (options.date - last) <= dt.timedelta(days=TIME_LIMIT_DAYS):
        return []
    return [Problem(
        "acts", severity="warning",
        message=(f"The last violation was on {format_date(last, 'en')}, more than a year ago. Under the "
                 "former Ombudsman law a complaint was expected within one year; whether the 2025 law "
                 "keeps that limit could not be verified. Explain the delay in the letter."),
        messages={
            "ru": (f"Последнее нарушение произошло {format_date(last, 'ru')}, более года назад. По прежнему "
                   "закону об Омбудсмене жалоба подавалась в течение года; сохранён ли этот срок в законе "
                   "2025 года, проверить не удалось. Объясните в жалобе причину задержки."),
            "ky": (f"Акыркы укук бузуу {format_date(last, 'ky')} болгон, бир жылдан ашык убакыт мурун. "
                   "Омбудсмен жөнүндө мурдагы мыйзам боюнча арыз бир жылдын ичинде берилчү; 2025-жылдагы "
                   "мыйзамда бул мөөнөт сакталганбы, текшерүү мүмкүн болгон жок. Кечиктирүүнүн себебин "
                   "арызда түшүндүрүңүз."),
        },
    )]


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
