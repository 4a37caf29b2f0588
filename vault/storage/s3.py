"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage...).

Keys are `prefix/ab/cd/<sha256>`, the folder store's layout. A blob is
uploaded from the fsynced staging file (multipart above one part, so memory
stays flat), then checked present with the staged size; only then is the
staging file removed and may the caller commit the item row. A crash in
between leaves an object without a row, which fsck removes after the grace
period, never a row without its object.

Credentials come from the settings or the standard AWS chain. They are
never written to the data folder and never put into a message: errors name
the operation, the S3 error code and the endpoint only.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError as Urllib3Error

from vault.config import Config, ConfigError
from vault.serving import heartbeat
from vault.storage.blobs import (
    BlobInfo,
    BlobMissing,
    BlobNotStored,
    BlobReader,
    BlobStore,
    BlobStoreUnavailable,
    blob_name,
    sha_of_name,
)
from vault.storage.files import fsync_dir

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
_MISSING = {"NoSuchKey", "404", "NotFound"}
MIN_PART = 5 * 1024 * 1024  # S3's smallest multipart piece (all but the last)


def parse_blob_url(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix → (bucket, "some/prefix"); anything unusual is refused."""
    u = urlsplit(url)
    if u.scheme != "s3" or u.query or u.fragment or "@" in u.netloc or ":" in u.netloc:
        raise ConfigError(f"blob_url must look like s3://bucket/prefix, got {url!r}")
    if not _BUCKET.fullmatch(u.netloc) or ".." in u.netloc:
        raise ConfigError(f"blob_url names an invalid bucket {u.netloc!r} (3-63 of a-z 0-9 . -)")
    prefix = u.path.strip("/")
    for seg in prefix.split("/") if prefix else []:
        if not _SEGMENT.fullmatch(seg) or seg in (".", ".."):
            raise ConfigError(f"blob_url prefix {prefix!r} may hold only A-Z a-z 0-9 _ . - between slashes")
    return u.netloc, prefix


def check_endpoint(url: str) -> str:
    if not url:
        return url
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname or u.username or u.password or u.query or u.fragment:
        raise ConfigError("s3_endpoint_url must be http(s)://host[:port] without credentials in it")
    return url


class _PastEnd(Exception):
    """A Range starting at or past the object's end (416 InvalidRange)."""


@contextmanager
def _s3(what: str, endpoint: str):
    """Turn boto's many failures into the vault's named ones, keeping secrets out of messages."""
    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "?"))
        if code in _MISSING:
            raise BlobMissing(what) from exc
        if code == "InvalidRange":
            raise _PastEnd(what) from exc
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        raise BlobStoreUnavailable(f"{what}: the object store at {endpoint} answered {status} {code}") from exc
    except Boto3Error as exc:
        # s3transfer folds the S3 error into its message text; keep only its code.
        m = re.search(r"An error occurred \((\w+)\)", str(exc))
        code = m.group(1) if m else type(exc).__name__
        raise BlobStoreUnavailable(f"{what}: the object store at {endpoint} refused it ({code})") from exc
    except (BotoCoreError, Urllib3Error) as exc:
        raise BlobStoreUnavailable(f"{what}: cannot use the object store at {endpoint} ({type(exc).__name__})") from exc


class _Body:
    """An S3 response body whose failures mid-stream are named like the others."""

    def __init__(self, body, what: str, endpoint: str):
        self._body, self._what, self._endpoint = body, what, endpoint

    def read(self, n: int = -1) -> bytes:
        with _s3(self._what, self._endpoint):
            return self._body.read(None if n < 0 else n)

    def close(self) -> None:
        self._body.close()


