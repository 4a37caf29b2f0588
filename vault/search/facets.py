"""Exact facet counts over the documents a search matched.

Counted from the matched document numbers, which are already restricted to
the allowed cases, so counts never include records of a case the user is
not a member of; the ``case_id`` facet only ever lists allowed cases.

Per segment, the matched documents become a bitmap and each facet value
costs one C-speed ``&`` and ``bit_count()`` against the value's posting
bitmap (cached by ``postings``): about 60 vocabulary codes, whatever the
number of matches; cases are counted from their short posting lists.
"""

from __future__ import annotations

from collections.abc import Iterable

from whoosh.searching import Searcher

from vault.search.documents import MULTI_CODE_FIELDS, SINGLE_CODE_FIELDS
from vault.search.postings import leaves, to_bits

FACET_FIELDS = (*SINGLE_CODE_FIELDS, *MULTI_CODE_FIELDS, "case_id")


def count(searcher: Searcher, docnums: Iterable[int], allowed: list[str]) -> dict[str, dict[str, int]]:
    """Facet name -> {code: number of matched documents}, most frequent first."""
    totals: dict[str, dict[str, int]] = {f: {} for f in FACET_FIELDS}
    ordered = sorted(docnums)
    if not ordered:
        return totals
    i = 0
    for leaf in leaves(searcher):
        end = leaf.offset + leaf.searcher.reader().doc_count_all()
        local = []
        while i < len(ordered) and ordered[i] < end:
            local.append(ordered[i] - leaf.offset)
            i += 1
        if not local:
            continue
        matched = to_bits(local)
        reader = leaf.searcher.reader()
        for field in FACET_FIELDS[:-1]:
            counts = totals[field]
            for btext in reader.lexicon(field):
                value = btext.decode("utf-8")
                n = (matched & leaf.bits(field, value)).bit_count()
                if n:
                    counts[value] = counts.get(value, 0) + n
        # Cases: short posting lists, counted by membership (see postings.Leaf.case_docs).
        local_set = set(local)
        counts = totals["case_id"]
        for case in allowed:
            n = sum(1 for d in leaf.case_docs(case) if d in local_set)
            if n:
                counts[case] = counts.get(case, 0) + n
    return {f: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for f, c in totals.items()}
