"""The forensic report as a document (vault/export/forensic.py): read back from its PDF and DOCX in en, ru, ky.

Checked against the Istanbul Protocol (2022 edition): the parts of annex IV in order, each finding
with its body region, description, alleged method and the Protocol's degree of consistency (chapter V,
the five terms closing para. 418), the conditions of the examination (annex I, principle 6(a); annex
IV's case information), the clinician's qualifications, dates as each language writes them.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile

import docx
import pytest
from pypdf import PdfReader

from vault.domain import vocab
from vault.domain.caserecord import ForensicReport
from vault.export.forensic import forensic_document, meaning, recipient_copy, text
from vault.export.render_docx import render_docx

REPORT = {
    "v": 1, "exam_date": "2025-03-17", "exam_place": "Республиканский центр судебно-медицинской экспертизы, Бишкек",
    "exam_duration_minutes": 90, "requested_by": "Коалиция против пыток (адвокат Айгүл Жээнбекова)",
    "interpreter": "Кыргыз тилинен котормочу Жаңыл Үсөнова", "informed_consent": True,
    "persons_present": "только врач и медсестра", "restraints": "наручники сняты перед осмотром",
    "officials_present": False, "restraints_used": False, "clinician_independent": True,
    "independence_details": "эксперт общественной организации, не связан с МВД и прокуратурой",
    "clinician_name": "Дж. Сулайманова", "clinician_qualifications": "судебно-медицинский эксперт, стаж 12 лет",
    "truthfulness_statement": "Изложенное соответствует моим наблюдениям и убеждениям.",
    "background": "24 года, студент, ранее здоров, травм не было.",
    "allegations": "Били резиновой дубинкой по стопам, несколько раз надевали пакет на голову.",
    "physical_symptoms": "Боли в стопах при ходьбе, головные боли.",
    "physical_exam": {"skin": "Кровоподтёки обеих стоп 4×6 см, сине-багровые",
                      "musculoskeletal": "Болезненность при пальпации подошв",
                      "face": "Ссадина в лобной области 1×2 см"},
    "photo_items": ["item-photo"], "diagram_items": ["item-diagram"],
    "psychological_history": "Нарушения сна, кошмары после задержания.",
    "psychological_exam": "Признаки острой стрессовой реакции.",
    "diagnostic_tests": "Рентгенография стоп: переломов нет.", "consultations": "Осмотр травматолога.",
    "findings": [
        {"lesion": "Кровоподтёки подошв обеих стоп", "body_region": "skin", "alleged_method": "beating",
         "consistency": "highly_consistent", "reasoning": "Локализация и форма типичны для фалаки."},
        {"lesion": "Ссадина лба", "body_region": "face", "alleged_method": "beating", "consistency": "consistent"},
        {"lesion": "Петехии конъюнктивы", "body_region": "face", "alleged_method": "asphyxiation",
         "consistency": "typical"},
        {"lesion": "Боль в поясничной области без видимых повреждений", "body_region": "musculoskeletal",
         "attribution_not_possible": "Нет объективных признаков, степень не может быть определена."},
    ],
    "overall_consistency": "highly_consistent",
    "overall_reasoning": "Совокупность находок подтверждает рассказ освидетельствуемого.",
    "conclusions": "Повреждения в высокой степени соответствуют описанным пыткам.",
    "recommendations": "Наблюдение травматолога, психологическая помощь.",
    "restrictions": "Осмотр проведён без ограничений.", "signed_by": "Дж. Сулайманова", "signature_date": "2025-03-18",
}


def sample_report() -> dict:
    return copy.deepcopy(REPORT)


def long_report() -> dict:
    """Thirty findings with long reasoning, long allegations and every region examined."""
    report = sample_report()
    report["allegations"] = "\n\n".join(
        f"{n}. Меня снова вывели из камеры и били по стопам и спине, требуя признания. " * (2 + n % 3)
        for n in range(1, 12))
    report["physical_exam"] = {code: f"Описание области «{code}»: " + "без особенностей, кроме отмеченного. " * 4
                               for code in vocab.BODY_REGIONS}
    report["findings"] = [
        {"lesion": f"Кровоподтёк № {n}, " + "овальный, сине-багровый, " * (1 + n % 4),
         "body_region": vocab.BODY_REGIONS[n % len(vocab.BODY_REGIONS)],
         "alleged_method": vocab.METHODS[n % 3], "consistency": vocab.CONSISTENCY[n % 5],
         "reasoning": f"Обоснование {n}: " + "форма и давность соответствуют рассказу. " * (1 + n % 6)}
        for n in range(1, 31)]
    return report


def pdf_text(data: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages)


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def flat(value: str) -> str:
    return " ".join(value.split())


def rendered(report: dict, lang: str) -> dict[str, str]:
    files = dict(recipient_copy(json.dumps(report, ensure_ascii=False).encode(), lang, "forensic-report"))
    return {"pdf": flat(pdf_text(files["forensic-report.pdf"])), "docx": flat(docx_text(files["forensic-report.docx"]))}


SECTIONS = ["case", "conditions", "clinician", "veracity", "background", "allegations", "symptoms", "physical_exam",
            "psych", "photos", "tests", "consultations", "interpretation", "conclusions", "restrictions", "signature"]
CONDITIONS = ["persons_present", "officials_present", "restraints_used", "restraints", "independent",
              "independence_details"]
DATES = {"en": ("17 March 2025", "18 March 2025"), "ru": ("17 марта 2025 г.", "18 марта 2025 г."),
         "ky": ("2025-жылдын 17-марты", "2025-жылдын 18-марты")}
YES_NO = {"en": ("Yes", "No"), "ru": ("Да", "Нет"), "ky": ("Ооба", "Жок")}
RAW_KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_every_part_of_annex_iv_and_every_finding_is_printed(lang):
    texts = rendered(REPORT, lang)
    for kind, got in texts.items():
        order = [got.find(flat(text(key, lang))) for key in SECTIONS]
        assert -1 not in order, f"{kind}: missing {[k for k, at in zip(SECTIONS, order, strict=True) if at < 0]}"
        assert order == sorted(order), f"{kind}: the parts are out of annex IV's order"
        for key in CONDITIONS + ["exam_date", "exam_place", "duration", "requested_by", "interpreter", "consent",
                                 "clinician_name", "qualifications", "col_region", "col_finding", "col_method",
                                 "col_consistency", "overall_consistency"]:
            assert flat(text(key, lang)) in got, f"{kind}: label {key} missing"
        for value in (REPORT["clinician_qualifications"], REPORT["persons_present"], REPORT["restraints"],
                      REPORT["independence_details"], REPORT["interpreter"], REPORT["conclusions"],
                      *DATES[lang], text("minutes", lang, n=90)):
            assert flat(value) in got, f"{kind}: {value!r} missing"
        for code, description in REPORT["physical_exam"].items():
            assert flat(vocab.label("BODY_REGIONS", code, lang)) in got and flat(description) in got
        for finding in REPORT["findings"]:
            assert flat(finding["lesion"]) in got
            if finding.get("consistency"):
                assert vocab.label("CONSISTENCY", finding["consistency"], lang) in got
            for key in ("reasoning", "attribution_not_possible"):
                if finding.get(key):
                    assert flat(finding[key]) in got
        # The meaning of each degree used, as the Protocol defines it, and of no other.
        for code in vocab.CONSISTENCY:
            used = code in {f.get("consistency") for f in REPORT["findings"]} | {REPORT["overall_consistency"]}
            assert (flat(meaning(code, lang)) in got) == used, f"{kind}: meaning of {code}"
        assert "None" not in got and "[object" not in got and "{" not in got
        assert not RAW_KEY.search(got.replace("item-photo", "").replace("item-diagram", "")), RAW_KEY.findall(got)
        if lang == "ky":
            assert {"ң", "ө", "ү"} <= set(got)


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_each_finding_row_has_region_description_method_and_degree(lang):
    """The findings table, read back from the DOCX: one row per finding, the degree in the page's language."""
    doc = docx.Document(io.BytesIO(render_docx(forensic_document(ForensicReport.model_validate(REPORT), lang))))
    table = next(t for t in doc.tables if t.rows[0].cells[1].text == text("col_region", lang))
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(REPORT["findings"])
    for n, (row, finding) in enumerate(zip(rows, REPORT["findings"], strict=True), start=1):
        assert row[0] == str(n) and row[2] == finding["lesion"]
        assert row[1] == vocab.label("BODY_REGIONS", finding["body_region"], lang)
        method = finding.get("alleged_method")
        assert row[3] == (vocab.label("METHODS", method, lang) if method else {"en": "Not stated", "ru": "Не указано",
                                                                                 "ky": "Көрсөтүлгөн эмес"}[lang])
        degree = finding.get("consistency")
        assert row[4] == (vocab.label("CONSISTENCY", degree, lang) if degree else rows[3][4])
    # Rows never split across pages, the header repeats on each page (Word honours both).
    xml = table._tbl.xml
    assert xml.count("<w:cantSplit/>") == len(table.rows) and xml.count("<w:tblHeader/>") == 1


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_conditions_are_printed_as_answers_and_unknown_ones_as_not_stated(lang):
    report = sample_report()
    report.update(officials_present=True, restraints_used=True, clinician_independent=False)
    for key in ("persons_present", "independence_details", "restraints"):
        del report[key]
    got = rendered(report, lang)["docx"]
    yes, no = YES_NO[lang]
    assert f"{flat(text('officials_present', lang))} {yes}" in got
    assert f"{flat(text('restraints_used', lang))} {yes}" in got
    assert f"{flat(text('independent', lang))} {no}" in got
    not_stated = {"en": "Not stated", "ru": "Не указано", "ky": "Көрсөтүлгөн эмес"}[lang]
    assert f"{flat(text('persons_present', lang))} {not_stated}" in got
    bare = {"v": 1, "exam_date": "2025-03-17", "exam_place": "Бишкек", "informed_consent": False,
            "clinician_name": "Дж. Сулайманова", "clinician_qualifications": "эксперт"}
    got = rendered(bare, lang)["pdf"]
    for key in ("officials_present", "restraints_used", "independent"):
        assert f"{flat(text(key, lang))} {not_stated}" in got
    assert f"{flat(text('consent', lang))} {no}" in got


