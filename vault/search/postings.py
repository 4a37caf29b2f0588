"""Posting lists as bitmaps, read from whoosh's segments and cached per process.

A term's documents in one segment become one Python int with a bit per
document: intersecting with the allowed documents is then a single C-speed
``&`` whatever the term's frequency. Segments are immutable (a delete only
marks a document; deletions are masked per search), so cache entries stay
valid until their segment is merged away and then simply age out.

Converting between docnums and bitmaps is the one place where Python works
per document, so both directions are written to push the loop into C
(strided bytearray slices, ``itertools.compress``); the search itself only
converts the allowed cases' documents and the page it returns.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from typing import Any

from whoosh.searching import Searcher

# Posting bitmaps kept per process, in bytes (a term of a 100,000-document
# segment takes at most 12.5 kB, whatever its frequency).
CACHE_BUDGET = 48 * 1024 * 1024

_BITS_OF_BYTE = tuple(tuple(i for i in range(8) if b >> i & 1) for b in range(256))
# Below this many documents the bytearray set-up costs more than it saves.
_SMALL = 48
_FEW = 64
_NONZERO = bytes([0] + [1] * 255)


def to_bits(docs: Iterable[int]) -> int:
    """Docnums as a Python int bitmap: intersections become one C-speed ``&``.

    One byte per document is set in a bytearray (the only Python-level loop),
    then each of the 8 strided slices of it holds one bit position of every
    output byte, so 8 C-level slices, conversions and shifts pack it.
    """
    docs = docs if isinstance(docs, list | tuple) else list(docs)
    if not docs:
        return 0
    if len(docs) < _SMALL:
        out = 0
        for d in docs:
            out |= 1 << d
        return out
    size = (max(docs) >> 3) + 1
    bytemap = bytearray(size << 3)
    for d in docs:
        bytemap[d] = 1
    out = 0
    for i in range(8):
        out |= int.from_bytes(bytemap[i::8], "little") << i
    return out


def from_bits(bits: int) -> list[int]:
    """The docnums set in a bitmap, ascending.

    Three ways, by density, each keeping the scan of the empty stretches in
    C: a byte table for dense bitmaps; for sparse ones, ``compress`` over
    64-bit words, or for very few documents ``bytes.find`` over a 0/1 copy
    of the bytes (a search often converts a handful from a 100,000-bit map).
    """
    if not bits:
        return []
    count = bits.bit_count()
    words = (bits.bit_length() + 63) >> 6
    data = bits.to_bytes(words << 3, "little")
    if count * 8 > words * 64:  # more than one document in 8: dense
        table = _BITS_OF_BYTE
        return [(i << 3) + b for i in compress(range(words << 3), data) for b in table[data[i]]]
    out: list[int] = []
    if count <= _FEW:
        find = data.translate(_NONZERO).find
        i = find(1)
        while i >= 0:
            base = i << 3
            out += [base + b for b in _BITS_OF_BYTE[data[i]]]
            i = find(1, i + 1)
        return out
    append = out.append
    view = memoryview(data).cast("Q")
    for wi in compress(range(words), view):
        w = view[wi]
        base = wi << 6
        while w:
            low = w & -w
            append(base + low.bit_length() - 1)
            w ^= low
    return out


@lru_cache(maxsize=16)
def _low_bit_of_each_byte(nbytes: int) -> int:
    return int.from_bytes(b"\x01" * nbytes, "little")


def to_bytemap(bits: int, size: int) -> bytearray:
    """One byte (0 or 1) per docnum below ``size``: membership tests in C."""
    nbytes = (max(size, bits.bit_length()) + 7) >> 3
    ones = _low_bit_of_each_byte(nbytes)
    out = bytearray(nbytes << 3)
    for i in range(8):
        out[i::8] = ((bits >> i) & ones).to_bytes(nbytes, "little")
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


class LRU:
    """A thread-safe LRU bounded by the summed ``size`` of its values."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            self._data.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = (value, size)
            self.size += size
            while self.size > self.budget and len(self._data) > 1:
                _, (_old, old_size) = self._data.popitem(last=False)
                self.size -= old_size

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.size = 0


def _bitmap_size(bits: int) -> int:
    return bits.bit_length() // 8 + 64


