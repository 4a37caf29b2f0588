"""Nothing a lawyer gets back depends on cases she cannot see.

Two attacks on the scores, both with index-wide statistics (docs/search.md,
"Scores see only your cases"):

* a made-up word put into one of her own items has a document frequency of
  one, so its score was the idf of 1 over the whole index: inverting it gave
  the vault's total item count;
* the score of a facility name gave its document frequency over the whole
  index: how many items mention it in cases she is not a member of.

The check is byte-identity: the same lawyer, the same query, an index with
and without many items of other cases that use the same words (in the same
segment, in a later one, deleted again) — her whole response, serialised,
must not change. Both engines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.search.conftest import make_doc
from vault.search import apply, rebuild, search
from vault.search.searchers import forget

pytestmark = pytest.mark.usefixtures("both_engines")

HERS = ["case-A", "case-C"]
MADE_UP = "Qzxvorth"
FACILITY = "ИВС ГУВД г. Бишкек"


def her_docs() -> list[dict]:
    titles = ["Пытки в ИВС", "Жалоба на избиение", "Кыйноолордун далилдери", "Torture in police custody",
              "Пытки электротоком", f"Протокол {MADE_UP}", "Осмотр камер", "Statement"]
    places = [FACILITY, "Отдел милиции Оша", "Жалал-Абад шаарындагы ИИБ", "Osh city police", "", "СИЗО-1"]
    return [make_doc(item_id=f"her-{i:02d}", case_id=HERS[i % 2], title=titles[i % len(titles)],
                     place=places[i % len(places)], region=["chui", "osh", None][i % 3],
                     violations=[["torture"], [], ["threats"]][i % 3], methods=[["beating"], []][i % 2],
                     incident_date_from=f"20{10 + i % 9}-0{1 + i % 9}-1{i % 10}",
                     tags=["urgent"] if i % 4 == 0 else [])
            for i in range(24)]


def foreign_docs(n: int, prefix: str = "other") -> list[dict]:
    """Items of cases she is not in, full of her query words, her facility and the made-up word."""
    titles = ["Пытки пытки в ИВС", f"{MADE_UP} пытки", "Torture torture", "Кыйноо", "Избиение, пытки"]
    return [make_doc(item_id=f"{prefix}-{i:04d}", case_id=f"case-X{i % 7}", title=titles[i % len(titles)],
                     place=FACILITY if i % 2 else "Бишкек", region="chui", violations=["torture"],
                     methods=["electric_shock"], evidence_type="photo", uploader_role="medic")
            for i in range(n)]


QUERIES = ["пытки", "пытки ИВС", "Бишкек", FACILITY, MADE_UP, f"{MADE_UP} OR пытки", "torture police",
           "кыйноо", "Жалал-Абад", '"Пытки в ИВС"', "пытки -электротоком", "", "Osh OR Ош OR ИИБ"]


def responses(path: Path) -> list[str]:
    """Her responses to every query, serialised exactly as the API would send them."""
    out = []
    for text in QUERIES:
        for sort in ("relevance", "date"):
            r = search(str(path), text, allowed_case_ids=HERS, sort=sort, per_page=7, page=1)
            out.append(json.dumps(r, ensure_ascii=False))
            r = search(str(path), text, allowed_case_ids=HERS, sort=sort, per_page=7, page=2, facets=False)
            out.append(json.dumps(r, ensure_ascii=False))
    r = search(str(path), "пытки", allowed_case_ids=HERS, filters={"region": "chui", "date_from": "2012-01-01"})
    out.append(json.dumps(r, ensure_ascii=False))
    return out


@pytest.fixture
def index_at(tmp_path: Path):
    def _at(name: str) -> Path:
        return tmp_path / name / "index"

    yield _at
    forget()


def _interleaved(mine: list[dict], theirs: list[dict]) -> list[dict]:
    out, step = [], max(1, len(theirs) // len(mine))
    for i, doc in enumerate(mine):
        out += theirs[i * step:(i + 1) * step]
        out.append(doc)
    return out + theirs[len(mine) * step:]


def test_other_cases_change_nothing_in_her_response(index_at) -> None:
    mine = her_docs()
    alone = index_at("alone")
    rebuild(alone, mine)
    expected = responses(alone)
    assert any('"score": 0.0' not in r for r in expected)  # the relevance rows do score

    # Many items of other cases, in the same segment, between hers.
    crowded = index_at("crowded")
    rebuild(crowded, _interleaved(mine, foreign_docs(400)))
    assert responses(crowded) == expected

    # ... and in a later segment, with some of them deleted again.
    later = index_at("later")
    rebuild(later, mine + foreign_docs(50, "early"))
    apply(later, foreign_docs(300), [f"early-{i:04d}" for i in range(0, 50, 3)])
    assert responses(later) == expected


@pytest.mark.parametrize("others", [10, 250])
def test_made_up_word_score_does_not_count_the_vault(index_at, others: int) -> None:
    """Her own item holds a word nobody else uses: its score must not reveal how many
    items the vault holds (the idf of a document frequency of 1 over the index)."""
    mine = her_docs()
    quiet = [make_doc(item_id=f"q-{i}", case_id="case-Y", title="Statement") for i in range(others)]
    a, b = index_at("small"), index_at("large")
    rebuild(a, mine)
    rebuild(b, mine + quiet)
    score_a = search(str(a), MADE_UP, allowed_case_ids=HERS)["hits"][0]["score"]
    score_b = search(str(b), MADE_UP, allowed_case_ids=HERS)["hits"][0]["score"]
    assert score_a > 0
    assert score_b == score_a


def test_a_facility_score_does_not_count_other_cases_mentions(index_at) -> None:
    mine = her_docs()
    a, b = index_at("without"), index_at("with")
    rebuild(a, mine + [make_doc(item_id="x", case_id="case-Z", title="Statement")])
    rebuild(b, mine + [make_doc(item_id=f"x-{i}", case_id="case-Z", place=FACILITY) for i in range(60)])
    for text in (FACILITY, "Бишкек", "ГУВД"):
        ra = search(str(a), text, allowed_case_ids=HERS)
        rb = search(str(b), text, allowed_case_ids=HERS)
        assert [(h["item_id"], h["score"]) for h in rb["hits"]] == [(h["item_id"], h["score"]) for h in ra["hits"]]
        assert rb["total"] == ra["total"] and rb["facets"] == ra["facets"]
