"""Per-segment columns: a value for every docnum, read once per process.

Dates (for the date filter and date sorting) come from whoosh's column
files, with per-year bitmaps so a date window is mostly bitmap operations;
the code fields and the case come from their postings (a few hundred
thousand docnums per 100,000 documents), inverted so that facets are
counted per matched document with C-level ``Counter(map(...))`` instead of
one bitmap intersection per vocabulary code. Segments are immutable, so a
segment's columns stay valid; they are dropped with the oldest segments.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from vault.search.documents import MULTI_CODE_FIELDS, SINGLE_CODE_FIELDS
from vault.search.postings import from_bits, to_bits

_MAX_SEGMENTS = 64
_lock = threading.Lock()
_dates: OrderedDict[tuple[Any, ...], dict[str, list[int]]] = OrderedDict()
_codes: OrderedDict[tuple[Any, ...], Codes] = OrderedDict()
_years: OrderedDict[tuple[Any, ...], Years] = OrderedDict()


@dataclass(frozen=True)
class Codes:
    """Per docnum: the code of each single-valued field (None if absent), the
    codes of each multi-valued field, and the case id."""

    single: dict[str, list[str | None]]
    multi: dict[str, list[tuple[str, ...]]]
    case: list[str | None]


def _remember(cache: OrderedDict, key: tuple[Any, ...], value: Any) -> None:
    with _lock:
        cache[key] = value
        while len(cache) > _MAX_SEGMENTS:
            cache.popitem(last=False)


def dates(leaf: Any) -> dict[str, list[int]]:
    """sort_date, end_date and uploaded for every docnum of the segment."""
    with _lock:
        found = _dates.get(leaf.key)
    if found is None:
        reader = leaf.searcher.reader()
        found = {name: list(reader.column_reader(name)) for name in ("sort_date", "end_date", "uploaded")}
        _remember(_dates, leaf.key, found)
    return found


@dataclass(frozen=True)
class Years:
    """Per year of the first and of the last incident day: the dated
    documents whose first day falls in that year or before (``first_upto``)
    and those whose last day falls in that year or after (``last_from``)."""

    first_upto: dict[int, int]
    last_from: dict[int, int]
    low: int
    high: int

    def upto(self, year: int) -> int:
        return 0 if year < self.low else self.first_upto[min(year, self.high)]

    def since(self, year: int) -> int:
        return 0 if year > self.high else self.last_from[max(year, self.low)]


def years(leaf: Any) -> Years:
    with _lock:
        found = _years.get(leaf.key)
    if found is not None:
        return found
    cols = dates(leaf)
    by_first: dict[int, list[int]] = {}
    by_last: dict[int, list[int]] = {}
    for d, (first, last) in enumerate(zip(cols["sort_date"], cols["end_date"], strict=True)):
        if first:
            by_first.setdefault(first // 10000, []).append(d)
            by_last.setdefault(last // 10000, []).append(d)
    if not by_first:
        found = Years({}, {}, 1, 0)
    else:
        low, high = min(by_first), max(by_last)
        first_upto, last_from = {}, {}
        acc = 0
        for y in range(low, high + 1):
            acc |= to_bits(by_first.get(y, ()))
            first_upto[y] = acc
        acc = 0
        for y in range(high, low - 1, -1):
            acc |= to_bits(by_last.get(y, ()))
            last_from[y] = acc
        found = Years(first_upto, last_from, low, high)
    _remember(_years, leaf.key, found)
    return found


def date_window(leaf: Any, docs: int, start: int | None, end: int | None) -> int:
    """The documents of ``docs`` whose incident range overlaps [start, end]
    (yyyymmdd; None = open); undated documents never do.

    Whole years are bitmap operations; only documents whose first (last) day
    falls in the year of ``end`` (``start``) are compared day by day.
    """
    ys = years(leaf)
    cols = dates(leaf)
    if end is not None:
        y = end // 10000
        first = cols["sort_date"]
        boundary = docs & ys.upto(y) & ~ys.upto(y - 1)
        docs &= ys.upto(y - 1) | to_bits([d for d in from_bits(boundary) if first[d] <= end])
    else:
        docs &= ys.upto(ys.high)  # dated
    if start is not None and docs:
        y = start // 10000
        last = cols["end_date"]
        boundary = docs & ys.since(y) & ~ys.since(y + 1)
        docs &= ys.since(y + 1) | to_bits([d for d in from_bits(boundary) if last[d] >= start])
    return docs


def codes(leaf: Any) -> Codes:
    """The code fields and case of every docnum, inverted from their postings."""
    with _lock:
        found = _codes.get(leaf.key)
    if found is not None:
        return found
    reader = leaf.searcher.reader()
    n = leaf.doc_count
    single: dict[str, list[str | None]] = {}
    for field in SINGLE_CODE_FIELDS:
        column: list[str | None] = [None] * n
        for btext in reader.lexicon(field):
            value = btext.decode("utf-8")
            for d in leaf.docnums(field, value):
                column[d] = value
        single[field] = column
    multi: dict[str, list[tuple[str, ...]]] = {}
    for field in MULTI_CODE_FIELDS:
        lists: list[list[str] | None] = [None] * n
        for btext in reader.lexicon(field):
            value = btext.decode("utf-8")
            for d in leaf.docnums(field, value):
                current = lists[d]
                if current is None:
                    lists[d] = [value]
                else:
                    current.append(value)
        interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        multi[field] = [interned.setdefault(tuple(v), tuple(v)) if v else () for v in lists]
    case: list[str | None] = [None] * n
    for btext in reader.lexicon("case_id"):
        value = btext.decode("utf-8")
        for d in leaf.case_docs(value):
            case[d] = value
    found = Codes(single, multi, case)
    _remember(_codes, leaf.key, found)
    return found


def clear() -> None:
    with _lock:
        _dates.clear()
        _codes.clear()
        _years.clear()

