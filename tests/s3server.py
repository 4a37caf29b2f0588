"""An S3-compatible endpoint for the blob-store tests, spoken to over real HTTP.

By default moto's standalone S3 server runs in a thread on a free port.
With VAULT_TEST_S3_URL set (e.g. http://127.0.0.1:9000 for a MinIO), that
endpoint is used instead: VAULT_TEST_S3_BUCKET (default "vault-test") is
created if missing, credentials come from VAULT_TEST_S3_ACCESS_KEY_ID /
VAULT_TEST_S3_SECRET_ACCESS_KEY or the standard AWS variables, the region
from VAULT_TEST_S3_REGION (default us-east-1). Each test gets its own key
prefix in the bucket, emptied afterwards.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field

import boto3
from botocore.config import Config as BotoConfig

REAL_URL = os.environ.get("VAULT_TEST_S3_URL", "")
BUCKET = os.environ.get("VAULT_TEST_S3_BUCKET", "vault-test")
REGION = os.environ.get("VAULT_TEST_S3_REGION", "us-east-1")
MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "vault-test-key", "AWS_SECRET_ACCESS_KEY": "vault-test-secret"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def credentials() -> dict[str, str]:
    """The AWS variables the vault (and its gunicorn and CLI subprocesses) should see."""
    if not REAL_URL:
        return dict(MOTO_CREDENTIALS)
    given = {k: os.environ.get("VAULT_TEST_S3_" + k[4:], "") for k in MOTO_CREDENTIALS}
    return {k: v for k, v in given.items() if v}


class MotoS3:
    """moto's S3 server in a thread: HTTP on 127.0.0.1, state kept in this process."""

    def __init__(self, port: int | None = None):
        from moto.server import ThreadedMotoServer

        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


def client(url: str):
    env = credentials()
    return boto3.session.Session(aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                                 aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                                 region_name=REGION).client(
        "s3", endpoint_url=url, config=BotoConfig(s3={"addressing_style": "path"},
                                                  retries={"mode": "standard", "max_attempts": 3}))


def ensure_bucket(s3, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)


@dataclass
class S3Target:
    """One test's place in the bucket, and the vault settings that point at it."""

    url: str
    bucket: str
    prefix: str
    s3: object = field(repr=False)

    @property
    def settings(self) -> dict:
        return {"blob_url": f"s3://{self.bucket}/{self.prefix}", "s3_endpoint_url": self.url,
                "s3_region": REGION, "s3_addressing_style": "path"}

    def keys(self) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "/")
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def empty(self) -> None:
        for key in self.keys():
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        ups = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix + "/").get("Uploads", [])
        for u in ups:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"])


def new_target(url: str, bucket: str = BUCKET) -> S3Target:
    s3 = client(url)
    ensure_bucket(s3, bucket)
    return S3Target(url, bucket, "t-" + secrets.token_hex(6), s3)
