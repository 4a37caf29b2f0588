"""The language a person uses is kept: chosen on the sign-in page it becomes the account's, else the account's
own applies after sign-in, on every page (server-rendered text and the scripts' strings); dates and numbers
in each language's own forms (Kyrgyz from CLDR "ky", which Chromium lacks); the sign-in page points to /setup
while the vault has no admin; open invitations listed with their role and revoked; the audit log in words.

Screenshots at 390 px in ky and ru go to /tmp/ui-shots (login, account, admin).
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.web.conftest import Web

# Kyrgyz CLDR (Babel's "ky"): "y-'ж'., d-MMM" + "HH:mm", e.g. «2026-ж., 2-дек. 10:00»; never the Russian «2 дек. 2026 г.».
KY_DATETIME = re.compile(r"^\d{4}-ж\., \d{1,2}-[а-яңөү]+\.? \d{2}:\d{2}$")
RU_DATETIME = re.compile(r"^\d{1,2} [а-я]+\.? \d{4}\s?г\., \d{2}:\d{2}$")
RAW_ID = re.compile(r"\b[0-9a-f]{32}\b|\b(user|case|item|invitation):")

TRANSLATIONS = Path(__file__).resolve().parents[2] / "vault" / "translations"
_n = iter(range(1, 1000))


def saved_language(web: Web, username: str) -> str:
    """users.language as the database holds it."""
    engine = create_engine(web.env.config.db_url)
    try:
        with engine.connect() as c:
            return c.execute(text("SELECT language FROM users WHERE username = :u"), {"u": username}).scalar_one()
    finally:
        engine.dispose()


def switch_language(page, lang: str) -> None:
    """The header's language switcher, as a person uses it (it submits on change)."""
    with page.expect_navigation():
        page.select_option("#language-select", lang)
    assert page.get_attribute("html", "lang") == lang


def register_in(web: Web, admin, lang: str, role: str = "lawyer") -> tuple[str, str]:
    """A person registered in the browser on a page in `lang` (chosen with the switcher); (username, password)."""
    code = admin.session.invite(role)["code"]
    username, password = f"lang-{lang}-{next(_n)}", f"Пароль-Сөз-{lang}-web-1"
    page = web.page(phone=True)
    page.goto(f"{web.url}/register#{code}")
    page.wait_for_selector("#register-button:not([disabled])")
    switch_language(page, lang)  # the code survives the switch: the page navigates with it in the fragment
    page.wait_for_selector("#register-button:not([disabled])")
    assert page.input_value("#invitation") == code and "#" not in page.url and "lang=" not in page.url
    web.sealed.append(password.encode())
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#password2", password)
    page.click("#register-button")
    page.wait_for_selector("#register-done:not([hidden])")
    page.context.close()
    assert saved_language(web, username) == lang
    return username, password


def sign_in_choosing(web: Web, username: str, password: str, lang: str | None, phone: bool = True):
    """Sign in on a fresh browser (English by default), first picking `lang` with the switcher if given."""
    page = web.page(phone=phone)
    page.goto(f"{web.url}/login")
    if lang:
        switch_language(page, lang)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-button")
    web.pass_org_prompt(page)
    page.wait_for_url(lambda u: "/login" not in u)
    return page


def tr(lang: str, msgid: str) -> str:
    """The catalog's translation (the .mo the server uses)."""
    return gettext.translation("messages", localedir=str(TRANSLATIONS), languages=[lang], fallback=True).gettext(msgid)


def norm(text_: str) -> str:
    return " ".join(text_.replace("\u202f", " ").replace("\xa0", " ").split())


