"""BM25F for the whoosh engine, over the documents the searching user may see.

whoosh's own BM25F takes the idf and the average field length from the
whole index (``Searcher.idf``, ``avg_field_length``), so a score would tell
a lawyer about documents of cases she is not a member of (how many items
the vault holds, how many mention a name). This model is whoosh's BM25F
with those two figures computed over the user's visible documents instead
(``engine.visible_docs``), and everything else as whoosh does it: the same
idf formula, term frequencies and document lengths. Only the reference
engine (``search(..., engine="whoosh")``) uses it; the candidate engine has
its own weights (``engine.Scorer``).
"""

from __future__ import annotations

from math import log

from whoosh import scoring
from whoosh.searching import Searcher

from vault.search import engine
from vault.search.postings import from_bits


class VisibleStats:
    """Document count, document frequencies and field lengths of one user's documents."""

    def __init__(self, visible: list[tuple[engine.Leaf, int]]) -> None:
        self.visible = [(leaf, bits) for leaf, bits in visible if bits]
        self.n = sum(bits.bit_count() for _leaf, bits in self.visible)
        self._idf: dict[tuple[str, str], float] = {}
        self._avgfl: dict[str, float] = {}

    def idf(self, fieldname: str, term: bytes | str) -> float:
        """whoosh's idf, ``log(N / (df + 1)) + 1``, with N and df over the visible documents."""
        text = term.decode("utf-8") if isinstance(term, bytes) else term
        key = (fieldname, text)
        found = self._idf.get(key)
        if found is None:
            df = sum((leaf.bits(fieldname, text) & bits).bit_count()
                     for leaf, bits in self.visible if leaf.count(fieldname, text))
            found = self._idf[key] = log(max(self.n, 1) / (df + 1)) + 1  # n = 0: nothing matches anyway
        return found

    def avg_field_length(self, fieldname: str) -> float:
        """Mean length of the field over the visible documents (1 if none).

        From whoosh's per-document lengths, which it stores byte-quantised;
        whoosh's own average divides an exact index-wide total, so the two
        differ slightly even when every document is visible (<1 % in the tests).
        """
        found = self._avgfl.get(fieldname)
        if found is None:
            total = 0
            for leaf, bits in self.visible:  # a read per document: this engine is the slow reference
                length = leaf.searcher.reader().doc_field_length
                total += sum(length(d, fieldname, 0) for d in from_bits(bits))
            found = self._avgfl[fieldname] = (total / self.n if self.n else 0) or 1
        return found


class _Scorer(scoring.BM25FScorer):
    def __init__(self, searcher: Searcher, fieldname: str, text: bytes, B: float, K1: float,  # noqa: N803 - whoosh's names
                 qf: float, stats: VisibleStats) -> None:
        # Not BM25FScorer.__init__: that reads the index-wide figures.
        self.idf = stats.idf(fieldname, text)
        self.avgfl = stats.avg_field_length(fieldname)
        self.B, self.K1, self.qf = B, K1, qf
        self.setup(searcher, fieldname, text)


class VisibleBM25F(scoring.BM25F):
    """whoosh's BM25F with the statistics of :class:`VisibleStats`; one per search."""

    def __init__(self, stats: VisibleStats) -> None:
        super().__init__()
        self.stats = stats

    def idf(self, searcher: Searcher, fieldname: str, text: bytes) -> float:
        return self.stats.idf(fieldname, text)

    def scorer(self, searcher: Searcher, fieldname: str, text: bytes, qf: float = 1) -> scoring.Scorer:
        if not searcher.schema[fieldname].scorable:  # codes: a weight per posting, no statistics
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        b = self._field_B.get(fieldname, self.B)
        return _Scorer(searcher, fieldname, text, b, self.K1, qf, self.stats)
