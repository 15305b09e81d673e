"""A file-based model registry: every trained version with what it was made from, and which one serves.

Why files and not a database: a model *is* a directory of files (the ranker's ``save(dir)`` writes
them), the serving process must read it from a local disk anyway, and an operator can inspect, copy or
back up a registry with ``ls`` and ``rsync``. Layout under ``root``::

    <name>/
      versions/<version>/      the files the trainer wrote + meta.json (never modified once there)
      state.json               promoted version, the promotion stack and an audit log of changes
      .staging/                registrations in progress (ignored by readers)
      .lock                    flock(2) target serialising state changes across processes

Concurrency, without a server:

- **Registering** writes into a private staging directory, checksums every file, writes
  ``meta.json`` last and publishes the whole directory with one ``rename(2)``. A rename onto an
  existing non-empty directory fails, so two writers that drew the same version name cannot overwrite
  each other (the loser draws a new name). Readers therefore see a version completely or not at all;
  a trainer that dies halfway leaves only a staging directory, which no reader looks at.
- **Promoting / rolling back** is a read-modify-write of ``state.json`` under an exclusive ``flock``
  on ``.lock``, and the new state is written to a temporary file and ``os.replace``-d into place, so a
  serving process polling ``state.json`` without any lock reads the old state or the new one.

Versions are ``<UTC time to the millisecond>Z-<6 hex>`` (``20261126T101500123Z-ab12cd``): sorting the
names sorts by creation time, and the random suffix makes collisions between machines improbable (and
harmless, see above).

A version is refused for promotion when any of its files fails its recorded size or SHA-256: a model
that was truncated by a full disk or altered by hand must never start serving. Rollback is the undo
of the last promotion (a stack, not "the version before in time"), and checks the files the same way.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import json
import logging
import math
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedmix.retrieval.ann.manifest import file_sha256
from feedmix.stores.durable_files import fsync_dir, fsync_file

log = logging.getLogger(__name__)

META_FILE = "meta.json"
STATE_FILE = "state.json"
META_FORMAT = 1
STATE_FORMAT = 1

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_VERSION_RE = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{6}$")
_PUBLISH_ATTEMPTS = 20


class RegistryError(ValueError):
    """A registry operation that cannot be done; the message names the model, version and reason."""


# -- the descriptive data ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataWindow:
    """The training data a version saw: events with ``start_ts <= ts < end_ts`` (unix seconds)."""

    start_ts: float
    end_ts: float
    rows: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_ts) and math.isfinite(self.end_ts)):
            raise RegistryError(f"data window bounds must be finite, got {self.start_ts}..{self.end_ts}")
        if self.start_ts > self.end_ts:
            raise RegistryError(f"data window starts ({self.start_ts}) after it ends ({self.end_ts})")
        if self.rows < 0:
            raise RegistryError(f"data window rows must be >= 0, got {self.rows}")

    def as_dict(self) -> dict[str, Any]:
        return {"start_ts": self.start_ts, "end_ts": self.end_ts, "rows": self.rows}


@dataclass(frozen=True)
class ModelMeta:
    """What the trainer knows about a model: the caller fills this in, the registry stores it.

    ``features`` are the input names in the order the model expects them (a server checks it can
    provide them before serving the model); ``params`` the hyper-parameters (JSON values);
    ``metrics`` offline evaluation numbers (``"click.auc"``-style flat names keep the list table
    readable).
    """

    data_window: DataWindow
    features: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        feats = tuple(self.features)
        object.__setattr__(self, "features", feats)
        bad = [f for f in feats if not isinstance(f, str) or not f]
        if bad:
            raise RegistryError(f"feature names must be non-empty strings, got {bad!r}")
        dupes = sorted({f for f in feats if feats.count(f) > 1})
        if dupes:
            raise RegistryError(f"features listed more than once: {dupes}")
        metrics: dict[str, float] = {}
        for key, value in dict(self.metrics).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise RegistryError(f"metric {key!r} must be a finite number, got {value!r}")
            metrics[str(key)] = float(value)
        object.__setattr__(self, "metrics", metrics)
        params = dict(self.params)
        try:
            json.dumps(params, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise RegistryError(f"params must be JSON values: {exc}") from exc
        object.__setattr__(self, "params", params)

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_window": self.data_window.as_dict(),
            "features": list(self.features),
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelMeta:
        w = raw["data_window"]
        return cls(
            data_window=DataWindow(float(w["start_ts"]), float(w["end_ts"]), int(w["rows"])),
            features=tuple(raw["features"]),
            params=dict(raw.get("params", {})),
            metrics=dict(raw.get("metrics", {})),
            description=str(raw.get("description", "")),
        )


@dataclass(frozen=True)
class CodeVersion:
    """The code that trained a version: the git commit when run from a checkout, else the package."""

    package_version: str
    git_commit: str | None = None
    #: uncommitted changes to tracked files when it was trained (None: not a git checkout)
    git_dirty: bool | None = None

    def describe(self) -> str:
        if self.git_commit is None:
            return f"feedmix {self.package_version}"
        return self.git_commit[:12] + ("+dirty" if self.git_dirty else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "package_version": self.package_version,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CodeVersion:
        commit = raw.get("git_commit")
        dirty = raw.get("git_dirty")
        return cls(
            package_version=str(raw.get("package_version", "?")),
            git_commit=None if commit is None else str(commit),
            git_dirty=None if dirty is None else bool(dirty),
        )


@dataclass(frozen=True)
class FileDigest:
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ModelVersion:
    """One registered version as stored; ``promoted`` is as of the moment it was read."""

    name: str
    version: str
    path: Path
    created_at: float
    meta: ModelMeta
    code: CodeVersion
    #: path relative to ``path`` -> size and checksum (every file except meta.json)
    files: Mapping[str, FileDigest]
    promoted: bool = False

    def as_dict(self) -> dict[str, Any]:
        """``meta.json``'s content plus where it is and whether it is promoted (for JSON output)."""
        return {
            **_meta_body(self),
            "path": str(self.path),
            "promoted": self.promoted,
        }


