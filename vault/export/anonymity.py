"""Anonymity as a property of the whole bundle: every form of the victim's name, found and replaced.

When a recipient may publish what it receives (OMCT) or sends it to the
State (the UN Special Rapporteur), the victim's name must not reach it
without the victim's consent: not in the document, its properties, an
attachment's file name or the custody annex. This module knows the forms
that identify the victim and finds them in any text:

* the name in every order (family name, first names, patronymic, Kyrgyz
  «уулу»/«кызы»), the surname alone (4 letters or more), the first name
  alone (4 or more), the surname with initials (``А. Токтогулов``,
  ``Токтогулов А.Т.``, ``Toktogulov A.``);
* in Cyrillic and Latin: the Latin forms shown to the user are those of
  ICAO Doc 9303 (Part 3, 7th ed. 2015: the passport standard, used by
  Kyrgyz and Russian passports; Russian letters through the ``iuliia``
  library's ``ICAO_DOC_9303`` schema, the Kyrgyz letters Ң→N, Ө→O, Ү→U as the
  ICAO table gives them) and of the other schemes ``iuliia`` implements
  (BGN/PCGN, Wikipedia, GOST 7.79, MVD 310/782...). Matching goes further:
  each letter matches every common spelling (ж zh/j/dzh, х kh/h, ү ü/u/ue,
  ө ö/o/oe, ң ng/n, ы y/i, й i/y/j, ц ts/c...), and Kyrgyz letters typed
  as Russian ones (Омурбеков for Өмүрбеков);
* case-insensitively and through grammatical endings: a name's stem (its
  trailing vowels dropped) with up to six more letters, so «Токтогулова»,
  «Токтогуловга», «Азамата», «Toktogulov's» are found;
* and what identifies as surely as a name: the number of the identity
  document, the exact date of birth (ISO, dd.mm.yyyy, and as documents
  write it in en/ru/ky), the home address and its street.

The choice of library: ``iuliia`` (MIT, maintained, no dependencies)
implements the named Russian schemes exactly, ICAO 9303 among them;
``transliterate`` and ``cyrtranslit`` offer one ad-hoc scheme per language
and neither knows Kyrgyz. No library knows Kyrgyz's three letters, so they
are mapped here before ``iuliia`` runs; the tolerant matching is a table
of spellings per letter, built into one regular expression per form.

``policy`` says, per exporter and case, whether the name must not appear
(data: the ``anonymity`` key of the exporter's mapping, see Exporter); the
rest of the checks are in vault/export/leakscan.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, is_dataclass, replace

import iuliia

from vault.domain.caserecord import CaseRecord, Victim
from vault.domain.exports import Exporter
from vault.export.document import Document, format_date

# --------------------------------------------------------------------------- which exporters

MODES = ("publish", "government", "decision", "none")
# Until a plugin's mapping declares "anonymity", the vault's reading of each bundled recipient:
# OMCT may publish an appeal as it stands; the Special Rapporteur transmits the communication to
# the Government; the Human Rights Committee needs the author's name (it transmits the complaint
# to the State party) and can only be asked to keep it out of its published decision.
DEFAULT_MODES = {"omct": "publish", "un-srt": "government", "un-hrc": "decision"}
CONSENT_FIELD = {"publish": "consent_publish_name", "government": "consent_transmit_name_to_government"}


def mode_of(exp: Exporter) -> str:
    mode = exp.anonymity or DEFAULT_MODES.get(exp.name, "none")
    return mode if mode in MODES else "publish"  # an unknown declaration: the safe reading


def neutral_names(exp: Exporter) -> bool:
    """Whether attachments get neutral names in this exporter's bundles (always, for these recipients)."""
    return mode_of(exp) in CONSENT_FIELD


def policy(exp: Exporter, case: CaseRecord) -> str | None:
    """"publish" or "government" when the victim's name must not appear in this bundle, else None.

    Only an explicit yes is consent: an unanswered question (None) keeps the name out.
    """
    mode = mode_of(exp)
    if mode in CONSENT_FIELD and getattr(case.victim, CONSENT_FIELD[mode], None) is not True:
        return mode
    return None


def requests_anonymity(case: CaseRecord) -> bool:
    return getattr(case.victim, "request_anonymity", None) is True


# --------------------------------------------------------------------------- spellings

