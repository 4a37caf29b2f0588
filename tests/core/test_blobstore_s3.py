"""What only the S3 store has: strict settings, multipart uploads in flat memory,
the size check before the staged file is let go, unfinished multipart uploads,
prefixes kept apart, and failures named without credentials.

The tests every store must pass are in test_storage.py; these talk to the same
S3 endpoint (moto over HTTP, or VAULT_TEST_S3_URL).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port
from tests.core.test_storage import BAD_HASHES
from tests.s3server import MOTO_CREDENTIALS, REGION
from vault.config import ConfigError, load_config
from vault.storage.blobs import BlobNotStored, BlobStoreUnavailable, FolderBlobStore
from vault.storage.factory import open_blob_store
from vault.storage.files import BadIdentifier
from vault.storage.s3 import MIN_PART, S3BlobStore, check_endpoint, parse_blob_url

KEY_ID, SECRET = "AKIAVAULTTESTKEYID00", "vault-test-SECRET-must-never-show"


def store_at(target, **kw) -> S3BlobStore:
    return S3BlobStore(target.bucket, target.prefix, endpoint_url=target.url, region=REGION,
                       addressing_style="path", **kw)


def stage(tmp_path: Path, data: bytes, name: str = "staged") -> tuple[Path, str]:
    p = tmp_path / name
    p.write_bytes(data)
    return p, hashlib.sha256(data).hexdigest()


def test_blob_url_and_endpoint_are_parsed_strictly():
    assert parse_blob_url("s3://vault-blobs") == ("vault-blobs", "")
    assert parse_blob_url("s3://my.bucket-1/org/vault_2/") == ("my.bucket-1", "org/vault_2")
    for bad in ["s3://", "s3://ab/x", "s3://Vault/x", "s3://user:pw@bucket/x", "s3://bucket:9000/x",
                "s3://bucket/../x", "s3://bucket/a/./b", "s3://bucket/a//b", "s3://bucket/x?y=1", "s3://bucket/x#y",
                "s3://bucket/a b", "s3://b..c/x", "http://bucket/x", "bucket/x", "s3://bucket/ümlaut"]:
        with pytest.raises(ConfigError):
            parse_blob_url(bad)
    assert check_endpoint("https://minio.example.org:9000") == "https://minio.example.org:9000"
    for bad in ["ftp://host", "http://key:secret@host:9000", "host:9000", "http://host/?x=1", "http://"]:
        with pytest.raises(ConfigError):
            check_endpoint(bad)


def test_the_setting_chooses_the_store(tmp_path):
    folder = open_blob_store(load_config(tmp_path / "a"))
    assert isinstance(folder, FolderBlobStore) and folder.root == (tmp_path / "a" / "blobs").resolve()
    s3 = open_blob_store(load_config(tmp_path / "b", blob_url="s3://vault-blobs/org",
                                     s3_endpoint_url="http://127.0.0.1:9"))
    assert isinstance(s3, S3BlobStore) and s3.describe() == "s3://vault-blobs/org at http://127.0.0.1:9"
    assert not (tmp_path / "b").exists()  # nothing local is made for a bucket, and no request either
    for bad in [{"blob_url": "file:///srv/blobs"}, {"blob_url": "s3://vault-blobs", "s3_part_size": MIN_PART - 1},
                {"blob_url": "s3://vault-blobs", "s3_access_key_id": KEY_ID},
                {"blob_url": "s3://vault-blobs", "s3_addressing_style": "dns"},
                {"blob_url": "s3://vault-blobs", "s3_max_concurrency": 0}]:
        with pytest.raises(ConfigError):
            open_blob_store(load_config(tmp_path, **bad))


def test_credentials_are_never_shown(tmp_path):
    cfg = load_config(tmp_path, blob_url="s3://vault-blobs/org", s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
                      s3_access_key_id=KEY_ID, s3_secret_access_key=SECRET)
    assert SECRET not in repr(cfg)
    store = open_blob_store(cfg)
    staged, sha = stage(tmp_path, b"x")
    with pytest.raises(BlobStoreUnavailable) as exc:
        store.put_file(staged, sha)  # nobody listens on that port
    shown = [repr(store), store.describe(), str(exc.value), repr(exc.value)]
    assert all(KEY_ID not in s and SECRET not in s for s in shown)
    assert "127.0.0.1" in str(exc.value)  # but the message does say where


def test_hashes_are_checked_before_any_request(tmp_path, monkeypatch):
    for k, v in MOTO_CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    store = S3BlobStore("vault-blobs", "org", endpoint_url=f"http://127.0.0.1:{free_port()}", region=REGION)
    staged, sha = stage(tmp_path, b"keep me")
    for bad in BAD_HASHES:
        for fn in (store.stat, store.exists, store.open, store.delete, store.sha256, store.key):
            with pytest.raises(BadIdentifier):
                fn(bad)
        with pytest.raises(BadIdentifier):
            store.put_file(staged, bad)
    t = time.monotonic()
    for call in (lambda: store.exists(sha), lambda: store.open(sha), lambda: list(store.blobs()),
                 lambda: store.put_file(staged, sha), lambda: store.leftovers(time.time(), remove=True)):
        with pytest.raises(BlobStoreUnavailable):
            call()
    assert time.monotonic() - t < 60  # a dead store fails fast enough for a 503, not a hung worker
    assert staged.read_bytes() == b"keep me"  # a failed put leaves the staged file for a retry
    assert store.key(sha) == f"org/{sha[:2]}/{sha[2:4]}/{sha}"


def test_large_blobs_go_up_in_parts(s3_target, tmp_path, monkeypatch):
    from vault.serving import heartbeat

    beats = []
    monkeypatch.setattr(heartbeat, "_notify", lambda: beats.append(1))
    monkeypatch.setattr(heartbeat, "_last", 0.0)
    store = store_at(s3_target, part_size=MIN_PART)
    data = os.urandom(2 * MIN_PART + 1)
    staged, sha = stage(tmp_path, data)
    store.put_file(staged, sha)
    assert beats  # the upload told gunicorn's arbiter it is alive (vault/serving/heartbeat.py)
    head = s3_target.s3.head_object(Bucket=s3_target.bucket, Key=store.key(sha))
    assert head["ETag"].strip('"').endswith("-3")  # three parts: two full, one of a byte
    assert s3_target.keys() == [f"{s3_target.prefix}/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert store.sha256(sha) == sha
    with store.open(sha, MIN_PART - 5) as r:
        assert r.read(10) == data[MIN_PART - 5:MIN_PART + 5]


MEASURE = r'''
import hashlib, shutil, sys
from pathlib import Path
from vault.storage.s3 import S3BlobStore

def peak_mib():  # this process image's high-water mark (ru_maxrss would include the parent's)
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) // 1024

url, bucket, prefix, region, src, sha = sys.argv[1:]
store = S3BlobStore(bucket, prefix, endpoint_url=url, region=region, addressing_style="path",
                    part_size=8 * 1024 * 1024, max_concurrency=4)
store.exists("0" * 64)  # the client and its service model are loaded before the baseline
base = peak_mib()
staged = Path(src + ".staged")
shutil.copy(src, staged)
store.put_file(staged, sha)
up = peak_mib()
h = hashlib.sha256()
with store.open(sha) as r:
    while b := r.read(256 * 1024):
        h.update(b)
assert h.hexdigest() == sha
print(base, up, peak_mib())
'''


@pytest.mark.slow
def test_upload_and_download_use_flat_memory(s3_target, tmp_path):
    """A 64 MiB blob goes up in 8 MiB parts and comes back in pieces: the process grows by far less."""
    src = tmp_path / "big.bin"
    h = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(64):
            piece = os.urandom(1024 * 1024)
            h.update(piece)
            f.write(piece)
    out = subprocess.run([sys.executable, "-c", MEASURE, s3_target.url, s3_target.bucket, s3_target.prefix, REGION,
                          str(src), h.hexdigest()], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-3000:]
    base, after_upload, after_download = map(int, out.stdout.split())
    assert after_upload - base < 32, (base, after_upload)
    assert after_download - base < 32, (base, after_download)


def test_put_checks_the_stored_size_before_letting_go_of_the_staged_file(s3_target, tmp_path):
    store = store_at(s3_target)
    staged, sha = stage(tmp_path, os.urandom(10_000))

    def short(parsed, **_):  # a store that answers HEAD with another size than it was sent
        if "ContentLength" in parsed:
            parsed["ContentLength"] -= 1

    events = store.client().meta.events
    events.register("after-call.s3.HeadObject", short)
    try:
        with pytest.raises(BlobNotStored, match="9999"):
            store.put_file(staged, sha)
    finally:
        events.unregister("after-call.s3.HeadObject", short)
    assert staged.exists()  # kept: a retry can store it again
    store.put_file(staged, sha)
    assert not staged.exists() and store.stat(sha).size == 10_000


def test_unfinished_multipart_uploads_are_found_and_aborted(s3_target):
    store = store_at(s3_target)
    sha = "ef" * 32
    mp = s3_target.s3.create_multipart_upload(Bucket=s3_target.bucket, Key=store.key(sha))
    s3_target.s3.upload_part(Bucket=s3_target.bucket, Key=store.key(sha), UploadId=mp["UploadId"], PartNumber=1,
                             Body=b"part of a killed finish")
    assert store.leftovers(datetime(2000, 1, 1, tzinfo=UTC).timestamp(), remove=True) == []  # begun after that
    later = time.time() + 60
    found = store.leftovers(later, remove=False)
    assert len(found) == 1 and store.key(sha) in found[0]
    assert store.leftovers(later, remove=True) == found
    assert store.leftovers(later, remove=False) == []
    assert not store.exists(sha) and list(store.blobs()) == []


def test_prefixes_are_kept_apart(s3_target, tmp_path):
    mine = store_at(s3_target)
    sibling = S3BlobStore(s3_target.bucket, s3_target.prefix + "x", endpoint_url=s3_target.url, region=REGION,
                          addressing_style="path")
    a, sha_a = stage(tmp_path, b"mine", "a")
    b, sha_b = stage(tmp_path, b"sibling's", "b")
    mine.put_file(a, sha_a)
    sibling.put_file(b, sha_b)
    try:
        # "t-abc" must not list "t-abcx/...": the prefix ends at a slash.
        assert list(mine.all_hashes()) == [sha_a] and list(sibling.all_hashes()) == [sha_b]
        assert list(mine.strays()) == [] and not sibling.exists(sha_a)
    finally:
        sibling.delete(sha_b)
