"""The vault over its blob store: an object store that goes down, settings the
data folder remembers, and backups that move a vault between stores."""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
import tomllib

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tests import s3server
from tests.conftest import LiveServer, both_blob_stores, lawyer_with_case, make_env
from tests.core import manual_upload
from tests.s3server import MOTO_CREDENTIALS, MotoS3, new_target
from vault import ops
from vault.app import create_app, open_vault
from vault.cli import main as cli
from vault.client.http import ApiFailure
from vault.client.transfer import download_item, upload_file
from vault.config import load_config
from vault.db.models import Item, Upload


def _items(v) -> int:
    with v.db.session() as s:
        return s.execute(select(func.count()).select_from(Item)).scalar_one()


def test_a_store_that_is_down_gets_503_and_nothing_half_done(db_url, tmp_path, monkeypatch, caplog):
    """S3 stops between the last chunk and finish: 503 with a clear code, no item row, the
    upload and its staged bytes kept; once the store is back, finishing again completes."""
    for k, val in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(k, val)
    srv = MotoS3()  # its own server, so stopping it disturbs no other test
    target = new_target(srv.url, bucket="vault-outage")
    env = make_env(tmp_path, db_url, **target.settings)
    app = create_app(env.config)
    live = LiveServer(app)
    v = open_vault(env.config)
    try:
        lawyer, case_id = lawyer_with_case(live.url, env, tmp_path, "KG-S3-DOWN", "Store outage")
        before = tmp_path / "before.bin"
        before.write_bytes(os.urandom(50_000))
        stored = upload_file(lawyer, case_id, before, {"title": "before", "evidence_type": "document"})
        data = os.urandom(300_000)
        m = manual_upload.start(lawyer, case_id, data)
        m.put(0, len(m.ciphertext))

        srv.stop()
        with pytest.raises(ApiFailure) as exc:
            m.finish()
        assert (exc.value.status, exc.value.code) == (503, "storage_unavailable")
        assert "kept" in exc.value.message and exc.value.body["retry_after"] > 0
        logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        said = f"blob store failed while finishing upload {m.upload_id}"
        assert any(line.startswith(said) and srv.url in line for line in logged), logged
        assert not any(MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"] in line for line in logged)
        assert _items(v) == 1  # only the item stored before the outage
        assert m.status()["received"] == len(m.ciphertext)
        assert (env.data_dir / "uploads" / m.upload_id).stat().st_size == len(m.ciphertext)
        with pytest.raises(ApiFailure) as exc:
            download_item(lawyer, stored["item_id"], tmp_path / "during.bin")
        assert (exc.value.status, exc.value.code) == (503, "storage_unavailable")

        srv = MotoS3(port=srv.port)  # back, with what it held
        done = m.finish()
        assert download_item(lawyer, done["item_id"], tmp_path / "after.bin")[0].read_bytes() == data
        assert download_item(lawyer, stored["item_id"], tmp_path / "b.bin")[0].read_bytes() == before.read_bytes()
        with v.db.session() as s:
            assert s.get(Upload, m.upload_id) is None
        assert not (env.data_dir / "uploads" / m.upload_id).exists()
        report = ops.fsck(v, repair=False, deep=True)
        assert report.ok and report.items_checked == 2
    finally:
        live.stop()
        app.extensions["vault"].db.dispose()
        v.db.dispose()
        target.empty()
        srv.stop()


def test_the_data_folder_remembers_the_store_but_no_credentials(s3_target, tmp_path):
    secret = "vault-test-SECRET-must-never-be-written"
    env = make_env(tmp_path, "", **s3_target.settings, s3_access_key_id="vault-test-key",
                   s3_secret_access_key=secret)
    remembered = tomllib.loads((env.data_dir / "settings.toml").read_text())["vault"]
    assert remembered == {k: v for k, v in s3_target.settings.items()}
    assert not (env.data_dir / "blobs").exists()
    for p in env.data_dir.rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p
    v = open_vault(load_config(env.data_dir))  # no settings repeated: found from the folder
    assert v.blobs.describe().startswith(f"s3://{s3_target.bucket}/{s3_target.prefix} at ")
    out = CliRunner().invoke(cli, ["server", "info", "--data", str(env.data_dir), "--json"])
    assert json.loads(out.output)["blob_store"] == v.blobs.describe()
    v.db.dispose()


def test_init_refuses_a_used_prefix_and_an_unreachable_store(s3_target, tmp_path):
    make_env(tmp_path / "first", "", **s3_target.settings)
    staged = tmp_path / "staged"
    staged.write_bytes(b"x")
    # Two vaults on one prefix would delete each other's blobs as orphans.
    open_vault(load_config(tmp_path / "first" / "data")).blobs.put_file(staged, "ab" * 32)
    with pytest.raises(ops.InitError, match="not empty"):
        make_env(tmp_path / "second", "", **s3_target.settings)
    with pytest.raises(ops.InitError, match="cannot use"):
        make_env(tmp_path / "third", "", **{**s3_target.settings, "s3_endpoint_url": "http://127.0.0.1:9"})
    for name in ("second", "third"):
        assert not (tmp_path / name / "data").exists()  # refused before anything was made


@both_blob_stores
@pytest.mark.parametrize("db_url", [""], ids=["sqlite"])  # the SQLite-file form; portable: test_backup.py
def test_backup_holds_the_blobs_and_restores_into_either_store(env, live, tmp_path, s3_endpoint, monkeypatch):
    for k, val in s3server.credentials().items():
        monkeypatch.setenv(k, val)
    lawyer, case_id = lawyer_with_case(live.url, env, tmp_path, "KG-BACKUP", "Backup")
    shas = set()
    for n in range(2):
        src = tmp_path / f"e{n}.bin"
        src.write_bytes(os.urandom(70_000 + n))
        shas.add(upload_file(lawyer, case_id, src, {"title": f"e{n}", "evidence_type": "photo"})["blob_sha256"])
    run = CliRunner().invoke
    archive = tmp_path / "backup.tar"
    out = run(cli, ["server", "backup", "--data", str(env.data_dir), str(archive), "--json"])
    assert out.exit_code == 0, out.output
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {f"blobs/{s[:2]}/{s[2:4]}/{s}" for s in shas} <= names and "vault.sqlite3" in names

    # Into a folder store, whatever store the backup came from.
    folder = tmp_path / "restored-folder"
    assert run(cli, ["server", "restore", str(archive), "--data", str(folder), "--json"]).exit_code == 0
    # Into an (empty) bucket prefix, named by the settings; the new folder remembers it.
    bucket = new_target(s3_endpoint)
    in_s3 = tmp_path / "restored-s3"
    s3_env = {"VAULT_" + k.upper(): v for k, v in bucket.settings.items()}
    try:
        out = run(cli, ["server", "restore", str(archive), "--data", str(in_s3), "--json"], env=s3_env)
        assert out.exit_code == 0, out.output
        assert not (in_s3 / "blobs").exists()
        for where in (folder, in_s3):
            v = open_vault(load_config(where))
            assert set(v.blobs.all_hashes()) == shas
            report = ops.fsck(v, repair=False, deep=True)
            assert report.ok and report.items_checked == 2, report.as_dict()
            v.db.dispose()
        # A prefix that already holds blobs is not restored into.
        again = run(cli, ["server", "restore", str(archive), "--data", str(tmp_path / "again"), "--json"],
                    env=s3_env)
        assert again.exit_code != 0 and "not empty" in again.output
    finally:
        bucket.empty()

    # Without blobs: only the database and keys, for a bucket versioned and replicated on its own.
    slim = tmp_path / "slim.tar"
    out = run(cli, ["server", "backup", "--data", str(env.data_dir), str(slim), "--no-blobs", "--json"])
    assert out.exit_code == 0, out.output
    with tarfile.open(slim) as tar:
        assert not [n for n in tar.getnames() if n.startswith("blobs/")]
    # Restored onto the store that still holds the blobs, it is whole; anywhere else fsck names what is missing.
    same_store = {"VAULT_" + k.upper(): str(v) for k, v in env.config.__dict__.items()
                  if k in ("blob_url", "s3_endpoint_url", "s3_region", "s3_addressing_style") and v}
    back = tmp_path / "restored-slim"
    out = run(cli, ["server", "restore", str(slim), "--data", str(back), "--json"], env=same_store)
    assert out.exit_code == 0, out.output
    v = open_vault(load_config(back))
    if env.config.blob_url:
        assert ops.fsck(v, repair=False, deep=True).ok
    else:
        assert len(ops.fsck(v, repair=False).missing_blobs) == 2
    v.db.dispose()


def test_restore_into_a_bucket_takes_only_blobs(s3_target, tmp_path):
    archive = tmp_path / "odd.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("vault.sqlite3", b"db"), ("blobs/README", b"not a blob")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    cfg = load_config(tmp_path / "new", **s3_target.settings)
    with pytest.raises(ops.InitError, match="not a blob"):
        ops.restore(archive, tmp_path / "new", cfg)
    assert s3_target.keys() == []
    # A folder takes it as it always did (fsck then reports the stray file).
    ops.restore(archive, tmp_path / "folder")
    assert (tmp_path / "folder" / "blobs" / "README").read_bytes() == b"not a blob"
