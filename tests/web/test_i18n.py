"""Every string of the web UI is translated into Russian and Kyrgyz, and every page renders in each language.

No browser: the Flask app renders the pages (signed in through the session
cookie); the browser journey (test_journey.py) covers the JavaScript side.
"""

from __future__ import annotations

import gettext
import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from vault.web.i18n import LANGUAGES, js_msgids

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "vault" / "translations"
PYBABEL = ROOT / ".venv" / "bin" / "pybabel"


def catalog(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.fixture(scope="module")
def source_msgids(tmp_path_factory) -> set[str]:
    """What `pybabel extract` finds in the sources today (templates, Python, t()/N_() in the scripts)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    exe = str(PYBABEL) if PYBABEL.exists() else "pybabel"
    subprocess.run([exe, "extract", "-F", str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "-k", "t", "-k", "N_",
                    "--no-location", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", ["ru", "ky"])
def test_every_string_has_a_translation(lang, source_msgids):
    cat = catalog(lang)
    ids = {m.id for m in cat if m.id}
    assert source_msgids - ids == set(), "strings missing from the catalog: run scripts/i18n-update and translate"
    empty = [m.id for m in cat if m.id and not m.string]
    assert empty == [], f"untranslated in {lang}: {empty[:5]}"
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert fuzzy == [], f"fuzzy (unchecked) translations in {lang}: {fuzzy[:5]}"
    # Placeholders survive translation.
    for m in cat:
        if m.id:
            assert set(re.findall(r"\{\w+\}", m.id)) == set(re.findall(r"\{\w+\}", m.string)), m.id


def test_kyrgyz_uses_kyrgyz_letters_and_no_kazakh_ones():
    text = "".join(m.string for m in catalog("ky") if m.id)
    for letter in "ңөү":
        assert letter in text
    assert not set("әғқһұі") & set(text.lower())


@pytest.mark.parametrize("lang", ["ru", "ky"])
def test_compiled_catalogs_match_the_po_files(lang):
    mo = gettext.GNUTranslations(open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo", "rb"))
    for m in catalog(lang):
        if m.id:
            assert mo.gettext(m.id) == m.string, f"{lang}.mo is stale: run scripts/i18n-update"


def test_javascript_strings_are_served_translated(client):
    assert js_msgids(), "no t() strings found in the page scripts"
    for lang in ("ru", "ky"):
        got = client.get(f"/i18n/{lang}.json").get_json()
        assert set(got) == set(js_msgids())
        assert all(got[k] and got[k] != k for k in got if re.search("[a-z]{3}", k) and k not in ("admin",))
    assert client.get("/i18n/xx.json").status_code == 404


def _visible_text(html: str) -> str:
    body = html.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<(script|style|template)[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<select id=\"et-labels\".*?</select>", " ", body, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", text)


def _pages(case_id: str, item_id: str, role: str) -> list[str]:
    if role == "admin":
        return ["/admin", "/account"]
    return ["/cases", f"/cases/{case_id}", f"/cases/{case_id}/upload", f"/cases/{case_id}/forensic",
            f"/cases/{case_id}/record", f"/cases/{case_id}/export", f"/items/{item_id}", "/search", "/account"]


def test_every_page_renders_in_each_language_with_no_english_left(app, people, tmp_path):
    from vault.client.transfer import upload_file

    f = tmp_path / "x.txt"
    f.write_text("x", encoding="utf-8")
    item = upload_file(people.lawyer, people.case_id, f, {"title": "t", "evidence_type": "document"})["item_id"]
    english = {m.id for m in catalog("ru") if m.id and len(m.id) > 3 and re.search("[a-z]{3}", m.id)}
    # Words that are the same in every language, or proper names.
    english -= {"Admin", "Lawyer", "Medic", "Export", "Evidence vault", "admin"}  # "admin" is also a user name here
    for lang in LANGUAGES:
        for who, role in ((people.lawyer, "lawyer"), (people.admin, "admin"), (None, "anon")):
            c = app.test_client()
            c.set_cookie("vault_lang", lang)
            if who is not None:
                c.set_cookie("vault_session", who.http.token)
                with app.extensions["vault"].db.session() as s:
                    from vault.db.models import User

                    s.get(User, who.me["id"]).language = lang
            paths = ["/login", "/setup", "/register", f"/field/{lang}"] if role == "anon" else _pages(people.case_id, item, role)
            for path in paths:
                r = c.get(path)
                assert r.status_code == 200, (lang, path, r.status_code)
                html = r.get_data(as_text=True)
                assert f'<html lang="{lang}">' in html
                if lang == "en":
                    continue
                text = _visible_text(html)
                left = sorted(m for m in english if m in text)
                assert left == [], f"{path} in {lang} shows untranslated strings: {left[:5]}"


def test_every_audit_action_has_words_on_the_admin_page():
    """Each action the server audits (every `audit(…, "action"` in vault/) is in auditlog.js's table, so the
    admin page never shows a raw action name in ru/ky."""
    src = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "vault").rglob("*.py"))
    actions = set(re.findall(r'audit\(\s*s,\s*[^,]+,\s*"([a-z_]+)"', src))
    for pair in re.findall(r'audit\(\s*s,\s*[^,]+,\s*"([a-z_]+)" if [\w.]+ else "([a-z_]+)"', src):
        actions |= set(pair)
    actions |= set(re.findall(r'"([a-z_]+_failed)"\)', src))  # _prove_password's failed_action arguments
    actions |= {"account_registered", "account_rekeyed"}  # chosen in a variable before the audit call
    table = set(re.findall(r"^\s+([a-z_]+): \(\) => t\(", (ROOT / "vault/static/js/auditlog.js").read_text(), re.M))
    assert len(actions) > 25
    assert actions - table == set()


def test_locale_data_is_cldr_from_babel():
    """The page's fallback for languages the browser's Intl lacks (Chromium has no Kyrgyz): Babel's CLDR."""
    from babel import Locale

    from vault.web.i18n import locale_data

    ky = locale_data("ky")
    assert ky["date"]["long"] == Locale.parse("ky").date_formats["long"].pattern == "y-'ж'., d-MMMM"
    assert ky["months"]["wide"][11] == "декабрь" and ky["decimal"] == ","
    assert locale_data("ru")["months"]["wide"][11] == "декабря"


def test_sign_in_and_registration_carry_the_language(app, client, people):
    """POST /auth/login with `language` saves it to the account; without it the account keeps its own."""
    import base64

    from vault import crypto
    from vault.db.models import User

    v = app.extensions["vault"]
    who = people.lawyer

    def body(**extra):
        pre = client.post("/api/v1/auth/prelogin", json={"username": who.username}).get_json()
        master = crypto.derive_master_key("lawyer-password-1", base64.b64decode(pre["salt"]), pre["kdf"])
        return {"username": who.username, "auth_key": base64.b64encode(crypto.auth_key(master)).decode(), **extra}

    def saved():
        with v.db.session() as s:
            return s.get(User, who.me["id"]).language

    r = client.post("/api/v1/auth/login", json=body(language="ky"))
    assert r.status_code == 200 and r.get_json()["user"]["language"] == "ky" and saved() == "ky"
    assert client.post("/api/v1/auth/login", json=body()).get_json()["user"]["language"] == "ky"
    assert client.post("/api/v1/auth/login", json=body(language="de")).status_code == 422
    assert saved() == "ky"
