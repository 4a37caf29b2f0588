"""The account in the browser: the second factor, a password change, a member's changed key, a changed recovery key.

Each test makes its own people and case on the module's server; a changed
recovery key is put back in a `finally`. The passwords and sealed fields
used here are swept for on the server's data folder when the module ends
(tests/web/conftest.py).
"""

from __future__ import annotations

import base64
import json

import pytest
import requests

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api")

VICTIM = "Айгерим Токтосунова-Үмөт"
CLINICIAN = "Др. Өмүрбек Ташиев"
NEW_PASSWORD = "a fresh passphrase — Жаңы сырсөз"


def test_the_second_factor_goes_on_and_off_in_the_browser(web, make_user):
    import time

    import pyotp

    url = web.url
    medic = make_user("medic", "bakyt")
    page = web.signed_in(medic, phone=True)
    page.goto(f"{url}/account")
    page.wait_for_selector("#totp-start-form:not([hidden])")
    # Turning it on takes the password: a session alone (a device left signed in) cannot.
    page.click("#totp-start")
    page.wait_for_function("() => document.querySelector('#alert').textContent.includes('current password')")
    page.fill("#totp-start-password", "not the password at all")
    page.click("#totp-start")
    page.wait_for_function("() => document.querySelector('#alert').textContent.includes('password is wrong')")
    assert page.is_hidden("#totp-setup") and page.input_value("#totp-start-password") == ""
    page.fill("#totp-start-password", medic.password)
    page.click("#totp-start")
    page.wait_for_selector("#totp-setup:not([hidden])")
    totp = pyotp.TOTP(page.text_content("#totp-secret").strip())
    page.fill("#totp-code", totp.now())
    page.click("#totp-form button[type=submit]")
    page.wait_for_selector("#totp-disable-form:not([hidden])")
    assert page.is_hidden("#totp-start-form")
    page.fill("#totp-disable-code", "12345")
    page.click("#totp-disable-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#alert').textContent.includes('6 digits')")
    page.fill("#totp-disable-password", medic.password)
    page.fill("#totp-disable-code", totp.at(time.time() + 30))  # the next code: each code works once
    page.click("#totp-disable-form button[type=submit]")
    page.wait_for_selector("#totp-start-form:not([hidden])")
    assert page.is_hidden("#totp-disable-form") and page.input_value("#totp-disable-password") == ""
    me = requests.get(f"{url}/api/v1/me", timeout=30, headers=web.bearer(medic.username, medic.password)).json()
    assert me["totp_enabled"] is False
    assert page.errors == []


def test_a_changed_key_is_accepted_only_after_comparing_fingerprints(web, admin, lawyer, case_id, make_user, tmp_path):
    from vault import crypto
    from vault.client.session import register as py_register

    url, tmp = web.url, tmp_path
    medic = make_user("medic", "bakyt")
    lawyer.session.add_member(case_id, medic.username)
    web.sealed += [VICTIM.encode(), CLINICIAN.encode()]
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries", sealed={"victim": VICTIM})
    report_item = web.upload_report(medic, case_id, CLINICIAN)  # signed with the medic's first key
    keys = medic.session._require_keys()
    medic_fpr = crypto.fingerprint(keys.box_public, keys.sign_public)  # as the medic's own page shows it
    page = web.signed_in(lawyer)
    page.goto(f"{url}/items/{report_item}")  # the lawyer's browser pins the members' keys on first sight
    page.wait_for_selector("#verify-state.ok")
    # The admin resets the medic's account: new keys.
    invitation = admin.session.http.post("/admin/invitations",
                                         {"role": "medic", "reset_username": medic.username})["invitation"]
    new_password = "medic-new-Pässwörd-4"
    web.sealed.append(new_password.encode())
    py_register(url, invitation, medic.username, new_password, home=tmp / "py-bakyt-new")
    new = requests.get(f"{url}/api/v1/users/{medic.username}", timeout=30,
                       headers=web.bearer(lawyer.username, lawyer.password)).json()
    new_fpr = crypto.fingerprint(base64.b64decode(new["box_public"]), base64.b64decode(new["sign_public"]))
    assert new_fpr != medic_fpr
    # Evidence of the case is refused while a member's key changed silently.
    page.goto(f"{url}/items/{photo_item}")
    page.wait_for_selector("#alert:not([hidden])")
    assert medic.username in page.text_content("#alert") and "case page" in page.text_content("#alert")
    assert page.get_attribute("#verify-state", "class") == "verify bad"
    page.goto(f"{url}/cases/{case_id}")
    page.wait_for_selector("#key-changes:not([hidden])")
    row = page.locator(f'#key-change-list li[data-user="{medic.username}"]')
    assert row.locator(".old-fpr").text_content() == medic_fpr
    assert row.locator(".new-fpr").text_content() == new_fpr
    web.shot(page, "key-change")
    row.locator("[data-accept]").click()
    page.wait_for_selector("#key-changes", state="hidden")
    pins = json.loads(page.evaluate(f"localStorage.getItem('vault.pins.{lawyer.username}')"))
    assert (pins[medic.username]["box"], pins[medic.username]["sign"]) == (new["box_public"], new["sign_public"])
    page.goto(f"{url}/items/{photo_item}")
    page.wait_for_selector("#verify-state.ok")
    # The report the medic signed with his old key still verifies: that key was accepted when it was used.
    page.goto(f"{url}/items/{report_item}")
    page.wait_for_selector("#verify-state.ok")
    assert CLINICIAN in page.text_content("#sealed")
    assert page.errors == []


