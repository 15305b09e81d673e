"""Generalized second-price auction for the ad slots of one page.

Units. Every candidate is ranked by its quality-adjusted eCPM in micros per thousand impressions:

* CPC:  ``ecpm = bid_cpc * pctr * quality * 1000``  (expected micros per impression x 1000)
* CPM:  ``ecpm = bid_cpm * quality``                 (the bid already is per thousand impressions)

so CPC and CPM ads compete in the same unit (what the platform expects to earn per thousand
impressions, weighted by quality).

Rules.

1. Candidates with ``ecpm <= 0`` never serve.
2. One ad per advertiser per page: only each advertiser's best candidate enters (this also gives
   one ad per campaign, since a campaign belongs to one advertiser).
3. Slots fill top-down in eCPM order; slot ``i`` needs ``ecpm >= reserve[i]``. Filling stops at
   the first slot whose reserve the next candidate misses (slots never skip: a page shows its ads
   in eCPM order).
4. Price (GSP): the winner of slot ``i`` pays the least bid that would keep its rank,
   ``needed = max(ecpm of the next-ranked distinct-advertiser candidate, reserve[i])``, converted back
   into its bid unit: ``needed / (pctr * quality * 1000)`` per click for CPC, ``needed / quality``
   per thousand impressions for CPM. Rounded up to whole micros (so the price still reaches the
   reserve) and never above the bid (``ecpm >= needed`` already implies it; the ``min`` guards
   rounding).

The work is vectorised: a partial sort picks the top few hundred candidates, only those are sorted,
and a short Python walk dedups advertisers over them (doubling the window when duplicates use it up).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class AuctionResult:
    """Winners by slot (positions into the candidate arrays), their prices and eCPMs."""

    winners: IntArray
    price_micros: IntArray
    ecpm: FloatArray
    #: candidates that entered after advertiser dedup and the reserve check of slot 0
    n_competing: int


def ecpm_of(
    bid_micros: npt.NDArray[np.int64], is_cpm: npt.NDArray[np.bool_], pctr: FloatArray, quality: FloatArray
) -> FloatArray:
    """Quality-adjusted eCPM in micros per thousand impressions (see the module docstring)."""
    bid = bid_micros.astype(np.float64)
    return np.where(is_cpm, bid * quality, bid * pctr * quality * 1000.0)


def quality_factor(
    pctr: FloatArray,
    is_cpm: npt.NDArray[np.bool_],
    *,
    prior_ctr: float,
    gamma: float = 0.5,
    lo: float = 0.5,
    hi: float = 1.5,
) -> FloatArray:
    """Quality of each ad: ``clip((pctr / prior) ** gamma, lo, hi)`` for CPM, 1 for CPC.

    CPC eCPM already carries pCTR; a CPM ad's eCPM would otherwise ignore whether anyone engages
    with it, and an irrelevant CPM ad with a high bid would win every page. The clip bounds how far
    engagement moves a CPM ad's rank (and its price, which divides by the same factor).
    """
    q = np.clip((np.maximum(pctr, 1e-9) / prior_ctr) ** gamma, lo, hi)
    return np.where(is_cpm, q, 1.0)


def run_auction(
    *,
    bid_micros: npt.NDArray[np.int64],
    is_cpm: npt.NDArray[np.bool_],
    pctr: FloatArray,
    quality: FloatArray,
    advertiser: npt.NDArray[np.integer],
    n_slots: int,
    reserve_ecpm: Sequence[float] | float = 0.0,
    window: int = 64,
) -> AuctionResult:
    """Run the auction over aligned candidate arrays; see the module docstring for the rules."""
    n = int(bid_micros.shape[0])
    empty = AuctionResult(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 0)
    if n == 0 or n_slots <= 0:
        return empty
    reserves = (
        [float(reserve_ecpm)] * n_slots
        if isinstance(reserve_ecpm, (int, float))
        else [float(r) for r in reserve_ecpm]
    )
    if len(reserves) < n_slots:
        raise ValueError(f"{len(reserves)} reserves for {n_slots} slots")
    ecpm = ecpm_of(bid_micros, is_cpm, pctr, quality)
    # ranked distinct-advertiser candidates: need n_slots winners plus one to price the last
    need = n_slots + 1
    m = min(n, max(window, 4 * need))
    while True:
        top = np.argpartition(-ecpm, m - 1)[:m] if m < n else np.arange(n)
        # sort by eCPM descending, ties by position (stable and deterministic)
        top = top[np.lexsort((top, -ecpm[top]))]
        ranked: list[int] = []
        seen: set[int] = set()
        for i in top.tolist():
            if ecpm[i] <= 0.0:
                break
            a = int(advertiser[i])
            if a in seen:
                continue
            seen.add(a)
            ranked.append(i)
            if len(ranked) == need:
                break
        if len(ranked) == need or m >= n:
            break
        m = min(n, m * 4)
    winners: list[int] = []
    prices: list[int] = []
    for slot in range(min(n_slots, len(ranked))):
        i = ranked[slot]
        if ecpm[i] < reserves[slot]:
            break
        nxt = ecpm[ranked[slot + 1]] if slot + 1 < len(ranked) else 0.0
        needed = max(nxt, reserves[slot])
        per_unit = quality[i] if is_cpm[i] else pctr[i] * quality[i] * 1000.0
        price = math.ceil(needed / per_unit - 1e-9) if needed > 0 else 0
        winners.append(i)
        prices.append(min(int(price), int(bid_micros[i])))
    n_competing = len(ranked) if ranked and ecpm[ranked[0]] >= reserves[0] else 0
    w = np.asarray(winners, dtype=np.int64)
    return AuctionResult(w, np.asarray(prices, dtype=np.int64), ecpm[w], n_competing)
