"""Metadata search, only over the caller's cases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, g, jsonify
from pydantic import Field, StringConstraints

from vault import search as vs
from vault.api.errors import ApiError
from vault.api.openapi import doc
from vault.api.schemas import Strict
from vault.api.security import access
from vault.api.validation import json_body
from vault.services.access import member_case_ids

bp = Blueprint("search", __name__, url_prefix="/api/v1")


class SearchIn(Strict):
    q: Annotated[str, StringConstraints(max_length=500)] = ""
    filters: dict[str, Any] = Field(default_factory=dict, max_length=20)
    sort: Literal["relevance", "date"] = "relevance"
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)
    facets: bool = True


@bp.post("/search")
@access("member")
@doc("Search the searchable metadata of your cases (Kyrgyz, Russian, English; word forms and both scripts). "
     "POST, so what you type never appears in a URL or an access log.", body=SearchIn)
def search():
    body = json_body(SearchIn)
    v = current_app.extensions["vault"]
    with v.db.session() as s:
        allowed = member_case_ids(s, g.user)
    try:
        out = vs.search(str(v.config.index_dir), body.q, allowed_case_ids=allowed, filters=body.filters,
                        sort=body.sort, page=body.page, per_page=body.per_page, facets=body.facets)
    except vs.SearchQueryError as exc:
        raise ApiError(400, "bad_query", f"{exc} Simplify the search and try again.") from exc
    except vs.IndexUnavailable as exc:
        raise ApiError(503, "index_rebuilding", "The search index is being rebuilt. Try again in a minute.") from exc
    except vs.SearchError as exc:
        raise ApiError(400, "bad_query", str(exc)) from exc
    return jsonify(out)
