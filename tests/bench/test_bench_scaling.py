"""``feedmix bench scaling``: the scaled corpora, the in-process sweeps on the demo slice, and the
open-loop load spread over several servers.

No timing is asserted (the machines are shared and noisy); what is asserted is what the numbers
must satisfy on any machine: every point measured, candidates growing with the budget, CPU spent,
each server getting its share of the schedule and the summed server CPU being exact on fakes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench_fake_server import PROCESS_CPU_S, FakeServer, running_fake_server

import feedmix.bench.scaling as scaling
from feedmix.bench.plot import matplotlib_available
from feedmix.bench.scaled_corpus import base36, replicate, scaled_corpus, subsample
from feedmix.bench.serving import feed_path_for, measure_targets, spread_over
from feedmix.corpus.reddit_corpus import RedditCorpus

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo() -> RedditCorpus:
    return RedditCorpus.load()


# -- scaled corpora -----------------------------------------------------------------------------


def test_base36_round_trips() -> None:
    for v in (0, 35, 36, 95_211_231, 2**40 + 7):
        assert int(base36(v), 36) == v


def test_subsample_is_a_deterministic_subset(demo: RedditCorpus) -> None:
    small = subsample(demo, 2000, seed=3)
    assert len(small) == 2000
    assert len(np.unique(small.ids)) == 2000
    assert np.isin(small.ids, demo.ids).all()
    assert np.array_equal(small.ids, subsample(demo, 2000, seed=3).ids)
    assert not np.array_equal(small.ids, subsample(demo, 2000, seed=4).ids)
    rows = demo.rows_of(small.ids)
    assert small.titles == [demo.titles[r] for r in rows]
    assert np.array_equal(small.score, demo.score[rows])
    assert small.now == demo.now
    assert scaled_corpus(demo, len(demo)) is demo


def test_replicated_corpus_keeps_the_real_posts_and_adds_distinct_copies(demo: RedditCorpus) -> None:
    n = 2 * len(demo) + 5000  # two full copies and part of a third
    big = replicate(demo, n, seed=1)
    assert len(big) == n == len(big.titles) == len(big.id_str) == len(big.urls)
    assert len(np.unique(big.ids)) == n, "ids are unique"
    assert [int(s, 36) for s in big.id_str[-3:]] == big.ids[-3:].tolist()
    # the real posts come first, unchanged: a ranker or collab index of the real corpus still applies
    k = len(demo)
    assert np.array_equal(big.ids[:k], demo.ids) and big.titles[:k] == demo.titles
    assert np.array_equal(big.created[:k], demo.created)
    # copies: distinct titles, their own cross-post keys, times inside the corpus span
    assert len(set(big.titles[k:])) == len(big.titles[k:]) - _duplicates_within_copies(big, k)
    assert not set(big.titles[k : 2 * k]) & set(demo.titles)
    assert not np.isin(big.url_key[k:], demo.url_key).any()
    assert big.created.min() >= demo.created.min() and big.created.max() <= demo.created.max()
    assert not np.array_equal(np.sort(big.created[k : 2 * k]), np.sort(demo.created))
    assert big.now == demo.now
    # deterministic
    again = replicate(demo, n, seed=1)
    assert np.array_equal(again.ids, big.ids) and again.titles == big.titles
    assert np.array_equal(again.created, big.created) and np.array_equal(again.url_key, big.url_key)
    # per-community counts grow with the corpus (the sources' pools grow)
    assert (big.post_counts() >= demo.post_counts()).all()


def _duplicates_within_copies(big: RedditCorpus, k: int) -> int:
    """Titles repeat inside one copy only where the real corpus repeats them (reposts)."""
    real_dupes = len(big.titles[:k]) - len(set(big.titles[:k]))
    extra = len(big) - k
    full_copies = extra // k
    partial = big.titles[k + full_copies * k :]
    return full_copies * real_dupes + (len(partial) - len(set(partial)))


# -- in-process sweeps on the demo slice ---------------------------------------------------------


def test_sweeps_on_the_demo_slice(tmp_path: Path) -> None:
    setup = scaling.plain_setup("demo", str(tmp_path), users=300, request_users=40, candidates=300)
    options = scaling.ScalingOptions(
        sweeps=("corpus", "candidates"),
        corpus_sizes=(2000, 4000),
        candidates=(100, 200),
        candidates_posts=4000,  # the corpus point's cached index: no third build
        requests=6,
        warmup=2,
        isolate=False,
        progress=False,
    )
    report = scaling.run_scaling(setup, options)
    json.dumps(report)  # JSON-ready
    corpus_points = report["corpus"]["points"]
    assert [p["posts"] for p in corpus_points] == [2000, 4000]
    assert report["corpus"]["skipped"] == []
    for p in corpus_points:
        assert p["cpu_ms_per_request"] > 0
        assert p["latency_ms"]["p50"] > 0 and p["latency_ms"]["p99"] >= p["latency_ms"]["p50"]
        assert p["candidates_after_merge"] > 0
        assert {"sources", "filters", "scorers"} <= set(p["stages"])
        assert p["build"]["peak_rss_mib"] > 0 and p["build"]["index_build_s"] >= 0
        assert p["build"]["cached"] is False
    # the bigger corpus gives the sources more to find at the same budget
    assert corpus_points[1]["candidates_after_merge"] >= corpus_points[0]["candidates_after_merge"]

    cand = report["candidates"]["points"]
    assert [p["candidates_target"] for p in cand] == [100, 200]
    assert cand[1]["candidates_after_merge"] > cand[0]["candidates_after_merge"]
    assert all(p["candidates_after_merge"] <= p["candidates_target"] for p in cand)
    assert all(p["cpu_ms_per_request"] > 0 for p in cand)

    md = scaling.markdown(report)
    assert "## Corpus size" in md and "## Candidates per request" in md and "| 4,000 |" in md
    if matplotlib_available():
        png = tmp_path / "scaling.png"
        assert scaling.write_plot(report, png)
        assert png.read_bytes()[:8] == PNG_MAGIC

    # a rerun finds the cached index builds
    again = scaling.corpus_point(setup, 2000, requests=2, warmup=0)
    assert again["build"]["cached"] is True


# -- several servers ---------------------------------------------------------------------------


def test_spread_over_goes_round_robin() -> None:
    path_for = spread_over(["http://a:1/", "http://b:2"], lambda i: f"/v1/feed?i={i}")
    assert [path_for(i) for i in range(3)] == [
        "http://a:1/v1/feed?i=0",
        "http://b:2/v1/feed?i=1",
        "http://a:1/v1/feed?i=2",
    ]


def test_load_is_spread_over_two_servers_and_their_cpu_summed(fake_server: FakeServer) -> None:
    with running_fake_server() as other:
        servers = [fake_server, other]
        for s in servers:
            s.state.feed_users.clear()
        users = [f"u{i}" for i in range(4)]
        m = asyncio.run(measure_targets([s.url for s in servers], feed_path_for(users, 25), 80.0, 0.5, 0.1))
    assert m.result.ok == m.result.requests > 0
    counts = [sum(s.state.feed_users.values()) for s in servers]
    assert abs(counts[0] - counts[1]) <= 1, counts  # warm-up and measured, round-robin
    # with 2 servers and 4 users in order, each server sees every other user
    assert set(fake_server.state.feed_users) == {"u0", "u2"} and set(other.state.feed_users) == {"u1", "u3"}
    assert set(m.breakdowns) == {s.url for s in servers} and not m.metrics_errors
    assert m.server_cpu_ms_per_request() == pytest.approx(PROCESS_CPU_S * 1000.0)
    assert m.server_cpu_s() == pytest.approx(PROCESS_CPU_S * m.result.sent)


def test_processes_sweep_reports_each_count_and_rate_mode(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running_fake_server() as other:
        urls = [fake_server.url, other.url]

        @contextlib.contextmanager
        def fake_processes(setup: Any, n: int, **_: Any) -> Iterator[list[str]]:
            yield urls[:n]

        monkeypatch.setattr(scaling, "serving_processes", fake_processes)
        setup = scaling.plain_setup("demo", str(tmp_path), request_users=4)
        points = scaling.processes_points(setup, (1, 2), rate=40.0, duration_s=0.3, warmup_s=0.0)
    assert [(p["processes"], p["mode"], p["offered_rps"]) for p in points] == [
        (1, "both", 40.0),
        (2, "fixed_total", 40.0),
        (2, "per_process", 80.0),
    ]
    for p in points:
        assert p["ok"] > 0 and p["errors"] == {}
        assert p["cpu_ms_per_request"] == pytest.approx(PROCESS_CPU_S * 1000.0)
        assert set(p["latency_ms"]) >= {"p50", "p99", "p99_9"}
        assert len(p["per_server_cpu_ms_per_request"]) == p["processes"]
    report = {
        "setup": setup.describe(),
        "machine": {"cpus": 2, "memory_gib": 1.0},
        "processes": {"duration_s": 0.3, "warmup_s": 0.0, "points": points},
    }
    assert "## Serving processes" in scaling.markdown(report)
    if matplotlib_available():
        png = tmp_path / "p.png"
        assert scaling.write_plot(report, png) and png.read_bytes()[:8] == PNG_MAGIC
