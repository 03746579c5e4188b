"""S3Storage against moto's real S3 protocol server on loopback (no AWS reachable here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from deepres.errors import InvalidInput, StorageError
from deepres.storage import S3Storage, Storage, open_storage

BUCKET = "deepres-results"
KEY = "0b7c3f9e-job/29UPU/2017-06-17_MS.tif"
SEVEN_DAYS = 7 * 24 * 3600


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def bucket(endpoint: str, credentials: None) -> Iterator[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield BUCKET
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for obj in objects:
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def store(endpoint: str, bucket: str) -> Storage:
    return open_storage(
        f"s3://{bucket}/products",
        public_url="http://unused",
        signing_key=b"unused",
        s3_endpoint_url=endpoint,
    )


@pytest.fixture
def product(tmp_path: Path) -> Path:
    path = tmp_path / "product.tif"
    path.write_bytes(b"II*\x00" + bytes(range(256)) * 64)
    return path


def test_put_file_and_presigned_download(store: Storage, product: Path, endpoint: str) -> None:
    assert isinstance(store, S3Storage)
    assert not store.exists(KEY)
    store.put_file(product, KEY)
    assert store.exists(KEY)
    assert store.get_local_path(KEY) is None
    url = store.url(KEY, SEVEN_DAYS)
    parts = urlsplit(url)
    assert url.startswith(f"{endpoint}/{BUCKET}/products/{KEY}?")  # path-style, under the prefix
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["604800"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    response = httpx.get(url)  # no credentials: the signature in the URL is the only key
    assert response.status_code == 200
    assert response.content == product.read_bytes()
    assert response.headers["content-type"].startswith("image/tiff")


def test_link_lifetime_is_bounded(store: Storage) -> None:
    assert "X-Amz-Expires=3600" in store.url(KEY, 3600)
    with pytest.raises(InvalidInput):
        store.url(KEY, SEVEN_DAYS + 1)
    with pytest.raises(InvalidInput):
        store.url(KEY, 0)


def test_delete_prefix(store: Storage, product: Path, endpoint: str) -> None:
    keys = ["job1/29UPU/a.tif", "job1/29UPV/b.tif", "job10/29UPU/c.tif"]
    for key in keys:
        store.put_file(product, key)
    store.delete_prefix("job1/")
    assert [store.exists(k) for k in keys] == [False, False, True]
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    remaining = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert remaining == ["products/job10/29UPU/c.tif"]


def test_bad_keys_are_refused(store: Storage, product: Path) -> None:
    for key in ("../escape.tif", "/abs.tif", "a\\b.tif"):
        with pytest.raises(InvalidInput):
            store.put_file(product, key)
        with pytest.raises(InvalidInput):
            store.url(key, 60)


def test_missing_bucket_is_a_storage_error(endpoint: str, credentials: None, product: Path) -> None:
    store = S3Storage("no-such-bucket", endpoint_url=endpoint)
    with pytest.raises(StorageError, match="no-such-bucket"):
        store.put_file(product, KEY)
    with pytest.raises(StorageError):
        store.delete_prefix("job/")
