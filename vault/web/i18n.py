"""Languages of the web UI: Flask-Babel for templates, a JSON catalog for JavaScript.

The JavaScript modules call t("English text"); `pybabel extract` (babel.cfg)
collects those calls with the template strings, so one catalog per language
serves both. /i18n/<lang>.json hands the page the translations of exactly the
strings its scripts use.

Dates and numbers: `locale_data` is the CLDR data (from Babel) the page's
i18n.js formats with when the browser's Intl lacks the language — Chromium
ships no Kyrgyz data, so `Intl.DateTimeFormat("ky")` falls back to English.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel import Locale
from babel.messages.extract import extract_from_file
from flask import g, request
from flask_babel import Babel, force_locale, gettext

LANGUAGES = ("en", "ru", "ky")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "ky": "Кыргызча"}
STATIC_JS = Path(__file__).resolve().parents[1] / "static" / "js"


def select_locale() -> str:
    chosen = g.get("page_language")  # set by a page that took ?lang= (the registration page keeps its code)
    if chosen in LANGUAGES:
        return chosen
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


@functools.cache
def locale_data(lang: str) -> dict:
    """CLDR patterns and names for dates and numbers in `lang`, as Babel has them (the browser's fallback)."""
    loc = Locale.parse(lang)
    symbols = loc.number_symbols[loc.default_numbering_system]
    months = loc.months["format"]
    periods = loc.day_periods["format"]["abbreviated"]
    return {
        "lang": lang,
        "date": {k: loc.date_formats[k].pattern for k in ("short", "medium", "long")},
        "time": {k: loc.time_formats[k].pattern for k in ("short", "medium")},
        "datetime": loc.datetime_formats["medium"],
        "months": {w: [months[w][i] for i in range(1, 13)] for w in ("abbreviated", "wide")},
        "am": periods["am"], "pm": periods["pm"],
        "decimal": symbols["decimal"], "group": symbols["group"],
    }