# Each Cyrillic letter: what may stand for it (other Cyrillic letters typed in its place, Latin spellings).
_SPELL: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v", "w"), "г": ("g", "gh"), "д": ("d",),
    "е": ("e", "ye", "ie", "je", "è", "ė", "é", "э", "ё"), "ё": ("yo", "io", "jo", "e", "ë", "е"),
    "ж": ("zh", "j", "dzh", "dj", "ž", "дж"), "з": ("z",), "и": ("i", "y", "й", "ы"),
    "й": ("i", "y", "j", "и"), "к": ("k", "q", "c"), "л": ("l",), "м": ("m",), "н": ("n", "ң"),
    "ң": ("ng", "n", "ñ", "н", "нг"), "о": ("o", "ө"), "ө": ("ö", "o", "oe", "ō", "о"), "п": ("p",),
    "р": ("r",), "с": ("s",), "т": ("t",), "у": ("u", "ou", "ү"), "ү": ("ü", "u", "ue", "y", "у"),
    "ф": ("f", "ph"), "х": ("kh", "h", "x"), "ц": ("ts", "c", "tz", "tc"), "ч": ("ch", "tch", "č"),
    "ш": ("sh", "š"), "щ": ("shch", "sch", "sh", "šč", "ŝ", "ш"), "ъ": ("", "ie", "'", "’", "”", "ʺ"),
    "ы": ("y", "i", "ï", "и"), "ь": ("", "'", "’", "ʹ"), "э": ("e", "è", "ė", "е"),
    "ю": ("yu", "iu", "ju", "û"), "я": ("ya", "ia", "ja", "â"),
}
_LATIN: dict[str, set[str]] = {}  # a Latin spelling -> the Cyrillic letters it may stand for
for _cyr, _alts in _SPELL.items():
    for _alt in _alts:
        if _alt and not ("\u0400" <= _alt[0] <= "\u04ff"):
            _LATIN.setdefault(_alt, set()).add(_cyr)
_VOWELS = set("аеёиоуыэюяөүaeiouyöüïëèėéûâ") | {"ь", "й", "'"}
_KYRGYZ_ICAO = {"ң": "n", "Ң": "N", "ө": "o", "Ө": "O", "ү": "u", "Ү": "U"}
# The Latin forms shown to the user: the passport standards in force (ICAO 9303) and before it
# (GOST R 52535.1-2006, MVD orders 310 and 782), and the common others.
_SCHEMES = {"ICAO 9303": iuliia.ICAO_DOC_9303, "GOST R 52535": iuliia.GOST_52535, "MVD 310": iuliia.MVD_310,
            "MVD 782": iuliia.MVD_782, "BGN/PCGN": iuliia.BGN_PCGN_ALT, "Wikipedia": iuliia.WIKIPEDIA,
            "Yandex Maps": iuliia.YANDEX_MAPS, "Telegram": iuliia.TELEGRAM, "UNGEGN 1987": iuliia.UNGEGN_1987}
STANDARD = "ICAO 9303"
_LETTER_BEFORE = r"(?<![^\W\d_])"
_LETTER_AFTER = r"(?![^\W\d_])"
_SEP = r"[\s_.,\-‐–]+"
_PARTICLES = {"уулу": ("уулу", "uulu", "ulu", "оглы", "ogly"), "кызы": ("кызы", "kyzy", "kizi", "qizi", "кизи")}


def transliterate(text: str, scheme: str = STANDARD) -> str:
    """``text`` in Latin letters under ``scheme`` (ICAO 9303 by default), Kyrgyz letters included."""
    pre = "".join(_KYRGYZ_ICAO.get(ch, ch) for ch in text) if scheme == STANDARD else text.translate(
        str.maketrans({"ң": "ng", "Ң": "Ng", "ө": "ö", "Ө": "Ö", "ү": "ü", "Ү": "Ü"}))
    return _SCHEMES[scheme].translate(pre)


def _alternatives(options: set[str]) -> str:
    ordered = sorted({o for o in options if o}, key=lambda o: (-len(o), o))
    body = "|".join(re.escape(o) for o in ordered)
    return f"(?:{body})" + ("?" if "" in options else "")


def _char_pattern(token: str) -> str:
    """One token (Cyrillic or Latin) as a pattern matching its spellings in both scripts."""
    out, i, low = [], 0, token.lower()
    while i < len(low):
        ch = low[i]
        if ch in _SPELL:
            out.append(_alternatives({ch, *_SPELL[ch]}))
            i += 1
            continue
        for size in (4, 3, 2, 1):
            chunk = low[i:i + size]
            if len(chunk) == size and chunk in _LATIN:
                options = {chunk}
                for cyr in _LATIN[chunk]:
                    options |= {cyr, *_SPELL[cyr]}
                out.append(_alternatives(options))
                i += size
                break
        else:
            out.append(r"[\s\-‐–]?" if ch in "-‐– " else re.escape(ch))
            i += 1
    return "".join(out)


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _stem(token: str) -> str:
    stem = token
    while _letters(stem) > 4 and stem[-1].lower() in _VOWELS:
        stem = stem[:-1]
    return stem


