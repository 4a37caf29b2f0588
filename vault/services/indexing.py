"""Glue between the database and the search index (vault/search).

The upload transaction writes a search_outbox row next to the item; here
the outbox is read for the indexer, documents are built from the
searchable metadata only (never sealed content), and every worker starts
the indexer thread — only the one holding the writer lock writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, select

from vault import search
from vault.db.engine import Database, database_unavailable
from vault.db.models import Case, Item, SearchOutbox

log = logging.getLogger(__name__)
BATCH = 500


RECORD_TYPE = "case_record"


def latest_records(s, case_ids: set[str]) -> dict[str, str]:
    """Case id -> the id of its latest case record: the one every client opens.

    Each save of the case's record is a new item; a record saved in the
    browser names the one it replaces (``metadata.supersedes``). The latest is
    the newest record (upload time, then id, as the items list orders them)
    that no other record of the case supersedes: the rule of the browser
    (caserecord.js latestRecordItem) and of the Python client
    (client/export.py latest_record).
    """
    if not case_ids:
        return {}
    by_case: dict[str, list] = {}
    for item_id, case_id, created, meta in s.execute(
            select(Item.id, Item.case_id, Item.created_at, Item.meta)
            .where(Item.case_id.in_(case_ids), Item.evidence_type == RECORD_TYPE)):
        by_case.setdefault(case_id, []).append((created, item_id, (meta or {}).get("supersedes")))
    out = {}
    for case_id, records in by_case.items():
        replaced = {r[2] for r in records}
        current = [r for r in records if r[1] not in replaced] or records
        out[case_id] = max(current)[1]
    return out


def document(item: Item, case: Case, superseded: bool = False) -> dict[str, Any]:
    """The search document of an item: its clear metadata and its case's reference."""
    m = item.meta
    return {
        "item_id": item.id, "case_id": case.id, "case_reference": case.reference, "case_title": case.title,
        "title": m.get("title") or "", "place": m.get("place") or "",
        "incident_date_from": m.get("incident_date_from"), "incident_date_to": m.get("incident_date_to"),
        "region": m.get("region") or case.region, "detention_place_type": m.get("detention_place_type"),
        "violations": list(m.get("violations") or []), "methods": list(m.get("methods") or []),
        "evidence_type": item.evidence_type, "tags": list(m.get("tags") or []), "language": m.get("language"),
        "uploader_role": item.uploader_role, "uploaded_at": item.created_at.isoformat() + "Z",
        "superseded": superseded,
    }


def _documents(s, pairs) -> dict[str, dict[str, Any]]:
    """Item id -> document, for (item, case) pairs, superseded case records marked."""
    latest = latest_records(s, {i.case_id for i, _c in pairs if i.evidence_type == RECORD_TYPE})
    return {i.id: document(i, c, i.evidence_type == RECORD_TYPE and latest.get(i.case_id) != i.id)
            for i, c in pairs}


class DbOutbox:
    """search.OutboxSource over the search_outbox table."""

    def __init__(self, db: Database):
        self.db = db

    def fetch(self, limit: int) -> list[tuple[int, str, str, dict | None]]:
        with _unavailable_as_search_error():
            return self._fetch(limit)

    def _fetch(self, limit: int) -> list[tuple[int, str, str, dict | None]]:
        with self.db.session() as s:
            rows = s.execute(select(SearchOutbox).order_by(SearchOutbox.id).limit(limit)).scalars().all()
            if not rows:
                return []
            ids = {r.item_id for r in rows}
            pairs = s.execute(select(Item, Case).join(Case, Case.id == Item.case_id).where(Item.id.in_(ids))).all()
            # A new case record supersedes its case's earlier ones: they are
            # re-indexed with it, from what is committed when this row is read,
            # so saves committed in any order end with only the latest current.
            record_cases = {i.case_id for i, _c in pairs if i.evidence_type == RECORD_TYPE}
            earlier = s.execute(select(Item, Case).join(Case, Case.id == Item.case_id).where(
                Item.case_id.in_(record_cases), Item.evidence_type == RECORD_TYPE,
                Item.id.not_in(ids))).all() if record_cases else []
            found = _documents(s, [*pairs, *earlier])
        trigger = {}
        out = []
        for r in rows:
            doc = found.get(r.item_id)
            if r.op == "upsert" and doc is not None:
                out.append((r.id, r.item_id, "upsert", doc))
                if doc["evidence_type"] == RECORD_TYPE:
                    trigger[doc["case_id"]] = r.id
            else:  # deleted since, or a delete
                out.append((r.id, r.item_id, "delete", None))
        # Acked with the row that brought them (acking an id twice is harmless).
        out += [(trigger[i.case_id], i.id, "upsert", found[i.id]) for i, _c in earlier if i.case_id in trigger]
        return out

    def ack(self, outbox_ids: list[int]) -> None:
        with _unavailable_as_search_error(), self.db.session() as s:
            s.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(outbox_ids)))


@contextmanager
def _unavailable_as_search_error():
    """A database that cannot be used now is the indexer's "try later", not a failure."""
    try:
        yield
    except Exception as exc:
        if database_unavailable(exc):
            raise search.SourceUnavailable(" ".join(c.__name__ for c in (type(exc), type(exc.__cause__))
                                                    if c is not type(None))) from None
        raise


def all_documents(db: Database) -> Iterator[dict[str, Any]]:
    """Every item's document, read lazily in keyset pages (used by rebuild)."""
    last = ""
    while True:
        with db.session() as s:
            rows = s.execute(select(Item, Case).join(Case, Case.id == Item.case_id).where(Item.id > last)
                             .order_by(Item.id).limit(1000)).all()
            found = _documents(s, rows)
            docs = [found[i.id] for i, _c in rows]
        if not docs:
            return
        yield from docs
        last = docs[-1]["item_id"]


def reindex(db: Database, path, progress=None) -> int:
    """Rebuild the index from the database (the index is derived data)."""
    return search.rebuild(path, all_documents(db), progress)


def _start_worker_side(db: Database, path, stop: threading.Event) -> None:
    """In each worker: make sure an index exists (rebuilding a missing or
    corrupt one, if no other worker is already doing it), warm the caches,
    then compete to be the outbox writer."""
    try:
        state = search.status(path)
        if state != "ok":
            log.warning("search index is %s: rebuilding from the database", state)
            try:
                n = search.rebuild(path, all_documents(db), lock_timeout=0)
                log.warning("search index rebuilt with %d items", n)
            except search.IndexBusy:
                # Another worker is rebuilding: warming before its swap would
                # find no index (a traceback in the log, a cold worker).
                search.wait_for_rebuild(path)
        search.warm(str(path))
    except Exception:  # the vault keeps serving; search answers 503 until fixed
        log.exception("search index could not be prepared")
    search.Indexer(path, DbOutbox(db), batch_size=BATCH).run_in_background(stop)


def start(db: Database, path) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=_start_worker_side, args=(db, path, stop), name="vault-search-start",
                     daemon=True).start()
    return stop
