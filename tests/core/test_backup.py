"""Portable backups: the database as JSON Lines in the archive, restored into SQLite or PostgreSQL.

A vault moves PostgreSQL → SQLite and SQLite → PostgreSQL with its audit
chain byte-exact, its items downloadable and verified, and its sequences
ready for new rows; altered archives and used databases are refused with
nothing written.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from tests.conftest import POSTGRES_URL, TEST_SETTINGS, LiveServer, make_env, make_people, person
from vault import ops
from vault.app import create_app, open_vault
from vault.cli import main as cli
from vault.client.session import ClientSession
from vault.client.transfer import download_item, upload_file
from vault.config import load_config
from vault.db import migrate
from vault.db.engine import Database
from vault.db.models import AuditEntry, Base, CaseKey, SearchOutbox, Setting

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="VAULT_TEST_POSTGRES_URL is not set "
                                                              "(CI sets it when PostgreSQL runs)")


@pytest.fixture
def new_pg_database():
    """Makes fresh, empty PostgreSQL databases (URLs) for one test; drops them afterwards."""
    import psycopg

    made = []

    def make() -> str:
        name = "vault_test_" + secrets.token_hex(6)
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"

    yield make
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(*args: str):
    return CliRunner().invoke(cli, ["server", *args, "--json"])


def _populated(tmp_path: Path, database_url: str):
    """A vault with people, a case, one uploaded item and signed audit checkpoints: (env, people, item, bytes)."""
    env = make_env(tmp_path, database_url, audit_checkpoint_every=5)
    app = create_app(env.config)
    live = LiveServer(app)
    try:
        people = make_people(live.url, env, lambda n: _home(tmp_path, n))
        src = tmp_path / "statement.bin"
        data = os.urandom(150_000)
        src.write_bytes(data)
        item = upload_file(people.lawyer, people.case_id, src, {"title": "Statement", "evidence_type": "statement"})
    finally:
        live.stop()
        app.extensions["vault"].db.dispose()
    return env, people, item["item_id"], data


def _home(tmp_path: Path, name: str) -> Path:
    p = tmp_path / "clients" / name
    p.mkdir(parents=True, exist_ok=True)
    return p


def _snapshot(url: str) -> dict:
    """Every row of every table, in a dialect-neutral order (string keys collate differently)."""
    db = Database(url)
    out = {}
    with db.session() as s:
        for t in Base.metadata.sorted_tables:
            rows = [tuple(r) for r in s.execute(select(t)).all()]
            out[t.name] = sorted(rows, key=repr)
    db.dispose()
    return out


def _check_restored(tmp_path: Path, restored: Path, source: dict, item_id: str, data: bytes) -> None:
    """Same rows as the source, audit chain and fsck clean, the item downloads byte-identical."""
    cfg = load_config(restored, **TEST_SETTINGS)
    assert _snapshot(cfg.db_url) == source
    v = open_vault(cfg)
    result = ops.audit_verify(v)
    assert result.ok and result.entries == len(source["audit_log"]) and result.checkpoints >= 2, result.as_dict()
    report = ops.fsck(v, repair=False, deep=True)
    assert report.ok and report.items_checked == 1, report.as_dict()
    v.db.dispose()
    app = create_app(cfg)
    live = LiveServer(app)
    try:
        lawyer = _moved_login(live.url, tmp_path)
        path, manifest = download_item(lawyer, item_id, tmp_path / "downloaded.bin")
        assert path.read_bytes() == data and manifest["uploader"] == "aigul"
    finally:
        live.stop()
        app.extensions["vault"].db.dispose()


def _moved_login(url: str, tmp_path: Path) -> ClientSession:
    """The lawyer signs in to the restored vault at its new address; the organisation is pinned there once."""
    sess = ClientSession.login(url, "aigul", "lawyer-password-1", home=_home(tmp_path, "lawyer"))
    old = next(iter(json.loads((_home(tmp_path, "lawyer") / "pins.json").read_text()).values()))["@org"]
    from vault import crypto

    sess.pin_organisation(crypto.org_fingerprint(crypto.b64d(old["recovery_public"]),
                                                 crypto.b64d(old["root_sign_public"])))
    return sess


def _backup(env, archive: Path) -> None:
    v = open_vault(env.config)
    ops.backup(v, archive, portable=True)
    v.db.dispose()


def _rewrite(src: Path, dst: Path, edit=lambda name, data: data, extra=()) -> None:
    """Copy an archive; edit(name, bytes) may change an entry (None drops it); extra entries are appended."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin.getmembers():
            data = edit(m.name, tin.extractfile(m).read())
            if data is not None:
                _add(tout, m.name, data)
        for name, data in extra:
            _add(tout, name, data)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _edit_rows(table: str, change):
    def edit(name, data):
        if name != f"db/{table}.jsonl":
            return data
        rows = [json.loads(line) for line in data.splitlines()]
        return b"".join(json.dumps(change(r)).encode() + b"\n" for r in rows)
    return edit


