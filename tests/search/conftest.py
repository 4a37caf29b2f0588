"""Shared helpers: a metadata document factory and a fresh index per test."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from vault.search import rebuild
from vault.search.searchers import forget

_ids = itertools.count(1)


def make_doc(**overrides: Any) -> dict[str, Any]:
    """A valid document; every key can be overridden."""
    n = next(_ids)
    doc: dict[str, Any] = {
        "item_id": f"item-{n}",
        "case_id": "case-A",
        "case_reference": "",
        "case_title": "",
        "title": "",
        "place": "",
        "incident_date_from": None,
        "incident_date_to": None,
        "region": None,
        "detention_place_type": None,
        "violations": [],
        "methods": [],
        "evidence_type": "statement",
        "tags": [],
        "language": None,
        "uploader_role": "lawyer",
        "uploaded_at": f"2024-03-{1 + n % 28:02d}T10:00:00Z",
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def index_path(tmp_path: Path):
    path = tmp_path / "data" / "index"
    yield path
    forget()  # close this thread's cached searchers before tmp_path goes


@pytest.fixture
def build(index_path: Path):
    """build(docs) -> index path: a fresh index holding exactly these docs."""

    def _build(docs: list[dict[str, Any]]) -> Path:
        rebuild(index_path, docs)
        return index_path

    return _build


def ids(result: dict[str, Any]) -> set[str]:
    return {h["item_id"] for h in result["hits"]}


@pytest.fixture(params=["candidates", "whoosh"])
def both_engines(request, monkeypatch):
    """Run a test against the candidate engine and against whoosh's filter= path."""
    from vault.search.query import search

    monkeypatch.setitem(search.__kwdefaults__, "engine", request.param)
    return request.param
