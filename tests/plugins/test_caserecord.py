"""The case record and the forensic report: strict, bounded, vocabulary-checked."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from vault.domain.caserecord import CaseRecord, ForensicReport, parse_case


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        CaseRecord.model_validate({"victim": {"famly_name": "typo"}})


def test_strings_and_lists_are_bounded():
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"victim": {"family_name": "x" * 201}})
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"facts": {"ru": "x" * 100_001}})
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"acts": [{"violation": "torture"}] * 51})
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"victim": {"family_name": "   "}})  # blank is not a name


def test_codes_come_from_the_vocabularies():
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"acts": [{"violation": "beating"}]})
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"arrest": {"region": "almaty"}})
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"claims": [{"instrument": "ICCPR", "article": "7; DROP"}]})
    with pytest.raises(ValidationError):
        CaseRecord.model_validate({"attachments": [{"item_id": "../x"}]})


def test_derived_values():
    case = parse_case({
        "victim": {"family_name": "Өмүрбеков", "first_names": "Нурсултан", "date_of_birth": "2001-05-04"},
        "acts": [{"violation": "threats", "date_from": "2025-03-14"},
                 {"violation": "torture", "date_from": "2025-03-12", "date_to": "2025-03-13"}],
        "domestic_remedies": [{"body": "Прокуратура", "decision_date": "2025-09-10"},
                              {"body": "Суд", "decision_date": "2026-01-15"}],
    })
    assert case.victim.full_name == "Өмүрбеков Нурсултан"
    assert case.victim.age_on(dt.date(2025, 5, 3)) == 23
    assert case.victim.age_on(dt.date(2025, 5, 4)) == 24
    assert case.violations == ["torture", "threats"]  # vocabulary order
    assert case.first_violation_date == dt.date(2025, 3, 12)
    assert case.last_violation_date == dt.date(2025, 3, 14)
    assert case.last_domestic_decision == dt.date(2026, 1, 15)
    assert parse_case(case) is case


def test_forensic_report_follows_annex_iv():
    report = ForensicReport.model_validate({
        "exam_date": "2025-03-17", "exam_place": "Бишкек, РЦСМЭ", "exam_duration_minutes": 90,
        "requested_by": "адвокат", "interpreter": "кыргыз тили", "informed_consent": True,
        "persons_present": "эксперт, медсестра", "restraints": "без наручников",
        "clinician_name": "Дж. Сулайманова",
        "clinician_qualifications": "судебно-медицинский эксперт, 12 лет",
        "truthfulness_statement": "Подтверждаю достоверность", "allegations": "Мени таманыма урушту",
        "physical_exam": {"skin": "кровоподтёки стоп", "musculoskeletal": "болезненность при ходьбе"},
        "findings": [{"lesion": "кровоподтёки обеих стоп", "body_region": "skin", "alleged_method": "beating",
                      "consistency": "highly_consistent", "reasoning": "форма и локализация"},
                     {"lesion": "боль в плече", "attribution_not_possible": "нет объективных признаков"}],
        "overall_consistency": "highly_consistent", "conclusions": "Соответствует фалаке",
        "signed_by": "Дж. Сулайманова", "signature_date": "2025-03-18",
    })
    exam = report.as_examination("item-fr")
    assert exam.consistency == "highly_consistent" and exam.report_item == "item-fr"
    assert exam.examiner.startswith("Дж. Сулайманова")
    with pytest.raises(ValidationError):
        ForensicReport.model_validate({**report.model_dump(mode="json"), "physical_exam": {"elbow": "x"}})
    with pytest.raises(ValidationError):
        ForensicReport.model_validate({**report.model_dump(mode="json"),
                                       "findings": [{"lesion": "x", "consistency": "likely"}]})
