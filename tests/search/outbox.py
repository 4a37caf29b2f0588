"""A small SQLite outbox (the shape of the core app's table) and process entry points.

Module-level functions, so multiprocessing's "spawn" start method can run them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from vault.search.indexer import Indexer


def connect(db: str | Path) -> sqlite3.Connection:
    # One connection may be used by successive threads (never at once).
    conn = sqlite3.connect(db, timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


def create(db: str | Path) -> None:
    with connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                     "item_id TEXT NOT NULL, op TEXT NOT NULL, doc TEXT)")


def put(db: str | Path, rows: list[tuple[str, str, dict[str, Any] | None]]) -> None:
    conn = connect(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO outbox (item_id, op, doc) VALUES (?, ?, ?)",
                         [(i, op, json.dumps(d) if d is not None else None) for i, op, d in rows])
        conn.execute("COMMIT")
    finally:
        conn.close()


def pending(db: str | Path) -> int:
    conn = connect(db)
    try:
        return conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        conn.close()


class SqliteOutbox:
    """OutboxSource over the table above; optional hooks to slow it down or stop it."""

    def __init__(self, db: str | Path, *, fetch_delay: float = 0.0, marker_dir: str | None = None,
                 hang_in_ack: bool = False) -> None:
        self.db = str(db)
        self.fetch_delay = fetch_delay
        self.marker_dir = marker_dir
        self.hang_in_ack = hang_in_ack
        self.fetches = 0
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.db)
        return self._conn

    def fetch(self, limit: int) -> list[tuple[int, str, str, dict[str, Any] | None]]:
        rows = self.conn.execute("SELECT id, item_id, op, doc FROM outbox ORDER BY id LIMIT ?",
                                 (limit,)).fetchall()
        if rows:
            self.fetches += 1
            if self.marker_dir:
                Path(self.marker_dir, f"fetch-{self.fetches}").touch()
            time.sleep(self.fetch_delay)  # a slow producer of documents
        return [(r[0], r[1], r[2], json.loads(r[3]) if r[3] else None) for r in rows]

    def ack(self, outbox_ids: list[int]) -> None:
        if self.hang_in_ack:
            # The index has committed the batch, the rows are not yet deleted:
            # the worst moment to die.
            Path(self.marker_dir or ".", "applied").touch()
            time.sleep(3600)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in outbox_ids])
        self.conn.execute("COMMIT")


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_indexer(index: str, db: str, stop, results, interval: float = 0.02) -> None:
    """A worker: the background indexer thread until ``stop`` (a multiprocessing Event)."""
    counter = _Counter()
    logging.getLogger("vault.search").addHandler(counter)
    indexer = Indexer(index, SqliteOutbox(db), batch_size=40, writer_timeout=30)
    halt = threading.Event()
    thread = indexer.run_in_background(halt, interval=interval, retry_interval=0.1)
    stop.wait(120)
    halt.set()
    thread.join(60)
    results.put({"stats": indexer.stats, "warnings": counter.messages})


def drain_forever(index: str, db: str, marker_dir: str, hang_in_ack: bool, fetch_delay: float) -> None:
    """An indexer process that the test kills with SIGKILL."""
    source = SqliteOutbox(db, fetch_delay=fetch_delay, marker_dir=marker_dir, hang_in_ack=hang_in_ack)
    indexer = Indexer(index, source, batch_size=25)
    while True:
        if indexer.drain_once() == 0:
            time.sleep(0.01)


def produce(db: str, docs: list[dict[str, Any]]) -> None:
    """Insert documents one transaction at a time, as web requests would."""
    for doc in docs:
        put(db, [(doc["item_id"], "upsert", doc)])
