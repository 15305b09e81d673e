"""A seeded population of simulated Reddit users.

There is no user log in the 2013 data, only posts and the subscriber count of each community, so
users are generated from that count: a real reader joins a handful of communities, and big ones
far more often than small ones. The simulator and the server both call
``Population.generate(corpus, graph, n_users, seed)``; the server uses it to know each simulated
user's joined communities and NSFW setting, so generation depends on its inputs and nothing
else (no clock, no global RNG, no dict ordering).

Model, per user (all constants are module-level below):

* **Joined communities.** ``k = clip(1 + Poisson(JOIN_POISSON_MEAN), MIN_JOINED, MAX_JOINED)``
  (capped by the number of communities), drawn WITHOUT replacement with probability
  proportional to a join weight. The weight is the real 2013 subscriber count; a community with
  no subscribers on record, or no posts in the corpus, gets the floor
  ``SUBSCRIBER_FLOOR_FRACTION x median(positive subscriber counts)``, and no weight is ever
  below that floor, so every community stays reachable but a dead one is rarely joined.
  Sampling uses the Gumbel-top-k trick (``argmax`` of ``log w + Gumbel`` taken k times is
  exactly successive sampling without replacement), which vectorises over users.
* **Interests** (length ``n_communities``, sums to 1). Each joined community gets an affinity
  ``Gamma(AFFINITY_SHAPE)`` (a Dirichlet over the joined set: most users have one or two
  favourites). ``1 - SPILLOVER`` of the mass goes to the joined communities by affinity;
  ``SPILLOVER`` spills onto related, not-joined communities: each joined community passes its
  share to its ``CommunityGraph`` neighbours in proportion to their (non-negative) similarity.
  Without a graph, or when every neighbour is joined, all mass stays on the joined set.
* **allow_nsfw**: true with probability ``NSFW_SHARE``.
* **activity** (expected sessions per day): lognormal, median ``ACTIVITY_MEDIAN``, log-sd
  ``ACTIVITY_SIGMA`` (a few heavy users, a long tail of occasional ones).
* **patience** (pages one session scrolls): ``Geometric(PATIENCE_P)`` on 1, 2, ...; capped at
  ``MAX_PATIENCE``.
* **click_propensity**: a per-user logit offset added to every click, ``Normal(0,
  CLICK_PROPENSITY_SD)``.

Determinism: users are generated in blocks of ``BLOCK_SIZE``; block ``b`` draws from
``default_rng(SeedSequence([seed, b]))`` in a fixed order and always draws a full block, so user
``i`` depends only on ``(seed, i, corpus communities, subscriber counts, graph)`` -- the first
1,000 users of a 100,000-user population are the 1,000 users of a 1,000-user one. Joined
communities, NSFW, activity, patience and click propensity are drawn before (and independently
of) the graph, so a server that builds the population without a graph still agrees with the
simulator on everything it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.corpus.community_graph import CommunityGraph
from feedmix.corpus.reddit_corpus import RedditCorpus

#: mean of the Poisson part of the number of joined communities (k = 1 + Poisson)
JOIN_POISSON_MEAN = 6.0
#: fewest / most communities a user joins (the fewest is lowered when the corpus has fewer)
MIN_JOINED = 3
MAX_JOINED = 25
#: join-weight floor, as a fraction of the median positive subscriber count
SUBSCRIBER_FLOOR_FRACTION = 0.01
#: Gamma shape of the per-joined-community affinity (1.0 = flat Dirichlet over the joined set)
AFFINITY_SHAPE = 1.0
#: share of interest mass that spills from joined communities onto their graph neighbours
SPILLOVER = 0.15
#: share of users who opted into NSFW content
NSFW_SHARE = 0.2
#: lognormal sessions per day: median and log-standard-deviation
ACTIVITY_MEDIAN = 1.0
ACTIVITY_SIGMA = 1.0
#: success probability of the geometric number of pages a session scrolls (mean 1 / p)
PATIENCE_P = 0.35
MAX_PATIENCE = 20
#: standard deviation of the per-user click logit offset
CLICK_PROPENSITY_SD = 0.5
#: users generated per RNG block (part of the determinism contract: changing it changes users)
BLOCK_SIZE = 1024

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class UserProfile:
    """One simulated user. Arrays are read-only views into the population's block matrices.

    ``eq=False`` because comparing numpy fields with ``==`` is ambiguous; compare ``user_id``
    (unique within a population) or the arrays explicitly.
    """

    user_id: str
    #: joined community ids, ascending
    communities: npt.NDArray[np.int32]
    #: interest over all communities, sums to 1
    interests: npt.NDArray[np.float32]
    allow_nsfw: bool
    #: expected sessions per day
    activity: float
    #: pages one session scrolls before the user stops on their own
    patience: int
    #: logit offset added to this user's click probability
    click_propensity: float


def user_id_for(index: int) -> str:
    """``u0001`` for index 0: 1-based, zero-padded to 4 digits (wider past 9999)."""
    return f"u{index + 1:04d}"


def join_weights(subscribers: npt.ArrayLike, post_counts: npt.ArrayLike) -> FloatArray:
    """Join weight per community: subscribers, floored; dead or unknown communities get the floor.

    The floor keeps every community joinable (a sampling weight of 0 would make it vanish from
    the simulation), while a community with no posts can show a member nothing, so it is pushed
    down to the floor even if it had subscribers.
    """
    subs = np.asarray(subscribers, dtype=np.float64)
    posts = np.asarray(post_counts, dtype=np.int64)
    positive = subs[subs > 0]
    floor = SUBSCRIBER_FLOOR_FRACTION * float(np.median(positive)) if positive.size else 1.0
    floor = max(floor, 1.0)
    return np.where((subs > 0) & (posts > 0), np.maximum(subs, floor), floor)


def sample_without_replacement(
    weights: FloatArray, k: int, rng: np.random.Generator, n_rows: int
) -> IntArray:
    """``n_rows`` samples of ``k`` distinct items each, in draw order, weighted, without replacement.

    Exponential clocks: item ``i`` fires at ``E_i / w_i`` with ``E_i ~ Exp(1)``; the first to fire
    is item ``i`` with probability ``w_i / sum(w)``, and by memorylessness the next one is drawn
    the same way among the rest. So the k earliest, in firing order, are exactly successive
    weighted sampling without replacement (the Gumbel-top-k trick without the logarithms), and
    every prefix of a row is itself a valid sample. float32 keeps it fast; exact ties have
    negligible probability and are broken by item id.
    """
    n = weights.shape[0]
    k = min(k, n)
    inv_w = (1.0 / weights).astype(np.float32)
    keys = rng.standard_exponential(size=(n_rows, n), dtype=np.float32) * inv_w[None, :]
    if k < n:
        top = np.argpartition(keys, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(n), (n_rows, n)).copy()
    order = np.argsort(np.take_along_axis(keys, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1).astype(np.int64)


@dataclass(frozen=True)
class _Spill:
    """Where spill-over goes: ``targets[c]`` neighbours of ``c`` with row-normalised ``shares``."""

    targets: IntArray
    shares: FloatArray


def _spill_from_graph(graph: CommunityGraph | None, n: int) -> _Spill | None:
    if graph is None or graph.neighbors.size == 0:
        return None
    if graph.neighbors.shape[0] != n:
        raise ValueError(f"graph has {graph.neighbors.shape[0]} communities, corpus has {n}")
    w = np.maximum(graph.similarity.astype(np.float64), 0.0)
    total = w.sum(axis=1, keepdims=True)
    shares = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return _Spill(targets=graph.neighbors.astype(np.int64), shares=shares)


@dataclass
class Population:
    """The users of one simulation, addressable by ``user_id``."""

    users: list[UserProfile]
    #: community names, indexed like ``UserProfile.communities`` and ``interests``
    community_names: list[str]
    seed: int = 0
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {u.user_id: i for i, u in enumerate(self.users)}
        if len(self._index) != len(self.users):
            raise ValueError("duplicate user_id in population")

    def __len__(self) -> int:
        return len(self.users)

    def __iter__(self) -> Iterator[UserProfile]:
        return iter(self.users)

    def get(self, user_id: str) -> UserProfile | None:
        i = self._index.get(user_id)
        return None if i is None else self.users[i]

    @property
    def activity(self) -> FloatArray:
        """Sessions per day of every user, in ``users`` order (the driver samples from it)."""
        return np.fromiter((u.activity for u in self.users), dtype=np.float64, count=len(self.users))

    def to_json_rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The first ``limit`` users (all when None) as plain JSON rows, for an API or a console."""
        chosen = self.users if limit is None else self.users[: max(limit, 0)]
        return [
            {
                "user_id": u.user_id,
                "communities": [self.community_names[c] for c in u.communities],
                "allow_nsfw": u.allow_nsfw,
                "activity": u.activity,
            }
            for u in chosen
        ]

    @classmethod
    def generate(
        cls, corpus: RedditCorpus, graph: CommunityGraph | None, n_users: int = 1000, seed: int = 42
    ) -> Population:
        """Generate ``n_users`` users; same inputs, same users (see the module docstring)."""
        if n_users < 0:
            raise ValueError("n_users must be >= 0")
        if seed < 0:
            raise ValueError("seed must be >= 0 (it seeds a numpy SeedSequence)")
        n = len(corpus.communities)
        if n == 0:
            raise ValueError("corpus has no communities")
        weights = join_weights(corpus.subscribers, corpus.post_counts())
        spill = _spill_from_graph(graph, n)
        k_max = min(MAX_JOINED, n)
        k_min = min(MIN_JOINED, n)
        users: list[UserProfile] = []
        for block in range(-(-n_users // BLOCK_SIZE)):
            take = min(BLOCK_SIZE, n_users - block * BLOCK_SIZE)
            users.extend(_generate_block(block, take, seed, weights, spill, k_min, k_max))
        return cls(users=users, community_names=list(corpus.communities), seed=seed)


def _generate_block(
    block: int,
    take: int,
    seed: int,
    weights: FloatArray,
    spill: _Spill | None,
    k_min: int,
    k_max: int,
) -> list[UserProfile]:
    """One block of users. Draws a full ``BLOCK_SIZE`` in a fixed order, then keeps ``take``."""
    b, n = BLOCK_SIZE, weights.shape[0]
    rng = np.random.default_rng(np.random.SeedSequence([seed, block]))
    k = np.clip(1 + rng.poisson(JOIN_POISSON_MEAN, size=b), k_min, k_max)[:take]
    drawn = sample_without_replacement(weights, k_max, rng, b)[:take]  # (take, k_max), draw order
    allow_nsfw = (rng.random(b) < NSFW_SHARE)[:take].tolist()
    activity = (ACTIVITY_MEDIAN * np.exp(ACTIVITY_SIGMA * rng.standard_normal(b)))[:take].tolist()
    patience = np.minimum(rng.geometric(PATIENCE_P, size=b), MAX_PATIENCE)[:take].tolist()
    propensity = rng.normal(0.0, CLICK_PROPENSITY_SD, size=b)[:take].tolist()
    affinity = rng.gamma(AFFINITY_SHAPE, size=(b, k_max))[:take]
    # the graph-independent draws end here; everything below is arithmetic on them

    in_k = np.arange(k_max)[None, :] < k[:, None]
    affinity = np.where(in_k, np.maximum(affinity, 1e-12), 0.0)
    affinity /= affinity.sum(axis=1, keepdims=True)
    row = np.arange(take)[:, None]
    # interests are assembled sparsely (k_max joined + k_max x neighbours per user) with one
    # bincount into the dense matrix, instead of dense (take x n) arithmetic
    flat = [(row * n + drawn)[in_k]]
    mass = [affinity[in_k]]
    if spill is not None and SPILLOVER > 0:
        joined = np.zeros((take, n), dtype=bool)
        joined[np.broadcast_to(row, drawn.shape)[in_k], drawn[in_k]] = True
        targets = spill.targets[drawn]  # (take, k_max, m)
        spread = affinity[:, :, None] * spill.shares[drawn]
        spread[joined[row[:, :, None], targets]] = 0.0  # never spill onto a joined community
        total = spread.sum(axis=(1, 2))
        has = total > 0
        scale = np.where(has, SPILLOVER / np.where(has, total, 1.0), 0.0)
        mass[0] = mass[0] * np.repeat(np.where(has, 1.0 - SPILLOVER, 1.0), k)
        flat.append((row[:, :, None] * n + targets).ravel())
        mass.append((spread * scale[:, None, None]).ravel())
    dense = np.bincount(np.concatenate(flat), weights=np.concatenate(mass), minlength=take * n)
    interests = dense.reshape(take, n).astype(np.float32)
    interests.flags.writeable = False

    # joined ids ascending: push the unjoined tail past every real id, sort, slice by k
    joined_sorted = np.sort(np.where(in_k, drawn, n), axis=1).astype(np.int32)
    joined_sorted.flags.writeable = False

    base = block * BLOCK_SIZE
    return [
        UserProfile(
            user_id=user_id_for(base + j),
            communities=joined_sorted[j, :kj],
            interests=interests[j],
            allow_nsfw=allow_nsfw[j],
            activity=activity[j],
            patience=patience[j],
            click_propensity=propensity[j],
        )
        for j, kj in enumerate(k.tolist())
    ]
