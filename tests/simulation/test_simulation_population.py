"""Population generation: determinism, join frequencies from real subscriber counts, interests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.simulation import population as pop
from feedmix.simulation.population import Population, UserProfile, join_weights, sample_without_replacement


def _same_user(a: UserProfile, b: UserProfile) -> bool:
    return (
        a.user_id == b.user_id
        and np.array_equal(a.communities, b.communities)
        and np.array_equal(a.interests, b.interests)
        and a.allow_nsfw == b.allow_nsfw
        and a.activity == b.activity
        and a.patience == b.patience
        and a.click_propensity == b.click_propensity
    )


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(np.float64)


@pytest.fixture(scope="module")
def big(corpus: RedditCorpus, graph: CommunityGraph) -> Population:
    return Population.generate(corpus, graph, n_users=20_000, seed=42)


def test_same_seed_same_population(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    a = Population.generate(corpus, graph, n_users=600, seed=7)
    b = Population.generate(corpus, graph, n_users=600, seed=7)
    assert len(a) == len(b) == 600
    assert all(_same_user(x, y) for x, y in zip(a.users, b.users, strict=True))


def test_different_seed_different_population(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    a = Population.generate(corpus, graph, n_users=600, seed=7)
    b = Population.generate(corpus, graph, n_users=600, seed=8)
    assert [u.user_id for u in a] == [u.user_id for u in b]
    differing = sum(not np.array_equal(x.communities, y.communities) for x, y in zip(a, b, strict=True))
    assert differing > 550


def test_prefix_stable_across_blocks(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    """User i does not depend on n_users, so a server and a simulator sized differently agree."""
    small = Population.generate(corpus, graph, n_users=pop.BLOCK_SIZE + 5, seed=3)
    large = Population.generate(corpus, graph, n_users=3 * pop.BLOCK_SIZE, seed=3)
    assert all(_same_user(x, y) for x, y in zip(small.users, large.users, strict=False))


def test_server_side_fields_do_not_depend_on_graph(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    with_graph = Population.generate(corpus, graph, n_users=300, seed=11)
    without = Population.generate(corpus, None, n_users=300, seed=11)
    for x, y in zip(with_graph, without, strict=True):
        assert np.array_equal(x.communities, y.communities)
        assert (x.allow_nsfw, x.activity, x.patience) == (y.allow_nsfw, y.activity, y.patience)
        # without a graph all interest stays on the joined communities
        assert y.interests[y.communities].sum() == pytest.approx(1.0, abs=1e-5)


def test_user_ids_and_lookup(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    p = Population.generate(corpus, graph, n_users=12, seed=1)
    assert [u.user_id for u in p][:3] == ["u0001", "u0002", "u0003"]
    u = p.get("u0012")
    assert u is not None and u is p.users[11]
    assert p.get("u0013") is None and p.get("nobody") is None
    assert len(Population.generate(corpus, graph, n_users=0, seed=1)) == 0


def test_profile_arrays_are_read_only(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    u = Population.generate(corpus, graph, n_users=2, seed=1).users[0]
    assert u.communities.dtype == np.int32 and u.interests.dtype == np.float32
    with pytest.raises(ValueError):
        u.interests[0] = 1.0
    with pytest.raises(ValueError):
        u.communities[0] = 0


def test_shape_of_users(big: Population, corpus: RedditCorpus) -> None:
    n = len(corpus.communities)
    k = np.array([len(u.communities) for u in big])
    assert k.min() >= pop.MIN_JOINED and k.max() <= pop.MAX_JOINED
    assert 6.0 < k.mean() < 8.0  # 1 + Poisson(6), clipped at 3
    for u in big.users[:2000]:
        assert np.all(np.diff(u.communities) > 0)  # distinct, ascending
        assert u.communities.min() >= 0 and u.communities.max() < n
        assert u.interests.shape == (n,)
    nsfw = np.mean([u.allow_nsfw for u in big])
    assert abs(nsfw - pop.NSFW_SHARE) < 0.02
    activity = big.activity
    assert np.all(activity > 0)
    assert abs(np.median(activity) - pop.ACTIVITY_MEDIAN) < 0.05
    patience = np.array([u.patience for u in big])
    assert patience.min() >= 1 and patience.max() <= pop.MAX_PATIENCE
    assert abs(patience.mean() - 1 / pop.PATIENCE_P) < 0.15


def test_join_rates_follow_subscriber_counts(big: Population, corpus: RedditCorpus) -> None:
    n = len(corpus.communities)
    counts = np.bincount(np.concatenate([u.communities for u in big]), minlength=n)
    subs = corpus.subscribers
    rho = np.corrcoef(_ranks(subs), _ranks(counts))[0, 1]
    assert rho > 0.95  # Spearman; 0.98 for this seed
    top, small = int(np.argmax(subs)), int(np.argmin(subs))
    assert counts[top] / len(big) > 0.15  # r/funny: ~4M of ~104M subscribers, k ~ 7
    assert counts[top] > 100 * max(int(counts[small]), 1)
    # the ten biggest communities are joined more often than the ten smallest, pairwise
    order = np.argsort(subs)
    assert counts[order[-10:]].min() > counts[order[:10]].max()


def test_first_draw_is_proportional_to_weight(corpus: RedditCorpus) -> None:
    """Chi-square of the first draw against the join weights (small bins pooled)."""
    w = join_weights(corpus.subscribers, corpus.post_counts())
    rows = 30_000
    first = sample_without_replacement(w, 1, np.random.default_rng(5), rows)[:, 0]
    observed = np.bincount(first, minlength=w.shape[0]).astype(np.float64)
    expected = rows * w / w.sum()
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    dof = obs.size - 1
    assert chi2 < dof + 6 * np.sqrt(2 * dof)


def test_sampling_is_without_replacement_with_exact_inclusion() -> None:
    """k=2 of 4 items: inclusion probabilities match successive sampling, enumerated exactly."""
    w = np.array([1.0, 2.0, 3.0, 4.0])
    drawn = sample_without_replacement(w, 2, np.random.default_rng(9), 200_000)
    assert np.all(drawn[:, 0] != drawn[:, 1])
    exact = np.zeros(4)
    for a, b in itertools.permutations(range(4), 2):
        p = w[a] / w.sum() * w[b] / (w.sum() - w[a])
        exact[a] += p
        exact[b] += p
    observed = np.bincount(drawn.ravel(), minlength=4) / drawn.shape[0]
    assert np.allclose(observed, exact, atol=0.006)


def test_join_weight_floor() -> None:
    # no subscribers / no posts / plenty / plenty / plenty / below the floor
    w = join_weights([0, 100, 1_000_000, 500_000, 300_000, 200], [10, 0, 5, 5, 3, 7])
    floor = pop.SUBSCRIBER_FLOOR_FRACTION * 300_000  # median of the positive counts
    assert w.tolist() == [floor, floor, 1_000_000, 500_000, 300_000, floor]
    assert np.all(join_weights([0, 0], [1, 1]) > 0)


def test_interests_sum_to_one_and_favour_joined(big: Population, graph: CommunityGraph) -> None:
    for u in big.users[:3000]:
        assert u.interests.sum() == pytest.approx(1.0, abs=1e-5)
        assert u.interests.min() >= 0
        joined_mass = float(u.interests[u.communities].sum())
        assert joined_mass == pytest.approx(1 - pop.SPILLOVER, abs=1e-5)
        assert np.all(u.interests[u.communities] > 0)
        assert int(np.argmax(u.interests)) in set(u.communities.tolist())
        # spill-over lands only on graph neighbours of joined communities
        extra = np.setdiff1d(np.flatnonzero(u.interests > 0), u.communities)
        assert extra.size > 0
        assert np.isin(extra, graph.neighbors[u.communities]).all()


def test_to_json_rows(corpus: RedditCorpus, graph: CommunityGraph) -> None:
    p = Population.generate(corpus, graph, n_users=5, seed=2)
    rows = p.to_json_rows(3)
    assert len(rows) == 3 and len(p.to_json_rows()) == 5
    assert set(rows[0]) == {"user_id", "communities", "allow_nsfw", "activity"}
    u = p.users[0]
    assert rows[0]["communities"] == [corpus.communities[c] for c in u.communities]
    assert isinstance(rows[0]["allow_nsfw"], bool) and isinstance(rows[0]["activity"], float)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), n_users=st.integers(1, 40))
def test_generated_users_are_well_formed(
    corpus: RedditCorpus, graph: CommunityGraph, seed: int, n_users: int
) -> None:
    # module-scoped fixtures are shared across examples, which is what we want here
    p = Population.generate(corpus, graph, n_users=n_users, seed=seed)
    assert len(p) == n_users and len({u.user_id for u in p}) == n_users
    for u in p:
        assert pop.MIN_JOINED <= len(u.communities) <= pop.MAX_JOINED
        assert len(np.unique(u.communities)) == len(u.communities)
        assert u.interests.sum() == pytest.approx(1.0, abs=1e-5)
