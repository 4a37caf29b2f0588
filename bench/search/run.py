"""Search benchmark: whoosh (vault.search) against SQLite FTS5 on the same records.

Not a test. Run from the repository root:

    .venv/bin/python bench/search/run.py --records 100000
    .venv/bin/python bench/search/run.py --records 5000          # quick
    .venv/bin/python bench/search/run.py --records 100000 --procs 2 --multisegment

It generates N synthetic metadata records in Kyrgyz, Russian and English
(seeded), builds the whoosh index with vault.search.rebuild, runs one-word,
two-word and filtered queries, each restricted to ~50 allowed cases out of
~2000 as a lawyer's search is, then does the same with FTS5 and prints both.
FTS5 does less: no stemming, no transliteration, no facets; it is the floor.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import QUERY_WORDS, make_records  # noqa: E402

from vault.search import engine, rebuild, search, warm  # noqa: E402
from vault.search.searchers import forget  # noqa: E402

TARGET_MEDIAN_MS, TARGET_P99_MS, TARGET_RATIO = 10.0, 50.0, 3.0


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered), p99


def make_queries(rng: random.Random, cases: list[str], n: int) -> dict[str, list[dict[str, Any]]]:
    """n queries of each kind; each with its own ~50 allowed cases."""
    from vault.vocab import REGIONS

    def allowed() -> list[str]:
        return rng.sample(cases, min(50, len(cases)))

    out: dict[str, list[dict[str, Any]]] = {"one-word": [], "two-word": [], "filtered": []}
    for _ in range(n):
        out["one-word"].append({"text": rng.choice(QUERY_WORDS), "allowed": allowed()})
        out["two-word"].append({"text": " ".join(rng.sample(QUERY_WORDS, 2)), "allowed": allowed()})
        year = rng.randint(2012, 2023)
        out["filtered"].append({"text": rng.choice(QUERY_WORDS), "allowed": allowed(),
                                "filters": {"region": rng.sample(REGIONS, 3),
                                            "date_from": f"{year}-01-01", "date_to": f"{year + 2}-12-31"}})
    return out


def time_whoosh(index: Path, queries: list[dict[str, Any]], facets: bool, engine_name: str,
                cold: bool = False) -> tuple[list[float], int]:
    samples, found = [], 0
    for q in queries:
        if cold:  # as after a restart: no posting set cached yet
            engine.clear_caches()
        t0 = time.perf_counter()
        r = search(str(index), q["text"], allowed_case_ids=q["allowed"], filters=q.get("filters"),
                   per_page=20, facets=facets, engine=engine_name)
        samples.append((time.perf_counter() - t0) * 1000)
        found += r["total"]
    return samples, found


def build_fts(db: Path, records: list[dict[str, Any]]) -> sqlite3.Connection:
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        CREATE TABLE meta(id INTEGER PRIMARY KEY, item_id TEXT, case_id TEXT, region TEXT,
                          date_from INTEGER, date_to INTEGER);
        CREATE INDEX meta_case ON meta(case_id);
        CREATE VIRTUAL TABLE fts USING fts5(title, place, case_title, tags,
                                            tokenize='unicode61 remove_diacritics 2');
        """
    )
    with conn:
        for i, r in enumerate(records, 1):
            df = int(r["incident_date_from"].replace("-", "")) if r["incident_date_from"] else None
            dt = int(r["incident_date_to"].replace("-", "")) if r["incident_date_to"] else df
            conn.execute("INSERT INTO meta VALUES (?,?,?,?,?,?)",
                         (i, r["item_id"], r["case_id"], r["region"], df, dt))
            conn.execute("INSERT INTO fts(rowid, title, place, case_title, tags) VALUES (?,?,?,?,?)",
                         (i, r["title"], r["place"], r["case_title"], " ".join(r["tags"])))
    return conn


def _fts_match(text: str) -> str:
    return " ".join('"' + w.replace('"', "") + '"' for w in text.split())


