"""`vault verify` on hostile bundles: bounded in bytes, entries and depth, a clean RESULT and no traceback.

A bundle comes from someone else. A ZIP of a few hundred KB can inflate its
annex.json to hundreds of MB, and an annex nested 100,000 deep used to crash
the command with a RecursionError. Memory is measured in a child process
(its peak allocations), never time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from vault.export import verify
from vault.export.layout import ANNEX_JSON
from vault.export.verify import verify_bundle, verify_command

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


def _bomb(path: Path, inflated: int) -> Path:
    """A ZIP whose annex.json is valid JSON of ``inflated`` bytes (one long string), deflated to ~1/1000."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(ANNEX_JSON, "w") as dst:
        dst.write(b'{"format": "evidence-vault-custody-annex", "files": [], "pad": "')
        block = b"a" * MIB
        for _ in range(inflated // MIB):
            dst.write(block)
        dst.write(b'"}')
    return path


def _run_verify(bundle: Path) -> dict:
    """`vault verify BUNDLE --json` in a child process: its exit code, output and peak allocations in MB.

    tracemalloc, not ru_maxrss: on Linux a child's ru_maxrss starts from its
    parent's (pytest's) size at fork.
    """
    script = textwrap.dedent(f"""\
        import json, sys, tracemalloc
        from vault.cli import main
        tracemalloc.start()
        try:
            main(["verify", {str(bundle)!r}, "--json"], standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        print(json.dumps({{"code": code, "peak_mb": peak}}), file=sys.stderr)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    return {**json.loads(out.stderr.strip().splitlines()[-1]), "stdout": out.stdout}


def test_zip_bomb_annex_is_refused_within_bounded_memory(tmp_path):
    bundle = _bomb(tmp_path / "bomb.zip", 200 * MIB)
    assert bundle.stat().st_size < 400 * 1024  # a small file...
    assert zipfile.ZipFile(bundle).getinfo(ANNEX_JSON).file_size > 200 * MIB  # ...that inflates past any cap
    run = _run_verify(bundle)
    # Reading the 200 MB annex (and parsing it) took ~3x that; the cap reads 16 MiB at most.
    assert run["peak_mb"] < 100, run
    assert run["code"] == 1
    report = json.loads(run["stdout"])
    assert report["ok"] is False
    assert [(f["path"], f["kind"]) for f in report["findings"]] == [(ANNEX_JSON, "malformed")]
    assert "larger than" in report["findings"][0]["detail"]


def test_deeply_nested_annex_is_a_result_not_a_traceback(tmp_path, capsys):
    bundle = tmp_path / "nested.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(ANNEX_JSON, "[" * 100_000 + "]" * 100_000)
    assert verify_command(str(bundle)) == 1
    text = capsys.readouterr().out
    assert "RESULT: FAILED" in text and "nests deeper" in text, text
    # The same through the command line, in a child process: a JSON report, no traceback.
    run = _run_verify(bundle)
    assert run["code"] == 1 and json.loads(run["stdout"])["findings"][0]["kind"] == "malformed"


def test_too_many_entries_are_refused_before_the_directory_is_parsed(tmp_path, capsys, monkeypatch):
    bundle = tmp_path / "many.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for n in range(50):
            zf.writestr(f"f{n}", b"")
    monkeypatch.setattr(verify, "MAX_ENTRIES", 20)
    assert verify_command(str(bundle), as_json=True) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "holds 50 files" in out["error"], out
    monkeypatch.setattr(verify, "MAX_ENTRIES", 50)
    assert verify_bundle(bundle).findings[0].kind == "missing"  # under the bound it is read as usual


def test_a_zip_directory_zipfile_cannot_take_is_unreadable_not_a_traceback(tmp_path):
    # Found by the fuzz run in CI: a central directory that asks for ZIP version 8.4
    # made zipfile.ZipFile() itself raise NotImplementedError out of `vault verify`.
    import io
    import zipfile

    from vault.export import verify

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("custody/annex.json", b"{}")
    data = bytearray(buf.getvalue())
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 6:cd + 8] = (84).to_bytes(2, "little")  # "version needed to extract" = 8.4
    with pytest.raises(zipfile.BadZipFile):
        verify.verify_bundle(io.BytesIO(bytes(data)))
    path = tmp_path / "bundle.zip"
    path.write_bytes(bytes(data))
    out = io.StringIO()
    assert verify.verify_command(str(path), out=out) == 2
    assert "cannot read" in out.getvalue()
