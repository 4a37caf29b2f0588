"""A dishonest server and the field app's copy of the keys (issue #15).

A rewriting proxy in front of gunicorn answers the field app's sign-in with
keys of its choosing. The page must refuse, and keep no copy on the device: a
copy that does not open with her password, or whose public keys are not the
ones her private keys make, would lock her out in the field or have her sign
with keys that are not hers.
"""

from __future__ import annotations

import pytest

from vault import crypto
from vault.crypto import b64e

COPIES = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open("vault-field", 1);
  req.onupgradeneeded = () => req.result.createObjectStore("copies", { keyPath: "slot" });
  req.onsuccess = () => { const tx = req.result.transaction("copies", "readonly");
    const all = tx.objectStore("copies").getAll(); all.onsuccess = () => { req.result.close(); resolve(all.result.length); }; };
  req.onerror = () => reject(req.error); })"""


@pytest.fixture
def proxy(web):
    from tests.rewriting_proxy import RewritingProxy

    rules: dict = {}
    p = RewritingProxy(web.url, lambda m, path, status, body: rules["fn"](m, path, status, body) if "fn" in rules else None)
    p.rules = rules
    yield p
    p.stop()


def _attacker_keys() -> crypto.UserKeys:
    return crypto.UserKeys.generate()


@pytest.mark.parametrize("swap", ["blob", "public_keys"])
def test_the_field_app_keeps_no_copy_of_keys_the_server_swapped(web, lawyer, proxy, swap):
    page = web.page(phone=True)
    web.login(page, lawyer.username, lawyer.password, base=proxy.url)
    fake = _attacker_keys()

    def rewrite(method, path, status, body):
        if path != "/api/v1/auth/login" or status != 200:
            return None
        user = body["user"]
        if swap == "blob":  # the attacker's own keys, under a key the attacker chose
            kek = crypto.random_key()
            user["enc_private_keys"] = b64e(crypto.encrypt_user_keys(kek, lawyer.username, fake))
            user["box_public"], user["sign_public"] = b64e(fake.box_public), b64e(fake.sign_public)
        else:  # her real blob, and the attacker's public keys beside it
            user["box_public"], user["sign_public"] = b64e(fake.box_public), b64e(fake.sign_public)
        return body

    proxy.rules["fn"] = rewrite
    page.goto(f"{proxy.url}/field/en")
    page.fill("#field-username", lawyer.username)
    page.fill("#field-password", lawyer.password)
    page.click("#field-unlock")
    page.wait_for_selector("#alert:not([hidden])")
    assert page.is_hidden("#capture")
    assert proxy.rewritten, "the proxy never answered the sign-in"
    assert page.evaluate(COPIES) == 0
    text = page.text_content("#alert")
    said = {"blob": "the password is wrong, or the data was altered",
            "public_keys": "public keys that are not the ones your password opens"}[swap]
    assert said in text, text