def time_fts(conn: sqlite3.Connection, queries: list[dict[str, Any]]) -> tuple[list[float], int]:
    """Top 20 by rank plus the total count, as whoosh returns both."""
    samples, found = [], 0
    for q in queries:
        params: list[Any] = [_fts_match(q["text"]), *q["allowed"]]
        where = f"fts MATCH ? AND m.case_id IN ({','.join('?' * len(q['allowed']))})"
        f = q.get("filters")
        if f:
            regions = ",".join("?" * len(f["region"]))
            where += f" AND m.region IN ({regions}) AND m.date_from <= ? AND m.date_to >= ?"
            params += [*f["region"], int(f["date_to"].replace("-", "")), int(f["date_from"].replace("-", ""))]
        t0 = time.perf_counter()
        base = f"FROM fts JOIN meta m ON m.id = fts.rowid WHERE {where}"  # noqa: S608 - placeholders only
        conn.execute(f"SELECT m.item_id {base} ORDER BY rank LIMIT 20", params).fetchall()  # noqa: S608
        total = conn.execute(f"SELECT count(*) {base}", params).fetchone()[0]  # noqa: S608
        samples.append((time.perf_counter() - t0) * 1000)
        found += total
    return samples, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=200, help="queries of each kind")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--multisegment", action="store_true")
    ap.add_argument("--seed", type=int, default=20240617)
    ap.add_argument("--engine", choices=("candidates", "whoosh"), default="candidates",
                    help="vault.search engine: candidates (default) or whoosh's filter= path")
    ap.add_argument("--reuse", action="store_true", help="with --keep: reuse an index built before")
    ap.add_argument("--keep", type=Path, help="build here and keep the index (default: a temp dir)")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="vault-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    index = work / "index"
    rng = random.Random(args.seed)
    print(f"generating {args.records} records in {args.cases} cases (seed {args.seed})", flush=True)
    records = make_records(rng, args.records, args.cases)
    cases = sorted({r["case_id"] for r in records})

    def progress(n: int) -> None:
        if n % 10_000 == 0 or n == len(records):
            print(f"  whoosh: {n}/{len(records)} documents", flush=True)

    print(f"building whoosh index (procs={args.procs}, multisegment={args.multisegment})", flush=True)
    t0 = time.perf_counter()
    if not (args.reuse and index.exists()):
        rebuild(index, records, progress, procs=args.procs, multisegment=args.multisegment)
    whoosh_build = time.perf_counter() - t0
    if args.reuse:
        print("(index reused: the build time above is not a build)")
    whoosh_size = _dir_size(index)

    print("building SQLite FTS5", flush=True)
    t0 = time.perf_counter()
    conn = build_fts(work / "fts.sqlite", records)
    fts_build = time.perf_counter() - t0
    fts_size = (work / "fts.sqlite").stat().st_size

    queries = make_queries(random.Random(args.seed + 1), cases, args.queries)
    forget()
    t0 = time.perf_counter()
    loaded = warm(str(index))  # what each worker does once at start
    warm_s = time.perf_counter() - t0
    print(f"\n{args.records} records, {len(cases)} cases, {args.queries} queries of each kind, "
          f"~50 allowed cases per query; Python {sys.version.split()[0]}")
    print(f"build:  whoosh {whoosh_build:7.1f} s  {whoosh_size / 1e6:7.1f} MB   |   "
          f"FTS5 {fts_build:6.1f} s  {fts_size / 1e6:6.1f} MB")
    print(f"warm-up (vault.search.warm, once per worker): {warm_s:.1f} s, {loaded} posting bitmaps, "
          f"{engine.postings_cache.size / 1e6:.1f} MB cached")
    print(f"targets: median < {TARGET_MEDIAN_MS} ms, p99 < {TARGET_P99_MS} ms, "
          f"within {TARGET_RATIO}x of FTS5\n")
    print(f"engine: {args.engine}; 'cold' = posting cache emptied before every query (as on a worker "
          "that skipped warm-up)")
    print(f"{'query kind':<22}{'whoosh med':>11}{'p99':>8}{'FTS5 med':>10}{'p99':>8}"
          f"{'ratio med':>10}{'hits/q w':>9}{'hits/q f':>9}  verdict")
    for kind, qs in queries.items():
        for facets, cold in ((False, False), (True, False), (False, True)):
            if (facets or cold) and kind != "two-word" or (cold and args.engine != "candidates"):
                continue
            ws, wfound = time_whoosh(index, qs, facets, args.engine, cold)
            fs, ffound = time_fts(conn, qs)
            wm, wp = _percentiles(ws)
            fm, fp = _percentiles(fs)
            ok = wm < TARGET_MEDIAN_MS and wp < TARGET_P99_MS
            label = kind + (" +facets" if facets else "") + (" cold" if cold else "")
            print(f"{label:<22}{wm:9.2f}ms{wp:6.1f}ms{fm:8.2f}ms{fp:6.1f}ms{wm / fm:9.1f}x"
                  f"{wfound / len(qs):9.0f}{ffound / len(qs):9.0f}  "
                  f"{'meets' if ok else 'MISSES'} latency, "
                  f"{'within' if wm / fm <= TARGET_RATIO else 'NOT within'} {TARGET_RATIO}x")
    conn.close()
    if not args.keep:
        forget()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
