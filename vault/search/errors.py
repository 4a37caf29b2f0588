"""Named exceptions of the search subsystem, so callers can map them.

The API turns :class:`SearchQueryError` into a 400 and
:class:`IndexUnavailable` into a 503 (and schedules ``vault server reindex``).
"""

from __future__ import annotations


class SearchError(Exception):
    """Base class of every error raised by ``vault.search``."""


class SearchQueryError(SearchError, ValueError):
    """The query text, a filter, the sort or the paging is not acceptable."""


class InvalidDocument(SearchError, ValueError):
    """A metadata document does not have the shape the index expects."""


class IndexUnavailable(SearchError):
    """The index cannot be used as it is; rebuild it from the database."""


class IndexMissing(IndexUnavailable):
    """There is no index at the path (first start, or the folder was lost)."""


class IndexCorrupt(IndexUnavailable):
    """The index exists but cannot be read, or was built by another schema."""


class IndexBusy(SearchError):
    """The index writer lock could not be had in time (another writer holds it)."""


class SourceUnavailable(SearchError):
    """The outbox's database cannot be used right now (restarting, failing over, locked); try again later."""
