"""Find records by the words of their vocabulary labels, in en/ru/ky.

A record coded ``methods=["electric_shock"]`` should be found by "электроток",
"electric shock" or «электр тогу» even when its title says none of these. The
labels are not indexed with every record (that made "пытки" a posting list
of most of the index); instead a query word is mapped here to the codes
whose labels contain it, and the query asks for those code terms, which
whoosh already has (they are the filter fields).
"""

from __future__ import annotations

from functools import lru_cache

from vault.search.analysis import analyze_word, is_stopword, words

# Coded field -> vocabulary name in vault.domain.vocab.
VOCAB_OF = {
    "region": "REGIONS", "detention_place_type": "DETENTION_PLACE_TYPES",
    "violations": "VIOLATIONS", "methods": "METHODS", "evidence_type": "EVIDENCE_TYPES",
}


@lru_cache(maxsize=1)
def _stem_index() -> dict[str, frozenset[tuple[str, str]]]:
    """stem -> {(field, code)} over every label of every code but "other"."""
    try:
        from vault.domain import vocab
    except ImportError:  # vault.domain.vocab is optional for this package: no label search
        return {}
    index: dict[str, set[tuple[str, str]]] = {}
    for field, name in VOCAB_OF.items():
        for code in getattr(vocab, name, ()):
            if code == "other":  # "Other place" must not make "place" match everything
                continue
            for lang in ("en", "ru", "ky"):
                try:
                    label = vocab.label(name, code, lang)
                except (KeyError, AttributeError):
                    continue
                for m in words(label):
                    if len(m.group()) < 2 or is_stopword(m.group()):
                        continue
                    for stem in analyze_word(m.group()).all_stems():
                        index.setdefault(stem, set()).add((field, code))
    return {stem: frozenset(codes) for stem, codes in index.items()}


def codes_for(stems: frozenset[str]) -> frozenset[tuple[str, str]]:
    """The (field, code) pairs whose labels contain one of these stems."""
    index = _stem_index()
    out: set[tuple[str, str]] = set()
    for stem in stems:
        out |= index.get(stem, frozenset())
    return frozenset(out)
