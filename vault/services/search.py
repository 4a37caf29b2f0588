"""Metadata search on behalf of a user: only over the cases they are a member of.

The search engine (vault/search) is told which cases the user may read;
what it refuses becomes a `Refused` the interfaces show as usual.
"""

from __future__ import annotations

from typing import Any

from vault import search as vs
from vault.db.models import User
from vault.services.access import member_case_ids
from vault.services.errors import Refused
from vault.services.vault import Vault


def search_cases(v: Vault, user: User, *, q: str, filters: dict[str, Any], sort: str, page: int, per_page: int,
                 facets: bool) -> dict:
    """One page of hits (with facets if asked) over the searchable metadata of the user's cases."""
    with v.db.session() as s:
        allowed = member_case_ids(s, user)
    try:
        return vs.search(str(v.config.index_dir), q, allowed_case_ids=allowed, filters=filters,
                         sort=sort, page=page, per_page=per_page, facets=facets)
    except vs.SearchQueryError as exc:
        raise Refused(400, "bad_query", f"{exc} Simplify the search and try again.") from exc
    except vs.IndexUnavailable as exc:
        raise Refused(503, "index_rebuilding", "The search index is being rebuilt. Try again in a minute.") from exc
    except vs.SearchError as exc:
        raise Refused(400, "bad_query", str(exc)) from exc