def _change_password_in_the_browser(page, url: str, current: str, new: str) -> None:
    page.goto(f"{url}/account")
    page.wait_for_selector("#password-form button[type=submit]:not([disabled])")
    page.fill("#pw-current", current)
    page.fill("#pw-new", new)
    page.fill("#pw-repeat", new)
    page.click("#password-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('changed')")
    assert page.input_value("#pw-new") == ""


def test_the_password_is_changed_in_the_browser_and_the_keys_stay(web, lawyer, case_id):
    url = web.url
    web.sealed += [VICTIM.encode(), NEW_PASSWORD.encode()]
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries", sealed={"victim": VICTIM})
    page = web.signed_in(lawyer)
    other = requests.Session()  # the lawyer signed in somewhere else, e.g. the CLI on a laptop
    other_token = web.token(lawyer.username, lawyer.password)
    # Typing mistakes are caught before anything is derived or sent.
    page.goto(f"{url}/account")
    page.wait_for_selector("#password-form button[type=submit]:not([disabled])")
    page.fill("#pw-current", lawyer.password)
    page.fill("#pw-new", NEW_PASSWORD)
    page.fill("#pw-repeat", NEW_PASSWORD + "x")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#alert:not([hidden])")
    assert "differ" in page.text_content("#alert")
    _change_password_in_the_browser(page, url, lawyer.password, NEW_PASSWORD)
    assert "other session(s) ended" in page.text_content("#status")
    gone = other.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {other_token}"}, timeout=30)
    assert gone.status_code == 401
    web.forget_token(lawyer.username)
    # Signed out and in again with the new password, the same evidence opens.
    page.click("#logout-form button[type=submit]")
    page.wait_for_url("**/login**")
    web.login(page, lawyer.username, NEW_PASSWORD)
    page.goto(f"{url}/items/{photo_item}")
    page.wait_for_selector("#verify-state.ok")
    assert VICTIM in page.text_content("#sealed")
    # And back: the first password works again.
    _change_password_in_the_browser(page, url, NEW_PASSWORD, lawyer.password)
    assert page.errors == []


def _set_recovery_public(env, public: bytes) -> None:
    from vault.db.models import Setting
    from vault.services.vault import open_vault

    v = open_vault(env.config)
    try:
        with v.db.session() as s:
            s.get(Setting, "recovery_box_public").value = base64.b64encode(public).decode()
            s.commit()
    finally:
        v.db.dispose()


def test_a_changed_recovery_key_is_refused_until_compared_with_the_paper_kit(web, lawyer):
    from vault import crypto

    url, env = web.url, web.env
    page = web.signed_in(lawyer)
    page.goto(f"{url}/account")
    # The browser computes the fingerprint itself, and it is the one printed in the kit.
    kit_fpr = crypto.fingerprint(crypto.box_public_from_secret(env.recovery_secret), b"")
    page.wait_for_function("() => document.querySelector('#recovery-fingerprint').textContent.trim() !== ''")
    assert page.text_content("#recovery-fingerprint") == kit_fpr
    assert page.is_hidden("#recovery-change")
    original = crypto.box_public_from_secret(env.recovery_secret)
    _rogue_secret, rogue_public = crypto.generate_box_keypair()
    _set_recovery_public(env, rogue_public)  # a server that swaps the key every new case key is sealed to
    try:
        page.goto(f"{url}/cases")
        page.fill("#reference", "KG-2026-666")
        page.fill("#case-title", "Must not be sealed to the rogue key")
        page.select_option("#case-region", "osh_city")
        page.click("#case-form button[type=submit]")
        page.wait_for_selector("#alert:not([hidden])")
        assert "recovery key changed" in page.text_content("#alert") and "Account" in page.text_content("#alert")
        titles = [c["title"] for c in requests.get(f"{url}/api/v1/cases", timeout=30,
                                                   headers=web.bearer(lawyer.username, lawyer.password)).json()["cases"]]
        assert "Must not be sealed to the rogue key" not in titles
        page.goto(f"{url}/account")
        page.wait_for_selector("#recovery-change:not([hidden])")
        assert page.text_content("#recovery-fingerprint") == kit_fpr
        assert page.text_content("#recovery-new-fingerprint") == crypto.fingerprint(rogue_public, b"")
        web.shot(page, "recovery-key-change")
    finally:
        _set_recovery_public(env, original)
    # Back to the key of the paper kit: nothing to accept, nothing was changed in the browser.
    page.goto(f"{url}/account")
    page.wait_for_function("() => document.querySelector('#recovery-fingerprint').textContent.trim() !== ''")
    assert page.is_hidden("#recovery-change")
    # A legitimate new key (the organisation made a new kit) is accepted with the button.
    _set_recovery_public(env, rogue_public)
    try:
        page.goto(f"{url}/account")
        page.wait_for_selector("#recovery-change:not([hidden])")
        page.click("#recovery-accept")
        page.wait_for_selector("#recovery-change", state="hidden")
        assert page.text_content("#recovery-fingerprint") == crypto.fingerprint(rogue_public, b"")
    finally:
        _set_recovery_public(env, original)
    page.goto(f"{url}/account")
    page.wait_for_selector("#recovery-change:not([hidden])")
    page.click("#recovery-accept")  # and back to the kit's key
    page.wait_for_selector("#recovery-change", state="hidden")
    assert page.text_content("#recovery-fingerprint") == kit_fpr
    assert page.errors == []