def token_pattern(token: str, endings: bool = True) -> str:
    """A name token with its grammatical endings (only for tokens of 4 letters or more)."""
    if endings and _letters(token) >= 4:
        return _char_pattern(_stem(token)) + r"[^\W\d_]{0,6}"
    return _char_pattern(token)


def _phrase(tokens: list[str]) -> str:
    return _SEP.join(token_pattern(t) for t in tokens)


def _initial(token: str) -> str:
    first = token[0].lower()
    options = {first, *(s[0] for s in _SPELL.get(first, ()) if s)}
    for cyr in _LATIN.get(first, ()):
        options.add(cyr)
    return _alternatives(options) + r"\."


# --------------------------------------------------------------------------- the forms

@dataclass(frozen=True)
class Form:
    """One form that identifies the victim: what it is, an example, and the pattern that finds it."""

    kind: str  # see KINDS
    example: str
    pattern: str
    name: bool = True  # a name (replaced by the pseudonym) or another identifier (replaced by [withheld])


KINDS = {
    "full name": {"ru": "полное имя", "ky": "толук аты-жөнү"},
    "surname with initials": {"ru": "фамилия с инициалами", "ky": "инициалдары менен фамилиясы"},
    "patronymic": {"ru": "отчество («уулу/кызы»)", "ky": "атасынын аты («уулу/кызы»)"},
    "surname": {"ru": "фамилия", "ky": "фамилиясы"},
    "first name": {"ru": "имя", "ky": "аты"},
    "ID document": {"ru": "номер документа", "ky": "документтин номери"},
    "date of birth": {"ru": "дата рождения", "ky": "туулган күнү"},
    "home address": {"ru": "домашний адрес", "ky": "үй дареги"},
}
_STREET = re.compile(r"(?i)(?<![^\W\d_])(?:ул|улица|көч|көчөсү|кѳчѳсү|пр|пр-т|проспект|просп|мкр|микрорайон|пер|"
                     r"переулок|бул|бульвар|street|str|st|avenue|ave|road|rd|kochosu|köchösü|ulitsa|ul)"
                     r"(?![^\W\d_])\.?")


def _words(text: str | None) -> list[str]:
    return [w for w in re.split(r"[\s,]+", unicodedata.normalize("NFC", text or "")) if _letters(w)]


def _patronymic(victim: Victim) -> tuple[list[str], str | None]:
    """The patronymic's words, and the Kyrgyz particle («уулу»/«кызы») if it is one."""
    words = _words(victim.patronymic)
    if len(words) >= 2:
        last = words[-1].lower()
        for particle, spellings in _PARTICLES.items():
            if last in spellings:
                return words[:-1], particle
    return words, None


def _name_forms(victim: Victim) -> list[Form]:
    family, given = _words(victim.family_name), _words(victim.first_names)
    patro, particle = _patronymic(victim)
    forms: list[Form] = []
    if particle:  # "Токтогул уулу": a name of its own, and the surname when there is no family name
        part = "(?:" + "|".join(re.escape(s) for s in _PARTICLES[particle]) + r")[^\W\d_]{0,6}"
        patro_pat = _SEP.join(_char_pattern(t) for t in patro) + _SEP + part
        patro_text = " ".join(patro + [particle])
    else:
        patro_pat = _phrase(patro) if patro else ""
        patro_text = " ".join(patro)
    surname, surname_text = (_phrase(family), " ".join(family)) if family else (
        (patro_pat, patro_text) if particle else ("", ""))
    given_pat, given_text = _phrase(given), " ".join(given)
    S, G, P = (surname, surname_text), (given_pat, given_text), (patro_pat, patro_text)
    orders = []
    if surname and given:
        orders += [(S, G), (G, S)]
        if patro_pat and family:
            orders += [(S, G, P), (G, P, S)]
    if given and patro_pat:
        orders.append((G, P))
    for order in sorted(orders, key=len, reverse=True):
        forms.append(Form("full name", " ".join(t for _, t in order), _SEP.join(p for p, _ in order)))
    if surname and given:
        inits = _initial(given[0]) + (r"\s*" + _initial(patro[0]) if patro and not particle else "")
        inits_opt = _initial(given[0]) + (r"(?:\s*" + _initial(patro[0]) + ")?" if patro and not particle else "")
        forms.append(Form("surname with initials", f"{given_text[:1]}. {surname_text}",
                          rf"{inits_opt}\s*{surname}|{surname}\s*,?\s*{inits}|{surname}\s*,?\s*{_initial(given[0])}"))
    if particle and patro and _letters(patro_text) >= 4:
        forms.append(Form("patronymic", patro_text, patro_pat))
    if family and _letters(" ".join(family)) >= 4:
        forms.append(Form("surname", surname_text, surname))
    if given and _letters(given[0]) >= 4:
        forms.append(Form("first name", given[0], token_pattern(given[0])))
    return forms


