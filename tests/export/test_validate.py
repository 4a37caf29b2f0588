"""validate names exactly what each recipient still needs, and the time-limit warnings."""

from __future__ import annotations

import pytest

from tests.export.export_samples import ENABLED, full_case, make_item, options
from vault import plugins
from vault.domain.caserecord import parse_case

INCOMPLETE = {
    "facts": {"ru": "Задержан и избит в отделе милиции."},
    "victim": {"family_name": "Өмүрбеков", "sex": "male"},
    "acts": [{"violation": "torture", "date_from": "2025-03-12"}],
    "applicant": {"full_name": "Айгүл Жээнбекова", "relationship_to_victim": "lawyer"},
}

MISSING = {
    ("omct", "en"): {
        "victim.consent_publish_name", "victim.age", "victim.occupation", "detention.current_whereabouts",
        "detention.present_risk", "acts[0].place", "acts[0].perpetrators", "domestic_remedies",
        "requests.omct_actions", "source.organisation", "source.contact_person", "source.may_be_named",
    },
    ("un-srt", "ru"): {
        "victim.first_names", "victim.date_of_birth", "victim.nationality", "acts[0].place",
        "acts[0].methods", "domestic_remedies", "source.organisation", "source.contact_person",
        "source.email", "victim.consent_to_submit", "victim.consent_transmit_name_to_government",
    },
    ("un-hrc", "ru"): {
        "victim.first_names", "victim.nationality", "victim.date_of_birth", "victim.place_of_birth",
        "applicant.address", "authorisation.given", "attachments", "claims", "domestic_remedies",
        "other_procedures_none", "requests.remedy_sought",
    },
    ("ombudsman", "ru"): {"applicant.address", "applicant.phone", "acts[0].place", "acts[0].perpetrators"},
}
WARNINGS = {
    ("omct", "en"): {"form", "medical", "facts.en"},
    ("un-srt", "ru"): {"form", "arrest.date"},
    ("un-hrc", "ru"): {"form"},
    ("ombudsman", "ru"): {"form", "attachments"},
}


def paths(problems, severity):
    return {p.path for p in problems if p.severity == severity}


@pytest.mark.parametrize(("exporter", "lang"), sorted(MISSING))
def test_hook_vault_validate(pm, exporter, lang):
    problems = plugins.validate(pm, ENABLED, exporter, parse_case(INCOMPLETE), [], options(lang))
    assert paths(problems, "missing") == MISSING[(exporter, lang)]
    assert paths(problems, "warning") == WARNINGS[(exporter, lang)]
    for problem in problems:
        assert problem.message and problem.text("ru") and problem.text("ky")


def test_messages_are_in_the_recipients_terms(pm):
    problems = plugins.validate(pm, ENABLED, "un-srt", parse_case(INCOMPLETE), [], options("en"))
    by_path = {p.path: p for p in problems}
    consent = by_path["victim.consent_transmit_name_to_government"]
    assert consent.message == ("The UN needs the victim's consent to transmit the name to the government "
                               "(yes or no).")
    assert "правительству" in consent.text("ru") and "өкмөткө" in consent.text("ky")


@pytest.mark.parametrize(("exporter", "lang"), [("omct", "en"), ("un-srt", "en"), ("un-srt", "ru"),
                                                 ("un-hrc", "ru"), ("ombudsman", "ru"), ("ombudsman", "ky")])
def test_full_case_has_nothing_missing(pm, items, exporter, lang):
    problems = plugins.validate(pm, ENABLED, exporter, parse_case(full_case()), items, options(lang))
    assert paths(problems, "missing") == set()
    # The form is unverified. The manifests carry only the hash of their sealed
    # fields, so nothing sealed travels in the annex and there is no "items" warning.
    assert paths(problems, "warning") == {"form"}


