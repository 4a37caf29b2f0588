"""The index on disk: validation, apply, missing/corrupt detection, rebuild."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.search.conftest import ids, make_doc
from vault.search import (
    IndexBusy,
    IndexCorrupt,
    IndexMissing,
    InvalidDocument,
    apply,
    open_index,
    open_or_create,
    rebuild,
    search,
    status,
    verify,
)
from vault.search.index import MARKER
from vault.search.searchers import forget

A = ["case-A"]


@pytest.mark.parametrize(("change", "message"), [
    ({"colour": "red"}, "unknown keys"),
    ({"item_id": None}, "item_id"),
    ({"violations": "torture"}, "violations"),
    ({"violations": ["Torture!"]}, "non-code"),
    ({"region": "Chui Region"}, "not a code"),
    ({"incident_date_from": "2023-13-01"}, "YYYY-MM-DD"),
    ({"incident_date_from": "2023-05-02", "incident_date_to": "2023-05-01"}, "after"),
    ({"language": "de"}, "language"),
    ({"uploader_role": "admin"}, "uploader_role"),
    ({"uploaded_at": "yesterday"}, "ISO-8601"),
    ({"title": 5}, "title"),
])
def test_invalid_documents_are_refused(index_path: Path, change: dict, message: str) -> None:
    open_or_create(index_path)
    with pytest.raises(InvalidDocument, match=message):
        apply(index_path, [make_doc(**change)], [])
    assert verify(index_path) == 0  # nothing half-applied


def test_missing_keys_and_non_dicts() -> None:
    from vault.search.documents import validate

    doc = make_doc()
    del doc["case_id"]
    with pytest.raises(InvalidDocument, match="missing"):
        validate(doc)
    with pytest.raises(InvalidDocument):
        validate(["not", "a", "dict"])
    required = ("item_id", "case_id", "evidence_type", "uploader_role", "uploaded_at")
    partial = {k: make_doc()[k] for k in required}
    assert validate(partial)["violations"] == []  # optional keys may be absent


def test_apply_is_idempotent_and_upserts_by_item_id(index_path: Path) -> None:
    open_or_create(index_path)
    doc = make_doc(item_id="x", title="Пытки в ИВС")
    for _ in range(3):
        apply(index_path, [doc], [])
    assert verify(index_path) == 1
    apply(index_path, [dict(doc, title="Избиение")], [])
    assert ids(search(str(index_path), "избиение", allowed_case_ids=A)) == {"x"}
    assert search(str(index_path), "пытки", allowed_case_ids=A)["total"] == 0
    apply(index_path, [], ["x", "never-existed"])
    apply(index_path, [], ["x"])
    assert verify(index_path) == 0


def test_apply_batch_last_version_wins_and_upsert_beats_delete(index_path: Path) -> None:
    open_or_create(index_path)
    apply(index_path, [make_doc(item_id="x", title="первый"), make_doc(item_id="x", title="второй")], ["x"])
    assert verify(index_path) == 1
    assert ids(search(str(index_path), "второй", allowed_case_ids=A)) == {"x"}


def test_missing_index_is_detected_and_created(index_path: Path) -> None:
    assert status(index_path) == "missing"
    with pytest.raises(IndexMissing):
        open_index(index_path)
    with pytest.raises(IndexMissing):
        search(str(index_path), "пытки", allowed_case_ids=A)
    ix, created = open_or_create(index_path)
    assert created is True
    ix.close()
    _, created = open_or_create(index_path)
    assert created is False and status(index_path) == "ok"


def _corrupt_toc(path: Path) -> None:
    for f in path.glob("*.toc"):
        f.write_bytes(b"garbage")


def _delete_segments(path: Path) -> None:
    for f in path.glob("*.seg"):
        f.unlink()


def _wrong_version(path: Path) -> None:
    (path / MARKER).write_text(json.dumps({"schema_version": -1}))


def _previous_version(path: Path) -> None:
    """An index of the release before: other analysis, ``doc`` a stored field."""
    from vault.search.documents import SCHEMA_VERSION

    marker = json.loads((path / MARKER).read_text())
    (path / MARKER).write_text(json.dumps({**marker, "schema_version": SCHEMA_VERSION - 1}))


def _no_marker(path: Path) -> None:
    (path / MARKER).unlink()


def _truncate_segments(path: Path) -> None:
    for f in path.glob("*.seg"):
        f.write_bytes(f.read_bytes()[:10])


@pytest.mark.parametrize("damage", [_corrupt_toc, _delete_segments, _wrong_version, _previous_version,
                                    _no_marker, _truncate_segments])
def test_corrupt_index_is_detected_and_rebuilt(build, damage) -> None:
    docs = [make_doc(item_id=f"d{i}", title="Пытки") for i in range(5)]
    path = build(docs)
    assert status(path) == "ok"
    forget()
    damage(path)
    assert status(path) == "corrupt"
    with pytest.raises(IndexCorrupt):
        open_or_create(path)  # never silently replaced by an empty index
    with pytest.raises(IndexCorrupt):
        search(str(path), "пытки", allowed_case_ids=A)
    assert rebuild(path, docs) == 5
    assert status(path) == "ok"
    assert search(str(path), "пытки", allowed_case_ids=A)["total"] == 5


def test_rebuild_swaps_atomically_and_cleans_up(build, index_path: Path) -> None:
    path = build([make_doc(item_id="old", title="Старый")])
    assert ids(search(str(path), "старый", allowed_case_ids=A)) == {"old"}
    seen = []
    new_docs = (make_doc(item_id=f"n{i}", title="Новый") for i in range(2500))
    count = rebuild(path, new_docs, progress=seen.append)
    assert count == 2500 and seen == [1000, 2000, 2500]
    # The cached searcher notices the new folder.
    assert search(str(path), "старый", allowed_case_ids=A)["total"] == 0
    assert search(str(path), "новый", allowed_case_ids=A)["total"] == 2500
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".index")]
    assert leftovers == []


def test_rebuild_skips_invalid_and_repeated_documents(index_path: Path) -> None:
    docs = [make_doc(item_id="ok"), make_doc(item_id="bad", region="Not A Code"), make_doc(item_id="ok")]
    assert rebuild(index_path, docs) == 1
    assert verify(index_path) == 1


def test_rebuild_failure_keeps_the_old_index(build) -> None:
    path = build([make_doc(item_id="keep", title="Сохранить")])

    def exploding():
        yield make_doc(item_id="new")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        rebuild(path, exploding())
    assert ids(search(str(path), "сохранить", allowed_case_ids=A)) == {"keep"}
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".index")] == []


def test_writer_lock_held_elsewhere_is_a_named_error(index_path: Path) -> None:
    ix, _ = open_or_create(index_path)
    writer = ix.writer()  # another writer holds whoosh's lock
    try:
        with pytest.raises(IndexBusy):
            apply(index_path, [make_doc()], [], timeout=0.2)
    finally:
        writer.cancel()
    apply(index_path, [make_doc()], [], timeout=0.2)


def test_index_files_are_private_to_the_data_folder(index_path: Path) -> None:
    open_or_create(index_path)
    assert os.path.isdir(index_path)
    assert (index_path.parent / "index.rebuild.lock").exists()


def test_search_on_a_new_empty_index(index_path: Path) -> None:
    from vault.search import warm

    open_or_create(index_path)
    for engine in ("candidates", "whoosh"):
        r = search(str(index_path), "пытки", allowed_case_ids=A, engine=engine)
        assert r["total"] == 0 and r["hits"] == [] and r["facets"]["region"] == {}
    assert warm(str(index_path)) == 0
