"""The candidate engine's machinery: bitmaps, score groups, facets, the searcher cache."""

from __future__ import annotations

import json
import os
import random
import time

import pytest

from tests.search.conftest import ids, make_doc
from vault.search import apply, engine, facets, search
from vault.search import searchers as searcher_cache
from vault.search.postings import from_bits, to_bits, to_bytemap
from vault.search.querybuild import parse

CASES = ["case-A", "case-B"]


@pytest.mark.parametrize("n", [0, 1, 5, 47, 48, 49, 300, 5000])
@pytest.mark.parametrize("span", [64, 1000, 100_000])
def test_bitmaps_round_trip(n: int, span: int) -> None:
    rng = random.Random(n * 7 + span)
    docs = sorted(rng.sample(range(span), min(n, span)))
    bits = to_bits(docs)
    assert bits == sum(1 << d for d in docs)
    assert from_bits(bits) == docs
    assert to_bits(reversed(docs)) == bits            # any order, any iterable
    member = to_bytemap(bits, span)
    assert len(member) >= span and [i for i, v in enumerate(member) if v] == docs


def corpus() -> list[dict]:
    titles = ["Пытки в ИВС Бишкек", "Пытки электротоком", "Избиение в Оше", "Жалал-Абадда кыйноо",
              "Jalalabad police beating", "Torture in Jalal-Abad", "Кыйноолор жана сабоо",
              "Бишкекте пытки и избиение", "Osh police station", "Statement"]
    docs = []
    for i in range(60):
        docs.append(make_doc(
            item_id=f"d{i:02d}", case_id=CASES[i % 2], title=titles[i % len(titles)] + (" пытки" * (i % 3 == 0)),
            place=["ИВС", "Jalal-Abad", "Бишкек", ""][i % 4], region=["osh", "chui", None][i % 3],
            violations=[["torture"], [], ["threats", "torture"]][i % 3],
            methods=[["beating"], ["electric_shock"], []][i % 3], tags=["urgent"] if i % 5 == 0 else []))
    return docs


def _reference_scores(path: str, text: str, cases: list[str]) -> dict[str, float]:
    """Scores as docs/search.md defines them, computed per document: the idf
    over the live documents of ``cases`` only, counted one by one."""
    import math

    searcher = searcher_cache.get_searcher(path)
    leaves = engine.leaves(searcher)
    mine = [(leaf, d) for leaf in leaves for d in range(leaf.doc_count)
            if not leaf.deleted() >> d & 1 and json.loads(leaf.doc(d))["case_id"] in cases]

    def weight(f: str, t: str, cls: str) -> float:
        df = sum(1 for leaf, d in mine if leaf.bits(f, t) >> d & 1)
        return math.log(1 + (len(mine) - df + 0.5) / (df + 0.5)) * engine.FIELD_BOOST[cls]

    parsed = parse(text)
    out: dict[str, float] = {}
    for leaf in leaves:
        live = [d for lf, d in mine if lf is leaf]

        def class_score(alts, d, leaf=leaf):
            total, found = 0.0, False
            for cls, terms in alts:
                weights = [weight(f, t, cls) for f, t in terms if leaf.bits(f, t) >> d & 1]
                if weights:
                    total += max(weights)
                    found = True
            return total if found else None

        def word_score(forms, d):
            parts = [class_score(engine._alternatives(forms, i), d) for i in range(len(forms.parts))]
            score = sum(parts) if all(p is not None for p in parts) else None
            if forms.joined:
                joined = class_score(engine._alternatives(forms, None), d)
                if joined is not None:
                    score = joined if score is None else max(score, joined)
            return score

        for d in live:
            total, matched = 0.0, False
            for group in parsed.groups:
                scores = [word_score(f, d) for clause in group for f in clause.forms]
                if all(s is not None for s in scores):
                    total += sum(scores)
                    matched = True
            if any(word_score(f, d) is not None for c in parsed.negatives for f in c.forms):
                matched = False
            if matched:
                out[json_id(leaf, d)] = total
    return out


def json_id(leaf, d: int) -> str:
    return json.loads(leaf.doc(d))["item_id"]


@pytest.mark.parametrize("text", [
    "пытки", "пытки Бишкек", "Jalal-Abad", "Jalalabad", "кыйноо", "torture police", "пытки OR Osh",
    "пытки -электротоком", "beating OR кыйноо OR избиение", "Бишкек пытки избиение",
])
@pytest.mark.parametrize("cases", [CASES, ["case-A"]])
def test_score_groups_equal_per_document_scores(build, text: str, cases: list[str]) -> None:
    docs = corpus()
    path = build(docs[:40])
    apply(path, docs[40:], ["d03", "d10"])  # a second segment, and deletions in the first
    result = search(str(path), text, allowed_case_ids=cases, per_page=100, facets=False)
    expected = _reference_scores(str(path), text, cases)
    assert expected, text
    got = {h["item_id"]: h["score"] for h in result["hits"]}
    assert set(got) == set(expected) and result["total"] == len(expected)
    for item, score in expected.items():
        assert got[item] == pytest.approx(score, abs=1e-5), item
    # Ordered by score, then by docnum (item ids were added in order).
    order = [h["item_id"] for h in result["hits"]]
    assert order == sorted(order, key=lambda i: (-round(expected[i], 5), i))


