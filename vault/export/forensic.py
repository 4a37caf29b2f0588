"""The medic's forensic report (ForensicReport) as a document a recipient can read, in en, ru or ky.

The sealed JSON stays the source and the vault's record; what a bundle
carries for people is this rendering, in the export's language
(recipient_copy, called by vault/export/bundle.py).

The structure is the Istanbul Protocol's guidelines for the medical
evaluation of torture and ill-treatment (Manual on the Effective
Investigation and Documentation of Torture..., OHCHR Professional Training
Series No. 8/Rev.2, 2022 edition, annex IV): case information, the
clinician's qualifications, the statement on the veracity of the testimony,
background, allegations, physical symptoms, the physical examination by
region, the psychological evaluation, photographs and diagrams, diagnostic
tests, consultations, the interpretation of each finding, conclusions and
recommendations, restrictions, signature. To the case information it adds
the conditions of the examination the Istanbul Principles set (annex I,
principle 6(a): in private, under the clinician's control, without security
agents or other officials present), each answer printed, "not stated" included.

Each finding carries the Protocol's degree of consistency with the alleged
method; the five terms and their meaning are those of chapter V of the 2022
edition (the list (a)-(e) closing para. 418, just before para. 419, as
reproduced in the NHRC Thailand compilation of the Istanbul Protocol,
lms.nhrc.or.th/Document/ebook/E05830/files/basic-html/page138.html, read
2026-12). The paraphrases below are printed under the findings so that a
reader who does not know the scale reads it as the clinician meant it.
"""

from __future__ import annotations

from vault import jsonlimits
from vault.domain import vocab
from vault.domain.caserecord import RECORD_MAX, ForensicReport
from vault.domain.exports import ExportItem
from vault.export.document import (
    Document,
    Fields,
    SignatureBlock,
    Table,
    format_date,
    word,
    yes_no,
)
from vault.export.render_docx import render_docx
from vault.export.render_pdf import render_pdf