class _Empty:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class S3BlobStore(BlobStore):
    """Blobs as objects `prefix/ab/cd/<sha256>` in one bucket; the prefix belongs to one vault alone."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str = "", region: str = "",
                 addressing_style: str = "auto", access_key_id: str = "", secret_access_key: str = "",
                 part_size: int = 16 * 1024 * 1024, max_concurrency: int = 4):
        if addressing_style not in ("auto", "path", "virtual"):
            raise ConfigError("s3_addressing_style must be auto, path or virtual")
        if part_size < MIN_PART:
            raise ConfigError(f"s3_part_size must be at least {MIN_PART} bytes (S3's smallest part)")
        if max_concurrency < 1:
            raise ConfigError("s3_max_concurrency must be at least 1")
        if bool(access_key_id) != bool(secret_access_key):
            raise ConfigError("set both s3_access_key_id and s3_secret_access_key, or neither "
                              "(then the standard AWS variables are used)")
        self.bucket, self.prefix = bucket, prefix
        self.endpoint = check_endpoint(endpoint_url)
        self._base = prefix + "/" if prefix else ""
        self._where = endpoint_url or "AWS"
        self._session_args = {"region_name": region or None}
        if access_key_id:
            self._session_args |= {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        self._boto_config = BotoConfig(
            s3={"addressing_style": addressing_style},
            # Fail within seconds when the store is down, so the request answers 503 instead of hanging.
            connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=max(10, max_concurrency * 2))
        self.transfer = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size,
                                       max_concurrency=max_concurrency, preferred_transfer_client="classic")
        self._client = None
        self._client_pid = 0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> S3BlobStore:
        bucket, prefix = parse_blob_url(config.blob_url)
        return cls(bucket, prefix, endpoint_url=config.s3_endpoint_url, region=config.s3_region,
                   addressing_style=config.s3_addressing_style, access_key_id=config.s3_access_key_id,
                   secret_access_key=config.s3_secret_access_key, part_size=config.s3_part_size,
                   max_concurrency=config.s3_max_concurrency)

    def __repr__(self) -> str:
        return f"S3BlobStore({self.describe()!r})"

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def client(self):
        # One client per process: gunicorn forks workers, and a connection
        # pool must not be shared across a fork.
        pid = os.getpid()
        if self._client is None or self._client_pid != pid:
            with self._lock:
                if self._client is None or self._client_pid != pid:
                    session = boto3.session.Session(**self._session_args)
                    self._client = session.client("s3", endpoint_url=self.endpoint or None,
                                                  config=self._boto_config)
                    self._client_pid = pid
        return self._client

    def key(self, sha: str) -> str:
        return self._base + blob_name(sha)

    def stat(self, sha: str) -> BlobInfo:
        key = self.key(sha)
        with _s3(f"HEAD {key}", self._where):
            h = self.client().head_object(Bucket=self.bucket, Key=key)
        return BlobInfo(sha, int(h["ContentLength"]), h["LastModified"].timestamp())

    def open(self, sha: str, start: int = 0) -> BlobReader:
        key = self.key(sha)
        args = {"Bucket": self.bucket, "Key": key}
        if start:
            args["Range"] = f"bytes={start}-"
        try:
            with _s3(f"GET {key}", self._where):
                r = self.client().get_object(**args)
        except _PastEnd:
            # The stored object is shorter than asked for: the caller sees the size differ.
            return BlobReader(_Empty(), self.stat(sha).size)
        if start:
            content_range = r.get("ContentRange") or ""
            if not content_range.startswith(f"bytes {start}-"):
                r["Body"].close()
                raise BlobStoreUnavailable(f"GET {key}: the object store at {self._where} ignored the Range header")
            size = int(content_range.rsplit("/", 1)[1])
        else:
            size = int(r["ContentLength"])
        return BlobReader(_Body(r["Body"], f"GET {key}", self._where), size)

    def put_file(self, staged: Path, sha: str) -> None:
        key = self.key(sha)
        size = staged.stat().st_size
        with _s3(f"PUT {key}", self._where):
            # Each part sent tells gunicorn this long request is alive (vault/heartbeat.py).
            self.client().upload_file(str(staged), self.bucket, key, Config=self.transfer,
                                      Callback=lambda _n: heartbeat.beat())
        try:
            stored = self.stat(sha).size
        except BlobMissing as exc:
            raise BlobNotStored(f"{key} is absent right after its upload to {self._where}") from exc
        if stored != size:
            raise BlobNotStored(f"{key} holds {stored} bytes at {self._where}; {size} were sent")
        staged.unlink()
        fsync_dir(staged.parent)

    def delete(self, sha: str) -> None:
        key = self.key(sha)
        with _s3(f"DELETE {key}", self._where):
            self.client().delete_object(Bucket=self.bucket, Key=key)

    def _objects(self) -> Iterator[dict]:
        with _s3(f"LIST s3://{self.bucket}/{self._base}", self._where):
            pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._base)
            for page in pages:
                yield from page.get("Contents", [])

    def blobs(self) -> Iterator[BlobInfo]:
        for o in self._objects():
            sha = sha_of_name(o["Key"][len(self._base):])
            if sha is not None:
                yield BlobInfo(sha, int(o["Size"]), o["LastModified"].timestamp())

    def strays(self) -> Iterator[str]:
        for o in self._objects():
            if sha_of_name(o["Key"][len(self._base):]) is None:
                yield f"s3://{self.bucket}/{o['Key']}"

    def leftovers(self, before: float, remove: bool) -> list[str]:
        """Multipart uploads a killed or failed finish never completed: stored parts nobody sees, still billed."""
        cutoff = datetime.fromtimestamp(before, UTC)
        found = []
        with _s3(f"LIST multipart uploads s3://{self.bucket}/{self._base}", self._where):
            pages = self.client().get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self._base)
            for page in pages:
                for u in page.get("Uploads", []):
                    if u["Initiated"] < cutoff:
                        found.append(u)
        for u in found:
            if remove:
                with _s3(f"ABORT multipart {u['Key']}", self._where):
                    self.client().abort_multipart_upload(Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"])
        return [f"s3://{self.bucket}/{u['Key']} (multipart upload begun {u['Initiated'].isoformat()})"
                for u in found]
