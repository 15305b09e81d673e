"""The PI controller tracks the target spend curve over a simulated day and throttles when ahead."""

from __future__ import annotations

import numpy as np

from feedmix.ads.decision.pacing import PacingParams, PIController, day_fraction

DAY0 = 1_376_006_400.0  # a UTC midnight (2013-08-09)


def simulate_day(
    demand_multiple: float, params: PacingParams, seed: int = 0
) -> tuple[list[float], list[float]]:
    """One campaign whose unthrottled demand would spend ``demand_multiple`` budgets a day.

    One step per minute; impressions arrive as a Poisson process and each served one costs
    budget / (impressions a full budget buys), so spend is noisy the way a real one is.
    """
    rng = np.random.default_rng(seed)
    budget = 1_000_000.0
    per_minute = 1000.0 * demand_multiple / 1440.0  # impressions if never throttled
    cost = budget / 1000.0
    ctl = PIController(1, params)
    spent = 0.0
    fracs, targets = [], []
    for minute in range(1440):
        now = DAY0 + minute * 60.0
        p = ctl.update(now, np.array([spent]), np.array([budget]))[0]
        served = rng.binomial(rng.poisson(per_minute), p)
        spent = min(budget, spent + served * cost)
        fracs.append(spent / budget)
        targets.append((minute + 1) / 1440.0)
    return fracs, targets


def test_spend_follows_the_target_curve_within_tolerance() -> None:
    fracs, targets = simulate_day(4.0, PacingParams())
    errors = np.abs(np.array(fracs) - np.array(targets))
    # after the first hour, the spend curve stays within 5% of the budget of the target curve
    assert errors[60:].max() < 0.05, errors[60:].max()
    assert 0.93 <= fracs[-1] <= 1.0  # spends (nearly) the whole budget, never more


def test_throttle_rises_when_ahead_and_falls_when_behind() -> None:
    ctl = PIController(2, PacingParams())
    now = DAY0 + 12 * 3600.0
    ctl.update(now, np.array([0.5, 0.5]), np.array([1.0, 1.0]))
    # campaign 0 is ahead (80% spent at noon), campaign 1 behind (20%)
    p = ctl.update(now + 60.0, np.array([0.8, 0.2]), np.array([1.0, 1.0]))
    assert p[0] < 0.5 < p[1]
    p_later = ctl.update(now + 600.0, np.array([0.8, 0.2]), np.array([1.0, 1.0]))
    assert p_later[0] <= p[0]  # still ahead: the integral keeps lowering it
    # a campaign at its cap does not serve
    assert ctl.update(now + 660.0, np.array([1.0, 0.2]), np.array([1.0, 1.0]))[0] == 0.0


def test_traffic_profile_shapes_the_target() -> None:
    profile = tuple([0.0] * 12 + [1.0] * 12)  # all traffic in the afternoon
    assert day_fraction(DAY0 + 6 * 3600.0, profile) == 0.0
    assert abs(day_fraction(DAY0 + 18 * 3600.0, profile) - 0.5) < 1e-12
    assert abs(day_fraction(DAY0 + 6 * 3600.0) - 0.25) < 1e-12