# label key -> (en, ru, ky)
_L: dict[str, tuple[str, str, str]] = {
    "title": ("Medical evaluation of alleged torture and ill-treatment",
              "Медицинское освидетельствование по заявлению о пытках и жестоком обращении",
              "Кыйноо жана ырайымсыз мамиле тууралуу арыз боюнча медициналык күбөлөндүрүү"),
    "subtitle": ("Istanbul Protocol (2022 edition), annex IV: guidelines for the medical evaluation",
                 "Стамбульский протокол (редакция 2022 г.), приложение IV: руководство по медицинской оценке",
                 "Стамбул протоколу (2022-жылкы басылышы), IV тиркеме: медициналык баалоо боюнча көрсөтмөлөр"),
    "header": ("Confidential — medical", "Конфиденциально — медицинские сведения",
               "Купуя — медициналык маалымат"),
    "copy_note": ("A readable copy of the forensic report sealed in the evidence vault; the sealed, signed "
                  "report is the original.",
                  "Копия для чтения судебно-медицинского заключения, запечатанного в хранилище доказательств; "
                  "оригинал — запечатанное подписанное заключение.",
                  "Далилдер сактагычында мөөрлөнгөн соттук-медициналык корутундунун окуу үчүн көчүрмөсү; "
                  "түп нускасы — мөөрлөнгөн, кол коюлган корутунду."),
    # I. Case information and the conditions of the examination
    "case": ("Case information", "Сведения о деле", "Иш боюнча маалымат"),
    "exam_date": ("Date of examination", "Дата обследования", "Текшерүү күнү"),
    "exam_place": ("Place of examination", "Место обследования", "Текшерүү жүргүзүлгөн жер"),
    "duration": ("Duration of the evaluation", "Продолжительность", "Узактыгы"),
    "minutes": ("{n} min", "{n} мин", "{n} мүн."),
    "requested_by": ("Requested by", "Кем запрошено", "Ким тарабынан суралган"),
    "interpreter": ("Interpreter", "Переводчик", "Котормочу"),
    "consent": ("Informed consent to the examination", "Информированное согласие на освидетельствование",
                "Текшерүүгө маалымдалган макулдук"),
    "conditions": ("Conditions of the examination", "Условия освидетельствования", "Текшерүүнүн шарттары"),
    "persons_present": ("Persons present during the examination", "Лица, присутствовавшие при обследовании",
                        "Текшерүү учурунда катышкан адамдар"),
    "officials_present": ("Police, guards or other officials present",
                          "Присутствовали сотрудники полиции, охраны или иные должностные лица",
                          "Милиция, күзөт же башка кызмат адамдары катышкан"),
    "restraints_used": ("Restraints used during the examination",
                        "Применялись средства ограничения (наручники и т. п.)",
                        "Текшерүү учурунда кишен сыяктуу чектөө каражаттары колдонулган"),
    "restraints": ("Restraints and custody conditions", "Средства ограничения и условия содержания",
                   "Чектөө каражаттары жана кармоо шарттары"),
    "independent": ("Clinician independent of the detaining and investigating authorities",
                    "Врач независим от органов, содержащих под стражей и ведущих расследование",
                    "Дарыгер кармап турган жана иликтөө жүргүзгөн органдардан көз карандысыз"),
    "independence_details": ("Clinician's employer and links to those authorities",
                             "Место работы врача и его связь с этими органами",
                             "Дарыгердин иш орду жана ал органдар менен байланышы"),
    # II-III
    "clinician": ("Clinician's qualifications", "Квалификация врача", "Дарыгердин квалификациясы"),
    "clinician_name": ("Clinician", "Врач", "Дарыгер"),
    "qualifications": ("Qualifications", "Квалификация", "Квалификациясы"),
    "veracity": ("Statement regarding the veracity of the testimony", "Заявление о достоверности показаний",
                 "Көрсөтмөлөрдүн чындыгы жөнүндө билдирүү"),
    # IV-VI
    "background": ("Background information", "Общие сведения", "Жалпы маалымат"),
    "allegations": ("Allegations of torture and ill-treatment", "Заявления о пытках и жестоком обращении",
                    "Кыйноо жана ырайымсыз мамиле тууралуу арыздар"),
    "own_words": ("In the person's own words.", "Со слов освидетельствуемого.", "Текшерилген адамдын өз сөзү менен."),
    "symptoms": ("Physical symptoms and disabilities", "Физические симптомы и нарушения",
                 "Физикалык белгилер жана бузулуулар"),
    # VII-XI
    "physical_exam": ("Physical examination", "Физикальный осмотр", "Физикалык текшерүү"),
    "no_exam": ("No region examined was described.", "Описание осмотра по областям тела не представлено.",
                "Дененин аймактары боюнча текшерүүнүн сүрөттөлүшү берилген жок."),
    "psych": ("Psychological history and examination", "Психологический анамнез и обследование",
              "Психологиялык анамнез жана текшерүү"),
    "psych_history": ("Psychological history", "Психологический анамнез", "Психологиялык анамнез"),
    "psych_exam": ("Psychological examination", "Психологическое обследование", "Психологиялык текшерүү"),
    "photos": ("Photographs and body diagrams", "Фотографии и схемы тела", "Сүрөттөр жана дене схемалары"),
    "photo_items": ("Photographs", "Фотографии", "Сүрөттөр"),
    "diagram_items": ("Body diagrams", "Схемы тела", "Дене схемалары"),
    "items": ("{n}, sealed as their own evidence items: {ids}", "{n}, запечатаны как отдельные материалы: {ids}",
              "{n}, өзүнчө далил катары мөөрлөнгөн: {ids}"),
    "no_photos": ("None attached to the report.", "К заключению не приложены.", "Корутундуга тиркелген жок."),
    "tests": ("Diagnostic test results", "Результаты диагностических исследований",
              "Диагностикалык изилдөөлөрдүн жыйынтыктары"),
    "consultations": ("Consultations", "Консультации", "Консультациялар"),
    # XII. Interpretation
    "interpretation": ("Interpretation of findings", "Интерпретация результатов", "Табылгаларды чечмелөө"),
    "col_no": ("No.", "№", "№"),
    "col_region": ("Body region", "Область тела", "Дене бөлүгү"),
    "col_finding": ("Finding", "Описание повреждения", "Жаракаттын сүрөттөлүшү"),
    "col_method": ("Alleged method", "Предполагаемый метод", "Болжолдонгон ыкма"),
    "col_consistency": ("Degree of consistency", "Степень соответствия", "Дал келүү даражасы"),
    "no_findings": ("No findings were recorded.", "Повреждения не зафиксированы.", "Жаракаттар катталган жок."),
    "finding_reasoning": ("Finding {n}: reasoning", "Повреждение {n}: обоснование", "{n}-жаракат: негиздеме"),
    "finding_unattributable": ("Finding {n}: why no degree can be given",
                               "Повреждение {n}: почему степень не может быть указана",
                               "{n}-жаракат: эмне үчүн даража көрсөтүлбөйт"),
    "overall_consistency": ("Overall degree of consistency (all findings together)",
                            "Общая степень соответствия (все повреждения в совокупности)",
                            "Жалпы дал келүү даражасы (бардык жаракаттар бирге)"),
    "overall_reasoning": ("Overall reasoning", "Общее обоснование", "Жалпы негиздеме"),
    "scale": ("Degrees of consistency of the Istanbul Protocol (2022 edition, chapter V):",
              "Степени соответствия по Стамбульскому протоколу (редакция 2022 г., глава V):",
              "Стамбул протоколу боюнча дал келүү даражалары (2022-жылкы басылыш, V бөлүм):"),
    # XIII-XVI
    "conclusions": ("Conclusions and recommendations", "Выводы и рекомендации", "Корутундулар жана сунуштар"),
    "conclusions_only": ("Conclusions", "Выводы", "Корутунду"),
    "recommendations": ("Recommendations", "Рекомендации", "Сунуштар"),
    "restrictions": ("Restrictions on the evaluation", "Ограничения при освидетельствовании",
                     "Текшерүүгө коюлган чектөөлөр"),
    "no_restrictions": ("The clinician recorded no restrictions.", "Врач не указал ограничений.",
                        "Дарыгер эч кандай чектөө көрсөткөн эмес."),
    "signature": ("Clinician's signature and date", "Подпись врача и дата", "Дарыгердин колу жана күнү"),
}