def test_facets_by_bitmaps_equal_facets_by_columns(build, monkeypatch) -> None:
    docs = corpus()
    path = build(docs[:40])
    apply(path, docs[40:], ["d03", "d10"])
    by_columns = search(str(path), "", allowed_case_ids=CASES)["facets"]
    narrowed = search(str(path), "пытки", allowed_case_ids=["case-A"])["facets"]
    monkeypatch.setattr(facets, "BITMAP_FROM", 1)
    assert search(str(path), "", allowed_case_ids=CASES)["facets"] == by_columns
    assert search(str(path), "пытки", allowed_case_ids=["case-A"])["facets"] == narrowed
    assert by_columns["case_id"] == {"case-A": 29, "case-B": 29}
    assert set(narrowed["case_id"]) == {"case-A"}


def test_highlight_and_facets_can_be_skipped(build) -> None:
    path = str(build(corpus()))
    r = search(path, "пытки", allowed_case_ids=CASES, facets=False, highlight=False)
    assert r["facets"] is None and r["hits"] and all(h["highlights"] is None for h in r["hits"])
    full = search(path, "пытки", allowed_case_ids=CASES)
    assert [h["item_id"] for h in full["hits"]] == [h["item_id"] for h in r["hits"]]


def test_settled_searcher_still_sees_every_commit(build, monkeypatch) -> None:
    path = build([make_doc(item_id="first", title="Пытки")])
    old = time.time() - 60
    os.utime(path, (old, old))  # a folder untouched for a minute: its mtime is trusted
    assert ids(search(str(path), "пытки", allowed_case_ids=CASES)) == {"first"}
    searcher = searcher_cache.get_searcher(path)

    def no_listing(*_args):
        raise AssertionError("the folder was listed although its mtime had not changed")

    monkeypatch.setattr(type(searcher), "up_to_date", no_listing)
    assert searcher_cache.get_searcher(path) is searcher
    monkeypatch.undo()
    apply(path, [make_doc(item_id="second", title="Пытки")], [])  # changes the folder's mtime
    assert ids(search(str(path), "пытки", allowed_case_ids=CASES)) == {"first", "second"}
    # A commit within the file system's timestamp granularity leaves the
    # mtime as it was: a recent mtime must not be trusted.
    recent = os.stat(path).st_mtime_ns
    apply(path, [], ["first"])
    os.utime(path, ns=(recent, recent))
    assert ids(search(str(path), "пытки", allowed_case_ids=CASES)) == {"second"}


def test_cold_caches_give_the_same_results(build) -> None:
    path = str(build(corpus()))
    warm_result = search(path, "пытки Бишкек", allowed_case_ids=CASES, filters={"region": ["osh", "chui"]})
    engine.clear_caches()
    assert search(path, "пытки Бишкек", allowed_case_ids=CASES, filters={"region": ["osh", "chui"]}) == warm_result


def test_date_window_matches_a_day_by_day_check(build) -> None:
    rng = random.Random(5)
    docs, spans = [], {}
    for i in range(300):
        if i % 10 == 0:
            docs.append(make_doc(item_id=f"u{i}", title="Пытки"))  # undated
            continue
        y, m, d = rng.randint(2010, 2016), rng.randint(1, 12), rng.randint(1, 28)
        y2 = y + (rng.random() < 0.3)
        end = (y2, rng.randint(m if y2 == y else 1, 12), 28)
        docs.append(make_doc(item_id=f"d{i}", title="Пытки", incident_date_from=f"{y}-{m:02d}-{d:02d}",
                             incident_date_to=f"{end[0]}-{end[1]:02d}-{end[2]:02d}"))
        spans[f"d{i}"] = (y * 10000 + m * 100 + d, end[0] * 10000 + end[1] * 100 + end[2])
    path = str(build(docs))
    windows = [("2012-03-15", "2013-07-01"), ("2010-01-01", None), (None, "2011-12-31"),
               ("2016-12-28", "2016-12-28"), ("2009-01-01", "2009-12-31"), ("2014-06-01", "2014-06-30")]
    for start, end in windows:
        lo = int(start.replace("-", "")) if start else 0
        hi = int(end.replace("-", "")) if end else 99_999_999
        expected = {i for i, (a, b) in spans.items() if a <= hi and b >= lo}
        got: set[str] = set()
        for page in (1, 2, 3):
            r = search(path, "", allowed_case_ids=CASES, per_page=100, page=page,
                       filters={"date_from": start, "date_to": end})
            got |= ids(r)
        assert r["total"] == len(expected) and got == expected, (start, end)


@pytest.mark.parametrize("text", ["пытки", "пытки Бишкек", "Jalal-Abad", "torture police", "пытки OR Osh"])
def test_whoosh_engine_is_bm25f_when_every_document_is_visible(build, monkeypatch, text: str) -> None:
    """weighting.VisibleBM25F changes where the statistics come from, not the formula:
    a user who sees the whole index gets whoosh's own BM25F scores. (The average
    field length is the mean of whoosh's stored per-document lengths, which are
    byte-quantised, where whoosh divides its exact total: patched to match.)"""
    path = str(build(corpus()))
    ours = search(path, text, allowed_case_ids=CASES, per_page=100, facets=False, engine="whoosh")
    searcher = searcher_cache.get_searcher(path)
    reader, n = searcher.reader(), searcher.doc_count_all()
    mean = {f: sum(reader.doc_field_length(d, f) for d in range(n)) / n for f in ("text", "skel")}
    monkeypatch.setattr(type(searcher), "avg_field_length", lambda _self, f, default=None: mean.get(f, default))
    plain = searcher.search(parse(text).query, limit=None)
    leaf = engine.leaves(searcher)[0]
    expected = {json_id(leaf, hit.docnum): hit.score for hit in plain}
    got = {h["item_id"]: h["score"] for h in ours["hits"]}
    assert expected and set(got) == set(expected)
    for item, score in expected.items():
        assert got[item] == pytest.approx(score, abs=1e-5), item