@needs_postgres
def test_postgresql_vault_restores_into_sqlite(tmp_path, new_pg_database):
    env, _, item_id, data = _populated(tmp_path, new_pg_database())
    source = _snapshot(env.config.db_url)
    archive = tmp_path / "backup.tar"
    out = _run("backup", "--data", str(env.data_dir), str(archive))
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["database"] == "portable"
    assert archive.stat().st_mode & 0o077 == 0  # it holds the server's keys
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        meta = json.load(tar.extractfile("db/meta.json"))
    assert "vault.sqlite3" not in names and {f"db/{t.name}.jsonl" for t in Base.metadata.sorted_tables} <= names
    assert meta["source_dialect"] == "postgresql" and meta["alembic_revision"] == migrate.head()
    assert meta["tables"]["audit_log"] == len(source["audit_log"]) and meta["tables"]["items"] == 1

    restored = tmp_path / "restored"
    out = _run("restore", str(archive), "--data", str(restored))
    assert out.exit_code == 0, out.output
    assert not (restored / "settings.toml").exists()  # the restored database is the folder's SQLite
    _check_restored(tmp_path, restored, source, item_id, data)


@needs_postgres
def test_sqlite_vault_moves_to_postgresql(tmp_path, new_pg_database):
    env, people, item_id, data = _populated(tmp_path, "")
    source = _snapshot(env.config.db_url)
    assert source["search_outbox"] and source["case_keys"]  # serial ids the sequences must move past
    archive = tmp_path / "backup.tar"
    out = _run("backup", "--data", str(env.data_dir), str(archive), "--portable")
    assert out.exit_code == 0, out.output
    with tarfile.open(archive) as tar:
        assert json.load(tar.extractfile("db/meta.json"))["source_dialect"] == "sqlite"

    target = new_pg_database()
    restored = tmp_path / "restored"
    out = _run("restore", str(archive), "--data", str(restored), "--database-url", target)
    assert out.exit_code == 0, out.output
    assert load_config(restored).database_url == target  # remembered by the new folder
    assert not (restored / "vault.sqlite3").exists()
    _check_restored(tmp_path, restored, source, item_id, data)

    # New rows after the restore: a case (case_keys) and an upload (search_outbox) need fresh serial ids.
    app = create_app(load_config(restored, **TEST_SETTINGS))
    live = LiveServer(app)
    try:
        lawyer = _moved_login(live.url, tmp_path)
        case = lawyer.create_case("KG-2026-002", "After the move")
        src = tmp_path / "second.bin"
        src.write_bytes(os.urandom(5000))
        upload_file(lawyer, case["id"], src, {"title": "Second", "evidence_type": "photo"})
    finally:
        live.stop()
        app.extensions["vault"].db.dispose()
    db = Database(target)
    with db.session() as s:
        assert s.execute(select(func.max(CaseKey.id))).scalar() > max(r[0] for r in source["case_keys"])
        assert s.execute(select(func.max(SearchOutbox.id))).scalar() > max(r[0] for r in source["search_outbox"])
    db.dispose()


def test_dump_is_one_snapshot(env, tmp_path):
    """Rows committed while the dump runs are not in it, and the writer is not blocked."""
    v = open_vault(env.config)
    wrote = []

    def progress(_n):
        if not wrote:
            with v.db.session() as s:
                s.add(Setting(key="written-during-backup", value="x"))
                v.audit(s, "server-cli", "during_backup", "")
            wrote.append(True)

    archive = tmp_path / "snap.tar"
    ops.backup(v, archive, progress, portable=True)
    with tarfile.open(archive) as tar:
        meta = json.load(tar.extractfile("db/meta.json"))
        settings = tar.extractfile("db/settings.jsonl").read()
        audit = tar.extractfile("db/audit_log.jsonl").read().splitlines()
    with v.db.session() as s:
        total = s.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    v.db.dispose()
    assert wrote and b"written-during-backup" not in settings
    assert len(audit) == meta["tables"]["audit_log"] == total - 1
    restored = tmp_path / "restored"
    ops.restore(archive, restored)
    v = open_vault(load_config(restored))
    assert ops.audit_verify(v).ok
    v.db.dispose()


