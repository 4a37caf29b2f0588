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
        "victim.consent_to_submit", "victim.consent_publish_name", "victim.age", "victim.occupation", "detention.current_whereabouts",
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
    ("ombudsman", "ru"): {"applicant.address", "applicant.phone", "acts[0].place", "acts[0].perpetrators",
                          "victim.consent_to_submit", "against_state_body", "pending_in_court"},
}
WARNINGS = {
    ("omct", "en"): {"form", "medical", "facts.en"},
    ("un-srt", "ru"): {"form", "arrest.date"},
    ("un-hrc", "ru"): {"form"},
    ("ombudsman", "ru"): {"form", "attachments", "violation_known_date"},
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
    assert consent.message.startswith("The UN needs the victim's consent to transmit the name to the "
                                      "government (yes or no). (Special Procedures:")
    assert "правительству" in consent.text("ru") and "өкмөткө" in consent.text("ky")


@pytest.mark.parametrize(("exporter", "lang"), [("omct", "en"), ("un-srt", "en"), ("un-srt", "ru"),
                                                 ("un-hrc", "ru"), ("ombudsman", "ru"), ("ombudsman", "ky")])
def test_full_case_has_nothing_missing(pm, items, exporter, lang):
    problems = plugins.validate(pm, ENABLED, exporter, parse_case(full_case()), items, options(lang))
    assert paths(problems, "missing") == set()
    # The form is unverified. The manifests carry only the hash of their sealed
    # fields, so nothing sealed travels in the annex and there is no "items" warning.
    # An English document also names each free-text field still in Russian or Kyrgyz.
    others = [p for p in problems if p.severity == "warning" and p.path != "form"]
    assert all("in Russian or Kyrgyz" in p.message for p in others)
    assert bool(others) == (lang == "en")
    if lang == "en":
        assert "victim.occupation" in paths(problems, "warning")
        assert "victim.family_name" not in paths(problems, "warning")  # names are romanized


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


def test_hrc_five_years_from_the_final_decision(pm, items):
    """Rule 99 (c): computed from the final domestic decision, and never skipped without one."""
    data = full_case()
    data["final_decision_date"] = "2020-11-19"
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    late = [p for p in problems if p.path == "final_decision_date"]
    assert [p.severity for p in late] == ["warning"]
    assert "19 November 2020" in late[0].message and "abuse of the right of submission" in late[0].message
    assert "rule 99 (c)" in late[0].message and "правило 99 c)" in late[0].text("ru")
    data["final_decision_date"] = "2020-11-20"  # exactly five years: no warning
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert not [p for p in problems if p.path == "final_decision_date"]
    del data["final_decision_date"]
    for remedy in data["domestic_remedies"]:
        remedy.pop("decision_date", None)
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("ru"))
    unknown = [p for p in problems if p.path == "final_decision_date"]
    assert [p.severity for p in unknown] == ["warning"]
    assert "cannot be checked" in unknown[0].message and "Дата окончательного решения" in unknown[0].text("ru")


def test_hrc_three_years_after_another_procedure(pm, items):
    data = full_case()
    data["other_procedures_none"] = None
    data["other_procedures"] = [{"body": "UN Working Group on Arbitrary Detention", "date": "2020-01-10",
                                 "date_concluded": "2022-11-19"}]
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    late = [p for p in problems if p.path == "other_procedures[0].date_concluded"]
    assert [p.severity for p in late] == ["warning"] and "three years" in late[0].message
    data["other_procedures"][0]["date_concluded"] = "2023-01-10"
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert not [p for p in problems if p.path.startswith("other_procedures")]
    del data["other_procedures"][0]["date_concluded"]  # still being examined: OP art. 5(2)(a)
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    pending = [p for p in problems if p.path == "other_procedures[0].date_concluded"]
    assert [p.severity for p in pending] == ["missing"] and "art. 5(2)(a)" in pending[0].message


@pytest.mark.parametrize(("keep", "severity", "words"), [
    (2, "missing", "Court appeal against the refusal"),  # crime report and refusal only
    (3, "missing", "Appeal to the higher court"),  # no appeal against the investigating judge
])
def test_hrc_exhaustion_needs_the_whole_chain(pm, items, keep, severity, words):
    data = full_case()
    data["domestic_remedies"] = data["domestic_remedies"][:keep]
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    chain = [p for p in problems if p.path == "domestic_remedies"]
    assert [p.severity for p in chain] == [severity]
    assert words in chain[0].message and "art. 5(2)(b)" in chain[0].message
    data["no_remedies_reason"] = "Апелляция по таким жалобам заведомо неэффективна: ..."
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert [p.severity for p in problems if p.path == "domestic_remedies"] == ["warning"]


def test_hrc_one_untyped_entry_does_not_show_exhaustion(pm, items):
    data = full_case()
    data["domestic_remedies"] = [{k: v for k, v in data["domestic_remedies"][0].items() if k != "type"}]
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert [(p.severity, "one entry does not show it" in p.message) for p in problems
            if p.path == "domestic_remedies"] == [("missing", True)]


