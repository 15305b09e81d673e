"""Canaries: posts whose answers are known (the dev set's high-confidence tuning part), slipped into a
judge's batch unannounced. A judge that gets them wrong on this run (a changed model behind the URL, a
broken template, a truncated context) is not trusted for the rest of the batch, whatever it said before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feedmix.signals.devset import DevSet
from feedmix.signals.judges.judge import Judgement
from feedmix.signals.posts import Posts

#: the fields a canary must get right: the ones every consumer decides on
CHECKED = ("intent", "commercial", "brand_safety")


def pick_canaries(dev: DevSet, n: int, seed: int = 0) -> tuple[Posts, dict[str, dict[str, Any]]]:
    """``n`` high-confidence tuning posts and their gold answers (never test posts: those stay unseen)."""
    rows = np.flatnonzero(dev.mask("tuning", "high"))
    chosen = np.random.default_rng(seed).choice(rows, size=min(n, len(rows)), replace=False)
    gold = {
        dev.posts.ids[i]: {
            "intent": int(dev.intent[i]),
            "commercial": bool(dev.commercial[i]),
            "brand_safety": int(dev.safety[i]),
        }
        for i in chosen.tolist()
    }
    return dev.posts.take(chosen.tolist()), gold


def canary_accuracy(judgements: list[Judgement], gold: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from feedmix.signals.codebook import BRAND_SAFETY, INTENTS

    right = answered = 0
    for j in judgements:
        want = gold.get(j.post_id)
        if want is None:
            continue
        if j.label is None:
            continue
        answered += 1
        got = {
            "intent": INTENTS.index(j.label["intent"]),
            "commercial": bool(j.label["commercial"]),
            "brand_safety": BRAND_SAFETY.index(j.label["brand_safety"]),
        }
        right += all(got[k] == want[k] for k in CHECKED)
    return {
        "canaries": len(gold),
        "answered": answered,
        "right": right,
        "accuracy": round(right / answered, 3) if answered else None,
    }
