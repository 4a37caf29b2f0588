"""Engine and sessions. SQLite by default, PostgreSQL by URL.

SQLite is tuned for durability and for several gunicorn workers: WAL,
synchronous=FULL (a commit survives power loss), a long busy timeout, and
BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade.

Every wait for the database (SQLite's lock, a PostgreSQL connection or a
free pooled one) ends well inside gunicorn's 30 s worker timeout
(config/gunicorn.conf.py): a request that cannot get the database then
answers 503 database_unavailable (vault/api/errors.py) instead of being
killed with its worker.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_S = 15  # another writer's lock: long enough for any commit queue, short of the worker timeout
PG_CONNECT_TIMEOUT_S = 10  # a PostgreSQL host that drops packets, rather than refusing, fails this fast
PG_POOL_TIMEOUT_S = 10  # waiting for a pooled connection (the indexer thread holds one now and then)


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
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=PG_POOL_TIMEOUT_S,
                             connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S})
    if mode == "migrate":
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_S, "check_same_thread": False})

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
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_S * 1000}")
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


# SQLite primary result codes that mean "not now" rather than a wrong query:
# BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL. Its OperationalError also
# covers "no such table" and syntax errors, which are bugs and stay 500s.
_SQLITE_NOT_NOW = {5, 6, 10, 13, 14, 15}


def database_unavailable(e: BaseException) -> bool:
    """Whether `e`, or what it was raised from, says the database cannot be used now (so: try again).

    PostgreSQL's OperationalError is just that (connection failures, server
    shutting down, too many connections, deadlock or serialization failure);
    SQLite's only for the result codes above.
    """
    seen = 0
    while e is not None and seen < 5:
        if isinstance(e, sa_exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(e, sa_exc.DBAPIError):
            if e.connection_invalidated:
                return True
            if isinstance(e.orig, sqlite3.Error):
                return (isinstance(e.orig, sqlite3.OperationalError)
                        and (getattr(e.orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_NOT_NOW)
            return isinstance(e, sa_exc.OperationalError)
        e, seen = e.__cause__, seen + 1
    return False