# What each degree means (chapter V of the 2022 edition), paraphrased, in the order of the scale.
MEANINGS: dict[str, tuple[str, str, str]] = {
    "not_consistent": (
        "the finding could not have been caused by the alleged torture or ill-treatment",
        "повреждение не могло быть вызвано заявленными пытками или жестоким обращением",
        "жаракат айтылган кыйноодон же ырайымсыз мамиледен пайда болушу мүмкүн эмес"),
    "consistent": (
        "the finding could have been caused by the alleged torture or ill-treatment, but it is non-specific "
        "and there are many other possible causes",
        "повреждение могло быть вызвано заявленными пытками или жестоким обращением, но оно неспецифично "
        "и возможно много других причин",
        "жаракат айтылган кыйноодон же ырайымсыз мамиледен пайда болушу мүмкүн, бирок ал өзгөчө эмес "
        "жана анын башка себептери көп болушу мүмкүн"),
    "highly_consistent": (
        "the finding could have been caused by the alleged torture or ill-treatment, and there are few "
        "other possible causes",
        "повреждение могло быть вызвано заявленными пытками или жестоким обращением, и других возможных "
        "причин немного",
        "жаракат айтылган кыйноодон же ырайымсыз мамиледен пайда болушу мүмкүн жана башка мүмкүн болгон "
        "себептери аз"),
    "typical": (
        "the finding is usually found with this type of alleged torture or ill-treatment, but there are "
        "other possible causes",
        "повреждение обычно наблюдается при таком виде заявленных пыток или жестокого обращения, но "
        "возможны и другие причины",
        "мындай жаракат адатта айтылган кыйноонун же ырайымсыз мамиленин ушул түрүндө кездешет, бирок "
        "башка себептер да болушу мүмкүн"),
    "diagnostic": (
        "the finding could not have been caused in any way other than that described",
        "повреждение не могло возникнуть иначе, чем описанным способом",
        "жаракат сүрөттөлгөн жолдон башкача пайда болушу мүмкүн эмес"),
}
_LANGS = ("en", "ru", "ky")


def text(key: str, lang: str, **values: object) -> str:
    """A label of the forensic document in ``lang`` (en, ru, ky; English otherwise)."""
    entry = _L[key]
    return entry[_LANGS.index(lang) if lang in _LANGS else 0].format(**values)


def meaning(code: str, lang: str) -> str:
    entry = MEANINGS[code]
    return entry[_LANGS.index(lang) if lang in _LANGS else 0]


def _answer(value: bool | None, lang: str) -> str:
    return word("not_stated", lang) if value is None else yes_no(value, lang)


def _or_none(value: str | None, lang: str) -> str:
    return value or word("not_stated", lang)


class _Sections:
    """Numbered level-1 headings, as annex IV numbers its parts."""

    def __init__(self, doc: Document):
        self.doc, self.n = doc, 0

    def __call__(self, key: str) -> None:
        self.n += 1
        self.doc.heading(f"{self.n}. {text(key, self.doc.language)}")


def _free_text(doc: Document, value: str | None) -> None:
    doc.para(value or word("no_information", doc.language), align="justify" if value else "left")


