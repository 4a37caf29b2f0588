"""Posting lists as bitmaps, read from whoosh's segments and cached per process.

A term's documents in one segment become one Python int with a bit per
document: intersecting with the allowed documents is then a single C-speed
``&`` whatever the term's frequency. Segments are immutable (a delete only
marks a document; deletions are masked per search), so cache entries stay
valid until their segment is merged away and then simply age out.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from whoosh.searching import Searcher

# Posting bitmaps kept per process, in bytes (a term of a 100,000-document
# segment takes at most 12.5 kB, whatever its frequency).
CACHE_BUDGET = 48 * 1024 * 1024

_MASKS = tuple(1 << i for i in range(8))
_BITS_OF_BYTE = tuple(tuple(i for i in range(8) if b >> i & 1) for b in range(256))
_NONZERO = re.compile(rb"[^\x00]")


def to_bits(docs: Iterable[int]) -> int:
    """Docnums as a Python int bitmap: intersections become one C-speed ``&``."""
    buf = bytearray()
    for d in docs:
        i = d >> 3
        if i >= len(buf):
            buf.extend(bytes(i - len(buf) + 1 + (len(buf) >> 1)))
        buf[i] |= _MASKS[d & 7]
    return int.from_bytes(buf, "little")


def from_bits(bits: int) -> list[int]:
    """The docnums set in a bitmap, ascending; cost grows with the bits set."""
    if not bits:
        return []
    data = bits.to_bytes((bits.bit_length() + 7) >> 3, "little")
    out: list[int] = []
    for m in _NONZERO.finditer(data):
        base = m.start() << 3
        out.extend(base + i for i in _BITS_OF_BYTE[data[m.start()]])
    return out


def _posting_ids(matcher: Any) -> list[int]:
    """All docnums of a term, a block at a time where whoosh's codec allows.

    ``Matcher.all_ids`` costs ~1.6 µs per posting in Python (measured); the
    W3 codec decodes a block of ids at once, so read blocks directly (same
    internals in whoosh-reloaded 2.7.5 and whoosh3 3.54), else fall back.
    """
    if not all(hasattr(matcher, a) for a in ("_read_ids", "_next_block", "_ids", "_i")):
        return list(matcher.all_ids())
    out: list[int] = []
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        out.extend(matcher._ids[matcher._i:])
        matcher._next_block()
    return out


class _BitmapCache:
    """LRU of (segment, field, term) -> bitmap of the term's segment docnums.

    Segments are immutable (a delete only marks a document; deletions are
    masked per search), so an entry is valid until its segment is merged
    away, and then simply ages out.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._data: OrderedDict[tuple[Any, ...], int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> int | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: int) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = value
            self.size += value.bit_length() // 8 + 64
            while self.size > self.budget and len(self._data) > 1:
                _, old = self._data.popitem(last=False)
                self.size -= old.bit_length() // 8 + 64

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.size = 0


postings_cache = _BitmapCache(CACHE_BUDGET)
# Case postings are short (a case holds tens of items) and there are
# thousands of cases: kept as tuples of docnums, a bitmap each would cost
# 12.5 kB per case per 100,000-document segment. Budget in docnums (~36 bytes each).
_case_ids: OrderedDict[tuple[Any, ...], tuple[int, ...]] = OrderedDict()
_case_ids_size = 0
CASE_CACHE_BUDGET = 400_000
_case_lock = threading.Lock()
_columns: OrderedDict[tuple[Any, ...], dict[str, list[int]]] = OrderedDict()
_columns_lock = threading.Lock()


@dataclass
class Leaf:
    """One segment of the searcher, with its global docnum offset."""

    searcher: Searcher
    offset: int
    key: tuple[str, str]

    def bits(self, field: str, text: str) -> int:
        """Bitmap of the term's docnums, deleted ones included (masked later)."""
        key = (self.key, field, text)
        found = postings_cache.get(key)
        if found is None:
            reader = self.searcher.reader()
            btext = text.encode("utf-8")
            found = 0
            if (field, btext) in reader:
                matcher = reader.postings(field, btext)
                matcher = getattr(matcher, "child", matcher)  # unwrap the deletion filter
                found = to_bits(_posting_ids(matcher))
            postings_cache.put(key, found)
        return found

    def case_docs(self, case_id: str) -> tuple[int, ...]:
        """Docnums of one case (deleted ones included), from a small cache."""
        global _case_ids_size
        key = (self.key, case_id)
        with _case_lock:
            found = _case_ids.get(key)
            if found is not None:
                _case_ids.move_to_end(key)
                return found
        reader = self.searcher.reader()
        btext = case_id.encode("utf-8")
        found = ()
        if ("case_id", btext) in reader:
            matcher = reader.postings("case_id", btext)
            found = tuple(_posting_ids(getattr(matcher, "child", matcher)))
        with _case_lock:
            if key not in _case_ids:
                _case_ids[key] = found
                _case_ids_size += len(found) + 1
                while _case_ids_size > CASE_CACHE_BUDGET and len(_case_ids) > 1:
                    _, old = _case_ids.popitem(last=False)
                    _case_ids_size -= len(old) + 1
        return found

    def union(self, field: str, texts: Iterable[str]) -> int:
        out = 0
        for t in texts:
            out |= self.bits(field, t)
        return out

    def live(self) -> int:
        """Bitmap of the deleted documents of this reader (0 if none)."""
        reader = self.searcher.reader()
        cached = getattr(reader, "_vault_deleted_bits", None)
        if cached is None:
            deleted = reader.deleted_docs_set if reader.has_deletions() else ()
            cached = to_bits(deleted)
            reader._vault_deleted_bits = cached
        return cached

    def columns(self) -> dict[str, list[int]]:
        """sort_date, end_date and uploaded for every docnum of the segment."""
        with _columns_lock:
            found = _columns.get(self.key)
        if found is None:
            reader = self.searcher.reader()
            found = {name: list(reader.column_reader(name)) for name in ("sort_date", "end_date", "uploaded")}
            with _columns_lock:
                _columns[self.key] = found
                while len(_columns) > 256:
                    _columns.popitem(last=False)
        return found


def leaves(searcher: Searcher) -> list[Leaf]:
    """The searcher's segments; none for an empty index."""
    subs = [(searcher, 0)] if searcher.is_atomic() else searcher.subsearchers
    out = []
    for sub, offset in subs:
        reader = sub.reader()
        segment = reader.segment()
        if segment is None:  # whoosh's EmptyReader: an index without documents
            continue
        storage = str(getattr(reader, "_storage", ""))
        out.append(Leaf(sub, offset, (storage, segment.segment_id())))
    return out


def clear_caches() -> None:
    """Forget every cached posting (tests, and the benchmark's "cold" row)."""
    global _case_ids_size
    postings_cache.clear()
    with _case_lock:
        _case_ids.clear()
        _case_ids_size = 0

