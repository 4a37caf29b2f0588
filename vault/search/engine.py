"""Candidate-driven query evaluation on whoosh's postings.

Why not ``Searcher.search(q, filter=allowed)``: whoosh walks every posting
of the query terms in Python and only then checks the filter. In a torture
vault "пытки" is in a quarter of all records, so at 100,000 records one word
cost 117 ms median (docs/search.md) although a lawyer's cases hold ~2,500.

Here the access filter comes first. Per segment, the allowed documents are
the union of the postings of the allowed ``case_id`` terms; the code filters
and deletions narrow that set; each query word is then only intersected with
it. Sets are bitmaps held in Python ints, so an intersection is one C-speed
``&`` whatever the posting list's length, and posting bitmaps are cached per
segment. Totals, pages and facets are computed from the resulting set, so
they can only ever count allowed documents — the same guarantee as whoosh's
``filter=``.

Scoring is BM25-style without length normalisation (metadata fields are
short): for every query word, per field, the best idf of its alternative
terms times the field boost; summed over words. Phrases are checked by
re-analysing the stored text of the candidates that hold all their words.
"""

from __future__ import annotations

import json
import math

from whoosh.searching import Searcher

from vault.search.analysis import WordForms, analyze_word, words
from vault.search.documents import text_field
from vault.search.labels import codes_for
from vault.search.postings import (  # noqa: F401 - re-exported for callers and the benchmark
    CACHE_BUDGET,
    Leaf,
    clear_caches,
    from_bits,
    leaves,
    postings_cache,
    to_bits,
)
from vault.search.querybuild import Clause, ParsedQuery

FIELD_BOOST = {"text": 1.0, "skel": 0.6, "codes": 0.5}


def allowed_docs(leaf: Leaf, allowed: list[str], codes: dict[str, list[str]],
                 dates: tuple[int | None, int | None]) -> int:
    """Bitmap of the live documents of the allowed cases that pass every filter."""
    docs = to_bits(d for case in allowed for d in leaf.case_docs(case))
    for field, values in codes.items():
        if not docs:
            return 0
        docs &= leaf.union(field, values)
    deleted = leaf.live()
    if deleted and docs:
        docs &= ~deleted
    start, end = dates
    if docs and (start is not None or end is not None):
        cols = leaf.columns()
        first, last = cols["sort_date"], cols["end_date"]
        lo = start if start is not None else 0
        hi = end if end is not None else 99_999_999
        docs = to_bits(d for d in from_bits(docs) if first[d] and first[d] <= hi and last[d] >= lo)
    return docs


class Scorer:
    """Per-search idf cache: document frequencies summed over segments."""

    def __init__(self, all_leaves: list[Leaf], doc_count: int) -> None:
        self.leaves = all_leaves
        self.n = max(doc_count, 1)
        self._idf: dict[tuple[str, str], float] = {}

    def weight(self, field: str, text: str, boost_class: str) -> float:
        key = (field, text)
        w = self._idf.get(key)
        if w is None:
            df = sum(leaf.bits(field, text).bit_count() for leaf in self.leaves)
            w = math.log(1 + (self.n - df + 0.5) / (df + 0.5)) * FIELD_BOOST[boost_class]
            self._idf[key] = w
        return w


Alternative = tuple[str, frozenset[tuple[str, str]]]  # (boost class, {(field, term)})


def _alternatives(forms: WordForms, part: int | None) -> list[Alternative]:
    if part is None:
        return [("skel", frozenset(("skel", j) for j in forms.joined))]
    stems, skels = forms.parts[part]
    return [("text", frozenset(("text", s) for s in stems)),
            ("codes", codes_for(stems)),  # records coded with a label containing the word
            ("skel", frozenset(("skel", k) for k in skels))]


def _match_alts(leaf: Leaf, scorer: Scorer, alts: list[Alternative], within: int) -> dict[int, float]:
    """Docs of ``within`` matching any alternative; per class the best weight, summed."""
    scores: dict[int, float] = {}
    for boost_class, terms in alts:
        hits = [(scorer.weight(f, t, boost_class), within & leaf.bits(f, t)) for f, t in terms]
        taken = 0
        for w, bits in sorted(hits, key=lambda h: -h[0]):  # best alternative first
            new = bits & ~taken
            if new:
                taken |= new
                for d in from_bits(new):
                    scores[d] = scores.get(d, 0.0) + w
    return scores


def _word(leaf: Leaf, scorer: Scorer, forms: WordForms, within: int) -> dict[int, float]:
    parts = [_match_alts(leaf, scorer, _alternatives(forms, i), within) for i in range(len(forms.parts))]
    scores = parts[0]
    for other in parts[1:]:  # a compound needs every part ...
        scores = {d: s + other[d] for d, s in scores.items() if d in other}
    if forms.joined:  # ... or its parts written together
        for d, s in _match_alts(leaf, scorer, _alternatives(forms, None), within).items():
            scores[d] = max(scores.get(d, 0.0), s)
    return scores