def assert_pages_in(page, web: Web, lang: str) -> None:
    """Every page after sign-in in `lang`: <html lang>, server-rendered text and the scripts' strings."""
    nav = " ".join(tr(lang, m) for m in ("Cases", "Search", "Account"))
    for path in ("/cases", "/search", "/account"):
        page.goto(f"{web.url}{path}")
        assert page.get_attribute("html", "lang") == lang, path
        assert norm(page.text_content("header nav")) == nav, path
    page.wait_for_function("() => document.querySelector('#totp-state').textContent !== ''")
    assert page.text_content("#totp-state") == tr(lang, "off") != "off"  # a t() string of account.js
    assert page.text_content("#password-title") == tr(lang, "Change your password")  # a template string
    assert page.errors == []


def test_sign_in_page_links_to_setup_until_an_admin_exists(web, request):
    for lang in ("ky", "ru"):
        page = web.page(phone=True, lang=lang)
        missing: list[str] = []
        page.on("response", lambda r, missing=missing: missing.append(r.url) if r.status >= 400 else None)
        page.goto(f"{web.url}/login")
        page.wait_for_selector("#login-button:not([disabled])")
        icon = page.get_attribute('link[rel="icon"]', "href")
        got = page.request.get(f"{web.url}{icon}")
        assert got.status == 200 and got.headers["content-type"].startswith("image/svg+xml")
        assert page.request.get(f"{web.url}/favicon.ico").status == 200
        assert missing == []
        link = page.locator("#setup-link a")
        assert link.get_attribute("href") == "/setup"
        web.shot(page, f"lang-login-setup-{lang}")
        link.click()
        page.wait_for_url("**/setup")
        assert page.get_attribute("html", "lang") == lang
    request.getfixturevalue("admin")  # the first admin registers (with the root's invitation)
    page.goto(f"{web.url}/login")
    assert page.locator("#setup-link").count() == 0
    page.goto(f"{web.url}/setup")
    assert page.locator("#admin-exists").is_visible()  # "This vault already has an admin…"


@pytest.mark.parametrize(("registered", "chosen"), [("ky", "ru"), ("ru", "ky")])
def test_language_chosen_at_sign_in_is_the_accounts(web, admin, registered, chosen):
    username, password = register_in(web, admin, registered)
    page = sign_in_choosing(web, username, password, chosen)
    assert saved_language(web, username) == chosen
    assert_pages_in(page, web, chosen)
    web.shot(page, f"lang-account-{chosen}")
    # Signed out and back in on a browser left at its default: the account's language, not English.
    page.context.close()
    page = sign_in_choosing(web, username, password, None)
    assert_pages_in(page, web, chosen)
    assert saved_language(web, username) == chosen


def test_account_language_applies_without_a_choice(web, admin):
    username, password = register_in(web, admin, "ky")
    page = sign_in_choosing(web, username, password, None)  # the sign-in page was in English
    assert saved_language(web, username) == "ky"
    assert_pages_in(page, web, "ky")
    page.goto(f"{web.url}/login")  # signed in, the language cookie is the account's
    assert page.get_attribute("html", "lang") == "ky"


@pytest.mark.parametrize(("lang", "day", "size"), [
    ("ky", "2026-ж., 2-декабрь", "1,5 МБ"), ("ru", "2 декабря 2026 г.", "1,5 МБ"), ("en", "December 2, 2026", "1.5 MB")])