def test_older_archive_restores_and_migrates_to_head(tmp_path):
    env = make_env(tmp_path, "")
    archive = tmp_path / "backup.tar"
    _backup(env, archive)
    # An archive from revision 0001: meta says so, and uploads have no hash_state yet.
    older = tmp_path / "older.tar"
    uploads = _edit_rows("uploads", lambda r: {k: v for k, v in r.items() if k != "hash_state"})
    users = _edit_rows("users", lambda r: {k: v for k, v in r.items()
                                           if k not in ("certificates", "binding", "invitation_id")})

    def edit(name, data):
        if name == "db/meta.json":
            meta = json.loads(data)
            meta["tables"].pop("case_entries", None)  # 0004's table
            return json.dumps({**meta, "alembic_revision": "0001"}).encode()
        if name == "db/case_entries.jsonl":
            return None
        return users(name, uploads(name, data))

    _rewrite(archive, older, edit)
    restored = tmp_path / "restored"
    assert ops.restore(older, restored) > 0
    v = open_vault(load_config(restored))
    with v.db.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    assert ops.audit_verify(v).ok
    v.db.dispose()


def _unknown_table(name, data):
    if name == "db/meta.json":
        meta = json.loads(data)
        meta["tables"]["secrets"] = 0
        return json.dumps(meta).encode()
    return data


