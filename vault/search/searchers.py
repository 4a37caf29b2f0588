"""Keep one whoosh searcher open per index, thread and process.

Opening an index (reading and unpickling its table of contents, opening
every segment) costs milliseconds; a search on an open searcher costs less.
So searchers are cached and only replaced when the index has changed: a new
commit (whoosh generation) or a new folder swapped in by a rebuild (the
folder's inode changes; the generation alone could repeat).

Asking whoosh for the latest generation lists the folder; every commit
creates files in it, so an unchanged folder mtime answers the same question
with the ``stat`` already needed for the inode — but only once that mtime
is over a second old, so a commit within the file system's timestamp
granularity of the last check cannot go unseen.

whoosh searchers are not safe to share between threads, and file handles
must not be shared across fork, hence per-thread, per-pid entries.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from whoosh.index import FileIndex
from whoosh.searching import Searcher

from vault.search.errors import IndexCorrupt, IndexMissing
from vault.search.index import open_index


@dataclass
class _Entry:
    pid: int
    inode: tuple[int, int]
    index: FileIndex
    searcher: Searcher
    settled_mtime: int | None = None  # folder mtime at the last check, if over a second old


_local = threading.local()
_OPEN_ATTEMPTS = 3


def _cache() -> dict[str, _Entry]:
    cache: dict[str, _Entry] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    return cache


_SETTLE_NS = 1_000_000_000


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise IndexMissing(f"no search index at {path}") from None


def _settled(st: os.stat_result) -> int | None:
    return st.st_mtime_ns if time.time_ns() - st.st_mtime_ns > _SETTLE_NS else None


def get_searcher(path: str | os.PathLike[str]) -> Searcher:
    """An up-to-date searcher on the index at ``path`` (do not close it)."""
    path = Path(path).absolute()
    key = str(path)
    cache = _cache()
    st = _stat(path)  # before the checks below: a change after it shows next time
    inode = (st.st_dev, st.st_ino)
    entry = cache.get(key)
    if entry is not None and entry.pid == os.getpid() and entry.inode == inode:
        if entry.settled_mtime is not None and entry.settled_mtime == st.st_mtime_ns:
            return entry.searcher
        try:
            entry.settled_mtime = _settled(st)
            if entry.searcher.up_to_date():
                return entry.searcher
            # Not Searcher.refresh(): when it re-uses segment readers it keeps
            # their old deletion lists, so a deleted or replaced document is
            # still found (whoosh-reloaded 2.7.5 and whoosh3 3.54; see
            # docs/search.md). A fresh searcher reads the new table of contents.
            fresh = entry.index.searcher()
            with contextlib.suppress(Exception):
                entry.searcher.close()
            entry.searcher = fresh
            return fresh
        except Exception:  # noqa: S110 - files swapped or merged away: reopen below
            pass
    if entry is not None:
        cache.pop(key, None)
        if entry.pid == os.getpid():
            with contextlib.suppress(Exception):
                entry.searcher.close()
    # A commit in another process can merge away a segment between reading
    # the table of contents and opening its files: retry before calling the
    # index corrupt.
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            ix = open_index(path)
            searcher = ix.searcher()
            break
        except IndexCorrupt:
            if attempt == _OPEN_ATTEMPTS - 1:
                raise
        except Exception as exc:
            if attempt == _OPEN_ATTEMPTS - 1:
                raise IndexCorrupt(f"{path}: {type(exc).__name__}: {exc}") from exc
        time.sleep(0.05 * (attempt + 1))
    cache[key] = _Entry(os.getpid(), inode, ix, searcher, _settled(st))
    return searcher


def forget(path: str | os.PathLike[str] | None = None) -> None:
    """Close this thread's cached searcher(s): all, or the one for ``path``."""
    cache = _cache()
    keys = list(cache) if path is None else [str(Path(path).absolute())]
    for key in keys:
        entry = cache.pop(key, None)
        if entry is not None and entry.pid == os.getpid():
            with contextlib.suppress(Exception):
                entry.searcher.close()
