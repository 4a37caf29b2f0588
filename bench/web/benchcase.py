"""A lawyer certified by an admin, with a case, on a vault a benchmark started (bench/web/run.py, export.py)."""

from __future__ import annotations

from pathlib import Path


def lawyer_with_case(url: str, env, work: Path, reference: str):
    """The lawyer's client session and the new case's id, made as people would: invited, then certified."""
    from tests.conftest import certified_admin, person

    for d in ("admin", "bench"):
        (work / d).mkdir()
    admin = certified_admin(url, env, work / "admin", "admin", "admin-password-1")
    code = admin.invite("lawyer")["code"]
    lawyer = person(url, work / "bench", "bench", "bench-password-1", code)
    admin.certify_pending(only="bench")
    return lawyer, lawyer.create_case(reference, "Benchmark case", "osh")["id"]
