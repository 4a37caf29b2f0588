"""A small document model shared by every exporter, and the words it needs.

Exporters build a Document (title, numbered sections, label/value rows,
paragraphs, lists, a signature block) and the two renderers turn the same
Document into DOCX (render_docx) and PDF (render_pdf), so the editable and
the fixed version never disagree and no exporter repeats layout code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Align = Literal["left", "right", "center", "justify"]

# Fixed words in the output languages; keys are used by the exporters' code.
WORDS: dict[str, dict[str, str]] = {
    "yes": {"en": "Yes", "ru": "Да", "ky": "Ооба"},
    "no": {"en": "No", "ru": "Нет", "ky": "Жок"},
    "not_stated": {"en": "Not stated", "ru": "Не указано", "ky": "Көрсөтүлгөн эмес"},
    "no_information": {"en": "No information provided.", "ru": "Сведения не представлены.",
                       "ky": "Маалымат берилген эмес."},
    "page": {"en": "Page {page} of {pages}", "ru": "Страница {page} из {pages}",
             "ky": "Бет {page} / {pages}"},
    "date": {"en": "Date", "ru": "Дата", "ky": "Күнү"},
    "signature": {"en": "Signature", "ru": "Подпись", "ky": "Колу"},
    "until": {"en": "until {date}", "ru": "по {date}", "ky": "аяктаган күнү: {date}"},
    "to_present": {"en": "{date} – present", "ru": "{date} – по настоящее время",
                   "ky": "{date} – азыркы учурга чейин"},
    "years": {"en": "{n} years", "ru": "{n} лет", "ky": "{n} жашта"},
    "attached": {"en": "attached", "ru": "прилагается", "ky": "тиркелет"},
    "not_attached": {"en": "not attached", "ru": "не прилагается", "ky": "тиркелген жок"},
    "confidential": {"en": "Confidential", "ru": "Конфиденциально", "ky": "Купуя"},
    # After the label of a table row that goes on from the page before (vault/export/pdf_rows.py).
    "continued": {"en": "(continued)", "ru": "(продолжение)", "ky": "(уландысы)"},
}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_MONTHS_RU = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
              "сентября", "октября", "ноября", "декабря")
# The form used in Kyrgyz official dates: "2025-жылдын 12-марты".
_MONTHS_KY = ("январы", "февралы", "марты", "апрели", "майы", "июну", "июлу", "августу",
              "сентябры", "октябры", "ноябры", "декабры")


def word(key: str, lang: str, **values: object) -> str:
    entry = WORDS[key]
    return (entry.get(lang) or entry["en"]).format(**values)


def format_date(day: dt.date, lang: str) -> str:
    """A date as a professional document in ``lang`` writes it."""
    if lang == "ru":
        return f"{day.day} {_MONTHS_RU[day.month - 1]} {day.year} г."
    if lang == "ky":
        return f"{day.year}-жылдын {day.day}-{_MONTHS_KY[day.month - 1]}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def format_period(start: dt.date | None, end: dt.date | None, lang: str, open_ended: bool = False) -> str:
    """A span of dates; ``open_ended`` means a missing end is "until now" (a current detention)."""
    if start and end and end != start:
        return f"{format_date(start, lang)} – {format_date(end, lang)}"
    if start:
        return word("to_present", lang, date=format_date(start, lang)) if open_ended and not end \
            else format_date(start, lang)
    if end:
        return word("until", lang, date=format_date(end, lang))
    return ""


def yes_no(value: bool, lang: str) -> str:
    return word("yes" if value else "no", lang)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Unicode's stream-safe text format (UAX #15, section 13): no more than 30
# non-starters (combining marks) in a row. Real writing needs a few; a long
# run only makes line breaking quadratic (one "character" as wide as a line).
MAX_NON_STARTERS = 30


@functools.cache
def _non_starters() -> re.Pattern[str]:
    """Runs of characters whose decomposition begins with a non-starter; built on first use (~30 ms).

    Only planes 0 and 1 hold combining marks. The astral ones get their own
    class behind a cheap look-ahead: a class mixing both planes is matched
    range by range, several times slower on every ordinary character.
    """
    points = [cp for cp in range(0x20000) if _leads_with_non_starter(chr(cp))]
    bmp = _char_class([cp for cp in points if cp <= 0xFFFF])
    astral = _char_class([cp for cp in points if cp > 0xFFFF])
    return re.compile(f"(?:{bmp}|(?=[\U00010000-\U0010FFFF]){astral})+")


def _leads_with_non_starter(ch: str) -> bool:
    if unicodedata.combining(ch):
        return True
    return bool(unicodedata.decomposition(ch)) and bool(unicodedata.combining(unicodedata.normalize("NFKD", ch)[0]))


def _char_class(points: list[int]) -> str:
    ranges, start = [], points[0]
    for prev, cp in zip(points, points[1:] + [-1], strict=True):
        if cp != prev + 1:
            ranges.append(re.escape(chr(start)) + (f"-{re.escape(chr(prev))}" if prev > start else ""))
            start = cp
    return f"[{''.join(ranges)}]"


@functools.lru_cache(maxsize=4096)
def _counts(ch: str) -> tuple[int, int, bool]:
    """Leading and trailing non-starters of ``ch``'s NFKD, and whether it is nothing else (UAX #15)."""
    if not unicodedata.combining(ch) and not unicodedata.decomposition(ch):
        return 0, 0, False
    d = unicodedata.normalize("NFKD", ch)
    lead = next((n for n, c in enumerate(d) if not unicodedata.combining(c)), len(d))
    trail = next((n for n, c in enumerate(reversed(d)) if not unicodedata.combining(c)), len(d))
    return lead, trail, lead == len(d)


