"""The outbox drain: idempotence, one writer among many, and surviving SIGKILL.

The multi-process tests use real processes ("spawn") and a real SQLite
outbox. They wait for work to be done with generous deadlines; nothing here
asserts how fast anything is.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.search import outbox
from tests.search.conftest import make_doc
from vault.search import Indexer, open_or_create, rebuild, search, verify
from vault.search.locks import FileLock, rebuild_intent_path, rebuild_lock_path

CASES = [f"case-{i}" for i in range(5)]
DEADLINE = 90.0  # seconds; only ever reached when something is broken


def _wait_for(predicate, what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _docs(n: int, prefix: str = "d") -> list[dict]:
    return [make_doc(item_id=f"{prefix}{i}", case_id=CASES[i % 5], title=f"Пытки {prefix}{i}")
            for i in range(n)]


def _all_findable(index: Path, docs: list[dict]) -> None:
    assert verify(index) == len(docs)
    result = search(str(index), "пытки", allowed_case_ids=CASES, per_page=100, page=1, facets=False)
    assert result["total"] == len(docs)
    for doc in docs[:: max(1, len(docs) // 20)]:
        found = search(str(index), doc["item_id"], allowed_case_ids=CASES, facets=False)
        assert [h["item_id"] for h in found["hits"]] == [doc["item_id"]]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "outbox.sqlite"
    outbox.create(path)
    return str(path)


def test_drain_once_applies_then_acks(index_path: Path, db: str) -> None:
    open_or_create(index_path)
    outbox.put(db, [("a", "upsert", make_doc(item_id="a", title="Пытки")),
                    ("b", "upsert", make_doc(item_id="b", title="Пытки")),
                    ("b", "delete", None),                      # upsert then delete: deleted
                    ("c", "delete", None),
                    ("c", "upsert", make_doc(item_id="c", title="Пытки")),  # delete then upsert
                    ("bad", "upsert", make_doc(item_id="bad", region="Not A Code")),
                    ("x", "upsert", make_doc(item_id="y")),      # document for another item
                    ("z", "rename", None)])                     # unknown op
    indexer = Indexer(index_path, outbox.SqliteOutbox(db))
    assert indexer.drain_once() == 8
    assert outbox.pending(db) == 0
    assert indexer.stats["invalid"] == 3
    hits = search(str(index_path), "пытки", allowed_case_ids=["case-A"])["hits"]
    assert {h["item_id"] for h in hits} == {"a", "c"}
    assert indexer.drain_once() == 0


def test_a_failed_apply_acks_nothing(index_path: Path, db: str) -> None:
    outbox.put(db, [("a", "upsert", make_doc(item_id="a"))])
    indexer = Indexer(index_path, outbox.SqliteOutbox(db))  # the index does not exist yet
    indexer._step()
    assert indexer.stats["errors"] == 1 and outbox.pending(db) == 1
    open_or_create(index_path)
    assert indexer.drain_once() == 1 and outbox.pending(db) == 0


def test_rebuild_pauses_the_drain(index_path: Path, db: str) -> None:
    open_or_create(index_path)
    outbox.put(db, [("a", "upsert", make_doc(item_id="a"))])
    indexer = Indexer(index_path, outbox.SqliteOutbox(db))
    with FileLock(rebuild_lock_path(index_path)) as held:
        assert held.acquire()
        assert indexer._drain_guarded() == 0 and outbox.pending(db) == 1
    with FileLock(rebuild_intent_path(index_path)) as waiting:  # a rebuild waiting for its turn
        assert waiting.acquire()
        assert indexer._drain_guarded() == 0 and outbox.pending(db) == 1
    assert indexer._drain_guarded() == 1 and outbox.pending(db) == 0


def test_a_busy_indexer_does_not_starve_a_rebuild(index_path: Path, db: str) -> None:
    open_or_create(index_path)
    database = _docs(2000, "b")  # what the database holds, and the outbox still has to index
    outbox.put(db, [(d["item_id"], "upsert", d) for d in database])
    indexer = Indexer(index_path, outbox.SqliteOutbox(db), batch_size=20)
    halt = threading.Event()

    def hammer() -> None:  # back-to-back batches, no pause, as with a large backlog
        while not halt.is_set() and outbox.pending(db):
            indexer._drain_guarded()

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        _wait_for(lambda: indexer.stats["batches"] > 0, "the first batch")
        assert rebuild(index_path, database, lock_timeout=DEADLINE) == 2000
    finally:
        halt.set()
        thread.join(DEADLINE)
    while indexer.drain_once():
        pass
    _all_findable(index_path, database)


def test_only_one_thread_writes_and_another_takes_over(index_path: Path, db: str) -> None:
    open_or_create(index_path)
    first, second = (Indexer(index_path, outbox.SqliteOutbox(db)) for _ in range(2))
    stop_first, stop_second = threading.Event(), threading.Event()
    t1 = first.run_in_background(stop_first, interval=0.02, retry_interval=0.05)
    _wait_for(lambda: first.is_leader, "the first indexer to lead")
    t2 = second.run_in_background(stop_second, interval=0.02, retry_interval=0.05)
    outbox.put(db, [(d["item_id"], "upsert", d) for d in _docs(30, "p")])
    _wait_for(lambda: outbox.pending(db) == 0, "the outbox to drain")
    assert not second.is_leader and second.stats["applied"] == 0
    stop_first.set()
    t1.join(30)
    outbox.put(db, [(d["item_id"], "upsert", d) for d in _docs(10, "q")])
    _wait_for(lambda: second.is_leader and outbox.pending(db) == 0, "the second indexer to take over")
    stop_second.set()
    t2.join(30)
    assert first.stats["applied"] == 30 and second.stats["applied"] == 10


def test_many_processes_one_writer_nothing_lost(index_path: Path, db: str) -> None:
    open_or_create(index_path)
    ctx = multiprocessing.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=outbox.run_indexer, args=(str(index_path), db, stop, results))
               for _ in range(3)]
    for w in workers:
        w.start()
    docs = _docs(200)
    producers = [ctx.Process(target=outbox.produce, args=(db, docs[i::4])) for i in range(4)]
    for p in producers:
        p.start()
    # Search all along, as request handlers would while the index is written.
    totals = []
    while any(p.is_alive() for p in producers) or outbox.pending(db):
        totals.append(search(str(index_path), "пытки", allowed_case_ids=CASES, facets=True)["total"])
        time.sleep(0.01)
        if len(totals) > 20_000:
            raise AssertionError("the outbox never drained")
    for p in producers:
        p.join(DEADLINE)
        assert p.exitcode == 0
    assert all(0 <= t <= 200 for t in totals)
    stop.set()
    reports = [results.get(timeout=DEADLINE) for _ in workers]
    for w in workers:
        w.join(DEADLINE)
        assert w.exitcode == 0
    assert sum(r["stats"]["applied"] for r in reports) == 200
    assert all(r["stats"]["busy"] == 0 and r["stats"]["errors"] == 0 for r in reports)
    assert not any("LockError" in m or "lock" in m.lower() for r in reports for m in r["warnings"])
    _all_findable(index_path, docs)


def _killed_indexer(index_path: Path, db: str, marker: Path, *, hang_in_ack: bool, fetch_delay: float,
                    wait_for: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=outbox.drain_forever,
                       args=(str(index_path), db, str(marker), hang_in_ack, fetch_delay))
    proc.start()
    try:
        _wait_for(lambda: (marker / wait_for).exists(), f"the indexer to reach {wait_for}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(DEADLINE)
    assert proc.exitcode == -signal.SIGKILL


def test_sigkill_between_commit_and_ack_loses_nothing(index_path: Path, db: str, tmp_path: Path) -> None:
    open_or_create(index_path)
    docs = _docs(60)
    outbox.put(db, [(d["item_id"], "upsert", d) for d in docs])
    marker = tmp_path / "markers"
    marker.mkdir()
    _killed_indexer(index_path, db, marker, hang_in_ack=True, fetch_delay=0.0, wait_for="applied")
    assert outbox.pending(db) == 60  # committed to the index, but never acked
    indexer = Indexer(index_path, outbox.SqliteOutbox(db))  # "after the restart"
    while indexer.drain_once():
        pass
    assert outbox.pending(db) == 0
    _all_findable(index_path, docs)  # re-applied batch: no duplicates either


def test_sigkill_mid_drain_loses_nothing(index_path: Path, db: str, tmp_path: Path) -> None:
    open_or_create(index_path)
    docs = _docs(300)
    outbox.put(db, [(d["item_id"], "upsert", d) for d in docs])
    marker = tmp_path / "markers"
    marker.mkdir()
    # Batches of 25 with a slow source: killed somewhere inside the third batch.
    _killed_indexer(index_path, db, marker, hang_in_ack=False, fetch_delay=0.05, wait_for="fetch-3")
    assert 0 < outbox.pending(db) < 300
    indexer = Indexer(index_path, outbox.SqliteOutbox(db))
    while indexer.drain_once():
        pass
    _all_findable(index_path, docs)


def test_rebuild_then_outbox_catches_up(index_path: Path, db: str) -> None:
    """Rows written during a rebuild are applied afterwards, not lost in the swap."""
    old = _docs(20, "old")
    rebuild(index_path, old)
    late = _docs(5, "late")
    outbox.put(db, [(d["item_id"], "upsert", d) for d in late])
    rebuild(index_path, old)  # the database snapshot did not have the late rows yet
    indexer = Indexer(index_path, outbox.SqliteOutbox(db))
    while indexer.drain_once():
        pass
    _all_findable(index_path, old + late)
