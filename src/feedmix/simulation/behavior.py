"""How a simulated user reacts to the posts a feed shows them.

A cascade-free position-based click model with per-post quality and per-user interest, so a
ranker that puts good posts from the user's communities on top earns more clicks than one that
does not -- the signal a closed-loop experiment needs. Every probability is a pure function of
the post, the user and the display position, which is what lets ``expected_engagement`` compare
rankings without sampling noise.

Inputs per shown post (vectorised over the page):

* ``q`` -- quality: the post's score percentile within its own community (mid-rank, in (0, 1)),
  computed once per corpus. Within-community, so a top post of a small community is as "good"
  as a top post of r/funny; the real 2013 score is the ground truth.
* ``i`` -- interest: ``user.interests[community] / max(user.interests)``, in [0, 1]; 1 for the
  user's favourite community, 0 for one unrelated to everything they joined.
* ``e`` -- examination: ``1 / log2(pos + 2)`` for the 0-based display position (1 at the top,
  0.5 at position 2, ~0.2 at position 30): the user must look at an item to react to it. The
  driver passes the item's index within its page, ads included.

Model (all constants are ``BehaviorParams`` fields, defaults below):

* ``P(click) = e * sigmoid(CLICK_BIAS + CLICK_QUALITY*q + CLICK_INTEREST*i + user.click_propensity)``
* given a click, one vote: ``P(up) = sigmoid(UPVOTE_BIAS + UPVOTE_QUALITY*q)``; otherwise
  ``P(down) = sigmoid(DOWNVOTE_BIAS - DOWNVOTE_QUALITY*q)``; so ``P(down | click) =
  (1 - P(up)) * P(down)`` falls with quality and the two are mutually exclusive.
* given a click, independently of the vote, a comment: ``P(comment) = sigmoid(COMMENT_BIAS +
  COMMENT_DISCUSSION*d + COMMENT_INTEREST*i)``, where ``d`` is the post's comment-count percentile
  within its community (a post that drew discussion in 2013 draws it here too).
* examined and not clicked: hide with ``sigmoid(HIDE_BIAS + HIDE_LOW_INTEREST*(1-i) +
  HIDE_LOW_QUALITY*(1-q))`` (off-topic junk gets hidden; hides only happen on unclicked items).
* NSFW shown to a user who does not allow it: the click logit drops by ``NSFW_CLICK_PENALTY``
  and, if examined and not clicked, it is hidden with ``NSFW_HIDE`` probability.

With the defaults, an on-topic (``i = 1``) median post at the top is clicked ~62% of the time,
a median post of an unrelated community ~8%, and the worst unrelated post is hidden ~18%.

Leaving: after a page the user leaves the session when they hid at least
``LEAVE_MIN_HIDES`` posts and at least ``LEAVE_HIDE_FRACTION`` of the posts on that page
(``leaves_after``). A wall of irrelevant posts ends a session early, which costs the ranker the
impressions and clicks of the pages the user would have scrolled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.corpus.reddit_corpus import RedditCorpus
from feedmix.simulation.population import UserProfile

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BehaviorParams:
    """The constants of the model (see the module docstring for the formulas)."""

    #: click logit intercept: an unrelated (i=0), worst (q=0) post at the top is clicked ~3%
    click_bias: float = -3.5
    #: click logit gain from quality q in [0, 1]
    click_quality: float = 2.0
    #: click logit gain from interest i in [0, 1]
    click_interest: float = 3.0
    #: upvote-given-click logit: ~12% at q=0, ~73% at q=1
    upvote_bias: float = -2.0
    upvote_quality: float = 3.0
    #: downvote (given a click without an upvote) logit: ~12% at q=0, <1% at q=1
    downvote_bias: float = -2.0
    downvote_quality: float = 3.0
    #: comment-given-click logit: ~2% for an unrelated post nobody discussed, ~50% for an on-topic
    #: post at the top of its community's comment counts
    comment_bias: float = -4.0
    comment_discussion: float = 3.0
    comment_interest: float = 1.0
    #: hide-given-examined-not-clicked logit: ~0.4% for on-topic top posts, ~18% for off-topic junk
    hide_bias: float = -5.5
    hide_low_interest: float = 2.5
    hide_low_quality: float = 1.5
    #: click logit penalty for NSFW shown to a user who did not opt in
    nsfw_click_penalty: float = 4.0
    #: hide probability of NSFW shown to a user who did not opt in (examined, not clicked)
    nsfw_hide: float = 0.8
    #: leave the session after a page with >= this many hides ...
    leave_min_hides: int = 2
    #: ... that are also >= this fraction of the page's posts
    leave_hide_fraction: float = 0.2


@dataclass(frozen=True)
class ReactionProbabilities:
    """Marginal probability of each reaction per shown post (no sampling)."""

    examine: FloatArray
    click: FloatArray
    upvote: FloatArray
    downvote: FloatArray
    hide: FloatArray
    comment: FloatArray

    def engagement(self) -> FloatArray:
        """Expected clicks + upvotes - hides of each impression."""
        return self.click + self.upvote - self.hide


@dataclass(frozen=True)
class Reactions:
    """Sampled reactions, aligned with the rows passed to ``BehaviorModel.react``."""

    clicked: BoolArray
    upvoted: BoolArray
    downvoted: BoolArray
    hidden: BoolArray
    commented: BoolArray

    def __len__(self) -> int:
        return int(self.clicked.shape[0])

    def engagement(self) -> int:
        """Clicks + upvotes - hides, the per-session engagement the driver reports."""
        return int(self.clicked.sum()) + int(self.upvoted.sum()) - int(self.hidden.sum())


def examination(positions: npt.ArrayLike) -> FloatArray:
    """Probability a user looks at display position ``pos`` (0-based): ``1 / log2(pos + 2)``."""
    pos = np.maximum(np.asarray(positions, dtype=np.float64), 0.0)
    return 1.0 / np.log2(pos + 2.0)


def score_percentiles(corpus: RedditCorpus) -> FloatArray:
    """Mid-rank percentile of each post's score within its community, in (0, 1)."""
    return within_community_percentiles(corpus, corpus.score)