TAMPERED = {
    "unknown table": (dict(edit=_unknown_table, extra=[("db/secrets.jsonl", b"")]), "secrets that schema"),
    "entry not in meta": (dict(extra=[("db/extra.jsonl", b"")]), "unknown entries"),
    "unknown column": (dict(edit=_edit_rows("users", lambda r: {**r, "is_root": True})),
                       "unknown column(s): is_root"),
    "missing column": (dict(edit=_edit_rows("users", lambda r: {k: v for k, v in r.items() if k != "role"})),
                       "missing column(s): role"),
    "undecodable bytes": (dict(edit=_edit_rows("audit_checkpoints", lambda r: {**r, "signature": "%%%"})),
                          "does not decode"),
    "wrong type": (dict(edit=_edit_rows("users", lambda r: {**r, "disabled": "no"})), "expected bool"),
    "row count": (dict(edit=lambda n, d: b"".join(d.splitlines(True)[:-1]) if n == "db/audit_log.jsonl" else d),
                  "meta.json says"),
    "dangling reference": (dict(edit=_edit_rows("api_tokens", lambda r: {**r, "user_id": "f" * 32})),
                           "refer to rows"),
    "path traversal": (dict(extra=[("db/../../escaped", b"x")]), "suspicious"),
    "absolute path": (dict(extra=[("/tmp/escaped", b"x")]), "suspicious"),
    "newer revision": (dict(edit=lambda n, d: d.replace(f'"{migrate.head()}"'.encode(), b'"9999"')
                             if n == "db/meta.json" else d),
                       "newer version"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_altered_archives_are_refused_with_nothing_restored(tmp_path, case):
    env = make_env(tmp_path, "", audit_checkpoint_every=1)
    # A user and a token, so the tampering of those rows has rows to work on.
    app = create_app(env.config)
    live = LiveServer(app)
    try:
        person(live.url, _home(tmp_path, "admin"), "admin", "admin-password-1", env.admin_invitation)
    finally:
        live.stop()
        app.extensions["vault"].db.dispose()
    archive = tmp_path / "backup.tar"
    _backup(env, archive)
    bad = tmp_path / "bad.tar"
    changes, message = TAMPERED[case]
    _rewrite(archive, bad, **changes)
    restored = tmp_path / "restored"
    out = _run("restore", str(bad), "--data", str(restored))
    assert out.exit_code != 0 and message in json.loads(out.stdout)["error"]["message"], out.output
    assert not restored.exists()
    assert not (tmp_path / "escaped").exists()
    # The untouched archive restores.
    assert _run("restore", str(archive), "--data", str(restored)).exit_code == 0


@needs_postgres
def test_postgresql_target_must_be_empty_and_takes_all_or_nothing(tmp_path, new_pg_database):
    env = make_env(tmp_path, "", audit_checkpoint_every=1)
    archive = tmp_path / "backup.tar"
    _backup(env, archive)

    # A database that already holds a vault is refused before anything is written.
    used = new_pg_database()
    other = make_env(tmp_path / "other", used)
    before = _snapshot(used)
    restored = tmp_path / "restored"
    out = _run("restore", str(archive), "--data", str(restored), "--database-url", used)
    assert out.exit_code != 0 and "already holds vault data" in out.output, out.output
    assert not restored.exists() and _snapshot(used) == before
    assert other.data_dir.exists()

    # A row that does not decode: the schema and the rows before it roll back with the transaction.
    bad = tmp_path / "bad.tar"
    _rewrite(archive, bad, _edit_rows("audit_checkpoints", lambda r: {**r, "signature": "%%%"}))
    empty = new_pg_database()
    out = _run("restore", str(bad), "--data", str(restored), "--database-url", empty)
    assert out.exit_code != 0 and "does not decode" in out.output, out.output
    assert not restored.exists()
    db = Database(empty)
    with db.engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    db.dispose()
    # The same empty database then takes the good archive.
    out = _run("restore", str(archive), "--data", str(restored), "--database-url", empty)
    assert out.exit_code == 0, out.output
    v = open_vault(load_config(restored))
    assert ops.audit_verify(v).ok
    v.db.dispose()


def test_an_sqlite_file_archive_is_not_restored_into_another_database(tmp_path):
    env = make_env(tmp_path, "")
    archive = tmp_path / "backup.tar"
    out = _run("backup", "--data", str(env.data_dir), str(archive))
    assert out.exit_code == 0 and json.loads(out.stdout)["database"] == "sqlite-file", out.output
    restored = tmp_path / "restored"
    # Refused before any connection is tried: the URL need not even work.
    out = _run("restore", str(archive), "--data", str(restored), "--database-url", "postgresql://nobody@127.0.0.1:1/x")
    assert out.exit_code != 0 and "--portable" in out.output, out.output
    assert not restored.exists()


class _Filler(io.RawIOBase):
    """``size`` bytes of ``fill`` then ``tail``, produced as read: a huge tar entry that is never held whole."""

    def __init__(self, size: int, fill: bytes = b" ", tail: bytes = b""):
        self.left, self.fill, self.tail = size, fill, tail

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.left <= 0:
            n = min(len(b), len(self.tail))
            b[:n], self.tail = self.tail[:n], self.tail[n:]
            return n
        n = min(len(b), self.left)
        b[:n] = self.fill * n
        self.left -= n
        return n


def _huge(tar: tarfile.TarFile, name: str, size: int, tail: bytes = b"") -> None:
    info = tarfile.TarInfo(name)
    info.size = size + len(tail)
    tar.addfile(info, io.BufferedReader(_Filler(size, tail=tail), 1024 * 1024))


RESTORE_IN_A_CHILD = """\
import json, sys, tempfile, tracemalloc
from pathlib import Path
from vault import ops
from vault.db import dump
from vault.ops import archive
# Smaller bounds than shipped, so that the archives stay cheap to make: the code paths are the same.
dump.LINE_MAX = 1024 * 1024
archive.MAX_MEMBERS = 1000

out = []
for n, path in enumerate(sys.argv[1:]):  # first a sound archive: it warms up imports, schema and caches
    if n:
        tracemalloc.start()
    try:
        ops.restore(Path(path), Path(tempfile.mkdtemp(dir=Path(path).parent)) / "restored")
        message = None
    except ops.InitError as exc:
        message = str(exc)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    out.append({"message": message, "peak_mb": peak})
print(json.dumps(out))
"""


def _restore_in_a_child(sound: Path, hostile: Path) -> dict:
    """Restore ``sound`` then ``hostile`` in a new process: the second's peak allocations (MB) and error."""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", RESTORE_IN_A_CHILD, str(sound), str(hostile)],
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == 0 and "Traceback" not in child.stderr, child.stderr[-3000:]
    good, bad = json.loads(child.stdout)
    assert good["message"] is None, good
    return bad


def test_hostile_archive_is_refused_within_bounded_memory(tmp_path):
    """A gzip of a few MB can hold a 100 MB meta.json, an endless table line or 100,000 entries: each is
    refused after reading at most its bound, not the whole of it (each in its own process: peaks add up)."""
    env = make_env(tmp_path, "")
    sound = tmp_path / "backup.tar"
    _backup(env, sound)
    meta = tmp_path / "meta.tar.gz"
    with tarfile.open(meta, "w:gz", compresslevel=1) as tar:
        _huge(tar, "db/meta.json", 100 * 1024 * 1024, tail=b'{"format": "evidence-vault-db"}')
    line = tmp_path / "line.tar.gz"
    with tarfile.open(sound) as tin, tarfile.open(line, "w:gz", compresslevel=1) as tout:
        for m in tin.getmembers():
            if m.name == "db/users.jsonl":  # one row with no end: valid JSON after 100 MB of blanks
                _huge(tout, m.name, 100 * 1024 * 1024, tail=b"{}")
            else:
                tout.addfile(m, tin.extractfile(m))
    many = tmp_path / "many.tar.gz"
    with tarfile.open(many, "w:gz", compresslevel=1) as tar:
        for n in range(100_000):
            _add(tar, "junk" if n == 0 else f"keys/{n:08d}", b"")
    assert max(p.stat().st_size for p in (meta, line, many)) < 5 * 1024 * 1024
    expected = {meta: "db/meta.json is larger than 1048576 bytes",
                line: "db/users.jsonl line 1 is longer than 1048576 bytes",
                many: "more than 1000 entries"}
    for hostile, message in expected.items():
        out = _restore_in_a_child(sound, hostile)
        # Before: meta.json and the line were read whole (and decoded), every entry's header kept (~50 MB).
        assert out["peak_mb"] < 25, (hostile.name, out)
        assert message in out["message"], (hostile.name, out)
