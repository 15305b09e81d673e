"""Labelling the whole corpus with one tier: shard by shard into the offline archive (resumable and
idempotent: a written shard is never labelled again), and, when an online store is given, into the
``post_signals`` online features.

A shard whose labelling fails is counted and skipped (its posts keep whatever values the store had), so
one bad shard costs its shard, not the run; rerunning labels only what is missing.

The shards still to label are the partitions of one job on an executor (``feedmix.jobs``): labelled
one after another in this process by default, or as Ray tasks (``--executor ray``), each of which gets
the labeler and the posts once through the object store and labels its rows. The archive and the
online store are written here, by one writer, in shard order, as results arrive; a task's failure
comes back as its error and counts like a local one.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

from feedmix.features.online_store import OnlineStore
from feedmix.jobs.backends import make_executor
from feedmix.jobs.executor import Executor
from feedmix.signals.labeler import Labeler
from feedmix.signals.online_signals import ENTITY, feature_columns, rows_to_write
from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts
from feedmix.signals.signal_archive import SignalArchive, corpus_digest
from feedmix.stores.errors import StoreUnavailable

log = logging.getLogger(__name__)


@dataclass
class BackfillReport:
    tier: str
    model_version: str
    posts: int
    shards: int
    shards_labelled: int
    shards_resumed: int
    shards_failed: int
    posts_labelled: int
    online_rows_written: int
    online_shards_failed: int
    seconds: float
    posts_per_second: float
    gate_counts: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def backfill(
    labeler: Labeler,
    posts: Posts,
    archive: SignalArchive,
    *,
    shard_size: int = 8192,
    online: OnlineStore | None = None,
    online_name: str = "",
    progress: bool = True,
    executor: Executor | None = None,
) -> BackfillReport:
    """``online_name`` identifies the online store (its URL) in the per-shard markers, so a shard whose
    online write failed (the store was down) is written again by the next run, from the archive.
    ``executor`` labels the shards (default: this process, one at a time); ``seconds`` is the time
    spent labelling, summed over the shards wherever they ran."""
    from tqdm import tqdm

    archive.open_run(shard_size, len(posts), corpus_digest(posts.ids))
    n_shards = (len(posts) + shard_size - 1) // shard_size
    pending = [k for k in range(n_shards) if not archive.done(k)]
    ex = executor if executor is not None else make_executor("local")
    results = ex.map(_label_shard, _LabelJob(labeler, posts, shard_size), pending)
    todo = set(pending)
    labelled = resumed = failed = posts_done = online_rows = online_failed = 0
    gates: dict[str, int] = {}
    busy = 0.0
    bar = tqdm(total=len(posts), unit="post", disable=not progress, desc=f"signals backfill ({labeler.name})")
    for k in range(n_shards):
        rows = range(k * shard_size, min((k + 1) * shard_size, len(posts)))
        if k not in todo:
            resumed += 1
            if online is not None and not archive.online_done(k, online_name):
                written = _write_online(online, archive.read([k]))
                if written is None:
                    online_failed += 1
                else:
                    online_rows += written
                    archive.mark_online(k, online_name)
            bar.update(len(rows))
            continue
        sig, error, seconds = next(results)
        busy += seconds
        if sig is None:  # a failing model must not take the run down: count it, keep the old values
            log.error("signals backfill: shard %d failed with %s:\n%s", k, labeler.version, error)
            failed += 1
            bar.update(len(rows))
            continue
        t0 = time.perf_counter()
        archive.write(k, sig)
        busy += time.perf_counter() - t0
        if online is not None:
            written = _write_online(online, sig)
            if written is None:
                online_failed += 1
            else:
                online_rows += written
                archive.mark_online(k, online_name)
        for g in sig.gate:
            gates[g] = gates.get(g, 0) + 1
        labelled += 1
        posts_done += len(rows)
        bar.update(len(rows))
    bar.close()
    return BackfillReport(
        tier=labeler.name,
        model_version=labeler.version,
        posts=len(posts),
        shards=n_shards,
        shards_labelled=labelled,
        shards_resumed=resumed,
        shards_failed=failed,
        posts_labelled=posts_done,
        online_rows_written=online_rows,
        online_shards_failed=online_failed,
        seconds=round(busy, 3),
        posts_per_second=round(posts_done / busy, 1) if busy else 0.0,
        gate_counts=gates,
    )


@dataclass(frozen=True)
class _LabelJob:
    """What every shard's task reads (sent to a cluster once)."""

    labeler: Labeler
    posts: Posts
    shard_size: int


def _label_shard(job: _LabelJob, k: int) -> tuple[PostSignals | None, str, float]:
    """Shard ``k``'s signals, or None and the error's traceback; and the seconds it took."""
    rows = range(k * job.shard_size, min((k + 1) * job.shard_size, len(job.posts)))
    t0 = time.perf_counter()
    try:
        sig = job.labeler.label(job.posts.take(rows))
    except Exception:
        return None, traceback.format_exc(), time.perf_counter() - t0
    return sig, "", time.perf_counter() - t0


def _write_online(online: OnlineStore, sig: PostSignals) -> int | None:
    """Rows written, or None when the store failed (counted; the next run writes the shard again)."""
    keep = rows_to_write(sig)
    cols = {name: values[keep] for name, values in feature_columns(sig).items()}
    keys = [pid for pid, ok in zip(sig.ids, keep, strict=True) if ok]
    try:
        online.write(ENTITY, keys, cols, time.time())
    except StoreUnavailable:
        log.warning("signals backfill: the online store is unavailable; the shard is written next run")
        return None
    return len(keys)