def _stream_safe(text: str) -> str:
    """``text`` with each run of non-starters cut after MAX_NON_STARTERS (UAX #15 counts, in NFKD).

    UAX #15 would insert U+034F to split the run; here the excess is dropped,
    because its only use is to make a renderer work without end.
    """
    def cut(match: re.Match[str]) -> str:
        start = match.start()
        run = _counts(text[start - 1])[1] if start else 0
        kept = []
        for ch in match.group():
            lead, trail, only = _counts(ch)
            if run + lead > MAX_NON_STARTERS:
                continue
            run = run + lead if only else trail
            kept.append(ch)
        return "".join(kept)

    return _non_starters().sub(cut, text)


def clean_text(text: str) -> str:
    """NFC-normalised, stream-safe text without control characters (XML and PDF refuse them).

    Every text a renderer prints passes here, so this is where the bounds
    on what one character may cost are enforced.
    """
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    return _stream_safe(text).replace("\r\n", "\n").replace("\r", "\n")


class DocumentTooComplex(Exception):
    """A renderer refused a Document whose layout would take longer than any real document needs.

    The message names the limit, never the text.
    """


@dataclass
class Title:
    text: str
    subtitle: str | None = None


@dataclass
class Heading:
    text: str
    level: int = 1  # 1 = numbered section, 2 = sub-heading


@dataclass
class Para:
    text: str
    bold: bool = False
    align: Align = "left"
    small: bool = False  # notes: smaller, grey


@dataclass
class Fields:
    """Label/value rows, a two-column table. A row is never split across pages: one that does not fit
    moves whole to the next page; only a row too tall to move (see pdf_rows.MAX_KEEP) is continued,
    at a line boundary, under its label marked "(continued)"."""

    rows: list[tuple[str, str]]


@dataclass
class Table:
    """A table with a header row (repeated on every page it spans) and rows kept whole, as Fields.

    ``widths`` are the columns' shares of the text width (any positive numbers; equal by default).
    """

    header: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None

    def __post_init__(self) -> None:
        if any(len(row) != len(self.header) for row in self.rows):
            raise ValueError("every row of a Table needs one cell per header column")
        if self.widths is not None and (len(self.widths) != len(self.header) or min(self.widths) <= 0):
            raise ValueError("a Table needs one positive width per column")


@dataclass
class ItemList:
    items: list[str]
    style: Literal["roman", "decimal", "bullet"] = "decimal"


@dataclass
class AddressBlock:
    """Lines set in the right half of the page (addressee and sender of a letter)."""

    lines: list[str]
    bold_first: bool = True


@dataclass
class SignatureBlock:
    labels: list[str]  # e.g. ["Date", "Signature"]; rendered with a line to fill in
    name: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # label -> printed instead of the line


Block = Title | Heading | Para | Fields | Table | ItemList | AddressBlock | SignatureBlock


@dataclass
class Document:
    """What an exporter produces; the renderers turn it into DOCX and PDF."""

    title: str
    language: str
    subtitle: str | None = None
    footer: str = ""  # left part of the page footer, e.g. the form's name
    header_note: str | None = None  # small line at the top, e.g. "Confidential"
    author: str = ""
    serif_body: bool = True
    blocks: list[Block] = field(default_factory=list)

    def add_title(self) -> None:
        """Place the document's title here (a letter puts its addressee block first)."""
        self.blocks.append(Title(self.title, self.subtitle))

    def add(self, block: Block) -> None:
        self.blocks.append(block)

    def heading(self, text: str, level: int = 1) -> None:
        self.blocks.append(Heading(text, level))

    def para(self, text: str, **kw) -> None:
        self.blocks.append(Para(text, **kw))

    def fields(self, rows: list[tuple[str, str]]) -> None:
        rows = [(label, value) for label, value in rows if value]
        if rows:
            self.blocks.append(Fields(rows))

    def page_label(self, page: int | str, pages: int | str) -> str:
        return word("page", self.language, page=page, pages=pages)


def roman(n: int) -> str:
    """Lower-case roman numerals, as OMCT appeals number their requests."""
    numerals = ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))
    out = ""
    for value, letters in numerals:
        while n >= value:
            out += letters
            n -= value
    return out
