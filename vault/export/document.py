"""A small document model shared by every exporter, and the words it needs.

Exporters build a Document (title, numbered sections, label/value rows,
paragraphs, lists, a signature block) and the two renderers turn the same
Document into DOCX (render_docx) and PDF (render_pdf), so the editable and
the fixed version never disagree and no exporter repeats layout code.
"""

from __future__ import annotations

import datetime as dt
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


def clean_text(text: str) -> str:
    """NFC-normalised text without control characters (XML and PDF refuse them)."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).replace("\r\n", "\n").replace("\r", "\n")


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
    rows: list[tuple[str, str]]


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


Block = Title | Heading | Para | Fields | ItemList | AddressBlock | SignatureBlock


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
