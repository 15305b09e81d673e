"""Per-variant request guardrails: how many requests each arm served, how many degraded, how fast.

Latency and errors belong to requests, not to the users the analysis counts, and the event log holds
no request-level record of them. So each serving process counts, per (experiment, bucket version,
variant, UTC day), its requests in log-spaced latency buckets (10% wide, 0.1 ms to a minute) with
how many of them were degraded, and adds the counts to the experiment store every ``interval_s``:
counts add across processes and restarts, and a p99 from them is a p99 of every request served.
A failed flush keeps the counts for the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.experiments.assignment import Assignment

log = logging.getLogger(__name__)

#: bucket edges in ms: 0.1 ms to about a minute, each 10% above the last
EDGES_MS: npt.NDArray[np.float64] = 0.1 * np.power(1.1, np.arange(0, 142, dtype=np.float64))
#: the value a bucket stands for in a quantile (its geometric middle); the last is open-ended
VALUES_MS: npt.NDArray[np.float64] = np.append(np.sqrt(EDGES_MS[:-1] * EDGES_MS[1:]), EDGES_MS[-1])
DAY_S = 86_400


def bucket_of(latency_ms: float) -> int:
    at = int(np.searchsorted(EDGES_MS, latency_ms, side="right")) - 1
    return min(max(at, 0), len(EDGES_MS) - 1)


@dataclass(frozen=True, slots=True)
class StatsRow:
    experiment_id: str
    bucket_version: int
    variant: str
    day: int
    bucket: int
    requests: int
    degraded: int


class RequestStats:
    """Counts in memory until drained; thread-safe (side effects of concurrent requests add here)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int, str, int, int], list[int]] = {}

    def record(
        self, assignments: Sequence[Assignment], latency_ms: float, degraded: bool, now: float
    ) -> None:
        if not assignments:
            return
        b, day = bucket_of(latency_ms), int(now // DAY_S)
        with self._lock:
            for a in assignments:
                cell = self._counts.setdefault((a.experiment_id, a.bucket_version, a.variant, day, b), [0, 0])
                cell[0] += 1
                cell[1] += int(degraded)

    def drain(self) -> list[StatsRow]:
        with self._lock:
            counts, self._counts = self._counts, {}
        return [StatsRow(*key, requests=c[0], degraded=c[1]) for key, c in counts.items()]

    def restore(self, rows: Sequence[StatsRow]) -> None:
        """Put back rows a flush could not write, so they go with the next one."""
        with self._lock:
            for r in rows:
                cell = self._counts.setdefault(
                    (r.experiment_id, r.bucket_version, r.variant, r.day, r.bucket), [0, 0]
                )
                cell[0] += r.requests
                cell[1] += r.degraded


def histograms(
    rows: Sequence[StatsRow], variants: Sequence[str]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per variant (in ``variants`` order), the requests per latency bucket and the degraded requests."""
    hist = np.zeros((len(variants), len(EDGES_MS)), dtype=np.int64)
    degraded = np.zeros(len(variants), dtype=np.int64)
    index = {v: i for i, v in enumerate(variants)}
    for r in rows:
        i = index.get(r.variant)
        if i is None:
            continue
        hist[i, r.bucket] += r.requests
        degraded[i] += r.degraded
    return hist, degraded


class StatsFlusher:
    """Adds the counts to the experiment store every ``interval_s`` (and once more on close)."""

    def __init__(self, stats: RequestStats, store: Any, interval_s: float = 10.0) -> None:
        self.stats, self.store, self.interval_s = stats, store, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if interval_s > 0:
            self._thread = threading.Thread(target=self._loop, name="feedmix-request-stats", daemon=True)
            self._thread.start()

    def flush(self) -> int:
        rows = self.stats.drain()
        if not rows:
            return 0
        try:
            self.store.add_request_stats(rows)
        except Exception:
            self.stats.restore(rows)
            log.warning(
                "could not add %d request-stat rows; kept for the next flush", len(rows), exc_info=True
            )
            return 0
        return len(rows)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
