"""The case record form in the browser: it keeps every field of a full record, and what is missing blocks an export.

Each test makes its own lawyer, case, evidence and case record on the
module's server (tests/web/conftest.py). Filling the form in from scratch
and the export for the Akyikatchy are in test_journey.py.
"""

from __future__ import annotations

import json

import pytest

from tests.core.cli_helpers import Cli

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

CLINICIAN = "Др. Өмүрбек Ташиев"


def test_an_incomplete_export_is_refused_until_marked_draft(web, lawyer, case_id, tmp_path):
    url, tmp = web.url, tmp_path
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries")
    web.upload_record(lawyer, case_id, web.browser_record(photo_item))  # no victim.nationality
    page = web.signed_in(lawyer)
    page.goto(f"{url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="un-srt"]')
    posts = web.export_posts(page)
    page.check("#exp-un-srt")
    for box in page.locator("#export-items input").all():
        box.uncheck()
    page.click("#export-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "Draft" in page.text_content("#alert")
    missing = page.locator("#problems .problem.sev-missing")
    assert missing.count() > 0
    # Each missing field links to its place in the case record form.
    link = page.locator('#problems a[href*="#f=victim.nationality"]')
    assert link.count() == 1
    assert not any(u.endswith("/exports") for u in posts)  # checked, never rendered
    page.check("#export-draft")
    with page.expect_download(timeout=120_000) as dl:
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    draft = tmp / "draft.zip"
    dl.value.save_as(draft)
    from vault.export.verify import verify_bundle

    assert verify_bundle(draft).ok
    assert web.read_bundle(draft)["annex"]["items"] == []
    # The link opens the form at that field.
    page.goto(f"{url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="un-srt"]')
    page.check("#exp-un-srt")
    page.click("#check-button")
    page.click('#problems a[href*="#f=victim.nationality"]')
    page.wait_for_selector("#record-state.ok")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'r-victim-nationality'")
    assert "flagged" in page.get_attribute("#r-victim-nationality", "class")
    assert page.errors == []


def test_the_record_form_keeps_every_field_of_a_full_record(web, lawyer, case_id, make_user, tmp_path):
    from tests.export.export_samples import full_case
    from vault.domain.caserecord import parse_case

    url, tmp = web.url, tmp_path
    medic = make_user("medic", "bakyt")
    lawyer.session.add_member(case_id, medic.username)
    web.sealed.append(CLINICIAN.encode())
    report_item = web.upload_report(medic, case_id, CLINICIAN)
    cli = Cli(url, tmp / "cli-aigul", lawyer.username, lawyer.password)
    cli.run("login")
    data = full_case()
    data["attachments"].append({"item_id": report_item, "title": "Istanbul Protocol report", "category": "medical"})
    data["medical"]["examinations"][0]["report_item"] = report_item
    data["medical"]["autopsy"] = {"date": "2025-04-01", "performed_by": "РЦСМЭ", "findings": "нет данных",
                                  "family_present": False}
    data["victim"]["deceased"] = True
    data["facts"]["fr"] = "Le 12 mars 2025, M. Ömürbekov a été arrêté."
    data["other_procedures"] = [{"body": "UN WGAD", "date": "2025-05-01", "reference": "WGAD/2025/1",
                                 "status": "pending", "date_concluded": "2025-08-01"}]
    data["victim"]["status"] = "incommunicado"  # the fields the exports' admissibility checks read
    data["authorisation"]["no_authorisation_reason"] = "Содержится без связи с внешним миром."
    source = tmp / "full-record.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    web.sealed.append(data["victim"]["family_name"].encode())
    cli.json("upload", case_id, str(source), "--type", "case_record", "--title", "Structured case record")
    page = web.signed_in(lawyer)
    page.goto(f"{url}/cases/{case_id}/record")
    page.wait_for_selector("#record-state.ok")
    assert page.input_value("#r-victim-family_name") == "Өмүрбеков"
    assert page.locator('[data-list="acts"] > li').count() == 2
    assert web.entry(page, "acts").locator('[data-path="methods"] input:checked').count() == 2
    assert page.input_value("#r-requests-omct_actions").count("\n") == 2
    page.fill("#r-victim-occupation", "журналист")
    page.click("#record-button")
    page.wait_for_selector("#record-saved:not([hidden])", timeout=60_000)
    got = web.latest_record(cli, case_id, web.token(lawyer.username, lawyer.password))
    want = parse_case(data).model_copy(update={"victim": parse_case(data).victim.model_copy(
        update={"occupation": "журналист"})})
    assert got["record"].model_dump(mode="json") == want.model_dump(mode="json")
    assert page.errors == []
    for lang in ("ky", "ru"):  # the admissibility fields on a phone, labelled in the user's language
        phone = web.signed_in(lawyer, phone=True, lang=lang)
        phone.wait_for_load_state("load")
        if phone.evaluate("document.documentElement.lang") != lang:  # the account's language: switch in the UI
            with phone.expect_navigation():
                phone.select_option("#language-select", lang)
        phone.goto(f"{url}/cases/{case_id}/record")
        phone.wait_for_selector("#record-state.ok")
        assert phone.input_value("#r-violation_known_date") == "2025-03-13"
        assert web.entry(phone, "domestic_remedies", 2).locator('[data-path="type"]').input_value() == \
            "court_appeal_refusal"
        phone.locator("#s-remedies").screenshot(path=f"/tmp/ui-shots/record-remedies-{lang}.png")
        phone.locator("#s-victim").screenshot(path=f"/tmp/ui-shots/record-victim-{lang}.png")
        assert phone.errors == []
