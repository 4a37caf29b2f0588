"""The long fuzz run (not part of the suite): tests/fuzz with a much bigger budget.

    .venv/bin/python bench/fuzz/run.py                  # 500 examples per test, SQLite (and PostgreSQL if up)
    .venv/bin/python bench/fuzz/run.py --examples 2000  # bigger
    .venv/bin/python bench/fuzz/run.py -k parsers       # one area (a pytest -k expression)
    .venv/bin/python bench/fuzz/run.py --no-postgres --no-slow

What it runs: every test of tests/fuzz (the API through schemathesis, in
process and against real gunicorn; the parsers; backups; EXIF) under the
Hypothesis profile "long" (tests/fuzz/conftest.py): --examples examples per
test instead of the suite's 60, not derandomized, so each run tries new
inputs, and an example database in bench/fuzz/.hypothesis, so a failure
found once is replayed first the next time. PostgreSQL at 127.0.0.1:5432 is
used as well when it answers (as scripts/test does).

How long: on the 2-core machine here, about 25 minutes at the default 500
examples with SQLite only, about 40 with PostgreSQL too; the time grows in
proportion to --examples.

What it prints: pytest's progress, then one line per test (outcome, seconds),
then for every failure the failing input as Hypothesis shrank it and its
traceback's last lines, and the totals. The exit status is pytest's (0: no
failure). An expected failure (xfail) is a finding the suite already names;
a failure is a new one: reproduce it with the `@reproduce_failure` line it
prints, or simply run the same test again (the database replays it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET  # noqa: S405 - parses the junit file pytest just wrote, nothing else
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_answers(url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def summary(junit: Path) -> tuple[list[str], list[str]]:
    """(one line per test, the failures' details) from pytest's junit XML."""
    lines, failures = [], []
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our own pytest's output
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = child.tag
                text = (child.text or child.get("message") or "").strip().splitlines()
                failures.append(f"--- {name}\n" + "\n".join(text[-40:]))
            elif child.tag == "skipped":
                outcome = "xfail" if (child.get("type") or "").endswith("xfail") else "skipped"
        lines.append(f"{outcome:<8} {float(case.get('time', 0)):8.1f}s  {name}")
    return lines, failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=500, help="Hypothesis examples per test (default 500)")
    ap.add_argument("-k", default="", help="only the tests matching this pytest -k expression")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only, even if PostgreSQL answers")
    ap.add_argument("--no-slow", action="store_true", help="leave out the run against real gunicorn")
    args = ap.parse_args()

    env = {**os.environ, "HYPOTHESIS_PROFILE": "long", "VAULT_FUZZ_EXAMPLES": str(args.examples)}
    if args.no_postgres:
        env.pop("VAULT_TEST_POSTGRES_URL", None)
    elif not env.get("VAULT_TEST_POSTGRES_URL") and postgres_answers(POSTGRES):
        env["VAULT_TEST_POSTGRES_URL"] = POSTGRES
    print(f"fuzz: {args.examples} examples per test; PostgreSQL: {'yes' if env.get('VAULT_TEST_POSTGRES_URL') else 'no'}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "fuzz.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(junit),
               "-o", "junit_logging=no", "tests/fuzz"]
        if args.k:
            cmd += ["-k", args.k]
        if args.no_slow:
            cmd += ["-m", "not slow"]
        rc = subprocess.call(cmd, cwd=REPO, env=env)
        if not junit.exists():
            return rc
        lines, failures = summary(junit)
    print("\n== per test")
    print("\n".join(lines))
    if failures:
        print("\n== failures (new findings)")
        print("\n\n".join(failures))
    counts = {o: sum(line.startswith(o) for line in lines) for o in ("passed", "failure", "error", "xfail", "skipped")}
    print("\n== " + ", ".join(f"{n} {o}" for o, n in counts.items() if n))
    return rc


if __name__ == "__main__":
    sys.exit(main())
