"""The serving corpus' signals, ready for the ads mixer: read from the production tier's archive when a
backfill of this model version covers the corpus, otherwise labelled once in a background thread (and
archived, so the next start reads them). Serving does not wait: until the table is ready every post is
unrated, which is the safe default (``strict`` ad groups wait, contextual groups do not serve).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from feedmix.signals.corpus_posts import read_corpus_posts
from feedmix.signals.labeler import Labeler
from feedmix.signals.post_signal_table import PostSignalTable
from feedmix.signals.posts import Posts
from feedmix.signals.signal_archive import SignalArchive, corpus_digest

log = logging.getLogger(__name__)
SHARD = 8192


def from_archive(archive: SignalArchive, ids: list[str]) -> PostSignalTable | None:
    """The table over ``ids``, if the archive holds a value for (nearly) every one of them."""
    if not archive.shards():
        return None
    table = PostSignalTable.from_signals(archive.read(), ids)
    return table if table.labelled >= 0.99 * len(ids) else None


class CorpusSignals:
    """Loads or labels the corpus' signals off the request path; ``on_ready`` receives the table."""

    def __init__(
        self,
        posts_path: Path,
        labeler: Labeler,
        state_dir: Path,
        on_ready: Callable[[PostSignalTable], None],
        *,
        label_missing: bool = False,
        corpus_ids: list[str] | None = None,
        tier: str | None = None,
    ) -> None:
        """``corpus_ids``: the rows the table is aligned with (the serving corpus' ids; default the
        posts file's order). ``tier``: label in a child process that loads this tier itself, so the
        labelling's Python work never holds the serving process's GIL (a request would wait behind it and
        miss its deadline); without it the labelling runs on this process's thread."""
        self.posts_path = posts_path
        self.labeler = labeler
        self.state_dir = state_dir
        self.on_ready = on_ready
        self.label_missing = label_missing
        self.corpus_ids = corpus_ids
        self.tier = tier
        self.table: PostSignalTable | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="signals-corpus", daemon=True)

    def start(self) -> CorpusSignals:
        self._thread.start()
        return self

    def wait(self, timeout_s: float) -> bool:
        self._thread.join(timeout_s)
        return self.table is not None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run(self) -> None:
        """Load or label now, on the calling thread (``start`` runs this in the background)."""
        t0 = time.perf_counter()
        try:
            posts = read_corpus_posts(self.posts_path)
            ids = self.corpus_ids if self.corpus_ids is not None else posts.ids
            table = None
            for archive in (self._full_archive(), self._slice_archive(posts)):
                table = from_archive(archive, ids)
                if table is not None:
                    break
            if table is None and self.label_missing:
                labelled = self._label(posts)
                table = PostSignalTable.from_signals(labelled.read(), ids) if labelled is not None else None
            if table is None:
                log.info(
                    "signals: no archive of %s covers the corpus; posts stay unrated", self.labeler.version
                )
                return
            self.table = table
            self.on_ready(table)
            log.info(
                "signals: %d of %d corpus posts rated by %s in %.1f s",
                table.labelled,
                len(posts),
                table.model_version,
                time.perf_counter() - t0,
            )
        except Exception as e:  # never take serving down: posts stay unrated
            self.error = f"{type(e).__name__}: {e}"
            log.exception("signals: the corpus could not be labelled; posts stay unrated")

    def _full_archive(self) -> SignalArchive:
        """Where ``feedmix signals backfill`` writes this model version's values for the whole corpus."""
        return SignalArchive(self.state_dir, self.labeler.name, self.labeler.version)

    def _slice_archive(self, posts: Posts) -> SignalArchive:
        """Where this class labels a corpus slice (the demo's) the full backfill does not cover."""
        return SignalArchive(
            self.state_dir, self.labeler.name, f"{self.labeler.version}@{corpus_digest(posts.ids)}"
        )

    def _label(self, posts: Posts) -> SignalArchive | None:
        """Label the corpus shard by shard into an archive of its own (this corpus slice, this model)."""
        archive = self._slice_archive(posts)
        if self.tier is not None:
            import multiprocessing

            child = multiprocessing.get_context("spawn").Process(
                target=label_into_archive,
                args=(self.posts_path, self.tier, self.state_dir, archive.model_version),
                name="signals-corpus-labelling",
                daemon=True,
            )
            child.start()
            while child.is_alive():
                if self._stop.wait(0.2):  # the server is stopping: the half-done archive resumes next start
                    child.terminate()
                    child.join(5)
                    return None
            if child.exitcode != 0:
                raise RuntimeError(f"the labelling process exited with {child.exitcode}")
            return archive
        archive.open_run(SHARD, len(posts), corpus_digest(posts.ids))
        for k in range(0, (len(posts) + SHARD - 1) // SHARD):
            if self._stop.is_set():
                return None
            if not archive.done(k):
                chunk = posts.take(range(k * SHARD, min((k + 1) * SHARD, len(posts))))
                archive.write(k, self.labeler.label(chunk))
        return archive


def load_corpus_table(
    posts_path: Path, corpus_ids: list[str], state_dir: Path, tier: str
) -> PostSignalTable | None:
    """The corpus' signals from an archive of the tier's current model, read now (None: no archive
    covers the corpus); what training reads, so a model trains on the values serving hydrates."""
    from feedmix.signals.signals_runtime import production_labeler

    labeler = production_labeler(tier, state_dir)
    loader = CorpusSignals(posts_path, labeler, state_dir, lambda table: None, corpus_ids=corpus_ids)
    loader.run()
    return loader.table


def label_into_archive(posts_path: Path, tier: str, state_dir: Path, archive_version: str) -> int:
    """In a child process: label the posts file with ``tier`` into the archive ``archive_version``."""
    from feedmix.signals.signals_runtime import production_labeler

    posts = read_corpus_posts(posts_path)
    labeler = production_labeler(tier, state_dir)
    archive = SignalArchive(state_dir, labeler.name, archive_version)
    archive.open_run(SHARD, len(posts), corpus_digest(posts.ids))
    for k in range(0, (len(posts) + SHARD - 1) // SHARD):
        if not archive.done(k):
            archive.write(k, labeler.label(posts.take(range(k * SHARD, min((k + 1) * SHARD, len(posts))))))
    return len(posts)