def _date_forms(day) -> list[Form]:
    d, m, y = day.day, day.month, day.year
    alts = [rf"{y}-{m:02}-{d:02}", rf"0?{d}[./\-]0?{m}[./\-]{y}", rf"{y}[./]{m:02}[./]{d:02}"]
    for lang in ("en", "ru", "ky"):
        words = [p for p in format_date(day, lang).split(" ") if p != "г."]
        alts.append(r"\s+".join(re.escape(p) for p in words) + (r"(?:\s*г\.)?" if lang == "ru" else ""))
    en_month = format_date(day, "en").split(" ")[1]
    alts.append(rf"{en_month}\s+0?{d},?\s+{y}")
    pattern = r"(?<!\d)(?:" + "|".join(alts) + r")(?!\d)"
    return [Form("date of birth", day.isoformat(), pattern, name=False)]


def _id_forms(text: str | None) -> list[Form]:
    """The document's number (4 digits or more), with or without its letter series (AN 1234567)."""
    forms = []
    for m in re.finditer(r"(?:(?<![^\W\d_])([A-Za-zА-Яа-я]{1,3})[\s\-№]*)?(\d[\d\s\-]*\d)", text or ""):
        digits = re.sub(r"\D", "", m.group(2))
        if len(digits) < 4:
            continue
        series = m.group(1) or ""
        body = r"[\s\-]?".join(re.escape(c) for c in digits)
        prefix = rf"(?:{re.escape(series)}[\s\-№]*)?" if series else ""
        forms.append(Form("ID document", series + digits, rf"(?<!\d){prefix}{body}(?!\d)", name=False))
    return forms


def _address_forms(text: str | None) -> list[Form]:
    if not text or _letters(text) < 4:
        return []
    forms = [Form("home address", text, r"\s*".join(
        re.escape(w) for w in re.split(r"\s+", text.strip())), name=False)]
    segments = [s for s in text.split(",") if s.strip()]
    marked = [s for s in segments if _STREET.search(s)] or [s for s in segments if re.search(r"\d", s)]
    for seg in marked:
        street = re.sub(r"\d+\S*", " ", _STREET.sub(" ", seg)).strip(" .-")
        words = _words(street)
        if words and _letters(" ".join(words)) >= 4:
            forms.append(Form("home address", " ".join(words), _phrase(words), name=False))
    return forms


@dataclass
class Identity:
    """The forms that identify one victim, compiled into one pattern (most specific forms first)."""

    forms: list[Form]
    replacement: str
    withheld: str
    _regex: re.Pattern | None = field(default=None, repr=False)

    @classmethod
    def of(cls, case: CaseRecord, lang: str = "en") -> Identity:
        v = case.victim
        forms = _name_forms(v) + _id_forms(v.id_document) + _address_forms(v.address)
        if v.date_of_birth:
            forms += _date_forms(v.date_of_birth)
        return cls(forms, replacement_name(case, lang), WITHHELD.get(lang, WITHHELD["en"]))

    @property
    def regex(self) -> re.Pattern | None:
        if self._regex is None and self.forms:
            body = "|".join(f"(?P<f{n}>{_LETTER_BEFORE}(?:{f.pattern}){_LETTER_AFTER})"
                            for n, f in enumerate(self.forms))
            self._regex = re.compile(body, re.IGNORECASE)
        return self._regex

    def find(self, text: str) -> Iterator[tuple[Form, str]]:
        """Each identifying form in ``text``: (the form, the text that matched)."""
        if not text or self.regex is None:
            return
        for m in self.regex.finditer(unicodedata.normalize("NFC", text)):
            yield self.forms[int(m.lastgroup[1:])], m.group()

    def redact(self, text: str) -> str:
        """``text`` with every form replaced: names by the pseudonym, other identifiers by [withheld]."""
        if not text or self.regex is None:
            return text

        def sub(m: re.Match) -> str:
            return self.replacement if self.forms[int(m.lastgroup[1:])].name else self.withheld

        return self.regex.sub(sub, unicodedata.normalize("NFC", text))

    def examples(self) -> list[tuple[str, str]]:
        """(kind, text) of every form as the user is shown it, with its Latin forms under each scheme."""
        out: dict[str, str] = {}
        for f in self.forms:
            out.setdefault(f.example, f.kind)
            if f.name and re.search("[\u0400-\u04ff]", f.example):
                for scheme in _SCHEMES:
                    latin = transliterate(f.example, scheme)
                    if scheme not in out.setdefault(latin, f.kind):
                        out[latin] += f", {scheme}"
        return [(kind, text) for text, kind in out.items()]


