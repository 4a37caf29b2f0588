"""Search benchmark: vault.search against SQLite FTS5 on the same records, in the same run.

Not a test. Run from the repository root:

    .venv/bin/python bench/search/run.py --records 100000
    .venv/bin/python bench/search/run.py --records 5000          # quick
    .venv/bin/python bench/search/run.py --records 100000 --procs 2 --multisegment

It generates N synthetic metadata records in Kyrgyz, Russian and English
(seeded), builds the whoosh index with vault.search.rebuild and two FTS5
references (``fts.py``: "terms" does the same job on the same analysed
terms; "exact" is plain FTS5 on the words as written, which finds far
fewer records), then runs one-word, two-word and filtered queries, each
by one of 50 lawyers (``--users``) who are members of ~50 of the ~2000
cases, as a lawyer's search is. A lawyer's first search builds the set of
documents they may see; later ones reuse it until the segment changes, so
"two-word m+c+p, new user" repeats the two-word queries with a fresh set of
cases each, the cost of a first search.

Each query is timed on all three back to back (interleaved, so a busy
machine slows all of them alike). "match+count+page" is
``search(..., facets=False, highlight=False)``: the total and the top 20
stored documents, as both FTS5 queries return; "API" is what the web API
calls (facets and highlights too), shown next to the same FTS5 figures,
which do neither.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fts  # noqa: E402
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


def make_queries(rng: random.Random, cases: list[str], n: int, users: int) -> dict[str, list[dict[str, Any]]]:
    """n queries of each kind, each by one of `users` lawyers who are members of ~50 cases each.

    "two-word, new user" has the two-word queries again, each with its own
    fresh set of ~50 cases: the first search of a lawyer, which builds the
    set of documents they may see (memoised per segment afterwards:
    engine.allowed_docs).
    """
    from vault.domain.vocab import REGIONS

    lawyers = [rng.sample(cases, min(50, len(cases))) for _ in range(max(1, users))]

    def allowed() -> list[str]:
        return rng.choice(lawyers)

    out: dict[str, list[dict[str, Any]]] = {"one-word": [], "two-word": [], "filtered": []}
    for _ in range(n):
        out["one-word"].append({"text": rng.choice(QUERY_WORDS), "allowed": allowed()})
        out["two-word"].append({"text": " ".join(rng.sample(QUERY_WORDS, 2)), "allowed": allowed()})
        year = rng.randint(2012, 2023)
        out["filtered"].append({"text": rng.choice(QUERY_WORDS), "allowed": allowed(),
                                "filters": {"region": rng.sample(REGIONS, 3),
                                            "date_from": f"{year}-01-01", "date_to": f"{year + 2}-12-31"}})
    out["two-word, new user"] = [{**q, "allowed": rng.sample(cases, min(50, len(cases)))} for q in out["two-word"]]
    return out


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def run_kind(index: Path, conns: dict[str, Any], queries: list[dict[str, Any]], *, api: bool,
             engine_name: str, cold: bool = False) -> dict[str, Any]:
    """Time every query on vault.search and both FTS5 references, interleaved."""
    ours: list[float] = []
    ref: dict[str, list[float]] = {"terms": [], "exact": []}
    found = {"ours": 0, "terms": 0, "exact": 0}
    mismatches = 0
    for q in queries:
        if cold:  # as after a restart: nothing cached yet
            engine.clear_caches()
        ms, r = _timed(lambda q=q: search(str(index), q["text"], allowed_case_ids=q["allowed"],
                                          filters=q.get("filters"), per_page=20, facets=api, highlight=api,
                                          engine=engine_name))
        ours.append(ms)
        found["ours"] += r["total"]
        for kind, match in (("terms", fts.match_terms), ("exact", fts.match_exact)):
            ms, (total, _docs) = _timed(lambda q=q, kind=kind, match=match:
                                        fts.query(conns[kind], match(q["text"]), q))
            ref[kind].append(ms)
            found[kind] += total
            if kind == "terms" and total != r["total"]:
                mismatches += 1
    return {"ours": ours, **ref, "found": {k: v / len(queries) for k, v in found.items()},
            "mismatches": mismatches}


def _row(label: str, res: dict[str, Any]) -> str:
    om, op = _percentiles(res["ours"])
    tm, tp = _percentiles(res["terms"])
    em, ep = _percentiles(res["exact"])
    ok = om < TARGET_MEDIAN_MS and op < TARGET_P99_MS
    within = om / tm <= TARGET_RATIO
    f = res["found"]
    return (f"{label:<26}{om:7.2f} /{op:6.1f}  {tm:7.2f} /{tp:6.1f} {om / tm:6.2f}x  "
            f"{em:7.2f} /{ep:6.1f} {om / em:6.2f}x  {f['ours']:6.0f}{f['terms']:6.0f}{f['exact']:6.0f}"
            f"{res['mismatches']:5d}  {'meets' if ok else 'MISSES'} latency, "
            f"{'within' if within else 'NOT within'} {TARGET_RATIO:g}x of FTS5 (same terms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=200, help="queries of each kind")
    ap.add_argument("--users", type=int, default=50, help="lawyers the queries come from (~50 cases each)")
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
    reused = args.reuse and index.exists()
    if not reused:
        rebuild(index, records, progress, procs=args.procs, multisegment=args.multisegment)
    whoosh_build = time.perf_counter() - t0
    whoosh_size = _dir_size(index)

    conns, builds = {}, {}
    for kind in ("exact", "terms"):
        print(f"building SQLite FTS5 ({kind})", flush=True)
        t0 = time.perf_counter()
        conns[kind] = fts.build(work / f"fts-{kind}.sqlite", records, kind)
        builds[kind] = (time.perf_counter() - t0, (work / f"fts-{kind}.sqlite").stat().st_size)

    queries = make_queries(random.Random(args.seed + 1), cases, args.queries, args.users)
    forget()
    t0 = time.perf_counter()
    loaded = warm(str(index))  # what each worker does once at start
    warm_s = time.perf_counter() - t0
    print(f"\n{args.records} records, {len(cases)} cases, {args.queries} queries of each kind by {args.users} "
          f"lawyers with ~50 cases each; Python {sys.version.split()[0]}")
    print(f"build:  whoosh {'(reused, not built)' if reused else f'{whoosh_build:.1f} s'}, "
          f"{whoosh_size / 1e6:.1f} MB   |   FTS5 same terms {builds['terms'][0]:.1f} s "
          f"(analysis included), {builds['terms'][1] / 1e6:.1f} MB   |   "
          f"FTS5 exact words {builds['exact'][0]:.1f} s, {builds['exact'][1] / 1e6:.1f} MB "
          "(both with the stored JSON documents)")
    print(f"warm-up (vault.search.warm, once per worker): {warm_s:.1f} s, {loaded} terms, "
          f"{engine.postings_cache.size / 1e6:.1f} MB of bitmaps cached")
    print(f"targets: median < {TARGET_MEDIAN_MS:g} ms, p99 < {TARGET_P99_MS:g} ms, "
          f"within {TARGET_RATIO:g}x of FTS5 doing the same job")
    print(f"engine: {args.engine}. Milliseconds, median / p99; ratio = vault.search median / FTS5 median.")
    print("'cold' = every cache emptied before each query (a worker that skipped warm-up).")
    print("hits/q: vault.search, FTS5 same terms, FTS5 exact; 'diff' = queries whose totals differ "
          "between vault.search and FTS5 same terms\n")
    print(f"{'query kind':<26}{'vault.search':>15}  {'FTS5 same terms':>15} {'ratio':>7}  "
          f"{'FTS5 exact':>15} {'ratio':>7}  {'hits/q':>18}{'diff':>5}  verdict")
    rows = [(kind, f"{kind} {shape}", shape == "API", False)
            for kind in ("one-word", "two-word", "filtered") for shape in ("match+count+page", "API")]
    rows.append(("two-word, new user", "two-word m+c+p, new user", False, False))
    if args.engine == "candidates":  # last: it leaves the caches cold
        rows.append(("two-word", "two-word m+c+p, cold", False, True))
    for kind, label, api, cold in rows:
        res = run_kind(index, conns, queries[kind], api=api, engine_name=args.engine, cold=cold)
        print(_row(label, res), flush=True)
    for conn in conns.values():
        conn.close()
    if not args.keep:
        forget()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
