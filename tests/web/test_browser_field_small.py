"""The smaller field findings of #13 on a phone (390 x 844) in Kyrgyz and Russian.

Search facets read as words (the case by its reference and title, languages by
name), the first search result is on the first screen, every page's header is
two rows of touch targets, only the latest case record is listed (its earlier
versions on demand, and out of search), and the record form's forensic-report
picker offers forensic reports only. Screenshots go to /tmp/ui-shots.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

PHONE_HEIGHT = 844
HEADER_MAX = 100  # px at 390 px wide: two rows of 44 px targets (was ~300)
HEADER = "() => document.querySelector('header.top').getBoundingClientRect().height"


def _upload(user, case_id, tmp, name: str, metadata: dict) -> str:
    from vault.client.transfer import upload_file

    f = tmp / name
    f.write_text(f"the content of {name}", encoding="utf-8")
    return upload_file(user.session, case_id, f, metadata)["item_id"]


def _phone(web, user, lang: str):
    """`user` signed in on a phone, the page in `lang` (the account's language, chosen in the header)."""
    page = web.signed_in(user, phone=True, lang=lang)
    page.wait_for_load_state("load")  # the page's module (and its change handler) has run
    if page.evaluate("document.documentElement.lang") != lang:
        with page.expect_navigation():
            page.select_option("#language-select", lang)
    page.wait_for_function(f"() => document.documentElement.lang === '{lang}'")
    return page


def _search(page, url: str, q: str, expect: int) -> None:
    """Search until the background indexer has fed `expect` results (it drains an outbox)."""
    page.goto(f"{url}/search")
    for _ in range(60):
        page.fill("#q", q)
        page.click("#search-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#total').textContent")
        if page.locator("#hits li").count() == expect:
            return
        page.wait_for_timeout(500)
    assert page.locator("#hits li").count() == expect


def _header_fits(page, where: str) -> None:
    assert page.evaluate(HEADER) <= HEADER_MAX, where
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, where
    # Every link and button of the header is a touch target (the visually hidden language button aside).
    small = page.evaluate("""() => [...document.querySelectorAll('header.top a, header.top button, header.top select')]
        .filter(e => e.getBoundingClientRect().width > 1 && e.getBoundingClientRect().height < 44)
        .map(e => e.textContent.trim() || e.id)""")
    assert small == [], where


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_search_on_a_phone_names_facets_and_shows_the_first_result(web, lawyer, case_id, tmp_path, lang):
    url = web.url
    ref = lawyer.session.case(case_id)["reference"]
    _upload(lawyer, case_id, tmp_path, "a.txt", {"title": "Протокол задержания", "evidence_type": "document",
                                                  "language": "ru", "region": "osh"})
    _upload(lawyer, case_id, tmp_path, "b.txt", {"title": "Протокол кармоо", "evidence_type": "document",
                                                  "language": "ky"})
    page = _phone(web, lawyer, lang)
    _search(page, url, "протокол", 2)
    page.wait_for_selector("#facets-box:not([hidden])")
    web.shot(page, f"{lang}-search-results")
    # The first result is on the first screen; the facets wait behind their summary.
    assert page.eval_on_selector("#hits li", "li => li.getBoundingClientRect().top") < PHONE_HEIGHT - 60
    assert page.evaluate("document.querySelector('#facets-box').open") is False
    _header_fits(page, "search")
    page.click("#facets-box > summary")
    facets = page.text_content("#facets")
    assert "case_id" not in facets and case_id not in facets
    names = {"ky": ("Иш", "Кыргызча", "Орусча", "Тил"), "ru": ("Дело", "Кыргызский", "Русский", "Язык")}[lang]
    headings = page.locator("#facets h2").all_text_contents()
    assert names[0] in headings and names[3] in headings, headings
    buttons = page.locator("#facets button").all_text_contents()
    assert any(b.startswith(f"{ref} — Beating in temporary detention") for b in buttons), buttons
    assert any(b.startswith(names[1]) for b in buttons) and any(b.startswith(names[2]) for b in buttons), buttons
    assert not any(b.split(" (")[0] in ("ky", "ru", "en") for b in buttons)
    web.shot(page, f"{lang}-search-facets")
    # A facet narrows the search: the Kyrgyz-language record only.
    page.locator("#facets button", has_text=names[1]).click()
    page.wait_for_function("() => document.querySelectorAll('#hits li').length === 1")
    assert page.text_content("#hits .hit-link") == "Протокол кармоо"
    # On a wide screen the filters and facets are open beside the results.
    wide = _phone(web, lawyer, lang)
    wide.set_viewport_size({"width": 1280, "height": 900})
    _search(wide, url, "протокол", 2)
    # (the facets are drawn once the case names are loaded, after the total is shown)
    wide.wait_for_function("() => document.querySelector('#facets-box').open && document.querySelector('#more-filters').open")
    assert wide.is_visible("#s-region") and wide.locator("#facets h2").count() >= 2
    web.shot(wide, f"{lang}-search-wide")
    assert page.errors == [] and wide.errors == []


def test_only_the_latest_case_record_is_listed_and_searched(web, lawyer, case_id, tmp_path):
    url = web.url
    photo = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries")
    first = web.upload_record(lawyer, case_id, web.browser_record(photo))
    page = _phone(web, lawyer, "ky")
    # Two saves in the browser, most likely within the same second (the server's upload times are in
    # seconds): each names the record it replaces, so the second is the latest all the same.
    page.goto(f"{url}/cases/{case_id}/record")
    page.wait_for_selector("#record-state.ok")
    saves = [first]
    for _ in range(2):
        page.click("#record-button")
        page.wait_for_selector("#record-saved:not([hidden])")
        saves.append(page.get_attribute("#queue [data-item-id]", "data-item-id") or "")
        page.evaluate("document.querySelector('#record-saved').hidden = true")
    items = requests.get(f"{url}/api/v1/cases/{case_id}/items", timeout=30,
                         headers=web.bearer(lawyer.username, lawyer.password)).json()["items"]
    records = [i for i in items if i["evidence_type"] == "case_record"]
    by_id = {i["id"]: i for i in records}
    assert len(records) == 3 and by_id[saves[1]]["metadata"]["supersedes"] == first
    assert by_id[saves[2]]["metadata"]["supersedes"] == saves[1]
    from vault.client.export import latest_record

    assert latest_record(records)["id"] == saves[2]  # the Python client opens the same record
    page.goto(f"{url}/cases/{case_id}")
    page.wait_for_selector("#item-list[aria-busy=false]")
    top = page.locator("#item-list > ul > li")
    assert top.count() == 2  # the photo and the latest record
    shown = [li.get_attribute("data-item-id") for li in top.all()]
    assert shown == [photo, saves[-1]], (shown, photo, saves)
    older = page.locator(f'li[data-item-id="{saves[-1]}"] details.older')
    assert older.locator("summary").text_content() == "Мурунку версиялар (2)"
    assert not older.locator("li").first.is_visible()
    older.locator("summary").click()
    assert [li.get_attribute("data-item-id") for li in older.locator("li").all()] == [saves[1], saves[0]]
    assert older.locator("li").first.is_visible()
    web.shot(page, "ky-case-record-versions")
    _header_fits(page, "case")
    # Search leaves the superseded saves out (the server knows each item's type and metadata, not its content).
    headers = web.bearer(lawyer.username, lawyer.password)

    def found(include: bool) -> list[str]:
        body = {"q": "", "filters": {"evidence_type": ["case_record"], "case_id": [case_id], "include_superseded": include}}
        got = requests.post(f"{url}/api/v1/search", json=body, headers=headers, timeout=30).json()
        return sorted(h["item_id"] for h in got["hits"])

    for _ in range(60):  # the index is fed through an outbox by a background writer
        if found(True) == sorted(saves) and found(False) == [saves[-1]]:
            break
        page.wait_for_timeout(500)
    assert found(True) == sorted(saves) and found(False) == [saves[-1]]
    _search(page, url, "", 2)
    assert sorted(page.locator("#hits .hit-link").evaluate_all("els => els.map(e => e.href.split('/').pop())")) \
        == sorted([photo, saves[-1]])
    assert page.errors == []


def test_the_forensic_report_picker_lists_forensic_reports_only(web, lawyer, case_id):
    url = web.url
    web.upload(lawyer, case_id, "statement.bin", b"a statement video", "Statement video", "video")
    report = web.upload_report(lawyer, case_id, "Др. Өмүрбек Ташиев")
    page = _phone(web, lawyer, "ru")
    page.goto(f"{url}/cases/{case_id}/record")
    page.wait_for_selector("#record-state:not(:empty)")
    options = page.evaluate("""() => [...document.querySelector('#tpl-exam').content
        .querySelector('[data-path="report_item"]').options].map(o => o.value)""")
    assert options == ["", report]
    web.shot(page, "ru-record")
    _header_fits(page, "record")
    assert page.errors == []


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_every_header_is_compact_at_phone_width(web, admin, lawyer, case_id, lang):
    url = web.url
    photo = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries")
    anon = web.page(phone=True, lang=lang)
    anon.goto(f"{url}/login")
    _header_fits(anon, "login")
    anon.screenshot(path=f"/tmp/ui-shots/{lang}-header-login.png")
    anon.goto(f"{url}/field/{lang}")
    anon.wait_for_selector("#field-unlock:not([disabled])")
    _header_fits(anon, "field")
    page = _phone(web, lawyer, lang)
    pages = {"cases": ("/cases", "#case-list[aria-busy=false]"), "case": (f"/cases/{case_id}", "#item-list[aria-busy=false]"),
             "upload": (f"/cases/{case_id}/upload", None), "item": (f"/items/{photo}", "#verify-state.ok"),
             "record": (f"/cases/{case_id}/record", "#record-state:not(:empty)"),
             "forensic": (f"/cases/{case_id}/forensic", None), "export": (f"/cases/{case_id}/export", "#exporters li"),
             "account": ("/account", None), "search": ("/search", None)}
    for name, (path, ready) in pages.items():
        page.goto(url + path)
        if ready:
            page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        _header_fits(page, name)
        page.screenshot(path=f"/tmp/ui-shots/{lang}-header-{name}.png")  # the first screen: what a phone shows
    admin_page = _phone(web, admin, lang)
    admin_page.goto(f"{url}/admin")
    admin_page.wait_for_selector("#users tbody tr")
    _header_fits(admin_page, "admin")
    admin_page.screenshot(path=f"/tmp/ui-shots/{lang}-header-admin.png")
    assert page.errors == [] and admin_page.errors == [] and anon.errors == []
