"""The field app at phone width in Kyrgyz and Russian (issue #15): translated states, compact, no raw data.

Screenshots go to /tmp/ui-shots: the locked shell, the outbox waiting with no
connection, the outbox once sent, and the item page of a field capture with
its checked capture statement.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.support import Translations

from tests.tcpproxy import Proxy

CATALOGS = Path(__file__).resolve().parents[2] / "vault" / "translations"


class Words:
    """What the page must say in a language: the catalog's words, not retyped here."""

    def __init__(self, lang: str):
        self.tr = Translations.load(str(CATALOGS), [lang])

    def __getitem__(self, msgid: str) -> str:
        text = self.tr.gettext(msgid)
        assert text != msgid, f"no translation of {msgid!r}"
        return text


@pytest.fixture
def proxy(web):
    p = Proxy(int(web.url.rsplit(":", 1)[1]))
    yield p
    p.close()


@pytest.mark.parametrize("lang", ["ky", "ru"])
def test_the_field_app_on_a_phone_speaks_the_language_and_shows_its_states(web, lawyer, case_id, proxy, lang):
    words = Words(lang)
    lawyer.session.http.call("PATCH", "/me", json={"language": lang})  # her pages after sign-in speak it too
    ctx = web.browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    web.login(page, lawyer.username, lawyer.password, base=proxy.url)
    page.goto(f"{proxy.url}/field/{lang}")
    page.wait_for_selector("#field-unlock:not([disabled])")
    assert page.evaluate("document.documentElement.lang") == lang
    header = page.eval_on_selector("header.top", "e => e.getBoundingClientRect().height")
    assert header <= 130, f"the header takes {header} px of the phone's screen"
    web.shot(page, f"field-{lang}-locked")

    page.fill("#field-username", lawyer.username)
    page.fill("#field-password", lawyer.password)
    page.click("#field-unlock")
    page.wait_for_selector("#capture:not([hidden])")
    page.wait_for_function("() => caches.keys().then(ks => ks.some(k => k.startsWith('vault-shell-')))")
    proxy.go_down()
    ctx.set_offline(True)
    page.select_option("#capture-case", case_id)
    page.fill("#capture-title-input", {"ky": "Күбөнүн көрсөтмөсү, Өзгөн", "ru": "Показания свидетеля, Узген"}[lang])
    page.fill("#note-text", {"ky": "Түнкүсүн келишип, көзүн таңып алып кетишти.", "ru": "Пришли ночью, завязали глаза и увезли."}[lang])
    page.click("#note-save")
    page.wait_for_selector("#outbox-list li[data-state=waiting]")
    state = page.text_content("#outbox-list li .state")
    assert state == words["Waiting for a connection"], state
    assert page.text_content("#link-state") == words["No connection: what you capture waits on this device, encrypted."]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide: it scrolls sideways on a phone"
    web.shot(page, f"field-{lang}-offline-outbox")

    proxy.come_up()
    ctx.set_offline(False)
    page.wait_for_selector("#outbox-empty:not([hidden])", timeout=120_000)
    assert page.text_content("#outbox-sent") == words["Sent to the vault: {n}"].replace("{n}", "1")
    web.shot(page, f"field-{lang}-sent")

    item = next(i for i in lawyer.session.http.get(f"/cases/{case_id}/items")["items"] if i["evidence_type"] == "statement")
    page.goto(f"{proxy.url}/items/{item['id']}")
    page.wait_for_selector("#verify-state.ok")
    sealed = page.text_content("#sealed")
    assert words["Captured (device clock)"] in sealed and words["signed on the device at capture; matches this file"] in sealed
    assert "[object Object]" not in page.content() and '"payload"' not in sealed
    web.shot(page, f"field-{lang}-item")
    assert errors == []
    ctx.close()


