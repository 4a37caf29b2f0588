"""Filters, date overlap, facets, paging and sorting."""

from __future__ import annotations

import pytest

from tests.search.conftest import ids, make_doc
from vault.search import SearchQueryError, search

pytestmark = pytest.mark.usefixtures("both_engines")

CASES = ["case-A", "case-B"]


def coded_corpus() -> list[dict]:
    return [
        make_doc(item_id="a", case_id="case-A", title="Пытки", region="bishkek",
                 detention_place_type="temporary_detention", violations=["torture", "threats"],
                 methods=["beating"], evidence_type="statement", uploader_role="lawyer", language="ru",
                 incident_date_from="2023-01-10", incident_date_to="2023-01-20"),
        make_doc(item_id="b", case_id="case-A", title="Пытки", region="osh",
                 detention_place_type="police_station", violations=["torture"],
                 methods=["electric_shock", "beating"], evidence_type="photo", uploader_role="medic",
                 language="ky", incident_date_from="2023-02-01"),
        make_doc(item_id="c", case_id="case-B", title="Пытки", region="osh",
                 detention_place_type="pretrial_detention", violations=["cruel_treatment"],
                 methods=[], evidence_type="forensic_report", uploader_role="medic", language="en",
                 incident_date_from="2022-12-25", incident_date_to="2023-01-05"),
        make_doc(item_id="d", case_id="case-B", title="Пытки", region=None,
                 detention_place_type=None, violations=[], methods=["suspension"],
                 evidence_type="statement", uploader_role="lawyer", language=None),
    ]


@pytest.mark.parametrize(("filters", "expected"), [
    ({"region": "osh"}, {"b", "c"}),
    ({"region": ["bishkek", "osh"]}, {"a", "b", "c"}),
    ({"detention_place_type": "police_station"}, {"b"}),
    ({"violations": ["threats", "cruel_treatment"]}, {"a", "c"}),    # any of
    ({"methods": "beating"}, {"a", "b"}),
    ({"methods": ["suspension", "electric_shock"]}, {"b", "d"}),
    ({"evidence_type": "statement"}, {"a", "d"}),
    ({"case_id": "case-B"}, {"c", "d"}),
    ({"uploader_role": "medic"}, {"b", "c"}),
    ({"language": "ky"}, {"b"}),
    ({"language": "ru"}, {"a", "d"}),          # d: detected from its Russian title
    ({"region": "osh", "uploader_role": "medic", "evidence_type": "photo"}, {"b"}),
    ({"region": [], "methods": None}, {"a", "b", "c", "d"}),   # empty = no filter
    ({"region": "no_such_code"}, set()),
])
def test_each_filter(build, filters: dict, expected: set[str]) -> None:
    path = str(build(coded_corpus()))
    assert ids(search(path, "пытки", allowed_case_ids=CASES, filters=filters)) == expected
    assert ids(search(path, "", allowed_case_ids=CASES, filters=filters)) == expected


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2023-01-15", "2023-01-15", {"a"}),             # inside a's range
    ("2023-01-01", "2023-01-09", {"c"}),             # overlaps the end of c's range only
    ("2023-01-05", "2023-01-10", {"a", "c"}),        # touches c's last and a's first day
    ("2023-02-01", "2023-12-31", {"b"}),             # b is a one-day range
    ("2023-02-02", None, set()),                     # open end
    (None, "2022-12-31", {"c"}),                     # open start
    ("2020-01-01", "2030-01-01", {"a", "b", "c"}),   # d has no date: never in a date filter
])
def test_date_range_overlap(build, start: str | None, end: str | None, expected: set[str]) -> None:
    path = str(build(coded_corpus()))
    result = search(path, "", allowed_case_ids=CASES, filters={"date_from": start, "date_to": end})
    assert ids(result) == expected


@pytest.mark.parametrize("filters", [
    {"date_from": "2023-02-01", "date_to": "2023-01-01"},
    {"date_from": "01.02.2023"},
    {"date_to": "2023-02-30"},
    {"regions": "osh"},
    {"region": 5},
    {"region": [""]},
    {"methods": {"beating": 1}},
])
def test_bad_filters_are_named_errors(build, filters: dict) -> None:
    path = str(build(coded_corpus()))
    with pytest.raises(SearchQueryError):
        search(path, "", allowed_case_ids=CASES, filters=filters)


def test_facets_have_exact_counts(build) -> None:
    path = str(build(coded_corpus()))
    facets = search(path, "пытки", allowed_case_ids=CASES)["facets"]
    assert facets["region"] == {"osh": 2, "bishkek": 1}
    assert facets["detention_place_type"] == {"police_station": 1, "pretrial_detention": 1,
                                             "temporary_detention": 1}
    assert facets["violations"] == {"torture": 2, "cruel_treatment": 1, "threats": 1}
    assert facets["methods"] == {"beating": 2, "electric_shock": 1, "suspension": 1}
    assert facets["evidence_type"] == {"statement": 2, "forensic_report": 1, "photo": 1}
    assert facets["uploader_role"] == {"lawyer": 2, "medic": 2}
    assert facets["case_id"] == {"case-A": 2, "case-B": 2}
    assert facets["language"] == {"ru": 2, "en": 1, "ky": 1}
    # Facets count the filtered result, not the whole index.
    narrowed = search(path, "пытки", allowed_case_ids=CASES, filters={"region": "osh"})["facets"]
    assert narrowed["region"] == {"osh": 2}
    assert narrowed["methods"] == {"beating": 1, "electric_shock": 1}
    assert search(path, "пытки", allowed_case_ids=CASES, facets=False)["facets"] is None


