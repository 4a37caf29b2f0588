"""Metadata search, only over the caller's cases (vault/services/search.py does the searching)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, g, jsonify
from pydantic import Field, StringConstraints

from vault.api.openapi import doc
from vault.api.schemas import Strict
from vault.api.security import access
from vault.api.validation import json_body
from vault.services.search import search_cases

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
     "POST, so what you type never appears in a URL or an access log. Case records that a later save "
     "superseded are left out unless filters.include_superseded is true.", body=SearchIn)
def search():
    body = json_body(SearchIn)
    return jsonify(search_cases(current_app.extensions["vault"], g.user, q=body.q, filters=body.filters,
                                sort=body.sort, page=body.page, per_page=body.per_page, facets=body.facets))
