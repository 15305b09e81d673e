"""Where ads go on a page: the blender of the feed's mixer.

Rules, all params (so experiments can move them):

* ``first_position``: the earliest 0-based page position an ad may take (default 2: never the top);
* ``min_gap``: at least this many organic posts between two ads (default 5; at least 1: two ads
  side by side read as a wall of ads);
* ``max_load``: at most this share of the page's items are ads (default 0.15);
* an ad is never placed directly before or after a post that is NSFW or not brand-safe for that ad's
  tier (brand safety is checked per ad: a ``relaxed`` ad may sit next to an unrated post, a
  ``strict`` one only between posts rated safe).

Placement is greedy in auction order: the best ad takes the earliest allowed position, the next ad
the earliest allowed one after it, and so on; an ad with no allowed position is dropped (and counted
in the trace), never forced in. Positions are in the blended page, so ``positions[i]`` is where ad
``i`` appears to the user, which is what position-aware pCTR and the tracking events use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: per-post adjacency safety: 0 unsafe (NSFW or flagged), 1 unrated, 2 rated safe
UNSAFE, UNRATED, SAFE = 0, 1, 2
#: the least adjacency safety each tier accepts on both sides
TIER_MIN_SAFETY: dict[str, int] = {"strict": SAFE, "standard": UNRATED, "relaxed": UNRATED}


@dataclass(frozen=True)
class BlendParams:
    first_position: int = 2
    min_gap: int = 5
    max_load: float = 0.15

    def __post_init__(self) -> None:
        if self.first_position < 0 or self.min_gap < 1 or not 0 <= self.max_load <= 1:
            raise ValueError("first_position must be >= 0, min_gap >= 1 and max_load in [0, 1]")


@dataclass(frozen=True)
class Blend:
    """``order``: the page as a sequence of ("post", i) / ("ad", j) references; ``ad_positions[j]``
    the page position of ad j, -1 for an ad that found no allowed slot."""

    order: list[tuple[str, int]]
    ad_positions: list[int]
    dropped: int


def blend(post_safety: npt.ArrayLike, ad_tiers: Sequence[str], params: BlendParams | None = None) -> Blend:
    """Interleave ``len(ad_tiers)`` ads (best first) into a page of posts with ``post_safety``."""
    p = params or BlendParams()
    safety = np.asarray(post_safety, dtype=np.int64)
    n_posts = len(safety)
    # ads allowed by the load cap: a / (n_posts + a) <= max_load
    cap = int(np.floor(p.max_load * n_posts / (1.0 - p.max_load))) if p.max_load < 1 else len(ad_tiers)
    cap = min(cap, len(ad_tiers))
    # insertion point k = "before post k" (k = n_posts: after the last post)
    placed: list[int] = []  # insertion points taken, increasing
    positions = [-1] * len(ad_tiers)
    for j, tier in enumerate(ad_tiers[:cap]):
        need = TIER_MIN_SAFETY.get(tier, SAFE)
        k = _first_point(safety, need, placed, p)
        if k < 0:
            continue
        placed.append(k)
        positions[j] = k  # converted to page positions below
    # page position of the ad inserted before post k = k + (ads inserted before it)
    order: list[tuple[str, int]] = []
    by_point = {k: j for j, k in enumerate(positions) if k >= 0}
    for k in range(n_posts + 1):
        if k in by_point:
            positions[by_point[k]] = len(order)
            order.append(("ad", by_point[k]))
        if k < n_posts:
            order.append(("post", k))
    dropped = sum(1 for x in positions if x < 0)
    return Blend(order=order, ad_positions=positions, dropped=dropped)


def _first_point(safety: npt.NDArray[np.int64], need: int, placed: list[int], p: BlendParams) -> int:
    """The earliest insertion point after the last placed ad that respects position, gap and safety."""
    n = len(safety)
    start = p.first_position if not placed else placed[-1] + p.min_gap
    # an ad inserted before post k sits at page position k + len(placed) >= first_position
    start = max(start, p.first_position - len(placed))
    for k in range(max(start, 0), n + 1):
        before_ok = k == 0 or safety[k - 1] >= need
        after_ok = k == n or safety[k] >= need
        if before_ok and after_ok and (k < n or n > 0):
            return k
    return -1
