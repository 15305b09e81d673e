"""Label distribution drift: the population stability index (PSI) of each signal's label mix in one
period against the period before, the SLO the registry states (PSI < 0.2) and the alert rule watches live.

    PSI = sum over labels of (p_now - p_before) * ln(p_now / p_before)

with both distributions floored at ``EPS`` so a label absent from one period gives a large, finite value.
The rule of thumb the industry uses: under 0.1 stable, 0.1-0.25 moving, above 0.25 a different population.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals.codebook import BRAND_SAFETY, CATEGORIES, INTENTS, SENTIMENTS
from feedmix.signals.post_signal_table import PostSignalTable

EPS = 1e-4
WEEK = 7 * 86_400.0


def psi(now: npt.ArrayLike, before: npt.ArrayLike) -> float:
    """PSI of two count (or share) vectors over the same labels."""
    p = np.asarray(now, dtype=np.float64)
    q = np.asarray(before, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return 0.0
    p = np.maximum(p / p.sum(), EPS)
    q = np.maximum(q / q.sum(), EPS)
    return float(np.sum((p - q) * np.log(p / q)))


def weekly_drift(table: PostSignalTable, created: npt.NDArray[np.float64], end: float) -> dict[str, Any]:
    """Each signal's PSI of the week before ``end`` against the week before that, over labelled posts."""
    labelled = table.intent >= 0
    now = labelled & (created >= end - WEEK) & (created < end)
    before = labelled & (created >= end - 2 * WEEK) & (created < end - WEEK)
    columns = {
        "intent": (table.intent, len(INTENTS)),
        "sentiment": (table.sentiment, len(SENTIMENTS)),
        "brand_safety": (table.safety, len(BRAND_SAFETY)),
        "category": (table.category + 1, len(CATEGORIES) + 1),  # +1: "not commercial" is a label here
    }
    out: dict[str, Any] = {"posts_now": int(now.sum()), "posts_before": int(before.sum()), "psi": {}}
    for name, (codes, k) in columns.items():
        c = codes.astype(np.int64)
        out["psi"][name] = round(
            psi(np.bincount(c[now & (c >= 0)], minlength=k), np.bincount(c[before & (c >= 0)], minlength=k)),
            4,
        )
    return out
