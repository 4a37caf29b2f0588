"""A forensic report's item page reads as the Istanbul Protocol document it is, in Russian and Kyrgyz, on a phone.

The report is sealed and uploaded by the Python client (as the phone's forensic form seals it); the
page decrypts it and shows it with vault/static/js/forensicview.js: the parts of annex IV in order,
labels in the page's language, the physical examination by region, each finding with its region,
description, method and degree of consistency, the conditions of the examination. Never the JSON's
keys, never JSON, never "[object Object]". Screenshots at 390 px go to /tmp/ui-shots.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.export.test_forensic_document import sample_report
from tests.web.conftest import FORENSIC_MEDIA
from vault.domain import vocab
from vault.domain.caserecord import ForensicReport
from vault.export.forensic import meaning, text

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

RAW_KEYS = {"physical_exam", "exam_date", "clinician_name", "overall_consistency", "body_region", "lesion",
            "highly_consistent", "alleged_method", "officials_present", "restraints_used", "informed_consent"}
SECTIONS = ["case", "conditions", "clinician", "veracity", "background", "allegations", "symptoms", "physical_exam",
            "psych", "photos", "tests", "consultations", "interpretation", "conclusions", "restrictions", "signature"]
DATES = {"ru": "17 марта 2025 г.", "ky": "2025-жылдын 17-марты"}
YES_NO = {"ru": ("Да", "Нет"), "ky": ("Ооба", "Жок")}


def _in_language(web, page, lang: str) -> None:
    """The signed-in page switched to ``lang`` through the UI if the user's language is another."""
    page.wait_for_load_state("load")
    if page.evaluate("document.documentElement.lang") != lang:
        with page.expect_navigation():
            page.select_option("#language-select", lang)
    page.wait_for_function(f"() => document.documentElement.lang === '{lang}'")


@pytest.mark.parametrize("lang", ["ru", "ky"])
def test_forensic_report_reads_as_a_document_at_phone_width(web, make_user, case_id, lawyer, lang):
    report = sample_report()
    report["interpreter"] = "Кыргыз тилинен котормочу Жаңыл Үсөнова"
    ForensicReport.model_validate(report)
    item = web.upload(lawyer, case_id, "forensic-report-2025-03-17.json", json.dumps(report, ensure_ascii=False).encode(),
                      "Istanbul Protocol examination", "forensic_report", media_type=FORENSIC_MEDIA)
    web.sealed.append(report["interpreter"].encode())
    page = web.signed_in(lawyer, phone=True, lang=lang)
    _in_language(web, page, lang)
    page.goto(f"{web.url}/items/{item}")
    page.wait_for_selector("#verify-state.ok")
    page.wait_for_selector("#forensic:not([hidden]) .forensic-doc")
    shown = " ".join(page.inner_text("#forensic").split())
    whole = page.inner_text("main")
    web.shot(page, f"{lang}-forensic-item")

    assert "[object Object]" not in whole and "{" not in shown and '":' not in shown and "http" not in shown
    assert f"{text('photo_items', lang)} item-photo" in shown  # the photos, by item id, linked to their pages
    assert page.locator("#forensic a[href='/items/item-photo']").count() == 1
    for key in RAW_KEYS:
        assert not re.search(rf"\b{key}\b", whole), f"raw key {key} on the page"
    order = [shown.find(" ".join(text(key, lang).split())) for key in SECTIONS]
    assert -1 not in order, [k for k, at in zip(SECTIONS, order, strict=True) if at < 0]
    assert order == sorted(order)
    assert DATES[lang] in shown
    yes, no = YES_NO[lang]
    for key, answer in (("officials_present", no), ("restraints_used", no), ("independent", yes), ("consent", yes)):
        label = " ".join(text(key, lang).split())
        assert f"{label} {answer}" in shown, f"{label}: {answer}"
    for code, description in report["physical_exam"].items():
        assert f"{vocab.label('BODY_REGIONS', code, lang)} {description}" in shown
    for n, finding in enumerate(report["findings"], start=1):
        heading = {"ru": f"Повреждение {n}", "ky": f"{n}-жаракат"}[lang]
        assert f"{heading} {text('col_region', lang)}" in shown
        assert finding["lesion"] in shown
        region = vocab.label("BODY_REGIONS", finding["body_region"], lang)
        assert region in shown
        if finding.get("consistency"):
            assert vocab.label("CONSISTENCY", finding["consistency"], lang) in shown
            assert meaning(finding["consistency"], lang) in shown
    assert report["independence_details"] in shown and report["clinician_qualifications"] in shown
    if lang == "ky":
        assert {"ң", "ө", "ү"} <= set(shown)
    # The card fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#forensic h3").nth(11).scroll_into_view_if_needed()
    page.screenshot(path=f"/tmp/ui-shots/{lang}-forensic-item-findings.png")
    assert not page.errors