def test_recipient_copy_is_a_pdf_and_a_docx_named_by_the_caller():
    files = recipient_copy(json.dumps(REPORT).encode(), "ru", "forensic-report-item-7")
    assert [name for name, _ in files] == ["forensic-report-item-7.pdf", "forensic-report-item-7.docx"]
    pdf, docx_bytes = files[0][1], files[1][1]
    assert pdf.startswith(b"%PDF") and PdfReader(io.BytesIO(pdf)).metadata.title == text("title", "ru")
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as zf:
        assert "word/document.xml" in zf.namelist()
        assert "Сулайманова" not in zf.read("docProps/core.xml").decode()  # no author in the properties
    with pytest.raises(ValueError):
        recipient_copy(b'{"v": 1, "exam_date": "2025-03-17"}', "ru", "x")  # not a ForensicReport
    with pytest.raises(ValueError):
        recipient_copy(b"[" * 10_000, "ru", "x")  # bounded in depth before parsing


def test_a_long_report_keeps_every_finding(tmp_path):
    report = long_report()
    got = rendered(report, "ky")
    for finding in report["findings"]:
        assert flat(finding["lesion"]) in got["pdf"] and flat(finding["reasoning"]) in got["docx"]


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_a_plugin_can_read_the_report_from_its_item_and_sum_it_up(keys, lang):
    """What the public plugin API offers an exporter whose letter has a medical section (docs/plugin-api.md)."""
    from tests.export.export_samples import make_item
    from vault.plugin_api import Document, forensic_summary, read_forensic_report, render

    item = make_item(keys, "item-report", "forensic-report.json", json.dumps(REPORT).encode(), "forensic_report",
                     media_type="application/vnd.vault.forensic-report+json")
    report = read_forensic_report(item)
    assert report == ForensicReport.model_validate(REPORT)
    assert read_forensic_report(make_item(keys, "item-photo", "a.jpg", b"\xff\xd8", "photo")) is None
    assert read_forensic_report(make_item(keys, "item-bad", "r.json", b"{not json", "forensic_report")) is None
    rows = dict(forensic_summary(report, lang))
    assert rows[text("exam_date", lang)] == DATES[lang][0]
    assert rows[text("officials_present", lang)] == YES_NO[lang][1]
    first = rows[f"{text('col_finding', lang)} 1"]
    assert first == (f"{vocab.label('BODY_REGIONS', 'skin', lang)}: Кровоподтёки подошв обеих стоп — "
                     f"{vocab.label('CONSISTENCY', 'highly_consistent', lang)}")
    doc = Document(title="Letter", language=lang)
    doc.fields(forensic_summary(report, lang))
    assert first in flat(docx_text(render(doc, "letter").docx))
