"""Staging files and the blob store, on a real file system."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import secrets

import pytest

from vault.storage import (
    BadIdentifier,
    BlobStore,
    DiskFull,
    ShortChunk,
    StorageError,
    UploadArea,
    UploadBusy,
    check_id,
    check_sha,
    ensure_free,
    sha256_file,
)


@pytest.fixture
def area(tmp_path):
    return UploadArea(tmp_path / "uploads")


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


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


def test_blob_paths_reject_malformed_hashes(store, tmp_path):
    for bad in BAD_HASHES:
        for fn in (store.path, store.exists, store.open, store.delete, store.size):
            with pytest.raises(BadIdentifier):
                fn(bad)
    sha = hashlib.sha256(b"x").hexdigest()
    p = store.path(sha)
    assert p == store.root / sha[:2] / sha[2:4] / sha
    assert p.resolve().is_relative_to(store.root.resolve())


def test_trailing_newline_is_not_a_valid_identifier(store, area):
    with pytest.raises(BadIdentifier):
        check_sha("a" * 64 + "\n")
    with pytest.raises(BadIdentifier):
        check_id("0" * 32 + "\n")
    with pytest.raises(BadIdentifier):
        store.path("a" * 64 + "\n")
    with pytest.raises(BadIdentifier):
        area.path("0" * 32 + "\n")


def test_put_file_is_atomic_and_content_addressed(store, area):
    uid = new_upload(area)
    data = os.urandom(200_000)
    area.write_chunk(uid, 0, io.BytesIO(data), len(data))
    staged = area.path(uid)
    sha = sha256_file(staged)
    assert sha == hashlib.sha256(data).hexdigest()
    inode = staged.stat().st_ino
    dest = store.put_file(staged, sha)
    # A rename, not a copy: the blob is the very file that was fsynced complete, so no reader
    # can ever see it half-written under its final name.
    assert dest.stat().st_ino == inode
    assert dest.read_bytes() == data
    assert not staged.exists()
    assert store.exists(sha) and store.size(sha) == len(data)
    assert list(store.all_hashes()) == [sha]
    assert list(store.stray_files()) == []
    assert [p for p in dest.parent.iterdir()] == [dest]  # no temporary left beside it
    with store.open(sha) as f:
        assert f.read() == data


def test_put_file_replaces_an_existing_blob_atomically(store, area):
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    first, second = new_upload(area), new_upload(area)
    for uid in (first, second):
        area.write_chunk(uid, 0, io.BytesIO(data), len(data))
    store.put_file(area.path(first), sha)
    with store.open(sha) as reader:  # a download in progress keeps reading the old file
        inode = area.path(second).stat().st_ino
        store.put_file(area.path(second), sha)
        assert reader.read() == data
    assert store.path(sha).stat().st_ino == inode
    assert store.path(sha).read_bytes() == data


def test_put_file_with_a_bad_hash_touches_nothing(store, area):
    uid = new_upload(area)
    area.write_chunk(uid, 0, io.BytesIO(b"abc"), 3)
    for bad in BAD_HASHES:
        with pytest.raises(BadIdentifier):
            store.put_file(area.path(uid), bad)
    assert area.path(uid).read_bytes() == b"abc"
    assert list(store.root.rglob("*")) == []


def test_delete_and_missing_blobs(store):
    sha = hashlib.sha256(b"gone").hexdigest()
    assert not store.exists(sha)
    store.delete(sha)  # absent is fine
    with pytest.raises(FileNotFoundError):
        store.open(sha)


def test_stray_files_are_reported(store):
    sha = hashlib.sha256(b"x").hexdigest()
    (store.root / sha[:2] / sha[2:4]).mkdir(parents=True)
    (store.root / sha[:2] / sha[2:4] / (sha + ".tmp")).write_bytes(b"x")
    (store.root / "README").write_text("x")
    assert sorted(p.name for p in store.stray_files()) == sorted([sha + ".tmp", "README"])
    assert list(store.all_hashes()) == []


def test_ensure_free(tmp_path):
    ensure_free(tmp_path, 1, 0)
    with pytest.raises(DiskFull):
        ensure_free(tmp_path, 1, 1 << 62)
    with pytest.raises(DiskFull):
        ensure_free(tmp_path, 1 << 62, 0)
