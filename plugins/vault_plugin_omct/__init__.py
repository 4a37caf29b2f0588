"""Bundled plugin: OMCT urgent appeal (case submission to the SOS-Torture Network).

The document is in English, in the shape of OMCT's published urgent
interventions: a reference left for OMCT to assign (``KGZ ___/MMYY/___``),
type and date of the violation, the situation "according to the information
received", the concern with the treaty articles it rests on (ICCPR art. 7;
CAT arts. 1, 2, 12, 13, 14), "please write to the authorities asking them
to: i … ii …" and the addresses to write to (marked "to be checked": none
could be verified). What goes in which section is data (mapping.json).

The victim's real name is printed only if the victim consented to its
publication; otherwise the agreed pseudonym is used, because OMCT may
publish the text as it stands. Names are written in Latin letters by one
named standard (``romanize``), the original once in brackets; free text left
in Russian or Kyrgyz, and other spellings of the name, are warned about.
"""

from __future__ import annotations

from vault.plugin_api import (
    ROMANIZATION,
    CaseRecord,
    Document,
    Exporter,
    ExportItem,
    ExportOptions,
    Fields,
    Problem,
    Rendered,
    base_context,
    build_sections,
    check_requirements,
    exporter_from_mapping,
    hookimpl,
    load_mapping,
    note,
    other_spellings,
    render,
    romanize,
    safe_filename,
    tr,
    untranslated_text,
)

NAME = "omct"
MAPPING = load_mapping(__name__)


def _names(case: CaseRecord) -> tuple[str, str]:
    """(name for the text, name with an explanation) under the victim's consent."""
    victim = case.victim
    if victim.consent_publish_name and victim.full_name:
        latin = romanize(victim.full_name)
        return latin, (f"{latin} ({victim.full_name})" if latin != victim.full_name else latin)
    if victim.pseudonym:
        return victim.pseudonym, (f"{victim.pseudonym} (pseudonym: the victim has not consented "
                                  "to publication of the name)")
    return "the victim", "Name withheld"


def _addresses() -> list[str]:
    return [f"{a['to']} — {a['where']} (address to be checked; {a['web']})" for a in MAPPING["addresses"]]


def _context(case: CaseRecord, items: list[ExportItem], options: ExportOptions) -> dict:
    ctx = base_context(case, items, options)
    org = case.source.organisation
    ctx["name_withheld"] = case.victim.consent_publish_name is False
    short_name, ctx["display_name"] = _names(case)
    ctx["source_phrase"] = (org if org and case.source.may_be_named
                            else "a member organisation of the SOS-Torture Network (not to be named)")
    ctx["concern"] = case.requests.concern or (
        f"{org or 'The submitting organisation'} is gravely concerned about the physical and "
        f"psychological integrity of {short_name} and asks OMCT to call on "
        f"the authorities of {ctx['state_name']} to carry out a prompt, thorough, impartial and "
        "effective investigation into these allegations, to bring those responsible to justice and "
        "to provide the victim with adequate reparation."
    )
    ctx["legal_basis"] = tr(MAPPING["legal_basis"], "en").format(state_name=ctx["state_name"])
    ctx["addresses"] = _addresses()
    ctx["reference"] = (f"{case.state} ___/{options.date:%m%y}/___ "
                        "(number and programme to be assigned by OMCT)")
    return ctx


def _spellings(case: CaseRecord) -> list[Problem]:
    victim = case.victim
    names = [romanize(n) for n in (victim.family_name, victim.first_names, victim.patronymic) if n]
    requests = case.requests
    texts = [("facts.en", case.facts.get("en", "")), ("requests.concern", requests.concern or "")]
    texts += [(f"requests.omct_actions[{n}]", a) for n, a in enumerate(requests.omct_actions)]
    return other_spellings(names, texts, ROMANIZATION)


@hookimpl
def vault_exporters() -> list[Exporter]:
    return [exporter_from_mapping(
        MAPPING,
        name=NAME,
        label="OMCT urgent appeal",
        target_body="OMCT (World Organisation Against Torture), SOS-Torture Network",
        languages=("en",),
        description="Case submission in the shape of an OMCT urgent appeal, in English.",
        translations={
            "ru": {"label": "ВОПП (OMCT) — срочное обращение",
                   "target_body": "ВОПП (Всемирная организация против пыток, OMCT), сеть SOS-Torture",
                   "description": "Сообщение о случае в форме срочного обращения OMCT, на английском языке."},
            "ky": {"label": "OMCT — шашылыш кайрылуу",
                   "target_body": "OMCT (Кыйноолорго каршы дүйнөлүк уюм), SOS-Torture тармагы",
                   "description": "OMCTнин шашылыш кайрылуусунун түрүндөгү иш боюнча билдирүү, англис тилинде."},
        },
    )]


@hookimpl
def vault_validate(exporter: str, case: CaseRecord, items: list[ExportItem],
                   options: ExportOptions) -> list[Problem] | None:
    if exporter != NAME:
        return None
    ctx = _context(case, items, options)
    return (check_requirements(MAPPING["requirements"], case, ctx)
            + untranslated_text(MAPPING["sections"], case, ctx, "en") + _spellings(case))


@hookimpl
def vault_export(exporter: str, case: CaseRecord, items: list[ExportItem],
                 options: ExportOptions) -> Rendered | None:
    if exporter != NAME:
        return None
    lang = "en"
    ctx = _context(case, items, options)
    doc = Document(
        title="Case submission for an OMCT urgent appeal",
        subtitle=f"To the International Secretariat of OMCT — SOS-Torture Network — {ctx['state_name']}",
        language=lang,
        footer=f"OMCT case submission — {ctx['document_date']}",
        header_note="Confidential — for OMCT only",
        author=case.source.organisation or "",
    )
    doc.add_title()
    doc.add(Fields([(label, value) for label, value in (
        ("Reference", ctx["reference"]),
        ("Date", ctx["document_date"]),
        ("Submitted by", case.source.organisation or ""),
        ("Type of violation", "; ".join(ctx["violations"])),
        ("Date of violation", ctx["violation_period"]),
        ("Victim", ctx["display_name"]),
        ("Our reference", case.reference or ""),
    ) if value]))
    build_sections(doc, MAPPING["sections"], case, ctx, lang)
    note(doc, tr(MAPPING["form"]["doc_note"], lang))
    note(doc, f"Names are written in Latin letters following the {ROMANIZATION}; the original spelling "
              "follows in brackets where the name is first given.")
    basename = safe_filename(f"OMCT-appeal-{case.reference or options.date.isoformat()}")
    return render(doc, basename)
