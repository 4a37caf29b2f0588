"""Three whoosh bugs met while building vault.search, as runnable evidence.

    .venv/bin/python bench/search/whoosh_bugs.py

Run it with each candidate package installed to compare (docs/search.md has
the results for whoosh-reloaded 2.7.5 and whoosh3 3.54). vault.search works
around all three, so it is correct on either package:

1. ``AndNot``: an excluded document is returned when it is the first
   positive match (``AndNotMatcher._find_first`` only skips the negative
   side when both start on the same document). -> exclusions use ``mask=``.
2. ``Searcher.refresh()`` after a delete: re-used segment readers keep their
   old deletion lists, so deleted or replaced documents are still found.
   -> a fresh searcher is opened when the index changed.
3. ``NumericRange(field, None, end)`` on a ``NUMERIC(signed=False)`` field
   matches values above ``end``. -> date fields are signed.
"""

from __future__ import annotations

import tempfile

import whoosh
from whoosh import query as wq
from whoosh.fields import ID, NUMERIC, TEXT, Schema
from whoosh.index import create_in


def andnot_first_match() -> bool:
    ix = create_in(tempfile.mkdtemp(), Schema(id=ID(stored=True), a=TEXT, b=TEXT))
    w = ix.writer()
    for i in range(10):
        w.add_document(id=str(i), a={1: "osh", 6: "police osh", 9: "police"}.get(i, "x"),
                       b="osh" if i == 6 else "y")
    w.commit()
    with ix.searcher() as s:
        neg = wq.Or([wq.Term("a", "osh"), wq.Term("b", "osh")])
        got = sorted(s.stored_fields(d)["id"] for d in wq.AndNot(wq.Term("a", "police"), neg).docs(s))
    print(f"1. police ANDNOT osh -> {got}, expected ['9']")
    return got == ["9"]


def refresh_after_delete() -> bool:
    ix = create_in(tempfile.mkdtemp(), Schema(id=ID(stored=True, unique=True), tag=ID))
    w = ix.writer()
    for i in "abcd":
        w.add_document(id=i, tag="x")
    w.commit()
    s = ix.searcher()
    w = ix.writer()
    w.delete_by_term("id", "c")
    w.add_document(id="e", tag="x")
    w.commit()
    s = s.refresh()
    got = sorted(s.stored_fields(d)["id"] for d in wq.Term("tag", "x").docs(s))
    s.close()
    print(f"2. after delete c + refresh() -> {got}, expected ['a', 'b', 'd', 'e']")
    return got == ["a", "b", "d", "e"]


def unsigned_open_range() -> bool:
    ix = create_in(tempfile.mkdtemp(), Schema(id=ID(stored=True), d=NUMERIC(int, bits=32, signed=False)))
    w = ix.writer()
    for i, v in (("a", 20230110), ("b", 20230201), ("c", 20221225)):
        w.add_document(id=i, d=v)
    w.commit()
    with ix.searcher() as s:
        got = sorted(s.stored_fields(n)["id"] for n in wq.NumericRange("d", None, 20230115).docs(s))
    print(f"3. unsigned d <= 20230115 -> {got}, expected ['a', 'c']")
    return got == ["a", "c"]


if __name__ == "__main__":
    print(f"whoosh {whoosh.versionstring()} from {whoosh.__file__}")
    results = [andnot_first_match(), refresh_after_delete(), unsigned_open_range()]
    print("bugs present:", [n + 1 for n, ok in enumerate(results) if not ok] or "none")
