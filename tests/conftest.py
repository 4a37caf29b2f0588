"""Shared fixtures: each test gets its own data folder, database and server.

TEST-ONLY: Argon2 runs with tiny parameters here (VAULT_INSECURE_TEST_KDF
and the cheap server settings below) so the suite finishes in minutes.
Production floors are enforced by vault.crypto.check_kdf_params.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ["VAULT_INSECURE_TEST_KDF"] = "1"  # TEST-ONLY cheap Argon2 (see module docstring)

from vault import crypto, ops
from vault.config import Config, load_config  # noqa: E402
from vault.domain import recovery_kit as recovery

REPO = Path(__file__).resolve().parents[1]
TEST_SETTINGS = {  # TEST-ONLY cheap work factors
    "client_kdf_ops": crypto.KDF_TEST_ONLY["ops"],
    "client_kdf_mem": crypto.KDF_TEST_ONLY["mem"],
    "auth_hash_ops": 1,
    "auth_hash_mem": 8192,
    "min_free_bytes": 0,
    # In-process apps start no search-indexer thread: it would outlive its
    # test (and its database). Tests of search start one explicitly, and the
    # gunicorn servers (configured by TEST_ENV) run it as in production.
    "indexer_thread": False,
}
TEST_ENV = {f"VAULT_{k.upper()}": str(v) for k, v in TEST_SETTINGS.items()
            if k != "indexer_thread"} | {"VAULT_INSECURE_TEST_KDF": "1"}
POSTGRES_URL = os.environ.get("VAULT_TEST_POSTGRES_URL", "")


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="VAULT_TEST_POSTGRES_URL is not set (CI sets it when PostgreSQL runs)")))
    return params


@pytest.fixture(params=_backends())
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty database of each backend: SQLite in the data folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield ""
        return
    import psycopg

    name = "vault_test_" + secrets.token_hex(6)
    admin_url = POSTGRES_URL
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Tests that touch stored blobs run against both stores: decorate them with
# @both_blob_stores (the SQLite/PostgreSQL split applies on top).
both_blob_stores = pytest.mark.parametrize("blob_store", ["folder", "s3"], indirect=True)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server for the whole session, or the real endpoint VAULT_TEST_S3_URL names (tests/s3server.py)."""
    from tests import s3server

    if s3server.REAL_URL:
        yield s3server.REAL_URL
        return
    srv = s3server.MotoS3()
    yield srv.url
    srv.stop()


@pytest.fixture
def s3_target(s3_endpoint, monkeypatch):
    """A fresh prefix in the test bucket; the AWS variables are set so subprocesses find it too."""
    from tests import s3server

    for k, v in s3server.credentials().items():
        monkeypatch.setenv(k, v)
    target = s3server.new_target(s3_endpoint)
    yield target
    target.empty()


@pytest.fixture
def blob_store(request) -> dict:
    """Settings for where blobs go: the data folder, unless a test is parametrised with "s3"."""
    if getattr(request, "param", "folder") == "folder":
        return {}
    return request.getfixturevalue("s3_target").settings


@dataclass
class Env:
    config: Config
    data_dir: Path
    kit: Path
    recovery_secret: bytes
    admin_invitation: str


def make_env(tmp_path: Path, database_url: str = "", **overrides) -> Env:
    data = tmp_path / "data"
    cfg = load_config(data, database_url=database_url, **{**TEST_SETTINGS, **overrides})
    pub, files = recovery.write_kit(tmp_path / "kit", "Test coalition")
    secret = recovery.load_kit(files[0])
    v = ops.init(cfg, pub, recovery.root_public(secret))
    v.db.dispose()
    return Env(cfg, cfg.data_dir, files[0], secret, root_invitation(v, secret, "admin"))


def root_invitation(v, kit_secret: bytes, role: str, reset_username: str | None = None) -> str:
    """An invitation code made on the server machine by the kit holder (as `vault server init` makes the first)."""
    from vault import crypto
    from vault.client.trust import Invitation

    inv = ops.invite(v, role, reset_username)
    root = recovery.root_public(kit_secret)
    fpr = crypto.org_fingerprint(crypto.box_public_from_secret(kit_secret), root)
    secret = crypto.invitation_secret(crypto.root_sign_seed(kit_secret), inv["id"], inv["role"])
    return Invitation(inv["invitation"], secret, fpr, fpr).code()


