"""A right-to-left override in a file name, in the browser: shown for what it is, never in a saved name.

The attachment ``report<U+202E>fdp.exe`` shows as "reportexe.pdf". The item
page must show the override as [U+202E] and save the file under a clean
name (vault/static/js/names.js, the twin of vault/export/names.py), and a
browser export must carry the name nowhere hidden: not in the ZIP's name,
its entries or its custody annex. Uses the shared fixtures of tests/web/conftest.py.
"""

from __future__ import annotations

import pytest

from tests.export.test_bundle import flat_strings
from tests.export.test_names import RLO_NAME, assert_clean

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")


def test_browser_downloads_and_exports_carry_no_hidden_character(web, lawyer, case_id, tmp_path):
    item = web.upload(lawyer, case_id, RLO_NAME, b"MZ" + bytes(range(256)) * 4, "Scan", "document")
    web.upload_record(lawyer, case_id, web.browser_record(item, reference="KG-2026\u202e-777"))
    page = web.signed_in(lawyer)
    page.goto(f"{web.url}/items/{item}")
    page.wait_for_selector("#verify-state.ok")
    custody = page.text_content("#custody")
    assert "report[U+202E]fdp.exe" in custody  # seen, not obeyed
    assert_clean(custody, "#custody")
    with page.expect_download() as dl:
        page.click("#download")
    assert dl.value.suggested_filename == "reportfdp.exe"

    page.goto(f"{web.url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    page.check("#export-draft")
    with page.expect_download(timeout=120_000) as dl:
        page.click("#export-button")
    page.wait_for_selector("#export-done:not([hidden])")
    name = dl.value.suggested_filename
    assert_clean(name, "export download")
    assert name.endswith("KG-2026-777.zip")
    bundle = tmp_path / "export.zip"
    dl.value.save_as(bundle)
    got = web.read_bundle(bundle)
    for member in got["names"]:
        assert_clean(member, "ZIP entry")
    assert "attachments/reportfdp.exe" in got["names"]
    for where, value in flat_strings(got["annex"]):
        assert_clean(value, f"annex.json {where}")
    assert page.errors == []
