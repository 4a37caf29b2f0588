"""Metadata search for the evidence vault (whoosh), in Kyrgyz, Russian and English.

What the app calls:

* :func:`search` — in request handlers (never writes); :func:`warm` once per
  worker at start, in a background thread;
* :func:`open_or_create`, :func:`status`, :func:`rebuild`, :func:`verify` —
  at start-up, in ``vault server reindex`` and ``fsck``;
* :class:`Indexer` — one per worker, ``run_in_background``; only the worker
  holding ``index.writer.lock`` drains the outbox into the index.

See docs/search.md.
"""

from vault.search.errors import (
    IndexBusy,
    IndexCorrupt,
    IndexMissing,
    IndexUnavailable,
    InvalidDocument,
    SearchError,
    SearchQueryError,
    SourceUnavailable,
)
from vault.search.index import apply, open_index, open_or_create, rebuild, status, verify, wait_for_rebuild
from vault.search.indexer import Indexer, OutboxSource
from vault.search.query import search, warm

__all__ = [
    "Indexer", "IndexBusy", "IndexCorrupt", "IndexMissing", "IndexUnavailable", "InvalidDocument",
    "OutboxSource", "SearchError", "SearchQueryError", "SourceUnavailable", "apply", "open_index", "open_or_create",
    "rebuild", "search", "status", "verify", "wait_for_rebuild", "warm",
]