@dataclass(frozen=True)
class PromotionEvent:
    """One line of the audit log in ``state.json``."""

    action: str  # "promote" or "rollback"
    version: str
    previous: str | None
    at: float


@dataclass(frozen=True)
class RegistryState:
    """``state.json``: what serves, the stack rollback pops, and every change ever made."""

    promoted: str | None
    #: promoted versions, oldest first; the last is ``promoted``, rollback returns to the one before
    stack: tuple[str, ...]
    history: tuple[PromotionEvent, ...]
    #: increases with every change, so a watcher can tell "promoted again" from "still promoted"
    serial: int

    @classmethod
    def empty(cls) -> RegistryState:
        return cls(promoted=None, stack=(), history=(), serial=0)


# -- the code version -------------------------------------------------------------------------------


def current_code_version() -> CodeVersion:
    """The commit of the checkout this package runs from, with a dirty flag; the package version else.

    Only a checkout that *tracks* this package counts: an installed copy inside some unrelated
    repository (a virtualenv in a project) must not claim that repository's commit.
    """
    from feedmix import __version__

    here = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(
                ["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout if r.returncode == 0 else None

    if git("ls-files", "--error-unmatch", "__init__.py") is None:
        return CodeVersion(package_version=__version__)
    head = git("rev-parse", "HEAD")
    if head is None:
        return CodeVersion(package_version=__version__)
    status = git("status", "--porcelain", "--untracked-files=no")
    return CodeVersion(
        package_version=__version__,
        git_commit=head.strip(),
        git_dirty=None if status is None else bool(status.strip()),
    )


# -- the registry -----------------------------------------------------------------------------------


class ModelRegistry:
    """Versions of named models under one directory; safe for several processes at once (POSIX)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------------------------------

    def model_dir(self, name: str) -> Path:
        _check_name(name)
        return self.root / name

    def version_dir(self, name: str, version: str) -> Path:
        _check_version(name, version)
        return self.model_dir(name) / "versions" / version

    def state_path(self, name: str) -> Path:
        """The file a watcher polls: it changes exactly when the promoted version may have."""
        return self.model_dir(name) / STATE_FILE

    # -- writing versions ------------------------------------------------------------------------

    def register(
        self,
        name: str,
        write_files: Callable[[Path], None],
        meta: ModelMeta,
        *,
        code_version: CodeVersion | None = None,
    ) -> ModelVersion:
        """Store a new version: ``write_files(dir)`` writes the model into ``dir``, then it is published.

        ``write_files`` must not write ``meta.json`` (the registry's) and must write at least one
        file. ``code_version`` defaults to :func:`current_code_version`. The returned version is not
        promoted: that is a decision for ``promote``, after someone looked at the metrics.
        """
        mdir = self.model_dir(name)
        versions = mdir / "versions"
        staging_root = mdir / ".staging"
        versions.mkdir(parents=True, exist_ok=True)
        staging_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=staging_root))
        try:
            write_files(staging)
            files = _digest_files(staging, name)
            code = code_version if code_version is not None else current_code_version()
            for _ in range(_PUBLISH_ATTEMPTS):
                created_at = time.time()
                version = _new_version(created_at)
                mv = ModelVersion(name, version, versions / version, created_at, meta, code, files)
                _write_json(staging / META_FILE, _meta_body(mv))
                fsync_dir(staging)
                try:
                    os.rename(staging, mv.path)
                except OSError as exc:
                    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                        continue  # another writer drew the same name: draw again
                    raise
                fsync_dir(versions)
                log.info("registered model %s version %s (%d files)", name, version, len(files))
                return mv
            raise RegistryError(f"model {name!r}: could not find a free version name")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    # -- reading versions ------------------------------------------------------------------------

    def names(self) -> builtins.list[str]:
        """Models with at least a versions directory, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "versions").is_dir())

    def list(self, name: str) -> builtins.list[ModelVersion]:
        """Every readable version, oldest first, the promoted one marked.

        A version whose ``meta.json`` cannot be read is logged and left out rather than failing the
        whole listing (``get`` names what is wrong with it).
        """
        vdir = self.model_dir(name) / "versions"
        if not vdir.is_dir():
            return []
        promoted = self.state(name).promoted
        out = []
        for p in sorted(vdir.iterdir()):
            if p.name.startswith(".") or not _VERSION_RE.match(p.name):
                continue
            try:
                mv = self._read_version(name, p.name)
            except RegistryError as exc:
                log.warning("skipping unreadable model version: %s", exc)
                continue
            out.append(replace(mv, promoted=p.name == promoted))
        return out

    def get(self, name: str, version: str) -> ModelVersion:
        """One version (raises :class:`RegistryError` naming the model and version if unknown)."""
        mv = self._read_version(name, version)
        return replace(mv, promoted=self.state(name).promoted == version)

    def promoted(self, name: str) -> ModelVersion | None:
        state = self.state(name)
        if state.promoted is None:
            return None
        return replace(self._read_version(name, state.promoted), promoted=True)

    def state(self, name: str) -> RegistryState:
        """``state.json`` as it is now (empty if nothing was ever promoted). Lock-free: see module doc."""
        path = self.state_path(name)
        try:
            text = path.read_text()
        except FileNotFoundError:
            return RegistryState.empty()
        except OSError as exc:
            raise RegistryError(f"model {name!r}: cannot read {path}: {exc}") from exc
        try:
            raw = json.loads(text)
            if raw.get("format") != STATE_FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {STATE_FORMAT}")
            return RegistryState(
                promoted=raw["promoted"],
                stack=tuple(str(v) for v in raw["stack"]),
                history=tuple(
                    PromotionEvent(str(e["action"]), str(e["version"]), e.get("previous"), float(e["at"]))
                    for e in raw["history"]
                ),
                serial=int(raw["serial"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RegistryError(f"model {name!r}: {path} is not a registry state: {exc}") from exc

    def verify(self, version: ModelVersion) -> builtins.list[str]:
        """Problems with a version's files (missing, wrong size, wrong checksum, unexpected); [] if sound."""
        problems: builtins.list[str] = []
        for rel, digest in sorted(version.files.items()):
            path = version.path / rel
            try:
                size = path.stat().st_size
            except OSError:
                problems.append(f"{rel} is missing")
                continue
            if size != digest.bytes:
                problems.append(f"{rel} has {size} bytes, {digest.bytes} were registered")
            elif file_sha256(path) != digest.sha256:
                problems.append(f"{rel} does not match its sha256 checksum")
        if version.path.is_dir():
            for path in sorted(version.path.rglob("*")):
                rel = path.relative_to(version.path).as_posix()
                if not path.is_dir() and rel != META_FILE and rel not in version.files:
                    problems.append(f"{rel} was not part of the registered version")
        return problems

    # -- promotion -------------------------------------------------------------------------------

    def promote(self, name: str, version: str) -> ModelVersion:
        """Make ``version`` the one to serve. Refused if unknown or if its files fail verification.

        Promoting the version that is already promoted changes nothing (so a repeated command does
        not make rollback stop at the same version twice).
        """
        with self._locked(name):
            mv = self._read_version(name, version)
            self._require_sound(mv, "promote")
            state = self.state(name)
            if state.promoted == version:
                return replace(mv, promoted=True)
            new = RegistryState(
                promoted=version,
                stack=(*state.stack, version),
                history=(*state.history, PromotionEvent("promote", version, state.promoted, time.time())),
                serial=state.serial + 1,
            )
            self._write_state(name, new)
        log.info("model %s: promoted %s (was %s)", name, version, state.promoted)
        return replace(mv, promoted=True)

    def rollback(self, name: str) -> ModelVersion:
        """Undo the last promotion: serve the version promoted before it again."""
        with self._locked(name):
            state = self.state(name)
            if len(state.stack) < 2:
                if state.promoted is None:
                    raise RegistryError(
                        f"model {name!r}: nothing is promoted, so there is nothing to roll back"
                    )
                raise RegistryError(
                    f"model {name!r}: no earlier promoted version to roll back to"
                    f" ({state.promoted} is the only one in the promotion history)"
                )
            target = state.stack[-2]
            mv = self._read_version(name, target)
            self._require_sound(mv, "roll back to")
            new = RegistryState(
                promoted=target,
                stack=state.stack[:-1],
                history=(*state.history, PromotionEvent("rollback", target, state.promoted, time.time())),
                serial=state.serial + 1,
            )
            self._write_state(name, new)
        log.info("model %s: rolled back from %s to %s", name, state.promoted, target)
        return replace(mv, promoted=True)

    # -- internals -------------------------------------------------------------------------------

    def _require_sound(self, mv: ModelVersion, what: str) -> None:
        problems = self.verify(mv)
        if problems:
            raise RegistryError(
                f"model {mv.name!r}: refusing to {what} {mv.version}, its files fail verification: "
                + "; ".join(problems)
            )

    def _read_version(self, name: str, version: str) -> ModelVersion:
        path = self.version_dir(name, version)
        meta_path = path / META_FILE
        try:
            text = meta_path.read_text()
        except FileNotFoundError:
            raise RegistryError(
                f"model {name!r} has no version {version!r} in {self.root}"
                " (`feedmix models list` shows the versions)"
            ) from None
        except OSError as exc:
            raise RegistryError(f"model {name!r} version {version}: cannot read {meta_path}: {exc}") from exc
        try:
            raw = json.loads(text)
            if raw.get("format") != META_FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {META_FORMAT}")
            if raw["name"] != name or raw["version"] != version:
                raise ValueError(f"it describes {raw['name']} {raw['version']}")
            return ModelVersion(
                name=name,
                version=version,
                path=path,
                created_at=float(raw["created_at"]),
                meta=ModelMeta.from_dict(raw["meta"]),
                code=CodeVersion.from_dict(raw["code"]),
                files={
                    str(k): FileDigest(int(v["bytes"]), str(v["sha256"])) for k, v in raw["files"].items()
                },
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RegistryError(f"model {name!r} version {version}: {meta_path} is unusable: {exc}") from exc

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Exclusive across processes and threads (each call opens its own file description)."""
        mdir = self.model_dir(name)
        mdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(mdir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write_state(self, name: str, state: RegistryState) -> None:
        body = {
            "format": STATE_FORMAT,
            "name": name,
            "promoted": state.promoted,
            "stack": list(state.stack),
            "history": [
                {"action": e.action, "version": e.version, "previous": e.previous, "at": e.at}
                for e in state.history
            ],
            "serial": state.serial,
        }
        path = self.state_path(name)
        tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            _write_json(tmp, body)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)


# -- helpers ---------------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RegistryError(
            f"invalid model name {name!r}: use letters, digits, '_', '.', '-' (not first), at most 100"
        )


def _check_version(name: str, version: str) -> None:
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise RegistryError(
            f"model {name!r} has no version {version!r}: versions look like 20261126T101500123Z-ab12cd"
            " (`feedmix models list` shows them)"
        )


def _new_version(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return f"{dt:%Y%m%dT%H%M%S}{dt.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def _digest_files(directory: Path, name: str) -> dict[str, FileDigest]:
    """Size and SHA-256 of every file the trainer wrote, each fsynced so the rename publishes data."""
    files: dict[str, FileDigest] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise RegistryError(f"model {name!r}: {rel} is not a regular file or directory")
        if path.is_dir():
            continue
        if rel == META_FILE:
            raise RegistryError(f"model {name!r}: write_files wrote {META_FILE}, which the registry owns")
        fsync_file(path)
        files[rel] = FileDigest(path.stat().st_size, file_sha256(path))
    if not files:
        raise RegistryError(f"model {name!r}: write_files wrote no files")
    return files


def _meta_body(mv: ModelVersion) -> dict[str, Any]:
    return {
        "format": META_FORMAT,
        "name": mv.name,
        "version": mv.version,
        "created_at": mv.created_at,
        "created_at_utc": datetime.fromtimestamp(mv.created_at, tz=UTC).isoformat(timespec="milliseconds"),
        "meta": mv.meta.as_dict(),
        "code": mv.code.as_dict(),
        "files": {k: {"bytes": d.bytes, "sha256": d.sha256} for k, d in sorted(mv.files.items())},
    }


def _write_json(path: Path, body: Mapping[str, Any] | Sequence[Any]) -> None:
    with open(path, "w") as f:
        f.write(json.dumps(body, indent=2, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