THE_VICTIM = {"en": "the victim", "ru": "потерпевший", "ky": "жабырлануучу", "fr": "la victime"}
THE_VICTIM_F = {"ru": "потерпевшая"}
WITHHELD = {"en": "[withheld]", "ru": "[скрыто]", "ky": "[жашырылды]", "fr": "[masqué]"}


def replacement_name(case: CaseRecord, lang: str) -> str:
    """What replaces the name: the agreed pseudonym, or «the victim» in the document's language."""
    if case.victim.pseudonym:
        return case.victim.pseudonym
    if case.victim.sex == "female" and lang in THE_VICTIM_F:
        return THE_VICTIM_F[lang]
    return THE_VICTIM.get(lang, THE_VICTIM["en"])


# --------------------------------------------------------------------------- documents

def map_strings(value, fn: Callable[[str], str]):
    """``value`` (a Document, block, list, tuple or dict) with ``fn`` applied to every string in it."""
    if isinstance(value, str):
        return fn(value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: map_strings(getattr(value, f.name), fn) for f in fields(value)})
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(map_strings(v, fn) for v in value)
    if isinstance(value, dict):
        return {map_strings(k, fn): map_strings(v, fn) for k, v in value.items()}
    return value


def document_texts(doc: Document) -> Iterator[tuple[str, str]]:
    """(place, text) for every text of a Document, places named as the reader finds them."""
    yield "document title", doc.title
    for place, text in (("document subtitle", doc.subtitle), ("page footer", doc.footer),
                        ("page header", doc.header_note), ("document properties (author)", doc.author)):
        if text:
            yield place, text
    section, n = "document", 0
    for block in doc.blocks:
        kind = type(block).__name__
        if kind == "Heading":
            section, n = f"section «{block.text}»", 0
            yield section, block.text
        elif kind == "Para":
            n += 1
            yield f"{section}, paragraph {n}", block.text
        elif kind == "Fields":
            for label, value in block.rows:
                yield f"{section}, «{label}»", f"{label}\n{value}"
        elif kind == "ItemList":
            for i, text in enumerate(block.items, start=1):
                yield f"{section}, item {i}", text
        elif kind == "AddressBlock":
            for i, text in enumerate(block.lines, start=1):
                yield f"address block, line {i}", text
        elif kind == "SignatureBlock":
            yield "signature block", "\n".join([*block.labels, block.name or "", *block.values.values()])
        elif kind == "Title":
            yield "document title", "\n".join(filter(None, (block.text, block.subtitle)))


@dataclass
class RenderSession:
    """While an exporter renders: the redaction to apply, and every Document it rendered (for the scan)."""

    redactor: Callable[[str], str] | None
    documents: list[Document] = field(default_factory=list)


_ACTIVE: ContextVar[RenderSession | None] = ContextVar("vault_export_anonymity", default=None)


@contextmanager
def rendering(redactor: Callable[[str], str] | None = None) -> Iterator[RenderSession]:
    """Around a plugin's vault_export: vault.export.context.render applies ``redactor`` and records the Document."""
    session = RenderSession(redactor)
    token = _ACTIVE.set(session)
    try:
        yield session
    finally:
        _ACTIVE.reset(token)


def on_render(doc: Document, basename: str) -> tuple[Document, str]:
    """Called by vault.export.context.render before both renderers: the redaction happens here, before any byte."""
    session = _ACTIVE.get()
    if session is None:
        return doc, basename
    if session.redactor is not None:
        doc, basename = map_strings(doc, session.redactor), session.redactor(basename)
    session.documents.append(doc)
    return doc, basename
