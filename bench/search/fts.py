"""The SQLite FTS5 references of the search benchmark, on the same records.

Two of them, because FTS5 alone does a different job:

* ``exact``: FTS5 as it comes (unicode61 tokenizer) over the same text
  fields. It matches exact words only, so "пытки Бишкек" finds the records
  with exactly those two words — a few, where vault.search finds every form
  in three languages and both scripts. The floor, not the same job.
* ``terms``: FTS5 over the terms vault.search indexes (its stems, name
  skeletons and codes, computed by the same analyzers), queried with each
  word's alternatives (its stems, the codes its labels map to, its
  skeletons) ORed and the words ANDed, exactly as the candidate engine
  matches. Same records, same matches (the benchmark checks the totals are
  equal query by query), same access filter, same page: the like-for-like
  reference.

Both restrict to the query's allowed cases and filters in SQL, return the
stored JSON documents of the top 20 by FTS5's rank, parsed, plus the total
count — what ``vault.search.search(..., facets=False, highlight=False)``
returns.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from vault.search.analysis import SkeletonTokenizer, StemTokenizer, WordForms
from vault.search.documents import MULTI_CODE_FIELDS, SINGLE_CODE_FIELDS, to_fields, validate
from vault.search.labels import codes_for
from vault.search.querybuild import parse

# Our terms hold letters, digits and the markers of verb roots ("-") and
# vowel-free skeletons ("*"); ":" separates the field prefix.
_TERMS_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars ':*-_'"


def _terms(record: dict[str, Any]) -> str:
    fields = to_fields(validate(record))
    out = [f"t:{tok.text}" for tok in StemTokenizer()(fields["text"])]
    out += [f"s:{tok.text}" for tok in SkeletonTokenizer()(fields["skel"])]
    for field in (*SINGLE_CODE_FIELDS, *MULTI_CODE_FIELDS):
        out += [f"c:{field}:{code}" for code in str(fields.get(field) or "").split()]
    return " ".join(out)


def build(db: Path, records: list[dict[str, Any]], kind: str) -> sqlite3.Connection:
    """An FTS5 database of the records: ``kind`` is "exact" or "terms"."""
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    columns = "title, place, case_title, tags, tokenize='unicode61 remove_diacritics 2'" if kind == "exact" \
        else f'terms, tokenize="{_TERMS_TOKENIZER}"'
    conn.executescript(
        f"""
        CREATE TABLE meta(id INTEGER PRIMARY KEY, case_id TEXT, region TEXT,
                          date_from INTEGER, date_to INTEGER, doc TEXT);
        CREATE INDEX meta_case ON meta(case_id);
        CREATE VIRTUAL TABLE fts USING fts5({columns});
        """
    )
    with conn:
        for i, r in enumerate(records, 1):
            df = int(r["incident_date_from"].replace("-", "")) if r["incident_date_from"] else None
            dt = int(r["incident_date_to"].replace("-", "")) if r["incident_date_to"] else df
            conn.execute("INSERT INTO meta VALUES (?,?,?,?,?,?)",
                         (i, r["case_id"], r["region"], df, dt, json.dumps(r, ensure_ascii=False)))
            if kind == "exact":
                conn.execute("INSERT INTO fts(rowid, title, place, case_title, tags) VALUES (?,?,?,?,?)",
                             (i, r["title"], r["place"], r["case_title"], " ".join(r["tags"])))
            else:
                conn.execute("INSERT INTO fts(rowid, terms) VALUES (?,?)", (i, _terms(r)))
    return conn


def _quoted(tokens: list[str]) -> str:
    return "(" + " OR ".join('"' + t + '"' for t in sorted(tokens)) + ")"


def _part(stems: frozenset[str], skels: frozenset[str]) -> str:
    tokens = [f"t:{s}" for s in stems] + [f"s:{k}" for k in skels]
    tokens += [f"c:{f}:{c}" for f, c in codes_for(stems)]
    return _quoted(tokens)


def _word(forms: WordForms) -> str:
    expr = " AND ".join(_part(st, sk) for st, sk in forms.parts)
    if forms.joined:
        expr = f"(({expr}) OR {_quoted([f's:{j}' for j in forms.joined])})"
    return expr


def match_terms(text: str) -> str:
    """The MATCH expression of the ``terms`` table for a benchmark query
    (words only: the benchmark has no phrases, OR or exclusions)."""
    parsed = parse(text)
    (group,) = parsed.groups
    return " AND ".join(_word(forms) for clause in group for forms in clause.forms)


def match_exact(text: str) -> str:
    return " ".join('"' + w.replace('"', "") + '"' for w in text.split())


def query(conn: sqlite3.Connection, match: str, q: dict[str, Any], per_page: int = 20) -> tuple[int, list]:
    """Top ``per_page`` documents by rank, parsed, and the total."""
    params: list[Any] = [match, *q["allowed"]]
    where = f"fts MATCH ? AND m.case_id IN ({','.join('?' * len(q['allowed']))})"
    f = q.get("filters")
    if f:
        regions = ",".join("?" * len(f["region"]))
        where += f" AND m.region IN ({regions}) AND m.date_from <= ? AND m.date_to >= ?"
        params += [*f["region"], int(f["date_to"].replace("-", "")), int(f["date_from"].replace("-", ""))]
    base = f"FROM fts JOIN meta m ON m.id = fts.rowid WHERE {where}"  # noqa: S608 - placeholders only
    rows = conn.execute(f"SELECT m.doc {base} ORDER BY rank LIMIT {int(per_page)}", params).fetchall()  # noqa: S608
    total = conn.execute(f"SELECT count(*) {base}", params).fetchone()[0]  # noqa: S608
    return total, [json.loads(doc) for (doc,) in rows]
