"""Which blob store the settings name.

The S3 store is imported only when named, so boto3 stays optional.
"""

from __future__ import annotations

from vault.config import ConfigError
from vault.storage.blobs import BlobStore, FolderBlobStore


def open_blob_store(config) -> BlobStore:
    """The store the settings name: the data folder's `blobs` by default, or an S3 bucket."""
    if not config.blob_url:
        return FolderBlobStore(config.blob_dir)
    if not config.blob_url.startswith("s3://"):
        raise ConfigError(f"blob_url must be empty (the data folder) or s3://bucket/prefix, got {config.blob_url!r}")
    try:
        from vault.storage.s3 import S3BlobStore
    except ModuleNotFoundError as exc:
        if exc.name not in ("boto3", "botocore", "s3transfer"):
            raise
        raise ConfigError("blob_url is an S3 bucket but boto3 is not installed: "
                          "pip install 'evidence-vault[s3]'") from exc
    return S3BlobStore.from_config(config)
