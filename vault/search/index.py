"""The whoosh index on disk: open, check, rebuild, and apply batches.

The index is derived data. The database is the truth; the index can always
be rebuilt from it (``vault server reindex`` calls :func:`rebuild`). So the
rules here are: never half-replace an index (build beside it and swap), and
never report a batch applied before whoosh has committed it and the files
are on disk (the indexer acks the outbox only after :func:`apply` returns).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import FileIndex, LockError

from vault.search.documents import SCHEMA_VERSION, make_schema, to_fields, validate
from vault.search.errors import IndexBusy, IndexCorrupt, IndexMissing, InvalidDocument
from vault.search.locks import FileLock, exclusive_rebuild, rebuild_intent_path
from vault.storage.files import fsync_dir

log = logging.getLogger(__name__)

MARKER = "vault-search.json"
Progress = Callable[[int], None]


def _write_marker(path: Path) -> None:
    marker = {"schema_version": SCHEMA_VERSION, "index_id": uuid.uuid4().hex,
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (path / MARKER).write_text(json.dumps(marker), encoding="utf-8")


def open_index(path: str | os.PathLike[str]) -> FileIndex:
    """Open the index, or raise :class:`IndexMissing` / :class:`IndexCorrupt`.

    Corrupt means: a folder that is not ours, a schema version other than
    this code's, an unreadable table of contents (whoosh pickles the schema
    into it), or a segment whose files cannot be opened.
    """
    path = Path(path)
    if not path.is_dir() or not any(path.iterdir()):
        raise IndexMissing(f"no search index at {path}")
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path}: no readable {MARKER}: {exc}") from exc
    if marker.get("schema_version") != SCHEMA_VERSION:
        raise IndexCorrupt(f"{path}: schema version {marker.get('schema_version')}, "
                           f"this code needs {SCHEMA_VERSION}")
    try:
        ix = whoosh_index.open_dir(str(path))
        # Opening a reader opens every segment's files: a missing or truncated
        # segment fails here rather than in the middle of a search.
        with ix.reader() as reader:
            reader.doc_count_all()
            for fieldname in ("item_id", "case_id"):
                reader.field_length(fieldname)
    except Exception as exc:  # whoosh raises many kinds here; all mean "rebuild"
        raise IndexCorrupt(f"{path}: {type(exc).__name__}: {exc}") from exc
    if sorted(ix.schema.names()) != sorted(make_schema().names()):
        raise IndexCorrupt(f"{path}: fields differ from this code's schema")
    return ix


def status(path: str | os.PathLike[str]) -> str:
    """"ok", "missing" or "corrupt": what the app should do at start."""
    try:
        open_index(path).close()
    except IndexMissing:
        return "missing"
    except IndexCorrupt:
        return "corrupt"
    return "ok"


def verify(path: str | os.PathLike[str]) -> int:
    """Read every stored document and check item ids are unique; return the count.

    Slower than :func:`open_index` (seconds for 100,000 records): for fsck.
    """
    ix = open_index(path)
    try:
        with ix.searcher() as searcher:
            reader = searcher.reader()
            docs = reader.column_reader("doc") if reader.doc_count_all() else []  # none in an empty index
            seen: set[str] = set()
            count = 0
            for docnum, stored in reader.iter_docs():  # live documents only
                json.loads(docs[docnum])
                seen.add(stored["item_id"])
                count += 1
    except Exception as exc:
        raise IndexCorrupt(f"{path}: {type(exc).__name__}: {exc}") from exc
    finally:
        ix.close()
    if len(seen) != count:
        raise IndexCorrupt(f"{path}: {count} documents but {len(seen)} distinct item ids")
    return count


def _create(path: Path) -> FileIndex:
    path.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(path), make_schema())
    _write_marker(path)
    _fsync_tree(path)
    return ix


def open_or_create(path: str | os.PathLike[str], *, lock_timeout: float = 60.0) -> tuple[FileIndex, bool]:
    """Open the index, creating an empty one if there is none.

    Returns ``(index, created)``. ``created`` True means the index was missing:
    the app should schedule a rebuild from the database, which may hold
    records. A corrupt index raises :class:`IndexCorrupt` and is left as it is
    for the app to rebuild (never silently emptied).
    """
    path = Path(path)
    try:
        return open_index(path), False
    except IndexMissing:
        pass
    # Several workers may start at once: only one creates.
    with exclusive_rebuild(path, lock_timeout) as locked:
        if not locked:
            raise IndexBusy(f"{path}: a rebuild holds the index lock")
        try:
            return open_index(path), False
        except IndexMissing:
            return _create(path), True


def wait_for_rebuild(path: str | os.PathLike[str], timeout: float | None = 600.0) -> bool:
    """Wait until no rebuild (another process's, after :class:`IndexBusy`) holds the index.

    A rebuild holds the intent lock from before it takes the rebuild lock
    until after the swap, so once a shared hold of it is had, the rebuild
    that was running is over. False if it still runs after ``timeout``.
    """
    with FileLock(rebuild_intent_path(Path(path).absolute())) as intent:
        return intent.acquire(shared=True, timeout=timeout)


def rebuild(
    path: str | os.PathLike[str],
    docs: Iterable[dict[str, Any]],
    progress: Progress | None = None,
    *,
    procs: int = 1,
    multisegment: bool = False,
    limitmb: int = 128,
    lock_timeout: float | None = 600.0,
) -> int:
    """Build a fresh index from ``docs`` beside ``path``, then swap it in.

    Invalid documents are logged and skipped (one bad row must not stop the
    rebuild); a repeated item id keeps its first document. ``progress`` is
    called with the number of documents added so far, every 1000 and at the
    end. ``procs``/``multisegment`` are whoosh's multiprocess writer options
    (see docs/search.md for what they buy on 2 cores). Returns the count.
    """
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_rebuild(path, lock_timeout) as locked:
        if not locked:
            raise IndexBusy(f"{path}: another rebuild is running")
        tmp = Path(tempfile.mkdtemp(prefix=".index-build-", dir=path.parent))
        try:
            ix = whoosh_index.create_in(str(tmp), make_schema())
            _write_marker(tmp)
            kwargs: dict[str, Any] = {"limitmb": limitmb}
            if procs > 1:
                kwargs.update(procs=procs, multisegment=multisegment)
            writer = ix.writer(**kwargs)
            count, seen = 0, set()
            try:
                for raw in docs:
                    try:
                        doc = validate(raw)
                    except InvalidDocument as exc:
                        log.error("search rebuild: skipping %s", exc)
                        continue
                    if doc["item_id"] in seen:
                        log.error("search rebuild: item %r repeated, kept the first", doc["item_id"])
                        continue
                    seen.add(doc["item_id"])
                    writer.add_document(**to_fields(doc))
                    count += 1
                    if progress and count % 1000 == 0:
                        progress(count)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            ix.close()
            _fsync_tree(tmp)
            _swap(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress(count)
    return count


def apply(
    path: str | os.PathLike[str],
    upserts: Iterable[dict[str, Any]],
    deletes: Iterable[str],
    *,
    timeout: float = 10.0,
) -> None:
    """Upsert and delete documents by item id in one whoosh commit.

    Idempotent: applying the same batch twice leaves the same index
    (``update_document`` replaces by the unique ``item_id``). An item in both
    lists ends up upserted. Everything is validated before the writer is
    opened, so an invalid document changes nothing. Raises
    :class:`IndexBusy` if whoosh's write lock is not had within ``timeout``
    (it only waits in the rare case that another process writes).
    """
    latest: dict[str, dict[str, Any]] = {}
    for raw in upserts:
        doc = validate(raw)
        latest[doc["item_id"]] = doc  # the last version of an item wins
    fields = [to_fields(doc) for doc in latest.values()]
    removed = [i for i in dict.fromkeys(deletes) if i not in latest]
    if not fields and not removed:
        return
    ix = open_index(path)
    try:
        try:
            writer = ix.writer(timeout=timeout)
        except LockError as exc:
            raise IndexBusy(f"{path}: whoosh write lock not had in {timeout} s") from exc
        started = time.time()
        try:
            for item_id in removed:
                writer.delete_by_term("item_id", item_id)
            for f in fields:
                writer.update_document(**f)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        _fsync_tree(Path(path), since=started - 2.0)
    finally:
        ix.close()


def _fsync_tree(path: Path, since: float | None = None) -> None:
    """fsync the files written (since ``since``) and the folder itself.

    whoosh writes but never fsyncs; the outbox rows are deleted right after
    this returns, so the index must survive a power cut from then on.
    """
    for entry in os.scandir(path):
        if entry.is_file() and (since is None or entry.stat().st_mtime >= since):
            with contextlib.suppress(FileNotFoundError):  # merged away meanwhile
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    fsync_dir(path)




_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux renameat2(RENAME_EXCHANGE)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def _swap(new: Path, path: Path) -> None:
    """Put the folder ``new`` at ``path``; the old index ends up at ``new``.

    With renameat2 the swap is atomic: a reader sees the old index or the new
    one, never none. Elsewhere two renames leave a moment without an index,
    which a searcher reports as :class:`IndexMissing` (a 503, then a retry).
    """
    if path.exists():
        if not _exchange(new, path):
            old = path.with_name(f".index-old-{uuid.uuid4().hex}")
            os.rename(path, old)
            os.rename(new, path)
            os.rename(old, new)  # so the caller's cleanup removes the old index
    else:
        os.rename(new, path)
    fsync_dir(path.parent)
