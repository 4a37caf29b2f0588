"""The controlled vocabularies: exact codes, three languages, HURIDOCS codes."""

from __future__ import annotations

import re

import pytest

from vault.domain import vocab

KYRGYZ_ONLY = re.compile("[ңөүҢӨҮ]")
CYRILLIC = re.compile("[А-Яа-яЁёңөүҢӨҮ]")


def test_exact_code_tuples():
    # The search module filters on these codes: they must never change.
    assert vocab.REGIONS == ("bishkek", "osh_city", "chui", "issyk_kul", "naryn", "talas", "jalal_abad",
                             "osh", "batken")
    assert vocab.DETENTION_PLACE_TYPES == ("police_station", "temporary_detention", "pretrial_detention",
                                           "prison", "security_service", "military", "psychiatric",
                                           "migration_centre", "unofficial", "other")
    assert vocab.VIOLATIONS == ("torture", "death_from_torture", "cruel_treatment", "sexual_violence",
                                "threats", "arbitrary_detention", "incommunicado", "denial_of_counsel",
                                "denial_of_medical_care", "enforced_disappearance", "other")
    assert vocab.METHODS == ("beating", "electric_shock", "forced_positions", "suspension", "asphyxiation",
                             "burns", "sexual", "deprivation", "psychological", "threats_to_family", "other")
    assert vocab.EVIDENCE_TYPES == ("statement", "photo", "video", "audio", "document", "medical_record",
                                    "forensic_report", "court_document", "case_record", "other")
    assert vocab.CONSISTENCY == ("not_consistent", "consistent", "highly_consistent", "typical", "diagnostic")
    assert vocab.PERPETRATOR_TYPES[:5] == ("police", "security_service", "prison_staff", "military",
                                           "prosecutor")


@pytest.mark.parametrize("name", sorted(vocab.VOCABULARIES))
def test_every_term_has_three_labels(name):
    terms = vocab.VOCABULARIES[name]
    assert len({t.code for t in terms}) == len(terms)
    for t in terms:
        assert t.en.strip() and t.ru.strip() and t.ky.strip()
        assert CYRILLIC.search(t.ru) and CYRILLIC.search(t.ky)
        assert not CYRILLIC.search(t.en)


def test_kyrgyz_labels_use_kyrgyz_letters_where_the_words_need_them():
    assert vocab.label("REGIONS", "issyk_kul", "ky") == "Ысык-Көл облусу"
    assert vocab.label("REGIONS", "chui", "ky") == "Чүй облусу"
    assert vocab.label("DETENTION_PLACE_TYPES", "pretrial_detention", "ky") == "Тергөө абагы (СИЗО)"
    assert vocab.label("VIOLATIONS", "death_from_torture", "ky").startswith("Кыйноонун кесепетинен")
    kyrgyz_letters = sum(bool(KYRGYZ_ONLY.search(t.ky)) for ts in vocab.VOCABULARIES.values() for t in ts)
    assert kyrgyz_letters >= 20


def test_huridocs_codes():
    assert vocab.huridocs_code("VIOLATIONS", "torture") == "020111110000"
    assert vocab.huridocs_code("VIOLATIONS", "death_from_torture") == "010190010000"
    assert vocab.huridocs_code("VIOLATIONS", "threats") is None  # vault-local


def test_label_languages_and_errors():
    assert vocab.label("VIOLATIONS", "torture", "en") == "Torture"
    assert vocab.label("VIOLATIONS", "torture", "ru") == "Пытки"
    assert vocab.label("VIOLATIONS", "torture", "ky") == "Кыйноо"
    assert vocab.label("VIOLATIONS", "torture", "fr") == "Torture"  # unknown language: English
    with pytest.raises(KeyError, match="VIOLATIONS"):
        vocab.label("VIOLATIONS", "nope", "en")
