"""New posts labelled as they arrive: a thread tails the posts log, labels each micro-batch with the
production tier (the student: milliseconds), writes the ``post_signals`` online features and keeps the
latest values in memory for ``GET /v1/posts/{id}/signals``; a second, slower pass refines them with the
teacher when one is configured. How long after arrival a post got its values is measured per tier
(``feedmix_signals_freshness_seconds``), which is the SLO's "labelled within N seconds".

Where each pass has got to is checkpointed beside the log, so a restart resumes after the last labelled
post instead of labelling the whole log again; a batch whose labelling fails is counted, its posts keep
their previous values, and the pass moves on (a poisoned post cannot wedge the stream).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from feedmix.events.event_log import EventLog
from feedmix.features.online_store import OnlineStore
from feedmix.signals.labeler import Labeler
from feedmix.signals.new_post import NewPost
from feedmix.signals.online_signals import ENTITY, feature_columns, rows_to_write
from feedmix.signals.post_signals import PostSignals
from feedmix.signals.posts import Posts

log = logging.getLogger(__name__)

LABELLED = Counter("feedmix_signals_labelled_total", "Posts labelled by the streaming path", ["tier"])
FAILED = Counter(
    "feedmix_signals_failed_total", "Posts whose labelling failed (values left as they were)", ["tier"]
)
GATED = Counter("feedmix_signals_gated_total", "Posts the input gate answered without a model", ["status"])
FRESHNESS = Histogram(
    "feedmix_signals_freshness_seconds",
    "Seconds from a post's arrival to its signal values being served",
    ["tier"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)
LABELS = Counter(
    "feedmix_signals_labels_total",
    "Labels given by the streaming path, per signal and label: the distribution the drift alert watches",
    ["tier", "signal", "label"],
)
LAG = Gauge(
    "feedmix_signals_stream_lag_posts", "Posts in the posts log a labelling pass has not reached", ["tier"]
)
LATENCY = Histogram(
    "feedmix_signals_label_seconds_per_post",
    "Labelling time per post in the streaming path (batch time / batch size)",
    ["tier"],
    buckets=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3),
)


class _Pass:
    """One tier's tail of the log: its cursor, its checkpoint file, its thread."""

    def __init__(self, tier: str, labeler: Labeler, checkpoint: Path | None) -> None:
        self.tier = tier
        self.labeler = labeler
        self.checkpoint = checkpoint
        self.offset = int(checkpoint.read_text()) if checkpoint is not None and checkpoint.is_file() else 0

    def save(self) -> None:
        if self.checkpoint is not None:
            tmp = self.checkpoint.with_suffix(".tmp")
            tmp.write_text(str(self.offset))
            tmp.replace(self.checkpoint)


class StreamingLabeller:
    def __init__(
        self,
        posts_log: EventLog[NewPost],
        production: Labeler,
        *,
        refiner: Labeler | None = None,
        online: OnlineStore | None = None,
        checkpoint_dir: Path | None = None,
        batch: int = 256,
        poll_s: float = 0.05,
        cache_size: int = 100_000,
        freshness_window: int = 10_000,
    ) -> None:
        self.log = posts_log
        self.online = online
        self.batch = batch
        self.poll_s = poll_s
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        # the last arrivals' freshness per tier, so a caller (the bench, the status endpoint) can read
        # percentiles without scraping the Prometheus histogram's coarse buckets
        self.recent_freshness: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        if checkpoint_dir is not None:
            checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.passes = [_Pass(production.name, production, _ckpt(checkpoint_dir, production.name))]
        if refiner is not None:
            self.passes.append(_Pass(refiner.name, refiner, _ckpt(checkpoint_dir, refiner.name)))
        for p in self.passes:
            self.recent_freshness[p.tier] = deque(maxlen=freshness_window)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        for p in self.passes:
            t = threading.Thread(target=self._run, args=(p,), name=f"signals-{p.tier}", daemon=True)
            t.start()
            self._threads.append(t)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)

    def _run(self, p: _Pass) -> None:
        while not self._stop.is_set():
            try:
                done = self.step(p)
            except Exception:  # the log itself failed: wait and retry, never die
                log.exception("signals stream (%s): reading the posts log failed", p.tier)
                done = 0
            if not done:
                self._stop.wait(self.poll_s)

    # -- work ------------------------------------------------------------------------------------

    def step(self, p: _Pass) -> int:
        """Label the next micro-batch of this pass; how many posts it consumed (0: nothing new)."""
        rows = self.log.read(p.offset, self.batch)
        if not rows:
            LAG.labels(p.tier).set(0)
            return 0
        records = [r for _, r in rows]
        posts = Posts(
            [r.event_id for r in records],
            [r.subreddit for r in records],
            [r.title for r in records],
            [r.selftext for r in records],
            np.array([r.over_18 for r in records], dtype=bool),
        )
        t0 = time.perf_counter()
        try:
            sig = p.labeler.label(posts)
        except Exception:
            log.exception("signals stream (%s): labelling %d posts failed", p.tier, len(records))
            FAILED.labels(p.tier).inc(len(records))
            p.offset = rows[-1][0]
            p.save()
            return len(rows)
        LATENCY.labels(p.tier).observe((time.perf_counter() - t0) / len(records))
        self._publish(p.tier, sig, records)
        p.offset = rows[-1][0]
        p.save()
        if len(rows) == self.batch:  # more may be waiting: say how much (a count is one query)
            LAG.labels(p.tier).set(max(self.log.count() - p.offset, 0))
        return len(rows)

    def _publish(self, tier: str, sig: PostSignals, records: list[NewPost]) -> None:
        keep = rows_to_write(sig)
        if self.online is not None and keep.any():
            cols = {name: values[keep] for name, values in feature_columns(sig).items()}
            self.online.write(
                ENTITY, [pid for pid, k in zip(sig.ids, keep, strict=True) if k], cols, time.time()
            )
        now = time.time()
        with self._lock:
            for rec, out in zip(records, sig.records(), strict=True):
                if out["gate"] == "error":
                    FAILED.labels(tier).inc()
                    continue
                out["tier"] = tier
                out["received_at"] = rec.received_at
                out["labelled_at"] = now
                self._cache[rec.event_id] = out
                self._cache.move_to_end(rec.event_id)
                if rec.received_at is not None:
                    age = max(now - rec.received_at, 0.0)
                    FRESHNESS.labels(tier).observe(age)
                    self.recent_freshness[tier].append(age)
                if out["gate"] not in ("ok", "too_long"):
                    GATED.labels(out["gate"]).inc()
                LABELS.labels(tier, "intent", out["intent"]).inc()
                LABELS.labels(tier, "sentiment", out["sentiment"]).inc()
                LABELS.labels(tier, "brand_safety", out["brand_safety"]).inc()
                LABELS.labels(tier, "category", out["category"] or "none").inc()
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        LABELLED.labels(tier).inc(len(records))

    def signals_of(self, post_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._cache.get(post_id)

    def lag(self) -> dict[str, int]:
        """Posts each pass still has to label (the log's count minus what it has consumed)."""
        total = self.log.count()
        return {p.tier: max(total - p.offset, 0) for p in self.passes}


def _ckpt(folder: Path | None, tier: str) -> Path | None:
    return folder / f"stream-{tier}.offset" if folder is not None else None
