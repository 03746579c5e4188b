"""Where products are stored and how clients download them: a local directory or S3."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from deepres.errors import InvalidInput
from deepres.storage.base import Storage
from deepres.storage.keys import validate_key, validate_prefix
from deepres.storage.local import LocalStorage
from deepres.storage.s3 import MAX_PRESIGN_SECONDS, S3Storage

__all__ = [
    "MAX_PRESIGN_SECONDS",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "open_storage",
    "validate_key",
    "validate_prefix",
]


def open_storage(
    url: str,
    *,
    public_url: str,
    signing_key: bytes,
    s3_endpoint_url: str | None = None,
    s3_region: str = "us-east-1",
) -> Storage:
    """The store named by `url`: `s3://bucket/prefix`, `file:///path` or a plain path.

    `public_url` and `signing_key` make the local store's links; the S3 options reach boto3.
    """
    scheme = urlparse(url).scheme.lower()
    if scheme == "s3":
        parsed = urlparse(url)
        return S3Storage(parsed.netloc, parsed.path, endpoint_url=s3_endpoint_url, region=s3_region)
    if scheme == "file":
        # file:///abs/path and the lenient file://relative/path both name a directory.
        return LocalStorage(Path(url[len("file://") :]), public_url, signing_key)
    if scheme and len(scheme) > 1:  # "C:\\..." parses with scheme "c": a path, not a URL
        raise InvalidInput(
            f"Unsupported storage URL {url!r}: use file:///path, a path, or s3://bucket/prefix."
        )
    return LocalStorage(Path(url), public_url, signing_key)
