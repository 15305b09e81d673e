"""Creative images, stored by content hash: ``<root>/ab/cdef...`` for SHA-256 ``abcdef...``.

Why content addressing: the URL of an image is the hash of its bytes, so it never changes meaning;
browsers and CDNs may cache it forever (``immutable``), uploading the same image twice stores it
once, and an ad that names a hash always shows exactly the image the advertiser reviewed.

Only images are accepted, and the type is read from the file's first bytes (PNG, JPEG, GIF, WebP
magic numbers), never from what the client claims: a mislabelled script is refused, and the type
served back is the sniffed one (with ``nosniff``, so browsers do not second-guess it).

Writes are atomic: the bytes go to a temporary file in the target directory, are fsynced, and are
renamed into place, so a reader (or a crash) never sees half an image under a hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class AssetRejected(ValueError):
    """The upload is not acceptable; ``status`` is the HTTP status that says why."""

    status = 400


class AssetTooLarge(AssetRejected):
    status = 413


class UnsupportedAssetType(AssetRejected):
    status = 415


@dataclass(frozen=True)
class StoredAsset:
    sha256: str
    content_type: str
    size: int


def sniff_image_type(data: bytes) -> str | None:
    """The image MIME type from the magic bytes, or None when it is none of the accepted formats."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


class AssetStore:
    """Content-addressed image files under ``root`` (created if missing); safe for threads and processes."""

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        """Where the asset lives; ``ValueError`` for anything but 64 lowercase hex digits (no traversal)."""
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> StoredAsset:
        """Store ``data`` if it is an accepted image within the size limit; idempotent by content."""
        if len(data) > self.max_bytes:
            raise AssetTooLarge(f"asset is {len(data)} bytes; the limit is {self.max_bytes}")
        if not data:
            raise UnsupportedAssetType("asset is empty")
        content_type = sniff_image_type(data)
        if content_type is None:
            raise UnsupportedAssetType("asset is not a PNG, JPEG, GIF or WebP image (checked from its bytes)")
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)  # same content under the same name: a racing writer is harmless
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredAsset(sha256=digest, content_type=content_type, size=len(data))

    def exists(self, sha256: str) -> bool:
        return is_sha256(sha256) and self.path_for(sha256).is_file()

    def get(self, sha256: str) -> tuple[bytes, str] | None:
        """The bytes and sniffed content type, or None when unknown (or not a valid hash)."""
        if not is_sha256(sha256):
            return None
        try:
            data = self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            return None
        return data, sniff_image_type(data) or "application/octet-stream"
