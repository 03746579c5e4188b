"""LocalStorage: files under a root, HMAC-signed expiring links, keys that cannot escape."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from deepres.errors import InvalidInput
from deepres.storage import LocalStorage, Storage, open_storage

KEY = "0b7c3f9e-job/29UPU/2017-06-17_MS.tif"


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store", "http://deepres.test:8000/", b"secret-key")


@pytest.fixture
def product(tmp_path: Path) -> Path:
    path = tmp_path / "product.tif"
    path.write_bytes(b"II*\x00 a tiny stand-in for a COG")
    return path


def link_parts(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["expires"][0], query["signature"][0]


def test_put_file_stores_the_bytes(store: LocalStorage, product: Path) -> None:
    assert isinstance(store, Storage)
    assert not store.exists(KEY) and store.get_local_path(KEY) is None
    store.put_file(product, KEY)
    assert store.exists(KEY)
    stored = store.get_local_path(KEY)
    assert stored == store.root / KEY
    assert stored.read_bytes() == product.read_bytes()
    assert [p.name for p in stored.parent.iterdir()] == ["2017-06-17_MS.tif"]  # no .part left


def test_signed_url_round_trip(store: LocalStorage, product: Path) -> None:
    store.put_file(product, KEY)
    before = int(time.time())
    url = store.url(KEY, 7 * 24 * 3600)
    assert url.startswith(f"http://deepres.test:8000/files/{KEY}?expires=")
    path, expires, signature = link_parts(url)
    assert path == f"/files/{KEY}"
    assert before + 604800 <= int(expires) <= int(time.time()) + 604800
    assert len(signature) == 64
    assert store.verify_signed(KEY, expires, signature)
    assert store.verify_signed(KEY, int(expires), signature)


def test_tampered_links_are_refused(store: LocalStorage) -> None:
    _, expires, signature = link_parts(store.url(KEY, 3600))
    other_key = KEY.replace("2017-06-17", "2017-06-18")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not store.verify_signed(other_key, expires, signature)
    assert not store.verify_signed(KEY, int(expires) + 3600, signature)
    assert not store.verify_signed(KEY, expires, flipped)
    assert not store.verify_signed(KEY, "soon", signature)
    assert not store.verify_signed(KEY, expires, "")
    stranger = LocalStorage(store.root, "http://deepres.test:8000", b"another-key")
    assert not stranger.verify_signed(KEY, expires, signature)


def test_expired_links_are_refused(store: LocalStorage) -> None:
    _, expires, signature = link_parts(store.url(KEY, 60))
    assert store.verify_signed(KEY, expires, signature, now=int(expires) - 1)
    assert not store.verify_signed(KEY, expires, signature, now=int(expires) + 1)
    with pytest.raises(InvalidInput):
        store.url(KEY, 0)


@pytest.mark.parametrize(
    "key",
    [
        "../outside.tif",
        "job/../../outside.tif",
        "/etc/passwd",
        "job\\..\\outside.tif",
        "job//x.tif",
        "job/./x.tif",
        ".hidden",
        "",
        "job/x.tif\x00",
    ],
)
def test_keys_cannot_escape_the_root(store: LocalStorage, product: Path, key: str) -> None:
    with pytest.raises(InvalidInput):
        store.put_file(product, key)
    with pytest.raises(InvalidInput):
        store.get_local_path(key)
    with pytest.raises(InvalidInput):
        store.url(key, 60)
    assert not store.verify_signed(key, int(time.time()) + 60, store.sign(key, 0))
    assert not (store.root.parent / "outside.tif").exists()


def test_symlink_inside_the_root_cannot_lead_out(store: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    (store.root / "link").symlink_to(outside)
    with pytest.raises(InvalidInput):
        store.get_local_path("link/secret.txt")


def test_delete_prefix_removes_only_matching_keys(store: LocalStorage, product: Path) -> None:
    keys = ["job1/29UPU/a.tif", "job1/29UPV/b.tif", "job10/29UPU/c.tif", "job2/29UPU/d.tif"]
    for key in keys:
        store.put_file(product, key)
    store.delete_prefix("job1/")
    assert [store.exists(k) for k in keys] == [False, False, True, True]
    assert not (store.root / "job1").exists()
    store.delete_prefix("job")
    assert not any(store.exists(k) for k in keys)
    assert store.root.is_dir() and list(store.root.iterdir()) == []
    store.delete_prefix("nothing/here/")  # absent prefixes are fine


def test_open_storage_reads_file_urls_and_paths(tmp_path: Path) -> None:
    by_url = open_storage(f"file://{tmp_path}/a", public_url="http://x", signing_key=b"k")
    by_path = open_storage(str(tmp_path / "b"), public_url="http://x", signing_key=b"k")
    assert isinstance(by_url, LocalStorage) and by_url.root == tmp_path / "a"
    assert isinstance(by_path, LocalStorage) and by_path.root == tmp_path / "b"
    with pytest.raises(InvalidInput):
        open_storage("ftp://host/dir", public_url="http://x", signing_key=b"k")
    with pytest.raises(InvalidInput):
        open_storage(str(tmp_path / "c"), public_url="http://x", signing_key=b"")
