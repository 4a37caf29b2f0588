"""Languages of the web UI: Flask-Babel for templates, a JSON catalog for JavaScript.

The JavaScript modules call t("English text"); `pybabel extract` (babel.cfg)
collects those calls with the template strings, so one catalog per language
serves both. /i18n/<lang>.json hands the page the translations of exactly the
strings its scripts use.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.extract import extract_from_file
from flask import g, request
from flask_babel import Babel, force_locale, gettext

LANGUAGES = ("en", "ru", "ky")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "ky": "Кыргызча"}
STATIC_JS = Path(__file__).resolve().parents[1] / "static" / "js"


def select_locale() -> str:
    user = g.get("web_user")
    if user is not None and user.language in LANGUAGES:
        return user.language
    from vault.web.session import LANG_COOKIE

    lang = request.cookies.get(LANG_COOKIE)
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_babel(app) -> Babel:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    return Babel(app, locale_selector=select_locale)


@functools.cache
def js_msgids() -> tuple[str, ...]:
    """Every t("…") string of the page scripts (the same extraction pybabel runs)."""
    found: dict[str, None] = {}
    for path in sorted(STATIC_JS.rglob("*.js")):
        if path.name == "crypto.js":
            continue  # no user-facing strings: errors from it are mapped by name in feedback.js
        for _line, msg, _comments, _ctx in extract_from_file("javascript", str(path), keywords={"t": None, "N_": None}):
            if isinstance(msg, str) and msg:
                found[msg] = None
    return tuple(found)


def js_catalog(lang: str) -> dict[str, str]:
    with force_locale(lang):
        return {msgid: gettext(msgid) for msgid in js_msgids()}
