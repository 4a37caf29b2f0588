"""The account in the browser: the second factor, a password change, a re-keyed colleague, a swapped recovery key.

Each test makes its own people and case on the module's server; a swapped
recovery key is put back in a `finally`. The passwords and sealed fields
used here are swept for on the server's data folder when the module ends
(tests/web/conftest.py).
"""

from __future__ import annotations

import base64

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


def test_a_rekeyed_colleague_is_trusted_again_only_once_certified(web, admin, lawyer, case_id, make_user, tmp_path):
    from vault import crypto
    from vault.client.session import register as py_register

    url, tmp = web.url, tmp_path
    medic = make_user("medic", "bakyt")
    third = make_user("lawyer", "kanat")
    lawyer.session.add_member(case_id, medic.username)
    lawyer.session.add_member(case_id, third.username)
    web.sealed += [VICTIM.encode(), CLINICIAN.encode()]
    photo_item = web.upload_photo(lawyer, case_id, "injuries.png", "Injuries", sealed={"victim": VICTIM})
    report_item = web.upload_report(medic, case_id, CLINICIAN)  # signed with the medic's first key
    page = web.signed_in(lawyer)
    page.goto(f"{url}/items/{report_item}")
    page.wait_for_selector("#verify-state.ok")
    # The admin lets the medic re-key after a lost password: new keys, not certified yet.
    code = admin.session.invite("medic", reset_username=medic.username)["code"]
    new_password = "medic-new-Pässwörd-4"
    web.sealed.append(new_password.encode())
    py_register(url, code, medic.username, new_password, home=tmp / "py-bakyt-new")
    new = requests.get(f"{url}/api/v1/users/{medic.username}", timeout=30,
                       headers=web.bearer(lawyer.username, lawyer.password)).json()
    new_fpr = crypto.fingerprint(base64.b64decode(new["box_public"]), base64.b64decode(new["sign_public"]))
    # Evidence keeps verifying: the report's key is the one the case's signed chain recorded for the medic.
    for item in (photo_item, report_item):
        page.goto(f"{url}/items/{item}")
        page.wait_for_selector("#verify-state.ok")
    page.wait_for_selector("#forensic:not([hidden]) .forensic-doc")  # the report is read as a document
    assert CLINICIAN in page.text_content("#forensic")
    # The case page shows the new keys' fingerprint, computed in the page, as not verified …
    page.goto(f"{url}/cases/{case_id}")
    row = page.locator(f'#member-list li[data-user="{medic.username}"]')
    row.wait_for()
    assert new_fpr in row.text_content() and row.locator(".badge.bad").count() == 1
    web.shot(page, "rekeyed-colleague")
    # … and a new case key is not sealed to them: removing someone is refused, saying why.
    page.on("dialog", lambda d: d.accept())
    page.click(f'#member-list [data-remove="{third.username}"]')
    page.wait_for_selector("#alert:not([hidden])")
    assert medic.username in page.text_content("#alert") and "not certified" in page.text_content("#alert")
    assert lawyer.session.case(case_id)["key_version"] == 1
    # Once the admin certified the new keys, the same removal goes through.
    assert admin.session.certify_pending(only=medic.username) == [medic.username]
    page.reload()
    row.locator(".badge.ok").wait_for()
    page.click(f'#member-list [data-remove="{third.username}"]')
    page.wait_for_selector(f'#member-list li[data-user="{third.username}"]', state="detached")
    assert lawyer.session.case(case_id)["key_version"] == 2
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


def test_a_swapped_recovery_key_is_ignored_and_shown(web, lawyer):
    from sqlalchemy import select

    from vault import crypto
    from vault.db.models import CaseKey, CaseKeyVersion
    from vault.services.vault import open_vault

    url, env = web.url, web.env
    page = web.signed_in(lawyer)
    page.goto(f"{url}/account")
    page.wait_for_function("() => document.querySelector('#org-fingerprint').textContent.trim() !== ''")
    assert page.text_content("#org-fingerprint") == web.org_fingerprint  # computed in the page, as on the kit
    assert page.is_hidden("#org-change")
    original = crypto.box_public_from_secret(env.recovery_secret)
    _rogue_secret, rogue_public = crypto.generate_box_keypair()
    _set_recovery_public(env, rogue_public)  # a server that swaps the key every new case key is sealed to
    try:
        page.goto(f"{url}/cases")
        page.fill("#reference", "KG-2026-666")
        page.fill("#case-title", "Sealed to the pinned recovery key")
        page.select_option("#case-region", "osh_city")
        page.click("#case-form button[type=submit]")
        page.wait_for_url("**/cases/*")
        case_id = page.url.rstrip("/").split("/")[-1]
        page.goto(f"{url}/account")
        page.wait_for_selector("#org-change:not([hidden])")
        assert page.text_content("#org-fingerprint") == web.org_fingerprint
        root = crypto.sign_public_from_seed(crypto.root_sign_seed(env.recovery_secret))
        assert page.text_content("#org-server-fingerprint") == crypto.org_fingerprint(rogue_public, root)
        web.shot(page, "recovery-key-swapped")
    finally:
        _set_recovery_public(env, original)
    # The new case key went to the kit's recovery key, not the server's: the paper kit opens it.
    v = open_vault(env.config)
    try:
        with v.db.session() as s:
            sealed = s.execute(select(CaseKey).where(CaseKey.case_id == case_id, CaseKey.recipient == "recovery")
                               ).scalar_one().sealed
            check = s.get(CaseKeyVersion, (case_id, 1)).check
    finally:
        v.db.dispose()
    assert crypto.case_key_check(crypto.unseal(env.recovery_secret, sealed)) == check
    page.goto(f"{url}/account")
    page.wait_for_function("() => document.querySelector('#org-fingerprint').textContent.trim() !== ''")
    assert page.is_hidden("#org-change")
    assert page.errors == []
