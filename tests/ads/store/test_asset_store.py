"""Content-addressed creative storage: sniffed types, size limit, atomic idempotent writes."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from feedmix.ads.store.asset_store import AssetStore, AssetTooLarge, UnsupportedAssetType, sniff_image_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + b"JFIF" + bytes(32)
GIF = b"GIF89a" + bytes(20)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(20)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a..", "image/gif"),
        (WEBP, "image/webp"),
    ],
)
def test_images_are_stored_by_hash_and_typed_from_their_bytes(tmp_path: Path, data: bytes, kind: str) -> None:
    store = AssetStore(tmp_path / "assets")
    stored = store.put(data)

    digest = hashlib.sha256(data).hexdigest()
    assert (stored.sha256, stored.content_type, stored.size) == (digest, kind, len(data))
    assert (tmp_path / "assets" / digest[:2] / digest[2:]).read_bytes() == data
    assert store.get(digest) == (data, kind)
    assert store.exists(digest)


@pytest.mark.parametrize(
    "data",
    [b"", b"<script>alert(1)</script>", b"%PDF-1.7", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\x89PNG"],
)
def test_anything_but_an_accepted_image_is_refused(tmp_path: Path, data: bytes) -> None:
    store = AssetStore(tmp_path)
    with pytest.raises(UnsupportedAssetType):
        store.put(data)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_the_size_limit_is_inclusive(tmp_path: Path) -> None:
    store = AssetStore(tmp_path, max_bytes=100)
    store.put(PNG + bytes(100 - len(PNG)))
    with pytest.raises(AssetTooLarge):
        store.put(PNG + bytes(101 - len(PNG)))
    assert AssetStore(tmp_path).max_bytes == 2 * 1024 * 1024


def test_uploading_twice_stores_once_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = AssetStore(tmp_path)
    first = store.put(PNG)
    barrier = threading.Barrier(4)

    def again() -> None:
        barrier.wait()
        assert store.put(PNG) == first

    threads = [threading.Thread(target=again) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first.sha256[2:]]


@pytest.mark.parametrize("name", ["../../etc/passwd", "AB" * 32, "ab" * 31, "zz" * 32, ""])
def test_only_hex_digests_name_assets(tmp_path: Path, name: str) -> None:
    store = AssetStore(tmp_path)
    assert store.get(name) is None
    assert not store.exists(name)
    with pytest.raises(ValueError):
        store.path_for(name)


def test_an_unknown_hash_is_absent(tmp_path: Path) -> None:
    assert AssetStore(tmp_path).get("ab" * 32) is None
    assert sniff_image_type(b"hello") is None