def clause_scores(leaf: Leaf, scorer: Scorer, clause: Clause, within: int) -> dict[int, float]:
    """Scores of the documents of ``within`` (already known to match) for one clause."""
    scores: dict[int, float] = {}
    for forms in clause.forms:
        for d, s in _word(leaf, scorer, forms, within).items():
            scores[d] = scores.get(d, 0.0) + s
    return scores


def _word_bits(leaf: Leaf, forms: WordForms, within: int) -> int:
    """Bitmap of the documents of ``within`` that contain the word in any form."""
    matched: int | None = None
    for i in range(len(forms.parts)):
        part = 0
        for _cls, terms in _alternatives(forms, i):
            for f, t in terms:
                part |= leaf.bits(f, t)
        matched = part & within if matched is None else matched & part
    for f, t in _alternatives(forms, None)[0][1] if forms.joined else ():
        matched = (matched or 0) | (within & leaf.bits(f, t))
    return matched or 0


def clause_bits(leaf: Leaf, clause: Clause, within: int) -> int:
    """Bitmap of the documents of ``within`` matching a clause (phrases in order)."""
    bits = within
    for forms in clause.forms:
        bits = _word_bits(leaf, forms, bits)
        if not bits:
            return 0
    if clause.phrase:
        bits = to_bits(d for d in from_bits(bits) if _phrase_in(leaf, d, clause))
    return bits


def _phrase_in(leaf: Leaf, docnum: int, clause: Clause) -> bool:
    """Are the phrase's words adjacent, in order, in the document's text field?

    Re-analyses the stored text exactly as the index analyzer did (one
    position per word part) instead of walking whoosh's position postings:
    for a phrase of common words that walk took 100-300 ms at 100,000
    records, this costs a stored-field read per candidate.
    """
    doc = json.loads(leaf.searcher.stored_fields(docnum)["doc"])
    positions = [st for m in words(text_field(doc)) for st, _ in analyze_word(m.group()).parts]
    wanted = [st for forms in clause.forms for st, _ in forms.parts]
    last = len(positions) - len(wanted)
    return any(all(positions[i + j] & w for j, w in enumerate(wanted)) for i in range(last + 1))


def evaluate(leaf: Leaf, scorer: Scorer, parsed: ParsedQuery, candidates: int) -> dict[int, float]:
    """Scores of the candidates matching the parsed text (all of them, 0.0, if none).

    Matching is done on bitmaps first (one ``&`` per term); only the
    documents that match every required clause are then scored, so the
    Python-level work grows with the result, not with the candidates.
    """
    if parsed.groups:
        scores: dict[int, float] = {}
        for group in parsed.groups:  # alternatives: OR, scores added
            matched = candidates
            for clause in group:  # required clauses: AND
                matched = clause_bits(leaf, clause, matched)
                if not matched:
                    break
            if not matched:
                continue
            for clause in group:
                for d, s in clause_scores(leaf, scorer, clause, matched).items():
                    scores[d] = scores.get(d, 0.0) + s
    else:
        scores = dict.fromkeys(from_bits(candidates), 0.0)
    if parsed.negatives and scores:
        remaining = to_bits(scores)
        excluded = 0
        for clause in parsed.negatives:
            excluded |= clause_bits(leaf, clause, remaining)
        for d in from_bits(excluded):
            del scores[d]
    return scores


def warm(searcher: Searcher, *, top_terms: int = 200) -> int:
    """Load the posting bitmaps a search is most likely to need; returns how many.

    Every vocabulary code (label words map to them), the most frequent
    words and names, every case's documents, and the date/upload columns
    of each segment. Reading a
    frequent term's postings costs milliseconds once; do it before users do
    (at worker start, in a background thread) rather than in their first
    query.
    """
    loaded = 0
    for leaf in leaves(searcher):
        reader = leaf.searcher.reader()
        leaf.columns()
        for field in ("region", "detention_place_type", "evidence_type", "uploader_role", "language",
                      "violations", "methods"):
            for btext in reader.lexicon(field):
                leaf.bits(field, btext.decode("utf-8"))
                loaded += 1
        for field in ("text", "skel"):
            for _freq, btext in reader.most_frequent_terms(field, top_terms):
                leaf.bits(field, btext.decode("utf-8"))
                loaded += 1
        for btext in reader.lexicon("case_id"):
            leaf.case_docs(btext.decode("utf-8"))
            loaded += 1
    return loaded
