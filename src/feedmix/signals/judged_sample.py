"""The judge's daily sample: a seeded pick of one day's posts that the production tier and the judge
both label, and their agreement (Cohen's kappa per signal), which the registry holds to the
``judge_kappa`` SLO. The dev set says how good a tier was when it was trained; the daily sample says
whether it still agrees with the judge on what people post now, which is what drifts.

A post the judge could not answer (down, timed out, not recorded) is left out of the agreement and
counted; an agreement over fewer than ``MIN_ANSWERED`` posts is reported but not trusted, so one bad
night of the judge's endpoint does not page anyone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt

from feedmix.signals import metrics
from feedmix.signals.codebook import BRAND_SAFETY, INTENTS, SENTIMENTS
from feedmix.signals.post_signals import PostSignals

DAY = 86_400.0
MIN_ANSWERED = 30


def day_start(day: str) -> float:
    """Midnight UTC of an ISO date, as a Unix time; names the field when the date does not parse."""
    try:
        return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()
    except ValueError as e:
        raise ValueError(f"day: {day!r} is not an ISO date (YYYY-MM-DD)") from e


def newest_day(created: npt.NDArray[np.float64], min_posts: int) -> str:
    """The newest UTC date with at least ``min_posts`` posts: the default day, since the corpus is a
    snapshot whose last days hold only the few posts collected before it was cut."""
    days = (np.asarray(created) // DAY).astype(np.int64)
    values, counts = np.unique(days, return_counts=True)
    full = values[counts >= min_posts]
    pick_day = int(full[-1]) if len(full) else int(values[-1])
    return dt.datetime.fromtimestamp(pick_day * DAY, tz=dt.UTC).date().isoformat()


def pick(created: npt.NDArray[np.float64], day: str, n: int) -> npt.NDArray[np.int64]:
    """Up to ``n`` rows created on ``day`` (UTC), the same rows every time for the same day, ascending."""
    start = day_start(day)
    rows = np.flatnonzero((created >= start) & (created < start + DAY))
    if len(rows) > n:
        rng = np.random.default_rng(int(start // DAY))
        rows = np.sort(rng.choice(rows, size=n, replace=False))
    return rows.astype(np.int64)


def agreement(production: PostSignals, judge: PostSignals) -> dict[str, Any]:
    """Kappa per signal over the posts the judge answered and the production tier labelled."""
    answered = np.array([g != "error" for g in judge.gate], dtype=bool)
    labelled = np.array([g != "error" for g in production.gate], dtype=bool)
    rows = np.flatnonzero(answered & labelled)
    out: dict[str, Any] = {
        "posts": len(judge.ids),
        "answered": int(answered.sum()),
        "compared": len(rows),
        "trusted": len(rows) >= MIN_ANSWERED,
        "kappa": {},
    }
    if len(rows) == 0:
        return out
    out["kappa"] = kappas(production, judge, rows)
    a, b = production, judge
    out["label_mix"] = {
        "production_intent": _mix(a.intent[rows], INTENTS),
        "judge_intent": _mix(b.intent[rows], INTENTS),
    }
    return out


def kappas(a: PostSignals, b: PostSignals, rows: npt.NDArray[np.int64]) -> dict[str, float]:
    """Cohen's kappa of two producers' decisions on the same posts (a tier against the judge)."""
    return {
        "intent": round(metrics.cohen_kappa(a.intent[rows], b.intent[rows], len(INTENTS)), 3),
        "sentiment": round(metrics.cohen_kappa(a.sentiment[rows], b.sentiment[rows], len(SENTIMENTS)), 3),
        "commercial": round(
            metrics.cohen_kappa(a.commercial[rows].astype(int), b.commercial[rows].astype(int), 2), 3
        ),
        "brand_safety": round(
            metrics.cohen_kappa(a.brand_safety[rows], b.brand_safety[rows], len(BRAND_SAFETY)), 3
        ),
    }


def _mix(idx: npt.NDArray[np.int64], labels: tuple[str, ...]) -> dict[str, int]:
    counts = np.bincount(idx, minlength=len(labels))
    return {label: int(c) for label, c in zip(labels, counts, strict=True) if c}