def _case_information(doc: Document, report: ForensicReport, lang: str) -> None:
    duration = report.exam_duration_minutes
    doc.fields([
        (text("exam_date", lang), format_date(report.exam_date, lang)),
        (text("exam_place", lang), report.exam_place),
        (text("duration", lang), text("minutes", lang, n=duration) if duration else ""),
        (text("requested_by", lang), report.requested_by or ""),
        (text("interpreter", lang), report.interpreter or ""),
        (text("consent", lang), yes_no(report.informed_consent, lang)),
    ])
    doc.heading(text("conditions", lang), level=2)
    # Every condition is printed, "not stated" included: its absence is itself something a reader weighs.
    rows = [
        (text("persons_present", lang), _or_none(report.persons_present, lang)),
        (text("officials_present", lang), _answer(report.officials_present, lang)),
        (text("restraints_used", lang), _answer(report.restraints_used, lang)),
    ]
    if report.restraints:
        rows.append((text("restraints", lang), report.restraints))
    rows.append((text("independent", lang), _answer(report.clinician_independent, lang)))
    if report.independence_details:
        rows.append((text("independence_details", lang), report.independence_details))
    doc.add(Fields(rows))


def _findings(doc: Document, report: ForensicReport, lang: str) -> None:
    if not report.findings:
        doc.para(word("no_information", lang) if report.overall_consistency is None else text("no_findings", lang))
    else:
        header = [text(k, lang) for k in ("col_no", "col_region", "col_finding", "col_method", "col_consistency")]
        rows = []
        for n, f in enumerate(report.findings, start=1):
            rows.append([
                str(n),
                vocab.label("BODY_REGIONS", f.body_region, lang) if f.body_region else word("not_stated", lang),
                f.lesion,
                vocab.label("METHODS", f.alleged_method, lang) if f.alleged_method else word("not_stated", lang),
                vocab.label("CONSISTENCY", f.consistency, lang) if f.consistency else word("not_stated", lang),
            ])
        doc.add(Table(header, rows, widths=[0.6, 2.8, 4.2, 2.5, 2.5]))
        notes = []
        for n, f in enumerate(report.findings, start=1):
            if f.reasoning:
                notes.append((text("finding_reasoning", lang, n=n), f.reasoning))
            if f.attribution_not_possible:
                notes.append((text("finding_unattributable", lang, n=n), f.attribution_not_possible))
        doc.fields(notes)
    overall = report.overall_consistency
    doc.fields([
        (text("overall_consistency", lang), vocab.label("CONSISTENCY", overall, lang) if overall else ""),
        (text("overall_reasoning", lang), report.overall_reasoning or ""),
    ])
    used = {f.consistency for f in report.findings} | {overall}
    lines = [f"«{vocab.label('CONSISTENCY', code, lang)}»: {meaning(code, lang)}."
             for code in vocab.CONSISTENCY if code in used]
    if lines:
        doc.para(text("scale", lang) + "\n" + "\n".join(lines), small=True)


def forensic_document(report: ForensicReport, lang: str) -> Document:
    """The report as a Document in ``lang``, in the order of the Istanbul Protocol's annex IV."""
    doc = Document(title=text("title", lang), subtitle=text("subtitle", lang), language=lang,
                   footer=f"{text('title', lang)} — {format_date(report.exam_date, lang)}",
                   header_note=text("header", lang), author="")
    doc.add_title()
    doc.para(text("copy_note", lang), small=True)
    section = _Sections(doc)
    section("case")
    _case_information(doc, report, lang)
    section("clinician")
    doc.fields([(text("clinician_name", lang), report.clinician_name),
                (text("qualifications", lang), report.clinician_qualifications)])
    section("veracity")
    _free_text(doc, report.truthfulness_statement)
    section("background")
    _free_text(doc, report.background)
    section("allegations")
    if report.allegations:
        doc.para(text("own_words", lang), small=True)
    _free_text(doc, report.allegations)
    section("symptoms")
    _free_text(doc, report.physical_symptoms)
    section("physical_exam")
    regions = [(vocab.label("BODY_REGIONS", code, lang), report.physical_exam[code])
               for code in vocab.BODY_REGIONS if code in report.physical_exam]
    if regions:
        doc.add(Fields(regions))
    else:
        doc.para(text("no_exam", lang))
    section("psych")
    doc.add(Fields([(text("psych_history", lang), _or_none(report.psychological_history, lang)),
                    (text("psych_exam", lang), _or_none(report.psychological_exam, lang))]))
    section("photos")
    rows = [(text(key, lang), text("items", lang, n=len(ids), ids=", ".join(ids)))
            for key, ids in (("photo_items", report.photo_items), ("diagram_items", report.diagram_items)) if ids]
    if rows:
        doc.add(Fields(rows))
    else:
        doc.para(text("no_photos", lang))
    section("tests")
    _free_text(doc, report.diagnostic_tests)
    section("consultations")
    _free_text(doc, report.consultations)
    section("interpretation")
    _findings(doc, report, lang)
    section("conclusions")
    doc.add(Fields([(text("conclusions_only", lang), _or_none(report.conclusions, lang)),
                    (text("recommendations", lang), _or_none(report.recommendations, lang))]))
    section("restrictions")
    doc.para(report.restrictions or text("no_restrictions", lang))
    section("signature")
    date_label = word("date", lang)
    doc.add(SignatureBlock(
        [date_label, word("signature", lang)], name=report.signed_by or report.clinician_name,
        values={date_label: format_date(report.signature_date, lang)} if report.signature_date else {}))
    return doc


