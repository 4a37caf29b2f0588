"""What the browser is protected by: headers and CSP on every page, the CSRF token, script in a title, NFC passwords.

Each test makes its own people and case on the module's server (tests/web/conftest.py).
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

XSS_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
VICTIM = "Айгерим Токтосунова-Үмөт"


def test_script_in_a_title_is_shown_as_text_and_never_runs(web, lawyer, case_id, tmp_path):
    url, tmp = web.url, tmp_path
    page = web.signed_in(lawyer)
    f = tmp / "note.txt"
    f.write_text("note", encoding="utf-8")
    page.goto(f"{url}/cases/{case_id}/upload")
    page.wait_for_selector("#upload-button:not([disabled])")
    page.set_input_files("#files", [str(f)])
    page.fill("#m-title", XSS_TITLE)
    page.click("#upload-button")
    page.wait_for_selector("#queue li.upload.done")
    item = page.get_attribute("#queue li.upload.done", "data-item-id")
    for path in (f"/cases/{case_id}", f"/items/{item}"):
        page.goto(url + path)
        page.wait_for_function("t => document.body.textContent.includes(t)", arg="<script>window.__xss=1</script>")
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        assert page.locator("main script").count() == 0 and page.locator("main img[src=x]").count() == 0


def test_every_page_sends_the_csp_and_safe_headers(web, lawyer, case_id):
    url = web.url
    web.sealed.append(VICTIM.encode())
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries", sealed={"victim": VICTIM})
    s = requests.Session()
    token = requests.post(f"{url}/api/v1/auth/login", json=web.auth(lawyer.username, lawyer.password),
                          timeout=30).json()["token"]
    s.cookies.set("vault_session", token)
    paths = ["/", "/login", "/setup", "/register", "/cases", f"/cases/{case_id}", f"/cases/{case_id}/upload",
             f"/cases/{case_id}/forensic", f"/cases/{case_id}/record", f"/cases/{case_id}/export",
             f"/items/{photo_item}",
             "/search", "/account", "/admin", "/i18n/ky.json", "/static/js/app.js"]
    for p in paths:
        r = s.get(url + p, allow_redirects=False, timeout=30)
        assert r.status_code in (200, 302, 403), (p, r.status_code)
        csp = r.headers["Content-Security-Policy"]
        for rule in ("default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "object-src 'none'",
                     "base-uri 'none'", "frame-ancestors 'none'", "img-src 'self' blob: data:", "form-action 'self'"):
            assert rule in csp, (p, rule)
        assert "unsafe-inline" not in csp
        assert r.headers["Referrer-Policy"] == "no-referrer"
        if r.headers.get("Content-Type", "").startswith("text/html"):
            assert "<script>" not in r.text and " style=" not in r.text and " on" + "click=" not in r.text
    # A cookie-authenticated state change without the CSRF token is refused; with it, allowed.
    r = s.patch(f"{url}/api/v1/me", json={"language": "ky"}, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = s.post(f"{url}/web/logout", data={}, allow_redirects=False, timeout=30)
    assert r.status_code == 403
    page_html = s.get(f"{url}/cases", timeout=30).text
    csrf = page_html.split('name="csrf-token" content="')[1].split('"')[0]
    r = s.patch(f"{url}/api/v1/me", json={"language": "en"}, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert r.status_code == 200
    # The session cookie is HttpOnly and SameSite=Strict.
    r = requests.post(f"{url}/web/session", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_passwords_are_normalised_to_nfc_before_key_derivation(web, admin, tmp_path):
    import unicodedata

    from vault.client.session import ClientSession

    url, tmp = web.url, tmp_path
    invitation = admin.session.invite("lawyer")["code"]
    composed = "Jöö-Ämänbek-Üülü-7"  # as one keyboard types it
    decomposed = unicodedata.normalize("NFD", composed)  # as another does
    assert decomposed != composed
    web.sealed.append(composed.encode())
    page = web.page()
    web.register(page, invitation, "dinara", decomposed)
    web.login(page, "dinara", composed)
    assert page.url.endswith("/cases")
    # The Python client derives from the same (NFC) password.
    assert ClientSession.login(url, "dinara", composed, home=tmp / "py-dinara").username == "dinara"
    page.context.close()


# What follows ?next= on the sign-in page, as an attacker would put it in a link.
HOSTILE_NEXT = ["/%5Cevil.example/phish", "/\\evil.example/phish", "//evil.example/phish", "https%3A%2F%2Fevil.example%2Fphish",
                "javascript:alert(1)", "/%09/evil.example/phish", "%2F%5C%09evil.example", "/.//evil.example/phish"]


def test_a_hostile_next_after_sign_in_stays_on_the_vault(web, lawyer):
    from urllib.parse import urlsplit

    own = urlsplit(web.url).netloc
    for raw in [*HOSTILE_NEXT, "/account"]:
        page = web.page()
        left: list[str] = []

        def elsewhere(route, request, left=left):
            left.append(request.url)
            route.fulfill(status=200, content_type="text/html", body="<p>phished</p>")

        page.context.route(lambda url: urlsplit(url).netloc != own, elsewhere)
        page.goto(f"{web.url}/login?next={raw}")
        page.fill("#username", lawyer.username)
        page.fill("#password", lawyer.password)
        page.click("#login-button")
        web.pass_org_prompt(page)
        page.wait_for_url(lambda u: "/login" not in u)
        page.wait_for_load_state()
        assert urlsplit(page.url).netloc == own and left == [], (raw, page.url, left)
        if raw == "/account":  # a next on the vault itself still works
            assert urlsplit(page.url).path == "/account"
        assert page.errors == []
        page.context.close()
