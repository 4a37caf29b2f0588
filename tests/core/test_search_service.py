"""Search as the app serves it: outbox, indexer thread, API, CLI, many workers."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from tests.conftest import Gunicorn, lawyer_with_case, wait_until
from tests.core.cli_helpers import Cli
from vault.client.transfer import upload_file


def _search(sess, q="", **filters):
    return sess.http.post("/search", {"q": q, "filters": filters, "per_page": 100})


def _total(sess, q: str) -> int:
    """The hit count, or -1 while the index answers 503 (being rebuilt)."""
    from vault.client.http import ApiFailure

    try:
        return _search(sess, q)["total"]
    except ApiFailure as exc:
        if exc.status == 503:
            return -1
        raise


@pytest.fixture
def indexer(app):
    """The indexer thread, as each gunicorn worker starts it (off by default in in-process tests)."""
    from vault.services import indexing

    v = app.extensions["vault"]
    stop = indexing.start(v.db, v.config.index_dir)
    yield
    stop.set()


def test_search_finds_word_forms_only_in_own_cases(people, indexer, tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(os.urandom(100))
    upload_file(people.lawyer, people.case_id, f, {
        "title": "Кыйноолор тууралуу арыз", "evidence_type": "statement", "region": "jalal_abad",
        "place": "ИВС Жалал-Абад", "violations": ["torture"], "incident_date_from": "2026-03-01"})
    other = people.outsider.create_case("KG-OTHER-1", "Other organisation's case")
    upload_file(people.outsider, other["id"], f, {"title": "Кыйноо фактысы", "evidence_type": "photo"})
    wait_until(lambda: _search(people.lawyer, "кыйноо")["total"] == 1, "the lawyer's item to be indexed")
    wait_until(lambda: _search(people.outsider, "кыйноо")["total"] == 1, "the outsider's item to be indexed")
    hit = _search(people.lawyer, "кыйноо")["hits"][0]
    assert hit["case_id"] == people.case_id
    assert _search(people.lawyer, "Jalal-Abad")["total"] == 1  # transliteration
    assert _search(people.lawyer, "", region="jalal_abad")["total"] == 1
    assert _search(people.lawyer, "", region="osh")["total"] == 0
    res = _search(people.medic, "кыйноо")
    assert res["total"] == 1 and all(h["case_id"] == people.case_id for h in res["hits"])
    assert res["facets"]["case_id"] == {people.case_id: 1}  # no count of the other case leaks
    # An admin is not a reader.
    with pytest.raises(Exception) as exc:
        _search(people.admin, "кыйноо")
    assert getattr(exc.value, "status", None) == 404


def test_bad_search_input_is_400(people):
    from vault.client.http import ApiFailure

    for body in ({"q": "x" * 501}, {"q": "a", "filters": {"region": 5}}, {"q": "a", "sort": "size"},
                 {"q": "a", "page": 0}, {"q": "a", "unknown": 1}):
        with pytest.raises(ApiFailure) as exc:
            people.lawyer.http.post("/search", body)
        assert 400 <= exc.value.status < 500


@pytest.mark.slow
def test_many_workers_one_writer_nothing_lost(env, tmp_path):
    """4 gunicorn workers, 8 clients uploading 200 items at once: all searchable, no lock error."""
    srv = Gunicorn(env, workers=4)
    try:
        lawyer, case_id = lawyer_with_case(srv.url, env, tmp_path, "KG-LOAD-1", "Load test")
        f = tmp_path / "small.bin"
        f.write_bytes(os.urandom(2000))
        errors: list[BaseException] = []

        def client(n: int):
            try:
                from vault.client.session import ClientSession

                sess = ClientSession(lawyer.http.__class__(srv.url, lawyer.http.token), lawyer.username,
                                     lawyer.me, lawyer.keys, lawyer.home)
                for i in range(25):
                    upload_file(sess, case_id, f, {"title": f"batch{n} record{i} пытки", "evidence_type": "document",
                                                   "tags": [f"client{n}"]})
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        wait_until(lambda: _search(lawyer, "пытка")["total"] == 200, "all 200 items to be searchable", 180)
        for n in range(8):
            assert _search(lawyer, f"client{n}")["total"] == 25
        cli = Cli(srv.url, lawyer.home, "aigul", "lawyer-password-1")
        assert cli.json("search", "пыткам", "--per-page", "5")["total"] == 200
    finally:
        srv.stop()
    logs = "".join(p.read_text(errors="replace") for p in (env.data_dir / "logs").glob("*.log"))
    assert "LockError" not in logs and "locked" not in logs.lower()
    assert "unhandled" not in logs


def test_worker_waits_for_another_workers_rebuild_before_warming(env, monkeypatch, caplog):
    """Found by bench/load: at start one worker rebuilt the missing index, another
    got IndexBusy and warmed at once, found no index yet and logged a traceback."""
    from vault import search
    from vault.db.engine import Database
    from vault.services import indexing

    path = env.config.index_dir
    shutil.rmtree(path, ignore_errors=True)
    real_rebuild, busy, let_go = search.rebuild, threading.Event(), threading.Event()

    def slow_docs():  # the first worker's rebuild, held open until the second has given up on its own
        let_go.wait(60)
        yield from ()

    def spy(*args, **kwargs):
        try:
            return real_rebuild(*args, **kwargs)
        except search.IndexBusy:
            busy.set()
            raise

    first = threading.Thread(target=real_rebuild, args=(path, slow_docs()))
    first.start()
    wait_until(lambda: (path.parent / "index.rebuild.lock").exists(), "the first worker's rebuild to start")
    monkeypatch.setattr(search, "rebuild", spy)
    db, stop = Database(env.config.db_url), threading.Event()
    second = threading.Thread(target=indexing._start_worker_side, args=(db, path, stop))
    try:
        second.start()
        wait_until(busy.is_set, "the second worker to find the rebuild running")
        second.join(1.0)
        assert second.is_alive()  # waiting for the rebuild, not warming an index that is not there
        let_go.set()
        first.join(60)
        second.join(60)
        assert not second.is_alive()
    finally:
        let_go.set()
        stop.set()
        db.dispose()
    assert search.status(path) == "ok"
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


@pytest.mark.slow
def test_deleted_index_is_rebuilt_at_start(env, tmp_path):
    srv = Gunicorn(env, workers=2)
    try:
        lawyer, case_id = lawyer_with_case(srv.url, env, tmp_path, "KG-IDX-1", "Index test")
        f = tmp_path / "small.bin"
        f.write_bytes(b"x")
        upload_file(lawyer, case_id, f, {"title": "Beating at the Bishkek police", "evidence_type": "photo"})
        wait_until(lambda: _search(lawyer, "beatings")["total"] == 1, "indexing")
    finally:
        srv.stop()
    shutil.rmtree(env.data_dir / "index")
    srv = Gunicorn(env, workers=2)
    try:
        lawyer.http.url = srv.url  # same account and token, new server process
        wait_until(lambda: _total(lawyer, "beating") == 1, "the rebuilt index")
    finally:
        srv.stop()
    # And the command rebuilds on demand.
    cli = Cli("http://unused", tmp_path / "l", "aigul", "x", env.data_dir)
    assert cli.json("server", "reindex")["indexed"] == 1


def test_only_the_latest_case_record_is_searched_after_saves_and_a_rebuild(people, indexer, app, tmp_path):
    """Saves in one second: the newest that no other supersedes is current, in the index and after reindex."""
    from vault import search
    from vault.services import indexing

    f = tmp_path / "case-record.json"
    f.write_text("{}", encoding="utf-8")
    meta = {"title": "Structured case record", "evidence_type": "case_record"}
    first = upload_file(people.lawyer, people.case_id, f, meta)["item_id"]
    second = upload_file(people.lawyer, people.case_id, f, {**meta, "supersedes": first})["item_id"]
    third = upload_file(people.lawyer, people.case_id, f, {**meta, "supersedes": second})["item_id"]
    records = lambda **kw: sorted(h["item_id"] for h in _search(people.lawyer, "", evidence_type="case_record", **kw)["hits"])  # noqa: E731
    wait_until(lambda: records() == [third] and len(records(include_superseded=True)) == 3, "the index to catch up")
    v = app.extensions["vault"]
    with v.db.session() as s:
        assert indexing.latest_records(s, {people.case_id}) == {people.case_id: third}
    docs = {d["item_id"]: d for d in indexing.all_documents(v.db)}
    assert [docs[i]["superseded"] for i in (first, second, third)] == [True, True, False]
    # A record may only supersede a case record of its own case.
    from vault.client.http import ApiFailure

    other = people.lawyer.create_case("KG-SUPERSEDE-2", "Another case")
    with pytest.raises(ApiFailure) as exc:
        upload_file(people.lawyer, other["id"], f, {**meta, "supersedes": third})
    assert exc.value.status == 422
    assert search.status(v.config.index_dir) == "ok"
