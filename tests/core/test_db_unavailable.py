"""A database that cannot be used right now answers 503 with Retry-After, and the client waits it out.

Real refusals, nothing mocked: a PostgreSQL URL on a port nobody listens on,
a real SQLite lock held by another connection, and (with PostgreSQL) a TCP
proxy between the server and the database that goes down in the middle of
an upload (tests/tcpproxy.py).
"""

from __future__ import annotations

import dataclasses
import logging
import runpy
import secrets
import sqlite3
import threading
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy import exc as sa_exc

from tests.conftest import POSTGRES_URL, REPO, LiveServer, free_port, lawyer_with_case, make_env, wait_until
from vault import crypto

WORKER_TIMEOUT_S = runpy.run_path(str(REPO / "config" / "gunicorn.conf.py"))["timeout"]
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="VAULT_TEST_POSTGRES_URL is not set")


def _closed_port_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/vault"  # nobody listens there: connect() is refused


def _no_tracebacks(caplog) -> None:
    for r in caplog.records:
        assert r.exc_info is None, f"a traceback was logged: {r.getMessage()}"
        assert "unhandled" not in r.getMessage()
        assert "refused" not in r.getMessage().lower(), "the driver's message (with the address) was logged"


def test_a_refused_database_connection_answers_503_with_retry_after(tmp_path, caplog):
    from vault.app import create_app

    env = make_env(tmp_path)
    app = create_app(dataclasses.replace(env.config, database_url=_closed_port_url()))
    client = app.test_client()
    caplog.set_level(logging.WARNING)

    answers = [
        client.get("/api/v1/health"),  # public, but it asks the database
        client.get("/api/v1/cases", headers={"Authorization": "Bearer " + secrets.token_urlsafe(32)}),
        client.post("/api/v1/auth/login", json={"username": "aigul", "auth_key": crypto.b64e(bytes(32))}),
    ]
    for resp in answers:
        assert resp.status_code == 503, resp.get_data(as_text=True)
        assert int(resp.headers["Retry-After"]) > 0
        err = resp.get_json()["error"]
        assert err["code"] == "database_unavailable"
        assert "Try again" in err["message"]
        assert int(err["retry_after"]) == int(resp.headers["Retry-After"])

    client.set_cookie("vault_session", secrets.token_urlsafe(32))
    page = client.get("/cases", headers={"Accept": "text/html", "Accept-Language": "ky"})
    assert page.status_code == 503
    assert int(page.headers["Retry-After"]) > 0
    assert "кайра" in page.get_data(as_text=True)  # "try again", in the page's language

    said = [r.getMessage() for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(said) == len(answers) + 1
    assert all("OperationalError" in m for m in said)
    _no_tracebacks(caplog)
    app.extensions["vault"].db.dispose()


def test_only_a_database_that_cannot_be_used_now_is_unavailable(tmp_path):
    """A lock or an exhausted pool is "try again"; a wrong query or a broken constraint stays a 500."""
    from vault.api.errors import database_unavailable

    path = tmp_path / "t.sqlite3"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    setup.execute("INSERT INTO t VALUES (1)")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0}, pool_size=1, max_overflow=0,
                           pool_timeout=0.01)

    def raised(sql: str) -> BaseException:
        with pytest.raises(sa_exc.SQLAlchemyError) as info, engine.begin() as conn:
            conn.exec_driver_sql(sql)
        return info.value

    setup.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    locked = raised("INSERT INTO t VALUES (2)")
    setup.execute("ROLLBACK")
    assert "locked" in str(locked) and database_unavailable(locked)
    assert not database_unavailable(raised("SELECT * FROM no_such_table"))
    assert not database_unavailable(raised("INSERT INTO t VALUES (1)"))  # IntegrityError
    assert not database_unavailable(ValueError("not a database error"))

    with engine.connect():  # the pool's only connection is taken
        with pytest.raises(sa_exc.TimeoutError) as info:
            engine.connect()
    assert database_unavailable(info.value)

    try:
        raise RuntimeError("wrapped") from locked
    except RuntimeError as wrapped:
        assert database_unavailable(wrapped)
    engine.dispose()
    setup.close()