def test_dates_and_numbers_in_each_languages_own_forms(web, lawyer, case_id, lang, day, size):
    web.upload(lawyer, case_id, "statement.pdf", b"%PDF-1.4 " + b"x" * (1536 * 1024), "Statement")
    page = web.signed_in(lawyer, phone=True)
    page.goto(f"{web.url}/cases")
    switch_language(page, lang)  # signed in: saved to the account
    assert saved_language(web, lawyer.username) == lang
    # Chromium has no Kyrgyz: its Intl answers "ky" in English, so the page formats from CLDR "ky" (Babel).
    assert page.evaluate("Intl.DateTimeFormat.supportedLocalesOf(['ky'])") == []
    page.goto(f"{web.url}/cases/{case_id}")
    meta = page.locator("main .meta", has_text=size).first
    meta.wait_for()
    when = norm(meta.text_content()).rsplit(" · ", 1)[-1]
    form = {"ky": KY_DATETIME, "ru": RU_DATETIME, "en": re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M$")}
    assert form[lang].match(when), when
    # A date field: the browser draws it in its own locale (mm/dd/yyyy in an English Chromium, whatever
    # the page's lang), so the page writes the chosen day out under it in the page's language.
    page.goto(f"{web.url}/search")
    page.wait_for_selector("#search-form button[type=submit]:not([disabled])")
    date_input = page.locator('input[type="date"]').first
    assert date_input.get_attribute("lang") == lang
    if not page.evaluate("document.querySelector('#more-filters').open"):
        page.click("#more-filters > summary")  # on a phone the date filters are folded away
    date_input.fill("2026-12-02")
    echo = page.locator(".date-echo").first
    assert norm(echo.text_content()) == day
    assert date_input.get_attribute("aria-describedby").split()[-1] == echo.get_attribute("id")
    if lang != "en":
        web.shot(page, f"lang-search-date-{lang}")


@pytest.mark.parametrize("lang", ["ru", "ky"])
def test_invitations_listed_with_role_revoked_and_audit_in_words(web, admin, lang):
    page = web.signed_in(admin, phone=True)
    page.goto(f"{web.url}/admin")
    switch_language(page, lang)
    page.on("dialog", lambda d: d.accept())
    page.select_option("#invite-role", "medic")
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("#invite-result:not([hidden])")
    code = page.text_content("#invite-code")
    token = code.split(":")[1]
    row = page.locator('#open-invitations li[data-role="medic"]').first
    row.wait_for()
    assert norm(row.text_content()).startswith(tr(lang, "medic"))
    assert token not in page.inner_html("#open-invitations")  # the list never carries the token
    inv_id = row.get_attribute("data-invitation")
    page.wait_for_selector("#audit tbody tr")
    web.shot(page, f"lang-admin-{lang}")
    page.click(f'[data-revoke="{inv_id}"]')
    page.wait_for_selector(f'#open-invitations li[data-invitation="{inv_id}"]', state="detached")
    # The audit log: translated actions, people by name, never a raw id; times in the language's form.
    revoked = tr(lang, "Invitation revoked")
    page.wait_for_function(f"() => [...document.querySelectorAll('#audit tbody td')].some(td => td.textContent === '{revoked}')")
    rows = page.eval_on_selector_all("#audit tbody tr", "trs => trs.map(tr => [...tr.cells].map(c => c.textContent))")
    mine = next(r for r in rows if r[3] == revoked)
    assert mine[2] == admin.username and mine[4] == tr(lang, "invitation ({role})").format(role=tr(lang, "medic"))
    actions = {r[3] for r in rows}
    signed_in = tr(lang, "Signed in")
    assert signed_in in actions and not any(re.fullmatch(r"[a-z_]+", a) for a in actions)
    assert any(r[3] == signed_in and r[4] == admin.username for r in rows)  # the object: a name, not user:<id>
    for r in rows:
        assert not RAW_ID.search(" ".join(r[2:])), r
        assert (KY_DATETIME if lang == "ky" else RU_DATETIME).match(norm(r[1])), r[1]
    page.locator("#audit-title").scroll_into_view_if_needed()
    web.shot(page, f"lang-admin-audit-{lang}")
    # The revoked code no longer registers anyone.
    other = web.page(phone=True, lang=lang)
    refusal = web.register(other, code, f"revoked-{lang}-{next(_n)}", "revoked-Pässwörd-web-1", expect_refusal=True)
    assert refusal.strip()
    assert saved_language_count(web, f"revoked-{lang}") == 0


def saved_language_count(web: Web, prefix: str) -> int:
    engine = create_engine(web.env.config.db_url)
    try:
        with engine.connect() as c:
            return c.execute(text("SELECT count(*) FROM users WHERE username LIKE :p"), {"p": prefix + "%"}).scalar_one()
    finally:
        engine.dispose()
