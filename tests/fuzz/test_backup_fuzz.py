"""Property tests of the backup archive reader: vault/db/dump.py (read_meta, load) through vault/ops/archive.py restore.

A backup comes back from off-site storage after a raid, so it may be damaged
or altered. Whatever the archive holds, `restore` restores it or raises
InitError with a message — never a traceback of another type — and a refused
restore leaves no half-made data folder behind ("all or nothing").

The archives are a real portable backup, then changed: a row value of any
JSON shape, a line replaced, meta.json edited, entries added or dropped, the
tar's bytes cut or flipped.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import make_env
from tests.fuzz.strategies import deep, json_values
from vault import ops
from vault.ops.initialise import InitError
from vault.services.vault import open_vault

# Exception types the generated tests tolerate beyond the named errors: none since FINDING backup-1 (an
# integer too large for SQLite escaped as OverflowError) was fixed in vault/db/dump.py.
KNOWN_BACKUP = ()


@pytest.fixture(scope="module")
def backup(tmp_path_factory) -> dict[str, bytes]:
    """The entries of a portable backup of a fresh vault (audit entries, settings, an invitation, keys)."""
    root = tmp_path_factory.mktemp("backup-fuzz")
    env = make_env(root)
    v = open_vault(env.config)
    ops.backup(v, root / "backup.tar", portable=True)
    v.db.dispose()
    with tarfile.open(root / "backup.tar") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def pack(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def restore_checked(tmp_path: Path, archive: bytes, tolerate: tuple = ()) -> None:
    """Restore `archive` into a new folder: a count, or InitError with nothing left behind."""
    src = tmp_path / "archive.tar"
    src.write_bytes(archive)
    target = tmp_path / "restored"
    try:
        assert ops.restore(src, target) >= 0
    except InitError as exc:
        assert str(exc)
        assert not target.exists() or not any(target.iterdir()), sorted(p.name for p in target.iterdir())
    except tolerate:
        pass
    finally:
        import shutil

        shutil.rmtree(target, ignore_errors=True)


@st.composite
def altered(draw, entries: dict[str, bytes]) -> bytes:
    out = dict(entries)
    for _ in range(draw(st.integers(1, 3))):
        tables = sorted(n for n in out if n.endswith(".jsonl") and out[n])
        how = draw(st.sampled_from(["value", "line", "meta", "add", "drop"]))
        if how == "value" and tables:
            name = draw(st.sampled_from(tables))
            lines = out[name].split(b"\n")
            at = draw(st.integers(0, max(0, len(lines) - 2)))
            try:
                row = json.loads(lines[at])
            except (ValueError, RecursionError):  # an earlier change in this same draw
                continue
            if isinstance(row, dict) and row:
                row[draw(st.sampled_from(sorted(row)))] = draw(
                    json_values | st.sampled_from([2**63, -(2**63) - 1, 10**30, "\x00", "9999-99-99", "x" * 300]))
                lines[at] = json.dumps(row).encode()
            out[name] = b"\n".join(lines)
        elif how == "line" and tables:
            name = draw(st.sampled_from(tables))
            lines = out[name].split(b"\n")
            lines[draw(st.integers(0, len(lines) - 1))] = draw(
                st.binary(max_size=40) | json_values.map(lambda v: json.dumps(v).encode())
                | st.just(deep(3000).encode()))
            out[name] = b"\n".join(lines)
        elif how == "meta" and "db/meta.json" in out:
            try:
                meta = json.loads(out["db/meta.json"])
            except ValueError:
                continue
            if not isinstance(meta, dict):
                continue
            key = draw(st.sampled_from(["format", "version", "alembic_revision", "tables", "created_at"]))
            meta[key] = draw(json_values)
            out["db/meta.json"] = json.dumps(meta).encode()
        elif how == "add":
            out[draw(st.sampled_from(["db/extra.jsonl", "db/meta.json", "keys/x", "vault.sqlite3", "blobs/ab/cd/x",
                                      "other"]))] = draw(st.binary(max_size=30))
        elif how == "drop":
            out.pop(draw(st.sampled_from(sorted(out))), None)
    return pack(out)


@given(data=st.data())
@settings(max_examples=max(10, settings.default.max_examples // 3))  # most of these reach a real load (~0.5 s)
def test_an_altered_backup_restores_or_is_refused_whole(backup, tmp_path_factory, data):
    archive = data.draw(altered(backup))
    restore_checked(tmp_path_factory.mktemp("r"), archive, tolerate=KNOWN_BACKUP)


@given(cut=st.integers(0, 200_000), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
                                                    max_size=3))
@settings(max_examples=max(10, settings.default.max_examples // 3))
def test_a_damaged_tar_restores_or_is_refused_whole(backup, tmp_path_factory, cut, flips):
    raw = bytearray(pack(backup))
    for at, x in flips:
        raw[at % len(raw)] ^= x
    restore_checked(tmp_path_factory.mktemp("r"), bytes(raw[:cut] if cut < len(raw) else raw), tolerate=KNOWN_BACKUP)


def _row_edit(backup: dict[str, bytes], table: str, column: str, value) -> bytes:
    out = dict(backup)
    lines = out[f"db/{table}.jsonl"].split(b"\n")
    row = json.loads(lines[0])
    row[column] = value
    lines[0] = json.dumps(row).encode()
    out[f"db/{table}.jsonl"] = b"\n".join(lines)
    return pack(out)


def test_an_integer_too_large_for_sqlite_is_refused_whole(backup, tmp_path):
    restore_checked(tmp_path, _row_edit(backup, "audit_log", "seq", 10**30))


@pytest.mark.parametrize("where", ["meta", "row"])
def test_deeply_nested_json_in_a_backup_is_refused_whole(backup, tmp_path, where):
    """Found by this fuzzing (RecursionError out of read_meta / _load_table); fixed in dump.py with jsonlimits."""
    out = dict(backup)
    if where == "meta":
        out["db/meta.json"] = deep(100_000).encode()
    else:
        lines = out["db/audit_log.jsonl"].split(b"\n")
        lines[0] = deep(100_000).encode()
        out["db/audit_log.jsonl"] = b"\n".join(lines)
    restore_checked(tmp_path, pack(out))


@pytest.mark.parametrize("data", [b"", b"not a tar archive\n" * 40, b"\0" * 511], ids=["empty", "text", "short"])
def test_a_file_that_is_no_tar_is_refused(tmp_path, data):
    """Found by this fuzzing (tarfile.ReadError out of restore: a traceback); fixed in archive.py."""
    restore_checked(tmp_path, data)
