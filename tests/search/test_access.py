"""Access control inside the query, highlighting and HTML escaping."""

from __future__ import annotations

import pytest

from tests.search.conftest import ids, make_doc
from vault.search import search
from vault.search import searchers as searcher_cache

pytestmark = pytest.mark.usefixtures("both_engines")

def two_cases() -> list[dict]:
    # Case B's records match every query below better than case A's do.
    return [
        make_doc(item_id="a1", case_id="case-A", title="Пытки в ИВС", region="chui", methods=["beating"]),
        make_doc(item_id="a2", case_id="case-A", title="Жалоба", region="chui"),
        make_doc(item_id="b1", case_id="case-B", title="Пытки пытки пытки в ИВС Бишкек", region="bishkek",
                 methods=["electric_shock"], violations=["torture"], uploader_role="medic"),
        make_doc(item_id="b2", case_id="case-B", title="Пытки электротоком", region="osh",
                 evidence_type="photo"),
    ]


@pytest.mark.parametrize("text", ["пытки", "ИВС", "Бишкек", "электроток", "", "пытки OR жалоба", "-жалоба"])
def test_member_of_a_never_sees_b(build, text: str) -> None:
    path = str(build(two_cases()))
    r = search(path, text, allowed_case_ids=["case-A"], per_page=100)
    assert ids(r) <= {"a1", "a2"}
    assert r["total"] == len(r["hits"])
    facets = r["facets"]
    assert set(facets["case_id"]) <= {"case-A"}
    assert set(facets["region"]) <= {"chui"}
    assert "electric_shock" not in facets["methods"] and "torture" not in facets["violations"]
    assert "medic" not in facets["uploader_role"] and "photo" not in facets["evidence_type"]


def test_counts_do_not_leak(build) -> None:
    path = str(build(two_cases()))
    a = search(path, "пытки", allowed_case_ids=["case-A"])
    assert a["total"] == 1 and a["pages"] == 1
    assert a["facets"]["case_id"] == {"case-A": 1}
    both = search(path, "пытки", allowed_case_ids=["case-A", "case-B"])
    assert both["total"] == 3


def test_case_filter_cannot_widen_access(build) -> None:
    path = str(build(two_cases()))
    r = search(path, "пытки", allowed_case_ids=["case-A"], filters={"case_id": "case-B"})
    assert r["total"] == 0 and r["hits"] == [] and r["facets"]["case_id"] == {}


def test_no_allowed_cases_returns_nothing_without_the_index(tmp_path) -> None:
    # The path does not even exist: an empty allow-list must not touch it.
    r = search(str(tmp_path / "nowhere"), "пытки", allowed_case_ids=[])
    assert r["total"] == 0 and r["hits"] == [] and r["pages"] == 0
    assert all(v == {} for v in r["facets"].values())


def test_allowed_case_ids_must_not_be_a_string(build) -> None:
    path = str(build(two_cases()))
    with pytest.raises(TypeError):
        search(path, "пытки", allowed_case_ids="case-A")


def test_unknown_case_ids_are_harmless(build) -> None:
    path = str(build(two_cases()))
    assert search(path, "пытки", allowed_case_ids=["case-Z", "x" * 300])["total"] == 0


def test_highlights_mark_matches_and_escape_everything_else(build) -> None:
    path = str(build([
        make_doc(item_id="x", title='<script>alert("пытки")</script> Пытки & "побои"',
                 place="<img src=x onerror=alert(1)> Бишкек", tags=["<b>срочно</b>", "пытка"]),
    ]))
    hit = search(path, "пытка Bishkek", allowed_case_ids=["case-A"])["hits"][0]
    hl = hit["highlights"]
    assert hl["title"] == ("&lt;script&gt;alert(&quot;<mark>пытки</mark>&quot;)&lt;/script&gt; "
                           "<mark>Пытки</mark> &amp; &quot;побои&quot;")
    assert hl["place"] == "&lt;img src=x onerror=alert(1)&gt; <mark>Бишкек</mark>"
    assert hl["tags"] == "&lt;b&gt;срочно&lt;/b&gt;, <mark>пытка</mark>"
    for snippet in hl.values():
        stripped = snippet.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped
    # The stored document comes back unchanged; escaping is the template's job.
    assert hit["title"].startswith("<script>")


def test_highlight_of_long_text_is_cut_around_the_match(build) -> None:
    long_title = "слово " * 100 + "кыйноолор " + "слово " * 100
    path = str(build([make_doc(item_id="long", title=long_title)]))
    hl = search(path, "кыйноо", allowed_case_ids=["case-A"])["hits"][0]["highlights"]["title"]
    assert "<mark>кыйноолор</mark>" in hl
    assert hl.startswith("…") and hl.endswith("…") and len(hl) < 300


def test_searcher_is_cached_and_sees_new_commits(build) -> None:
    from vault.search import apply

    path = build(two_cases())
    search(str(path), "пытки", allowed_case_ids=["case-A"])
    first = searcher_cache.get_searcher(path)
    assert searcher_cache.get_searcher(path) is first             # cached while unchanged
    apply(path, [make_doc(item_id="a3", case_id="case-A", title="Новые пытки")], ["a1"])
    r = search(str(path), "пытки", allowed_case_ids=["case-A"])
    assert ids(r) == {"a3"}                                         # a1 deleted, a3 added
    assert searcher_cache.get_searcher(path) is not first


def test_warm_up_loads_postings_and_changes_no_result(build) -> None:
    from vault.search import engine, warm

    path = str(build(two_cases()))
    before = search(path, "пытки", allowed_case_ids=["case-A", "case-B"])
    engine.clear_caches()
    assert warm(path) > 0 and engine.postings_cache.size > 0
    assert search(path, "пытки", allowed_case_ids=["case-A", "case-B"]) == before