def test_a_capture_for_a_case_she_was_removed_from_is_kept_marked_and_can_be_discarded(web, lawyer, case_id, make_user,
                                                                                        proxy):
    """Membership, not the role, opens a case: removed while offline, her capture is refused, said so in Kyrgyz."""
    words = Words("ky")
    medic = make_user("medic", "cholpon")
    lawyer.session.add_member(case_id, medic.username)
    medic.session.http.call("PATCH", "/me", json={"language": "ky"})
    ctx = web.browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.on("dialog", lambda d: d.accept())
    web.login(page, medic.username, medic.password, base=proxy.url)
    page.goto(f"{proxy.url}/field/ky")
    page.fill("#field-username", medic.username)
    page.fill("#field-password", medic.password)
    page.click("#field-unlock")
    page.wait_for_selector("#capture:not([hidden])")
    proxy.go_down()
    ctx.set_offline(True)
    page.select_option("#capture-case", case_id)
    page.fill("#note-text", "Бейтаптын абалы оор, кабыргалары сынган.")
    page.click("#note-save")
    page.wait_for_selector("#outbox-list li[data-state=waiting]")
    lawyer.session.remove_member(case_id, medic.username)  # while she is away
    proxy.come_up()
    ctx.set_offline(False)
    page.wait_for_selector("#outbox-list li[data-state=failed]", timeout=120_000)
    state = page.text_content("#outbox-list li .state")
    reason = words["You are no longer a member of this case, or it is gone. Ask a member to add you again, then try again."]
    assert state == words["Not sent: {reason}"].replace("{reason}", reason)
    web.shot(page, "field-ky-refused")
    page.click(f"#outbox-list li button:has-text('{words['Discard']}')")
    page.wait_for_selector("#outbox-empty:not([hidden])")
    assert not [i for i in lawyer.session.http.get(f"/cases/{case_id}/items")["items"] if i["evidence_type"] == "statement"]
    ctx.close()


def test_with_a_second_factor_sending_waits_for_the_code(web, make_user, proxy):
    """Unlocked offline from the device's copy, she has no session when the link returns: the page asks for the code."""
    import time

    import pyotp

    words = Words("ru")
    lawyer = make_user("lawyer", "asel")
    lawyer.session.http.call("PATCH", "/me", json={"language": "ru"})
    case_id = lawyer.session.create_case("KG-2026-TOTP", "Задержание в Бишкеке", "bishkek")["id"]
    ctx = web.browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    web.login(page, lawyer.username, lawyer.password, base=proxy.url)  # this browser pins the organisation
    totp = pyotp.TOTP(lawyer.session.totp_begin(lawyer.password)["secret"])
    step = int(time.time()) // 30
    lawyer.session.totp_confirm(lawyer.password, totp.at(step * 30))
    # A code works once, and the server accepts the next step's too: one step for each sign-in.
    page.goto(f"{proxy.url}/field/ru")
    page.fill("#field-username", lawyer.username)
    page.fill("#field-password", lawyer.password)
    page.click("#field-unlock")
    page.wait_for_selector("#field-totp-row:not([hidden])")
    page.fill("#field-totp", totp.at((step + 1) * 30))
    page.click("#field-unlock")
    page.wait_for_selector("#capture:not([hidden])")
    page.click("#field-lock")  # the page's keys go; and the session ends, as after the server's idle timeout
    page.wait_for_selector("#field-unlock:not([disabled])")
    ctx.clear_cookies(name="vault_session")
    proxy.go_down()
    ctx.set_offline(True)
    page.reload()
    page.fill("#field-username", lawyer.username)
    page.fill("#field-password", lawyer.password)
    page.click("#field-unlock")
    page.wait_for_selector("#capture:not([hidden])")
    page.select_option("#capture-case", case_id)
    page.fill("#note-text", "Адвоката не допускали двое суток.")
    page.click("#note-save")
    page.wait_for_selector("#outbox-list li[data-state=waiting]")
    proxy.come_up()
    ctx.set_offline(False)
    page.wait_for_selector("#send-totp-form:not([hidden])", timeout=120_000)
    assert page.text_content("label[for=send-totp]").strip() == words["To send, enter the 6-digit code from your authenticator app"]
    web.shot(page, "field-ru-send-totp")
    while int(time.time()) // 30 < step + 1:
        time.sleep(1)  # functional: the authenticator's next code
    page.fill("#send-totp", totp.at((step + 2) * 30))
    page.click("#send-totp-form button[type=submit]")
    page.wait_for_selector("#outbox-empty:not([hidden])", timeout=120_000)
    assert page.is_hidden("#send-totp-form")
    assert [i["evidence_type"] for i in lawyer.session.http.get(f"/cases/{case_id}/items")["items"]] == ["statement"]
    ctx.close()
