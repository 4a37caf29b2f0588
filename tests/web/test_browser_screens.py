"""Every screen in Kyrgyz at phone width (screenshots in /tmp/ui-shots), labelled fields, lock and sign-out.

The test makes its own lawyer, case, evidence and case record on the
module's server (tests/web/conftest.py) and signs the admin in to /admin.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")


def test_screenshots_in_kyrgyz_at_phone_width(web, admin, lawyer, case_id):
    url = web.url
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries and statement video")
    other_item = web.upload(lawyer, case_id, "statement.bin", b"a statement", "Statement video", "video")
    web.upload_record(lawyer, case_id, web.browser_record(photo_item))
    anon = web.page(phone=True, lang="ky")
    anon.goto(f"{url}/login")
    assert anon.text_content("h1").strip() == "Кирүү"
    web.shot(anon, "ky-login")
    anon.goto(f"{url}/setup")
    web.shot(anon, "ky-setup")
    page = web.page(phone=True, lang="ky")
    web.login(page, lawyer.username, lawyer.password)
    # The language is remembered per user: switch to Kyrgyz in the UI.
    page.wait_for_load_state("load")  # the page's module (and its change handler) has run
    if page.evaluate("document.documentElement.lang") != "ky":
        with page.expect_navigation():
            page.select_option("#language-select", "ky")
    page.wait_for_function("() => document.documentElement.lang === 'ky'")
    page.goto(f"{url}/cases")
    page.wait_for_selector("#case-list[aria-busy=false]")
    web.shot(page, "ky-cases")
    page.goto(f"{url}/cases/{case_id}")
    page.wait_for_selector("#item-list[aria-busy=false]")
    web.shot(page, "ky-case")
    page.goto(f"{url}/cases/{case_id}/upload")
    web.shot(page, "ky-upload")
    page.goto(f"{url}/cases/{case_id}/forensic")
    web.shot(page, "ky-forensic")
    page.goto(f"{url}/items/{photo_item}")
    page.wait_for_selector("#verify-state.ok")
    web.shot(page, "ky-item")
    page.goto(f"{url}/search")
    web.shot(page, "ky-search")
    page.goto(f"{url}/cases/{case_id}/record")
    page.wait_for_selector("#record-state.ok")
    web.shot(page, "ky-record")
    page.goto(f"{url}/account")
    page.wait_for_selector("#totp-start-form:not([hidden])")
    page.fill("#totp-start-password", "wrong password")
    page.click("#totp-start")  # the second factor asks for the password; a wrong one says what to do
    page.wait_for_selector("#alert:not([hidden])")
    web.shot(page, "ky-account")
    page.locator("#totp-title").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/ui-shots/ky-account-totp.png")  # the part a full-page shot at 390 px cuts off
    page.goto(f"{url}/cases/{case_id}/export")
    page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
    page.check("#exp-ombudsman")
    # The plugins' own texts are in Kyrgyz too, not only the page's.
    assert "Кыргыз Республикасынын Акыйкатчысы" in page.text_content('#exporters li[data-exporter="ombudsman"]')
    assert "БУУнун Адам укуктары боюнча комитети" in page.text_content('#exporters li[data-exporter="un-hrc"]')
    page.uncheck(f"#att-{other_item}")
    page.click("#check-button")
    page.wait_for_selector("#problems-section:not([hidden])")
    web.shot(page, "ky-export")
    page.goto(f"{url}/account")
    web.shot(page, "ky-account")
    unlabelled = """() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter(e => e.type !== 'hidden' && !e.closest('[hidden]') && !e.labels.length && !e.getAttribute('aria-label'))
        .map(e => e.id || e.outerHTML.slice(0, 80))"""
    for p in ("/cases", "/search", f"/cases/{case_id}/record", f"/cases/{case_id}/export", "/account"):
        page.goto(url + p)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, p
        assert page.evaluate(unlabelled) == [], p  # every field a screen reader can name
    admin_page = web.signed_in(admin)
    admin_page.set_viewport_size({"width": 390, "height": 844})
    admin_page.goto(f"{url}/admin")
    admin_page.wait_for_selector("#audit-verify.ok")
    admin_page.wait_for_selector("#users tbody tr")
    web.shot(admin_page, "admin-phone")
    # The users and audit tables become cards: nothing wider than the phone, every cell labelled.
    assert admin_page.evaluate("document.documentElement.scrollWidth") <= 390
    assert admin_page.eval_on_selector("#users tbody td", "td => getComputedStyle(td, '::before').content") == '"User name"'
    assert admin_page.eval_on_selector("#audit tbody tr", "tr => tr.getBoundingClientRect().right") <= 390
    # Lock wipes the keys: the page asks for the password again, and it unlocks.
    page.goto(f"{url}/items/{photo_item}")
    page.wait_for_selector("#verify-state.ok")
    page.click("#lock-button")
    page.wait_for_selector("#unlock:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('vault.wrapped-keys')") is None
    page.fill("#unlock-password", lawyer.password)
    page.click("#unlock-form button[type=submit]")
    page.wait_for_selector("#verify-state.ok")
    # Sign out: the session ends on the server and the wrapped keys are gone.
    page.click("#logout-form button[type=submit]")
    page.wait_for_url("**/login**")
    assert page.evaluate("sessionStorage.getItem('vault.wrapped-keys')") is None
    page.goto(f"{url}/cases")
    assert "/login" in page.url
    # The language is the user's: back to English.
    r = requests.patch(f"{url}/api/v1/me", json={"language": "en"}, timeout=30,
                       headers=web.bearer(lawyer.username, lawyer.password))
    assert r.status_code == 200
