"""Candidate-driven query evaluation on whoosh's postings.

Why not ``Searcher.search(q, filter=allowed)``: whoosh walks every posting
of the query terms in Python and only then checks the filter. In a torture
vault "пытки" is in a quarter of all records, so at 100,000 records one word
cost 117 ms median (docs/search.md) although a lawyer's cases hold ~2,500.

Here the access filter comes first. Per segment, the allowed documents are
the union of the postings of the allowed ``case_id`` terms; the code filters
and deletions narrow that set; each query word is then only intersected with
it. Sets are bitmaps held in Python ints, so an intersection is one C-speed
``&`` whatever the posting list's length, and posting bitmaps (and each
word's union of its alternative terms) are cached per segment. Totals,
pages and facets are computed from the resulting set, so they can only ever
count allowed documents — the same guarantee as whoosh's ``filter=``.

Scoring is BM25-style without length normalisation (metadata fields are
short): for every query word, per field, the best idf of its alternative
terms times the field boost; summed over words. The idf is taken over the
user's visible documents only (``Scorer``), so no score, and no rank, says
anything about other cases. Scores are computed on
bitmaps too: the matched set is split into groups of equal score (a word
has a handful of alternatives, so a query has a few dozen groups at most),
and only the groups that reach the requested page are turned into
docnums. Phrases are checked by re-analysing the stored text of the
candidates that hold all their words.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from itertools import chain

from whoosh.searching import Searcher

from vault.search import columns
from vault.search.analysis import WordForms, analyze_word, words
from vault.search.documents import SUPERSEDED, text_field
from vault.search.labels import codes_for
from vault.search.postings import (  # noqa: F401 - re-exported for callers and the benchmark
    CACHE_BUDGET,
    Leaf,
    clear_postings,
    from_bits,
    leaves,
    postings_cache,
    to_bits,
)
from vault.search.querybuild import Clause, ParsedQuery


def clear_caches() -> None:
    """Forget every cached posting and column (tests, and the benchmark's "cold" row)."""
    clear_postings()
    columns.clear()


FIELD_BOOST = {"text": 1.0, "skel": 0.6, "codes": 0.5}
# (score, bitmap of the documents with that score); the bitmaps are disjoint.
Partition = list[tuple[float, int]]


def visible_docs(leaf: Leaf, allowed: list[str]) -> int:
    """Bitmap of the live documents of the allowed cases: what the user may see.

    The set every statistic of a search is taken over (``Scorer``), so that
    nothing in a response depends on documents of other cases.
    """
    # A user's allowed set is the same on every search until their cases or
    # the segment change, and building it is a Python-level loop over
    # thousands of docnums: memoised per segment, keyed by the case list.
    docs = leaf.memo(("allowed", *allowed),
                     lambda: to_bits(list(chain.from_iterable(map(leaf.case_docs, allowed)))))
    deleted = leaf.deleted()
    if deleted and docs:
        docs &= ~deleted
    return docs


def allowed_docs(leaf: Leaf, allowed: list[str], codes: dict[str, list[str]],
                 dates: tuple[int | None, int | None], visible: int | None = None, *,
                 superseded: bool = False) -> int:
    """Bitmap of the live documents of the allowed cases that pass every filter.

    ``visible`` is :func:`visible_docs` of the same segment and cases, if the
    caller already has it. Superseded case records are left out unless
    ``superseded`` is true.
    """
    docs = visible_docs(leaf, allowed) if visible is None else visible
    if docs and not superseded:
        docs &= ~leaf.bits("superseded", SUPERSEDED)
    for field, values in codes.items():
        if not docs:
            return 0
        docs &= leaf.union(field, values)
    start, end = dates
    if docs and (start is not None or end is not None):
        docs = columns.date_window(leaf, docs, start, end)
    return docs


class Scorer:
    """Per-search idf cache over the documents the user may see.

    Document frequencies and the document count are taken over ``visible``
    (per segment, the bitmap of :func:`visible_docs`), never over the whole
    index: with index-wide figures a score told a lawyer how many items the
    vault holds (the idf of a word only her own item contains) and how many
    items of other cases mention a name (its idf). Each frequency is one
    ``&`` and ``bit_count`` per segment.
    """

    def __init__(self, visible: list[tuple[Leaf, int]]) -> None:
        self.visible = [(leaf, bits) for leaf, bits in visible if bits]
        self.n = sum(bits.bit_count() for _leaf, bits in self.visible)
        self._idf: dict[tuple[str, str], float] = {}

    def doc_frequency(self, field: str, text: str) -> int:
        """How many visible documents hold the term."""
        return sum((leaf.bits(field, text) & bits).bit_count() for leaf, bits in self.visible)

    def weight(self, field: str, text: str, boost_class: str) -> float:
        key = (field, text)
        w = self._idf.get(key)
        if w is None:
            df = self.doc_frequency(field, text)
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


def _union(leaf: Leaf, alts: list[Alternative]) -> int:
    out = 0
    for _cls, terms in alts:
        for f, t in terms:
            out |= leaf.bits(f, t)
    return out


def word_bits(leaf: Leaf, forms: WordForms) -> int:
    """Bitmap of the segment's documents that contain the word in any form."""

    def compute() -> int:
        matched = _union(leaf, _alternatives(forms, 0))
        for i in range(1, len(forms.parts)):  # a compound needs every part ...
            matched &= _union(leaf, _alternatives(forms, i))
        if forms.joined:  # ... or its parts written together
            matched |= _union(leaf, _alternatives(forms, None))
        return matched

    return leaf.memo(("word", forms), compute)


def clause_bits(leaf: Leaf, clause: Clause, within: int) -> int:
    """Bitmap of the documents of ``within`` matching a clause (phrases in order)."""
    bits = within
    for forms in clause.forms:
        bits &= word_bits(leaf, forms)
        if not bits:
            return 0
    if clause.phrase:
        bits = to_bits([d for d in from_bits(bits) if _phrase_in(leaf, d, clause)])
    return bits


def _phrase_in(leaf: Leaf, docnum: int, clause: Clause) -> bool:
    """Are the phrase's words adjacent, in order, in the document's text field?

    Re-analyses the stored text exactly as the index analyzer did (one
    position per word part) instead of walking whoosh's position postings:
    for a phrase of common words that walk took 100-300 ms at 100,000
    records, this costs a document read per candidate.
    """
    doc = json.loads(leaf.doc(docnum))
    positions = [st for m in words(text_field(doc)) for st, _ in analyze_word(m.group()).parts]
    wanted = [st for forms in clause.forms for st, _ in forms.parts]
    last = len(positions) - len(wanted)
    return any(all(positions[i + j] & w for j, w in enumerate(wanted)) for i in range(last + 1))


def _combine(a: Partition, b: Partition, op: Callable[[float, float], float] = operator.add) -> Partition:
    """The common refinement of two partitions of the same set, scores combined by ``op``."""
    if op is operator.add and len(a) == 1 and a[0][0] == 0.0:
        return b  # adding to "everything scores 0"
    out: dict[float, int] = {}
    for sa, ba in a:
        for sb, bb in b:
            both = ba & bb
            if both:
                s = op(sa, sb)
                out[s] = out.get(s, 0) | both
    return list(out.items())


def _alternative_layers(leaf: Leaf, scorer: Scorer, alts: list[Alternative], within: int) -> Partition:
    """Split ``within`` by score: per class, the best weight among the alternatives
    a document has (0 for none), summed over classes."""
    part: Partition = [(0.0, within)]
    for boost_class, terms in alts:
        # Weights only for the alternatives some document of ``within`` has
        # (a word's label codes are many, and mostly absent).
        present = []
        for f, t in terms:
            bits = leaf.bits(f, t) & within
            if bits:
                present.append((scorer.weight(f, t, boost_class), bits))
        present.sort(key=lambda h: -h[0])
        taken = 0
        by_weight: dict[float, int] = {}
        for w, new in present:  # best alternative first
            if taken:
                new &= ~taken
            if new:
                taken |= new
                # Two alternatives of equal weight (equal frequency among the
                # visible documents) make one group: ties stay in docnum order.
                by_weight[w] = by_weight.get(w, 0) | new
        if not by_weight:
            continue
        layers = list(by_weight.items())
        rest = within & ~taken
        if rest:
            layers.append((0.0, rest))
        part = _combine(part, layers)
    return part


def _score_word(leaf: Leaf, scorer: Scorer, forms: WordForms, within: int) -> Partition:
    """Split ``within`` (documents known to hold the word) by the word's score.

    A compound scores the sum of its parts where it has them all, or its
    joined spelling, whichever is higher.
    """
    part = _alternative_layers(leaf, scorer, _alternatives(forms, 0), within)
    if len(forms.parts) == 1 and not forms.joined:
        return part
    has_all = within & _union(leaf, _alternatives(forms, 0))
    for i in range(1, len(forms.parts)):
        part = _combine(part, _alternative_layers(leaf, scorer, _alternatives(forms, i), within))
        has_all &= _union(leaf, _alternatives(forms, i))
    part = [(s, b & has_all) for s, b in part if b & has_all]
    if within & ~has_all:
        part.append((0.0, within & ~has_all))
    if forms.joined:
        part = _combine(part, _alternative_layers(leaf, scorer, _alternatives(forms, None), within), max)
    return part


def word_partition(leaf: Leaf, scorer: Scorer, forms: WordForms, within: int) -> Partition:
    """:func:`_score_word` for ``within`` (documents known to hold the word).

    Computed per search on the matches, not cached for the whole segment:
    the weights are the user's own (``Scorer``), so a segment-wide partition
    would be one per user and word, crowding out the posting bitmaps.
    """
    return _score_word(leaf, scorer, forms, within)


def evaluate(leaf: Leaf, scorer: Scorer, parsed: ParsedQuery, candidates: int) -> Partition:
    """The candidates matching the parsed text, grouped by score (all of them,
    with score 0.0, for a query without words).

    Matching is done on bitmaps first (one ``&`` per word); scoring then
    refines the matched set by each word's alternatives, so no step works
    per document.
    """
    if not parsed.groups:
        result: Partition = [(0.0, candidates)] if candidates else []
    else:
        alternatives: list[tuple[int, Partition]] = []
        for group in parsed.groups:  # alternatives: OR, scores added
            matched = candidates
            for clause in group:  # required clauses: AND
                matched = clause_bits(leaf, clause, matched)
                if not matched:
                    break
            if not matched:
                continue
            part: Partition = [(0.0, matched)]
            for clause in group:
                for forms in clause.forms:
                    part = _combine(part, word_partition(leaf, scorer, forms, matched))
            alternatives.append((matched, part))
        union = 0
        for matched, _ in alternatives:
            union |= matched
        result = [(0.0, union)] if union else []
        for matched, part in alternatives:
            if union & ~matched:
                part = [*part, (0.0, union & ~matched)]
            result = _combine(result, part)
    if parsed.negatives and result:
        remaining = 0
        for _s, bits in result:
            remaining |= bits
        excluded = 0
        for clause in parsed.negatives:
            excluded |= clause_bits(leaf, clause, remaining)
        if excluded:
            result = [(s, b & ~excluded) for s, b in result if b & ~excluded]
    return result


# Terms read from disk on first use cost ~1 ms per 1,000 postings (whoosh
# decodes them in Python): warm() loads every term at least this frequent.
WARM_MIN_POSTINGS = 500


def warm(searcher: Searcher, *, top_terms: int = 2000) -> int:
    """Load what a search is most likely to need; returns the terms loaded.

    Every vocabulary code (label words map to them), the words and names
    with at least ``WARM_MIN_POSTINGS`` postings (at most ``top_terms`` per
    field), every case's documents, each segment's columns (dates, codes and
    cases per document, for date filters and facets) and the label index.
    Reading a frequent term's postings costs milliseconds once; do it before
    users do (at worker start, in a background thread) rather than in their
    first query.
    """
    codes_for(frozenset())  # builds the label index once per process
    loaded = 0
    for leaf in leaves(searcher):
        reader = leaf.searcher.reader()
        columns.years(leaf)
        for field in ("region", "detention_place_type", "evidence_type", "uploader_role", "language",
                      "violations", "methods"):
            for btext in reader.lexicon(field):
                leaf.bits(field, btext.decode("utf-8"))
                loaded += 1
        for field in ("text", "skel"):
            for freq, btext in reader.most_frequent_terms(field, top_terms):
                if freq < WARM_MIN_POSTINGS:
                    break
                leaf.bits(field, btext.decode("utf-8"))
                loaded += 1
        for btext in reader.lexicon("case_id"):
            leaf.case_docs(btext.decode("utf-8"))
            loaded += 1
        columns.codes(leaf)
        if leaf.doc_count:
            leaf.doc(0)  # opens the document column
    return loaded
