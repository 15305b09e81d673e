"""Exploration: Thompson sampling over new posts, with a bounded budget of page slots."""

from __future__ import annotations

import uuid

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedmix.components.selectors.exploration_slots_selector import ExplorationSlotsSelector, interleave
from feedmix.components.sources.exploration_source import ExplorationSource
from feedmix.core.candidates import CandidateBatch
from feedmix.core.params import ParamRegistry
from feedmix.core.query import Deadline, Query
from feedmix.corpus.reddit_corpus import RedditCorpus


@pytest.fixture(scope="module")
def corpus() -> RedditCorpus:
    return RedditCorpus.load()


def make_query(
    component: object,
    now: float,
    overrides: dict[str, object] | None = None,
    request_id: str | None = None,
    limit: int = 25,
) -> Query:
    reg = ParamRegistry(component.declared_params())  # type: ignore[attr-defined]
    return Query(
        "u",
        "home",
        reg.defaults(overrides),
        Deadline(1.0),
        request_id or uuid.uuid4().hex,
        now=now,
        limit=limit,
    )


class FixedCounts:
    def __init__(self, impressions: dict[int, int], clicks: dict[int, int]) -> None:
        self.impressions, self.clicks = impressions, clicks

    def post_counts(
        self, post_ids: npt.NDArray[np.int64], window: str
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        imp = np.array([self.impressions.get(int(i), 0) for i in post_ids], dtype=np.int64)
        clk = np.array([self.clicks.get(int(i), 0) for i in post_ids], dtype=np.int64)
        return imp, clk


def test_only_recent_posts_are_proposed(corpus: RedditCorpus) -> None:
    src = ExplorationSource("explore", corpus)
    batch = src.fetch(make_query(src, corpus.now, {"explore.window_days": 3.0, "explore.limit": 5000}))
    rows = corpus.rows_of(batch.ids)
    age = corpus.now - corpus.created[rows]
    assert len(batch) == int(((corpus.now - corpus.created) < 3 * 86400).sum())
    assert (age < 3 * 86400).all() and batch.column("explore").all()


def test_well_explored_posts_are_excluded_and_draws_are_replayable(corpus: RedditCorpus) -> None:
    newest = corpus.ids[corpus.newest_rows[:10]]
    counts = FixedCounts({int(newest[0]): 500, int(newest[1]): 99}, {})
    src = ExplorationSource("explore", corpus, counts)
    q = make_query(src, corpus.now, {"explore.window_days": 3.0, "explore.limit": 5000}, request_id="r1")
    batch = src.fetch(q)
    assert int(newest[0]) not in batch.ids and int(newest[1]) in batch.ids
    again = src.fetch(q)
    assert np.array_equal(batch.ids, again.ids)
    assert np.array_equal(batch.column("explore_score"), again.column("explore_score"))


def test_posterior_favours_posts_that_earn_clicks(corpus: RedditCorpus) -> None:
    newest = corpus.ids[corpus.newest_rows[:2]]
    good, bad = int(newest[0]), int(newest[1])
    counts = FixedCounts({good: 50, bad: 50}, {good: 25, bad: 0})
    src = ExplorationSource("explore", corpus, counts)
    wins = 0
    for i in range(200):
        q = make_query(
            src, corpus.now, {"explore.window_days": 3.0, "explore.limit": 5000}, request_id=f"r{i}"
        )
        b = src.fetch(q)
        score = dict(zip(b.ids.tolist(), b.column("explore_score").tolist(), strict=True))
        wins += score[good] > score[bad]
    assert wins >= 195  # posterior means 26/63 vs 1/63: the clicked post nearly always draws higher


@given(
    st.integers(0, 30),
    st.integers(0, 10),
    st.lists(st.integers(0, 40), max_size=6, unique=True),
    st.integers(1, 30),
)
def test_interleave_puts_exploration_only_in_slots(
    n_ranked: int, n_explore: int, slots: list[int], limit: int
) -> None:
    ranked = np.arange(n_ranked, dtype=np.int64)
    explore = np.arange(100, 100 + n_explore, dtype=np.int64)
    out = interleave(ranked, explore, np.array(sorted(slots), dtype=np.int64), limit)
    assert len(out) <= limit and len(set(out.tolist())) == len(out)
    is_explore = out >= 100
    assert set(np.flatnonzero(is_explore).tolist()) <= set(slots)
    assert out[~is_explore].tolist() == list(range(int((~is_explore).sum())))  # ranked order kept
    assert out[is_explore].tolist() == list(range(100, 100 + int(is_explore.sum())))
    if n_ranked >= limit:
        assert len(out) == limit


def test_selector_budget(corpus: RedditCorpus) -> None:
    sel = ExplorationSlotsSelector("slots")
    n = 40
    explore = np.zeros(n, dtype=bool)
    explore[[5, 6, 7, 30]] = True
    batch = CandidateBatch(np.arange(n), {"explore": explore, "explore_score": np.linspace(0, 1, n)})
    q = make_query(sel, corpus.now, {"slots.slots": 2, "slots.first_position": 2, "slots.gap": 5}, limit=10)
    picked = sel.select(q, batch)
    assert len(picked) == 10
    assert picked[2] == 30 and picked[7] == 7  # best draws first, at the slot positions
    assert not explore[np.delete(picked, [2, 7])].any()


@given(days=st.floats(min_value=-1.0, max_value=400.0))
def test_newest_since_is_every_post_since_then_newest_first(corpus: RedditCorpus, days: float) -> None:
    since = corpus.now - days * 86400.0
    rows = corpus.newest_since(since)
    assert sorted(rows.tolist()) == np.flatnonzero(corpus.created >= since).tolist()
    assert np.all(np.diff(corpus.created[rows]) <= 0)


def test_a_large_pool_is_sampled_uniformly_and_the_share_is_carried(corpus: RedditCorpus) -> None:
    src = ExplorationSource("explore", corpus)
    young = int(((corpus.now - corpus.created) < 7 * 86400).sum())
    overrides = {"explore.window_days": 7.0, "explore.limit": 5000, "explore.max_pool": 100}
    batch = src.fetch(make_query(src, corpus.now, overrides, request_id="r1"))
    assert young > 100 and len(batch) == 100
    assert (corpus.now - corpus.created[corpus.rows_of(batch.ids)] < 7 * 86400).all()
    assert np.allclose(batch.column("explore_inclusion"), 100 / young)
    again = src.fetch(make_query(src, corpus.now, overrides, request_id="r1"))
    other = src.fetch(make_query(src, corpus.now, overrides, request_id="r2"))
    assert np.array_equal(batch.ids, again.ids) and set(batch.ids) != set(other.ids)
    # over many requests every young post gets its turn (uniform, not newest-first)
    seen = set()
    for i in range(200):
        seen |= set(src.fetch(make_query(src, corpus.now, overrides, request_id=f"s{i}")).ids.tolist())
    assert len(seen) > 0.9 * young
    # under the cap nothing is sampled
    whole = src.fetch(make_query(src, corpus.now, {**overrides, "explore.max_pool": 10**6}))
    assert len(whole) == young and np.all(whole.column("explore_inclusion") == 1.0)
