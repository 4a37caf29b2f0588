"""Turn what a lawyer types into a whoosh query, leniently.

The language is small on purpose, and nothing typed is a syntax error:

* words are all required (``пытки Ош`` = both), stop words are dropped;
* ``"..."`` is a phrase (words next to each other, in any inflection); an
  unclosed quote runs to the end of the text;
* ``-word`` / ``-"phrase"`` excludes;
* ``OR`` (capitals, also ``ИЛИ`` / ``ЖЕ``) separates alternatives: ``a b OR c``
  is (a and b) or c;
* punctuation and symbols are ignored; there is no field syntax (filters
  are separate parameters), so ``case_id:x`` is just two words.

Only size is refused (:class:`SearchQueryError`), so a pasted page of text
cannot make whoosh build a query of thousands of clauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from whoosh import query as wq

from vault.search.analysis import WordForms, analyze_word, is_stopword, words
from vault.search.errors import SearchQueryError
from vault.search.labels import codes_for

MAX_QUERY_CHARS = 500
LABEL_BOOST = 0.5
MAX_WORDS = 32
OR_WORDS = frozenset(("OR", "ИЛИ", "ЖЕ"))
_CHUNK = re.compile(r'(?P<neg>-)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))')


class Or(wq.Or):
    """whoosh's Or, always as a tree of union matchers.

    whoosh picks an ArrayUnionMatcher on indexes of at most 5000 documents,
    which scores every posting up front; the tree is what it uses on larger
    indexes anyway, so behaviour and cost do not change with index size.
    """

    matcher_type = wq.Or.DEFAULT_MATCHER


@dataclass(frozen=True)
class Clause:
    """One required or excluded unit: a word, or a phrase of several words.

    The candidate engine (``engine``) evaluates ``forms`` itself; ``query``,
    the same clause as a whoosh query, is built only when the whoosh engine
    asks for it.
    """

    forms: tuple[WordForms, ...]
    phrase: bool

    @cached_property
    def query(self) -> wq.Query:
        return phrase_query(list(self.forms)) if self.phrase else word_query(self.forms[0])


@dataclass
class ParsedQuery:
    """The parsed query: structured clauses and the terms to highlight.

    ``groups`` are alternatives (OR) of required clauses (AND); ``negatives``
    clauses remove documents. ``query`` and ``exclude`` are the same as
    whoosh queries, built on first use.
    """

    stems: frozenset[str] = frozenset()
    skeletons: frozenset[str] = frozenset()
    words: list[str] = field(default_factory=list)
    groups: list[list[Clause]] = field(default_factory=list)
    negatives: list[Clause] = field(default_factory=list)

    @cached_property
    def query(self) -> wq.Query | None:
        as_queries = [c[0].query if len(c) == 1 else wq.And([x.query for x in c]) for c in self.groups]
        if as_queries:
            return as_queries[0] if len(as_queries) == 1 else Or(as_queries)
        return wq.Every() if self.negatives else None  # "-word" alone: everything else

    @cached_property
    def exclude(self) -> wq.Query | None:
        """Excluded words, for whoosh's ``mask=`` rather than AndNot: the
        AndNotMatcher of whoosh (2.7.5 and whoosh3 3.54) returns an excluded
        document when it is the first positive match (see docs/search.md)."""
        if not self.negatives:
            return None
        return self.negatives[0].query if len(self.negatives) == 1 else Or([c.query for c in self.negatives])


def _part_query(stems: frozenset[str], skels: frozenset[str]) -> wq.Query:
    terms: list[wq.Query] = [wq.Term("text", s) for s in sorted(stems)]
    # Codes whose en/ru/ky labels contain the word (see labels.py), weighted
    # below the record's own words.
    terms += [wq.Term(f, c, boost=LABEL_BOOST) for f, c in sorted(codes_for(stems))]
    terms += [wq.Term("skel", k) for k in sorted(skels)]
    return Or(terms)


def word_query(forms: WordForms) -> wq.Query:
    """All the ways one typed word can match: stems, label codes, skeletons."""
    parts = [_part_query(st, sk) for st, sk in forms.parts]
    q = parts[0] if len(parts) == 1 else wq.And(parts)
    if forms.joined:  # "Jalalabad" typed for «Жалал-Абад», or the reverse
        q = Or([q, *(wq.Term("skel", j) for j in sorted(forms.joined))])
    return q


def phrase_query(forms: list[WordForms]) -> wq.Query:
    """Word parts at consecutive positions of the text field, any inflection."""
    positions = [Or([wq.Term("text", s) for s in sorted(st)]) for f in forms for st, _ in f.parts]
    if len(positions) == 1:
        return word_query(forms[0])
    return wq.Sequence(positions)


@dataclass
class _Group:
    required: list[Clause] = field(default_factory=list)
    stops: list[Clause] = field(default_factory=list)


def parse(text: str) -> ParsedQuery:
    """Parse query text; an empty or symbols-only text gives no groups (``query`` None)."""
    if not isinstance(text, str):
        raise SearchQueryError("the query must be text")
    if len(text) > MAX_QUERY_CHARS:
        raise SearchQueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    groups = [_Group()]
    negatives: list[Clause] = []
    stems: set[str] = set()
    skels: set[str] = set()
    seen_words: list[str] = []
    for chunk in _CHUNK.finditer(text):
        raw = chunk.group("phrase") if chunk.group("phrase") is not None else chunk.group("word")
        if chunk.group("word") in OR_WORDS:
            groups.append(_Group())
            continue
        found = [m.group() for m in words(raw or "")]
        if not found:
            continue
        seen_words.extend(found)
        if len(seen_words) > MAX_WORDS:
            raise SearchQueryError(f"the query has more than {MAX_WORDS} words")
        forms = [analyze_word(w) for w in found]
        is_phrase = chunk.group("phrase") is not None and len(forms) > 1
        if chunk.group("neg"):
            if is_phrase:
                negatives.append(Clause(tuple(forms), True))
            else:  # -"a b" is a phrase; -a-b is the compound "a-b"; either way all words
                negatives.extend(Clause((f,), False) for f in forms)
            continue
        for f in forms:
            stems.update(f.all_stems())
            skels.update(f.all_skeletons())
        group = groups[-1]
        if is_phrase:
            group.required.append(Clause(tuple(forms), True))
        else:
            for w, f in zip(found, forms, strict=True):
                clause = Clause((f,), False)
                (group.stops if is_stopword(w) else group.required).append(clause)
    # Stop words count only when the group has nothing else ("the who").
    alternatives = [g.required or g.stops for g in groups if g.required or g.stops]
    return ParsedQuery(frozenset(stems), frozenset(skels), seen_words, alternatives, negatives)
