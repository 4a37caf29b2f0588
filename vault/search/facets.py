"""Exact facet counts over the documents a search matched.

Counted from the matched documents, which are already restricted to the
allowed cases, so counts never include records of a case the user is not a
member of; the ``case_id`` facet only ever lists allowed cases.

Per segment the matched bitmap becomes docnums once, and each facet is one
C-level ``Counter(map(column, docnums))`` over the segment's columns
(``columns.codes``): the cost grows with the matches, not with the
vocabulary. Above ``BITMAP_FROM`` matches, per-code bitmap intersections
(one ``&`` and ``bit_count`` per code, constant in the matches) are cheaper.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain
from operator import itemgetter

from vault.search import columns
from vault.search.documents import MULTI_CODE_FIELDS, SINGLE_CODE_FIELDS
from vault.search.postings import Leaf, from_bits, to_bytemap

FACET_FIELDS = (*SINGLE_CODE_FIELDS, *MULTI_CODE_FIELDS, "case_id")
BITMAP_FROM = 2000


def _by_columns(leaf: Leaf, matched: int, totals: dict[str, Counter[str]]) -> None:
    docs = from_bits(matched)
    # One C-level gather per column (a single docnum would give a value, not a tuple).
    pick = itemgetter(*docs) if len(docs) > 1 else lambda column: (column[docs[0]],)
    cols = columns.codes(leaf)
    for field, column in cols.single.items():
        totals[field].update(pick(column))
    for field, column in cols.multi.items():
        totals[field].update(chain.from_iterable(pick(column)))
    totals["case_id"].update(pick(cols.case))


def _by_bitmaps(leaf: Leaf, matched: int, allowed: list[str], totals: dict[str, Counter[str]]) -> None:
    reader = leaf.searcher.reader()
    for field in FACET_FIELDS[:-1]:
        counts = totals[field]
        for btext in reader.lexicon(field):
            value = btext.decode("utf-8")
            counts[value] += (matched & leaf.bits(field, value)).bit_count()
    # Cases have short postings and no bitmaps (see postings.Leaf.case_docs):
    # count them by membership, one byte per document.
    member = to_bytemap(matched, leaf.doc_count)
    counts = totals["case_id"]
    for case in allowed:
        counts[case] += sum(map(member.__getitem__, leaf.case_docs(case)))


def count(matched: list[tuple[Leaf, int]], allowed: list[str]) -> dict[str, dict[str, int]]:
    """Facet name -> {code: number of matched documents}, most frequent first.

    ``matched`` holds, per segment, the bitmap of the matched documents (all
    of them of the ``allowed`` cases).
    """
    totals: dict[str, Counter[str]] = {f: Counter() for f in FACET_FIELDS}
    for leaf, bits in matched:
        if not bits:
            continue
        if bits.bit_count() >= BITMAP_FROM:
            _by_bitmaps(leaf, bits, allowed, totals)
        else:
            _by_columns(leaf, bits, totals)
    return {f: dict(sorted(((k, v) for k, v in c.items() if k is not None and v),
                           key=lambda kv: (-kv[1], kv[0])))
            for f, c in totals.items()}
