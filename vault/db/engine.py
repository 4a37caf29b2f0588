"""Engine and sessions. SQLite by default, PostgreSQL by URL.

SQLite is tuned for durability and for several gunicorn workers: WAL,
synchronous=FULL (a commit survives power loss), a long busy timeout, and
BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, mode: str = "serve") -> Engine:
    """The one place engines are made, with the SQLite settings of each use.

    - ``serve``: what the server runs on (see the module docstring).
    - ``snapshot``: a read-only connection whose deferred BEGIN fixes one WAL
      snapshot at the first read, so a backup is consistent while the
      server's writers carry on.
    - ``migrate``: a plain connection; alembic manages its own transaction
      and its batch operations expect foreign keys unenforced (a restore
      checks them at the end).

    PostgreSQL is the same in every mode: its transactions already give
    each of these.
    """
    if mode not in ("serve", "snapshot", "migrate"):
        raise ValueError(mode)
    if not url.startswith("sqlite"):
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    if mode == "migrate":
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if mode == "snapshot":
            cur.execute("PRAGMA query_only=ON")
        else:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # IMMEDIATE takes the write lock up front, so two writers never
        # deadlock on an upgrade; a snapshot only reads.
        conn.exec_driver_sql("BEGIN" if mode == "snapshot" else "BEGIN IMMEDIATE")

    return engine


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on normal exit, rolled back on any error."""
        s = self._sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