@pytest.fixture
def env(tmp_path, db_url, blob_store) -> Env:
    return make_env(tmp_path, db_url, **blob_store)


@pytest.fixture
def app(env):
    from vault.app import create_app

    application = create_app(env.config)
    yield application
    stop = application.extensions.get("vault_indexer_stop")
    if stop is not None:
        stop.set()
    application.extensions["vault"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app on a real HTTP socket in a thread (werkzeug), for client-library tests.

    It polls every 50 ms so that stopping it does not cost half a second per test.
    """

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join()


@pytest.fixture
def live(app) -> Iterator[LiveServer]:
    srv = LiveServer(app)
    yield srv
    srv.stop()


class Gunicorn:
    """The real server: gunicorn with sync workers, as `vault server run` starts it."""

    def __init__(self, env: Env, workers: int = 4, extra_env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        e = {**os.environ, **TEST_ENV, "VAULT_DATA": str(env.data_dir), **(extra_env or {})}
        if env.config.database_url:
            e["VAULT_DATABASE_URL"] = env.config.database_url
        self.log = env.data_dir / "logs" / "gunicorn-stdout.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(REPO / "config" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "vault.wsgi:app"],
            env=e, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.log.read_text(errors="replace")[-3000:])
            try:
                if requests.get(self.url + "/api/v1/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def gunicorn(env) -> Iterator[Gunicorn]:
    g = Gunicorn(env)
    yield g
    g.stop()


@pytest.fixture
def client_home(tmp_path):
    """Each simulated person keeps their client state in their own folder."""

    def make(name: str) -> Path:
        p = tmp_path / "clients" / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    return make


@dataclass
class People:
    admin: object
    lawyer: object
    medic: object
    outsider: object
    case_id: str


def person(url: str, home: Path, username: str, password: str, invitation: str):
    """Register and sign in a person whose client state lives in `home`."""
    from vault.client.session import ClientSession, register

    register(url, invitation, username, password, home=home)
    return ClientSession.login(url, username, password, home=home)


def certified_admin(url: str, env: Env, home: Path, username: str = "admin",
                    password: str = "admin-password-1"):  # noqa: S107 - a test account
    """The first admin, registered with the root's invitation and certified with the paper kit."""
    admin = person(url, home, username, password, env.admin_invitation)
    admin.certify_pending(kit_secret=env.recovery_secret)
    return admin


def invited(admin, url: str, home: Path, username: str, password: str, role: str):
    """A person the admin invites from their own client, registered, then certified by the admin."""
    p = person(url, home, username, password, admin.invite(role)["code"])
    admin.certify_pending(only=username)
    return p


def make_people(url: str, env: Env, home) -> People:
    """admin, lawyer (owns a case), medic (member), outsider lawyer (not a member), against any server."""
    admin = certified_admin(url, env, home("admin"))
    outsider = invited(admin, url, home("outsider"), "outsider", "outsider-pass-1", "lawyer")
    medic = invited(admin, url, home("medic"), "bakyt", "medic-password-1", "medic")
    lawyer = invited(admin, url, home("lawyer"), "aigul", "lawyer-password-1", "lawyer")
    case = lawyer.create_case("KG-2026-001", "Beating at the Osh city police", "osh_city")
    lawyer.add_member(case["id"], "bakyt")
    return People(admin, lawyer, medic, outsider, case["id"])


def lawyer_with_case(url: str, env: Env, root: Path, reference: str, title: str):
    """The first admin invites a lawyer (client state in root/"l"), who opens a case: (lawyer, case id)."""
    admin = certified_admin(url, env, root / "admin")
    lawyer = invited(admin, url, root / "l", "aigul", "lawyer-password-1", "lawyer")
    return lawyer, lawyer.create_case(reference, title)["id"]


@pytest.fixture
def people(env, live, client_home) -> People:
    return make_people(live.url, env, client_home)


def assert_nowhere(folder: Path, needles: list[bytes]) -> int:
    """Every file under `folder` (database, blobs, index, logs) is free of every needle; returns the file count."""
    swept = 0
    for path in folder.rglob("*"):
        if path.is_file():
            swept += 1
            data = path.read_bytes()
            for n in needles:
                assert n not in data, f"{n!r} found in {path.relative_to(folder)}"
    return swept


def wait_until(predicate, what: str, limit: float = 120.0, step: float = 0.1) -> None:
    """Wait for an asynchronous state change (a new worker, the indexer); never a speed assertion."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")
