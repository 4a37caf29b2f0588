"""Search the metadata index, only within the cases the user belongs to.

Access control is part of the query evaluation, never a post-filter: the
total, every page and every facet count are computed over documents of the
allowed cases only. Two engines do this (docs/search.md):

* ``"candidates"`` (default, ``engine.py``): the allowed cases' postings are
  the starting set, filters and words are intersected into it;
* ``"whoosh"``: the allowed cases as a ``case_id`` terms query passed as
  ``filter=`` to ``Searcher.search`` — the reference the tests compare with.

This module never opens an index writer: searching is safe in request
handlers.
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from whoosh import query as wq
from whoosh import sorting
from whoosh.searching import Searcher

from vault.search import columns, engine
from vault.search import facets as facet_counts
from vault.search.documents import MULTI_CODE_FIELDS, SINGLE_CODE_FIELDS, SUPERSEDED, date_number, parse_date
from vault.search.errors import SearchQueryError
from vault.search.highlight import Highlighter
from vault.search.querybuild import Or, ParsedQuery, parse
from vault.search.searchers import get_searcher
from vault.search.weighting import VisibleBM25F, VisibleStats

CODE_FILTERS = (*SINGLE_CODE_FIELDS, *MULTI_CODE_FIELDS, "case_id")
FILTER_KEYS = frozenset((*CODE_FILTERS, "date_from", "date_to", "include_superseded"))
SORTS = ("relevance", "date")
MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page: deeper paging is a scraper, not a lawyer
MAX_ALLOWED_CASES = 10_000
MAX_FILTER_VALUES = 100
SCORE_DIGITS = 6  # decimals of a hit's score; ranking compares the same rounded figure


def _codes(key: str, value: object) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise SearchQueryError(f"filter {key}: expected a code or a list of codes")
    out = []
    for item in items:
        if not isinstance(item, str) or not item or len(item) > 200:
            raise SearchQueryError(f"filter {key}: {item!r} is not a code")
        out.append(item)
    if len(out) > MAX_FILTER_VALUES:
        raise SearchQueryError(f"filter {key}: more than {MAX_FILTER_VALUES} values")
    return sorted(set(out))


def _date(key: str, value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return date_number(parse_date(value, key))
    except ValueError as exc:
        raise SearchQueryError(f"filter {key}: {exc}") from None


@dataclass(frozen=True)
class Filters:
    """Validated filters: code field -> accepted codes, and the date window."""

    codes: dict[str, list[str]]
    start: int | None
    end: int | None
    include_superseded: bool = False


def parse_filters(filters: Mapping[str, Any] | None) -> Filters:
    """Check the filters; unknown keys and malformed values are SearchQueryError.

    A code filter matches any of its values (``violations=["torture",
    "threats"]`` = either); an empty list or None means "no filter". The date
    filter matches records whose incident range overlaps [date_from, date_to]
    (a record with one date is a one-day range; undated records never match).
    Case records that a later save replaced are left out unless
    ``include_superseded`` is true.
    """
    if filters is None:
        return Filters({}, None, None)
    if not isinstance(filters, Mapping):
        raise SearchQueryError("filters must be a mapping")
    unknown = sorted(set(filters) - FILTER_KEYS)
    if unknown:
        raise SearchQueryError(f"unknown filters {unknown}; known: {sorted(FILTER_KEYS)}")
    codes = {key: _codes(key, filters.get(key)) for key in CODE_FILTERS}
    start, end = _date("date_from", filters.get("date_from")), _date("date_to", filters.get("date_to"))
    if start is not None and end is not None and start > end:
        raise SearchQueryError("filter date_from is after date_to")
    superseded = filters.get("include_superseded", False)
    if not isinstance(superseded, bool):
        raise SearchQueryError("filter include_superseded: expected true or false")
    return Filters({k: v for k, v in codes.items() if v}, start, end, superseded)


def filter_queries(flt: Filters) -> list[wq.Query]:
    """The filters as whoosh queries (for the whoosh ``filter=`` engine)."""
    out: list[wq.Query] = [Or([wq.Term(k, c) for c in v]) if len(v) > 1 else wq.Term(k, v[0])
                           for k, v in flt.codes.items()]
    if flt.end is not None:
        out.append(wq.NumericRange("date_from", None, flt.end))
    if flt.start is not None:
        out.append(wq.NumericRange("date_to", flt.start, None))
    return out


def access_query(allowed_case_ids: Iterable[str]) -> wq.Query:
    """The access filter: documents of these cases only."""
    return Or([wq.Term("case_id", c) for c in allowed_case_ids])


def _allowed(allowed_case_ids: Iterable[str]) -> list[str]:
    if isinstance(allowed_case_ids, str):  # "abc" would otherwise mean a, b and c
        raise TypeError("allowed_case_ids must be a collection of case ids, not a string")
    allowed = sorted({c for c in allowed_case_ids if isinstance(c, str) and c})
    if len(allowed) > MAX_ALLOWED_CASES:
        raise SearchQueryError(f"more than {MAX_ALLOWED_CASES} allowed cases")
    return allowed


def _check_paging(sort: str, page: int, per_page: int) -> None:
    if sort not in SORTS:
        raise SearchQueryError(f"sort must be one of {SORTS}")
    for name, value in (("page", page), ("per_page", per_page)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SearchQueryError(f"{name} must be a positive integer")
    if per_page > MAX_PER_PAGE:
        raise SearchQueryError(f"per_page may be at most {MAX_PER_PAGE}")
    if page * per_page > MAX_RESULT_WINDOW:
        raise SearchQueryError(f"results beyond the first {MAX_RESULT_WINDOW} are not served")


def _empty(page: int, per_page: int, with_facets: bool) -> dict[str, Any]:
    return {"total": 0, "page": page, "per_page": per_page, "pages": 0, "hits": [],
            "facets": {f: {} for f in facet_counts.FACET_FIELDS} if with_facets else None}


def search(
    path: str,
    text: str | None,
    *,
    allowed_case_ids: Iterable[str],
    filters: Mapping[str, Any] | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    facets: bool = True,
    highlight: bool = True,
    engine: str = "candidates",
) -> dict[str, Any]:
    """Search metadata; see docs/search.md for the result's shape.

    ``text`` may be empty: then the filters alone select, newest incident
    first. ``sort="date"`` orders by incident date (newest first, undated
    last), then upload time. ``facets=False`` skips the facet counts (cheaper;
    for page 2 onwards) and gives ``facets: None``; ``highlight=False`` skips
    the snippets and gives ``highlights: None`` per hit. ``engine="whoosh"`` runs the same search through
    ``Searcher.search(filter=...)`` (slow on large indexes; kept as the
    reference the tests compare with). Raises :class:`SearchQueryError` for
    unacceptable input (the API's 400) and :class:`IndexUnavailable` when
    the index must be rebuilt (the API's 503).
    """
    _check_paging(sort, page, per_page)
    if engine not in ("candidates", "whoosh"):
        raise ValueError(f"unknown engine {engine!r}")
    allowed = _allowed(allowed_case_ids)
    flt = parse_filters(filters)
    parsed = parse(text or "")
    if not allowed:
        return _empty(page, per_page, facets)  # without touching the index
    by_date = sort == "date" or not parsed.groups
    searcher = get_searcher(path)
    run = _run_whoosh if engine == "whoosh" else _run_candidates
    skip = (page - 1) * per_page
    total, page_hits, matched = run(searcher, parsed, allowed, flt, by_date, skip, page * per_page)
    marker = Highlighter(parsed.stems, parsed.skeletons) if highlight else None
    hits = []
    for stored, score in page_hits:
        doc = json.loads(stored)
        doc["score"] = 0.0 if by_date else round(float(score), SCORE_DIGITS)
        doc["highlights"] = marker.highlights(doc) if marker else None
        hits.append(doc)
    return {
        "total": total,
        "page": page,
        "per_page": per_page,
        "pages": math.ceil(total / per_page),
        "hits": hits,
        "facets": facet_counts.count(matched, allowed) if facets else None,
    }


Ranked = tuple[int, list[tuple[bytes, float]], list[tuple[engine.Leaf, int]]]


def warm(path: str, *, top_terms: int = 2000) -> int:
    """Pre-load the index's frequent posting bitmaps into this process's cache.

    Call once per worker after start (a background thread is fine): the
    first searches then run at steady-state speed. Returns the terms loaded.
    """
    return engine.warm(get_searcher(path), top_terms=top_terms)


def _page(per_leaf: list[tuple[engine.Leaf, engine.Partition]], matched: list[tuple[engine.Leaf, int]],
          by_date: bool, limit: int) -> list[tuple[engine.Leaf, int, float]]:
    """The first ``limit`` matches in result order: (segment, docnum, score)."""
    if by_date:  # every match's dates are needed to order them
        keyed = []
        for leaf_no, (leaf, bits) in enumerate(matched):
            cols = columns.dates(leaf)
            first, uploaded = cols["sort_date"], cols["uploaded"]
            keyed += [(-first[d], -uploaded[d], leaf_no, d) for d in engine.from_bits(bits)]
        return [(matched[n][0], d, 0.0) for *_k, n, d in heapq.nsmallest(limit, keyed)]
    # Best score first; equal scores in docnum order (segments in order), so
    # pages are stable. Only the groups that reach the page become docnums.
    # One group per shown score and segment: scores that differ only in the
    # last bits of a float (the same weights added in another order) are the
    # same score to the reader, and ties must stay in docnum order.
    merged: dict[tuple[float, int], int] = {}
    for leaf_no, (_leaf, part) in enumerate(per_leaf):
        for s, b in part:
            key = (-round(s, SCORE_DIGITS), leaf_no)
            merged[key] = merged.get(key, 0) | b
    groups = sorted(((neg, leaf_no, b) for (neg, leaf_no), b in merged.items()), key=lambda g: (g[0], g[1]))
    out: list[tuple[engine.Leaf, int, float]] = []
    for neg_score, leaf_no, bits in groups:
        leaf = per_leaf[leaf_no][0]
        out += [(leaf, d, -neg_score) for d in engine.from_bits(bits)[:limit - len(out)]]
        if len(out) >= limit:
            break
    return out


def _run_candidates(searcher: Searcher, parsed: ParsedQuery, allowed: list[str], flt: Filters,
                    by_date: bool, skip: int, limit: int) -> Ranked:
    """Access filter first, then the words (see ``engine``).

    Returns the total, the stored documents and scores of ranks
    ``skip..limit``, and per segment the bitmap of every match.
    """
    visible = [(leaf, engine.visible_docs(leaf, allowed)) for leaf in engine.leaves(searcher)]
    scorer = engine.Scorer(visible)  # statistics of the user's own documents only
    per_leaf: list[tuple[engine.Leaf, engine.Partition]] = []
    for leaf, mine in visible:
        if not mine:
            continue
        candidates = engine.allowed_docs(leaf, allowed, flt.codes, (flt.start, flt.end), mine,
                                         superseded=flt.include_superseded)
        if candidates:
            part = engine.evaluate(leaf, scorer, parsed, candidates)
            if part:
                per_leaf.append((leaf, part))
    matched = []
    for leaf, part in per_leaf:
        bits = 0
        for _s, b in part:
            bits |= b
        matched.append((leaf, bits))
    total = sum(bits.bit_count() for _leaf, bits in matched)
    top = _page(per_leaf, matched, by_date, limit)
    page = [(leaf.doc(d), s) for leaf, d, s in top[skip:]]
    return total, page, matched


def _run_whoosh(searcher: Searcher, parsed: ParsedQuery, allowed: list[str], flt: Filters,
                by_date: bool, skip: int, limit: int) -> Ranked:
    """The plain whoosh way: access and filters as ``filter=``, exclusions as ``mask=``."""
    restrictions = filter_queries(flt)
    access = access_query(allowed)
    combined = wq.And([access, *restrictions]) if restrictions else access
    q = parsed.query if parsed.query is not None else wq.Every()
    mask = parsed.exclude
    if not flt.include_superseded:
        hide = wq.Term("superseded", SUPERSEDED)
        mask = hide if mask is None else wq.Or([mask, hide])
    sortedby = None
    if by_date:
        sortedby = sorting.MultiFacet([sorting.FieldFacet("sort_date", reverse=True),
                                       sorting.FieldFacet("uploaded", reverse=True)])
    # Scored with the statistics of the user's own documents, not whoosh's
    # index-wide ones (see weighting.py).
    stats = VisibleStats([(leaf, engine.visible_docs(leaf, allowed)) for leaf in engine.leaves(searcher)])
    collector = searcher.collector(filter=combined, mask=mask, limit=limit, sortedby=sortedby,
                                   terms=False)
    searcher.search_with_collector(q, collector, context=searcher.context(weighting=VisibleBM25F(stats)))
    results = collector.results()
    hits = results[skip:limit]
    docs = searcher.reader().column_reader("doc") if hits else None  # an empty index has no column
    page = [(docs[hit.docnum], hit.score or 0.0) for hit in hits]
    return len(results), page, _per_leaf(searcher, results.docs())


def _per_leaf(searcher: Searcher, docnums: Iterable[int]) -> list[tuple[engine.Leaf, int]]:
    """Global docnums as a bitmap per segment."""
    ordered = sorted(docnums)
    out = []
    i = 0
    for leaf in engine.leaves(searcher):
        end = leaf.offset + leaf.doc_count
        local = []
        while i < len(ordered) and ordered[i] < end:
            local.append(ordered[i] - leaf.offset)
            i += 1
        out.append((leaf, engine.to_bits(local)))
    return out