FORENSIC_MEDIA = "application/vnd.vault.forensic-report+json"


def read_forensic_report(item: ExportItem) -> ForensicReport | None:
    """The ForensicReport a chosen export item holds, or None if it holds none (or none that parses).

    Read bounded (RECORD_MAX, vault.jsonlimits). The bundle writer checks
    the same bytes against the uploader's signed manifest before anything
    leaves the vault; nothing here logs or quotes them.
    """
    if item.evidence_type != "forensic_report" and item.manifest.get("media_type") != FORENSIC_MEDIA:
        return None
    try:
        with item.open() as src:
            raw = jsonlimits.read(src, max_bytes=RECORD_MAX)
        return ForensicReport.model_validate(jsonlimits.loads(raw, max_bytes=RECORD_MAX))
    except (ValueError, OSError):  # pydantic.ValidationError and the JSON limits are ValueErrors
        return None


def forensic_summary(report: ForensicReport, lang: str) -> list[tuple[str, str]]:
    """Label/value rows summing the report up for another document's medical section (e.g. a letter):
    when and where, by whom, the conditions of the examination, each finding with its region and degree
    of consistency, the overall degree and the conclusions. Empty values are left out."""
    not_stated = word("not_stated", lang)
    rows = [
        (text("exam_date", lang), format_date(report.exam_date, lang)),
        (text("exam_place", lang), report.exam_place),
        (text("clinician_name", lang), f"{report.clinician_name}, {report.clinician_qualifications}"),
        (text("independent", lang), ", ".join(filter(None, (_answer(report.clinician_independent, lang),
                                                             report.independence_details)))),
        (text("officials_present", lang), _answer(report.officials_present, lang)),
        (text("restraints_used", lang), _answer(report.restraints_used, lang)),
    ]
    for n, f in enumerate(report.findings, start=1):
        region = vocab.label("BODY_REGIONS", f.body_region, lang) if f.body_region else not_stated
        degree = vocab.label("CONSISTENCY", f.consistency, lang) if f.consistency else not_stated
        rows.append((f"{text('col_finding', lang)} {n}", f"{region}: {f.lesion} — {degree}"))
    if report.overall_consistency:
        rows.append((text("overall_consistency", lang), vocab.label("CONSISTENCY", report.overall_consistency, lang)))
    rows.append((text("conclusions_only", lang), report.conclusions or ""))
    return [(label, value) for label, value in rows if value]


def recipient_copy(report_json: bytes, lang: str, basename: str) -> list[tuple[str, bytes]]:
    """The sealed report's JSON as [(basename + ".pdf", PDF bytes), (basename + ".docx", DOCX bytes)] in ``lang``.

    The JSON is bounded in size and depth before parsing (vault.jsonlimits).
    Raises jsonlimits.TooLarge or TooDeep, pydantic.ValidationError (a
    ValueError) for bytes that are not a ForensicReport, and
    DocumentTooComplex like any export; callers must not log the messages of
    the validation error, which may quote the report. ``basename`` is used as given: the caller names the
    files (without the person's name).
    """
    report = ForensicReport.model_validate(jsonlimits.loads(report_json, max_bytes=RECORD_MAX))
    doc = forensic_document(report, lang)
    pdf = render_pdf(doc)  # first: the renderer with the work budget refuses before any other work
    return [(f"{basename}.pdf", pdf), (f"{basename}.docx", render_docx(doc))]