def test_hrc_family_of_a_dead_victim_files_without_authorisation(pm, items):
    data = full_case()
    data["victim"]["deceased"] = True
    data["applicant"]["relationship_to_victim"] = "family"
    data["authorisation"] = {}
    data["attachments"] = [a for a in data["attachments"] if a["category"] != "authorisation"]
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert paths(problems, "missing") == {"authorisation.no_authorisation_reason"}
    data["authorisation"]["no_authorisation_reason"] = "Пострадавший умер под стражей; жалобу подаёт мать."
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert paths(problems, "missing") == set()
    data["victim"]["deceased"] = False  # alive and reachable: the authorisation is required again
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en"))
    assert {"authorisation.given", "attachments"} <= paths(problems, "missing")


@pytest.mark.parametrize(("exporter", "lang"), [("omct", "en"), ("un-hrc", "ru"), ("ombudsman", "ky"),
                                                 ("un-srt", "en")])
def test_refused_consent_is_never_silent(pm, items, exporter, lang):
    data = full_case()
    data["victim"]["consent_to_submit"] = False
    problems = plugins.validate(pm, ENABLED, exporter, parse_case(data), items, options(lang))
    assert "victim.consent_to_submit" in paths(problems, "missing")


def test_ombudsman_time_limit_runs_from_discovery_with_a_two_year_maximum(pm, items):
    data = full_case()  # became known on 13 March 2025
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items, options("ru", day="2026-03-20"))
    late = [p for p in problems if p.path == "violation_known_date"]
    assert [p.severity for p in late] == ["warning"]
    assert "exceptional circumstances" in late[0].message and "13 марта 2025 г." in late[0].text("ru")
    assert "questions and answers" in late[0].message
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items, options("ky", day="2027-03-20"))
    assert [p.severity for p in problems if p.path == "violation_known_date"] == ["missing"]
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items, options("ky", day="2026-03-10"))
    assert not [p for p in problems if p.path == "violation_known_date"]
    data["violation_known_date"] = "2026-01-05"  # learnt of it later: counted from then
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items, options("ru", day="2027-01-01"))
    assert not [p for p in problems if p.path == "violation_known_date"]


def test_ombudsman_competence_and_court(pm, items):
    data = full_case()
    data["pending_in_court"] = True
    data["against_state_body"] = None
    for act in data["acts"]:
        act["perpetrators"] = [{"type": "unknown"}]
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items, options("ru"))
    assert {"pending_in_court", "against_state_body"} <= paths(problems, "missing")
    data["acts"][0]["perpetrators"] = [{"type": "prison_staff"}]  # an official: within competence
    data["pending_in_court"] = False
    problems = plugins.validate(pm, ENABLED, "ombudsman", parse_case(data), items, options("ru"))
    assert not {"pending_in_court", "against_state_body"} & paths(problems, "missing")


def test_english_documents_flag_other_spellings_of_the_name(pm, items):
    data = full_case()
    data["requests"]["omct_actions"][0] = "guarantee the physical integrity of Mr Omurbekov"
    problems = plugins.validate(pm, ENABLED, "omct", parse_case(data), items, options("en"))
    spelt = [p for p in problems if p.path == "requests.omct_actions[0]"]
    assert len(spelt) == 1 and "“Omurbekov”" in spelt[0].message and "“Ömürbekov”" in spelt[0].message
    assert "BGN/PCGN 1979" in spelt[0].message


def test_cat22_variant_for_kyrgyzstan_is_refused(pm, items):
    """No article 22 declaration recorded for Kyrgyzstan (UN Treaty Collection): an error, not a warning."""
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(full_case()), items, options("en", "cat22"))
    variant = [p for p in problems if p.path == "options.variant"]
    assert [p.severity for p in variant] == ["missing"]
    assert "no declaration under article 22" in variant[0].message and "checked 2026-12-02" in variant[0].message
    exporter = plugins.exporters(pm, ENABLED)["un-hrc"]
    assert [v.name for v in exporter.variants_for("KGZ")] == []


def test_cat22_variant_refused_where_no_declaration(pm, items, monkeypatch):
    from vault_plugin_un import cat22

    monkeypatch.setitem(cat22.DATA["states"], "XXX", {"declaration": False, "verified": True})
    data = full_case() | {"state": "XXX"}
    problems = plugins.validate(pm, ENABLED, "un-hrc", parse_case(data), items, options("en", "cat22"))
    assert [(p.path, p.severity) for p in problems if p.path == "options.variant"] == [
        ("options.variant", "missing")]


def test_cat22_needs_convention_articles(pm, items):
    data = full_case() | {"state": "KAZ"}
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
    assert {"attachments[2].item_id", "attachments[3].item_id"} <= {p.path for p in problems}
