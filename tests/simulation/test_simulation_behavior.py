"""The reaction model: monotone in quality, interest and position; NSFW hides; sampling = marginals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.simulation.behavior import BehaviorModel, Reactions, examination, score_percentiles
from feedmix.simulation.population import Population, UserProfile


@pytest.fixture(scope="module")
def model(corpus: RedditCorpus) -> BehaviorModel:
    return BehaviorModel(corpus)


@pytest.fixture(scope="module")
def users(corpus: RedditCorpus, graph: CommunityGraph) -> Population:
    return Population.generate(corpus, graph, n_users=200, seed=42)


def _neutral(user: UserProfile, allow_nsfw: bool = True) -> UserProfile:
    """The same user without a personal click bias and (by default) with NSFW allowed, so the
    thresholds below are about quality, interest and position alone (some SFW communities
    hold a few NSFW posts)."""
    return dataclasses.replace(user, click_propensity=0.0, allow_nsfw=allow_nsfw)


def _unrelated_community(user: UserProfile, corpus: RedditCorpus) -> int:
    sfw = [
        c
        for c in np.flatnonzero(user.interests == 0)
        if not corpus.over_18[corpus.community_rows(int(c))].any()
    ]
    return int(sfw[0])


def test_quality_is_within_community_percentile(corpus: RedditCorpus, model: BehaviorModel) -> None:
    q = score_percentiles(corpus)
    assert np.array_equal(q, model.quality)
    assert q.min() > 0 and q.max() < 1
    for c in range(0, len(corpus.communities), 37):
        rows = corpus.community_rows(c)  # best score first
        assert np.all(np.diff(q[rows]) <= 0)
        assert q[rows].mean() == pytest.approx(0.5)


def test_liked_good_post_beats_unrelated_bad_post(
    corpus: RedditCorpus, model: BehaviorModel, users: Population
) -> None:
    for user in users.users[:50]:
        u = _neutral(user)
        liked = int(np.argmax(u.interests))
        unrelated = _unrelated_community(u, corpus)
        good, bad = corpus.community_rows(liked)[0], corpus.community_rows(unrelated)[-1]
        for pos in (0, 5, 24):
            p = model.probabilities(u, np.array([good, bad]), np.array([pos, pos]))
            assert p.click[0] > 3 * p.click[1]
            assert p.hide[0] < p.hide[1]
        e = model.expected_engagement(u, np.array([good, bad]), np.array([0, 0]))
        assert e[0] > e[1]


def test_click_monotone_in_quality_interest_and_position(
    corpus: RedditCorpus, model: BehaviorModel, users: Population
) -> None:
    u = _neutral(users.users[0])
    liked = int(np.argmax(u.interests))
    rows = corpus.community_rows(liked)  # quality descending (ties share a value)
    p = model.probabilities(u, rows, np.zeros(len(rows), dtype=np.int64))
    assert np.all(np.diff(p.click) <= 1e-12)
    assert np.all(np.diff(p.upvote / p.click) <= 1e-12)  # P(up | click) rises with quality
    assert np.all(np.diff(p.downvote / p.click) >= -1e-12)  # P(down | click) falls with quality
    # same post, lower on the page: less examined, fewer clicks
    one = np.repeat(rows[:1], 40)
    by_pos = model.probabilities(u, one, np.arange(40))
    assert np.all(np.diff(by_pos.click) < 0)
    # same post, same position, the user cares more about its community: more clicks, fewer hides
    c = int(corpus.community[rows[10]])
    other = (c + 1) % len(corpus.communities)
    clicks, hides = [], []
    for share in (0.0, 0.1, 0.3, 0.5):
        interests = np.zeros_like(u.interests)
        interests[other] = 1.0 - share
        interests[c] = share
        v = dataclasses.replace(u, interests=interests)
        pr = model.probabilities(v, rows[10:11], np.array([0]))
        clicks.append(pr.click[0])
        hides.append(pr.hide[0])
    assert np.all(np.diff(clicks) > 0) and np.all(np.diff(hides) < 0)


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(0, 42_044),
    pos=st.integers(0, 200),
    user_index=st.integers(0, 199),
    propensity=st.floats(-2, 2),
)
def test_probabilities_are_consistent(
    corpus: RedditCorpus, model: BehaviorModel, users: Population, row: int, pos: int, user_index: int,
    propensity: float,
) -> None:  # fmt: skip
    row = row % len(corpus)
    u = dataclasses.replace(users.users[user_index], click_propensity=propensity)
    p = model.probabilities(u, np.array([row]), np.array([pos]))
    for arr in (p.examine, p.click, p.upvote, p.downvote, p.hide, p.comment):
        assert 0.0 <= arr[0] <= 1.0
    assert p.click[0] <= p.examine[0]
    assert p.comment[0] <= p.click[0] + 1e-12
    assert p.upvote[0] + p.downvote[0] <= p.click[0] + 1e-12
    assert p.click[0] + p.hide[0] <= p.examine[0] + 1e-12
    assert p.examine[0] == pytest.approx(1 / np.log2(pos + 2))
    assert model.expected_engagement(u, np.array([row]), np.array([pos]))[0] == pytest.approx(
        p.click[0] + p.upvote[0] - p.hide[0]
    )


def test_nsfw_is_hidden_by_users_who_did_not_opt_in(
    corpus: RedditCorpus, model: BehaviorModel, users: Population
) -> None:
    nsfw_rows = np.flatnonzero(corpus.over_18)[:20]
    assert nsfw_rows.size == 20
    positions = np.zeros(nsfw_rows.size, dtype=np.int64)
    base = users.users[0]
    prude, fan = _neutral(base, allow_nsfw=False), _neutral(base, allow_nsfw=True)
    p_no = model.probabilities(prude, nsfw_rows, positions)
    p_yes = model.probabilities(fan, nsfw_rows, positions)
    assert np.all(p_no.hide > 0.7)
    assert np.all(p_no.click < 0.05)
    assert np.all(p_yes.hide < p_no.hide)
    # sampled: most of 20 x 200 top-of-page NSFW impressions get hidden
    rng = np.random.default_rng(0)
    hidden = sum(int(model.react(prude, nsfw_rows, positions, rng).hidden.sum()) for _ in range(200))
    assert hidden / (20 * 200) > 0.7
    # SFW posts are unaffected by the NSFW setting
    sfw = np.flatnonzero(~corpus.over_18)[:50]
    a = model.probabilities(prude, sfw, np.zeros(50, dtype=np.int64))
    b = model.probabilities(fan, sfw, np.zeros(50, dtype=np.int64))
    assert np.array_equal(a.click, b.click) and np.array_equal(a.hide, b.hide)


def test_samples_match_marginals(corpus: RedditCorpus, model: BehaviorModel, users: Population) -> None:
    u = users.users[3]
    liked = corpus.community_rows(int(np.argmax(u.interests)))[:10]
    other = corpus.community_rows(_unrelated_community(u, corpus))[-10:]
    rows = np.concatenate([liked, other])
    positions = np.arange(rows.size)
    p = model.probabilities(u, rows, positions)
    rng = np.random.default_rng(1)
    n = 4000
    sums = {k: np.zeros(rows.size) for k in ("clicked", "upvoted", "downvoted", "hidden", "commented")}
    for _ in range(n):
        r = model.react(u, rows, positions, rng)
        assert not np.any(r.hidden & r.clicked)
        assert not np.any(r.upvoted & r.downvoted)
        assert not np.any((r.upvoted | r.downvoted) & ~r.clicked)
        assert not np.any(r.commented & ~r.clicked)
        for k in sums:
            sums[k] += getattr(r, k)
    # 4000 draws: binomial sd <= 0.008, so 0.035 is > 4 sd
    assert np.allclose(sums["clicked"] / n, p.click, atol=0.035)
    assert np.allclose(sums["upvoted"] / n, p.upvote, atol=0.035)
    assert np.allclose(sums["downvoted"] / n, p.downvote, atol=0.035)
    assert np.allclose(sums["hidden"] / n, p.hide, atol=0.035)
    assert np.allclose(sums["commented"] / n, p.comment, atol=0.035)
    assert sums["commented"].sum() > 0


def test_react_is_seeded(model: BehaviorModel, users: Population) -> None:
    u = users.users[5]
    rows, positions = np.arange(30), np.arange(30)
    a = model.react(u, rows, positions, np.random.default_rng(3))
    b = model.react(u, rows, positions, np.random.default_rng(3))
    assert all(
        np.array_equal(getattr(a, f), getattr(b, f))
        for f in ("clicked", "upvoted", "downvoted", "hidden", "commented")
    )


def test_comments_follow_discussion(corpus: RedditCorpus, model: BehaviorModel, users: Population) -> None:
    u = users.users[3]
    rows = corpus.community_rows(int(np.argmax(u.interests)))
    d = model.discussion[rows]
    assert np.all((d > 0) & (d < 1))
    lively, quiet = rows[np.argsort(d)[-10:]], rows[np.argsort(d)[:10]]
    zeros = np.zeros(10, dtype=np.int64)
    p_lively, p_quiet = model.probabilities(u, lively, zeros), model.probabilities(u, quiet, zeros)
    # per click, a post that drew discussion draws more comments
    assert np.all(p_lively.comment / p_lively.click > p_quiet.comment / p_quiet.click)


def test_leave_rule(model: BehaviorModel) -> None:
    def page(hides: int, shown: int) -> Reactions:
        h = np.zeros(shown, dtype=bool)
        h[:hides] = True
        z = np.zeros(shown, dtype=bool)
        return Reactions(clicked=z, upvoted=z, downvoted=z, hidden=h, commented=z)

    assert not model.leaves_after(page(1, 3))  # below the minimum count
    assert model.leaves_after(page(2, 10))  # 2 hides, 20%
    assert not model.leaves_after(page(4, 25))  # 16% of the page
    assert model.leaves_after(page(5, 25))
    assert not model.leaves_after(page(0, 0))


def test_rejects_rows_outside_corpus(corpus: RedditCorpus, model: BehaviorModel, users: Population) -> None:
    with pytest.raises(ValueError):
        model.probabilities(users.users[0], np.array([-1]), np.array([0]))
    with pytest.raises(ValueError):
        model.probabilities(users.users[0], np.array([len(corpus)]), np.array([0]))
    assert model.probabilities(users.users[0], np.array([], dtype=np.int64), np.array([])).click.size == 0


def test_examination_curve() -> None:
    e = examination(np.arange(100))
    assert e[0] == 1.0 and e[2] == pytest.approx(0.5)
    assert np.all(np.diff(e) < 0)
