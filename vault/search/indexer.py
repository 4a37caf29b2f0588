"""Drain the outbox into the index: many workers, exactly one writer.

The core app writes an outbox row (item id, "upsert"/"delete", document) in
the same database transaction as the metadata, so an index update can never
be lost: it is only deleted (acked) after whoosh has committed it and the
files are fsynced. A process killed anywhere in between leaves the rows in
place, and re-applying them is harmless (upsert by item id).

Every gunicorn worker may start :meth:`Indexer.run_in_background`; the
threads compete for a non-blocking flock on ``<index>/../index.writer.lock``
and only the holder drains. The others retry every few seconds, and when the
holder dies the OS drops its lock and one of them takes over. Request
handlers never touch whoosh's writer.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from vault.search import index as search_index
from vault.search.documents import validate
from vault.search.errors import IndexBusy, IndexUnavailable, InvalidDocument, SourceUnavailable
from vault.search.locks import FileLock, rebuild_intent_path, rebuild_lock_path, writer_lock_path

log = logging.getLogger(__name__)

OutboxRow = tuple[int, str, str, "dict[str, Any] | None"]


class OutboxSource(Protocol):
    """What the indexer needs from the outbox table (the app adapts its ORM)."""

    def fetch(self, limit: int) -> Sequence[tuple[int, str, str, dict[str, Any] | None]]:
        """The oldest ``limit`` rows: (outbox_id, item_id, "upsert"|"delete", doc or None)."""
        ...

    def ack(self, outbox_ids: list[int]) -> None:
        """Delete these rows: the index has committed them."""
        ...


class Indexer:
    """Applies outbox batches to the index at ``index_path``."""

    def __init__(self, index_path: str | os.PathLike[str], source: OutboxSource, *,
                 batch_size: int = 500, writer_timeout: float = 10.0) -> None:
        self.index_path = os.fspath(index_path)
        self.source = source
        self.batch_size = batch_size
        self.writer_timeout = writer_timeout
        self.is_leader = False
        self.stats = {"applied": 0, "invalid": 0, "busy": 0, "errors": 0, "batches": 0}
        self._wake = threading.Event()

    def wake(self) -> None:
        """Ask the background thread to drain now (after the app wrote rows)."""
        self._wake.set()

    def drain_once(self) -> int:
        """Fetch one batch, apply it, commit, then ack. Returns rows handled.

        Within a batch the last row of an item wins, so "upsert then delete"
        deletes and "delete then upsert" upserts. A document that fails
        validation is logged and acked (skipped): the database still has the
        row, and leaving it would block the queue for ever. Raises
        :class:`IndexBusy` or :class:`IndexUnavailable` without acking.
        """
        rows = list(self.source.fetch(self.batch_size))
        if not rows:
            return 0
        rows.sort(key=lambda r: r[0])
        latest: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for _oid, item_id, op, doc in rows:
            latest[item_id] = (op, doc)
        upserts, deletes = [], []
        for item_id, (op, doc) in latest.items():
            if op == "delete":
                deletes.append(item_id)
                continue
            try:
                if op != "upsert":
                    raise InvalidDocument(f"item {item_id!r}: unknown outbox op {op!r}")
                checked = validate(doc)
                if checked["item_id"] != item_id:
                    raise InvalidDocument(f"item {item_id!r}: document is for {checked['item_id']!r}")
                upserts.append(checked)
            except InvalidDocument as exc:
                self.stats["invalid"] += 1
                log.error("search indexer: skipping outbox row: %s", exc)
        search_index.apply(self.index_path, upserts, deletes, timeout=self.writer_timeout)
        self.source.ack([r[0] for r in rows])
        self.stats["applied"] += len(rows)
        self.stats["batches"] += 1
        return len(rows)

    def _drain_guarded(self) -> int:
        """One batch under the shared rebuild lock; 0 while a rebuild runs or waits."""
        with FileLock(rebuild_intent_path(self.index_path)) as intent:
            if not intent.acquire(shared=True, timeout=0):
                return 0  # a rebuild is waiting for the lock below: let it in
        with FileLock(rebuild_lock_path(self.index_path)) as rebuild_lock:
            if not rebuild_lock.acquire(shared=True, timeout=0):
                return 0
            return self.drain_once()

    def run_in_background(self, stop_event: threading.Event, interval: float = 0.5, *,
                          retry_interval: float = 3.0) -> threading.Thread:
        """Start the daemon thread that becomes the writer when it can.

        Start it in each worker after the fork (gunicorn ``post_fork`` or the
        app factory), not in a master that forks afterwards: a flock taken
        before fork() would be shared with every child.
        """
        thread = threading.Thread(target=self._run, args=(stop_event, interval, retry_interval),
                                  name="vault-search-indexer", daemon=True)
        thread.start()
        return thread

    def _run(self, stop: threading.Event, interval: float, retry_interval: float) -> None:
        lock = FileLock(writer_lock_path(self.index_path))
        try:
            while not stop.is_set():
                if not lock.held:
                    if not lock.acquire(timeout=0):
                        stop.wait(retry_interval)
                        continue
                    self.is_leader = True
                    log.info("search indexer: this process (%d) is the index writer", os.getpid())
                handled = self._step()
                if handled < self.batch_size:  # caught up (or failed): wait for more
                    self._wake.wait(interval)
                    self._wake.clear()
        finally:
            self.is_leader = False
            lock.release()

    def _step(self) -> int:
        try:
            return self._drain_guarded()
        except IndexBusy as exc:
            # Another process writes without the leader lock (a CLI apply):
            # the rows stay in the outbox and are retried.
            self.stats["busy"] += 1
            log.warning("search indexer: %s; will retry", exc)
        except IndexUnavailable as exc:
            self.stats["errors"] += 1
            log.error("search indexer: index unusable (%s); run `vault server reindex`", exc)
        except SourceUnavailable as exc:
            # The database is restarting or locked: one line, no traceback
            # (a driver's message can name the server); the rows wait.
            self.stats["busy"] += 1
            log.warning("search indexer: the database is unavailable (%s); will retry", exc)
        except Exception:
            self.stats["errors"] += 1
            log.exception("search indexer: batch failed; will retry")
        return 0
