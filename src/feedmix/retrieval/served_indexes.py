"""The retrieval indexes a server serves: opened (or built) at startup, watched, reloaded on demand.

Two named slots under one directory (layout in :mod:`feedmix.retrieval.index_build`): ``content``
and ``collab``. A slot may be empty (no collaborative build until the event log has enough
interactions) and fills itself when a first build appears; after that its
:class:`~feedmix.retrieval.ann.index_handle.IndexHandle` swaps newer builds in, and a corrupt or
incompatible one is refused while the old one keeps serving. One watcher thread polls both slots
(what ``IndexHandle.start_watching`` does for one handle, plus noticing a first build);
``POST /v1/admin/index/reload`` runs the same check at once and reports the outcome.

Startup build: with ``build_on_start`` a missing (or unusable, or other-corpus) content build is built
into the directory before the server starts. That must be quick on the demo: the 42k-post slice took
1.0-2.2 s on one thread on this shared 2-core machine (text embeddings 0.7-1.8 s of it; the exact index
0.01 s; saving, centroids and checksums 0.3 s), once; later starts open the published build,
memory-mapped, in 0.02 s.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import faiss

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.retrieval.ann.index_handle import IndexHandle, IndexLoader, IndexVersion
from feedmix.retrieval.ann.manifest import ManifestError, read_manifest
from feedmix.retrieval.ann.registry import resolve_kind
from feedmix.retrieval.collab_index import load_collab_index
from feedmix.retrieval.content_index import build_content_index, corpus_fingerprint, load_content_index
from feedmix.retrieval.index_build import COLLAB_DIR, CONTENT_DIR

log = logging.getLogger(__name__)

Status = Literal["absent", "opened", "unchanged", "swapped", "refused"]


@dataclass(frozen=True)
class IndexStatus:
    status: Status
    version: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class ServedIndex:
    """One named index of a server; ``current()`` is None until a sound build has been opened."""

    def __init__(self, name: str, directory: str | os.PathLike[str], loader: IndexLoader) -> None:
        self.name = name
        self.directory = Path(directory)
        self._loader = loader
        self._handle: IndexHandle | None = None
        self._lock = threading.Lock()
        self._refused_first: tuple[str, str] | None = None

    @property
    def handle(self) -> IndexHandle | None:
        return self._handle

    def current(self) -> IndexVersion | None:
        """The version serving now (one attribute read: use the object for the whole request)."""
        handle = self._handle
        return handle.current if handle is not None else None

    def reload(self) -> IndexStatus:
        """Open the first build, or swap in a newer sound one; never raises."""
        with self._lock:
            handle = self._handle
            if handle is not None:
                o = handle.reload_if_changed(self.directory)
                return IndexStatus(o.status, o.version, o.reason)
            try:
                m = read_manifest(self.directory)
            except ManifestError as exc:
                if not (self.directory / "manifest.json").exists():
                    return IndexStatus("absent", reason=f"no build in {self.directory}")
                return IndexStatus("refused", "?", str(exc))
            if self._refused_first is not None and self._refused_first[0] == m.version:
                return IndexStatus("refused", m.version, self._refused_first[1])
            try:
                self._handle = IndexHandle.open(self.directory, loader=self._loader)
            except Exception as exc:  # a corrupt first build: stay empty, say why
                reason = f"{type(exc).__name__}: {exc}"
                self._refused_first = (m.version, reason)
                log.warning("%s index %s refused: %s", self.name, m.version, reason)
                return IndexStatus("refused", m.version, reason)
            log.info("%s index opened: %s", self.name, self._handle.version)
            return IndexStatus("opened", self._handle.version)


class RetrievalIndexes:
    """The ``content`` and ``collab`` slots of one index directory, and the thread that watches it."""

    def __init__(
        self, directory: str | os.PathLike[str], content_loader: IndexLoader = load_content_index
    ) -> None:
        self.directory = Path(directory)
        self.content = ServedIndex(CONTENT_DIR, self.directory / CONTENT_DIR, content_loader)
        self.collab = ServedIndex(COLLAB_DIR, self.directory / COLLAB_DIR, load_collab_index)
        #: what opening did (build time, first statuses), for logs and tests
        self.startup: dict[str, Any] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        corpus: RedditCorpus,
        *,
        build_on_start: bool = True,
        build_kind: str = "auto",
        watch_interval_s: float = 0.0,
        threads: int = 1,
        shards: str = "",
    ) -> RetrievalIndexes:
        """Open both slots for serving ``corpus``; build the content index first if it is missing.

        Also sets faiss' OpenMP pool to one thread: this process serves one query per request
        thread (see :mod:`feedmix.retrieval.ann.faiss_threads`). ``shards`` (replica addresses,
        ``"a0,a0b;a1"``): the content build's posts are searched on those shard servers, its query
        data stays here (:mod:`feedmix.retrieval.shards.sharded_content`).
        """
        faiss.omp_set_num_threads(1)
        loader: IndexLoader = load_content_index
        if shards:
            from feedmix.retrieval.shards.sharded_content import sharded_content_loader

            loader = sharded_content_loader(shards)
        indexes = cls(directory, content_loader=loader)
        fingerprint = corpus_fingerprint(corpus)
        if build_on_start and not _content_build_matches(indexes.content.directory, fingerprint):
            indexes._build_content(corpus, build_kind, threads)
        status = indexes.content.reload()
        if status.status == "refused" and build_on_start and "content_build_s" not in indexes.startup:
            log.warning("content index refused (%s): rebuilding", status.reason)
            indexes._build_content(corpus, build_kind, threads)
            indexes.content = ServedIndex(CONTENT_DIR, indexes.directory / CONTENT_DIR, loader)
            status = indexes.content.reload()
        indexes.startup["content"] = status.as_dict()
        indexes.startup["collab"] = indexes.collab.reload().as_dict()
        current = indexes.content.current()
        served = getattr(current.index, "corpus_fingerprint", "") if current is not None else ""
        if served and served != fingerprint:
            log.warning(
                "content index %s was built from another corpus (%s, serving %s): posts it returns that"
                " this corpus lacks are dropped; rebuild with `feedmix index build`",
                current.version if current else "?",
                served,
                fingerprint,
            )
        if watch_interval_s > 0:
            indexes.start_watching(watch_interval_s)
        return indexes

    def _build_content(self, corpus: RedditCorpus, build_kind: str, threads: int) -> None:
        """Build the content index; a failed build is logged and the server starts without it
        (a bad ``build_kind`` is a configuration error and raises)."""
        kind = resolve_kind(build_kind, len(corpus))
        log.info("building the content index (%d posts, %s) into %s", len(corpus), kind, self.directory)
        t0 = time.perf_counter()
        try:
            build_content_index(corpus, self.directory / CONTENT_DIR, kind, threads=threads, progress=False)
        except Exception as exc:
            log.exception("content index build failed: serving without embedding retrieval")
            self.startup["content_build_error"] = f"{type(exc).__name__}: {exc}"
        self.startup["content_build_s"] = round(time.perf_counter() - t0, 3)
        log.info("content index built in %.1f s", self.startup["content_build_s"])

    def reload(self) -> dict[str, IndexStatus]:
        """Check both slots now (what the watcher does every interval)."""
        return {slot.name: slot.reload() for slot in (self.content, self.collab)}

    def versions(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for slot in (self.content, self.collab):
            cur = slot.current()
            out[slot.name] = cur.version if cur is not None else None
        return out

    def start_watching(self, interval_s: float) -> None:
        if self._watcher is not None:
            raise RuntimeError("already watching")
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.reload()
                except Exception:  # the watcher must outlive any one bad poll
                    log.exception("index watcher poll failed")

        self._watcher = threading.Thread(target=loop, name="retrieval-index-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching (the mapped indexes are released with the last reference)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None


def _content_build_matches(directory: Path, fingerprint: str) -> bool:
    """A content build of this corpus is published in ``directory`` (not verified here)."""
    try:
        m = read_manifest(directory)
    except ManifestError:
        return False
    built_from = m.raw.get("corpus_fingerprint")
    if built_from != fingerprint:
        log.info(
            "content index in %s was built from %s, not this corpus (%s)", directory, built_from, fingerprint
        )
        return False
    return True
