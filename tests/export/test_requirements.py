"""Per recipient, the checklist of what it requires, each row citing the rule and where it was read.

For every row: the golden case (tests/export/export_samples.py) satisfies it —
rendered, the PDF and DOCX text read back hold what the row says must be
there (and not what must not) — and, where the requirement is a check,
breaking the record makes ``validate`` name the field with a message that
cites the rule. The same table is in docs/exports.md; the last test keeps the
two in step.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.export.export_samples import ENABLED, full_case, options, sample_items
from tests.export.test_exporters import docx_text, flat, pdf_text
from vault import crypto, plugins
from vault.domain.caserecord import parse_case

OP = "Optional Protocol to the ICCPR"
R99 = "HRC rules of procedure (CCPR/C/3/Rev.12)"
FORM = "OHCHR model complaint form"
SR = "ohchr.org, Special Rapporteur on torture: urgent appeals, allegation letters, model questionnaire"
OMCT = "OMCT published urgent appeals (no submission form)"
FAQ = "ombudsman.kg/en/faq; constitutional law on the Akyikatchy (2025, text not found)"
L67 = "Law No. 67 of 4 May 2007 (mfa.gov.kg)"
UNTC = "UN Treaty Collection, ch. IV.9 (checked 2026-12-02)"
ITEM5 = "issue #12, item 5 (English documents)"


def _set(path: str, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is _DROP:
            node.pop(last, None)
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


_DROP = object()


def _all(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for one in changes:
            one(data)
    return change


@dataclass(frozen=True)
class Row:
    exporter: str
    lang: str
    requirement: str
    rule: str  # the rule as the message cites it (a substring of the English message)
    source: str
    shows: tuple[str, ...]  # in the golden case's PDF and DOCX
    path: str | None = None  # what validate names when the record is broken (None: content only)
    breaks: Callable[[dict], None] | None = None
    severity: str = "missing"
    given: Callable[[dict], None] | None = None  # the golden case, changed for this row
    absent: tuple[str, ...] = ()
    variant: str | None = None
    key: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        return f"{self.exporter}-{self.key}"


DEAD = _all(_set("victim.deceased", True), _set("applicant.relationship_to_victim", "family"),
            _set("authorisation", {"no_authorisation_reason": "Пострадавший умер под стражей; жалобу подаёт мать."}))
RELEASED = _all(_set("detention.current_status", "released"), _set("detention.present_risk", _DROP),
                _set("detention.current_whereabouts", _DROP))
NO_NAME_TO_GOVERNMENT = _set("victim.consent_transmit_name_to_government", False)

ROWS = [
    # UN Human Rights Committee (Optional Protocol to the ICCPR)
    Row("un-hrc", "en", "The author's identity", "OHCHR model complaint form", FORM,
        ("Ömürbekov (Өмүрбеков)", "4 May 2001"), "victim.family_name", _set("victim.family_name", _DROP), key="author"),
    Row("un-hrc", "en", "The victim's consent to the complaint", "rule 99 (b)", R99,
        ("The victim (or the family) agrees to this communication Yes",), "victim.consent_to_submit",
        _set("victim.consent_to_submit", False), key="consent"),
    Row("un-hrc", "en", "Written authorisation when someone acts for a victim who can give it", "rule 99 (b)", R99,
        ("Written authorisation given Yes",), "authorisation.given", _set("authorisation.given", False),
        key="authorisation"),
    Row("un-hrc", "en", "No authorisation for a dead, disappeared or incommunicado victim: the reason printed",
        "rule 99 (b)", R99, ("Why we act without authorisation", "Пострадавший умер под стражей",
                             "without the victim's authorisation because the victim cannot give it: deceased"),
        "authorisation.no_authorisation_reason", _set("authorisation.no_authorisation_reason", _DROP),
        given=DEAD, key="no-authorisation"),
    Row("un-hrc", "en", "Exhaustion: the court appeal after the prosecutor's refusal", "art. 5(2)(b)", OP,
        ("Prosecutor's refusal to open a criminal case", "Court appeal against the refusal (investigating judge)"),
        "domestic_remedies", lambda d: d.update(domestic_remedies=d["domestic_remedies"][:2]), key="exhaustion"),
    Row("un-hrc", "en", "Exhaustion: one entry is not enough", "art. 5(2)(b)", OP,
        ("Appeal to the higher court", "Постановление оставлено без изменения"), "domestic_remedies",
        lambda d: d.update(domestic_remedies=[{"body": "Прокуратура", "date": "2025-03-18"}]), key="one-entry"),
    Row("un-hrc", "en", "The same matter not under another international procedure", "art. 5(2)(a)", OP,
        ("The same matter has not been submitted to another procedure",), "other_procedures[0].date_concluded",
        _all(_set("other_procedures_none", None), _set("other_procedures", [{"body": "UN WGAD", "date": "2025-10-01"}])),
        key="same-matter"),
    Row("un-hrc", "en", "Within 5 years of the final domestic decision (computed; a missing date is named)",
        "rule 99 (c)", R99, ("Date of the final domestic decision", "10 September 2025"), "final_decision_date",
        _set("final_decision_date", "2019-06-01"), "warning", key="five-years"),
    Row("un-hrc", "en", "Within 3 years of the end of another international procedure", "rule 99 (c)", R99,
        ("Concluded on", "1 February 2024"), "other_procedures[0].date_concluded",
        _set("other_procedures.0.date_concluded", "2021-01-01"), "warning",
        given=_all(_set("other_procedures_none", None), _set("other_procedures", [
            {"body": "UN WGAD", "date": "2023-05-01", "date_concluded": "2024-02-01"}])), key="three-years"),
    Row("un-hrc", "en", "Arrest, detention, current whereabouts and medical evidence in the document", FORM, FORM,
        ("Date of arrest", "Places of detention", "Current whereabouts (place of detention) СИЗО-1, г. Бишкек",
         "Medical evidence", "Кровоподтёки обеих стоп давностью 3–5 суток", "highly consistent with"), key="content"),
    Row("un-hrc", "en", "The request to keep the identity out of the published decision, if asked", FORM, FORM,
        ("Request to keep the author's identity confidential", "not to disclose his or her name"),
        given=_set("victim.request_anonymity", True), key="anonymity"),
    Row("un-hrc", "en", "CAT art. 22 only against a state that made the declaration (Kyrgyzstan has not)",
        "no declaration under article 22", UNTC, ("Complaint to the Committee against Torture",), "options.variant",
        _set("state", "KGZ"), given=_set("state", "KAZ"), variant="cat22", key="cat22"),
    # UN Special Rapporteur on torture
    Row("un-srt", "en", "Consent of the victim or the family", "Special Procedures", SR,
        ("The victim (or family) consents to this communication Yes",), "victim.consent_to_submit",
        _set("victim.consent_to_submit", False), key="consent"),
    Row("un-srt", "en", "Whether the name may go to the government (answered)", "Special Procedures", SR,
        ("The name may be transmitted to the government Yes",), "victim.consent_transmit_name_to_government",
        _set("victim.consent_transmit_name_to_government", _DROP), key="transmit"),
    Row("un-srt", "en", "In custody and at risk: the urgent-appeal form", "urgent appeals and allegation letters", SR,
        ("Urgent appeal to the Special Rapporteur on torture", "Why urgent action is needed"), "detention.present_risk",
        _set("detention.present_risk", _DROP), "warning", key="urgent"),
    Row("un-srt", "en", "Otherwise the allegation-letter form", "urgent appeals and allegation letters", SR,
        ("(allegation letter)",), given=RELEASED, absent=("Why urgent action is needed",), key="allegation"),
    Row("un-srt", "en", "Name and identity document not printed when their transmission is refused",
        "Special Procedures", SR, ("Withheld from this document", "N.Ö."), "victim.consent_transmit_name_to_government",
        NO_NAME_TO_GOVERNMENT, "warning", given=NO_NAME_TO_GOVERNMENT,
        absent=("Family name", "Tölönbekovich", "ID 2345678", "Жаңы-Жер көчөсү, 12"), key="withheld"),
    Row("un-srt", "en", "Methods of each act of torture", "model questionnaire", SR,
        ("Beating; Asphyxiation (bag, gas mask, water)",), "acts[0].methods", _set("acts.0.methods", []), key="methods"),
    # OMCT
    Row("omct", "en", "Consent of the victim or the family", "consent of the victim or the family", OMCT,
        ("The victim (or the family) consents to this submission Yes",), "victim.consent_to_submit",
        _set("victim.consent_to_submit", False), key="consent"),
    Row("omct", "en", "A pseudonym when the name may not be published", "SOS-Torture Network", OMCT,
        ("N.Ö. (pseudonym: the victim has not consented",), "victim.pseudonym", _set("victim.pseudonym", _DROP),
        given=_set("victim.consent_publish_name", False), absent=("Ömürbekov Nursultan",), key="pseudonym"),
    Row("omct", "en", "The concern cites the treaty articles (ICCPR art. 7; CAT arts. 1, 2, 12, 13, 14)", OMCT, OMCT,
        ("article 7 of the International Covenant on Civil and Political Rights", "(CAT art. 2)", "(art. 12)",
         "(art. 13)", "(art. 14)", "article 1 of the Convention"), key="concern"),
    Row("omct", "en", "Requested actions and the authorities to write to (addresses to be checked)",
        "SOS-Torture Network", OMCT, ("Please write to the authorities of Kyrgyzstan asking them to:",
                                      "The Prosecutor General of the Kyrgyz Republic", "address to be checked",
                                      "Permanent Mission of the Kyrgyz Republic"),
        "requests.omct_actions", _set("requests.omct_actions", []), key="actions"),
    Row("omct", "en", "Vocabulary values in English; free text left in Russian or Kyrgyz flagged", "Russian or Kyrgyz",
        ITEM5, ("Police (Ministry of Internal Affairs)", "Still detained", "Beating; Asphyxiation"),
        "victim.occupation", _set("victim.occupation", "студент"), "warning", key="translated"),
    Row("omct", "en", "One named transliteration standard for names", "BGN/PCGN 1979", ITEM5,
        ("Ömürbekov Nursultan Tölönbekovich (Өмүрбеков Нурсултан Төлөнбекович)", "BGN/PCGN 1979 romanization of Kyrgyz",
         "integrity of Mr Ömürbekov"), "requests.omct_actions[0]",
        _set("requests.omct_actions.0", "guarantee the integrity of Mr Omurbekov"), "warning", key="romanization"),
    # Akyikatchy (Ombudsperson)
    Row("ombudsman", "ru", "The constitutional law in force named; its text could not be checked, and the letter says so",
        "Law No. 67", L67, ("«Об Акыйкатчы (Омбудсмене) Кыргызской Республики»", "проверить не удалось"),
        "applicant.address", _set("applicant.address", _DROP), absent=("(2007 г., № 67)",), key="law"),
    Row("ombudsman", "ru", "Within a year of learning of the violation, at most two", "questions and answers", FAQ,
        ("Дата, когда стало известно о нарушении 13 марта 2025 г.",), "violation_known_date",
        _set("violation_known_date", "2023-09-01"), key="time"),
    Row("ombudsman", "ru", "Against a state or local body or official", "questions and answers", FAQ,
        ("Жалоба на действия государственного органа или должностного лица Да",), "against_state_body",
        _set("against_state_body", False), key="state-actor"),
    Row("ombudsman", "ru", "Not a matter pending in court", "questions and answers", FAQ,
        ("Вопрос рассматривается судом Нет",), "pending_in_court", _set("pending_in_court", True), key="court"),
    Row("ombudsman", "ru", "A third party files only with the victim's consent", "questions and answers", FAQ,
        ("Согласие пострадавшего на жалобу Да",), "victim.consent_to_submit", _set("victim.consent_to_submit", False),
        key="consent"),
    Row("ombudsman", "ru", "The request asks for what the Akyikatchy can do, not for punishment", FAQ, FAQ,
        ("Прошу принять настоящую жалобу к рассмотрению", "представление о мерах по устранению выявленных нарушений",
         "обратиться в органы прокуратуры или в суд"), absent=("привлечения виновных к ответственности",),
        key="request"),
    Row("ombudsman", "ky", "The medical examination in the letter", FAQ, FAQ,
        ("Медициналык текшерүү", "Кровоподтёки обеих стоп давностью 3–5 суток", "жогорку даражада дал келет"),
        key="medical"),
]
assert len({r.id for r in ROWS}) == len(ROWS)


def _case(row: Row, broken: bool = False) -> dict:
    data = full_case()
    if row.given:
        row.given(data)
    if broken:
        row.breaks(data)
    return data


@functools.cache
def _items():
    return sample_items(crypto.UserKeys.generate())


@functools.cache
def _texts(row_id: str) -> dict[str, str]:
    row = next(r for r in ROWS if r.id == row_id)
    pm = plugins.make_plugin_manager()
    rendered = plugins.export(pm, ENABLED, row.exporter, parse_case(_case(row)), _items(),
                              options(row.lang, row.variant))
    return {"pdf": flat(pdf_text(rendered.pdf)), "docx": flat(docx_text(rendered.docx))}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_golden_case_meets_the_requirement_in_pdf_and_docx(pm, row):
    problems = plugins.validate(pm, ENABLED, row.exporter, parse_case(_case(row)), _items(),
                                options(row.lang, row.variant))
    assert not [p for p in problems if p.severity == "missing"], [p.path for p in problems]
    for kind, text in _texts(row.id).items():
        for value in row.shows:
            assert flat(value) in text, f"{kind}: {value!r} missing"
        for value in row.absent:
            assert flat(value) not in text, f"{kind}: {value!r} must not be printed"


@pytest.mark.parametrize("row", [r for r in ROWS if r.breaks], ids=lambda r: r.id)
def test_breaking_the_record_fails_with_the_rule_cited(pm, row):
    problems = plugins.validate(pm, ENABLED, row.exporter, parse_case(_case(row, broken=True)), _items(),
                                options(row.lang, row.variant))
    found = [p for p in problems if p.path == row.path and p.severity == row.severity]
    assert found, [(p.path, p.severity) for p in problems]
    assert any(row.rule in p.message for p in found), [p.message for p in found]
    for p in found:
        assert p.text("ru") != p.message and p.text("ky") != p.message  # said in the user's language too


def table_lines() -> list[str]:
    """The checklist as docs/exports.md prints it."""
    lines = []
    for row in ROWS:
        check = f"`{row.path}` ({row.severity})" if row.breaks else "content"
        lines.append(f"| `{row.exporter}` | {row.requirement} | {row.rule} | {row.source} | {check} |")
    return lines


def test_the_checklist_is_in_docs_exports_md():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "exports.md").read_text(encoding="utf-8")
    missing = [line for line in table_lines() if line not in docs]
    assert not missing, "\n".join(missing)


def test_every_mapping_rule_cites_its_rule_and_source():
    root = Path(__file__).resolve().parents[2] / "plugins"
    for name in ("vault_plugin_omct/mapping.json", "vault_plugin_un/hrc.json", "vault_plugin_un/srt.json",
                 "vault_plugin_ombudsman/mapping.json"):
        mapping = json.loads((root / name).read_text(encoding="utf-8"))
        for rule in mapping["requirements"]:
            assert rule.get("cite") and rule.get("source"), (name, rule.get("field"))
            assert {"en", "ru", "ky"} <= set(rule["cite"]), (name, rule.get("field"))
