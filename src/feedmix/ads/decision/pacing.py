"""Budget pacing: a PI controller on a serve probability per campaign, plus the hard budget guard.

Controller (probabilistic throttling)
-------------------------------------
Each campaign gets a daily cap ``B`` (the daily budget; for a lifetime budget, what is left of it
divided evenly over the flight's remaining days, today included). The target is to have spent
``B * F(t)`` by time-of-day ``t``, where ``F`` is the cumulative share of the day's traffic (the
``hourly_profile``; uniform by default, so ``F(t) = t / 86400``). Every ``update_interval_s`` the
controller reads the shared spend ``S`` (all processes' spend, from :mod:`spend_counters`) and sets

    e     = F(t) - S / B                                  (>0: behind the target, <0: ahead)
    I    <- clip(I + k_i * e * dt_hours, 0, 1)            (integral; clamping is the anti-windup)
    p     = clip(I + k_p * e, p_min, 1)                   (probability this campaign enters a request)

``I`` starts at 1 (serve everything) and comes down to the share of traffic the budget can buy;
the proportional term reacts at once when a burst puts spend ahead of the curve. A campaign whose
ad group is throttled is removed from the request before the auction (its competitors then price
without it, as in any throttling scheme). The throttle is ``1 - p``. A campaign at its cap has
``p = 0`` until the next day.

The state is per process (each replica runs its own controller over the *shared* spend, and all
converge to the same ``p`` because they see the same ``S``); nothing but spend is shared.

Hard guard and tolerance
------------------------
The controller only shapes spend. What guarantees the budget is the atomic reserve-before-serve in
:mod:`feedmix.ads.decision.spend_counters`: a winner serves only if ``max(reserved, billed) + amount <= B``
(CPM: the impression price; CPC: its expected cost), and clicks bill against the hard cap
``B * (1 + overspend_tolerance)``. So billed spend per day never exceeds ``B * (1 + tolerance)``
(default tolerance 5%), with any number of processes; the CPM part never exceeds ``B`` at all.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feedmix.ads.decision.spend_counters import DAY_S, NO_CAP, SpendCounters, day_of
from feedmix.ads.decision.targeting_index import TargetingIndex

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PacingParams:
    #: proportional gain on the normalised error (share of the daily cap)
    k_p: float = 4.0
    #: integral gain, per hour of normalised error
    k_i: float = 20.0
    #: a throttled campaign still enters this share of requests (keeps its delivery observable)
    p_min: float = 0.0
    #: seconds between spend reads and controller updates
    update_interval_s: float = 5.0
    #: clicks bill up to ``cap * (1 + tolerance)``; see the module docstring
    overspend_tolerance: float = 0.05
    #: 24 relative traffic weights of the UTC hours; empty: uniform
    hourly_profile: tuple[float, ...] = ()


def day_fraction(now: float, hourly_profile: Sequence[float] = ()) -> float:
    """``F(t)``: the share of the day's traffic before ``now`` (piecewise-linear within an hour)."""
    t = (now % DAY_S) / 3600.0
    if not hourly_profile:
        return t / 24.0
    w = np.asarray(hourly_profile, dtype=np.float64)
    if w.shape != (24,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("hourly_profile needs 24 non-negative weights with a positive sum")
    cum = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
    h = int(t)
    return float(cum[h] + (cum[h + 1] - cum[h]) * (t - h))


class PIController:
    """The controller of the module docstring over arrays of campaigns (one update: a few numpy ops)."""

    def __init__(self, n: int, params: PacingParams) -> None:
        self.params = params
        self.integral = np.ones(n, dtype=np.float64)
        self.serve_prob = np.ones(n, dtype=np.float64)
        self.last_update: float | None = None

    def update(self, now: float, spent: FloatArray, cap: FloatArray) -> FloatArray:
        p = self.params
        dt_h = 0.0 if self.last_update is None else max(0.0, now - self.last_update) / 3600.0
        if self.last_update is not None and day_of(now) != day_of(self.last_update):
            dt_h = (now % DAY_S) / 3600.0  # a new day: the error only accrued since midnight
        self.last_update = now
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(cap > 0, spent / cap, 1.0)
        e = day_fraction(now, p.hourly_profile) - frac
        self.integral = np.clip(self.integral + p.k_i * e * dt_h, 0.0, 1.0)
        prob = np.clip(self.integral + p.k_p * e, p.p_min, 1.0)
        self.serve_prob = np.where(frac >= 1.0, 0.0, prob)
        return self.serve_prob


class Pacer:
    """Per-campaign caps and serve probabilities for one index, refreshed from shared counters."""

    def __init__(self, counters: SpendCounters, params: PacingParams | None = None) -> None:
        self.counters = counters
        self.params = params or PacingParams()
        self._lock = threading.Lock()
        self.campaign_ids: list[str] = []
        self.controller = PIController(0, self.params)
        self.day_cap = np.zeros(0, dtype=np.int64)
        self.life_cap = np.zeros(0, dtype=np.int64)
        self._budget = np.zeros(0, dtype=np.int64)
        self._lifetime = np.zeros(0, dtype=np.bool_)
        self._end = np.zeros(0, dtype=np.float64)
        self.day_spent = np.zeros(0, dtype=np.int64)
        self._next_update = -math.inf
        self.updates = 0

    def bind(self, index: TargetingIndex) -> None:
        """Take the campaigns of a new index build, keeping controller state of the ones that stay."""
        with self._lock:
            old = {c: i for i, c in enumerate(self.campaign_ids)}
            n = index.n_campaigns
            ctl = PIController(n, self.params)
            keep = [(i, old[c]) for i, c in enumerate(index.campaign_ids) if c in old]
            if keep:
                new_i, old_i = (np.asarray(x, dtype=np.int64) for x in zip(*keep, strict=True))
                ctl.integral[new_i] = self.controller.integral[old_i]
                ctl.serve_prob[new_i] = self.controller.serve_prob[old_i]
                ctl.last_update = self.controller.last_update
            self.controller = ctl
            self.campaign_ids = list(index.campaign_ids)
            self._budget = np.array([c.budget_micros for c in index.campaigns], dtype=np.int64)
            self._lifetime = np.array([c.budget_kind == "lifetime" for c in index.campaigns], dtype=np.bool_)
            self._end = np.array([c.end_ts for c in index.campaigns], dtype=np.float64)
            self.day_cap = self._budget.copy()
            self.life_cap = np.where(self._lifetime, self._budget, NO_CAP)
            self.day_spent = np.zeros(n, dtype=np.int64)
            self._next_update = -math.inf

    def maybe_update(self, now: float) -> bool:
        """Read shared spend and step the controller if the interval passed; StoreUnavailable propagates."""
        if now < self._next_update:
            return False
        with self._lock:
            if now < self._next_update:
                return False
            day = day_of(now)
            day_spent, life_spent = self.counters.spent_many(self.campaign_ids, day)
            # lifetime budgets: what was left at midnight, spread evenly over the remaining days
            days_left = np.maximum(1.0, np.ceil((self._end - day * DAY_S) / DAY_S))
            left_at_midnight = np.maximum(0, self._budget - (life_spent - day_spent))
            lifetime_daily = np.ceil(left_at_midnight / days_left).astype(np.int64)
            self.day_cap = np.where(self._lifetime, lifetime_daily, self._budget)
            self.day_spent = day_spent
            self.controller.update(now, day_spent.astype(np.float64), self.day_cap.astype(np.float64))
            self._next_update = now + self.params.update_interval_s
            self.updates += 1
            return True

    def serve_prob(self, campaign_rows: npt.NDArray[np.integer]) -> FloatArray:
        return np.asarray(self.controller.serve_prob[campaign_rows])

    def hard_caps(self, campaign_row: int) -> tuple[int, int]:
        """Billing caps of a click: the daily and lifetime caps plus the tolerance."""
        tol = 1.0 + self.params.overspend_tolerance
        life = int(self.life_cap[campaign_row])
        return int(self.day_cap[campaign_row] * tol), (int(life * tol) if life >= 0 else NO_CAP)
