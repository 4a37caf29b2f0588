"""An admin turns an export plugin off in the browser, and the lawyer's export page drops it.

A module of its own: turning a plugin off changes the whole server, so a
failure half-way cannot leave it off for any other test.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")


def test_admin_disables_a_plugin_and_the_export_option_disappears(web, admin, lawyer, case_id):
    url = web.url
    r = requests.get(f"{url}/api/v1/exporters", timeout=30)
    if r.status_code == 404:
        pytest.skip("the exporters/plugins API (GET /api/v1/exporters, /api/v1/admin/plugins) is not in this tree yet")
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries")
    web.upload_record(lawyer, case_id, web.browser_record(photo_item))  # an export takes the facts from it
    page = web.page()
    web.login(page, lawyer.username, lawyer.password)
    page.goto(f"{url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-plugin="omct"]')
    others = page.locator("#exporters li").count()
    page.check("#exp-omct")
    admin_page = web.signed_in(admin)
    admin_page.goto(f"{url}/admin")
    box = admin_page.locator("#plugin-omct")
    box.wait_for()
    assert box.is_checked()  # bundled plugins start enabled
    box.uncheck()
    admin_page.wait_for_function("() => document.querySelector('#status').textContent.includes('omct')")
    # The lawyer's page still offers it: the server refuses, the page says so and drops it.
    page.click("#check-button")
    page.wait_for_selector("#alert:not([hidden])")
    assert "turned this exporter off" in page.text_content("#alert")
    page.wait_for_function("() => !document.querySelector('#exporters li[data-plugin=\"omct\"]')")
    page.goto(f"{url}/cases/{case_id}/export")
    page.wait_for_selector("#exporters[aria-busy=false] li")
    assert page.locator('#exporters li[data-plugin="omct"]').count() == 0
    assert page.locator("#exporters li").count() == others - 1
    box.check()
    admin_page.wait_for_function("() => document.querySelector('#status').textContent.includes('omct')")