def test_every_wait_for_the_database_ends_before_gunicorn_kills_the_worker(tmp_path):
    """Past the worker timeout the arbiter kills the worker: the client gets a broken connection, not a 503."""
    from vault.db.engine import make_engine

    lite = make_engine(f"sqlite:///{tmp_path / 'v.sqlite3'}")
    with lite.connect() as conn:
        busy_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    lite.dispose()
    assert busy_ms / 1000 < WORKER_TIMEOUT_S

    pg = make_engine(_closed_port_url())
    params: dict = {}
    event.listen(pg, "do_connect", lambda _dialect, _rec, _args, cparams: params.update(cparams))
    with pytest.raises(sa_exc.OperationalError):
        pg.connect()
    # A host that drops packets instead of refusing them hangs connect() for minutes unless told otherwise.
    assert 0 < float(params.get("connect_timeout", 0)) < WORKER_TIMEOUT_S
    assert pg.pool.timeout() < WORKER_TIMEOUT_S
    pg.dispose()


@pytest.fixture
def proxied_postgres():
    """A fresh PostgreSQL database reached through a proxy the test can take down: (url, proxy)."""
    from tests.tcpproxy import Proxy

    admin = urlsplit(POSTGRES_URL)
    proxy = Proxy(admin.port or 5432)
    name = "vault_test_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    user = admin.netloc.rsplit("@", 1)[0] + "@" if "@" in admin.netloc else ""
    yield f"{admin.scheme}://{user}127.0.0.1:{proxy.port}/{name}", proxy
    proxy.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@needs_postgres
def test_a_finish_cut_off_by_a_database_outage_is_retried_and_makes_one_item(tmp_path, proxied_postgres, caplog):
    from vault.app import create_app
    from vault.client.transfer import download_item, upload_file
    from vault.db.models import Item, Upload

    url, proxy = proxied_postgres
    env = make_env(tmp_path, url)
    app = create_app(env.config)
    refused: list[str] = []

    @app.after_request
    def _count(resp):
        from flask import request

        if resp.status_code == 503:
            refused.append(request.path)
        return resp

    live = LiveServer(app)
    caplog.set_level(logging.WARNING)
    try:
        lawyer, case_id = lawyer_with_case(live.url, env, tmp_path / "people", "KG-DB-001", "Outage")
        src = tmp_path / "statement.bin"
        src.write_bytes(secrets.token_bytes(3 * 1024 * 1024 + 17))
        total = crypto.stream_ciphertext_size(src.stat().st_size)
        sent = [0]

        def back_after_a_refusal():
            wait_until(lambda: refused, "the server to answer 503 while its database is down")
            proxy.come_up()

        def progress(n: int) -> None:
            sent[0] += n
            if sent[0] == total:  # every byte acknowledged: the database goes away before the finish
                proxy.go_down()
                threading.Thread(target=back_after_a_refusal, daemon=True).start()

        out = upload_file(lawyer, case_id, src, {"title": "Statement", "evidence_type": "statement"},
                          progress=progress)
        assert proxy.outages == 1
        assert refused and all(p.endswith("/finish") for p in refused), refused
        listed = lawyer.http.get(f"/cases/{case_id}/items")["items"]
        assert [i["id"] for i in listed] == [out["item_id"]]
        with app.extensions["vault"].db.session() as s:
            assert s.scalar(select(func.count()).select_from(Item)) == 1
            assert s.scalar(select(func.count()).select_from(Upload)) == 0
        path, _manifest = download_item(lawyer, out["item_id"], out=tmp_path / "back")
        assert path.read_bytes() == src.read_bytes()
        _no_tracebacks(caplog)
    finally:
        live.stop()
        app.extensions["vault"].db.dispose()


def test_the_indexer_waits_out_an_unavailable_database_with_one_line_and_no_traceback(tmp_path, caplog):
    # Found by the fault soak: during an outage the indexer logged a traceback
    # (with the driver's message naming the server) every half second.
    from vault import search
    from vault.db.engine import Database
    from vault.services.indexing import DbOutbox

    db = Database(_closed_port_url())
    try:
        with pytest.raises(search.SourceUnavailable) as err:
            DbOutbox(db).fetch(10)
        assert "127.0.0.1" not in str(err.value)
        search.open_or_create(tmp_path / "index")
        indexer = search.Indexer(tmp_path / "index", DbOutbox(db))
        with caplog.at_level(logging.WARNING, logger="vault.search.indexer"):
            assert indexer._step() == 0
        lines = [r for r in caplog.records if r.name == "vault.search.indexer"]
        assert lines and all(r.levelno == logging.WARNING and r.exc_info is None for r in lines)
        assert "database is unavailable" in lines[-1].getMessage()
    finally:
        db.dispose()
