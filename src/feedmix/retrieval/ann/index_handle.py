"""The index a server is serving right now, replaceable while requests are in flight.

Readers never lock: a search reads the current :class:`IndexVersion` (one attribute load, atomic in
Python), then works on that object alone, so a swap in the middle of a search cannot mix two indexes.
The old index stays alive until the last search holding it returns, then its memory map is released
with it. Writers (swap, reload) take a lock so two reloads cannot race.

``reload_if_changed`` follows the build's ``manifest.json``: a new version is checked before it is
mapped (same ``dim`` as the one serving, sizes and checksums of its files, readable by the library,
count as announced); anything wrong refuses the new version and the old one keeps serving. A refused
version is remembered, so a watcher polling every few seconds does not re-hash a bad build each time.

A build that ships more than the index (the content index's community centroids, the collaborative
index's user factors) passes a ``loader``: it opens the whole version as one :class:`AnnIndex`, so the
index and the data that make its queries swap together, never one without the other.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy.typing as npt

from feedmix.retrieval.ann.exclusion_set import ExclusionSet
from feedmix.retrieval.ann.manifest import Manifest, ManifestError, read_manifest, verify_files
from feedmix.retrieval.ann.protocol import AnnIndex, IdArray, ScoreArray
from feedmix.retrieval.ann.registry import load_index

log = logging.getLogger(__name__)

#: opens a verified build (its index files checked) as the index to serve; raise to refuse it
IndexLoader = Callable[[Manifest], AnnIndex]


def load_manifest_index(manifest: Manifest) -> AnnIndex:
    """The default loader: the build's ``index_dir``, memory-mapped."""
    return load_index(manifest.index_path, mmap=True)


class IncompatibleIndex(ValueError):
    """A replacement index that the server cannot use in place of the current one."""


@dataclass(frozen=True)
class IndexVersion:
    index: AnnIndex
    version: str
    path: str | None = None


@dataclass(frozen=True)
class ReloadOutcome:
    status: Literal["unchanged", "swapped", "refused"]
    version: str
    reason: str = ""


class IndexHandle:
    """Holds the serving index; itself usable wherever an :class:`AnnIndex` is expected."""

    def __init__(
        self,
        index: AnnIndex,
        version: str = "initial",
        path: str | None = None,
        loader: IndexLoader = load_manifest_index,
    ) -> None:
        self._current = IndexVersion(index, version, path)
        self._loader = loader
        self._dim = index.dim
        self._write_lock = threading.Lock()
        self._refused: dict[str, str] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        mmap: bool = True,
        verify: bool = True,
        loader: IndexLoader | None = None,
    ) -> IndexHandle:
        """Serve the build that ``directory/manifest.json`` names (raises if it is unusable).

        ``loader`` opens the build (and is kept for reloads); without one the index directory is
        loaded, mapped unless ``mmap`` is False.
        """
        m = read_manifest(directory)
        if verify:
            verify_files(m, under=m.index_dir)
        if loader is None:
            index = load_index(m.index_path, mmap=mmap)
            return cls(index, m.version, str(m.index_path))
        return cls(loader(m), m.version, str(m.index_path), loader=loader)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def current(self) -> IndexVersion:
        return self._current

    @property
    def version(self) -> str:
        return self._current.version

    @property
    def kind(self) -> str:
        return self._current.index.kind

    @property
    def dim(self) -> int:
        return self._dim

    def __len__(self) -> int:
        return len(self._current.index)

    def search(
        self, queries: npt.ArrayLike, k: int, *, exclude: ExclusionSet | None = None
    ) -> tuple[IdArray, ScoreArray]:
        ids, scores, _ = self.search_versioned(queries, k, exclude=exclude)
        return ids, scores

    def search_versioned(
        self, queries: npt.ArrayLike, k: int, *, exclude: ExclusionSet | None = None
    ) -> tuple[IdArray, ScoreArray, str]:
        """Like ``search``, plus the version that answered (for traces and tests)."""
        cur = self._current  # one read: the whole search uses this version
        ids, scores = cur.index.search(queries, k, exclude=exclude)
        return ids, scores, cur.version

    def save(self, path: str | os.PathLike[str]) -> None:
        self._current.index.save(path)

    # -- replacing -------------------------------------------------------------------------------

    def swap(self, index: AnnIndex, version: str, path: str | None = None) -> IndexVersion:
        """Serve ``index`` from now on; returns the version it replaced. Searches under way finish
        on the old one."""
        if index.dim != self._dim:
            raise IncompatibleIndex(f"new index has dim {index.dim}, the server queries with {self._dim}")
        with self._write_lock:
            old = self._current
            self._current = IndexVersion(index, version, path)
        log.info("index swapped: %s -> %s (%d vectors)", old.version, version, len(index))
        return old

    def reload_if_changed(self, directory: str | os.PathLike[str]) -> ReloadOutcome:
        """Swap in the build ``manifest.json`` names if it is new and sound; never raises."""
        with self._write_lock:
            outcome = self._reload_locked(Path(directory))
        if outcome.status == "refused":
            log.warning("index version %s refused: %s", outcome.version, outcome.reason)
        elif outcome.status == "swapped":
            log.info("index reloaded: now serving %s", outcome.version)
        return outcome

    def _reload_locked(self, directory: Path) -> ReloadOutcome:
        try:
            m = read_manifest(directory)
        except ManifestError as exc:
            return ReloadOutcome("refused", "?", str(exc))
        if m.version == self._current.version:
            return ReloadOutcome("unchanged", m.version)
        key = f"{m.version}:{m.raw.get('files')!r}"
        if key in self._refused:
            return ReloadOutcome("refused", m.version, self._refused[key])
        try:
            if m.dim != self._dim:
                raise IncompatibleIndex(f"manifest says dim {m.dim}, the server queries with {self._dim}")
            verify_files(m, under=m.index_dir)
            index = self._loader(m)
            if index.dim != self._dim or len(index) != m.count:
                raise IncompatibleIndex(
                    f"index has dim {index.dim} and {len(index)} vectors, manifest says {m.dim} and {m.count}"
                )
        except Exception as exc:  # anything wrong with the new build: keep serving the old one
            reason = f"{type(exc).__name__}: {exc}"
            self._refused[key] = reason
            return ReloadOutcome("refused", m.version, reason)
        self._current = IndexVersion(index, m.version, str(m.index_path))
        return ReloadOutcome("swapped", m.version)

    # -- watching --------------------------------------------------------------------------------

    def start_watching(self, directory: str | os.PathLike[str], interval_s: float = 5.0) -> None:
        """Poll ``directory/manifest.json`` on a daemon thread and reload when it changes."""
        if self._watcher is not None:
            raise RuntimeError("already watching")
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.reload_if_changed(directory)

        self._watcher = threading.Thread(target=loop, name="ann-index-watch", daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._stop.set()
            self._watcher.join()
            self._watcher = None
