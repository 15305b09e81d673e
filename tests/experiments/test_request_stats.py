"""Per-variant request counts: bucketed, drained, restored after a failed flush, added in the store."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from feedmix.experiments.assignment import Assignment
from feedmix.experiments.request_stats import (
    EDGES_MS,
    VALUES_MS,
    RequestStats,
    StatsFlusher,
    bucket_of,
    histograms,
)
from feedmix.experiments.sql_experiment_store import SqlExperimentStore
from feedmix.experiments.stats import histogram_quantile

T0 = 1_000 * 86_400.0


def _a(variant: str) -> Assignment:
    return Assignment("exp-a", variant, "ranking", 1, "u1")


def test_buckets_are_ten_percent_wide_and_clamped() -> None:
    assert bucket_of(0.0) == 0 and bucket_of(1e9) == len(EDGES_MS) - 1
    for ms in (0.5, 3.0, 12.5, 250.0):
        b = bucket_of(ms)
        assert EDGES_MS[b] <= ms < EDGES_MS[b + 1]
        assert abs(VALUES_MS[b] / ms - 1) < 0.1


def test_counts_drain_and_restore() -> None:
    stats = RequestStats()
    for ms in (5.0, 5.1, 50.0):
        stats.record([_a("control"), Assignment("exp-b", "t", "other", 2, "u1")], ms, ms > 40, T0)
    stats.record([], 1.0, False, T0)  # no experiment: nothing
    rows = stats.drain()
    assert stats.drain() == []
    assert sum(r.requests for r in rows if r.experiment_id == "exp-a") == 3
    assert sum(r.degraded for r in rows if r.experiment_id == "exp-a") == 1
    stats.restore(rows)
    assert set(stats.drain()) == set(rows)


class _DownStore:
    def add_request_stats(self, rows: Any) -> None:
        raise ConnectionError("store down")


def test_a_failed_flush_keeps_the_counts_for_the_next() -> None:
    stats = RequestStats()
    stats.record([_a("control")], 5.0, False, T0)
    flusher = StatsFlusher(stats, _DownStore(), interval_s=0)
    assert flusher.flush() == 0
    assert sum(r.requests for r in stats.drain()) == 1


def test_the_store_adds_counts_across_writers(store: SqlExperimentStore) -> None:
    stats = RequestStats()
    for i in range(200):
        stats.record([_a("control" if i % 2 else "treatment")], 10.0 + (i % 7), i % 20 == 0, T0)
    rows = stats.drain()
    store.add_request_stats(rows)
    store.add_request_stats(rows)  # a second process with the same counts: they add
    got = store.request_stats("exp-a", 1)
    hist, degraded = histograms(got, ["control", "treatment"])
    assert hist.sum() == 400 and degraded.sum() == 20
    assert store.request_stats("exp-a", 2) == []
    p99 = float(histogram_quantile(hist[0], VALUES_MS, 0.99))
    assert 15.0 < p99 < 17.5  # the largest latency recorded is 16 ms


def test_histogram_quantile_matches_the_sample_quantile() -> None:
    rng = np.random.default_rng(1)
    latencies = rng.lognormal(2.5, 0.6, 20_000)
    hist = np.bincount([bucket_of(x) for x in latencies], minlength=len(EDGES_MS))
    assert float(histogram_quantile(hist, VALUES_MS, 0.99)) == pytest.approx(
        np.quantile(latencies, 0.99), rel=0.1
    )
