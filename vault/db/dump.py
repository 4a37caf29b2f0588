"""A database-neutral dump of the vault's tables, inside `vault server backup` archives.

Why it exists: an SQLite file restores only into SQLite and pg_dump only
into PostgreSQL. This form (JSON Lines, one file per table, values encoded
by the column's type) restores into either, so a seized server can be
rebuilt from an off-site archive whatever database it ran on, and an
organisation can move from SQLite to PostgreSQL. Restore creates the schema
at the archive's own revision, loads the rows, then migrates to head, so an
older archive restores into newer code.

An archive may come from anywhere (a copy kept off-site for years), so it
is read within bounds: meta.json to META_MAX bytes, each line of a table to
LINE_MAX bytes, every JSON value to a bounded depth (vault.jsonlimits) —
never what the tar headers declare.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tarfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    func,
    inspect,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from vault import jsonlimits
from vault.db import migrate
from vault.db.engine import make_engine
from vault.db.models import Base, utcnow

FORMAT = "evidence-vault-db"
VERSION = 1
BATCH = 500
META_MAX = 1024 * 1024  # a real meta.json is a few hundred bytes: one count per table
MAX_TABLES = 200  # the schema has 15
# One row: the largest is an item's ciphertexts in base64, bounded by the API's
# JSON body limit (1 MiB by default); this leaves room for a raised limit.
LINE_MAX = 64 * 1024 * 1024
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class DumpError(Exception):
    """The dump cannot be written or the archive cannot be restored; the message says why."""


def _kind(t) -> str:
    # Reflected dialect types (BYTEA, BLOB, TIMESTAMP, sqlite DATETIME...) subclass these.
    for cls, kind in ((LargeBinary, "bytes"), (DateTime, "datetime"), (Date, "date"), (JSON, "json"),
                      (Boolean, "bool"), (Integer, "int"), (String, "str")):
        if isinstance(t, cls):
            return kind
    return "any"


def _encode(kind: str, value):
    if value is None or kind in ("json", "bool", "int", "str", "any"):
        return value
    if kind == "bytes":
        return base64.b64encode(value).decode()
    return value.isoformat()


def _decode(kind: str, value):
    if value is None or kind == "json":
        return value
    if kind == "bytes":
        if not isinstance(value, str):
            raise ValueError("expected base64 text")
        return base64.b64decode(value, validate=True)
    if kind in ("datetime", "date"):
        if not isinstance(value, str):
            raise ValueError("expected an ISO date")
        return (datetime if kind == "datetime" else date).fromisoformat(value)
    expected = {"bool": bool, "int": int, "str": str}.get(kind)
    if expected and (type(value) is not expected):
        raise ValueError(f"expected {expected.__name__}")
    return value


def dump(url: str, folder: Path, progress: Callable[[int], None] | None = None) -> dict:
    """Write <table>.jsonl for every table into `folder` from one read transaction; return the meta."""
    engine = make_engine(url, "snapshot")
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One snapshot of the whole database while gunicorn workers keep writing.
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                rev = migrate.current(conn)
                if rev != migrate.head():
                    raise DumpError(f"the database is at schema revision {rev}, this vault expects "
                                    f"{migrate.head()}: run `vault server migrate` first")
                counts = {}
                for t in Base.metadata.sorted_tables:
                    counts[t.name] = _dump_table(conn, t, folder / f"{t.name}.jsonl")
                    if progress:
                        progress(1)
                dialect = conn.dialect.name
    except DBAPIError as exc:
        raise DumpError(f"cannot read the database: {_first_line(exc)}; nothing was written") from exc
    finally:
        engine.dispose()
    return {"format": FORMAT, "version": VERSION, "alembic_revision": rev, "source_dialect": dialect,
            "created_at": utcnow().isoformat(), "tables": counts}


def _dump_table(conn: Connection, t, path: Path) -> int:
    kinds = [(c.name, _kind(c.type)) for c in t.columns]
    n = 0
    rows = conn.execute(select(t).order_by(*t.primary_key.columns).execution_options(yield_per=1000))
    with open(path, "wb") as f:
        for row in rows:
            m = row._mapping
            line = {name: _encode(kind, m[name]) for name, kind in kinds}
            f.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            n += 1
    return n


def is_member(name: str) -> bool:
    return name.startswith("db/")


def read_meta(tar: tarfile.TarFile, members: list[tarfile.TarInfo]) -> dict:
    """Check db/meta.json and that the db/ entries are exactly the tables it lists."""
    names = {m.name for m in members if is_member(m.name)}
    if "db/meta.json" not in names:
        raise DumpError("the archive's db/ folder has no meta.json: it is damaged or not a vault backup")
    try:
        meta = jsonlimits.load(tar.extractfile("db/meta.json"), max_bytes=META_MAX)
    except jsonlimits.JSONLimitError as exc:
        raise DumpError(f"db/meta.json is {exc}, unlike any vault backup's: the archive is damaged or was "
                        "altered; restore from another copy") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DumpError(f"db/meta.json is not valid JSON ({exc}): the archive is damaged") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DumpError("db/meta.json is not an evidence vault database dump")
    if meta.get("version") != VERSION:
        raise DumpError(f"the dump is format version {_short(meta.get('version'))}; this vault reads version {VERSION}: "
                        "restore it with the vault version that made it, or a newer one")
    rev = meta.get("alembic_revision")
    if not isinstance(rev, str) or not migrate.is_known(rev):
        raise DumpError(f"the archive's schema revision {_short(rev)} is unknown to this vault: it was made by a newer "
                        "version; upgrade the vault software, then restore")
    tables = meta.get("tables")
    if not isinstance(tables, dict) or len(tables) > MAX_TABLES or not all(
            isinstance(k, str) and _TABLE_NAME.fullmatch(k) and type(v) is int and v >= 0 for k, v in tables.items()):
        raise DumpError("db/meta.json lists its tables wrongly: the archive is damaged")
    expected = {"db/meta.json"} | {f"db/{t}.jsonl" for t in tables}
    if names - expected:
        raise DumpError(f"unknown entries in the archive's db/ folder: {', '.join(sorted(names - expected))}; "
                        "it was altered: restore from another copy")
    if expected - names:
        raise DumpError(f"the archive lacks {', '.join(sorted(expected - names))}: it is incomplete")
    return meta


def check_empty(url: str) -> None:
    """Refuse a target database that already holds vault rows (before anything is written)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for t in Base.metadata.sorted_tables:
                if t.name in present and conn.execute(
                        select(literal_column("1")).select_from(table(t.name)).limit(1)).first():
                    raise DumpError(f"the target database already holds vault data (table {t.name}); "
                                    "restore into a new, empty database")
    except DBAPIError as exc:
        raise DumpError(f"cannot use the target database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()


def load(url: str, tar: tarfile.TarFile, meta: dict) -> int:
    """Create the schema at the archive's revision, insert every row, migrate to head: all or nothing.

    On PostgreSQL it is one transaction (DDL included). On SQLite the
    caller removes the new database file if this raises.
    """
    sqlite = url.startswith("sqlite")
    # For SQLite the plain engine migrate.upgrade uses: alembic's batch
    # operations expect foreign keys unenforced; they are checked at the end.
    engine = make_engine(url, "migrate")
    rev = meta["alembic_revision"]
    total = 0
    try:
        with engine.begin() as conn:
            migrate.upgrade_on(conn, rev)
            present = set(inspect(conn).get_table_names()) - {"alembic_version"}
            listed = set(meta["tables"])
            if listed - present:
                raise DumpError(f"the archive holds table(s) {', '.join(sorted(listed - present))} that schema "
                                f"revision {rev} does not have: it was altered or made by other software")
            if present - listed:
                raise DumpError(f"the archive lacks table(s) {', '.join(sorted(present - listed))} of schema "
                                f"revision {rev}: it is incomplete")
            md = MetaData()
            md.reflect(conn, only=sorted(listed))
            for t in md.sorted_tables:
                total += _load_table(conn, t, tar.extractfile(f"db/{t.name}.jsonl"), meta["tables"][t.name])
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken:
                    raise DumpError(f"rows of table {broken[0]} refer to rows the archive does not hold: "
                                    "it is damaged")
            else:
                _reset_sequences(conn, md)
            migrate.upgrade_on(conn, "head")
    except CommandError as exc:
        raise DumpError(f"cannot create the schema at revision {rev} in the target database ({exc}); "
                        "restore into a new, empty database") from exc
    except DBAPIError as exc:
        raise DumpError(f"the target database refused the archive: {_first_line(exc)}; nothing was restored") \
            from exc
    except OverflowError as exc:  # an integer the driver cannot bind (SQLite: past 64 bits)
        raise DumpError("a number in the archive is too large for the target database: it is damaged; "
                        "nothing was restored") from exc
    finally:
        engine.dispose()
    return total


def _load_table(conn: Connection, t, f, expected: int) -> int:
    kinds = {c.name: _kind(c.type) for c in t.columns}
    n, batch = 0, []
    # Lines split on b"\n" only (JSON escapes every newline inside a value), each
    # read to at most LINE_MAX + 1 bytes: a line without an end is not held whole.
    while raw := f.readline(LINE_MAX + 1):
        n += 1
        where = f"db/{t.name}.jsonl line {n}"
        if len(raw) > LINE_MAX and not raw.endswith(b"\n"):
            raise DumpError(f"{where} is longer than {LINE_MAX} bytes, longer than any row: the archive is "
                            "damaged or was altered; restore from another copy")
        try:
            row = jsonlimits.loads(raw, max_bytes=LINE_MAX + 1)
        except jsonlimits.TooDeep:
            raise DumpError(f"{where} nests deeper than any row: the archive is damaged or was altered") from None
        except ValueError as exc:
            raise DumpError(f"{where} is not valid JSON: the archive is damaged") from exc
        if not isinstance(row, dict):
            raise DumpError(f"{where} is not a row: the archive is damaged")
        if row.keys() != kinds.keys():
            unknown, missing = sorted(row.keys() - kinds.keys()), sorted(kinds.keys() - row.keys())
            raise DumpError(f"{where} does not match table {t.name}"
                            + (f"; unknown column(s): {', '.join(unknown)}" if unknown else "")
                            + (f"; missing column(s): {', '.join(missing)}" if missing else "")
                            + ": the archive was altered or made by other software")
        try:
            batch.append({k: _decode(kinds[k], v) for k, v in row.items()})
        except (ValueError, TypeError, binascii.Error) as exc:
            # The reason names the type expected, never the value.
            raise DumpError(f"{where} does not decode ({exc}): the archive is damaged") from None
        if len(batch) >= BATCH:
            conn.execute(t.insert(), batch)
            batch = []
    if batch:
        conn.execute(t.insert(), batch)
    if n != expected:
        raise DumpError(f"db/{t.name}.jsonl holds {n} rows but meta.json says {expected}: the archive is damaged")
    return n


def _reset_sequences(conn: Connection, md: MetaData) -> None:
    # Rows arrive with their ids, so a serial column's sequence has not moved:
    # without this the next insert would collide with a restored row.
    for t in md.sorted_tables:
        for col in t.primary_key.columns:
            if not isinstance(col.type, Integer):
                continue
            seq = conn.execute(select(func.pg_get_serial_sequence(t.name, col.name))).scalar()
            if seq:
                top = conn.execute(select(func.max(col))).scalar() or 0
                conn.execute(select(func.setval(seq, top + 1, False)))


def _short(value) -> str:
    # A value from the archive, quoted in a message: an altered meta.json may hold a megabyte there.
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _first_line(exc: DBAPIError) -> str:
    # The driver's first line names the problem; later lines (DETAIL) may quote row values.
    return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