def test_manifest_carrying_sealed_fields_is_flagged(pm, keys):
    # A manifest signed by an older client still holds its sealed fields; the
    # annex must carry the exact signed bytes, so the user is told before sending.
    legacy = [make_item(keys, "item-photo", "a.jpg", b"x", legacy_sealed=True)]
    problems = plugins.validate(pm, ENABLED, "omct", parse_case(full_case()), legacy, options("en"))
    flagged = [p for p in problems if p.path == "items"]
    assert [p.severity for p in flagged] == ["warning"]
    assert "sealed fields" in flagged[0].message and "получатель" in flagged[0].text("ru").lower()
    current = [make_item(keys, "item-photo", "a.jpg", b"x")]
    assert current[0].manifest["sealed_sha256"] and "sealed" not in current[0].manifest
    problems = plugins.validate(pm, ENABLED, "omct", parse_case(full_case()), current, options("en"))
    assert not [p for p in problems if p.path == "items"]


def test_hrc_warns_when_last_decision_is_over_five_years_old(pm, items):
    data = full_case()
    data["domestic_remedies"][0]["decision_date"] = "2020-11-19"
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    late = [p for p in problems if p.path == "domestic_remedies"]
    assert [p.severity for p in late] == ["warning"]
    assert "19 November 2020" in late[0].message and "abuse of the right of submission" in late[0].message
    data["domestic_remedies"][0]["decision_date"] = "2020-11-20"  # exactly five years: no warning
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert not [p for p in problems if p.path == "domestic_remedies"]


def test_ombudsman_warns_when_violation_is_over_a_year_old(pm, items):
    data = full_case()
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items,
                                options("ru", day="2026-03-20"))
    late = [p for p in problems if p.path == "acts"]
    assert [p.severity for p in late] == ["warning"]
    assert "could not be verified" in late[0].message and "14 марта 2025 г." in late[0].text("ru")
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items,
                                options("ky", day="2026-03-10"))
    assert not [p for p in problems if p.path == "acts"]


def test_cat22_variant_for_kyrgyzstan_is_unverified(pm, items):
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(full_case()), items, options("en", "cat22"))
    variant = [p for p in problems if p.path == "options.variant"]
    assert [p.severity for p in variant] == ["warning"]
    assert "could not be verified that Kyrgyzstan" in variant[0].message


def test_cat22_variant_refused_where_no_declaration(pm, items, monkeypatch):
    from vault_plugin_un import cat22

    monkeypatch.setitem(cat22.DATA["states"], "XXX", {"declaration": False, "verified": True})
    data = full_case() | {"state": "XXX"}
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en", "cat22"))
    assert [(p.path, p.severity) for p in problems if p.path == "options.variant"] == [
        ("options.variant", "missing")]


def test_cat22_needs_convention_articles(pm, items):
    data = full_case()
    data["claims"] = [c for c in data["claims"] if c["instrument"] == "ICCPR"]
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en", "cat22"))
    claims = [p for p in problems if p.path == "claims"]
    assert len(claims) == 1 and "Convention" in claims[0].message


def test_srt_has_no_variants_and_warns_without_consent_to_name(pm, items):
    data = full_case()
    data["victim"]["consent_transmit_name_to_government"] = False
    problems = plugins.validate(pm, ENABLED, "un-srt", parse_case(data), items, options("en", "cat22"))
    got = {(p.path, p.severity) for p in problems}
    assert ("options.variant", "missing") in got
    assert ("victim.consent_transmit_name_to_government", "warning") in got


def test_death_in_custody_needs_the_autopsy(pm, items):
    data = full_case()
    data["victim"]["deceased"] = True
    problems = plugins.validate(pm, ENABLED, "un-srt", parse_case(data), items, options("en"))
    assert ("medical.autopsy", "missing") in {(p.path, p.severity) for p in problems}


def test_attachment_listed_but_not_chosen(pm, items):
    problems = plugins.validate(pm, ENABLED, "omct", parse_case(full_case()), items[:2], options("en"))
    assert paths(problems, "missing") == {"attachments[2].item_id", "attachments[3].item_id"}
