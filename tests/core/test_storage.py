"""Staging files on a real file system, and the blob store: each test of a
store runs against the folder store and an S3 endpoint (tests/s3server.py)."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import secrets
import time

import pytest

from vault.storage.blobs import BlobMissing, BlobStore, FolderBlobStore, blob_name, sha_of_name
from vault.storage.files import (
    BadIdentifier,
    DiskFull,
    ShortChunk,
    StorageError,
    UploadBusy,
    check_id,
    check_sha,
    ensure_free,
    sha256_file,
)
from vault.storage.uploads import UploadArea


@pytest.fixture
def area(tmp_path):
    return UploadArea(tmp_path / "uploads")


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path) -> BlobStore:
    if request.param == "folder":
        return FolderBlobStore(tmp_path / "blobs")
    from tests.s3server import REGION
    from vault.storage.s3 import S3BlobStore

    t = request.getfixturevalue("s3_target")
    return S3BlobStore(t.bucket, t.prefix, endpoint_url=t.url, region=REGION, addressing_style="path")


def put_raw(store: BlobStore, name: str, data: bytes) -> None:
    """Write something into the store behind its back, as another tool (or an attacker) could."""
    if isinstance(store, FolderBlobStore):
        p = store.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    else:
        store.client().put_object(Bucket=store.bucket, Key=f"{store.prefix}/{name}", Body=data)


def read_all(store: BlobStore, sha: str, start: int = 0) -> bytes:
    with store.open(sha, start) as r:
        return r.read()


def new_upload(area: UploadArea) -> str:
    uid = secrets.token_hex(16)
    area.create(uid)
    return uid


# --------------------------------------------------------------------------- staging


def test_create_is_empty_private_and_exclusive(area):
    uid = new_upload(area)
    p = area.path(uid)
    assert p.read_bytes() == b""
    assert p.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        area.create(uid)


def test_chunks_append_at_the_acknowledged_offset(area):
    uid = new_upload(area)
    a, b = os.urandom(1000), os.urandom(300_000)  # the second is longer than one read piece
    assert area.write_chunk(uid, 0, io.BytesIO(a), len(a)) == 1000
    assert area.write_chunk(uid, 1000, io.BytesIO(b), len(b)) == 301_000
    assert area.path(uid).read_bytes() == a + b


def test_unacknowledged_bytes_past_the_offset_are_cut(area):
    uid = new_upload(area)
    a = os.urandom(1000)
    area.write_chunk(uid, 0, io.BytesIO(a), len(a))
    with open(area.path(uid), "ab") as f:  # a killed request wrote on without being acknowledged
        f.write(b"GARBAGE" * 100)
    b = os.urandom(50)
    assert area.write_chunk(uid, 1000, io.BytesIO(b), len(b)) == 1050
    assert area.path(uid).read_bytes() == a + b
    # Rewriting from an earlier acknowledged offset also cuts what followed.
    c = os.urandom(10)
    assert area.write_chunk(uid, 500, io.BytesIO(c), len(c)) == 510
    assert area.path(uid).read_bytes() == a[:500] + c


def test_short_body_leaves_the_old_offset(area):
    uid = new_upload(area)
    a = os.urandom(1000)
    area.write_chunk(uid, 0, io.BytesIO(a), len(a))
    for body, length in ((b"x" * 500, 1000), (b"", 10), (b"y" * 300_000, 300_001)):
        with pytest.raises(ShortChunk):
            area.write_chunk(uid, 1000, io.BytesIO(body), length)
        assert area.path(uid).read_bytes() == a
    # A body longer than declared is refused the same way.
    with pytest.raises(ShortChunk):
        area.write_chunk(uid, 1000, io.BytesIO(b"z" * 101), 100)
    assert area.path(uid).read_bytes() == a
    assert issubclass(ShortChunk, StorageError)


def test_concurrent_writer_is_refused(area):
    uid = new_upload(area)
    a = os.urandom(100)
    area.write_chunk(uid, 0, io.BytesIO(a), len(a))
    fd = os.open(area.path(uid), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another request is writing
        with pytest.raises(UploadBusy):
            area.write_chunk(uid, 100, io.BytesIO(b"more"), 4)
        with pytest.raises(UploadBusy):
            area.lock_for_finish(uid)
        assert area.path(uid).read_bytes() == a
    finally:
        os.close(fd)
    assert area.write_chunk(uid, 100, io.BytesIO(b"more"), 4) == 104
    fd = area.lock_for_finish(uid)
    try:
        with pytest.raises(UploadBusy):
            area.write_chunk(uid, 104, io.BytesIO(b"late"), 4)
    finally:
        os.close(fd)
    assert area.path(uid).read_bytes() == a + b"more"


def test_missing_staging_file(area):
    uid = secrets.token_hex(16)
    with pytest.raises(StorageError):
        area.write_chunk(uid, 0, io.BytesIO(b"x"), 1)
    assert not area.path(uid).exists()
    area.discard(uid)  # no error for an upload that is already gone


BAD_IDS = ["", "0" * 31, "0" * 33, "G" * 32, "A" * 32, "../" * 10 + "ab", ".." + "0" * 30, "/" + "0" * 31,
           "0" * 30 + "\\x", "0" * 31 + "\x00", None, 123, b"0" * 32]


def test_upload_ids_are_checked_before_any_path_is_built(area, tmp_path):
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep")
    for bad in BAD_IDS + [str(outside)]:
        for fn, args in ((area.path, ()), (area.create, ()), (area.discard, ()),
                         (area.write_chunk, (0, io.BytesIO(b"x"), 1)), (area.lock_for_finish, ())):
            with pytest.raises(BadIdentifier):
                fn(bad, *args)
    assert outside.read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "uploads"]
    assert list(area.entries()) == []


# --------------------------------------------------------------------------- blobs


BAD_HASHES = ["", "0" * 63, "0" * 65, "A" * 64, "g" * 64, "../" * 21 + "a", "../../" + "0" * 58,
              "/etc/passwd" + "0" * 53, "0" * 62 + "/x", None, 7]


def staged_blob(area: UploadArea, data: bytes):
    uid = new_upload(area)
    area.write_chunk(uid, 0, io.BytesIO(data), len(data))
    return area.path(uid), hashlib.sha256(data).hexdigest()


def test_blob_names_reject_malformed_hashes(store, area):
    staged, _ = staged_blob(area, b"abc")
    for bad in BAD_HASHES:
        for fn in (store.stat, store.exists, store.open, store.delete, store.sha256, blob_name):
            with pytest.raises(BadIdentifier):
                fn(bad)
        with pytest.raises(BadIdentifier):
            store.put_file(staged, bad)
    assert staged.read_bytes() == b"abc"  # nothing was consumed
    assert list(store.blobs()) == [] and list(store.strays()) == []
    if isinstance(store, FolderBlobStore):
        assert list(store.root.rglob("*")) == []  # not even a folder was made
    sha = hashlib.sha256(b"x").hexdigest()
    assert blob_name(sha) == f"{sha[:2]}/{sha[2:4]}/{sha}" and sha_of_name(blob_name(sha)) == sha


def test_folder_paths_stay_inside_the_root(tmp_path):
    store = FolderBlobStore(tmp_path / "blobs")
    sha = hashlib.sha256(b"x").hexdigest()
    p = store.path(sha)
    assert p == store.root / sha[:2] / sha[2:4] / sha
    assert p.resolve().is_relative_to(store.root.resolve())
    for bad in BAD_HASHES:
        with pytest.raises(BadIdentifier):
            store.path(bad)


def test_trailing_newline_is_not_a_valid_identifier(store, area):
    with pytest.raises(BadIdentifier):
        check_sha("a" * 64 + "\n")
    with pytest.raises(BadIdentifier):
        check_id("0" * 32 + "\n")
    with pytest.raises(BadIdentifier):
        store.stat("a" * 64 + "\n")
    with pytest.raises(BadIdentifier):
        area.path("0" * 32 + "\n")
    assert sha_of_name(blob_name("a" * 64) + "\n") is None


def test_put_file_stores_and_consumes_the_staged_file(store, area):
    data = os.urandom(200_000)
    staged, sha = staged_blob(area, data)
    assert sha256_file(staged) == sha
    before = time.time()
    store.put_file(staged, sha)
    assert not staged.exists()
    assert store.exists(sha)
    info = store.stat(sha)
    assert info.size == len(data) and before - 2 <= info.mtime <= time.time() + 2  # S3 keeps whole seconds
    assert list(store.blobs()) == [info]
    assert list(store.all_hashes()) == [sha]
    assert list(store.strays()) == []
    assert read_all(store, sha) == data
    assert store.sha256(sha) == sha
    assert store.leftovers(time.time() + 60, remove=False) == []


def test_folder_put_is_a_rename(tmp_path, area):
    store = FolderBlobStore(tmp_path / "blobs")
    staged, sha = staged_blob(area, os.urandom(5000))
    inode = staged.stat().st_ino
    store.put_file(staged, sha)
    # A rename, not a copy: the blob is the very file that was fsynced complete, so no reader
    # can ever see it half-written under its final name.
    dest = store.path(sha)
    assert dest.stat().st_ino == inode
    assert [p for p in dest.parent.iterdir()] == [dest]  # no temporary left beside it


def test_open_from_an_offset(store, area):
    data = os.urandom(300_000)
    staged, sha = staged_blob(area, data)
    store.put_file(staged, sha)
    with store.open(sha, 123_456) as r:
        assert r.size == len(data)
        assert r.read(1000) == data[123_456:124_456]
        assert r.read() == data[124_456:]
    # At or past the end: nothing to read, and the size tells the caller what is really stored.
    for start in (len(data), len(data) + 10):
        with store.open(sha, start) as r:
            assert r.size == len(data) and r.read() == b""


def test_put_file_replaces_an_existing_blob(store, area):
    data = os.urandom(5000)
    first, sha = staged_blob(area, data)
    second, _ = staged_blob(area, data)
    store.put_file(first, sha)
    with store.open(sha) as reader:  # a download in progress keeps reading
        inode = second.stat().st_ino
        store.put_file(second, sha)
        assert reader.read() == data
    assert read_all(store, sha) == data
    assert list(store.all_hashes()) == [sha]
    if isinstance(store, FolderBlobStore):
        assert store.path(sha).stat().st_ino == inode


def test_delete_and_missing_blobs(store, area):
    sha = hashlib.sha256(b"gone").hexdigest()
    assert not store.exists(sha)
    store.delete(sha)  # absent is fine
    for fn in (store.open, store.stat, store.sha256):
        with pytest.raises(BlobMissing):
            fn(sha)
    staged, sha = staged_blob(area, b"here")
    store.put_file(staged, sha)
    store.delete(sha)
    assert not store.exists(sha) and list(store.blobs()) == []


def test_stray_files_are_reported(store):
    sha = hashlib.sha256(b"x").hexdigest()
    put_raw(store, f"{sha[:2]}/{sha[2:4]}/{sha}.tmp", b"x")
    put_raw(store, "README", b"x")
    put_raw(store, f"00/00/{sha}", b"x")  # a blob's name in the wrong place is not that blob
    assert sorted(n.rsplit("/", 1)[1] for n in store.strays()) == sorted([sha + ".tmp", "README", sha])
    assert list(store.all_hashes()) == []
    assert not store.exists(sha)
    assert not store.is_empty()


def test_ensure_free(tmp_path):
    ensure_free(tmp_path, 1, 0)
    with pytest.raises(DiskFull):
        ensure_free(tmp_path, 1, 1 << 62)
    with pytest.raises(DiskFull):
        ensure_free(tmp_path, 1 << 62, 0)