def test_facets_follow_index_updates(build) -> None:
    from vault.search import apply

    path = build(coded_corpus())
    assert search(str(path), "", allowed_case_ids=CASES)["facets"]["region"]["osh"] == 2
    apply(path, [make_doc(item_id="e", case_id="case-A", region="osh")], ["c"])
    facets = search(str(path), "", allowed_case_ids=CASES)["facets"]
    assert facets["region"] == {"osh": 2, "bishkek": 1}  # c deleted, e added
    assert facets["case_id"] == {"case-A": 3, "case-B": 1}


def test_pagination_has_no_duplicates_or_gaps(build) -> None:
    # Identical titles give identical scores: the order must still be stable.
    docs = [make_doc(item_id=f"p{i:02d}", title="Избиение в ИВС") for i in range(47)]
    docs += [make_doc(item_id=f"x{i}", title="Unrelated") for i in range(5)]
    path = str(build(docs))
    seen: list[str] = []
    totals = set()
    for page in range(1, 6):
        r = search(path, "избиение", allowed_case_ids=CASES, page=page, per_page=10)
        totals.add(r["total"])
        assert r["pages"] == 5 and r["page"] == page
        seen += [h["item_id"] for h in r["hits"]]
    assert totals == {47}
    assert len(seen) == 47 and set(seen) == {f"p{i:02d}" for i in range(47)}
    assert search(path, "избиение", allowed_case_ids=CASES, page=6, per_page=10)["hits"] == []


def test_sort_by_date(build) -> None:
    docs = [
        make_doc(item_id="old", title="Пытки", incident_date_from="2019-05-01"),
        make_doc(item_id="new", title="Пытки", incident_date_from="2024-05-01"),
        make_doc(item_id="mid", title="Пытки пытки пытки", incident_date_from="2021-05-01",
                 incident_date_to="2021-06-01"),
        make_doc(item_id="undated", title="Пытки"),
    ]
    path = str(build(docs))
    order = [h["item_id"] for h in search(path, "пытки", allowed_case_ids=CASES, sort="date")["hits"]]
    assert order == ["new", "mid", "old", "undated"]
    # Without text, listing is by date too.
    assert [h["item_id"] for h in search(path, "", allowed_case_ids=CASES)["hits"]] == order


@pytest.mark.parametrize("kwargs", [
    {"sort": "newest"}, {"page": 0}, {"per_page": 0}, {"per_page": 1000}, {"page": "2"},
    {"page": 100_000}, {"per_page": True},
])
def test_bad_paging_is_a_named_error(build, kwargs: dict) -> None:
    path = str(build(coded_corpus()))
    with pytest.raises(SearchQueryError):
        search(path, "пытки", allowed_case_ids=CASES, **kwargs)


def test_overlong_query_is_a_named_error(build) -> None:
    path = str(build(coded_corpus()))
    with pytest.raises(SearchQueryError):
        search(path, "пытки " * 200, allowed_case_ids=CASES)
    with pytest.raises(SearchQueryError):
        search(path, " ".join(f"w{i}" for i in range(40)), allowed_case_ids=CASES)


def test_superseded_case_records_are_left_out_unless_asked(build) -> None:
    from vault.search import apply

    docs = [*coded_corpus(),
            make_doc(item_id="r1", case_id="case-A", title="Пытки", evidence_type="case_record", superseded=True),
            make_doc(item_id="r2", case_id="case-A", title="Пытки", evidence_type="case_record")]
    path = build(docs)
    assert ids(search(str(path), "пытки", allowed_case_ids=CASES)) == {"a", "b", "c", "d", "r2"}
    got = search(str(path), "", allowed_case_ids=CASES, filters={"evidence_type": "case_record"})
    assert ids(got) == {"r2"} and got["facets"]["evidence_type"] == {"case_record": 1}
    assert ids(search(str(path), "пытки", allowed_case_ids=CASES, filters={"include_superseded": True})) \
        == {"a", "b", "c", "d", "r1", "r2"}
    # A newer save supersedes r2: the index learns it as an update of r2's document.
    apply(path, [make_doc(item_id="r2", case_id="case-A", title="Пытки", evidence_type="case_record", superseded=True),
                 make_doc(item_id="r3", case_id="case-A", title="Пытки", evidence_type="case_record")], [])
    assert ids(search(str(path), "", allowed_case_ids=CASES, filters={"evidence_type": "case_record"})) == {"r3"}
    assert ids(search(str(path), "-кызыл", allowed_case_ids=CASES)) == {"a", "b", "c", "d", "r3"}  # with exclusions
    with pytest.raises(SearchQueryError):
        search(str(path), "", allowed_case_ids=CASES, filters={"include_superseded": "yes"})
