"""``manifest.json``: which index build is current, and the checksums that prove its files are whole.

A build writes everything into a fresh version directory (``v<version>/``), never over files a running
server may have mapped, then writes the manifest **last**, through a temporary file and ``os.replace``,
so a reader sees either the old manifest or the new one, never a half-written one, and never a
manifest naming files that are not there yet. A server reloading checks sizes and SHA-256 of every
listed file before it maps anything: a truncated or altered index is refused while the library could
still crash on it.

Old version directories are pruned by the next build (the newest ``keep`` stay). Deleting a directory
whose files a process still maps is safe on POSIX: the mapping keeps the inode alive.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feedmix.stores.durable_files import fsync_dir

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
_CHUNK = 4 << 20


class ManifestError(ValueError):
    """The manifest or a file it lists is missing, unreadable or not what it says."""


@dataclass(frozen=True)
class Manifest:
    directory: Path
    version: str
    kind: str
    dim: int
    count: int
    #: index directory, relative to ``directory``
    index_dir: str
    #: relative path → {"bytes": int, "sha256": str}
    files: Mapping[str, Mapping[str, Any]]
    raw: Mapping[str, Any]

    @property
    def index_path(self) -> Path:
        return self.directory / self.index_dir


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def describe_files(root: Path, directories: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Size and checksum of every file under the given directories (relative to ``root``)."""
    out: dict[str, dict[str, Any]] = {}
    for rel in directories:
        for path in sorted((root / rel).rglob("*")):
            if path.is_file():
                key = path.relative_to(root).as_posix()
                out[key] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    return out


def write_manifest(directory: str | os.PathLike[str], manifest: Mapping[str, Any]) -> None:
    """Atomically replace ``manifest.json`` (write, fsync, rename, fsync the directory)."""
    d = Path(directory)
    body = {"format": MANIFEST_FORMAT, **manifest}
    tmp = d / f".{MANIFEST_FILE}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(body, indent=2, sort_keys=True))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, d / MANIFEST_FILE)
    fsync_dir(d)


def read_manifest(directory: str | os.PathLike[str]) -> Manifest:
    d = Path(directory)
    try:
        raw = json.loads((d / MANIFEST_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read {d / MANIFEST_FILE}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{d / MANIFEST_FILE} is not a manifest of format {MANIFEST_FORMAT}")
    try:
        files = raw["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
        return Manifest(
            directory=d,
            version=str(raw["version"]),
            kind=str(raw["kind"]),
            dim=int(raw["dim"]),
            count=int(raw["count"]),
            index_dir=str(raw["index_dir"]),
            files=files,
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{d / MANIFEST_FILE} is incomplete: {exc}") from exc


def verify_files(manifest: Manifest, under: str | None = None) -> None:
    """Raise :class:`ManifestError` unless every listed file (below ``under``) has its size and hash."""
    prefix = "" if under is None else under.rstrip("/") + "/"
    checked = 0
    for rel, info in manifest.files.items():
        if not rel.startswith(prefix):
            continue
        path = manifest.directory / rel
        if ".." in Path(rel).parts:
            raise ManifestError(f"manifest lists a path outside its directory: {rel}")
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ManifestError(f"{rel} is missing: {exc}") from exc
        if size != int(info["bytes"]):
            raise ManifestError(f"{rel} has {size} bytes, the manifest says {info['bytes']}")
        if file_sha256(path) != info["sha256"]:
            raise ManifestError(f"{rel} does not match its checksum")
        checked += 1
    if checked == 0:
        raise ManifestError(f"manifest lists no files under {prefix or 'its directory'}")


def prune_versions(directory: str | os.PathLike[str], keep: int, current: str) -> list[str]:
    """Remove all but the newest ``keep`` version directories (never ``current``); return the removed."""
    d = Path(directory)
    versions = sorted(p for p in d.glob("v*") if p.is_dir())
    removed = []
    for p in versions[: max(0, len(versions) - keep)]:
        if p.name != f"v{current}":
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p.name)
    return removed
