"""Where compiled tree models live on disk, and the key that says whether one still fits.

Compiling a 300-tree model takes tens of seconds, so it happens when a model is loaded or
registered, never per request, and the result is kept in a directory next to the model file
(``<model dir>/compiled/`` unless the caller names another). A server restart then loads the object
in milliseconds instead of recompiling.

An artifact is only reusable when everything that shaped it is unchanged, so its file name carries
two digests: the model file's SHA-256 (a retrained model never loads a stale object) and a digest of
the compiler's identity (runtime and LLVM versions, compile options, and the host CPU name and
features: the object code is specialised to the CPU it was built on, and loading it on an older CPU
would fault with an illegal instruction rather than raise). A JSON sidecar records the same facts
in readable form for whoever inspects the directory.

Writes are atomic (a temporary file in the same directory, then ``os.replace``), so a process that
loads while another compiles sees either no artifact or a whole one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (the model identity used in artifact names)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def default_cache_dir(model_file: str | Path) -> Path:
    """``<directory of the model file>/compiled``: compiled forms travel with the model they came from."""
    return Path(model_file).resolve().parent / "compiled"


def identity_digest(identity: Mapping[str, Any]) -> str:
    """A short stable digest of a JSON-serialisable description of the compiler and its options."""
    blob = json.dumps(dict(identity), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def artifact_path(
    cache_dir: Path, runtime: str, model_sha: str, identity: Mapping[str, Any], suffix: str
) -> Path:
    """The file an artifact of ``runtime`` for this model and compiler identity is stored under."""
    return cache_dir / f"{runtime}-{model_sha[:24]}-{identity_digest(identity)}{suffix}"


def temporary_sibling(path: Path) -> Path:
    """A unique temporary name in ``path``'s directory (same filesystem, so ``os.replace`` is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def publish(tmp: Path, final: Path, sidecar: Mapping[str, Any]) -> None:
    """Atomically move a finished artifact into place and write its readable description next to it."""
    os.replace(tmp, final)
    meta_tmp = temporary_sibling(final.with_suffix(".json"))
    meta_tmp.write_text(json.dumps(dict(sidecar), indent=2, sort_keys=True) + "\n")
    os.replace(meta_tmp, final.with_suffix(".json"))


def discard(*paths: Path) -> None:
    """Remove files that may or may not exist (a failed compile's leftovers, a broken artifact)."""
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
