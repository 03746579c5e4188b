"""Products in an S3 (or S3-compatible) bucket, handed out through presigned URLs."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from deepres.errors import InvalidInput, StorageError
from deepres.storage.keys import validate_key, validate_prefix

#: SigV4 presigned URLs cannot live longer than seven days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def _media_type(key: str) -> str:
    if key.lower().endswith((".tif", ".tiff")):
        return COG_MEDIA_TYPE
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class S3Storage:
    """Objects under `s3://{bucket}/{prefix}`; `url` gives a SigV4 presigned GET.

    With `endpoint_url` (MinIO, Ceph, moto…) requests use path-style addressing, which those
    stores expect. Credentials come from boto3's usual chain.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        if not bucket:
            raise InvalidInput("An S3 storage URL needs a bucket: s3://bucket/prefix.")
        self.bucket = bucket
        self.prefix = f"{validate_prefix(prefix.strip('/'))}/" if prefix.strip("/") else ""
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 5, "mode": "standard"},
        )
        self._client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put_file(self, local_path: Path, key: str) -> None:
        """Uploads `local_path` as `key` (multipart for large files)."""
        try:
            self._client.upload_file(
                str(local_path),
                self.bucket,
                self._key(key),
                ExtraArgs={"ContentType": _media_type(key)},
            )
        except (Boto3Error, BotoCoreError, ClientError, OSError) as exc:
            raise StorageError(f"Cannot upload {local_path} to s3://{self.bucket}: {exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether `key` is in the bucket."""
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"Cannot look up {key} in s3://{self.bucket}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"Cannot reach s3://{self.bucket}: {exc}") from exc
        return True

    def url(self, key: str, expires_seconds: int) -> str:
        """A presigned GET for `key`, valid `expires_seconds` (at most seven days)."""
        if not 0 < expires_seconds <= MAX_PRESIGN_SECONDS:
            raise InvalidInput(
                f"S3 links must expire within 1 to {MAX_PRESIGN_SECONDS} seconds "
                f"(7 days); asked for {expires_seconds}."
            )
        try:
            url: str = self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._key(key)},
                ExpiresIn=expires_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"Cannot sign a link to {key}: {exc}") from exc
        return url

    def delete_prefix(self, prefix: str) -> None:
        """Deletes every object whose key starts with `prefix`."""
        full = self.prefix + validate_prefix(prefix)
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            )
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
            for start in range(0, len(keys), _DELETE_BATCH):
                batch = keys[start : start + _DELETE_BATCH]
                self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"Cannot delete {prefix!r} from s3://{self.bucket}: {exc}") from exc

    def get_local_path(self, key: str) -> Path | None:
        """Always None: objects in S3 have no local file."""
        validate_key(key)
        return None