postings_cache = LRU(CACHE_BUDGET)
# Case postings are short (a case holds tens of items) and there are
# thousands of cases, and every search reads tens of them: kept as tuples of
# docnums in a plain dict per segment (a bitmap each would cost 12.5 kB per
# case per 100,000 documents). A segment's dict never holds more docnums than
# the segment has documents.
_MAX_SEGMENTS = 64
_case_maps: OrderedDict[tuple[str, str], dict[str, tuple[int, ...]]] = OrderedDict()
_case_maps_lock = threading.Lock()


def _case_map(key: tuple[str, str]) -> dict[str, tuple[int, ...]]:
    with _case_maps_lock:
        found = _case_maps.get(key)
        if found is None:
            found = _case_maps[key] = {}
            while len(_case_maps) > _MAX_SEGMENTS:
                _case_maps.popitem(last=False)
        return found


@dataclass
class Leaf:
    """One segment of the searcher, with its global docnum offset."""

    searcher: Searcher
    offset: int
    key: tuple[str, str]
    doc_count: int = 0
    cases: dict[str, tuple[int, ...]] = field(default_factory=dict)
    doc_column: Any = field(default=None, repr=False)

    def docnums(self, field_name: str, text: str) -> list[int]:
        """The term's docnums read from disk (uncached; deleted ones included)."""
        reader = self.searcher.reader()
        btext = text.encode("utf-8")
        if (field_name, btext) not in reader:
            return []
        matcher = reader.postings(field_name, btext)
        return _posting_ids(getattr(matcher, "child", matcher))  # unwrap the deletion filter

    def _entry(self, field_name: str, text: str) -> tuple[int, int]:
        key = (self.key, field_name, text)
        found = postings_cache.get(key)
        if found is None:
            bits = to_bits(self.docnums(field_name, text))
            found = (bits, bits.bit_count())
            postings_cache.put(key, found, _bitmap_size(bits))
        return found

    def bits(self, field_name: str, text: str) -> int:
        """Bitmap of the term's docnums, deleted ones included (masked later)."""
        return self._entry(field_name, text)[0]

    def count(self, field_name: str, text: str) -> int:
        """The term's document frequency in this segment (deleted ones included)."""
        return self._entry(field_name, text)[1]

    def doc(self, docnum: int) -> bytes:
        """The document of a docnum, as stored: UTF-8 JSON."""
        if self.doc_column is None:  # whoosh builds a new column reader on every call
            self.doc_column = self.searcher.reader().column_reader("doc", translate=False)
        return self.doc_column[docnum]

    def memo(self, key: Hashable, compute: Callable[[], int]) -> int:
        """A bitmap derived from this segment's postings, computed once per process."""
        full = (self.key, key)
        found = postings_cache.get(full)
        if found is None:
            found = compute()
            postings_cache.put(full, found, _bitmap_size(found))
        return found

    def case_docs(self, case_id: str) -> tuple[int, ...]:
        """Docnums of one case (deleted ones included)."""
        found = self.cases.get(case_id)
        if found is None:  # two threads may both read it: the same value
            found = self.cases[case_id] = tuple(self.docnums("case_id", case_id))
        return found

    def union(self, field_name: str, texts: Iterable[str]) -> int:
        out = 0
        for t in texts:
            out |= self.bits(field_name, t)
        return out

    def deleted(self) -> int:
        """Bitmap of the deleted documents of this reader (0 if none)."""
        reader = self.searcher.reader()
        cached = getattr(reader, "_vault_deleted_bits", None)
        if cached is None:
            cached = to_bits(sorted(reader.deleted_docs_set)) if reader.has_deletions() else 0
            reader._vault_deleted_bits = cached
        return cached


def leaves(searcher: Searcher) -> list[Leaf]:
    """The searcher's segments (none for an empty index), computed once per searcher."""
    cached: list[Leaf] | None = getattr(searcher, "_vault_leaves", None)
    if cached is not None:
        return cached
    subs = [(searcher, 0)] if searcher.is_atomic() else searcher.subsearchers
    out = []
    for sub, offset in subs:
        reader = sub.reader()
        segment = reader.segment()
        if segment is None:  # whoosh's EmptyReader: an index without documents
            continue
        storage = str(getattr(reader, "_storage", ""))
        key = (storage, segment.segment_id())
        out.append(Leaf(sub, offset, key, reader.doc_count_all(), _case_map(key)))
    searcher._vault_leaves = out
    return out


def clear_postings() -> None:
    """Forget every cached posting and case map (`engine.clear_caches` also empties the columns)."""
    postings_cache.clear()
    with _case_maps_lock:
        for cases in _case_maps.values():  # leaves cached on searchers hold these
            cases.clear()
        _case_maps.clear()
