"""Search in the browser pages through its results (20 a page), with facets on every page.

The test makes its own lawyer, case and evidence on the module's server
(tests/web/conftest.py); search shows only the cases the lawyer is in.
The facets of a first search are checked in test_journey.py.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")


def test_search_pages_through_the_results(web, lawyer, case_id, tmp_path):
    from vault.client.session import ClientSession
    from vault.client.transfer import upload_file

    url, tmp = web.url, tmp_path
    sess = ClientSession.login(url, lawyer.username, lawyer.password, home=tmp / "py-aigul")
    f = tmp / "paging.txt"
    f.write_text("a page of evidence", encoding="utf-8")
    for n in range(21):
        upload_file(sess, case_id, f, {"title": f"Detention register page {n + 1}", "evidence_type": "document"})
    page = web.signed_in(lawyer)
    page.goto(f"{url}/search")
    for _ in range(60):  # the index is fed through an outbox by a background writer
        page.fill("#q", "register")
        page.click("#search-form button[type=submit]")
        page.wait_for_function("() => document.querySelector('#total').textContent")
        if page.text_content("#total").startswith("21 "):
            break
        page.wait_for_timeout(500)
    assert page.text_content("#total").startswith("21 ")
    assert page.locator("#hits li").count() == 20 and page.is_disabled("#page-prev")
    assert "Page 1 of 2" in page.text_content("#page-info")
    page.click("#page-next")
    page.wait_for_function("() => document.querySelector('#hits').start === 21")
    assert page.locator("#hits li").count() == 1 and page.is_disabled("#page-next")
    assert "Page 2 of 2" in page.text_content("#page-info") and page.locator("#facets button").count() > 0
    page.click("#page-prev")
    page.wait_for_function("() => document.querySelectorAll('#hits li').length === 20")
    titles = page.locator("#hits .hit-link").all_text_contents()
    assert all("Detention register page" in x for x in titles)
    assert page.errors == []
