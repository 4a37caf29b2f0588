"""Fuzzing fixtures: Hypothesis profiles, one vault per module with real people in it, a log watch.

Profiles (HYPOTHESIS_PROFILE=name; "ci" unless set):
  ci    what the suite runs: 60 examples per test (a third of that for the stateful
        and backup tests, a twentieth per operation against gunicorn), derandomized
        so a run is the same run every time, no example database, no deadline (the
        machine is shared and slow: work is bounded by counts, never by time)
  long  what bench/fuzz/run.py runs: VAULT_FUZZ_EXAMPLES examples per test (500
        unless set), random, and the example database under bench/fuzz/.hypothesis
        so that a failure found once is tried first the next time

The vault of a module is made once (SQLite, and PostgreSQL when
VAULT_TEST_POSTGRES_URL is set): an admin, a lawyer with a case, a medic in
it, an outsider lawyer, one finished item and a few open uploads, so
generated requests reach the code behind the membership checks, not only
the 404 in front of it.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.conftest import POSTGRES_URL, LiveServer, make_env, make_people

# Hypothesis keeps caches (and the "long" profile its example database) in its home folder: here,
# where bench/fuzz/.gitignore keeps them out of git, not in a .hypothesis/ at the top of the checkout.
HYPOTHESIS_HOME = Path(__file__).resolve().parents[2] / "bench" / "fuzz" / ".hypothesis"
set_hypothesis_home_dir(str(HYPOTHESIS_HOME))
_LENIENT = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=60, deadline=None, database=None, derandomize=True,
                          print_blob=True, suppress_health_check=_LENIENT)
settings.register_profile(
    "long", max_examples=int(os.environ.get("VAULT_FUZZ_EXAMPLES", "500")), deadline=None, print_blob=True,
    database=DirectoryBasedExampleDatabase(str(HYPOTHESIS_HOME / "examples")),
    suppress_health_check=_LENIENT)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


class LogWatch(logging.Handler):
    """Every record at ERROR or above that the app logs (the 500 handler logs one per unhandled exception)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        out = [r.getMessage() for r in self.records]
        self.records.clear()
        return out


@dataclass
class FuzzVault:
    app: object
    env: object
    tokens: dict[str, str]  # role -> bearer token
    known: dict[str, list[str]] = field(default_factory=dict)  # path parameter -> real values
    log: LogWatch = field(default_factory=LogWatch)
    lawyer: object = None  # the lawyer's ClientSession, keys open (signs case key commitments)
    recovery_public: bytes = b""

    def case_key_commitment(self, case_id: str) -> dict:
        """A first key version for a new case `case_id`, signed by the lawyer, as the client makes it."""
        from vault import crypto

        keys = self.lawyer.keys
        case_key = crypto.random_key()
        check = crypto.case_key_check(case_key)
        sig = keys.sign(crypto.case_key_message(case_id, 1, check))
        return {"version": 1, "check": check, "signature": crypto.b64e(sig), "sealed": {
            "recovery": crypto.b64e(crypto.seal(self.recovery_public, case_key)),
            f"user:{self.lawyer.me['id']}": crypto.b64e(crypto.seal(keys.box_public, case_key))}}

    def fresh_token(self, role: str) -> str:
        """A new session of the role's user (for the calls that end the session they use)."""
        from vault.db.models import User
        from vault.services import tokens

        v = self.app.extensions["vault"]
        name = {"admin": "admin", "lawyer": "aigul", "medic": "bakyt"}[role]
        with v.db.session() as s:
            user = s.query(User).filter_by(username=name).one()
            token, _ = tokens.issue_session(s, v.config, user)
            s.commit()
        return token


def _backends() -> list:
    return [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgres", id="postgres", marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="VAULT_TEST_POSTGRES_URL is not set"))]


@pytest.fixture(scope="module", params=_backends())
def fuzz_db_url(request) -> Iterator[str]:
    if request.param == "sqlite":
        yield ""
        return
    import psycopg

    name = "vault_fuzz_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(url: str, env, root: Path) -> tuple[dict, dict, object]:
    """People, a case, an item and open uploads on the server at `url`: (role tokens, known path values, people)."""
    from tests.core import manual_upload

    def home(name: str) -> Path:
        p = root / "clients" / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    people = make_people(url, env, home)
    case_id = people.case_id
    item = manual_upload.start(people.lawyer, case_id, b"fuzz evidence " * 100)
    item.put(0, len(item.ciphertext))
    item_id = item.finish()["item_id"]
    uploads = []
    for n in range(4):  # open, some half written: status, chunk and cancel have something to act on
        m = manual_upload.start(people.lawyer if n % 2 else people.medic, case_id, os.urandom(3000 + n))
        if n % 2:
            m.put(0, 1000)
        uploads.append(m.upload_id)
    tokens = {"lawyer": people.lawyer.http.token, "medic": people.medic.http.token,
              "admin": people.admin.http.token}
    known = {
        "case_id": [case_id], "item_id": [item_id], "upload_id": uploads,
        # Only the outsider may be disabled, re-enabled or re-keyed by the fuzzer: the roles' tokens must live.
        "user_id": [people.outsider.me["id"]], "username": ["aigul", "bakyt", "outsider", "admin"],
        "name": ["omct", "un", "ombudsman"],
    }
    people.lawyer.recovery_public()  # pinned now, while the server is up
    return tokens, known, people


@pytest.fixture(scope="module")
def fuzz_vault(tmp_path_factory, fuzz_db_url) -> Iterator[FuzzVault]:
    from vault.app import create_app

    root = tmp_path_factory.mktemp("fuzz")
    env = make_env(root, fuzz_db_url)
    app = create_app(env.config)
    live = LiveServer(app)
    try:
        tokens, known, people = populate(live.url, env, root)
        recovery_public = people.lawyer.recovery_public()
    finally:
        live.stop()
    from vault.services import indexing

    v = app.extensions["vault"]
    indexing.reindex(v.db, v.config.index_dir)  # search answers from the index (no indexer thread here)
    fv = FuzzVault(app, env, tokens, known, lawyer=people.lawyer, recovery_public=recovery_public)
    app.logger.addHandler(fv.log)
    yield fv
    app.logger.removeHandler(fv.log)
    app.extensions["vault"].db.dispose()