def within_community_percentiles(corpus: RedditCorpus, values: npt.ArrayLike) -> FloatArray:
    """Mid-rank percentile of each post's integer ``values`` within its community, in (0, 1).

    ``(#lower + 0.5 * #equal) / n`` per community, via two ``searchsorted`` over a
    (community, value) key, so ties share a value and a one-post community sits at 0.5.
    """
    if len(corpus) == 0:
        return np.empty(0, dtype=np.float64)
    community = corpus.community.astype(np.int64)
    score = np.asarray(values).astype(np.int64)
    key = (community << 32) + (score - int(score.min()))
    sorted_key = np.sort(key)
    lower = np.searchsorted(sorted_key, key, side="left")
    upper = np.searchsorted(sorted_key, key, side="right")
    counts = np.bincount(community, minlength=len(corpus.communities))
    start = np.concatenate([[0], np.cumsum(counts)])[community]
    n = counts[community].astype(np.float64)
    q: FloatArray = ((lower - start) + 0.5 * (upper - lower)) / n
    return q


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic
    return out


class BehaviorModel:
    """The reaction model over one corpus; post quality is precomputed once here."""

    def __init__(self, corpus: RedditCorpus, params: BehaviorParams | None = None) -> None:
        self.corpus = corpus
        self.params = params or BehaviorParams()
        #: score percentile within community, per corpus row
        self.quality: FloatArray = score_percentiles(corpus)
        #: comment-count percentile within community, per corpus row
        self.discussion: FloatArray = within_community_percentiles(corpus, corpus.num_comments)

    def probabilities(
        self, user: UserProfile, rows: npt.ArrayLike, positions: npt.ArrayLike
    ) -> ReactionProbabilities:
        """Marginal reaction probabilities of ``user`` for posts ``rows`` at display ``positions``."""
        p = self.params
        r = np.asarray(rows, dtype=np.int64)
        pos = np.broadcast_to(np.asarray(positions), r.shape)
        if r.size and (r.min() < 0 or r.max() >= len(self.corpus)):
            raise ValueError("rows must be corpus rows (map ids with corpus.rows_of and drop the -1s)")
        q = self.quality[r]
        peak = float(user.interests.max()) if user.interests.size else 0.0
        interest = user.interests[self.corpus.community[r]].astype(np.float64)
        i = interest / peak if peak > 0 else np.zeros_like(q)
        e = examination(pos)
        blocked = self.corpus.over_18[r] & (not user.allow_nsfw)

        click_logit = p.click_bias + p.click_quality * q + p.click_interest * i + user.click_propensity
        click_logit = click_logit - p.nsfw_click_penalty * blocked
        s = _sigmoid(click_logit)
        up = _sigmoid(p.upvote_bias + p.upvote_quality * q)
        down = (1.0 - up) * _sigmoid(p.downvote_bias - p.downvote_quality * q)
        h = _sigmoid(p.hide_bias + p.hide_low_interest * (1.0 - i) + p.hide_low_quality * (1.0 - q))
        h = np.where(blocked, p.nsfw_hide, h)
        c = _sigmoid(p.comment_bias + p.comment_discussion * self.discussion[r] + p.comment_interest * i)
        return ReactionProbabilities(
            examine=e,
            click=e * s,
            upvote=e * s * up,
            downvote=e * s * down,
            hide=e * (1.0 - s) * h,
            comment=e * s * c,
        )

    def expected_engagement(
        self, user: UserProfile, rows: npt.ArrayLike, positions: npt.ArrayLike
    ) -> FloatArray:
        """Expected clicks + upvotes - hides of each impression; sum or average it to score a ranking."""
        return self.probabilities(user, rows, positions).engagement()

    def react(
        self, user: UserProfile, rows: npt.ArrayLike, positions: npt.ArrayLike, rng: np.random.Generator
    ) -> Reactions:
        """Sample one user's reactions to posts shown at ``positions`` (vectorised over the page).

        Samples the chain examined -> clicked -> vote, or examined -> not clicked -> hidden, from
        four uniforms per item, so the marginals equal ``probabilities``.
        """
        pr = self.probabilities(user, rows, positions)
        n = pr.click.shape[0]
        u = rng.random((5, n))
        examined = u[0] < pr.examine
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(pr.examine > 0, pr.click / pr.examine, 0.0)
            up = np.where(pr.click > 0, pr.upvote / pr.click, 0.0)
            down = np.where(pr.click > 0, pr.downvote / pr.click, 0.0)
            not_clicked = pr.examine - pr.click
            h = np.where(not_clicked > 0, pr.hide / not_clicked, 0.0)
            c = np.where(pr.click > 0, pr.comment / pr.click, 0.0)
        clicked = examined & (u[1] < s)
        upvoted = clicked & (u[2] < up)
        downvoted = clicked & ~upvoted & (u[2] < up + down)
        hidden = examined & ~clicked & (u[3] < h)
        commented = clicked & (u[4] < c)
        return Reactions(
            clicked=clicked, upvoted=upvoted, downvoted=downvoted, hidden=hidden, commented=commented
        )

    def leaves_after(self, reactions: Reactions) -> bool:
        """Whether a page with these reactions makes the user end the session (hide-heavy page)."""
        hides = int(reactions.hidden.sum())
        shown = len(reactions)
        return (
            shown > 0
            and hides >= self.params.leave_min_hides
            and hides >= self.params.leave_hide_fraction * shown
        )
